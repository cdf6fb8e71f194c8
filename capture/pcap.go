package capture

import (
	"encoding/binary"
	"io"
	"math/bits"
)

// Classic pcap magic numbers as read little-endian from the first 4 bytes.
const (
	pcapMagicMicros      = 0xa1b2c3d4
	pcapMagicNanos       = 0xa1b23c4d
	pcapMagicKuznetzov   = 0xa1b2cd34 // "modified" pcap: 8 more bytes per record header
	pcapFileHeaderLength = 24
)

// record is one packet record as read from a file. data points into the
// reader's buffer and is valid until the reader advances.
type record struct {
	data    []byte
	wireLen int
	time    int64 // nanoseconds since the Unix epoch
	link    LinkType
	offset  int64 // of the record in its file, for error messages
}

// recordReader reads the packet records of one file.
type recordReader interface {
	// next fills rec with the next packet record. It returns io.EOF at a
	// clean end of file and a *FileError on damage.
	next(rec *record) error
}

// pcapReader reads classic pcap records.
type pcapReader struct {
	*stream
	swapped   bool  // fields are big-endian
	fracScale int64 // nanoseconds per unit of the timestamp's fraction field
	hdrLen    int   // record header length: 16, or 24 for the modified format
	link      LinkType
}

// u32 reads a header field in the file's byte order.
func (p *pcapReader) u32(b []byte) uint32 {
	v := binary.LittleEndian.Uint32(b)
	if p.swapped {
		v = bits.ReverseBytes32(v)
	}
	return v
}

// newPcapReader parses the 24-byte file header.
func newPcapReader(s *stream) (*pcapReader, error) {
	hdr, err := s.peek(pcapFileHeaderLength)
	if err != nil {
		return nil, s.headerError(err)
	}
	p := &pcapReader{stream: s, fracScale: 1000, hdrLen: 16}
	magic := binary.LittleEndian.Uint32(hdr)
	if magic != pcapMagicMicros && magic != pcapMagicNanos && magic != pcapMagicKuznetzov {
		p.swapped = true
		magic = bits.ReverseBytes32(magic)
	}
	switch magic {
	case pcapMagicNanos:
		p.fracScale = 1
	case pcapMagicKuznetzov:
		p.hdrLen = 24
	}
	// The low 16 bits are the link type; the upper bits carry FCS
	// information tcptrace does not need.
	p.link = LinkType(p.u32(hdr[20:]) & 0xffff)
	if !p.link.Supported() {
		return nil, &FileError{File: s.name, Offset: 20, Err: unsupportedLinkError(p.link, 0)}
	}
	s.skip(pcapFileHeaderLength)
	return p, nil
}

func (p *pcapReader) next(rec *record) error {
	start := p.off
	hdr, err := p.peek(p.hdrLen)
	if err != nil {
		if err == io.EOF {
			return io.EOF
		}
		return p.fail(start, err)
	}
	capLen := p.u32(hdr[8:])
	wireLen := p.u32(hdr[12:])
	if capLen > maxPacketRecord {
		// caplen > snaplen happens in real files and is harmless; only the
		// absolute cap protects memory.
		return p.errorf(start, "packet record length %d exceeds the %d-byte limit", capLen, maxPacketRecord)
	}
	// This Peek may slide the buffer, so hdr is stale after it: read the
	// header again from buf.
	buf, err := p.peek(p.hdrLen + int(capLen))
	if err != nil {
		return p.fail(start, err)
	}
	rec.data = buf[p.hdrLen:]
	rec.wireLen = int(wireLen)
	rec.time = int64(p.u32(buf[0:]))*1e9 + int64(p.u32(buf[4:]))*p.fracScale
	rec.link = p.link
	rec.offset = start
	p.skip(len(buf))
	p.packets++
	return nil
}

// headerError describes a file too short for its header.
func (s *stream) headerError(err error) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return &FileError{File: s.name, Err: errTruncatedHeader}
	}
	return &FileError{File: s.name, Err: err}
}
