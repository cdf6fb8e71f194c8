package main

import "github.com/tcptrace/tcptrace/tracker"

// connStage runs a consumer of ended connections (rendering and writing
// JSON lines) on its own goroutine: the third stage of the pipeline, after
// reading+decoding and tracking, used when more than one worker is asked
// for. Rendering was a fifth of the tracking goroutine's time. Connections
// cross in batches, in the order the tracker ended them, so the output is
// the same as when the tracker calls the consumer itself. The tracker never
// touches a connection again once it has handed it over (Config.OnDone), so
// the two goroutines share nothing else.
type connStage struct {
	batch  []*tracker.Conn
	relay  relay[[]*tracker.Conn]
	done   chan struct{}
	closed bool
}

const (
	connBatch = 64 // connections per hand-over
	connDepth = 8  // batches in flight: bounds the connections held here
)

func startConnStage(consume func(*tracker.Conn)) *connStage {
	s := &connStage{
		relay: newRelay(connDepth, func() []*tracker.Conn { return make([]*tracker.Conn, 0, connBatch) }),
		done:  make(chan struct{}),
	}
	s.batch = <-s.relay.free
	go func() {
		defer close(s.done)
		for b := range s.relay.full {
			for i, c := range b {
				consume(c)
				b[i] = nil
			}
			s.relay.free <- b[:0]
		}
	}()
	return s
}

// add hands c to the consumer.
func (s *connStage) add(c *tracker.Conn) {
	s.batch = append(s.batch, c)
	if len(s.batch) == connBatch {
		s.relay.full <- s.batch
		s.batch = <-s.relay.free
	}
}

// close hands over what is left and waits until the consumer has seen every
// connection. It may be called more than once.
func (s *connStage) close() {
	if s.closed {
		return
	}
	s.closed = true
	if len(s.batch) > 0 {
		s.relay.full <- s.batch
	}
	close(s.relay.full)
	<-s.done
}
