package synth

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// Kind is the behaviour of one connection of a mix.
type Kind uint8

const (
	KindNormal          Kind = iota // request, response, client closes
	KindServerCloses                // request, response, server closes first
	KindBulk                        // a long transfer in one direction, then the client closes
	KindRetransmissions             // one lost segment: fast retransmit after SACKed duplicate ACKs, or a timeout
	KindReordering                  // two segments arrive swapped: a duplicate ACK with SACK, then the full ACK
	KindResets                      // refused (SYN answered by RST) or aborted mid-transfer by RST
	KindHalfClosed                  // client shuts down its side first; the server answers and never closes
	KindUnansweredSYN               // three SYNs 1 s and 2 s apart, no answer
	KindScan                        // SYN probes to many ports of one server: RST for closed, SYN-ACK then RST for open
	NumKinds
)

var kindNames = [NumKinds]string{"normal", "server-closes", "bulk", "retransmissions", "reordering",
	"resets", "half-closed", "unanswered-syn", "scan"}

func (k Kind) String() string {
	if k < NumKinds {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// MixConfig describes a deterministic mix of TCP connections. The kind
// weights are relative shares of connections (not of packets); when all are
// zero the default weights apply.
type MixConfig struct {
	Seed        int64
	Packets     int     // packets to write; the last connections are cut off mid-way, as in a real capture
	Connections int     // connections open at once; 0 means 1000
	IPv6Share   float64 // share of connections over IPv6
	Nanoseconds bool    // nanosecond pcap timestamps instead of microseconds

	Normal, ServerCloses, Bulk, Retransmissions, Reordering, Resets, HalfClosed, UnansweredSYNs, Scans float64
}

// DefaultMix returns the benchmark mix: 1000 concurrent connections, 20%
// IPv6, and connection kinds weighted so the mean frame is about 880 bytes,
// like traffic at an Internet edge.
func DefaultMix(seed int64, packets int) MixConfig {
	cfg := MixConfig{Seed: seed, Packets: packets, Connections: 1000, IPv6Share: 0.2}
	cfg.setDefaultWeights()
	return cfg
}

func (c *MixConfig) setDefaultWeights() {
	c.Normal, c.ServerCloses, c.Bulk = 0.45, 0.15, 0.006
	c.Retransmissions, c.Reordering, c.Resets = 0.08, 0.04, 0.08
	c.HalfClosed, c.UnansweredSYNs, c.Scans = 0.06, 0.10, 0.002
}

func (c *MixConfig) weights() [NumKinds]float64 {
	return [NumKinds]float64{c.Normal, c.ServerCloses, c.Bulk, c.Retransmissions, c.Reordering,
		c.Resets, c.HalfClosed, c.UnansweredSYNs, c.Scans}
}

// Stats describes what a generator wrote.
type Stats struct {
	Packets     int64
	Bytes       int64 // frame bytes (every frame is captured whole)
	IPv6Packets int64
	Connections [NumKinds]int64 // connections begun, by kind; a scan counts once
	Probes      int64           // scan or flood SYNs, each on its own 4-tuple (a SYN sent again is not counted)
	HalfOpen    int64           // flood: 4-tuples the target answered with SYN-ACK, left in SYN_RCVD
	Refused     int64           // flood: 4-tuples the target answered with RST,ACK
	Duration    time.Duration   // capture time from the first packet to the last
}

// MeanFrame returns the mean frame length in bytes.
func (s Stats) MeanFrame() float64 {
	if s.Packets == 0 {
		return 0
	}
	return float64(s.Bytes) / float64(s.Packets)
}

func (s Stats) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d packets, %d bytes (mean frame %.0f B), %d IPv6 packets, %v of capture time",
		s.Packets, s.Bytes, s.MeanFrame(), s.IPv6Packets, s.Duration)
	for k, n := range s.Connections {
		if n > 0 {
			fmt.Fprintf(&b, ", %s %d", Kind(k), n)
		}
	}
	if s.Probes > 0 {
		fmt.Fprintf(&b, ", %d probes", s.Probes)
	}
	if s.HalfOpen > 0 {
		fmt.Fprintf(&b, ", %d half-open", s.HalfOpen)
	}
	if s.Refused > 0 {
		fmt.Fprintf(&b, ", %d refused", s.Refused)
	}
	return b.String()
}

// WriteMix writes cfg.Packets packets of a mix of TCP connections as a
// classic Ethernet pcap. It streams: memory stays proportional to
// cfg.Connections, not to the packet count. The same configuration always
// gives the same bytes.
func WriteMix(w io.Writer, cfg MixConfig) (Stats, error) {
	var st Stats
	if cfg.Packets < 0 || cfg.Connections < 0 || cfg.Connections > 1<<24 {
		return st, fmt.Errorf("synth: mix of %d packets over %d connections", cfg.Packets, cfg.Connections)
	}
	if cfg.Connections == 0 {
		cfg.Connections = 1000
	}
	ws := cfg.weights()
	total := 0.0
	for _, x := range ws {
		if x < 0 {
			return st, errors.New("synth: negative kind weight")
		}
		total += x
	}
	if total == 0 {
		cfg.setDefaultWeights()
		ws = cfg.weights()
		for _, x := range ws {
			total += x
		}
	}
	g := &mixGen{cfg: cfg, r: newRNG(cfg.Seed, 1), v6: share(cfg.IPv6Share), stats: &st}
	cum := 0.0
	for k, x := range ws {
		cum += x
		g.kindCut[k] = share(float64(cum / total))
	}
	g.kindCut[NumKinds-1] = 1<<32 - 1

	bw := bufio.NewWriterSize(w, 1<<20)
	g.fw = newFrameWriter(bw, cfg.Nanoseconds, &st)
	if err := g.fw.writeFileHeader(); err != nil {
		return st, err
	}
	g.makeServers()
	if err := g.run(); err != nil {
		return st, err
	}
	return st, bw.Flush()
}

// Phases of a connection.
const (
	phOpen     = iota // client SYN, and its retransmissions or refusal
	phAccept          // SYN-ACK and the client's ACK
	phRequest         // client to server data
	phResponse        // server to client data
	phClose           // FIN exchange
	phScan            // one probe per batch
	phDone
)

// Special events inside a transfer.
const (
	evNone = iota
	evFastRetransmit
	evTimeout
	evReorder
	evAbort
)

const (
	client = 0
	server = 1
)

// TCP flag bits as on the wire.
const (
	fFIN = 0x01
	fSYN = 0x02
	fRST = 0x04
	fPSH = 0x08
	fACK = 0x10
)

// mixEnd is one side of a mix connection.
type mixEnd struct {
	h         host
	port      uint16
	isn, next uint32
	ipID      uint16
	ttl       uint8
	flowLabel uint32
	tsOff     uint32
	lastTS    uint32
	window    uint16 // scaled window advertised after the SYN
}

// step is one queued packet; numbers are fixed when it is queued, times and
// timestamps option values when it is written.
type step struct {
	gap      int64 // after the flow's previous packet
	from     uint8
	flags    uint8
	opt      uint8
	n        uint16
	seq, ack uint32
	sack     [2]uint32 // one SACK block: left, right
}

// transfer sends bytes one way: two segments, then the receiver's ACK,
// in bursts of a doubling congestion window separated by a round trip.
type transfer struct {
	from    uint8
	left    int
	sent    int // segments so far
	burst   int // segments left before waiting a round trip
	cwnd    int
	event   uint8
	eventAt int // segment index the event starts at
}

const queueCap = 16

type flow struct {
	due    int64
	id     uint64
	kind   Kind
	phase  uint8
	ep     [2]mixEnd
	rtt    int64
	mss    int
	rounds int
	xfer   transfer
	abort  bool // the resets kind aborts instead of refusing
	probes int
	last   uint8 // sender of the last queued step
	q      [queueCap]step
	qh, qn int
}

type mixGen struct {
	cfg      MixConfig
	r        rng
	fw       *frameWriter
	stats    *Stats
	now      int64
	first    int64
	heap     []*flow
	nextID   uint64
	kindCut  [NumKinds]uint32
	v6       uint32
	servers4 []host
	servers6 []host
}

// Servers come from the benchmarking ranges 198.18.0.0/15 (RFC 2544) and
// 2001:2::/48 (RFC 5180); clients from 10.0.0.0/8 and fd00::/8.
func (g *mixGen) makeServers() {
	for i := range 512 {
		var a [16]byte
		a[0], a[1], a[2], a[3] = 198, 18+byte(i>>8&1), byte(i), byte(1+g.r.intn(254))
		g.servers4 = append(g.servers4, newHost(a, false))
		var b [16]byte
		b[0], b[1], b[2], b[3] = 0x20, 0x01, 0x00, 0x02
		b[14], b[15] = byte(i>>8), byte(i)
		b[13] = byte(1 + g.r.intn(255))
		g.servers6 = append(g.servers6, newHost(b, true))
	}
}

func (g *mixGen) randomClient(v6 bool) host {
	var a [16]byte
	if v6 {
		a[0] = 0xfd
		x, y := g.r.next(), g.r.next()
		for i := 1; i < 8; i++ {
			a[i] = byte(x >> (8 * i))
		}
		for i := 8; i < 16; i++ {
			a[i] = byte(y >> (8 * (i - 8)))
		}
		return newHost(a, true)
	}
	x := g.r.u32()
	a[0], a[1], a[2], a[3] = 10, byte(x>>16), byte(x>>8), byte(x)
	if a[3] == 0 || a[3] == 255 {
		a[3] = 1
	}
	return newHost(a, false)
}

var serverPorts = [...]uint16{443, 443, 443, 443, 443, 443, 80, 80, 80, 22, 8080, 8443, 3306, 5432, 6379, 993}

func (g *mixGen) run() error {
	n := g.cfg.Connections
	g.heap = make([]*flow, n)
	for i := range g.heap {
		f := &flow{}
		// Stagger the starts over the first 10 ms.
		g.start(f, int64(g.r.intn(10_000_000)))
		g.heap[i] = f
	}
	for i := n/2 - 1; i >= 0; i-- {
		g.down(i)
	}
	g.first = g.heap[0].due
	for g.stats.Packets < int64(g.cfg.Packets) {
		f := g.heap[0]
		g.now = f.due
		if err := g.emit(f); err != nil {
			return err
		}
		if !g.fill(f) {
			g.start(f, g.now+int64(g.r.spread(10_000, 20_000_000)))
		} else {
			f.due = g.now + f.q[f.qh].gap
		}
		g.down(0)
	}
	if g.stats.Packets > 0 {
		g.stats.Duration = time.Duration(g.now - g.first)
	}
	return nil
}

func (g *mixGen) less(a, b *flow) bool { return a.due < b.due || a.due == b.due && a.id < b.id }

func (g *mixGen) down(i int) {
	h := g.heap
	for {
		l := 2*i + 1
		if l >= len(h) {
			return
		}
		m := l
		if r := l + 1; r < len(h) && g.less(h[r], h[l]) {
			m = r
		}
		if !g.less(h[m], h[i]) {
			return
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
}

// start turns f into a new connection whose first packet is due at t.
func (g *mixGen) start(f *flow, t int64) {
	r := &g.r
	u := r.u32()
	kind := KindNormal
	for kind < NumKinds-1 && u >= g.kindCut[kind] {
		kind++
	}
	v6 := r.chance(g.v6)
	*f = flow{id: g.nextID, kind: kind, rtt: int64(r.spread(250_000, 160_000_000)), rounds: 1}
	g.nextID++
	g.stats.Connections[kind]++

	var srv host
	if v6 {
		srv = g.servers6[r.intn(len(g.servers6))]
		f.mss = 1440 - 12 // MSS less the timestamps option
	} else {
		srv = g.servers4[r.intn(len(g.servers4))]
		f.mss = 1460 - 12
	}
	f.ep[client] = mixEnd{h: g.randomClient(v6), port: uint16(r.between(32768, 60999)), ttl: 64}
	f.ep[server] = mixEnd{h: srv, port: serverPorts[r.intn(len(serverPorts))], ttl: uint8(64 - r.between(3, 20))}
	for i := range f.ep {
		e := &f.ep[i]
		e.isn = r.u32()
		e.next = e.isn
		e.ipID = uint16(r.u32())
		e.flowLabel = r.u32() & 0xfffff
		e.tsOff = r.u32()
		e.window = uint16(r.between(200, 4000))
	}
	switch kind {
	case KindNormal, KindServerCloses, KindHalfClosed:
		f.rounds = r.between(1, 3)
	case KindScan:
		f.phase = phScan
		f.probes = r.between(20, 300)
		f.ep[client].window = 1024
		f.ep[server].port = uint16(r.between(1, 1000))
	case KindResets:
		f.abort = r.chance(1 << 31)
	}
	f.qh, f.qn = 0, 0
	g.fill(f)
	f.q[f.qh].gap = 0
	f.due = t
}

func (f *flow) push(s step) {
	f.q[(f.qh+f.qn)%queueCap] = s
	f.qn++
	f.last = s.from
}

// fill refills f's queue when it is empty; false means the connection is over.
func (g *mixGen) fill(f *flow) bool {
	for f.qn == 0 {
		if f.phase == phDone {
			return false
		}
		g.refill(f)
	}
	return true
}

// Delays, in nanoseconds. The capture point is near the client: what the
// server sends in answer arrives a round trip after what it answers.
func (g *mixGen) serialization(n int) int64 { return int64(n+80)*8 + int64(g.r.intn(4000)) }
func (g *mixGen) think() int64              { return int64(g.r.spread(20_000, 2_000_000)) }
func (g *mixGen) ackDelay() int64           { return int64(g.r.spread(10_000, 500_000)) }
func (g *mixGen) rtt(f *flow) int64         { return f.rtt + int64(g.r.intn(int(f.rtt/8)+1)) }

// replyGap is the delay before a packet from side from that answers the
// other side.
func (g *mixGen) replyGap(f *flow, from uint8) int64 {
	if from == server {
		return g.rtt(f)
	}
	return g.think()
}

// seg queues a packet from side s at its next sequence number, acking
// everything the peer sent, and advances the sequence space.
func (f *flow) seg(gap int64, s uint8, flags uint8, opt uint8, n int) {
	e, p := &f.ep[s], &f.ep[1-s]
	ack := uint32(0)
	if flags&fACK != 0 {
		ack = p.next
	}
	f.push(step{gap: gap, from: s, flags: flags, opt: opt, n: uint16(n), seq: e.next, ack: ack})
	e.next += uint32(n)
	if flags&(fSYN|fFIN) != 0 {
		e.next++
	}
}

func (g *mixGen) refill(f *flow) {
	r := &g.r
	switch f.phase {
	case phOpen:
		f.seg(0, client, fSYN, optSYN, 0)
		isn := f.ep[client].isn
		switch {
		case f.kind == KindUnansweredSYN:
			// Retransmissions at the initial RTO of 1 s, then 2 s.
			f.push(step{gap: 1e9, from: client, flags: fSYN, opt: optSYN, seq: isn})
			f.push(step{gap: 2e9, from: client, flags: fSYN, opt: optSYN, seq: isn})
			f.phase = phDone
		case f.kind == KindResets && !f.abort:
			// Connection refused: RST,ACK with sequence number 0.
			f.push(step{gap: g.rtt(f), from: server, flags: fRST | fACK, opt: optNone, ack: isn + 1})
			f.phase = phDone
		default:
			f.phase = phAccept
		}
	case phAccept:
		f.seg(g.rtt(f), server, fSYN|fACK, optSYN, 0)
		f.seg(g.ackDelay(), client, fACK, optTS, 0)
		g.startRequest(f)
	case phRequest:
		if g.transferBatch(f) {
			return
		}
		if f.kind == KindHalfClosed && f.rounds == 1 {
			// shutdown(SHUT_WR) after the last request: the server acks
			// the FIN, answers, and never closes its side.
			f.seg(g.ackDelay(), client, fFIN|fACK, optTS, 0)
			f.seg(g.rtt(f), server, fACK, optTS, 0)
		}
		g.startResponse(f)
	case phResponse:
		if g.transferBatch(f) {
			return
		}
		f.rounds--
		switch {
		case f.kind == KindHalfClosed && f.rounds == 0:
			f.phase = phDone
		case f.rounds > 0:
			g.startRequest(f)
		default:
			f.phase = phClose
		}
	case phClose:
		if f.kind == KindServerCloses {
			f.seg(g.think(), server, fFIN|fACK, optTS, 0)
			f.seg(g.ackDelay(), client, fACK, optTS, 0)
			f.seg(g.think(), client, fFIN|fACK, optTS, 0)
			f.seg(g.rtt(f), server, fACK, optTS, 0)
		} else {
			f.seg(g.think(), client, fFIN|fACK, optTS, 0)
			if r.chance(1 << 31) {
				f.seg(g.rtt(f), server, fFIN|fACK, optTS, 0) // its FIN acks the client's
			} else {
				f.seg(g.rtt(f), server, fACK, optTS, 0)
				f.seg(g.think(), server, fFIN|fACK, optTS, 0)
			}
			f.seg(g.ackDelay(), client, fACK, optTS, 0)
		}
		f.phase = phDone
	case phScan:
		g.probe(f)
	}
}

// startRequest sets up the client's data: a small request, or for a bulk
// upload (one bulk connection in five) the whole transfer.
func (g *mixGen) startRequest(f *flow) {
	n := g.r.spread(60, 1400)
	if f.kind == KindBulk && g.r.chance(share(0.2)) {
		n = g.r.spread(256<<10, 8<<20)
	}
	g.startTransfer(f, client, n)
	f.phase = phRequest
}

func (g *mixGen) startResponse(f *flow) {
	var n int
	switch f.kind {
	case KindBulk:
		n = g.r.spread(256<<10, 8<<20)
		if f.xfer.sent > 100 { // the upload was the bulk part
			n = g.r.spread(100, 400)
		}
	case KindRetransmissions, KindReordering:
		n = g.r.spread(8<<10, 512<<10)
	default:
		n = g.r.spread(200, 96<<10)
	}
	g.startTransfer(f, server, n)
	f.phase = phResponse
}

func (g *mixGen) startTransfer(f *flow, from uint8, n int) {
	r := &g.r
	segs := (n + f.mss - 1) / f.mss
	x := transfer{from: from, left: n, cwnd: 10}
	// Losses, reordering and aborts happen in the server's data.
	if from == server {
		switch f.kind {
		case KindRetransmissions:
			if segs >= 6 && r.chance(share(0.7)) {
				x.event, x.eventAt = evFastRetransmit, r.between(1, segs-5)
			} else {
				x.event, x.eventAt = evTimeout, segs-1
			}
		case KindReordering:
			if segs >= 2 {
				x.event, x.eventAt = evReorder, r.between(0, segs-2)
			}
		case KindResets:
			x.event, x.eventAt = evAbort, r.between(0, segs-1)
		}
	}
	f.xfer = x
}

// transferBatch queues the next packets of the transfer: up to two
// segments and the receiver's ACK, or an event. It returns false when the
// transfer was already complete.
func (g *mixGen) transferBatch(f *flow) bool {
	x := &f.xfer
	if x.left == 0 {
		return false
	}
	if x.event != evNone && x.sent == x.eventAt {
		g.transferEvent(f)
		return true
	}
	for i := 0; i < 2 && x.left > 0; i++ {
		if i > 0 && x.event != evNone && x.sent == x.eventAt {
			break
		}
		g.segment(f)
	}
	f.seg(g.ackDelay(), 1-x.from, fACK, optTS, 0)
	return true
}

// segmentGap is the delay before the sender's next data segment: an answer
// for the first one, a round trip after each full window (which doubles, as
// in slow start), back to back otherwise.
func (g *mixGen) segmentGap(f *flow) int64 {
	x := &f.xfer
	if x.sent == 0 {
		x.burst = x.cwnd
		return g.replyGap(f, x.from)
	}
	x.burst--
	if x.burst <= 0 {
		x.cwnd = min(2*x.cwnd, 256)
		x.burst = x.cwnd
		return g.rtt(f)
	}
	return g.serialization(f.mss)
}

// segment queues the transfer's next data segment and returns its sequence
// number, length and flags.
func (g *mixGen) segment(f *flow) (seq uint32, n int, flags uint8) {
	x := &f.xfer
	gap := g.segmentGap(f)
	n = min(f.mss, x.left)
	flags = fACK
	if n == x.left {
		flags |= fPSH
	}
	seq = f.ep[x.from].next
	f.seg(gap, x.from, flags, optTS, n)
	x.left -= n
	x.sent++
	return seq, n, flags
}

// transferEvent queues a loss, a reordering or an abort at the current
// segment. Every ACK stays at or below what the capture has shown of the
// peer's data.
func (g *mixGen) transferEvent(f *flow) {
	x := &f.xfer
	ev := x.event
	x.event = evNone
	s, rcv := x.from, 1-x.from
	snd, rc := &f.ep[s], &f.ep[rcv]
	switch ev {
	case evFastRetransmit:
		// The capture sees segment L, which is lost after it; three more
		// segments each draw a duplicate ACK that SACKs them; the sender
		// retransmits L and the receiver acks everything.
		hole, n, flags := g.segment(f)
		for i := 0; i < 3 && x.left > 0; i++ {
			g.segment(f)
			f.push(step{gap: g.ackDelay(), from: rcv, flags: fACK, opt: optTSSACK, seq: rc.next, ack: hole,
				sack: [2]uint32{hole + uint32(n), snd.next}})
		}
		f.push(step{gap: g.replyGap(f, s), from: s, flags: flags, opt: optTS, n: uint16(n), seq: hole, ack: rc.next})
		f.seg(g.ackDelay(), rcv, fACK, optTS, 0)
	case evTimeout:
		// No ACK comes back; after the retransmission timeout (200 ms at
		// least, as in Linux) the sender sends the segment again.
		hole, n, flags := g.segment(f)
		rto := max(200_000_000, 2*f.rtt)
		f.push(step{gap: rto, from: s, flags: flags, opt: optTS, n: uint16(n), seq: hole, ack: rc.next})
		f.seg(g.ackDelay(), rcv, fACK, optTS, 0)
	case evReorder:
		// Segments A and B arrive as B, A: B draws a duplicate ACK that
		// SACKs it, then A fills the hole and the ACK covers both.
		gap := g.segmentGap(f)
		a := snd.next
		n1 := min(f.mss, x.left)
		n2 := min(f.mss, x.left-n1)
		flagsB := uint8(fACK)
		if n1+n2 == x.left {
			flagsB |= fPSH
		}
		f.push(step{gap: gap, from: s, flags: flagsB, opt: optTS, n: uint16(n2), seq: a + uint32(n1), ack: rc.next})
		f.push(step{gap: g.ackDelay(), from: rcv, flags: fACK, opt: optTSSACK, seq: rc.next, ack: a,
			sack: [2]uint32{a + uint32(n1), a + uint32(n1+n2)}})
		f.push(step{gap: g.serialization(n1), from: s, flags: fACK, opt: optTS, n: uint16(n1), seq: a, ack: rc.next})
		snd.next = a + uint32(n1+n2)
		x.left -= n1 + n2
		x.sent += 2
		f.seg(g.ackDelay(), rcv, fACK, optTS, 0)
	case evAbort:
		// Either side gives up with RST,ACK; nothing follows.
		who := s
		if g.r.chance(1 << 31) {
			who = rcv
		}
		f.seg(g.replyGap(f, who), who, fRST|fACK, optTS, 0)
		x.left = 0
		f.phase = phDone
	}
}

// probe queues one scan probe to the next port: SYN with only an MSS
// option, then RST,ACK from a closed port or SYN-ACK and the scanner's RST
// from an open one.
func (g *mixGen) probe(f *flow) {
	if f.probes == 0 {
		f.phase = phDone
		return
	}
	f.probes--
	g.stats.Probes++
	c, s := &f.ep[client], &f.ep[server]
	gap := int64(g.r.spread(50_000, 2_000_000))
	s.port++
	c.isn, s.isn = g.r.u32(), g.r.u32()
	c.next, s.next = c.isn, s.isn
	f.seg(gap, client, fSYN, optMSS, 0)
	if g.r.chance(share(0.85)) {
		f.push(step{gap: g.rtt(f), from: server, flags: fRST | fACK, opt: optNone, ack: c.next})
		return
	}
	f.seg(g.rtt(f), server, fSYN|fACK, optSYN, 0)
	f.push(step{gap: g.ackDelay(), from: client, flags: fRST, opt: optNone, seq: c.next})
}

// emit writes the head of f's queue at the current time.
func (g *mixGen) emit(f *flow) error {
	st := &f.q[f.qh]
	f.qh = (f.qh + 1) % queueCap
	f.qn--
	src, dst := &f.ep[st.from], &f.ep[1-st.from]
	fr := frame{
		t: g.now, src: &src.h, dst: &dst.h, sport: src.port, dport: dst.port,
		ipID: src.ipID, ttl: src.ttl, flowLabel: src.flowLabel,
		flags: st.flags, seq: st.seq, ack: st.ack, window: src.window,
		opt: st.opt, payloadLen: int(st.n), sack: st.sack,
		mss: uint16(f.mss + 12), wscale: 7,
	}
	switch {
	case st.flags&fRST != 0:
		fr.window = 0
	case st.flags&fSYN != 0:
		fr.window = 64240
	}
	if st.opt == optMSS {
		fr.mss = 1460
	}
	if st.opt != optNone && st.opt != optMSS {
		fr.tsVal = src.tsOff + uint32(g.now/1e6)
		if st.flags&fACK != 0 {
			fr.tsEcr = dst.lastTS
		}
		src.lastTS = fr.tsVal
	}
	src.ipID++
	return g.fw.write(&fr)
}
