package main

import (
	"bufio"
	"io"
	"maps"
	"slices"

	"github.com/tcptrace/tcptrace/report"
	"github.com/tcptrace/tcptrace/tracker"
)

// jsonStream writes connections as the tracker hands them over, in order of
// first packet (their ids): a connection that ends before an older one is
// held, frozen (tracker.Freezer: ~0.6 KB, a quarter of its rendered line),
// until the older one has been written. So that one long-lived connection
// cannot make that wait grow without bound, at most pendingBudget bytes are
// held: beyond it the held connections are written in id order and the
// order resumes after them. The output stays deterministic (what is held
// depends only on the input). Output goes through one large buffer.
type jsonStream struct {
	w            *bufio.Writer
	next         uint64          // the id to write next
	pending      map[uint64]held // connections waiting for an older one
	pendingBytes int
	budget       int // pendingBudget; smaller in tests
	fz           tracker.Freezer
	thawed       tracker.Conn // where a held connection is rebuilt to be written
	buf          []byte
	err          error
}

// held is a connection waiting to be written: frozen, or rendered when it
// cannot be frozen.
type held struct {
	frozen tracker.Frozen
	line   []byte // nil when frozen
}

// pendingBudget bounds the memory of the connections waiting for an older
// one: 13,107 frozen connections, fewer rendered lines.
const pendingBudget = 8 << 20

// frozenWeight is what a frozen connection counts for against
// pendingBudget: about its size, but fixed, so that how well connections
// freeze never changes the order of the output.
const frozenWeight = 640

func newJSONStream(w io.Writer) *jsonStream {
	return &jsonStream{w: bufio.NewWriterSize(w, 256<<10), next: 1, pending: map[uint64]held{}, budget: pendingBudget}
}

func (s *jsonStream) conn(c *tracker.Conn) {
	if c.ID < s.next {
		// Older than lines already written past the budget: write it now.
		s.writeConn(c)
		return
	}
	if c.ID != s.next {
		var h held
		if f, ok := s.fz.Freeze(c); ok {
			h.frozen = f
			s.pendingBytes += frozenWeight
		} else {
			// Rendered in the reused buffer, kept as an exact-size copy.
			s.buf = append(report.AppendConn(s.buf[:0], c), '\n')
			h.line = append([]byte(nil), s.buf...)
			s.pendingBytes += len(h.line)
		}
		s.pending[c.ID] = h
		if s.pendingBytes > s.budget {
			s.flushPending()
		}
		return
	}
	s.writeConn(c)
	s.next++
	for {
		h, ok := s.pending[s.next]
		if !ok {
			return
		}
		delete(s.pending, s.next)
		s.writeHeld(h)
		s.next++
	}
}

// flushPending writes every held connection in id order; connections older
// than them that are still open will be written when they end.
func (s *jsonStream) flushPending() {
	ids := slices.Sorted(maps.Keys(s.pending))
	for _, id := range ids {
		s.writeHeld(s.pending[id])
	}
	clear(s.pending)
	s.pendingBytes = 0
	s.next = ids[len(ids)-1] + 1
}

func (s *jsonStream) writeHeld(h held) {
	if h.line != nil {
		s.pendingBytes -= len(h.line)
		s.write(h.line)
		return
	}
	s.pendingBytes -= frozenWeight
	s.fz.Thaw(h.frozen, &s.thawed)
	s.writeConn(&s.thawed)
}

func (s *jsonStream) writeConn(c *tracker.Conn) {
	s.buf = append(report.AppendConn(s.buf[:0], c), '\n')
	s.write(s.buf)
}

func (s *jsonStream) write(b []byte) {
	if s.err == nil {
		_, s.err = s.w.Write(b)
	}
}

// finish writes the pileups and the summary after the last connection.
func (s *jsonStream) finish(sum report.Summary) error {
	if len(s.pending) > 0 {
		s.flushPending()
	}
	if s.err != nil {
		return s.err
	}
	j := report.NewJSON(s.w)
	for _, p := range sum.Pileups {
		if err := j.Pileup(p); err != nil {
			return err
		}
	}
	if err := j.Summary(sum); err != nil {
		return err
	}
	return s.w.Flush()
}
