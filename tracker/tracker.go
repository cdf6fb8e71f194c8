// Package tracker reconstructs TCP connections from observed segments: a flow
// table of connections, each with two endpoints that run their own RFC 9293
// state machine (the table in table.go), transitions with time and packet,
// and a closed set of named anomalies.
//
// Every segment A→B is applied as "A sent it", then "B received it": the
// observer assumes delivery until a later packet proves otherwise (a
// retransmitted FIN after its ACK was seen means that ACK was lost beyond the
// capture point), and then corrects the endpoint's state and says so.
package tracker

import (
	"cmp"
	"container/heap"
	"fmt"
	"math"
	"net/netip"
	"slices"
	"time"

	"github.com/tcptrace/tcptrace/reassembly"
	"github.com/tcptrace/tcptrace/tcp"
)

// Config holds the time rules and thresholds of the analysis.
type Config struct {
	MSL              time.Duration // TIME_WAIT lasts 2×MSL in capture time (default 30 s, Linux's 60 s TIME_WAIT)
	HalfCloseTimeout time.Duration // CLOSE_WAIT longer than this is half_closed (default 60 s)
	Pileup           int           // connections at once in CLOSE_WAIT/TIME_WAIT that make a pileup (default 10)
	IdleTimeout      time.Duration // a connection without packets for this long is expired (default 15 min; capture time)
	MaxConnections   int           // flow-table cap: beyond it the least recently active connection is evicted (default 1<<18)

	// OnDone, when set, receives every connection once it is over — both
	// endpoints CLOSED (after a short linger for late packets, none after
	// TIME_WAIT expired), expired,
	// evicted, or still open at Finish — and the tracker then forgets it:
	// memory stays proportional to the live connections. It is called at
	// the end of the Process, Advance or Finish call that ended c, after
	// which the tracker never reads c again: OnDone may Recycle it. Without
	// OnDone the tracker keeps every connection for Conns().
	OnDone func(c *Conn)

	// OnTransition and OnAnomaly, when set, see every event as it is
	// committed (live mode streams them). They must not keep c past the call
	// without copying what they need.
	OnTransition func(c *Conn, tr Transition)
	OnAnomaly    func(c *Conn, a Anomaly)
}

// DefaultConfig returns the documented defaults.
func DefaultConfig() Config {
	return Config{MSL: 30 * time.Second, HalfCloseTimeout: 60 * time.Second, Pileup: 10,
		IdleTimeout: 15 * time.Minute, MaxConnections: 1 << 18}
}

// graceAfterFIN is how long after a FIN (or SYN) the capture must go on
// before its missing acknowledgment counts as certain: Linux's initial RTO is
// 1 s, so by then a lost segment would have been retransmitted.
const graceAfterFIN = int64(time.Second)

// closeLinger is how long a connection whose endpoints are both CLOSED stays
// in the flow table (frozen) for late packets (a retransmitted FIN proving the final
// ACK lost, a stray RST) before it is handed to OnDone. Zeek waits 5 s too
// (tcp_close_delay).
const closeLinger = int64(5 * time.Second)

// Tracker is the flow table. It is not safe for concurrent use.
type Tracker struct {
	cfg     Config
	flows   flowTable[*Conn]
	embryos flowTable[*embryo]     // connections seen only as SYNs and SYN-ACKs so far
	frozen  flowTable[*frozenConn] // connections done with data, waiting out TIME_WAIT or the linger after CLOSED (freeze.go)
	// freezing: connections go to OnDone and no one watches them live.
	freezing   bool
	fz         Freezer
	sinceSweep int // packets since the last sweep for idle connections
	sweepEvery int // packets between sweeps: sweepEvery, fewer in tests
	sweepAt    int // the flow table slot it stopped at
	// timeWaitNote is the note of every TIME_WAIT expiry.
	timeWaitNote string
	// hatching is the embryo whose first SYN is being replayed: newConn
	// gives its connection the embryo's id and place.
	hatching *embryo
	conns    []*Conn
	ended    []*Conn // over, waiting for handOver to give them to OnDone
	timers   timerHeap
	idle     idleHeap // one entry per live connection, ordered by when it may go idle
	now      int64    // latest capture time seen
	nextID   uint64

	live             int // connections not yet over
	expired, evicted int

	closeWait map[netip.AddrPort]pile
	timeWait  map[netip.Addr]pile
}

// pile counts one endpoint's connections in CLOSE_WAIT, or one host's in
// TIME_WAIT. A pile per host with a connection in TIME_WAIT: kept by value.
type pile struct {
	peakTime    int64
	count, peak int32
}

// pileUp counts one more in m's pile for k.
func pileUp[K comparable](m map[K]pile, k K, at int64) {
	p := m[k]
	p.count++
	if p.count > p.peak {
		p.peak, p.peakTime = p.count, at
	}
	m[k] = p
}

// pileDown counts one less. An empty pile that never made a pileup goes:
// it would be reported only if it reached threshold, and when it does
// later, a new pile finds the same peak at the same time. (CLOSE_WAIT piles
// are per endpoint: one per client port when servers close first.)
func pileDown[K comparable](m map[K]pile, k K, threshold int) {
	p := m[k]
	if p.count--; p.count == 0 && int(p.peak) < threshold {
		delete(m, k)
		return
	}
	m[k] = p
}

// New returns an empty tracker.
func New(cfg Config) *Tracker {
	def := DefaultConfig()
	if cfg.MSL <= 0 {
		cfg.MSL = def.MSL
	}
	if cfg.HalfCloseTimeout <= 0 {
		cfg.HalfCloseTimeout = def.HalfCloseTimeout
	}
	if cfg.Pileup <= 0 {
		cfg.Pileup = def.Pileup
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = def.IdleTimeout
	}
	if cfg.MaxConnections <= 0 {
		cfg.MaxConnections = def.MaxConnections
	}
	t := &Tracker{
		cfg:          cfg,
		freezing:     cfg.OnDone != nil && cfg.OnTransition == nil && cfg.OnAnomaly == nil,
		sweepEvery:   sweepEvery,
		timeWaitNote: fmt.Sprintf("2×MSL (%s) elapsed", dur(2*int64(cfg.MSL))),
		closeWait:    make(map[netip.AddrPort]pile),
		timeWait:     make(map[netip.Addr]pile),
	}
	// The common notes have their place in the frozen connections' table
	// before one-off ones (a port reuse's) can fill it.
	for _, n := range []string{t.timeWaitNote, noteSYNAgain, noteSYNACKAgain, noteFINAgain} {
		t.fz.noteIndex(n)
	}
	return t
}

// Conns returns every connection in order of first packet (only when
// Config.OnDone is not set; otherwise connections are handed over as they end).
func (t *Tracker) Conns() []*Conn { return t.conns }

// Live returns the number of connections not yet over.
func (t *Tracker) Live() int { return t.live }

// Expired and Evicted count connections ended by the idle timeout and by the
// MaxConnections cap.
func (t *Tracker) Expired() int { return t.expired }
func (t *Tracker) Evicted() int { return t.evicted }

// Now is the latest capture time seen.
func (t *Tracker) Now() int64 { return t.now }

// Process applies one segment.
func (t *Tracker) Process(seg *tcp.Segment) { t.ProcessHinted(seg, Hint(seg)) }

// FlowHint is what the flow table needs of a segment's 4-tuple: its
// canonical key and that key's hash. Working it out is a fifth of the
// tracker's work per packet and depends on the segment alone, so a pipeline
// may do it on another goroutine (Hint) and hand it over with the segment
// (ProcessHinted).
type FlowHint struct {
	key flowKey
	h   uint64
}

// Hint works out seg's FlowHint. It is safe for concurrent use.
func Hint(seg *tcp.Segment) FlowHint {
	k := keyOf(seg.Src, seg.Dst)
	return FlowHint{k, hashKey(&k)}
}

// ProcessHinted applies one segment, whose hint is Hint(seg).
func (t *Tracker) ProcessHinted(seg *tcp.Segment, hint FlowHint) {
	t.process(seg, hint)
	if len(t.ended) > 0 {
		t.handOver()
	}
}

func (t *Tracker) process(seg *tcp.Segment, hint FlowHint) {
	if seg.Time > t.now {
		t.now = seg.Time
	}
	if len(t.timers) > 0 && t.timers[0].at <= t.now {
		t.fireTimers(t.now)
	}

	if len(t.idle) > 0 && t.idle[0].at <= t.now {
		t.expireIdle(t.now)
	}
	cls, invalid := classify(seg.Flags)
	key, h := hint.key, hint.h
	c := t.flows.get(&key, h)
	if c == nil {
		if e := t.embryos.get(&key, h); e != nil {
			if e.absorbs(seg, cls, invalid, t.now) {
				e.add(seg, t.now)
				return
			}
			// It goes on as a whole connection: make it the room of one.
			// (Embryos hatched to end — evicted, expired, at the end —
			// need none.)
			t.makeRoom(e.ref)
			c = t.hatch(e)
		} else if f := t.frozen.get(&key, h); f != nil {
			c = t.thaw(f)
		} else if cls == clsSYN && invalid == "" && t.cfg.OnTransition == nil && t.cfg.OnAnomaly == nil && embryoFits(seg) {
			// Embryos hold events back until they hatch, so a streaming
			// consumer (live mode) gets full connections from the start.
			t.conceive(key, seg)
			return
		}
	}
	c = t.segment(c, key, seg, cls, invalid)
	if t.freezing {
		if frozenReady(c) {
			t.freeze(c, h)
		}
		if t.sinceSweep++; t.sinceSweep >= t.sweepEvery {
			t.sinceSweep = 0
			t.sweep()
		}
	}
}

// segment applies one segment to its connection (c may be nil: connFor
// finds or starts it) and returns the connection it went to.
func (t *Tracker) segment(c *Conn, key flowKey, seg *tcp.Segment, cls class, invalid string) *Conn {
	c = t.connFor(c, key, seg, cls, invalid)
	s := c.sideOf(seg.Src)
	snd := &c.Ends[s]
	snd.Packets++
	snd.Bytes += uint64(seg.PayloadLen)
	snd.IPBytes += uint64(seg.IPLen)
	if seg.Time > c.LastSeen {
		c.LastSeen = seg.Time
	}
	c.LastPacket = seg.Packet
	seqCls := c.seq.Segment(int(s), seg, &c.Seq)
	c.zeek.packet(s == Client, seg.Flags, seg.Seq, seg.Ack, seg.PayloadLen, seg.Window, seqCls.Has(reassembly.AckUnseenSegment))
	if seqCls != 0 {
		t.seqAnomalies(c, s, seg, seqCls)
	}

	if invalid != "" {
		t.anomaly(c, InvalidFlags, Warning, s, seg, fmt.Sprintf("%s sent %s: %s", s, seg.Flags, invalid))
		return c
	}
	if seqCls.Has(reassembly.HardwareDuplicate) {
		// The same packet captured twice (a mirror port, two interfaces):
		// not a retransmission, and no evidence of anything.
		return c
	}
	t.apply(c, s, cls, seg)
	return c
}

// connFor finds the connection a segment belongs to, starting a new one for
// a new SYN or for traffic on an unknown 4-tuple.
func (t *Tracker) connFor(c *Conn, key flowKey, seg *tcp.Segment, cls class, invalid string) *Conn {
	if c != nil {
		switch {
		case invalid == "" && cls == clsSYN && t.isNewSYN(c, seg):
			return t.reuse(c, key, seg)
		case c.Ends[Client].State == Closed && c.Ends[Server].State == Closed &&
			cls != clsSYN && seg.Time-c.LastSeen > 2*int64(t.cfg.MSL):
			// Long after both ends closed, this is another connection whose
			// start the capture missed.
		default:
			return c
		}
	}
	n := t.newConn(key, seg, c != nil)
	switch {
	case invalid != "" || cls == clsSYN:
		n.Ends[Client].Addr, n.Ends[Server].Addr = seg.Src, seg.Dst
	case cls == clsSYNACK:
		// The capture missed the SYN: the receiver of the SYN-ACK is the
		// client, still in SYN_SENT with the ISN the SYN-ACK acknowledges.
		n.Ends[Client].Addr, n.Ends[Server].Addr = seg.Dst, seg.Src
		cl := &n.Ends[Client]
		cl.Initial, cl.State = SynSent, SynSent
		cl.isn, cl.hasISN, cl.nxt, cl.hasNxt = seg.Ack-1, true, seg.Ack, true
		n.Ends[Server].Initial, n.Ends[Server].State = Listen, Listen
	default:
		n.Midstream = true
		cl, sv := seg.Src, seg.Dst
		if serverLike(cl.Port(), sv.Port()) {
			cl, sv = sv, cl
		}
		n.Ends[Client].Addr, n.Ends[Server].Addr = cl, sv
		for s := range n.Ends {
			n.Ends[s].Initial, n.Ends[s].State = Established, Established
		}
		t.anomaly(n, Midstream, Info, Both, seg, fmt.Sprintf("capture started after the handshake; server %s guessed from the ports", sv))
	}
	return n
}

// serverLike reports whether port a looks more like the server's than b:
// a well-known port wins, then the lower port.
func serverLike(a, b uint16) bool {
	if (a < 1024) != (b < 1024) {
		return a < 1024
	}
	return a < b
}

// newConn starts a connection on key; replacing says the flow table holds
// one there already (so no room has to be made).
func (t *Tracker) newConn(key flowKey, seg *tcp.Segment, replacing bool) *Conn {
	if e := t.hatching; e != nil {
		// Hatching an embryo: it already has its id, its place in the idle
		// heap and its count among the live connections (and room, made by
		// Process when it hatches to go on).
		t.hatching = nil
		c := reusedConn()
		c.ID, c.FirstSeen, c.LastSeen, c.FirstPacket, c.key, c.halfClosed, c.ref = e.id, seg.Time, seg.Time, seg.Packet, key, -1, e.ref
		e.ref.c, e.ref.e = c, nil
		t.addConn(c, seg)
		return c
	}
	if !replacing {
		t.makeRoom(nil)
	}
	t.nextID++
	c := reusedConn()
	c.ID, c.FirstSeen, c.LastSeen, c.FirstPacket, c.key, c.halfClosed = t.nextID, seg.Time, seg.Time, seg.Packet, key, -1
	c.ref = &connRef{c: c}
	t.live++
	heap.Push(&t.idle, idleEntry{at: seg.Time + int64(t.cfg.IdleTimeout), ref: c.ref})
	t.addConn(c, seg)
	return c
}

func (t *Tracker) addConn(c *Conn, seg *tcp.Segment) {
	for s := range c.Ends {
		c.Ends[s].Since = seg.Time
	}
	t.flows.set(c, hashKey(&c.key))
	if t.cfg.OnDone == nil {
		t.conns = append(t.conns, c)
	}
}

// makeRoom evicts the least recently active connections (never keep's)
// until the table has room for one more connection.
func (t *Tracker) makeRoom(keep *connRef) {
	for t.flows.len()+t.frozen.len()+t.embryos.len()/embryoWeight >= t.cfg.MaxConnections {
		if !t.evictOldest(keep) {
			return
		}
	}
}

// maxEmbryoSegments is how many segments an embryo keeps; the next one
// hatches it (a handshake that persistent is not a flood).
const maxEmbryoSegments = 16

// embryoWeight is how many embryos count as one connection against
// Config.MaxConnections: they are that much smaller, and a flood's
// half-open connections should not push each other out of the table (an
// evicted one that is heard of again, by a retransmitted SYN-ACK, comes back
// as a second, midstream connection).
const embryoWeight = 4

// embryo is a connection of which only the opening of the handshake has been
// seen: its client's SYN, perhaps the server's SYN-ACK, and copies of them.
// SYN floods, scans and unanswered SYNs leave millions of these and most
// never go further, so they wait in a compact form — the two segments'
// shapes and, per copy, only the fields a retransmission changes: ~220 bytes
// for a SYN, ~420 for a half-open connection whose server retransmitted its
// SYN-ACK five times, instead of ~3 KB — and hatch into a Conn, by replaying
// them, when anything else happens on their 4-tuple, when they end, or when
// the capture ends. The result is exactly what applying the segments at once
// would have given (TestEmbryosChangeNothing): the replay fires this
// connection's timers where the original order would have.
type embryo struct {
	id          uint64 // reserved at the first SYN, so ids stay in first-packet order
	key         flowKey
	ref         *connRef
	clientIsLo  bool        // the client is the key's lower endpoint
	v4          bool        // the addresses are IPv4 (the key holds them mapped into IPv6)
	syn, synAck segShape    // synAck is valid when hasSynAck
	segs        []embryoSeg // every segment, in arrival order
	packet      uint64      // the first segment's packet number
	hasSynAck   bool
}

// segShape is what every copy of a SYN or SYN-ACK has in common.
type segShape struct {
	seq, ack          tcp.Seq
	payloadLen, ipLen uint32
	flags             tcp.Flags
	mss               uint16
	wscale            uint8
	hasWScale, sackOK bool
	hasTS, truncated  bool
}

func shapeOf(seg *tcp.Segment) segShape {
	o := &seg.Options
	return segShape{seq: seg.Seq, ack: seg.Ack, payloadLen: seg.PayloadLen, ipLen: seg.IPLen, flags: seg.Flags,
		mss: o.MSS, wscale: o.WScale, hasWScale: o.HasWScale, sackOK: o.SACKPermitted, hasTS: o.HasTimestamps, truncated: seg.Truncated}
}

// embryoSeg is one segment of an embryo: what differs between copies, in
// 32 bytes.
type embryoSeg struct {
	time         int64
	packet       uint32 // after the embryo's first packet
	behind       uint32 // how far the tracker's clock was ahead of time (ns): the replay fires the timers due by then
	tsVal, tsEcr uint32
	window       uint16
	ipID         uint16
	ttl          uint8
	server       bool // sent by the server: a SYN-ACK
}

// absorbs reports whether seg is one more segment the embryo can hold: a
// copy of its SYN, or the server's SYN-ACK or a copy of it.
func (e *embryo) absorbs(seg *tcp.Segment, cls class, invalid string, now int64) bool {
	if invalid != "" || seg.Options.NumSACK != 0 || len(e.segs) >= maxEmbryoSegments || !embryoFits(seg) || seg.Src.Addr().Is4() != e.v4 ||
		seg.Packet-e.packet > math.MaxUint32 || now-seg.Time > math.MaxUint32 {
		return false
	}
	switch {
	case cls == clsSYN && e.fromClient(seg):
		return shapeOf(seg) == e.syn
	case cls == clsSYNACK && !e.fromClient(seg):
		return !e.hasSynAck || shapeOf(seg) == e.synAck
	}
	return false
}

// add keeps seg, which absorbs accepted (or which starts the embryo).
func (e *embryo) add(seg *tcp.Segment, now int64) {
	server := !e.fromClient(seg)
	if server && !e.hasSynAck {
		e.synAck, e.hasSynAck = shapeOf(seg), true
	}
	if n := len(e.segs); n == cap(e.segs) {
		// Room for a SYN and its SYN-ACK first; past eight (a half-open
		// connection's SYN-ACK retransmissions), four at a time rather
		// than doubling: a flood holds half a million of these.
		grown := make([]embryoSeg, n, max(2, min(2*n, n+4)))
		copy(grown, e.segs)
		e.segs = grown
	}
	e.segs = append(e.segs, embryoSeg{time: seg.Time, packet: uint32(seg.Packet - e.packet), behind: uint32(now - seg.Time),
		tsVal: seg.Options.TSVal, tsEcr: seg.Options.TSEcr, window: seg.Window, ipID: seg.IPID, ttl: seg.TTL, server: server})
}

// segment rebuilds the i-th segment.
func (e *embryo) segment(i int) tcp.Segment {
	s := &e.segs[i]
	src, dst, sh := e.endpoint(e.clientIsLo), e.endpoint(!e.clientIsLo), &e.syn
	if s.server {
		src, dst, sh = dst, src, &e.synAck
	}
	return tcp.Segment{Time: s.time, Packet: e.packet + uint64(s.packet), Src: src, Dst: dst, Seq: sh.seq, Ack: sh.ack, Flags: sh.flags,
		Window: s.window, PayloadLen: sh.payloadLen, IPLen: sh.ipLen, IPID: s.ipID, TTL: s.ttl, Truncated: sh.truncated,
		Options: tcp.Options{MSS: sh.mss, WScale: sh.wscale, HasWScale: sh.hasWScale, SACKPermitted: sh.sackOK,
			HasTimestamps: sh.hasTS, TSVal: s.tsVal, TSEcr: s.tsEcr}}
}

// fromLo reports whether seg was sent by the key's lower endpoint.
func (e *embryo) fromLo(seg *tcp.Segment) bool {
	hi, lo := halves(seg.Src.Addr())
	return hi == e.key.loHi && lo == e.key.loLo && uint64(seg.Src.Port()) == e.key.ports>>16
}

// fromClient reports whether seg, on the embryo's 4-tuple, was sent by its
// client.
func (e *embryo) fromClient(seg *tcp.Segment) bool { return e.fromLo(seg) == e.clientIsLo }

// endpoint rebuilds the address of the key's lower or higher endpoint, as
// the packets had it (embryoFits guarantees that the key loses nothing).
func (e *embryo) endpoint(lo bool) netip.AddrPort { return addrOfKey(&e.key, lo, e.v4) }

// embryoFits reports whether an embryo can rebuild seg's addresses from its
// flow key.
func embryoFits(seg *tcp.Segment) bool { return addrsFit(seg.Src.Addr(), seg.Dst.Addr()) }

func (e *embryo) lastSeen() int64 {
	last := e.segs[0].time
	for i := range e.segs {
		last = max(last, e.segs[i].time)
	}
	return last
}

// conceive starts an embryo for a SYN on an unknown 4-tuple.
func (t *Tracker) conceive(key flowKey, seg *tcp.Segment) {
	t.makeRoom(nil)
	t.nextID++
	e := &embryo{id: t.nextID, key: key, syn: shapeOf(seg), packet: seg.Packet, v4: seg.Src.Addr().Is4()}
	e.clientIsLo = e.fromLo(seg)
	e.add(seg, t.now)
	e.ref = &connRef{e: e}
	t.embryos.set(e, hashKey(&key))
	t.live++
	heap.Push(&t.idle, idleEntry{at: seg.Time + int64(t.cfg.IdleTimeout), ref: e.ref})
}

// hatch turns an embryo into a connection by replaying its segments, and
// returns the connection now on its 4-tuple. (An embryo's 4-tuple has no
// connection: flows and embryos never share a key.)
func (t *Tracker) hatch(e *embryo) *Conn {
	t.embryos.del(&e.key, hashKey(&e.key))
	var c *Conn
	for i := range e.segs {
		if i == 0 {
			t.hatching = e
		} else if now := e.segs[i].time + int64(e.segs[i].behind); len(t.timers) > 0 && t.timers[0].at <= now {
			t.fireTimers(now)
		}
		seg := e.segment(i)
		cls, invalid := classify(seg.Flags)
		c = live(t.segment(live(c), e.key, &seg, cls, invalid))
	}
	// Every other connection's timers due by now have fired already.
	if len(t.timers) > 0 && t.timers[0].at <= t.now {
		t.fireTimers(t.now)
	}
	return live(c)
}

// saturatingInc adds one to a counter that stops at its maximum.
func saturatingInc(n uint32) uint32 {
	if n == math.MaxUint32 {
		return n
	}
	return n + 1
}

// live returns c, or nil when c is over (no longer on its 4-tuple).
func live(c *Conn) *Conn {
	if c != nil && c.Ended != StillOpen {
		return nil
	}
	return c
}

// resolve returns the connection a heap entry points at, hatching an
// embryo; nil when it is over.
func (t *Tracker) resolve(r *connRef) *Conn {
	if r.e != nil {
		return t.hatch(r.e)
	}
	if r.f != nil {
		return t.thaw(r.f)
	}
	return r.c
}

// over ends a connection's life in the tracker: the end-of-life anomalies are
// settled, it leaves the flow table and goes to OnDone.
func (t *Tracker) over(c *Conn, how EndReason) {
	if c.Ended != StillOpen {
		return
	}
	t.finishConn(c)
	c.Ended = how
	t.live--
	switch how {
	case EndedIdle:
		t.expired++
	case EndedEvicted:
		t.evicted++
	}
	if h := hashKey(&c.key); t.flows.get(&c.key, h) == c {
		t.flows.del(&c.key, h)
	}
	c.ref.c = nil
	if t.cfg.OnDone != nil {
		t.ended = append(t.ended, c)
	}
}

// handOver gives the connections that ended to OnDone, in the order they
// ended. It runs once the public call that ended them is done with them (the
// end of Process and Advance, each step of Finish): the code that ends a
// connection may still read it, and OnDone may recycle it.
func (t *Tracker) handOver() {
	for i, c := range t.ended {
		t.ended[i] = nil
		t.cfg.OnDone(c)
	}
	t.ended = t.ended[:0]
}

// evictOldest ends the least recently active connection to make room. The
// idle heap's entries are refreshed lazily, so stale ones are re-filed first.
// It reports whether it ended one.
func (t *Tracker) evictOldest(keep *connRef) bool {
	var kept *idleEntry
	defer func() {
		if kept != nil {
			heap.Push(&t.idle, *kept)
		}
	}()
	for len(t.idle) > 0 {
		e := heap.Pop(&t.idle).(idleEntry)
		if !e.ref.live() {
			continue // over already
		}
		if due := e.ref.lastSeen() + int64(t.cfg.IdleTimeout); due != e.at {
			heap.Push(&t.idle, idleEntry{at: due, ref: e.ref})
			continue
		}
		if e.ref == keep {
			kept = &e
			continue
		}
		if c := t.resolve(e.ref); c != nil {
			t.over(c, EndedEvicted)
		}
		return true
	}
	return false
}

// expireIdle ends the connections that have had no packet for IdleTimeout.
func (t *Tracker) expireIdle(now int64) {
	for len(t.idle) > 0 && t.idle[0].at <= now {
		e := heap.Pop(&t.idle).(idleEntry)
		if !e.ref.live() {
			continue // over already
		}
		if due := e.ref.lastSeen() + int64(t.cfg.IdleTimeout); due > now {
			heap.Push(&t.idle, idleEntry{at: due, ref: e.ref})
			continue
		}
		t.over(t.resolve(e.ref), EndedIdle)
	}
}

type idleEntry struct {
	at  int64
	ref *connRef
}

// connRef is how the timer heaps point at a connection (or at an embryo
// not yet hatched, or at a frozen connection): at most one is set, none
// when it is over, so stale heap entries do not keep it in memory.
type connRef struct {
	c *Conn
	e *embryo
	f *frozenConn
}

func (r *connRef) live() bool { return r.e != nil || r.c != nil || r.f != nil }

func (r *connRef) lastSeen() int64 {
	switch {
	case r.e != nil:
		return r.e.lastSeen()
	case r.f != nil:
		return r.f.lastSeen
	}
	return r.c.LastSeen
}

type idleHeap []idleEntry

func (h idleHeap) Len() int           { return len(h) }
func (h idleHeap) Less(i, j int) bool { return h[i].at < h[j].at }
func (h idleHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *idleHeap) Push(x any)        { *h = append(*h, x.(idleEntry)) }
func (h *idleHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// isNewSYN reports whether a SYN without ACK starts a new connection instead
// of belonging to c: it does unless it repeats the client's SYN (same ISN) or
// is the other side's SYN of a simultaneous open.
func (t *Tracker) isNewSYN(c *Conn, seg *tcp.Segment) bool {
	s := c.sideOf(seg.Src)
	e, p := &c.Ends[s], &c.Ends[s.peer()]
	if e.hasISN && e.isn == seg.Seq {
		return false
	}
	if !e.hasISN && p.State == SynSent && (e.State == Closed || e.State == Listen) {
		return false // simultaneous open
	}
	return true
}

// reuse starts a new connection on the 4-tuple of c. Linux accepts a new SYN
// on a TIME_WAIT socket (tcp_timewait_state_process) and the sender of a new
// SYN must have released its old socket, so those endpoints of the old
// connection go CLOSED; anything else still open is reported.
func (t *Tracker) reuse(old *Conn, key flowKey, seg *tcp.Segment) *Conn {
	var open []string
	onlyTimeWait := true
	for s := range old.Ends {
		st := old.Ends[s].State
		if st == Closed || st == Listen {
			continue
		}
		open = append(open, fmt.Sprintf("%s %s", Side(s), st))
		if st != TimeWait {
			onlyTimeWait = false
		}
	}
	for s := range old.Ends {
		e := &old.Ends[s]
		if e.State == TimeWait || (e.State.Open() && e.Addr == seg.Src) {
			e.closedBy = closedByReuse
			t.setState(old, Side(s), Closed, seg.Time, seg.Packet, seg.Flags, fmt.Sprintf("4-tuple reused by connection %d", t.nextID+1))
		}
	}
	replacing := t.flows.get(&key, hashKey(&key)) != nil // setState may have ended old
	n := t.newConn(key, seg, replacing)
	n.Ends[Client].Addr, n.Ends[Server].Addr = seg.Src, seg.Dst
	if len(open) > 0 {
		sev := Warning
		if onlyTimeWait {
			sev = Info
		}
		t.anomaly(n, PortReuse, sev, Client, seg, fmt.Sprintf("new SYN while connection %d was still open (%s)", old.ID, joinComma(open)))
	}
	return n
}

// apply runs one segment of side s through the state machine: sender step,
// then receiver step.
func (t *Tracker) apply(c *Conn, s Side, cls class, seg *tcp.Segment) {
	snd, rcv := &c.Ends[s], &c.Ends[s.peer()]

	if cls == clsRST {
		if ok, why := rstAcceptable(snd, rcv, seg); !ok {
			t.anomaly(c, RstOutOfWindow, Warning, s, seg, fmt.Sprintf("RST from %s ignored: %s", s, why))
			return
		}
		t.resetAnomaly(c, s, seg)
	}

	// Sequence bookkeeping the guards rely on.
	var ev event
	ev.seg, ev.cls = seg, cls
	if cls == clsACK && snd.State == Established && rcv.State == Established && !snd.finSent && snd.deferred == nil {
		// The common case, data or an ACK between two established
		// endpoints: no table cell applies (see transitions), only the
		// sequence bookkeeping.
		t.noteSent(c, s, &ev)
		return
	}
	if snd.finSent && seg.PayloadLen > 0 && snd.fin.Less(seg.Seq.Add(seg.PayloadLen)) {
		from := seg.Seq
		if from.Less(snd.fin) {
			from = snd.fin
		}
		t.anomaly(c, DataAfterFin, Warning, s, seg, fmt.Sprintf("%s sent %d bytes beyond its FIN (relative seq %d)", s, seq32(seg.Seq.Add(seg.PayloadLen)-from), snd.rel(seg.Seq)))
	}
	t.noteSent(c, s, &ev)
	if snd.deferred != nil {
		if ev.repeatSYN || ev.repeatFIN {
			snd.deferred = nil // lost again
		} else {
			t.commitDeferred(c, s) // it acts on what it received
		}
	}

	// Crossing FINs: an endpoint that sends its FIN with an ACK that does not
	// cover the peer's FIN had not received that FIN yet. The observer's
	// assumption that it had (CLOSE_WAIT) is withdrawn, and the peer's FIN is
	// delivered after this one: a simultaneous close.
	crossedFIN := cls == clsFIN && snd.State == CloseWait && rcv.finSent &&
		seg.Flags.Has(tcp.ACK) && seg.Ack.LessEq(rcv.fin)
	if crossedFIN {
		t.retract(c, s)
	}

	// A SYN from an endpoint that had a SYN pending: both SYNs crossed.
	crossedSYN := cls == clsSYN && snd.pendingSYN != 0

	t.step(c, s, sent, cls, &ev)
	if crossedSYN {
		pend := ev
		pend.cls, pend.delivered = clsSYN, true
		t.step(c, s, received, clsSYN, &pend)
		t.anomaly(c, SimultaneousOpen, Info, Both, seg, "both ends sent a SYN before receiving the other's")
	}
	if crossedFIN {
		pend := ev
		pend.delivered = true
		t.step(c, s, received, clsFIN, &pend)
		t.anomaly(c, SimultaneousClose, Info, Both, seg, "both ends sent a FIN before receiving the other's")
	}

	// Receiver: the ACK part first, then the FIN (RFC 9293 §3.10.7.4: the
	// ACK field is checked before the FIN bit).
	r := s.peer()
	switch cls {
	case clsFIN:
		t.step(c, r, received, clsACK, &ev)
		t.step(c, r, received, clsFIN, &ev)
	default:
		t.step(c, r, received, cls, &ev)
	}
}

// event is one segment on its way through the table.
type event struct {
	seg       *tcp.Segment
	cls       class
	repeatSYN bool // the sender's SYN or SYN-ACK again with the same ISN
	repeatFIN bool // the sender's FIN again at the same sequence number
	// delivered marks the late delivery of a crossing SYN or FIN: its
	// receipt is dated at the current packet.
	delivered bool
}

// noteSent updates the sender's sequence space and counts retransmitted
// control segments.
func (t *Tracker) noteSent(c *Conn, s Side, ev *event) {
	e, seg := &c.Ends[s], ev.seg
	end := seg.Seq.Add(seg.PayloadLen)
	switch ev.cls {
	case clsSYN, clsSYNACK:
		end++
		prev := e.SYNs
		if ev.cls == clsSYNACK {
			prev = e.SYNACKs
		}
		if e.hasISN && e.isn == seg.Seq && prev > 0 {
			ev.repeatSYN = true
		} else if !e.hasISN {
			e.isn, e.hasISN, e.synData = seg.Seq, true, seg.PayloadLen
		}
		defer e.noteControl(seg.Time, ev)
		if seg.Options.HasWScale {
			e.wscale, e.hasWScale = seg.Options.WScale, true
		}
		if ev.cls == clsSYN {
			e.SYNs = saturatingInc(e.SYNs)
			if e.SYNs == 1 {
				e.firstSYNTime = seg.Time
			}
			if ev.repeatSYN {
				t.countAnomaly(c, SynRetransmitted, s, seg, int(e.SYNs))
			}
		} else {
			e.SYNACKs = saturatingInc(e.SYNACKs)
			if e.SYNACKs == 1 {
				e.synAckTime = seg.Time
			}
			if ev.repeatSYN {
				t.countAnomaly(c, SynAckRetransmitted, s, seg, int(e.SYNACKs))
			}
		}
	case clsFIN:
		fin := seg.Seq.Add(seg.PayloadLen)
		defer e.noteControl(seg.Time, ev)
		end++
		e.FINs = saturatingInc(e.FINs)
		switch {
		case !e.finSent:
			e.fin, e.finSent, e.finTime = fin, true, seg.Time
		case fin == e.fin:
			ev.repeatFIN = true
			t.countAnomaly(c, FinRetransmitted, s, seg, int(e.FINs))
		}
	}
	if !e.hasNxt || e.nxt.Less(end) {
		e.nxt, e.hasNxt = end, true
	}
	if seg.Flags.Has(tcp.ACK) && (!e.hasAck || e.ack.Less(seg.Ack)) {
		e.ack, e.hasAck = seg.Ack, true
	}
	e.window = seg.Window
}

// noteControl keeps the retransmission clock of the endpoint's control
// segments, from which a deferred receipt's deadline is derived.
func (e *Endpoint) noteControl(at int64, ev *event) {
	if (ev.repeatSYN || ev.repeatFIN) && e.lastCtl != 0 {
		e.ctlGap = at - e.lastCtl
	}
	e.lastCtl = at
}

// step proposes side s's next state from the table, validates the cell's
// guard and commits. It also reports the anomalies that a failed guard
// reveals.
func (t *Tracker) step(c *Conn, s Side, d dir, cls class, ev *event) {
	e, p := &c.Ends[s], &c.Ends[s.peer()]
	seg := ev.seg
	cl := transitions[d][cls][e.State]
	if !cl.ok {
		return
	}
	pass := false
	switch cl.guard {
	case always:
		pass = true
	case ackedOurSYN:
		pass = seg.Flags.Has(tcp.ACK) && e.hasISN && (seg.Ack == e.isn+1 || (e.synData > 0 && seg.Ack == e.isn.Add(1+e.synData)))
		if !pass && e.hasISN && (d == received) {
			what := "third ACK"
			if cls == clsSYNACK {
				what = "SYN-ACK"
			}
			t.anomaly(c, HandshakeAckMismatch, Error, s.peer(), seg,
				fmt.Sprintf("%s from %s acknowledges %s's ISN%+d, not ISN+1", what, s.peer(), s, seg.Ack.Diff(e.isn)))
		}
	case ackedOurFIN:
		pass = seg.Flags.Has(tcp.ACK) && e.finSent && e.fin.Less(seg.Ack)
	case ackedPeerSYN:
		pass = seg.Flags.Has(tcp.ACK) && p.hasISN && p.isn.Less(seg.Ack)
	case sameSYN:
		pass = ev.repeatSYN
	case sameFIN:
		pass = ev.repeatFIN
	case sameFINAfterClose:
		pass = ev.repeatFIN && e.closedBy == closedByFINAck
	case peerSYNPending:
		pass = e.pendingSYN != 0
	}

	// The responder's state is unknown until it answers a SYN: remember the
	// SYN, decide when the answer comes.
	if d == received && cls == clsSYN && e.State == Closed {
		if e.pendingSYN == 0 {
			e.pendingSYN, e.pendingSYNTime = seg.Packet, seg.Time
		}
		return
	}
	if !pass {
		return
	}

	if d == received && e.doubts(cls, cl.guard) {
		deadline := max(seg.Time+graceAfterFIN, e.lastCtl+2*e.ctlGap+e.ctlGap/2)
		e.deferred = &deferredReceipt{ok: true, from: e.State, cl: cl, cls: cls, at: seg.Time, pkt: seg.Packet, flags: seg.Flags}
		t.schedule(timer{at: deadline, ref: c.ref, side: s, state: e.State, since: e.Since, deferred: true})
		return
	}
	switch {
	case d == sent && cls == clsSYNACK && e.State == Closed:
		// It answered with a SYN-ACK, so it was listening; its SYN_RCVD
		// began when the SYN arrived.
		e.Initial, e.State = Listen, Listen
		t.setState(c, s, SynRcvd, e.pendingSYNTime, e.pendingSYN, tcp.SYN, "")
		e.pendingSYN = 0
		return
	case d == sent && cls == clsSYN && e.State == Closed && e.pendingSYN != 0:
		t.setState(c, s, SynSent, seg.Time, seg.Packet, seg.Flags, "")
		e.pendingSYN = 0
		return
	}
	t.commit(c, s, cl, cls, seg.Time, seg.Packet, seg.Flags)
}

// doubts reports whether a receipt must wait for confirmation because an
// earlier copy of the same kind was proven lost beyond the capture point.
func (e *Endpoint) doubts(cls class, g guard) bool {
	switch cls {
	case clsSYNACK:
		return e.doubtSYNACK
	case clsACK:
		return e.doubtACK && (g == ackedOurSYN || g == ackedOurFIN)
	}
	return false
}

// commit writes a table cell's transition.
func (t *Tracker) commit(c *Conn, s Side, cl cell, cls class, at int64, pkt uint64, flags tcp.Flags) {
	e := &c.Ends[s]
	note := ""
	if cl.correction {
		note = correctionNote(e, cls)
		if cls == clsSYN {
			e.doubtSYNACK = true
		} else {
			e.doubtACK = true
		}
	}
	if cl.to == Closed {
		switch cls {
		case clsRST:
			e.closedBy = closedByRST
		case clsACK:
			e.closedBy = closedByFINAck
		}
	}
	if cls == clsACK && cl.guard == ackedOurFIN {
		e.finAckedBy = pkt
	}
	t.setState(c, s, cl.to, at, pkt, flags, note)
}

// commitDeferred commits a deferred receipt, dated when it arrived.
func (t *Tracker) commitDeferred(c *Conn, s Side) {
	e := &c.Ends[s]
	d := e.deferred
	e.deferred = nil
	if d != nil && e.State == d.from {
		t.commit(c, s, d.cl, d.cls, d.at, d.pkt, d.flags)
	}
}

func correctionNote(e *Endpoint, cls class) string {
	switch cls {
	case clsSYN:
		return noteSYNAgain
	case clsSYNACK:
		return noteSYNACKAgain
	case clsFIN:
		if e.finAckedBy != 0 {
			return fmt.Sprintf("FIN retransmitted: the ACK in packet %d was lost beyond the capture point", e.finAckedBy)
		}
		return noteFINAgain
	}
	return ""
}

// The notes of corrections that say nothing particular to the connection.
const (
	noteSYNAgain    = "SYN retransmitted: the SYN-ACK was lost beyond the capture point"
	noteSYNACKAgain = "SYN-ACK retransmitted: the handshake ACK was lost beyond the capture point"
	noteFINAgain    = "FIN retransmitted: its ACK was lost beyond the capture point"
)

// setState is the only writer of an endpoint's state: it records the
// transition, keeps the pileup counts and schedules time-driven rules.
func (t *Tracker) setState(c *Conn, s Side, to State, at int64, pkt uint64, flags tcp.Flags, note string) {
	e := &c.Ends[s]
	if e.State == to {
		return
	}
	tr := Transition{Time: at, Side: s, From: e.State, To: to, Packet: pkt, Flags: flags, InFrom: at - e.Since, Note: note}
	if tr.InFrom < 0 {
		tr.InFrom = 0
	}
	t.leave(e, e.State)
	e.State, e.Since = to, at
	t.enter(e, to, at)
	if to != Closed {
		e.closedBy = notClosed
	}
	switch cap(c.Transitions) {
	case 0:
		// Refused, reset and unanswered connections stop at two to four
		// transitions; a whole connection, closed and through TIME_WAIT,
		// makes eleven. Two allocations in either case instead of doublings
		// from one, and no more than a quarter of the space unused.
		c.Transitions = make([]Transition, 0, 4)
	case len(c.Transitions):
		if len(c.Transitions) == 4 {
			c.Transitions = append(make([]Transition, 0, 12), c.Transitions...)
		}
	}
	c.Transitions = append(c.Transitions, tr)
	if doneWithData(to) && doneWithData(c.Ends[s.peer()].State) {
		// Both FINs acknowledged (or reset): no data can follow, so the
		// sequence analysis' in-flight state can go while the connection
		// waits out TIME_WAIT to be reported.
		c.Seq.Compact()
	}
	endsNow := false
	if to == Closed && c.Ends[s.peer()].State == Closed {
		switch {
		case c.Ends[Server].SYNACKs == 0 && c.Ends[Client].SYNACKs == 0 && !c.Midstream:
			// Refused (or reset before any answer): nothing can follow that
			// the connection still needs, and scans make many of these.
			endsNow = true
		case e.closedBy == closedByTimer:
			// Out of TIME_WAIT: 2×MSL after the close nothing late can
			// belong to it any more (a packet now starts a connection of
			// its own, see connFor), as the kernel has forgotten it.
			endsNow = true
		default:
			t.schedule(timer{at: max(at, t.now) + closeLinger, ref: c.ref, side: s, state: Closed, since: at})
		}
	}
	switch to {
	case TimeWait:
		t.schedule(timer{at: at + 2*int64(t.cfg.MSL), ref: c.ref, side: s, state: TimeWait, since: at})
	case CloseWait:
		t.schedule(timer{at: at + int64(t.cfg.HalfCloseTimeout), ref: c.ref, side: s, state: CloseWait, since: at})
	}
	if t.cfg.OnTransition != nil {
		t.cfg.OnTransition(c, tr)
	}
	if endsNow {
		t.over(c, EndedClosed)
	}
}

// retract withdraws side s's last transition: the observer had assumed a
// delivery that the endpoint's own next segment shows had not happened yet.
func (t *Tracker) retract(c *Conn, s Side) {
	for i := len(c.Transitions) - 1; i >= 0; i-- {
		tr := c.Transitions[i]
		if tr.Side != s {
			continue
		}
		e := &c.Ends[s]
		t.leave(e, e.State)
		e.State, e.Since = tr.From, tr.Time-tr.InFrom
		t.enter(e, e.State, e.Since)
		c.Transitions = append(c.Transitions[:i], c.Transitions[i+1:]...)
		return
	}
}

// enter and leave keep the per-endpoint CLOSE_WAIT and per-host TIME_WAIT
// counts from which pileups are reported.
func (t *Tracker) enter(e *Endpoint, st State, at int64) {
	switch st {
	case CloseWait:
		pileUp(t.closeWait, e.Addr, at)
	case TimeWait:
		pileUp(t.timeWait, e.Addr.Addr(), at)
	}
}

func (t *Tracker) leave(e *Endpoint, st State) {
	switch st {
	case CloseWait:
		pileDown(t.closeWait, e.Addr, t.cfg.Pileup)
	case TimeWait:
		pileDown(t.timeWait, e.Addr.Addr(), t.cfg.Pileup)
	}
}

// rstAcceptable applies RFC 9293 §3.10.7's reset checks as the receiver
// would: in SYN_SENT the RST must acknowledge the SYN; otherwise its sequence
// number must fall in the receiver's window.
func rstAcceptable(snd, rcv *Endpoint, seg *tcp.Segment) (bool, string) {
	if rcv.State == SynSent {
		if seg.Flags.Has(tcp.ACK) && rcv.hasISN && rcv.isn.Less(seg.Ack) && seg.Ack.LessEq(rcv.nxt) {
			return true, ""
		}
		return false, "it does not acknowledge the SYN"
	}
	if !snd.hasNxt {
		return true, "" // nothing known of the sender's sequence space
	}
	// The receiver's RCV.NXT is best known from its own ACKs; before any, from
	// what the sender sent.
	lo := snd.nxt
	if rcv.hasAck {
		lo = rcv.ack
	}
	if seg.Seq == lo || seg.Seq == snd.nxt {
		return true, ""
	}
	shift := uint(14) // window scale unknown (midstream): be lenient
	if rcv.hasISN && snd.hasISN {
		shift = 0
		if rcv.hasWScale && snd.hasWScale {
			shift = uint(rcv.wscale)
		}
	}
	wnd := uint32(rcv.window)<<shift + 1
	if seg.Seq.InWindow(lo, wnd) {
		return true, ""
	}
	return false, fmt.Sprintf("sequence number %d bytes outside the receiver's window of %d", seq32(seg.Seq-lo), wnd-1)
}

// resetAnomaly names an accepted RST: the answer to a SYN is a refusal, an
// abort of a connection that was past its SYN is a reset.
func (t *Tracker) resetAnomaly(c *Conn, s Side, seg *tcp.Segment) {
	snd, rcv := &c.Ends[s], &c.Ends[s.peer()]
	switch {
	case rcv.State == SynSent && snd.SYNACKs == 0:
		t.anomaly(c, ConnectionRefused, Warning, s, seg, fmt.Sprintf("%s answered the SYN with RST: nothing listening on %s", s, snd.Addr))
	case closingDone(snd.State) && closingDone(rcv.State):
		// A late RST after both ends had closed changes nothing worth reporting.
	default:
		t.anomaly(c, Reset, Warning, s, seg, fmt.Sprintf("RST from %s in %s (%s was %s)", s, snd.State, s.peer(), rcv.State))
	}
}

func doneWithData(s State) bool { return s == Closed || s == TimeWait }

func closingDone(s State) bool { return s == Closed || s == TimeWait || s == Listen }

// anomaly records an anomaly, merging repeats of one kind on one side into a
// count.
func (t *Tracker) anomaly(c *Conn, k Kind, sev Severity, s Side, seg *tcp.Segment, detail string) *Anomaly {
	if seg != nil {
		return t.anomalyAt(c, k, sev, s, seg.Time, seg.Packet, detail)
	}
	return t.anomalyAt(c, k, sev, s, t.now, 0, detail)
}

// anomalyAt is anomaly with an explicit time and packet (0: a timer or the
// end of the capture). OnAnomaly sees the record complete.
func (t *Tracker) anomalyAt(c *Conn, k Kind, sev Severity, s Side, at int64, pkt uint64, detail string) *Anomaly {
	if a := c.anomalyOf(k, s); a != nil {
		a.Count++
		if sev > a.Severity {
			a.Severity = sev
		}
		return a
	}
	c.Anomalies = append(c.Anomalies, Anomaly{Kind: k, Severity: sev, Side: s, Time: at, Packet: pkt, Count: 1, Detail: detail})
	a := &c.Anomalies[len(c.Anomalies)-1]
	if t.cfg.OnAnomaly != nil {
		t.cfg.OnAnomaly(c, *a)
	}
	return a
}

// countAnomaly records one more repeat of a control segment; format gets the
// side and the number of extra segments (n-1).
func (t *Tracker) countAnomaly(c *Conn, k Kind, s Side, seg *tcp.Segment, n int) {
	if a := c.anomalyOf(k, s); a != nil {
		a.Count = n - 1 // the detail is brought up to date when c ends
		return
	}
	t.anomaly(c, k, k.Info().Severity, s, seg, countedDetail(k, s, n-1))
}

// countedDetail is the detail of an anomaly countAnomaly keeps.
func countedDetail(k Kind, s Side, count int) string {
	what := "FIN"
	switch k {
	case SynRetransmitted:
		what = "SYN"
	case SynAckRetransmitted:
		what = "SYN-ACK"
	}
	return fmt.Sprintf("%s sent its %s %d more time(s)", s, what, count)
}

// seqKinds maps the sequence analysis' classes to anomaly kinds. SYN and FIN
// repeats are left to syn_retransmitted, synack_retransmitted and
// fin_retransmitted: the retransmission kinds count data.
var seqKinds = []struct {
	cls      reassembly.Class
	kind     Kind
	dataOnly bool
}{
	{reassembly.Retransmission, Retransmission, true},
	{reassembly.FastRetransmission, FastRetransmission, true},
	{reassembly.SpuriousRetransmission, SpuriousRetransmission, true},
	{reassembly.OutOfOrder, OutOfOrder, false},
	{reassembly.LostSegment, LostSegment, false},
	{reassembly.AckUnseenSegment, AckUnseenSegment, false},
	{reassembly.DuplicateAck, DuplicateAck, false},
	{reassembly.ZeroWindow, ZeroWindow, false},
	{reassembly.KeepAlive, KeepAlive, false},
}

// seqAnomalies counts the classified segment into its side's anomalies; the
// details are written when the connection ends, from the final counts.
func (t *Tracker) seqAnomalies(c *Conn, s Side, seg *tcp.Segment, cls reassembly.Class) {
	for _, m := range seqKinds {
		if cls.Has(m.cls) && (!m.dataOnly || seg.PayloadLen > 0) {
			if a := c.anomalyOf(m.kind, s); a != nil {
				a.Count++
				continue
			}
			// A first detail for live streaming; the final one is written
			// from the final counts when the connection ends.
			first := Anomaly{Kind: m.kind, Side: s, Count: 1, Packet: seg.Packet}
			t.anomaly(c, m.kind, m.kind.Info().Severity, s, seg, seqDetail(c, &first))
		}
	}
}

// seqDetail writes the one-line detail of a sequence-analysis anomaly from
// the connection's final statistics.
func seqDetail(c *Conn, a *Anomaly) string {
	d := &c.Seq.Dir[a.Side]
	side, peer := a.Side, a.Side.peer()
	switch a.Kind {
	case Retransmission:
		return fmt.Sprintf("%s retransmitted %d data segment(s), %d bytes, first at packet %d", side, a.Count, d.RetransmittedBytes, a.Packet)
	case FastRetransmission:
		return fmt.Sprintf("%s fast-retransmitted %d segment(s) after duplicate ACKs from %s", side, a.Count, peer)
	case SpuriousRetransmission:
		return fmt.Sprintf("%s retransmitted %d segment(s) that %s had already acknowledged", side, a.Count, peer)
	case OutOfOrder:
		return fmt.Sprintf("%d segment(s) from %s arrived out of order", a.Count, side)
	case LostSegment:
		if d.MissedBytes == 0 {
			return fmt.Sprintf("%d gap(s) in the data from %s, all filled later (reordered or retransmitted), first before packet %d", a.Count, side, a.Packet)
		}
		return fmt.Sprintf("the capture missed %d bytes from %s (%d gap(s), first before packet %d)", d.MissedBytes, side, a.Count, a.Packet)
	case AckUnseenSegment:
		return fmt.Sprintf("%s acknowledged %s data the capture never saw, %d time(s)", side, peer, a.Count)
	case DuplicateAck:
		return fmt.Sprintf("%s sent %d duplicate ACK(s), %d run(s) of three or more", side, a.Count, d.TripleDuplicateAcks)
	case ZeroWindow:
		return fmt.Sprintf("%s advertised a zero window %d time(s), first at packet %d", side, a.Count, a.Packet)
	case KeepAlive:
		return fmt.Sprintf("%s sent %d keep-alive(s)", side, a.Count)
	}
	return a.Detail
}

// Finish applies the end of the capture: timers that fell due, then the
// anomalies that only the end can establish. Final states stay as they are.
func (t *Tracker) Finish() {
	t.fireTimers(t.now)
	t.expireIdle(t.now)
	t.handOver()
	// What is still open, connections and embryos, ends in id order; an
	// embryo hatches only when its turn comes, so that a flood's embryos
	// never all become connections at once.
	open := make([]*connRef, 0, t.live)
	for _, e := range t.idle {
		if e.ref.e != nil || e.ref.f != nil || (e.ref.c != nil && e.ref.c.Ended == StillOpen) {
			open = append(open, e.ref)
		}
	}
	id := func(r *connRef) uint64 {
		switch {
		case r.e != nil:
			return r.e.id
		case r.f != nil:
			return r.f.id
		}
		return r.c.ID
	}
	slices.SortFunc(open, func(a, b *connRef) int { return cmp.Compare(id(a), id(b)) })
	for _, r := range open {
		if c := t.resolve(r); c != nil {
			t.over(c, EndedAtCaptureEnd)
		}
		t.handOver()
	}
	t.idle = nil
	// Hatching created connections out of id order.
	slices.SortFunc(t.conns, func(a, b *Conn) int { return cmp.Compare(a.ID, b.ID) })
}

func (t *Tracker) finishConn(c *Conn) {
	for i := range c.Anomalies {
		switch a := &c.Anomalies[i]; {
		case a.Kind >= Retransmission:
			a.Detail = seqDetail(c, a)
		case a.Kind == SynRetransmitted || a.Kind == SynAckRetransmitted || a.Kind == FinRetransmitted:
			if a.Count > 1 {
				a.Detail = countedDetail(a.Kind, a.Side, a.Count)
			}
		}
	}
	cl, sv := &c.Ends[Client], &c.Ends[Server]
	if cl.State == SynSent && sv.Packets == 0 {
		sev, waited := Error, t.now-cl.firstSYNTime
		if cl.SYNs < 2 && waited < graceAfterFIN {
			sev = Info
		}
		t.anomaly(c, SynUnanswered, sev, Client, nil,
			fmt.Sprintf("%d SYN(s) over %s, nothing from %s", cl.SYNs, dur(waited), sv.Addr))
	}
	for s := Client; s <= Server; s++ {
		e, p := &c.Ends[s], &c.Ends[s.peer()]
		switch e.State {
		case SynRcvd:
			sev, waited := Error, t.now-e.synAckTime
			if e.SYNACKs < 2 && waited < graceAfterFIN {
				sev = Info
			}
			detail := fmt.Sprintf("%s left in SYN_RCVD: no ACK of its ISN+1 after %d SYN-ACK(s)", s, e.SYNACKs)
			if p.State == SynSent && p.SYNs > 1 {
				detail += fmt.Sprintf("; %s kept sending SYNs: the SYN-ACKs were lost beyond the capture point", s.peer())
			}
			t.anomaly(c, HandshakeIncomplete, sev, s, nil, detail)
		case LastAck, Closing:
			sev, waited := Warning, t.now-e.finTime
			if e.FINs < 2 && waited < graceAfterFIN {
				sev = Info
			}
			detail := fmt.Sprintf("%s left in %s: its FIN was not acknowledged (%d retransmission(s), %s until the capture ended)", s, e.State, int(e.FINs)-1, dur(waited))
			if e.finAckedBy != 0 {
				detail += fmt.Sprintf("; the ACK in packet %d was lost beyond the capture point", e.finAckedBy)
			}
			t.anomaly(c, MissingFinalAck, sev, s, nil, detail)
		case CloseWait:
			in := t.now - e.Since
			if c.halfClosed >= 0 {
				c.Anomalies[c.halfClosed].Detail = fmt.Sprintf("%s in CLOSE_WAIT for %s, still at the end of the capture; %s is %s", s, dur(in), s.peer(), p.State)
			} else {
				t.anomaly(c, HalfClosed, Info, s, nil,
					fmt.Sprintf("%s in CLOSE_WAIT for %s when the capture ended (under the %s timeout); %s is %s", s, dur(in), dur(int64(t.cfg.HalfCloseTimeout)), s.peer(), p.State))
			}
		}
	}
}

// Pileups returns the pileup anomalies: endpoints that at some moment had at
// least cfg.Pileup connections in CLOSE_WAIT, hosts with as many in
// TIME_WAIT. Sorted by kind, then endpoint.
func (t *Tracker) Pileups() []Pileup {
	var out []Pileup
	for a, p := range t.closeWait {
		if int(p.peak) >= t.cfg.Pileup {
			out = append(out, Pileup{Kind: CloseWaitPileup, Endpoint: a.String(), Peak: int(p.peak), Time: p.peakTime})
		}
	}
	for a, p := range t.timeWait {
		if int(p.peak) >= t.cfg.Pileup {
			out = append(out, Pileup{Kind: TimeWaitPileup, Endpoint: a.String(), Peak: int(p.peak), Time: p.peakTime})
		}
	}
	sortPileups(out)
	return out
}

// Timers: time-driven rules run in capture time, in order with the packets.
type timer struct {
	at    int64
	ref   *connRef
	since int64
	side  Side
	state State // the state the timer is for; stale when the endpoint left it
	// deferred: commit the endpoint's deferred receipt (else the state's own rule)
	deferred bool
	// (Field order packs it into 32 bytes: a closed connection leaves two in
	// the heap until its TIME_WAIT is over.)
}

type timerHeap []timer

func (h timerHeap) Len() int           { return len(h) }
func (h timerHeap) Less(i, j int) bool { return h[i].at < h[j].at }
func (h timerHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *timerHeap) Push(x any)        { *h = append(*h, x.(timer)) }
func (h *timerHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

func (t *Tracker) schedule(tm timer) { heap.Push(&t.timers, tm) }

func (t *Tracker) fireTimers(now int64) {
	for len(t.timers) > 0 && t.timers[0].at <= now {
		tm := heap.Pop(&t.timers).(timer)
		if c := tm.ref.c; c != nil {
			t.fire(c, tm)
			continue
		}
		// Over; or frozen, when the timer is not stale already by its
		// endpoint's state (a frozen connection has nothing deferred).
		if f := tm.ref.f; f == nil || tm.deferred || f.states[tm.side] != tm.state {
			continue
		}
		c := t.thaw(tm.ref.f)
		t.fire(c, tm)
		if frozenReady(c) {
			// Still waiting: its peer in TIME_WAIT too, or a timer gone
			// stale since it was frozen.
			t.freeze(c, hashKey(&c.key))
		}
	}
}

// fire applies a timer that fell due to its connection.
func (t *Tracker) fire(c *Conn, tm timer) {
	e := &c.Ends[tm.side]
	if e.State != tm.state || e.Since != tm.since {
		return
	}
	if tm.deferred {
		t.commitDeferred(c, tm.side)
		return
	}
	switch tm.state {
	case Closed:
		if c.Ends[tm.side.peer()].State == Closed {
			t.over(c, EndedClosed)
		}
	case TimeWait:
		e.closedBy = closedByTimer
		t.setState(c, tm.side, Closed, tm.at, 0, 0, t.timeWaitNote)
	case CloseWait:
		p := &c.Ends[tm.side.peer()]
		t.anomalyAt(c, HalfClosed, Warning, tm.side, tm.at, 0,
			fmt.Sprintf("%s in CLOSE_WAIT for more than %s; %s is %s", tm.side, dur(int64(t.cfg.HalfCloseTimeout)), tm.side.peer(), p.State))
		c.halfClosed = int32(len(c.Anomalies) - 1)
	}
}

// Advance moves the clock to now without a packet, firing the time-driven
// rules (TIME_WAIT expiry, half-close timeout) that fell due. Live capture
// calls it on the wall clock while the wire is quiet.
func (t *Tracker) Advance(now int64) {
	if now > t.now {
		t.now = now
	}
	t.fireTimers(t.now)
	t.expireIdle(t.now)
	t.handOver()
}
