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
// kept, rendered, until the older one has been written. So that one
// long-lived connection cannot make that wait grow without bound, at most
// pendingBudget bytes wait: beyond it the waiting lines are written in id
// order and the order resumes after them. The output stays deterministic
// (the budget depends only on the input). Output goes through one large
// buffer.
type jsonStream struct {
	w            *bufio.Writer
	next         uint64            // the id to write next
	pending      map[uint64][]byte // rendered lines waiting for an older connection
	pendingBytes int
	buf          []byte
	err          error
}

// pendingBudget bounds the rendered lines waiting for an older connection.
const pendingBudget = 32 << 20

func newJSONStream(w io.Writer) *jsonStream {
	return &jsonStream{w: bufio.NewWriterSize(w, 256<<10), next: 1, pending: map[uint64][]byte{}}
}

func (s *jsonStream) conn(c *tracker.Conn) {
	if c.ID < s.next {
		// Older than lines already written past the budget: write it now.
		s.buf = append(report.AppendConn(s.buf[:0], c), '\n')
		s.write(s.buf)
		return
	}
	if c.ID != s.next {
		// Rendered in the reused buffer, kept as an exact-size copy.
		s.buf = append(report.AppendConn(s.buf[:0], c), '\n')
		line := make([]byte, len(s.buf))
		copy(line, s.buf)
		s.pending[c.ID] = line
		s.pendingBytes += len(line)
		if s.pendingBytes > pendingBudget {
			s.flushPending()
		}
		return
	}
	s.buf = append(report.AppendConn(s.buf[:0], c), '\n')
	s.write(s.buf)
	s.next++
	for {
		b, ok := s.pending[s.next]
		if !ok {
			return
		}
		delete(s.pending, s.next)
		s.pendingBytes -= len(b)
		s.write(b)
		s.next++
	}
}

// flushPending writes every waiting line in id order; connections older
// than them that are still open will be written when they end.
func (s *jsonStream) flushPending() {
	ids := slices.Sorted(maps.Keys(s.pending))
	for _, id := range ids {
		s.write(s.pending[id])
	}
	clear(s.pending)
	s.pendingBytes = 0
	s.next = ids[len(ids)-1] + 1
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
