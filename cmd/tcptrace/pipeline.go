package main

import (
	"io"
	"runtime"

	"github.com/tcptrace/tcptrace/capture"
	"github.com/tcptrace/tcptrace/tcp"
	"github.com/tcptrace/tcptrace/tracker"
)

// batchSize is how many decoded packets cross between goroutines at once:
// large enough that channel operations cost nothing per packet, small enough
// to stay in cache.
const batchSize = 512

type batch struct {
	n     int
	kinds [batchSize]capture.Kind
	segs  [batchSize]tcp.Segment
	hints [batchSize]tracker.FlowHint // of the TCP segments, worked out by the reading goroutine
	err   error                       // set on the last batch: io.EOF or what stopped reading
}

// defaultWorkers is the number of cores, as --workers says.
func defaultWorkers() int { return runtime.GOMAXPROCS(0) }

// eachPacket delivers every packet of r to fn, in input order, and returns
// what stopped reading (nil at the end of the input). With workers > 1,
// reading and decoding run in their own goroutine and hand batches of
// decoded segments over: a two-stage pipeline. The tracker stays on the
// caller's goroutine, so results and their order are identical for any
// number of workers. Batches are recycled: nothing is allocated per packet.
// The reading goroutine also works out each TCP segment's flow hint for the
// tracker (tracker.ProcessHinted), which takes that work off its goroutine.
func eachPacket(r *capture.Reader, workers int, fn func(capture.Kind, *tcp.Segment, *tracker.FlowHint)) error {
	if workers <= 1 {
		b := new(batch)
		for {
			b.n, b.err = r.Read(b.segs[:], b.kinds[:])
			b.hint()
			for i := 0; i < b.n; i++ {
				fn(b.kinds[i], &b.segs[i], &b.hints[i])
			}
			if b.err != nil {
				return endOfInput(b.err)
			}
		}
	}
	const depth = 4
	full := make(chan *batch, depth)
	free := make(chan *batch, depth+1)
	for i := 0; i < depth+1; i++ {
		free <- new(batch)
	}
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		defer close(full)
		for {
			var b *batch
			select {
			case b = <-free:
			case <-stop:
				return
			}
			b.n, b.err = r.Read(b.segs[:], b.kinds[:])
			b.hint()
			full <- b
			if b.err != nil {
				return
			}
		}
	}()
	for b := range full {
		for i := 0; i < b.n; i++ {
			fn(b.kinds[i], &b.segs[i], &b.hints[i])
		}
		if b.err != nil {
			return endOfInput(b.err)
		}
		free <- b
	}
	return nil
}

// hint works out the flow hints of the batch's TCP segments.
func (b *batch) hint() {
	for i := 0; i < b.n; i++ {
		if b.kinds[i] == capture.KindTCP {
			b.hints[i] = tracker.Hint(&b.segs[i])
		}
	}
}

func endOfInput(err error) error {
	if err == io.EOF {
		return nil
	}
	return err
}
