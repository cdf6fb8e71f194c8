package synth

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"net/netip"
	"time"
)

// FloodConfig describes a SYN flood: every connection comes from its own
// spoofed source address (or, for a scan probe, goes to its own port), so
// each is a distinct 4-tuple, and none is ever completed.
//
// With only RSTShare set it is the plain flood: one SYN per 4-tuple, a share
// of them answered by RST,ACK, the capture cut at Packets. SYNACKShare,
// SYNACKRetries, SYNRetryShare and ScanShare make it look like a real flood
// against a listening server without SYN cookies, with a port scan beside it
// (see RealisticFlood): the server answers a flood SYN with a SYN-ACK and
// retransmits it on its timer, 1 s, 2 s, 4 s … apart, the attacker sends some
// SYNs twice, and scanners probe the target's closed ports. Then new
// 4-tuples stop once the packets already planned reach Packets, and the
// capture ends with the last connections' retransmissions, so that all but
// a few connections (those whose last packets would pass Packets) are
// complete and the packets per connection do not depend on where the
// capture stops.
type FloodConfig struct {
	Seed        int64
	Packets     int            // packets to write, SYNs and replies together
	Target      netip.AddrPort // IPv4; zero means 198.18.0.1:80
	RSTShare    float64        // share of flood SYNs the target answers with RST,ACK (a closed port)
	Rate        int            // new 4-tuples (first SYNs) per second of capture time; 0 means 1,000,000
	Nanoseconds bool           // nanosecond pcap timestamps instead of microseconds

	// SYNACKShare is the share of flood SYNs the target answers with a
	// SYN-ACK (a listening port whose backlog has room), leaving the
	// server in SYN_RCVD. RSTShare+SYNACKShare is at most 1; the other flood
	// SYNs go unanswered (dropped, as by a full backlog).
	SYNACKShare float64
	// SYNACKRetries is how many times the server's timer retransmits each
	// SYN-ACK, 1 s, 2 s, 4 s … apart (at most 120 s), before it gives up
	// silently: Linux's net.ipv4.tcp_synack_retries, 5 by default.
	SYNACKRetries int
	// SYNRetryShare is the share of flood SYNs the attacker sends a second
	// time (same ISN), 0.2–1 s after the target's answer, or after the SYN
	// when there is none. The target answers it again: a SYN-ACK, which
	// restarts its retransmission timer as Linux does, or an RST (after
	// which tcptrace sees a second, refused connection on the 4-tuple).
	SYNRetryShare float64
	// ScanShare is the share of new 4-tuples that are port-scan probes: a
	// scanner sends a SYN with an MSS option to each port of the target but
	// Target's, from one source port, in a scrambled order, and the closed
	// port answers RST,ACK. A scanner covers the 65,534 ports, then the next
	// scanner begins.
	ScanShare float64
}

// RealisticFlood returns the benchmark flood: a server without SYN cookies
// flooded at 50,000 new 4-tuples per second, as Linux answers it (90% of the
// flood SYNs get a SYN-ACK, retransmitted 5 times; 10% are dropped), 20% of
// the SYNs sent twice by the attacker, and 55% of the 4-tuples port-scan
// probes refused by RST,ACK: about 4.15 packets per connection, so 5 M
// packets hold 1.2 M distinct connections.
func RealisticFlood(seed int64, packets int) FloodConfig {
	return FloodConfig{Seed: seed, Packets: packets, Rate: 50_000,
		SYNACKShare: 0.9, SYNACKRetries: 5, SYNRetryShare: 0.2, ScanShare: 0.55}
}

// PacketsPerConn returns the mean number of packets per 4-tuple the
// configuration gives once every connection has run its course.
func (c FloodConfig) PacketsPerConn() float64 {
	answered := c.RSTShare + c.SYNACKShare
	flood := 1 + answered + c.SYNACKShare*float64(c.SYNACKRetries) + c.SYNRetryShare*(1+answered)
	return c.ScanShare*2 + (1-c.ScanShare)*flood
}

// realistic reports whether the configuration uses more than the plain
// flood's SYNs and RSTs.
func (c FloodConfig) realistic() bool {
	return c.SYNACKShare > 0 || c.SYNRetryShare > 0 || c.ScanShare > 0
}

func (c FloodConfig) check() error {
	if c.Packets < 0 || c.Rate < 0 {
		return fmt.Errorf("synth: flood of %d packets at %d SYN/s", c.Packets, c.Rate)
	}
	for _, s := range []struct {
		name string
		v    float64
	}{{"SYN-ACK", c.SYNACKShare}, {"SYN retry", c.SYNRetryShare}, {"scan", c.ScanShare}} {
		if !(s.v >= 0 && s.v <= 1) {
			return fmt.Errorf("synth: flood %s share %v is not between 0 and 1", s.name, s.v)
		}
	}
	if c.SYNACKShare > 0 && c.RSTShare+c.SYNACKShare > 1+1e-9 {
		return fmt.Errorf("synth: flood RST share %v and SYN-ACK share %v add up to more than 1", c.RSTShare, c.SYNACKShare)
	}
	if c.SYNACKRetries < 0 || c.SYNACKRetries > 255 {
		return fmt.Errorf("synth: %d SYN-ACK retransmissions (0 to 255)", c.SYNACKRetries)
	}
	return nil
}

// WriteSYNFlood writes a SYN flood as a classic Ethernet pcap. Sources are
// all distinct for the first 3.5 billion flood SYNs: address i is a
// bijective scramble of i, skipping addresses that cannot be sources (0/8,
// 10/8, 127/8, multicast and above, the target). Scanners take theirs from
// index 2^31 on; their 4-tuples stay distinct from the flood's since they
// never probe Target's port. It streams
// like WriteMix and is just as reproducible: memory follows the
// connections that still have packets to come (about 50 bytes each).
func WriteSYNFlood(w io.Writer, cfg FloodConfig) (Stats, error) {
	var st Stats
	if err := cfg.check(); err != nil {
		return st, err
	}
	target := cfg.Target
	if !target.IsValid() {
		target = netip.MustParseAddrPort("198.18.0.1:80")
	}
	if !target.Addr().Unmap().Is4() {
		return st, fmt.Errorf("synth: flood target %v is not IPv4", target)
	}
	rate := cfg.Rate
	if rate == 0 {
		rate = 1_000_000
	}
	meanGap := int(max(1e9/int64(rate), 1))

	bw := bufio.NewWriterSize(w, 1<<20)
	g := &floodGen{cfg: cfg, st: &st, port: target.Port(), retries: uint8(cfg.SYNACKRetries)}
	g.fw = newFrameWriter(bw, cfg.Nanoseconds, &st)
	if err := g.fw.writeFileHeader(); err != nil {
		return st, err
	}
	g.r = newRNG(cfg.Seed, 2)
	r := &g.r
	rstCut, ackCut := share(cfg.RSTShare), share(cfg.RSTShare+cfg.SYNACKShare)
	if cfg.SYNACKShare == 0 {
		ackCut = rstCut
	}
	retryCut, scanCut := share(cfg.SYNRetryShare), share(cfg.ScanShare)
	var ta [16]byte
	g.t4 = target.Addr().Unmap().As4()
	copy(ta[:], g.t4[:])
	g.victim = newHost(ta, false)
	g.victimID = uint16(r.u32())
	g.scanIndex = 1 << 31
	g.scanPort = 1 << 16 // no scanner yet

	// Answers come 5-50 µs after their SYN and retransmissions seconds
	// later, while later SYNs keep arriving: connections with packets to
	// come wait in a min-heap by the time of the next one.
	drain := cfg.realistic()
	var synTime int64
	for st.Packets < int64(cfg.Packets) {
		arrive := !drain || st.Packets+g.planned < int64(cfg.Packets)
		if len(g.q) > 0 && (!arrive || g.q[0].t <= synTime) {
			if err := g.event(); err != nil {
				return st, err
			}
			continue
		}
		if !arrive {
			break // only if the plan was wrong: nothing left to write
		}
		c := floodConn{t: never, next: never, timer: never}
		if scanCut > 0 && r.chance(scanCut) {
			g.nextScanTarget(&c)
			c.isn = r.u32()
			c.fate, c.scan = fateRST, true
			c.window, c.ttl = 1024, uint8(r.between(32, 64))
			ipID := uint16(r.u32())
			if err := g.writeSYN(&c, synTime, ipID); err != nil {
				return st, err
			}
		} else {
			c.src = floodSource(&g.index, g.t4)
			c.dport = g.port
			c.isn = r.u32()
			c.sport = uint16(r.between(1024, 65535))
			ipID := uint16(r.u32())
			c.ttl = uint8(r.between(32, 128))
			c.window = uint16(r.between(512, 65535))
			if err := g.writeSYN(&c, synTime, ipID); err != nil {
				return st, err
			}
			switch u := r.u32(); {
			case u < rstCut:
				c.fate = fateRST
			case u < ackCut:
				c.fate = fateSYNACK
			}
		}
		st.Probes++
		if c.fate != fateNone {
			c.next, c.step = synTime+int64(r.between(5_000, 50_000)), stepReply
			g.planned++
		}
		if c.fate == fateSYNACK {
			c.sisn = r.u32()
			g.planned += int64(g.retries)
		}
		if !c.scan && retryCut > 0 && r.chance(retryCut) {
			c.dup = true
			g.planned++
			if c.fate != fateNone {
				g.planned++ // the answer to it
			} else {
				c.next, c.step = synTime+g.dupDelay(), stepDup
			}
		}
		if c.next != never {
			c.t = c.next
			g.q.push(c)
		}
		// Gaps uniform in [0, 2*mean): integers only, mean 1/rate.
		synTime += int64(r.intn(2 * meanGap))
	}
	st.Duration = time.Duration(g.last)
	return st, bw.Flush()
}

// never is the time of an event that will not happen.
const never = math.MaxInt64

// What the target does with a connection's SYN.
const (
	fateNone   = iota // drops it
	fateRST           // RST,ACK: a closed port
	fateSYNACK        // SYN-ACK, retransmitted by its timer: a listening port
)

// A connection's next event besides its SYN-ACK timer.
const (
	stepReply    = iota + 1 // the target answers the SYN
	stepDup                 // the attacker sends the SYN again
	stepDupReply            // the target answers that
)

// floodConn is one 4-tuple with packets still to come.
type floodConn struct {
	t       int64 // when its next packet is due: min(next, timer)
	next    int64 // the step's time
	timer   int64 // the next SYN-ACK retransmission
	src     [4]byte
	isn     uint32
	sisn    uint32
	sport   uint16
	dport   uint16
	window  uint16
	ttl     uint8
	fate    uint8
	step    uint8
	retrans uint8 // SYN-ACK retransmissions by the timer so far
	dup     bool  // the attacker sends its SYN twice
	scan    bool
}

type floodGen struct {
	cfg      FloodConfig
	r        rng
	fw       *frameWriter
	st       *Stats
	victim   host
	victimID uint16
	t4       [4]byte
	port     uint16
	retries  uint8
	q        floodQueue
	planned  int64 // packets the queued connections will still send
	last     int64 // time of the last packet written
	index    uint32

	// The current scanner: its address, source port, and next probe
	// number (1<<16 when it has probed every port).
	scanIndex uint32
	scanner   [4]byte
	scanSport uint16
	scanPort  uint32
	scanMul   uint32
	scanOff   uint32
}

// nextScanTarget sets c's source and ports for the next scan probe.
func (g *floodGen) nextScanTarget(c *floodConn) {
	for {
		if g.scanPort >= 1<<16 {
			g.scanner = floodSource(&g.scanIndex, g.t4)
			g.scanSport = uint16(g.r.between(1024, 65535))
			g.scanMul = g.r.u32() | 1 // odd: a bijection modulo 2^16
			g.scanOff = g.r.u32()
			g.scanPort = 0
		}
		p := uint16(g.scanPort*g.scanMul + g.scanOff)
		g.scanPort++
		if p != 0 && p != g.port {
			c.src, c.sport, c.dport = g.scanner, g.scanSport, p
			return
		}
	}
}

// dupDelay is when the attacker sends a SYN again after the answer to it:
// before the target's first retransmission timeout, so the target still
// holds the half-open connection.
func (g *floodGen) dupDelay() int64 { return int64(g.r.between(200_000_000, 999_000_000)) }

// rto is the delay before the SYN-ACK timer's next retransmission after n
// of them: 1 s doubled each time, at most 120 s (TCP_TIMEOUT_INIT and
// TCP_RTO_MAX), plus up to 4 ms of timer granularity.
func (g *floodGen) rto(n uint8) int64 {
	d := min(int64(time.Second)<<min(n, 7), int64(120*time.Second))
	return d + int64(g.r.intn(4_000_000))
}

// event writes the next packet of the connection at the top of the queue.
func (g *floodGen) event() error {
	c := &g.q[0]
	t := c.t
	if c.timer <= c.next {
		if err := g.writeReply(c, t); err != nil {
			return err
		}
		c.retrans++
		c.timer = never
		if c.retrans < g.retries {
			c.timer = t + g.rto(c.retrans)
		}
	} else {
		switch c.step {
		case stepReply, stepDupReply:
			if err := g.writeReply(c, t); err != nil {
				return err
			}
			if c.step == stepReply {
				if c.fate == fateSYNACK {
					g.st.HalfOpen++
				} else {
					g.st.Refused++
				}
			}
			if c.fate == fateSYNACK && c.retrans < g.retries {
				c.timer = t + g.rto(c.retrans)
			}
			c.next = never
			if c.step == stepReply && c.dup {
				c.next, c.step = t+g.dupDelay(), stepDup
			}
		case stepDup:
			if err := g.writeSYN(c, t, uint16(g.r.u32())); err != nil {
				return err
			}
			c.next = never
			if c.fate != fateNone {
				c.next, c.step = t+int64(g.r.between(5_000, 50_000)), stepDupReply
			}
		}
	}
	g.planned--
	if c.t = min(c.next, c.timer); c.t == never {
		g.q.pop()
	} else {
		g.q.down(0)
	}
	return nil
}

func (g *floodGen) client(c *floodConn) host {
	var a [16]byte
	copy(a[:], c.src[:])
	return newHost(a, false)
}

// writeSYN writes c's SYN: bare from the flood, with an MSS option from a
// scanner.
func (g *floodGen) writeSYN(c *floodConn, t int64, ipID uint16) error {
	h := g.client(c)
	f := frame{
		t: t, src: &h, dst: &g.victim, sport: c.sport, dport: c.dport,
		ipID: ipID, ttl: c.ttl, flags: fSYN, seq: c.isn, window: c.window,
	}
	if c.scan {
		f.opt, f.mss = optMSS, 1460
	}
	return g.write(&f)
}

// writeReply writes the target's answer to c's SYN: RST,ACK, or a SYN-ACK
// with the MSS option only, since the SYN had no options.
func (g *floodGen) writeReply(c *floodConn, t int64) error {
	h := g.client(c)
	f := frame{
		t: t, src: &g.victim, dst: &h, sport: c.dport, dport: c.sport,
		ipID: g.victimID, ttl: 64, flags: fRST | fACK, ack: c.isn + 1,
	}
	g.victimID++
	if c.fate == fateSYNACK {
		f.flags, f.seq, f.window, f.opt, f.mss = fSYN|fACK, c.sisn, 64240, optMSS, 1460
	}
	return g.write(&f)
}

func (g *floodGen) write(f *frame) error {
	g.last = f.t
	return g.fw.write(f)
}

// floodQueue is a min-heap of connections by the time of their next
// packet. A packet due at the same time as the next new SYN goes first.
type floodQueue []floodConn

func (h *floodQueue) push(c floodConn) {
	*h = append(*h, c)
	a := *h
	for i := len(a) - 1; i > 0; {
		p := (i - 1) / 2
		if a[p].t <= a[i].t {
			break
		}
		a[p], a[i] = a[i], a[p]
		i = p
	}
}

// pop removes the top.
func (h *floodQueue) pop() {
	a := *h
	n := len(a) - 1
	a[0] = a[n]
	*h = a[:n]
	h.down(0)
}

// down restores the heap order below i after a[i] got later.
func (h floodQueue) down(i int) {
	n := len(h)
	for {
		l, m := 2*i+1, i
		if l < n && h[l].t < h[m].t {
			m = l
		}
		if l+1 < n && h[l+1].t < h[m].t {
			m = l + 1
		}
		if m == i {
			return
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
}

// floodSource returns the next spoofed source address. scramble is a
// bijection on 32 bits, so distinct indexes give distinct addresses.
func floodSource(index *uint32, target [4]byte) [4]byte {
	for {
		x := scramble(*index)
		*index++
		a := [4]byte{byte(x >> 24), byte(x >> 16), byte(x >> 8), byte(x)}
		if a[0] == 0 || a[0] == 10 || a[0] == 127 || a[0] >= 224 || a == target {
			continue
		}
		return a
	}
}

// scramble is an invertible mix of 32 bits (xor-shifts and odd multipliers
// are each invertible modulo 2^32).
func scramble(x uint32) uint32 {
	x ^= x >> 16
	x *= 0x7feb352d
	x ^= x >> 15
	x *= 0x846ca68b
	x ^= x >> 16
	return x
}
