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
	fill := func(b *batch) {
		b.n, b.err = r.Read(b.segs[:], b.kinds[:])
		b.hint()
	}
	// deliver hands the batch to fn and reports whether reading goes on.
	deliver := func(b *batch) bool {
		for i := 0; i < b.n; i++ {
			fn(b.kinds[i], &b.segs[i], &b.hints[i])
		}
		return b.err == nil
	}
	if workers <= 1 {
		b := new(batch)
		for {
			if fill(b); !deliver(b) {
				return endOfInput(b.err)
			}
		}
	}
	rl := newRelay(4, func() *batch { return new(batch) })
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		defer close(rl.full)
		for {
			var b *batch
			select {
			case b = <-rl.free:
			case <-stop:
				return
			}
			fill(b)
			rl.full <- b
			if b.err != nil {
				return
			}
		}
	}()
	for b := range rl.full {
		if !deliver(b) {
			return endOfInput(b.err)
		}
		rl.free <- b
	}
	return nil
}

// relay cycles a fixed set of buffers between two goroutines: the producer
// takes an empty one from free, fills it and sends it on full; the consumer
// uses it and gives it back on free. Nothing is allocated per item, and the
// buffers in flight bound the memory between the two.
type relay[B any] struct{ full, free chan B }

// newRelay makes a relay of depth+1 buffers: depth can wait on full while
// the producer fills one more.
func newRelay[B any](depth int, newBuffer func() B) relay[B] {
	r := relay[B]{full: make(chan B, depth), free: make(chan B, depth+1)}
	for range depth + 1 {
		r.free <- newBuffer()
	}
	return r
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
