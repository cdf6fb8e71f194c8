package capture

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
)

// Hand-made capture files, for what pcapgo's writers cannot produce:
// big-endian files, other timestamp resolutions, several sections, unknown
// blocks and damage.

// pcapBytes writes a classic pcap file. Times are nanoseconds; with nanos
// false they are written in microseconds.
func pcapBytes(order binary.ByteOrder, nanos bool, link LinkType, snapLen uint32, pkts ...testPacket) []byte {
	var b bytes.Buffer
	magic := uint32(pcapMagicMicros)
	if nanos {
		magic = pcapMagicNanos
	}
	hdr := make([]byte, 24)
	order.PutUint32(hdr[0:], magic)
	order.PutUint16(hdr[4:], 2)
	order.PutUint16(hdr[6:], 4)
	order.PutUint32(hdr[16:], snapLen)
	order.PutUint32(hdr[20:], uint32(link))
	b.Write(hdr)
	for _, p := range pkts {
		rec := make([]byte, 16)
		order.PutUint32(rec[0:], uint32(p.time/1e9))
		frac := p.time % 1e9
		if !nanos {
			frac /= 1000
		}
		order.PutUint32(rec[4:], uint32(frac))
		order.PutUint32(rec[8:], uint32(len(p.data)))
		order.PutUint32(rec[12:], uint32(p.wireLen()))
		b.Write(rec)
		b.Write(p.data)
	}
	return b.Bytes()
}

// testPacket is one packet to write.
type testPacket struct {
	time int64 // nanoseconds
	data []byte
	wire int // 0: len(data)
}

func (p testPacket) wireLen() int {
	if p.wire == 0 {
		return len(p.data)
	}
	return p.wire
}

// ngBuilder writes pcapng blocks in one byte order per section.
type ngBuilder struct {
	buf   bytes.Buffer
	order binary.ByteOrder
}

// block writes a block with the given body, padding it to 4 bytes.
func (n *ngBuilder) block(btype uint32, body []byte) {
	for len(body)%4 != 0 {
		body = append(body, 0)
	}
	total := uint32(12 + len(body))
	var h [8]byte
	n.order.PutUint32(h[0:], btype)
	n.order.PutUint32(h[4:], total)
	n.buf.Write(h[:])
	n.buf.Write(body)
	n.order.PutUint32(h[0:], total)
	n.buf.Write(h[:4])
}

// section starts a section in the given byte order.
func (n *ngBuilder) section(order binary.ByteOrder) {
	n.order = order
	body := make([]byte, 16)
	order.PutUint32(body[0:], ngByteOrderMagic)
	order.PutUint16(body[4:], 1)
	order.PutUint16(body[6:], 0)
	order.PutUint64(body[8:], ^uint64(0)) // section length unknown
	n.block(ngBlockSection, body)
}

// option encodes one option in the builder's byte order.
func (n *ngBuilder) option(code uint16, value []byte) []byte {
	o := make([]byte, 4, 4+len(value)+3)
	n.order.PutUint16(o[0:], code)
	n.order.PutUint16(o[2:], uint16(len(value)))
	o = append(o, value...)
	for len(o)%4 != 0 {
		o = append(o, 0)
	}
	return o
}

// iface declares an interface; tsresol < 0 leaves the option out
// (microseconds); tsoffset 0 leaves if_tsoffset out.
func (n *ngBuilder) iface(link LinkType, snapLen uint32, tsresol int, tsoffset int64) {
	body := make([]byte, 8)
	n.order.PutUint16(body[0:], uint16(link))
	n.order.PutUint32(body[4:], snapLen)
	body = append(body, n.option(2, []byte("eth0"))...) // if_name, to be skipped
	if tsresol >= 0 {
		body = append(body, n.option(ngOptionTSResol, []byte{byte(tsresol)})...)
	}
	if tsoffset != 0 {
		v := make([]byte, 8)
		n.order.PutUint64(v, uint64(tsoffset))
		body = append(body, n.option(ngOptionTSOffset, v)...)
	}
	body = append(body, n.option(ngOptionEnd, nil)...)
	n.block(ngBlockInterface, body)
}

// epb writes an Enhanced Packet Block with a raw timestamp in the
// interface's units.
func (n *ngBuilder) epb(iface uint32, ts uint64, data []byte, wire int) {
	if wire == 0 {
		wire = len(data)
	}
	body := make([]byte, 20, 20+len(data)+8)
	n.order.PutUint32(body[0:], iface)
	n.order.PutUint32(body[4:], uint32(ts>>32))
	n.order.PutUint32(body[8:], uint32(ts))
	n.order.PutUint32(body[12:], uint32(len(data)))
	n.order.PutUint32(body[16:], uint32(wire))
	body = append(body, data...)
	for len(body)%4 != 0 {
		body = append(body, 0)
	}
	body = append(body, n.option(1, []byte("comment"))...) // opt_comment, to be skipped
	n.block(ngBlockEnhanced, body)
}

// opb writes an obsolete Packet Block.
func (n *ngBuilder) opb(iface uint16, ts uint64, data []byte) {
	body := make([]byte, 20, 20+len(data))
	n.order.PutUint16(body[0:], iface)
	n.order.PutUint32(body[4:], uint32(ts>>32))
	n.order.PutUint32(body[8:], uint32(ts))
	n.order.PutUint32(body[12:], uint32(len(data)))
	n.order.PutUint32(body[16:], uint32(len(data)))
	n.block(ngBlockObsolete, append(body, data...))
}

// spb writes a Simple Packet Block.
func (n *ngBuilder) spb(data []byte, wire int) {
	body := make([]byte, 4, 4+len(data))
	n.order.PutUint32(body, uint32(wire))
	n.block(ngBlockSimple, append(body, data...))
}

func (n *ngBuilder) bytes() []byte { return n.buf.Bytes() }

func gzipBytes(t testing.TB, b []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	w := gzip.NewWriter(&out)
	if _, err := w.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// writeTemp writes b into a fresh file of the test's temporary directory.
func writeTemp(t testing.TB, name string, b []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}
