package synth

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"net/netip"
	"os"
	"strings"
	"time"
)

// Epoch is the capture time of the first packet of every Capture unless
// moved with At: a fixed instant keeps the output byte-for-byte reproducible.
var Epoch = time.Date(2024, time.January, 1, 12, 0, 0, 0, time.UTC)

// DefaultSnaplen is the snap length written to file headers when none is set;
// it is what tcpdump uses.
const DefaultSnaplen = 262144

// Capture collects packets in the order they are added and writes them as
// pcap, pcapng or gzip-compressed pcap. It has one clock shared by all its
// connections: each packet is stamped with the current time, and the clock
// then advances by the step (1 ms unless changed), so code that adds packets
// in order makes a capture in time order. Errors are sticky: the first one is
// kept and returned by Err and by every Write method.
type Capture struct {
	link    LinkType
	snaplen int
	now     time.Duration // since Epoch
	step    time.Duration
	tsresol map[LinkType]uint8
	packets []packet
	err     error
}

type packet struct {
	offset  time.Duration // since Epoch
	link    LinkType
	data    []byte
	wireLen int // original length; data may be shorter
}

// NewCapture returns an empty capture whose connections use the given link
// type (a Conn can switch with Conn.Link).
func NewCapture(link LinkType) *Capture {
	c := &Capture{link: link, snaplen: DefaultSnaplen, step: time.Millisecond}
	if !link.valid() {
		c.fail(fmt.Errorf("synth: unknown link type %d", link))
	}
	return c
}

func (c *Capture) fail(err error) {
	if c.err == nil {
		c.err = err
	}
}

// Err returns the first error met while building, or nil.
func (c *Capture) Err() error { return c.err }

// At sets the clock to d after Epoch. Setting it earlier than the previous
// packet makes a capture whose time goes backwards.
func (c *Capture) At(d time.Duration) *Capture { c.now = d; return c }

// After moves the clock forward by d (backward when d is negative).
func (c *Capture) After(d time.Duration) *Capture { c.now += d; return c }

// Step sets how far the clock advances after each packet.
func (c *Capture) Step(d time.Duration) *Capture { c.step = d; return c }

// Now returns the current clock as time since Epoch.
func (c *Capture) Now() time.Duration { return c.now }

// Snaplen sets the snap length: the file header says n and every packet is
// cut to at most n bytes when written.
func (c *Capture) Snaplen(n int) *Capture {
	if n <= 0 || n > 1<<30 {
		c.fail(fmt.Errorf("synth: snaplen %d out of range", n))
		return c
	}
	c.snaplen = n
	return c
}

// TSResolution sets the pcapng if_tsresol of the interface for one link type:
// n for 10^-n seconds, 0x80|n for 2^-n seconds. Without it the option is left
// out, which means microseconds. Classic pcap ignores it.
func (c *Capture) TSResolution(link LinkType, tsresol uint8) *Capture {
	if tsresol&0x80 == 0 && tsresol > 9 || tsresol&0x80 != 0 && tsresol&0x7f > 63 {
		c.fail(fmt.Errorf("synth: if_tsresol %#x not supported", tsresol))
		return c
	}
	if c.tsresol == nil {
		c.tsresol = make(map[LinkType]uint8)
	}
	c.tsresol[link] = tsresol
	return c
}

// Raw appends a prebuilt frame of the given link type at the current time.
// Use it for packets no Conn makes (non-TCP, malformed).
func (c *Capture) Raw(link LinkType, frame []byte) *Capture {
	if !link.valid() {
		c.fail(fmt.Errorf("synth: packet %d: unknown link type %d", len(c.packets)+1, link))
		return c
	}
	c.add(link, append([]byte(nil), frame...), len(frame))
	return c
}

func (c *Capture) add(link LinkType, data []byte, wireLen int) {
	c.packets = append(c.packets, packet{offset: c.now, link: link, data: data, wireLen: wireLen})
	c.now += c.step
}

// Len returns the number of packets so far.
func (c *Capture) Len() int { return len(c.packets) }

// Slice returns a capture holding packets [from, to) of c with c's settings,
// for example the two halves of a rotated capture. The packets are shared.
func (c *Capture) Slice(from, to int) *Capture {
	s := *c
	if from < 0 || to > len(c.packets) || from > to {
		s.packets = nil
		s.fail(fmt.Errorf("synth: slice [%d:%d] of %d packets", from, to, len(c.packets)))
		return &s
	}
	s.packets = c.packets[from:to:to]
	return &s
}

// capLen is the number of bytes of p that go into the file.
func (c *Capture) capLen(p *packet) int { return min(len(p.data), c.snaplen) }

func (c *Capture) time(p *packet) time.Time { return Epoch.Add(p.offset) }

// WritePcap writes a classic little-endian pcap file with microsecond
// timestamps, or nanosecond ones when nanos is set. Every packet must have
// the same DLT.
func (c *Capture) WritePcap(w io.Writer, nanos bool) error {
	if c.err != nil {
		return c.err
	}
	dlt := c.link.DLT()
	if len(c.packets) > 0 {
		dlt = c.packets[0].link.DLT()
	}
	for i := range c.packets {
		if d := c.packets[i].link.DLT(); d != dlt {
			return fmt.Errorf("synth: packet %d has link type %v (DLT %d) but the pcap file is DLT %d: write pcapng instead",
				i+1, c.packets[i].link, d, dlt)
		}
	}
	bw := bufio.NewWriter(w)
	var hdr [24]byte
	magic := uint32(0xa1b2c3d4)
	if nanos {
		magic = 0xa1b23c4d
	}
	binary.LittleEndian.PutUint32(hdr[0:], magic)
	binary.LittleEndian.PutUint16(hdr[4:], 2)
	binary.LittleEndian.PutUint16(hdr[6:], 4)
	binary.LittleEndian.PutUint32(hdr[16:], uint32(c.snaplen))
	binary.LittleEndian.PutUint32(hdr[20:], uint32(dlt))
	bw.Write(hdr[:])
	for i := range c.packets {
		p := &c.packets[i]
		t := c.time(p)
		frac := uint32(t.Nanosecond())
		if !nanos {
			frac /= 1000
		}
		n := c.capLen(p)
		var rec [16]byte
		binary.LittleEndian.PutUint32(rec[0:], uint32(t.Unix()))
		binary.LittleEndian.PutUint32(rec[4:], frac)
		binary.LittleEndian.PutUint32(rec[8:], uint32(n))
		binary.LittleEndian.PutUint32(rec[12:], uint32(p.wireLen))
		bw.Write(rec[:])
		bw.Write(p.data[:n])
	}
	return bw.Flush()
}

// WritePcapGzip writes WritePcap's output through gzip, as rotated captures
// are often kept. The gzip header carries no name and no time.
func (c *Capture) WritePcapGzip(w io.Writer, nanos bool) error {
	zw, err := gzip.NewWriterLevel(w, gzip.BestCompression)
	if err != nil {
		return err
	}
	if err := c.WritePcap(zw, nanos); err != nil {
		return err
	}
	return zw.Close()
}

// pcapng block types and option codes (draft-ietf-opsawg-pcapng).
const (
	blockSHB = 0x0A0D0D0A
	blockIDB = 0x00000001
	blockEPB = 0x00000006

	optEnd       = 0
	optUserAppl  = 4 // shb_userappl
	optIfTSResol = 9
)

// WritePcapNG writes a little-endian pcapng file: one section, one interface
// per link type in order of first use, one enhanced packet block per packet.
func (c *Capture) WritePcapNG(w io.Writer) error {
	if c.err != nil {
		return c.err
	}
	bw := bufio.NewWriter(w)
	ng := ngWriter{w: bw}

	ng.block(blockSHB, func(b []byte) []byte {
		b = binary.LittleEndian.AppendUint32(b, 0x1A2B3C4D)
		b = binary.LittleEndian.AppendUint16(b, 1)
		b = binary.LittleEndian.AppendUint16(b, 0)
		b = binary.LittleEndian.AppendUint64(b, ^uint64(0)) // section length not given
		b = appendOption(b, optUserAppl, []byte("tcptrace synth"))
		return appendOption(b, optEnd, nil)
	})

	ifaces := make(map[LinkType]uint32)
	links := []LinkType{}
	for i := range c.packets {
		l := c.packets[i].link
		if _, ok := ifaces[l]; !ok {
			ifaces[l] = uint32(len(links))
			links = append(links, l)
		}
	}
	if len(links) == 0 {
		links = append(links, c.link)
	}
	for _, l := range links {
		tsresol, hasRes := c.tsresol[l]
		ng.block(blockIDB, func(b []byte) []byte {
			b = binary.LittleEndian.AppendUint16(b, uint16(l.DLT()))
			b = binary.LittleEndian.AppendUint16(b, 0)
			b = binary.LittleEndian.AppendUint32(b, uint32(c.snaplen))
			if hasRes {
				b = appendOption(b, optIfTSResol, []byte{tsresol})
				b = appendOption(b, optEnd, nil)
			}
			return b
		})
	}

	for i := range c.packets {
		p := &c.packets[i]
		res, ok := c.tsresol[p.link]
		if !ok {
			res = 6
		}
		ts, err := tsUnits(c.time(p), res)
		if err != nil {
			return fmt.Errorf("synth: packet %d: %w", i+1, err)
		}
		n := c.capLen(p)
		ng.block(blockEPB, func(b []byte) []byte {
			b = binary.LittleEndian.AppendUint32(b, ifaces[p.link])
			b = binary.LittleEndian.AppendUint32(b, uint32(ts>>32))
			b = binary.LittleEndian.AppendUint32(b, uint32(ts))
			b = binary.LittleEndian.AppendUint32(b, uint32(n))
			b = binary.LittleEndian.AppendUint32(b, uint32(p.wireLen))
			b = append(b, p.data[:n]...)
			return pad4(b)
		})
	}
	return bw.Flush()
}

// tsUnits converts t to pcapng timestamp units for the if_tsresol value.
func tsUnits(t time.Time, tsresol uint8) (uint64, error) {
	ns := t.UnixNano()
	if ns < 0 {
		return 0, errors.New("timestamp before 1970")
	}
	if tsresol&0x80 == 0 {
		div := uint64(1)
		for range 9 - int(tsresol) {
			div *= 10
		}
		return uint64(ns) / div, nil
	}
	// 2^-n seconds: ns * 2^n / 1e9, in 128 bits so large n cannot overflow.
	hi, lo := bits.Mul64(uint64(ns), 1<<(tsresol&0x7f))
	if hi >= 1e9 {
		return 0, fmt.Errorf("timestamp does not fit if_tsresol %#x", tsresol)
	}
	q, _ := bits.Div64(hi, lo, 1e9)
	return q, nil
}

// ngWriter frames pcapng blocks: type, total length, body, total length.
type ngWriter struct {
	w   *bufio.Writer
	buf []byte
}

func (n *ngWriter) block(typ uint32, body func([]byte) []byte) {
	b := n.buf[:0]
	b = binary.LittleEndian.AppendUint32(b, typ)
	b = binary.LittleEndian.AppendUint32(b, 0) // length, filled below
	b = body(b)
	total := uint32(len(b) + 4)
	binary.LittleEndian.PutUint32(b[4:], total)
	b = binary.LittleEndian.AppendUint32(b, total)
	n.w.Write(b)
	n.buf = b
}

func appendOption(b []byte, code uint16, val []byte) []byte {
	b = binary.LittleEndian.AppendUint16(b, code)
	b = binary.LittleEndian.AppendUint16(b, uint16(len(val)))
	b = append(b, val...)
	return pad4(b)
}

func pad4(b []byte) []byte {
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

// WriteFile writes the capture to a file in the format its name picks (see
// WriteFormat).
func (c *Capture) WriteFile(name string) error {
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	err = c.WriteFormat(f, name)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// WriteFormat writes the capture in the format a file name picks: .pcapng,
// .pcap.gz (gzip), anything else classic pcap; microsecond timestamps unless
// the name ends in .ns.pcap.
func (c *Capture) WriteFormat(w io.Writer, name string) error {
	switch {
	case strings.HasSuffix(name, ".pcapng"):
		return c.WritePcapNG(w)
	case strings.HasSuffix(name, ".gz"):
		return c.WritePcapGzip(w, false)
	default:
		return c.WritePcap(w, strings.HasSuffix(name, ".ns.pcap"))
	}
}

// Conn starts a TCP connection between client and server; both must be the
// same IP version. Nothing is sent until a method of Conn is called.
func (c *Capture) Conn(client, server netip.AddrPort, clientISN, serverISN uint32) *Conn {
	k := &Conn{c: c, link: c.link}
	if client.Addr().Is4() != server.Addr().Is4() || !client.IsValid() || !server.IsValid() {
		c.fail(fmt.Errorf("synth: connection %v -> %v: addresses must be valid and of one IP version", client, server))
	}
	k.ep[Client.index()] = newEndpoint(client.Addr().Unmap(), client.Port(), clientISN)
	k.ep[Server.index()] = newEndpoint(server.Addr().Unmap(), server.Port(), serverISN)
	return k
}
