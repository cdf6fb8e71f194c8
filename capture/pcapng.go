package capture

import (
	"encoding/binary"
	"fmt"
	"io"
	"math/bits"
	"slices"
)

// pcapng block types and constants (draft-ietf-opsawg-pcapng).
const (
	ngBlockSection   = 0x0a0d0d0a
	ngBlockInterface = 1
	ngBlockObsolete  = 2 // Packet Block, obsolete but still written by old tools
	ngBlockSimple    = 3
	ngBlockEnhanced  = 6
	ngByteOrderMagic = 0x1a2b3c4d

	ngOptionEnd      = 0
	ngOptionTSResol  = 9
	ngOptionTSOffset = 14

	// maxInterfaces bounds the interface table of one section.
	maxInterfaces = 1 << 16
)

// ngInterface is what a packet needs from its Interface Description Block.
type ngInterface struct {
	link    LinkType
	snapLen uint32
	// Timestamps count units of 10^-n s (decimal) or 2^-n s (binary). For
	// decimal units a timestamp is multiplied by mul or divided by div to
	// give nanoseconds; for binary units shift is n.
	binary   bool
	shift    uint
	mul, div uint64
	offset   int64 // if_tsoffset in nanoseconds
}

// nanos converts a raw timestamp into nanoseconds since the epoch. Absurd
// values wrap rather than fail: they are damage the time checks will show.
func (i *ngInterface) nanos(ts uint64) int64 {
	if i.binary {
		secs, frac := ts>>i.shift, ts&(1<<i.shift-1)
		hi, lo := bits.Mul64(frac, 1e9)
		fracNanos := lo>>i.shift | hi<<(64-i.shift)
		return int64(secs*1e9+fracNanos) + i.offset
	}
	if i.div > 1 {
		return int64(ts/i.div) + i.offset
	}
	return int64(ts*i.mul) + i.offset
}

// ngReader reads pcapng blocks and returns the packets among them.
type ngReader struct {
	*stream
	swapped   bool // the current section is big-endian
	ifaces    []ngInterface
	linkTypes []LinkType // distinct link types declared anywhere in the file
	lastTime  int64      // for Simple Packet Blocks, which carry no timestamp
}

func (r *ngReader) u16(b []byte) uint16 {
	v := binary.LittleEndian.Uint16(b)
	if r.swapped {
		v = bits.ReverseBytes16(v)
	}
	return v
}

func (r *ngReader) u32(b []byte) uint32 {
	v := binary.LittleEndian.Uint32(b)
	if r.swapped {
		v = bits.ReverseBytes32(v)
	}
	return v
}

// newNgReader reads the first Section Header Block.
func newNgReader(s *stream) (*ngReader, error) {
	r := &ngReader{stream: s}
	if err := r.section(); err != nil {
		if fe, ok := err.(*FileError); ok {
			fe.Packet = 0 // a damaged file header, not a damaged packet
		}
		return nil, err
	}
	return r, nil
}

// section reads a Section Header Block: it fixes the byte order of the
// blocks that follow and forgets the previous section's interfaces.
func (r *ngReader) section() error {
	start := r.off
	hdr, err := r.peek(12)
	if err != nil {
		return r.fail(start, err)
	}
	switch binary.LittleEndian.Uint32(hdr[8:]) {
	case ngByteOrderMagic:
		r.swapped = false
	case bits.ReverseBytes32(ngByteOrderMagic):
		r.swapped = true
	default:
		return r.errorf(start, "bad pcapng byte-order magic %#08x", binary.LittleEndian.Uint32(hdr[8:]))
	}
	b, err := r.block(start, r.u32(hdr[4:]), 28)
	if err != nil {
		return err
	}
	if major := r.u16(b[12:]); major != 1 {
		return r.errorf(start, "unsupported pcapng version %d.%d", major, r.u16(b[14:]))
	}
	r.ifaces = r.ifaces[:0]
	r.skip(len(b))
	return nil
}

// block peeks a whole block of length blen starting at start, checking the
// length against the block's minimum, the buffer limit and the copy of the
// length in the block's trailer.
func (r *ngReader) block(start int64, blen uint32, minLen uint32) ([]byte, error) {
	if blen < minLen || blen%4 != 0 {
		return nil, r.errorf(start, "bad block length %d", blen)
	}
	if blen > maxParsedBlock {
		return nil, r.errorf(start, "block length %d exceeds the %d-byte limit", blen, maxParsedBlock)
	}
	b, err := r.peek(int(blen))
	if err != nil {
		return nil, r.fail(start, err)
	}
	if trailer := r.u32(b[blen-4:]); trailer != blen {
		return nil, r.errorf(start, "block length %d does not match its trailer %d", blen, trailer)
	}
	return b, nil
}

func (r *ngReader) next(rec *record) error {
	for {
		start := r.off
		hdr, err := r.peek(8)
		if err != nil {
			if err == io.EOF {
				return io.EOF
			}
			return r.fail(start, err)
		}
		btype := r.u32(hdr)
		if btype == ngBlockSection {
			if err := r.section(); err != nil {
				return err
			}
			continue
		}
		blen := r.u32(hdr[4:])
		switch btype {
		case ngBlockEnhanced, ngBlockObsolete:
			b, err := r.block(start, blen, 32)
			if err != nil {
				return err
			}
			var id uint32
			if btype == ngBlockEnhanced {
				id = r.u32(b[8:])
			} else {
				id = uint32(r.u16(b[8:]))
			}
			if id >= uint32(len(r.ifaces)) {
				return r.errorf(start, "packet on interface %d, but the section declares %d interfaces", id, len(r.ifaces))
			}
			capLen := r.u32(b[20:])
			if capLen > maxPacketRecord {
				return r.errorf(start, "packet record length %d exceeds the %d-byte limit", capLen, maxPacketRecord)
			}
			if capLen > blen-32 {
				return r.errorf(start, "captured length %d does not fit in block length %d", capLen, blen)
			}
			iface := &r.ifaces[id]
			rec.data = b[28 : 28+capLen]
			rec.wireLen = int(r.u32(b[24:]))
			rec.time = iface.nanos(uint64(r.u32(b[12:]))<<32 | uint64(r.u32(b[16:])))
			rec.link = iface.link
			rec.offset = start
			return r.packet(rec, len(b))
		case ngBlockSimple:
			b, err := r.block(start, blen, 16)
			if err != nil {
				return err
			}
			if len(r.ifaces) == 0 {
				return r.errorf(start, "simple packet block, but the section declares no interface")
			}
			iface := &r.ifaces[0]
			// The captured length is implicit: the original length cut to
			// the snap length and to what the block holds.
			wireLen := r.u32(b[8:])
			capLen := min(wireLen, blen-16)
			if iface.snapLen != 0 {
				capLen = min(capLen, iface.snapLen)
			}
			rec.data = b[12 : 12+capLen]
			rec.wireLen = int(wireLen)
			rec.time = r.lastTime
			rec.link = iface.link
			rec.offset = start
			return r.packet(rec, len(b))
		case ngBlockInterface:
			b, err := r.block(start, blen, 20)
			if err != nil {
				return err
			}
			if err := r.addInterface(start, b); err != nil {
				return err
			}
			r.skip(len(b))
		default:
			// Statistics, name resolution, decryption secrets, custom
			// blocks: nothing tcptrace uses.
			if blen < 12 || blen%4 != 0 {
				return r.errorf(start, "bad block length %d", blen)
			}
			if err := r.discard(int64(blen)); err != nil {
				return r.fail(start, err)
			}
		}
	}
}

// packet finishes reading a packet block of n bytes.
func (r *ngReader) packet(rec *record, n int) error {
	r.lastTime = rec.time
	r.skip(n)
	r.packets++
	return nil
}

// addInterface records an Interface Description Block.
func (r *ngReader) addInterface(start int64, b []byte) error {
	if len(r.ifaces) >= maxInterfaces {
		return r.errorf(start, "more than %d interfaces in one section", maxInterfaces)
	}
	iface := ngInterface{
		link:    LinkType(r.u16(b[8:])),
		snapLen: r.u32(b[12:]),
		mul:     1000, // the default resolution is microseconds
		div:     1,
	}
	opts := b[16 : len(b)-4]
	for len(opts) >= 4 {
		code, n := r.u16(opts), int(r.u16(opts[2:]))
		if code == ngOptionEnd {
			break
		}
		if 4+n > len(opts) {
			return r.errorf(start, "interface option %d of length %d overruns its block", code, n)
		}
		value := opts[4 : 4+n]
		switch {
		case code == ngOptionTSResol && n == 1:
			if err := iface.setResolution(value[0]); err != nil {
				return r.errorf(start, "%w", err)
			}
		case code == ngOptionTSOffset && n == 8:
			seconds := binary.LittleEndian.Uint64(value)
			if r.swapped {
				seconds = binary.BigEndian.Uint64(value)
			}
			iface.offset = int64(seconds) * 1e9
		}
		opts = opts[min(len(opts), 4+(n+3)&^3):]
	}
	r.ifaces = append(r.ifaces, iface)
	if !slices.Contains(r.linkTypes, iface.link) {
		r.linkTypes = append(r.linkTypes, iface.link)
	}
	return nil
}

// setResolution applies an if_tsresol value: the low 7 bits are an
// exponent of 10, or of 2 when the top bit is set.
func (i *ngInterface) setResolution(v byte) error {
	n := uint(v & 0x7f)
	switch {
	case v&0x80 != 0:
		if n > 63 {
			return fmt.Errorf("unsupported timestamp resolution 2^-%d", n)
		}
		i.binary, i.shift = true, n
	case n <= 9:
		i.mul, i.div = pow10(9-n), 1
	case n <= 19:
		i.mul, i.div = 1, pow10(n-9)
	default:
		return fmt.Errorf("unsupported timestamp resolution 10^-%d", n)
	}
	return nil
}

func pow10(n uint) uint64 {
	p := uint64(1)
	for range n {
		p *= 10
	}
	return p
}
