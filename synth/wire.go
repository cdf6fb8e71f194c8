package synth

import (
	"bufio"
	"encoding/binary"
)

// This file builds Ethernet/IP/TCP frames by hand into a reused buffer for
// the mix and flood generators, which must write millions of packets per
// second; gopacket serialization allocates per packet and is several times
// slower. TestMixMatchesGopacket proves these bytes equal what gopacket makes.

// rng is SplitMix64: tiny, fast, and fully specified here so the same seed
// gives the same bytes on every Go release and architecture. Only integer
// operations are used: floating-point results may differ where the compiler
// fuses multiply-add.
type rng struct{ s uint64 }

func newRNG(seed int64, stream uint64) rng {
	r := rng{s: uint64(seed) ^ stream*0xd1b54a32d192ed03}
	r.next()
	return r
}

func (r *rng) next() uint64 {
	r.s += 0x9e3779b97f4a7c15
	z := r.s
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

func (r *rng) u32() uint32 { return uint32(r.next() >> 32) }

// intn returns a value in [0, n) for 0 < n < 2^32 (Lemire's multiply-shift;
// its bias below 2^-32 does not matter here).
func (r *rng) intn(n int) int { return int((r.next() >> 32) * uint64(n) >> 32) }

// between returns a value in [lo, hi].
func (r *rng) between(lo, hi int) int { return lo + r.intn(hi-lo+1) }

// chance reports true with probability p/2^32.
func (r *rng) chance(p uint32) bool { return r.u32() < p }

// spread returns a value between lo and hi with roughly log-uniform
// distribution: a random power-of-two band, then uniform inside it. Many small
// values, a few large ones, as transfer sizes and round-trip times are.
func (r *rng) spread(lo, hi int) int {
	bands := 0
	for v := lo; v < hi; v *= 2 {
		bands++
	}
	if bands == 0 {
		return lo
	}
	b := r.intn(bands)
	start := lo << b
	return min(start+r.intn(start), hi)
}

// share turns a probability into a threshold for chance. The explicit
// conversion rounds, so no fused operation can change the result.
func share(p float64) uint32 {
	switch {
	case p <= 0:
		return 0
	case p >= 1:
		return 1<<32 - 1
	}
	return uint32(float64(p * (1 << 32)))
}

// host is one address with what the frame builder precomputes for it.
type host struct {
	addr [16]byte // IPv4 in the first 4 bytes
	v6   bool
	mac  [6]byte
	sum  uint32 // sum of the address as 16-bit words, for pseudo-headers
}

func newHost(addr [16]byte, v6 bool) host {
	h := host{addr: addr, v6: v6}
	n := 4
	if v6 {
		n = 16
	}
	for i := 0; i < n; i += 2 {
		h.sum += uint32(addr[i])<<8 | uint32(addr[i+1])
	}
	// Locally administered, derived from the address like macFor.
	h.mac = [6]byte{0x02, 0x00, addr[n-4], addr[n-3], addr[n-2], addr[n-1]}
	return h
}

// TCP option layouts the generators use, as Linux lays them out.
const (
	optNone   = iota
	optSYN    // MSS, SACK-permitted, timestamps, NOP, window scale: 20 bytes
	optMSS    // MSS only, as scanners send: 4 bytes
	optTS     // NOP, NOP, timestamps: 12 bytes
	optTSSACK // NOP, NOP, timestamps, NOP, NOP, one SACK block: 24 bytes
)

var optLen = [...]int{optNone: 0, optSYN: 20, optMSS: 4, optTS: 12, optTSSACK: 24}

// frame is one TCP packet for the frame builder.
type frame struct {
	t          int64 // ns since Epoch
	src, dst   *host
	sport      uint16
	dport      uint16
	ipID       uint16
	ttl        uint8
	flowLabel  uint32
	flags      uint8
	seq, ack   uint32
	window     uint16
	opt        uint8
	mss        uint16
	wscale     uint8
	tsVal      uint32
	tsEcr      uint32
	sack       [2]uint32 // one SACK block: left, right
	payloadLen int
}

// payloadBlockLen is the span payload bytes are taken from: a segment's bytes
// start at an even offset derived from its sequence number, so a
// retransmission carries the same bytes as the original.
const payloadBlockLen = 1 << 16

// frameWriter writes frames as classic pcap records.
type frameWriter struct {
	w      *bufio.Writer
	nanos  bool
	epoch  int64 // Epoch in Unix seconds
	buf    [16 + 14 + 40 + 60]byte
	block  []byte   // payloadBlockLen + 64 KiB of pattern bytes
	prefix []uint64 // prefix[i]: sum of the first i 16-bit words of block
	stats  *Stats
}

func newFrameWriter(w *bufio.Writer, nanos bool, stats *Stats) *frameWriter {
	fw := &frameWriter{w: w, nanos: nanos, epoch: Epoch.Unix(), stats: stats}
	fw.block = make([]byte, payloadBlockLen+65536)
	r := newRNG(0x5eed, 0) // the pattern is fixed: only the seed's choices vary
	for i := 0; i < len(fw.block); i += 8 {
		binary.LittleEndian.PutUint64(fw.block[i:], r.next())
	}
	fw.prefix = make([]uint64, len(fw.block)/2+1)
	for i := 0; i < len(fw.block)/2; i++ {
		fw.prefix[i+1] = fw.prefix[i] + uint64(fw.block[2*i])<<8 + uint64(fw.block[2*i+1])
	}
	return fw
}

// payload returns the n payload bytes for sequence number seq and their sum
// as 16-bit words.
func (fw *frameWriter) payload(seq uint32, n int) ([]byte, uint64) {
	off := int(seq&(payloadBlockLen/2-1)) * 2
	p := fw.block[off : off+n]
	sum := fw.prefix[(off+n)/2] - fw.prefix[off/2]
	if n%2 == 1 {
		sum += uint64(p[n-1]) << 8
	}
	return p, sum
}

func fold(s uint64) uint16 {
	for s > 0xffff {
		s = s>>16 + s&0xffff
	}
	return uint16(s)
}

// write encodes f as an Ethernet frame in a pcap record.
func (fw *frameWriter) write(f *frame) error {
	b := fw.buf[:]
	v6 := f.src.v6
	tcpLen := 20 + optLen[f.opt] + f.payloadLen
	ipHdr := 20
	if v6 {
		ipHdr = 40
	}
	frameLen := 14 + ipHdr + tcpLen
	hdrLen := 14 + ipHdr + 20 + optLen[f.opt]

	// pcap record header
	sec := f.t / 1e9
	frac := f.t % 1e9
	if !fw.nanos {
		frac /= 1000
	}
	binary.LittleEndian.PutUint32(b[0:], uint32(fw.epoch+sec))
	binary.LittleEndian.PutUint32(b[4:], uint32(frac))
	binary.LittleEndian.PutUint32(b[8:], uint32(frameLen))
	binary.LittleEndian.PutUint32(b[12:], uint32(frameLen))

	// Ethernet
	e := b[16:]
	copy(e[0:6], f.dst.mac[:])
	copy(e[6:12], f.src.mac[:])
	var ip []byte
	if v6 {
		e[12], e[13] = 0x86, 0xdd
		ip = e[14 : 14+40]
		binary.BigEndian.PutUint32(ip[0:], 6<<28|f.flowLabel&0xfffff)
		binary.BigEndian.PutUint16(ip[4:], uint16(tcpLen))
		ip[6] = 6
		ip[7] = f.ttl
		copy(ip[8:24], f.src.addr[:])
		copy(ip[24:40], f.dst.addr[:])
	} else {
		e[12], e[13] = 0x08, 0x00
		ip = e[14 : 14+20]
		ip[0], ip[1] = 0x45, 0
		binary.BigEndian.PutUint16(ip[2:], uint16(20+tcpLen))
		binary.BigEndian.PutUint16(ip[4:], f.ipID)
		ip[6], ip[7] = 0x40, 0 // DF
		ip[8], ip[9] = f.ttl, 6
		ip[10], ip[11] = 0, 0
		copy(ip[12:16], f.src.addr[:4])
		copy(ip[16:20], f.dst.addr[:4])
		s := uint64(0x4500) + uint64(20+tcpLen) + uint64(f.ipID) + 0x4000 + uint64(f.ttl)<<8 + 6 +
			uint64(f.src.sum) + uint64(f.dst.sum)
		binary.BigEndian.PutUint16(ip[10:], ^fold(s))
	}

	// TCP
	t := e[14+ipHdr : hdrLen]
	binary.BigEndian.PutUint16(t[0:], f.sport)
	binary.BigEndian.PutUint16(t[2:], f.dport)
	binary.BigEndian.PutUint32(t[4:], f.seq)
	binary.BigEndian.PutUint32(t[8:], f.ack)
	t[12] = byte((20 + optLen[f.opt]) / 4 << 4)
	t[13] = f.flags
	binary.BigEndian.PutUint16(t[14:], f.window)
	t[16], t[17], t[18], t[19] = 0, 0, 0, 0
	o := t[20:]
	switch f.opt {
	case optSYN:
		o[0], o[1] = 2, 4
		binary.BigEndian.PutUint16(o[2:], f.mss)
		o[4], o[5] = 4, 2
		o[6], o[7] = 8, 10
		binary.BigEndian.PutUint32(o[8:], f.tsVal)
		binary.BigEndian.PutUint32(o[12:], f.tsEcr)
		o[16], o[17], o[18], o[19] = 1, 3, 3, f.wscale
	case optMSS:
		o[0], o[1] = 2, 4
		binary.BigEndian.PutUint16(o[2:], f.mss)
	case optTS, optTSSACK:
		o[0], o[1], o[2], o[3] = 1, 1, 8, 10
		binary.BigEndian.PutUint32(o[4:], f.tsVal)
		binary.BigEndian.PutUint32(o[8:], f.tsEcr)
		if f.opt == optTSSACK {
			o[12], o[13], o[14], o[15] = 1, 1, 5, 10
			binary.BigEndian.PutUint32(o[16:], f.sack[0])
			binary.BigEndian.PutUint32(o[20:], f.sack[1])
		}
	}

	payload, sum := fw.payload(f.seq, f.payloadLen)
	sum += uint64(f.src.sum) + uint64(f.dst.sum) + 6 + uint64(tcpLen)
	for i := 0; i < len(t); i += 2 {
		sum += uint64(t[i])<<8 | uint64(t[i+1])
	}
	binary.BigEndian.PutUint16(t[16:], ^fold(sum))

	if _, err := fw.w.Write(b[:16+hdrLen]); err != nil {
		return err
	}
	if _, err := fw.w.Write(payload); err != nil {
		return err
	}
	fw.stats.Packets++
	fw.stats.Bytes += int64(frameLen)
	if v6 {
		fw.stats.IPv6Packets++
	}
	return nil
}

// writeFileHeader writes the pcap file header for Ethernet.
func (fw *frameWriter) writeFileHeader() error {
	var h [24]byte
	magic := uint32(0xa1b2c3d4)
	if fw.nanos {
		magic = 0xa1b23c4d
	}
	binary.LittleEndian.PutUint32(h[0:], magic)
	binary.LittleEndian.PutUint16(h[4:], 2)
	binary.LittleEndian.PutUint16(h[6:], 4)
	binary.LittleEndian.PutUint32(h[16:], DefaultSnaplen)
	binary.LittleEndian.PutUint32(h[20:], 1)
	_, err := fw.w.Write(h[:])
	return err
}
