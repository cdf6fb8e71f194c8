package reassembly

import (
	"time"

	"github.com/tcptrace/tcptrace/tcp"
)

// Conn is the hot half of one connection's sequence analysis: what
// Segment reads on every segment to classify it. It holds no pointers and
// no payload; the zero value is ready (see the package documentation for
// its size). Side 0 is the client, side 1 the server; the analysis itself
// is symmetric, every rule is written once for "sender, receiver".
type Conn struct {
	dir [2]dirState
}

// dirState is what the observer knows of one direction: the sequence space
// of one side's data and that side's latest advertisements.
//
// Sequence numbers are kept relative to base in 64 bits, so they never
// wrap; a 32-bit number from a segment is placed within ±2^31 of nxt.
type dirState struct {
	nxt     int64    // one past the highest sequence number sent (a SYN and a FIN count one)
	acked   int64    // highest cumulative ACK the peer sent for this direction, valid with ackedKnown
	last    int64    // capture time of this side's last segment (ns), valid with active
	base    uint32   // raw sequence number of relative 0: the ISN, or first seq−1 midstream
	lastAck uint32   // raw ACK number of this side's last segment with ACK, valid with hasAck
	win     uint32   // this side's last advertised window, scaled when the scale is known
	fp      uint32   // fingerprint of this side's last segment (hardware duplicates)
	ipid    uint16   // IPv4 ID of this side's last segment
	dupAcks uint16   // consecutive duplicate ACKs sent by this side, saturating
	flags   dirFlags //
	wscale  uint8    // window scale offered in this side's SYN, valid with wsOffered
}

type dirFlags uint16

const (
	active     dirFlags = 1 << iota // a segment was seen from this side
	seqKnown                        // base and nxt are set
	synSeen                         // base is the ISN, from a SYN
	sentSYN                         // a SYN without ACK was sent with this ISN
	sentSYNACK                      // a SYN-ACK was sent with this ISN
	wsOffered                       // the SYN carried a window scale option
	hasAck                          // lastAck is set
	ackedKnown                      // acked is set
	winKnown                        // win is set
	winFromSYN                      // win came from a SYN, so comparing it with later (scaled) windows means nothing
	ipidVaries                      // this side's IPv4 IDs have changed between segments, so they identify packets

	// What this side's last segment was, for the peer's next segment.
	lastKeepAlive // a keep-alive
	lastProbe     // a zero-window probe of either form
	lastProbeByte // a one-byte zero-window probe at nxt, which the receiver may take

	lastBits = lastKeepAlive | lastProbe | lastProbeByte
)

const (
	// maxJump bounds how far a segment may move the sequence space: the
	// largest window TCP can advertise (2^30, RFC 7323 §2.3). Sequence or
	// ACK numbers further away belong to no window of this connection
	// (another incarnation, a blind attack, corruption) and are ignored.
	maxJump = 1 << 30

	// fastRetransmitWindow is Wireshark's limit between the last duplicate
	// ACK and a fast retransmission; the handshake round trip replaces it
	// when longer, for captures taken at the receiver.
	fastRetransmitWindow = 20 * time.Millisecond

	// defaultReorderWindow is how late a gap may be filled and still count
	// as reordering when the handshake round trip is unknown (Wireshark's
	// default).
	defaultReorderWindow = 3 * time.Millisecond
)

// Segment analyses one segment sent by side from (0 client, 1 server; only
// the low bit is used), updates both directions' state (the segment's ACK,
// window and SACK blocks inform the other direction) and the statistics in
// st, and returns the segment's classes.
//
// Call it once per segment of the connection, in capture order, always
// with the same non-nil st. It does not allocate and its work is bounded (a few
// fixed-size arrays are scanned on rare paths). RST segments are counted
// (packets, bytes, idle time) but otherwise ignored: an RST may carry any
// sequence number in the window, or none. Segments whose sequence number
// is more than 2^30 away from the direction's next expected one are counted
// and ignored too. A SYN with a new ISN restarts its direction.
func (c *Conn) Segment(from int, seg *tcp.Segment, st *Stats) Class {
	side := from & 1
	d := &c.dir[side]
	ds := &st.Dir[side]
	ds.Packets++
	ds.PayloadBytes += uint64(seg.PayloadLen)

	fp := fingerprint(seg)
	if d.flags&active != 0 {
		// A packet captured twice (two interfaces, a mirror port) repeats
		// the IPv4 ID; a retransmission gets a new one. IPv6 has no ID, and
		// a stack that sends 0 or a constant ID gives no evidence, so
		// duplicates are only called where the IDs have been seen to vary.
		if seg.IPID != 0 && seg.IPID == d.ipid && fp == d.fp && d.flags&ipidVaries != 0 {
			ds.add(HardwareDuplicate, seg.Packet)
			return HardwareDuplicate
		}
		if seg.IPID != d.ipid {
			d.flags |= ipidVaries
		}
		if idle := time.Duration(seg.Time - d.last); idle > ds.MaxIdle {
			ds.MaxIdle = idle
		}
	}
	prev := d.flags
	d.flags = d.flags&^lastBits | active
	d.ipid, d.fp, d.last = seg.IPID, fp, seg.Time

	var cls Class
	switch {
	case seg.Flags&tcp.RST != 0:
		return 0
	case seg.Flags&tcp.SYN != 0:
		cls = c.syn(side, seg, st)
	default:
		if d.flags&seqKnown == 0 {
			// Midstream: the first segment seen starts the direction, so
			// that nothing before it is reported as missing.
			d.base = uint32(seg.Seq) - 1
			d.nxt = 1
			d.flags |= seqKnown
		}
		var ok bool
		if cls, ok = c.data(side, seg, st, prev); !ok {
			return 0
		}
	}
	if seg.Flags&tcp.ACK != 0 {
		cls |= c.ack(side, seg, st)
	}

	// Commit this side's advertisements for the next comparisons.
	w, known := c.window(side, seg)
	ds.window(w)
	ds.WindowScaled = known
	d.win = w
	d.flags |= winKnown
	if seg.Flags&tcp.SYN != 0 {
		d.flags |= winFromSYN
	} else {
		d.flags &^= winFromSYN
	}
	if seg.Flags&tcp.ACK != 0 {
		d.lastAck = uint32(seg.Ack)
		d.flags |= hasAck
	}
	if cls&DuplicateAck != 0 {
		if d.dupAcks < ^uint16(0) {
			d.dupAcks++
		}
		if d.dupAcks == 3 {
			ds.TripleDuplicateAcks++
		}
	} else {
		d.dupAcks = 0
	}
	if cls&KeepAlive != 0 {
		d.flags |= lastKeepAlive
	}
	if cls&ZeroWindowProbe != 0 {
		d.flags |= lastProbe
	}
	ds.add(cls, seg.Packet)
	return cls
}

// Rel returns seq as a 64-bit sequence number of side's direction,
// relative to its ISN (0 is the SYN, 1 the first data byte) or, when no SYN
// was seen, to one before the first sequence number seen; the 32-bit value
// is placed within ±2^31 of the highest one seen. ok is false before the
// side's first segment.
func (c *Conn) Rel(side int, seq tcp.Seq) (rel int64, ok bool) {
	d := &c.dir[side&1]
	if d.flags&seqKnown == 0 {
		return 0, false
	}
	return d.rel(seq), true
}

func (d *dirState) rel(seq tcp.Seq) int64 {
	return d.nxt + int64(int32(uint32(seq)-d.base-uint32(d.nxt)))
}

// far reports whether rel is too far from nxt to belong to this direction.
func (d *dirState) far(rel int64) bool {
	return rel-d.nxt > maxJump || d.nxt-rel > maxJump
}

// syn handles a SYN or SYN-ACK: its direction's start, or a retransmission
// of it, and the handshake times.
func (c *Conn) syn(side int, seg *tcp.Segment, st *Stats) Class {
	d := &c.dir[side]
	ds := &st.Dir[side]
	synAck := seg.Flags&tcp.ACK != 0
	kind := sentSYN
	if synAck {
		kind = sentSYNACK
	}
	n := int64(seg.PayloadLen) // TCP Fast Open data
	if seg.Flags&tcp.FIN != 0 {
		n++
	}
	var cls Class
	if d.flags&synSeen != 0 && uint32(seg.Seq) == d.base {
		// The same ISN again. A SYN-ACK after this side's own SYN is the
		// simultaneous-open answer (RFC 9293 §3.5, figure 7), not a copy;
		// only the same kind sent twice is a retransmission.
		if d.flags&kind != 0 {
			cls = Retransmission
			if d.flags&ackedKnown != 0 && 1+n <= d.acked {
				cls |= SpuriousRetransmission
			}
			ds.RetransmittedPackets++
			ds.RetransmittedBytes += uint64(seg.PayloadLen)
			if synAck {
				st.Handshake.SYNACKRetransmissions++
			} else {
				st.Handshake.SYNRetransmissions++
			}
		}
	} else {
		// The direction's first SYN, or a new ISN: a new incarnation starts
		// from scratch (the tracker normally starts a new Conn for it).
		d.flags &= active | ipidVaries
		d.flags |= seqKnown | synSeen
		d.base = uint32(seg.Seq)
		d.nxt = 1 + n
		d.acked = 0
		d.dupAcks = 0
		d.wscale = seg.Options.WScale
		if seg.Options.HasWScale {
			d.flags |= wsOffered
		}
		if st.cold != nil {
			st.cold[side] = coldDir{}
		}
		ds.ISN, ds.ISNKnown = seg.Seq, true
		ds.SYN = SYNOptions{
			Seen:          true,
			MSS:           seg.Options.MSS,
			WScale:        seg.Options.WScale,
			HasWScale:     seg.Options.HasWScale,
			SACKPermitted: seg.Options.SACKPermitted,
			Timestamps:    seg.Options.HasTimestamps,
		}
		if seg.PayloadLen > 0 {
			ds.UniqueBytes += uint64(seg.PayloadLen)
			if ds.FirstPayloadTime == 0 {
				ds.FirstPayloadTime = seg.Time
			}
		}
	}
	d.flags |= kind

	hs := &st.hs
	switch {
	case side == 0 && !synAck:
		hs.synAt, hs.haveSYN = seg.Time, true
	case side == 1 && synAck && !st.Handshake.HasSYNACKToACK:
		if hs.haveSYN && !st.Handshake.HasSYNToSYNACK {
			st.Handshake.SYNToSYNACK = time.Duration(seg.Time - hs.synAt)
			st.Handshake.HasSYNToSYNACK = true
		}
		hs.synAckAt, hs.haveSYNACK = seg.Time, true
	}
	return cls
}

// data classifies a segment without SYN or RST by its sequence number and
// advances the direction. ok is false when the sequence number is too far
// away to be analysed.
func (c *Conn) data(side int, seg *tcp.Segment, st *Stats, prev dirFlags) (cls Class, ok bool) {
	d, p := &c.dir[side], &c.dir[side^1]
	ds := &st.Dir[side]
	s := d.rel(seg.Seq)
	if d.far(s) {
		return 0, false
	}
	nxt0 := d.nxt
	L := int64(seg.PayloadLen)
	fin := seg.Flags&tcp.FIN != 0
	e := s + L
	if fin {
		e++
	}
	if L > 0 && ds.FirstPayloadTime == 0 {
		ds.FirstPayloadTime = seg.Time
	}
	peerClosed := p.flags&winKnown != 0 && p.win == 0

	if seg.Window == 0 && !fin {
		cls |= ZeroWindow
	}
	switch {
	case !fin && L == 1 && s == nxt0 && peerClosed:
		// One byte of new data pushed into a closed window (BSD, Windows).
		// It does not advance the direction: the byte is sent again when
		// the window opens, unless the receiver takes it (see ack).
		d.flags |= lastProbeByte
		return cls | ZeroWindowProbe, true
	case !fin && L <= 1 && (s == nxt0-1 || d.flags&ackedKnown != 0 && s == d.acked-1):
		// Sequence number one below the next (or below SND.UNA), no new
		// data: a keep-alive, or Linux's persist probe, which looks the
		// same and is told apart only by the peer's closed window.
		if peerClosed {
			return cls | ZeroWindowProbe, true
		}
		return cls | KeepAlive, true
	}

	if s > d.nxt {
		if prev&lastProbeByte != 0 && s == d.nxt+1 {
			// The receiver took the probe's byte; its ACK was not captured.
			d.nxt++
			ds.UniqueBytes++
		} else {
			cls |= LostSegment
			st.colds()[side].openHole(d.nxt, s, seg.Time)
			ds.MissedBytes += uint64(s - d.nxt)
			d.nxt = s
		}
	}
	if e > s && s < d.nxt {
		cls |= c.old(side, seg, s, e, st)
	}
	if e > d.nxt {
		if pe := s + L; pe > d.nxt {
			ds.UniqueBytes += uint64(pe - max(s, d.nxt))
		}
		if L > 0 && s == d.nxt {
			st.colds()[side].time(e, seg.Time)
		}
		d.nxt = e
	}

	if L > 0 && !fin && p.flags&(hasAck|winKnown) == hasAck|winKnown {
		if _, known := c.scale(side); known && uint32(seg.Seq)+uint32(L) == p.lastAck+p.win {
			cls |= WindowFull
		}
	}

	// Pure ACKs repeating the previous ACK: Wireshark's window update,
	// keep-alive ACK, zero-window-probe ACK and duplicate ACK, in that
	// precedence.
	if L == 0 && !fin && s == nxt0 && seg.Flags&tcp.ACK != 0 &&
		d.flags&(hasAck|winKnown|winFromSYN) == hasAck|winKnown && uint32(seg.Ack) == d.lastAck {
		w, _ := c.window(side, seg)
		switch {
		case w != d.win:
			if w != 0 {
				cls |= WindowUpdate
			}
		case w == 0:
			if p.flags&lastProbe != 0 {
				cls |= ZeroWindowProbeAck
			}
		case p.flags&lastKeepAlive != 0:
			cls |= KeepAliveAck
		case p.flags&seqKnown != 0 && p.rel(seg.Ack) < p.nxt:
			// The BSD rule: only an ACK that leaves the peer's data
			// outstanding is a duplicate. This keeps the ACKs of a
			// simultaneous open from counting.
			cls |= DuplicateAck
		}
	}
	return cls, true
}

// old classifies a segment that starts below the next expected sequence
// number: a retransmission, or data filling a gap.
func (c *Conn) old(side int, seg *tcp.Segment, s, e int64, st *Stats) Class {
	d, p := &c.dir[side], &c.dir[side^1]
	ds := &st.Dir[side]
	cs := &st.colds()[side]
	if e <= 1 {
		// Entirely before the first sequence number of the direction: data
		// from before a midstream capture started, or nonsense before the
		// ISN. Nothing can be said of it.
		return 0
	}
	end := min(e, d.nxt)
	filled, openedAt := cs.holeOverlap(s, end)
	L := int64(seg.PayloadLen)
	var cls Class
	switch {
	case filled == end-s && time.Duration(seg.Time-openedAt) < st.reorderWindow():
		// Only sequence space the capture has never seen, soon after the
		// gap opened: reordering. Later it is data lost before the capture
		// point and sent again, one of the retransmissions below.
		cls = OutOfOrder
	case d.flags&ackedKnown != 0 && e <= d.acked || cs.sacked(seg.Seq, uint32(e-s)):
		cls = Retransmission | SpuriousRetransmission
	case p.dupAcks >= 2 && p.lastAck == uint32(seg.Seq) &&
		time.Duration(seg.Time-p.last) < st.fastRetransmitWindow():
		cls = Retransmission | FastRetransmission
	default:
		cls = Retransmission
	}
	if filled > 0 {
		cs.fill(s, end)
		ds.MissedBytes -= uint64(filled)
		ds.UniqueBytes += uint64(min(filled, L))
	}
	if cls&Retransmission != 0 {
		ds.RetransmittedPackets++
		if n := min(s+L, d.nxt) - s; n > 0 {
			ds.RetransmittedBytes += uint64(n)
		}
		cs.untime(s)
	}
	return cls
}

// ack applies the segment's acknowledgment (cumulative and SACK) to the
// peer's direction.
func (c *Conn) ack(side int, seg *tcp.Segment, st *Stats) Class {
	p := &c.dir[side^1]
	if p.flags&seqKnown == 0 {
		return 0
	}
	a := p.rel(seg.Ack)
	if p.far(a) || seg.Flags&tcp.SYN != 0 && a > p.nxt {
		// Too far to be an ACK of this direction, or a SYN-ACK that
		// acknowledges more than was sent: the peer will not accept it
		// (RFC 9293 §3.10.7.3), so it says nothing about the data.
		return 0
	}
	ps := &st.Dir[side^1]
	pc := &st.colds()[side^1]
	var cls Class
	if a > p.nxt {
		if p.flags&lastProbeByte != 0 && a == p.nxt+1 {
			// The receiver took the zero-window probe's byte. It is
			// counted here, so the sender's next segment must not count
			// it again as a probe byte whose ACK was missed.
			p.nxt = a
			p.flags &^= lastProbeByte
			ps.UniqueBytes++
		} else {
			cls |= AckUnseenSegment
			ps.MissedBytes += uint64(a - p.nxt)
			p.nxt = a
		}
	}
	if p.flags&ackedKnown == 0 || a > p.acked {
		if pc.ackHoles(a) {
			cls |= AckUnseenSegment
		}
		pc.acked(a, seg.Time, ps)
		p.acked = a
		p.flags |= ackedKnown
		if side == 0 && a == 1 && p.flags&synSeen != 0 && st.hs.haveSYNACK && !st.Handshake.HasSYNACKToACK &&
			seg.Flags&tcp.SYN == 0 {
			st.Handshake.SYNACKToACK = time.Duration(seg.Time - st.hs.synAckAt)
			st.Handshake.HasSYNACKToACK = true
		}
	}
	if seg.Options.NumSACK > 0 || pc.nSACK > 0 {
		cls |= c.sack(side, seg, st)
	}
	return cls
}

// sack applies the segment's SACK blocks to the peer's direction: they are
// remembered for spurious-retransmission decisions, and blocks beyond
// anything the capture saw reveal missed data.
func (c *Conn) sack(side int, seg *tcp.Segment, st *Stats) Class {
	p := &c.dir[side^1]
	ps := &st.Dir[side^1]
	pc := &st.colds()[side^1]
	blocks := seg.Options.SACK
	n := min(int(seg.Options.NumSACK), len(blocks))
	// Receivers list the most recent block first; walk them in sequence
	// order so that each one beyond the capture extends the direction once.
	for i := 1; i < n; i++ {
		for j := i; j > 0 && blocks[j].Left.Less(blocks[j-1].Left); j-- {
			blocks[j], blocks[j-1] = blocks[j-1], blocks[j]
		}
	}
	pc.nSACK = 0
	var cls Class
	for _, b := range blocks[:n] {
		lo, hi := p.rel(b.Left), p.rel(b.Right)
		if hi <= lo || p.far(lo) || p.far(hi) {
			continue // malformed
		}
		pc.sack[pc.nSACK] = b
		pc.nSACK++
		if hi <= p.nxt {
			continue
		}
		cls |= AckUnseenSegment
		if lo > p.nxt {
			// The receiver has data beyond a gap: the gap may still be
			// filled (lost before the capture point), the block was missed.
			pc.openHole(p.nxt, lo, seg.Time)
			ps.MissedBytes += uint64(hi - p.nxt)
		} else {
			ps.MissedBytes += uint64(hi - p.nxt)
		}
		p.nxt = hi
	}
	return cls
}

// scale returns the window scale shift that applies to side's windows, and
// whether it is known: both SYNs were seen, or one without the option was
// (then neither side scales, RFC 7323 §2.2).
func (c *Conn) scale(side int) (shift uint8, known bool) {
	d, p := &c.dir[side], &c.dir[side^1]
	dSYN, pSYN := d.flags&synSeen != 0, p.flags&synSeen != 0
	switch {
	case dSYN && pSYN:
		if d.flags&p.flags&wsOffered != 0 {
			return min(d.wscale, 14), true // RFC 7323 §2.3 caps the shift at 14
		}
		return 0, true
	case dSYN && d.flags&wsOffered == 0, pSYN && p.flags&wsOffered == 0:
		return 0, true
	}
	return 0, false
}

// window returns the segment's advertised window, scaled when the scale is
// known, and whether it is. A SYN's window is never scaled.
func (c *Conn) window(side int, seg *tcp.Segment) (uint32, bool) {
	shift, known := c.scale(side)
	if seg.Flags&tcp.SYN != 0 {
		return uint32(seg.Window), known
	}
	return uint32(seg.Window) << shift, known
}

func (st *Stats) reorderWindow() time.Duration {
	if rtt, ok := st.Handshake.RTT(); ok {
		return rtt
	}
	return defaultReorderWindow
}

func (st *Stats) fastRetransmitWindow() time.Duration {
	if rtt, ok := st.Handshake.RTT(); ok && rtt > fastRetransmitWindow {
		return rtt
	}
	return fastRetransmitWindow
}

// fingerprint hashes what a retransmission or a new segment would change
// but a second capture of the same packet would not.
func fingerprint(s *tcp.Segment) uint32 {
	h := uint64(s.Seq)<<32 | uint64(s.Ack)
	h ^= (uint64(s.PayloadLen)<<32 | uint64(s.Window)<<16 | uint64(s.Flags)) * 0x9e3779b97f4a7c15
	h ^= uint64(s.Options.TSVal) * 0xc2b2ae3d27d4eb4f
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	return uint32(h)
}

// Gaps: the sequence space in holes was skipped by a later segment and not
// seen since. The list is ordered by sequence (gaps open at the direction's
// front). When it is full the oldest gap is forgotten: its bytes stay in
// MissedBytes and a later segment there counts as a retransmission.

func (cs *coldDir) openHole(lo, hi, at int64) {
	if cs.nHoles == maxHoles {
		copy(cs.holes[:], cs.holes[1:])
		cs.nHoles--
	}
	cs.holes[cs.nHoles] = hole{lo, hi, at}
	cs.nHoles++
}

// holeOverlap returns how much of [s, e) lies in gaps, and when the first
// of those gaps opened.
func (cs *coldDir) holeOverlap(s, e int64) (n, openedAt int64) {
	first := true
	for _, h := range cs.holes[:cs.nHoles] {
		if ov := min(h.hi, e) - max(h.lo, s); ov > 0 {
			n += ov
			if first {
				openedAt, first = h.at, false
			}
		}
	}
	return n, openedAt
}

// fill removes [s, e) from the gaps. Filling the middle of a gap splits it;
// when that leaves one gap too many, the lowest is forgotten, as in
// openHole.
func (cs *coldDir) fill(s, e int64) {
	var out [maxHoles + 1]hole
	n := 0
	for _, h := range cs.holes[:cs.nHoles] {
		if h.hi <= s || h.lo >= e {
			out[n] = h
			n++
			continue
		}
		if h.lo < s {
			out[n] = hole{h.lo, s, h.at}
			n++
		}
		if h.hi > e {
			out[n] = hole{e, h.hi, h.at}
			n++
		}
	}
	first := max(0, n-maxHoles)
	cs.nHoles = uint8(copy(cs.holes[:], out[first:n]))
}

// ackHoles drops the parts of gaps below a: the receiver acknowledged them,
// so they will not be sent again and the capture missed them. It reports
// whether there were any.
func (cs *coldDir) ackHoles(a int64) bool {
	if cs.nHoles == 0 || cs.holes[0].lo >= a {
		return false
	}
	var out [maxHoles]hole
	n := 0
	for _, h := range cs.holes[:cs.nHoles] {
		if h.hi <= a {
			continue
		}
		h.lo = max(h.lo, a)
		out[n] = h
		n++
	}
	cs.holes, cs.nHoles = out, uint8(n)
	return true
}

// sacked reports whether [seq, seq+n) lies inside one of the peer's
// latest SACK blocks.
func (cs *coldDir) sacked(seq tcp.Seq, n uint32) bool {
	for _, b := range cs.sack[:cs.nSACK] {
		if b.Left.LessEq(seq) && seq.Add(n).LessEq(b.Right) {
			return true
		}
	}
	return false
}

// Round-trip timing: new data segments wait in a FIFO for the ACK of their
// last byte. When it is full, further segments are not timed until ACKs
// free a slot; that only thins the samples.

func (cs *coldDir) time(end, at int64) {
	if cs.nTimed == maxTimed {
		return
	}
	i := (cs.head + cs.nTimed) % maxTimed
	cs.timed[i] = timedSeg{end, at}
	cs.invalid &^= 1 << i
	cs.nTimed++
}

// acked takes a new cumulative ACK a at time now: the segment ending
// exactly at a gives a sample unless it was retransmitted; every segment
// below is done.
func (cs *coldDir) acked(a, now int64, ds *DirStats) {
	for cs.nTimed > 0 && cs.timed[cs.head].end <= a {
		t := cs.timed[cs.head]
		if t.end == a && cs.invalid&(1<<cs.head) == 0 {
			ds.rtt(time.Duration(now - t.at))
		}
		cs.head = (cs.head + 1) % maxTimed
		cs.nTimed--
	}
}

// untime applies Karn's rule after a retransmission from s: the ACK may
// answer either copy, so no segment ending above s gives a sample.
func (cs *coldDir) untime(s int64) {
	for k := uint8(0); k < cs.nTimed; k++ {
		i := (cs.head + k) % maxTimed
		if cs.timed[i].end > s {
			cs.invalid |= 1 << i
		}
	}
}
