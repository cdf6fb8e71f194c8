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
	batch []*tracker.Conn
	full  chan []*tracker.Conn
	free  chan []*tracker.Conn
	done  chan struct{}
}

const (
	connBatch = 64 // connections per hand-over
	connDepth = 8  // batches in flight: bounds the connections held here
)

func startConnStage(consume func(*tracker.Conn)) *connStage {
	s := &connStage{
		full: make(chan []*tracker.Conn, connDepth),
		free: make(chan []*tracker.Conn, connDepth+1),
		done: make(chan struct{}),
	}
	for i := 0; i < connDepth; i++ {
		s.free <- make([]*tracker.Conn, 0, connBatch)
	}
	s.batch = make([]*tracker.Conn, 0, connBatch)
	full, free, done := s.full, s.free, s.done // close clears s.full
	go func() {
		defer close(done)
		for b := range full {
			for i, c := range b {
				consume(c)
				b[i] = nil
			}
			free <- b[:0]
		}
	}()
	return s
}

// add hands c to the consumer.
func (s *connStage) add(c *tracker.Conn) {
	s.batch = append(s.batch, c)
	if len(s.batch) == connBatch {
		s.full <- s.batch
		s.batch = <-s.free
	}
}

// close hands over what is left and waits until the consumer has seen every
// connection. It may be called more than once.
func (s *connStage) close() {
	if s.full == nil {
		return
	}
	if len(s.batch) > 0 {
		s.full <- s.batch
	}
	close(s.full)
	s.full = nil
	<-s.done
}
