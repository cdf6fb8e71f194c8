package capture

import (
	"bufio"
	"errors"
	"fmt"
	"io"
)

const (
	// maxPacketRecord caps the captured length of one packet record. No
	// link tcptrace reads has frames this large (even 64 KiB TSO bursts
	// fit), and it bounds what a lying length field can make us buffer.
	maxPacketRecord = 256 << 10

	// maxParsedBlock caps a pcapng block that is read whole (section and
	// interface headers, packet blocks). Unknown blocks are skipped with
	// Discard, whatever their size.
	maxParsedBlock = maxPacketRecord + 64<<10

	// readBufferSize is the bufio size: one refill serves thousands of small
	// packets, and every record we Peek fits, so packet bytes are handed
	// out straight from the buffer without a copy.
	readBufferSize = 1 << 20

	// readChunk is how much one refill reads when the record asks for
	// less: small enough that what the kernel copies in is still in the
	// L2 cache when it is decoded (measured on the 2 M-packet benchmark
	// mix: 128 KiB reads are 8% faster than 1 MiB reads).
	readChunk = 128 << 10
)

// FileError reports damage in a capture file: what is wrong, the 1-based
// number of the packet record being read within its file (0 for the file
// header) and the byte offset of the record or block where it went wrong.
// For gzip-compressed files the offset counts decompressed bytes.
type FileError struct {
	File   string
	Packet uint64
	Offset int64
	Err    error
}

func (e *FileError) Error() string {
	if e.Packet == 0 {
		return fmt.Sprintf("%s: %v (byte offset %d)", e.File, e.Err, e.Offset)
	}
	return fmt.Sprintf("%s: %v at packet %d (byte offset %d)", e.File, e.Err, e.Packet, e.Offset)
}

func (e *FileError) Unwrap() error { return e.Err }

// errTruncatedRecord is the cause when the file ends inside a record or block.
var errTruncatedRecord = errors.New("truncated record")

// errTruncatedHeader is the cause when the file ends inside its file header.
var errTruncatedHeader = errors.New("truncated file header")

// stream is a position-tracking reader over one (decompressed) capture file,
// shared by the pcap and pcapng record readers.
type stream struct {
	name    string
	in      io.Reader
	buf     []byte // readBufferSize; the unread bytes are buf[r:w]
	r, w    int
	err     error  // the first error from in, returned once the buffer is drained
	off     int64  // offset of the next unread byte
	packets uint64 // packet records returned so far
}

// newStream reads in through one large buffer. It is its own small bufio:
// peek of what is already buffered is a bounds check and a slice, which
// matters at millions of records per second.
func newStream(name string, in io.Reader) stream {
	return stream{name: name, in: in, buf: make([]byte, readBufferSize)}
}

// errorf makes a FileError at the given offset for the record being read.
func (s *stream) errorf(off int64, format string, args ...any) error {
	return &FileError{File: s.name, Packet: s.packets + 1, Offset: off, Err: fmt.Errorf(format, args...)}
}

// fail wraps err (a read error) for the record at off: an early end of file
// becomes errTruncatedRecord, anything else (a gzip checksum, an I/O error)
// is passed on.
func (s *stream) fail(off int64, err error) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		err = errTruncatedRecord
	}
	return &FileError{File: s.name, Packet: s.packets + 1, Offset: off, Err: err}
}

// peek returns the next n bytes without consuming them. n must not exceed
// readBufferSize. A clean end of file before any byte gives io.EOF; an end
// inside the n bytes gives io.ErrUnexpectedEOF.
func (s *stream) peek(n int) ([]byte, error) {
	if s.w-s.r >= n {
		return s.buf[s.r : s.r+n], nil
	}
	return s.fill(n)
}

// fill moves the unread bytes to the front of the buffer and reads until n
// bytes are there or the input ends. Slices from earlier peeks are invalid
// afterwards.
func (s *stream) fill(n int) ([]byte, error) {
	if n > len(s.buf) {
		return nil, bufio.ErrBufferFull
	}
	if s.r > 0 {
		s.w = copy(s.buf, s.buf[s.r:s.w])
		s.r = 0
	}
	// Read a chunk that stays in the CPU's cache until it is decoded,
	// more only when one record needs it.
	limit := min(len(s.buf), max(n, readChunk))
	for empty := 0; s.w < n && s.err == nil; {
		m, err := s.in.Read(s.buf[s.w:limit])
		s.w += m
		if err != nil {
			s.err = err
		} else if m == 0 {
			if empty++; empty >= 100 {
				s.err = io.ErrNoProgress
			}
		}
	}
	if s.w >= n {
		return s.buf[:n], nil
	}
	b := s.buf[:s.w]
	if s.err == io.EOF && len(b) > 0 {
		return b, io.ErrUnexpectedEOF
	}
	return b, s.err
}

// skip consumes n bytes that were already peeked.
func (s *stream) skip(n int) {
	s.r += n
	s.off += int64(n)
}

// discard consumes n bytes that may not be buffered (an unknown block).
func (s *stream) discard(n int64) error {
	for n > 0 {
		if s.r == s.w {
			if _, err := s.fill(1); err != nil {
				if err == io.EOF {
					return io.ErrUnexpectedEOF
				}
				return err
			}
		}
		k := int(min(n, int64(s.w-s.r)))
		s.skip(k)
		n -= int64(k)
	}
	return nil
}
