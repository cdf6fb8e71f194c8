package tracker

import (
	"encoding/binary"
	"fmt"
	"github.com/tcptrace/tcptrace/reassembly"
	"math"
	"math/bits"
	"net/netip"
	"reflect"
	"slices"
	"time"
	"unsafe"

	"github.com/tcptrace/tcptrace/tcp"
)

// A connection whose endpoints are both done with data — TIME_WAIT or
// CLOSED, after the last ACK of the close — has nothing left to do but wait
// out TIME_WAIT (or the linger after CLOSED) to be reported. On a busy
// capture that is most of the connections held at any moment: 60 s of
// closed connections against a few seconds of open ones. Linux keeps such a
// socket as a small inet_timewait_sock; the tracker freezes the Conn into a
// frozenConn and gives the Conn back to the pool: ~0.5 KB instead of
// ~2.2 KB (on the benchmark mix: a 96-byte frozenConn and a ~390-byte
// image). The image is the Conn's memory written as its differences from
// the first whole connection frozen (flags, options, states take nothing),
// times relative to the last packet, sequence numbers relative to the ISNs,
// repeated words as one byte and small numbers without their zero bytes, in
// a string the garbage collector does not scan. Open connections without a
// packet for a second (half-closed ones waiting for their peer, quiet ones)
// are frozen too, by a sweep of the flow table, with their in-flight
// sequence state.
//
// Anything that needs the connection again (a packet on its 4-tuple, its
// timer, the idle or eviction rules, the end of the capture) thaws it into
// a Conn equal to the one frozen (a connection a timer thawed that still
// waits is frozen again). The records are exactly those without
// freezing (TestEmbryosChangeNothing, FuzzEmbryos). Freezing is on when
// connections are handed to OnDone and nobody watches transitions or
// anomalies as they happen, as for embryos.
type frozenConn struct {
	key      flowKey
	ref      *connRef
	id       uint64 // Finish ends connections in id order without thawing them to look
	lastSeen int64  // for the idle rule; also the base of the image's times
	extra    *frozenExtra
	// image is the number of transitions (uvarint), the client's and the
	// server's ISN (4 bytes each, little-endian), then appendWords of
	// the Conn's words (its pointer fields cleared), of its transitions as
	// frozenTransitions and, when inFlight, of the in-flight state.
	image          string
	clientIsLo, v4 bool     // the addresses, rebuilt from the key (as for embryos)
	plain          bool     // the image is written against zeros, not the freezer's like
	inFlight       bool     // the image ends with the sequence analysis' in-flight state
	states         [2]State // the endpoints' states, for their timers
}

// frozenExtra is what a few frozen connections keep besides the image.
type frozenExtra struct {
	addrs     *[2]netip.AddrPort // when the key cannot give them back (addrsFit)
	anomalies []Anomaly
	notes     []string // per transition, when one has a note not in the tracker's table
}

// frozenTransition is a Transition in the image: the note is an index into
// Tracker.notes.
type frozenTransition struct {
	time     int64
	packet   uint64
	inFrom   int64
	note     uint16 // 0: none; noteKept: in frozenExtra.notes; else Tracker.notes[note-1]
	flags    tcp.Flags
	side     Side
	from, to State
	spare    uint8 // zero: the image has no padding of unknown content
}

const (
	noteKept = math.MaxUint16
	maxNotes = 1024 // distinct notes shared by frozen connections; the rest are kept each
)

func (f *frozenConn) flowKey() *flowKey { return &f.key }

const (
	connWords       = int(unsafe.Sizeof(Conn{}) / 8)
	transitionWords = int(unsafe.Sizeof(frozenTransition{}) / 8)
)

// connPointerWords are the words of a Conn that hold pointers. freeze clears
// the fields it keeps aside (transitions, anomalies, ref, addresses) and
// freezes only when every one of these words is then zero: the image, a
// string the garbage collector does not scan, must never hold a pointer. A
// pointer field added to Conn later only stops freezing until freeze keeps
// it aside too (TestFreezeHappens).
var connPointerWords = pointerWords(reflect.TypeFor[Conn](), 0, nil)

func pointerWords(t reflect.Type, off uintptr, out []int) []int {
	switch t.Kind() {
	case reflect.Pointer, reflect.UnsafePointer, reflect.Map, reflect.Chan, reflect.Func, reflect.Slice, reflect.String:
		out = append(out, int(off/8))
	case reflect.Interface:
		out = append(out, int(off/8), int(off/8)+1)
	case reflect.Struct:
		for i := range t.NumField() {
			f := t.Field(i)
			out = pointerWords(f.Type, off+f.Offset, out)
		}
	case reflect.Array:
		for i := range t.Len() {
			out = pointerWords(t.Elem(), off+uintptr(i)*t.Elem().Size(), out)
		}
	}
	return out
}

// frozenReady reports whether c can be frozen now: both endpoints done with
// data, nothing deferred.
func frozenReady(c *Conn) bool {
	a, b := &c.Ends[Client], &c.Ends[Server]
	return doneWithData(a.State) && doneWithData(b.State) && idleReady(c)
}

// idleReady reports whether c can be frozen once idle: open, nothing
// deferred (a deferred receipt is a pointer, and its timer due soon).
func idleReady(c *Conn) bool {
	return c.Ended == StillOpen && c.Ends[Client].deferred == nil && c.Ends[Server].deferred == nil
}

// Idle connections are frozen too: a sweep looks at sweepSlots slots of the
// flow table every sweepEvery packets and freezes the connections there
// without a packet for freezeIdle of capture time — half-closed ones waiting
// for their peer (a CLOSE_WAIT pile-up), quiet keep-alive connections.
const (
	sweepEvery = 1024
	sweepSlots = 32
	freezeIdle = int64(time.Second)
)

// sweep freezes the idle connections in the next sweepSlots slots.
func (t *Tracker) sweep() {
	slots := t.flows.slots
	for range min(sweepSlots, len(slots)) {
		t.sweepAt = (t.sweepAt + 1) & (len(slots) - 1)
		s := &slots[t.sweepAt]
		if c := s.v; c != nil && t.now-c.LastSeen >= freezeIdle && idleReady(c) {
			// (Deleting shifts the slots after it back: one of them may
			// be passed over this time round.)
			t.freeze(c, s.h)
		}
	}
}

// Freezer keeps connections in the frozen form: the tracker's own for
// connections done with data or idle, and one for a consumer that holds
// finished connections back (the JSON stream keeps those that end before an
// older one as frozen connections rather than rendered lines: a quarter of
// the memory). A Freezer is not safe for concurrent use.
type Freezer struct {
	scratch Conn   // the image being written or read
	buf     []byte // the encoding being written
	like    *frozenLike
	notes   []string          // transition notes the frozen connections share
	noteIDs map[string]uint16 // index+1 in notes
}

// Frozen is a connection in the frozen form (Freezer.Freeze).
type Frozen struct{ f *frozenConn }

// Freeze returns c in the frozen form; false when c cannot be frozen (a
// deferred receipt, which is a pointer, or any pointer field Conn may gain).
// c is left as it is and may be recycled.
func (z *Freezer) Freeze(c *Conn) (Frozen, bool) {
	f := z.encode(c)
	if f == nil {
		return Frozen{}, false
	}
	if f.extra != nil {
		f.extra.anomalies = slices.Clone(f.extra.anomalies) // c's may be recycled
	}
	return Frozen{f}, true
}

// Thaw rebuilds into c the connection fr was frozen from (reusing c's
// transition array). fr must come from this Freezer's Freeze; thawed once,
// since c takes over its anomalies.
func (z *Freezer) Thaw(fr Frozen, c *Conn) { z.decode(fr.f, c) }

// freeze replaces c, which is in the flow table under hash h, by its frozen
// form, and recycles c. It leaves c as it is when it cannot be frozen.
func (t *Tracker) freeze(c *Conn, h uint64) {
	f := t.fz.encode(c)
	if f == nil {
		return
	}
	c.Anomalies = nil // the frozen connection has them now
	t.flows.del(&c.key, h)
	t.frozen.set(f, h)
	c.ref.c, c.ref.f = nil, f
	Recycle(c)
}

// thaw turns a frozen connection back into the Conn it was, in the flow
// table.
func (t *Tracker) thaw(f *frozenConn) *Conn {
	h := hashKey(&f.key)
	t.frozen.del(&f.key, h)
	c := reusedConn()
	t.fz.decode(f, c)
	f.ref.c, f.ref.f = c, nil
	t.flows.set(c, h)
	return c
}

// encode returns c's frozen form, which shares c's anomalies; nil when its
// image would hold a pointer.
func (z *Freezer) encode(c *Conn) *frozenConn {
	img := &z.scratch
	*img = *c
	img.Transitions, img.Anomalies, img.ref = nil, nil, nil
	img.Ends[Client].Addr, img.Ends[Server].Addr = netip.AddrPort{}, netip.AddrPort{}
	img.key = flowKey{} // frozenConn has it
	inFlight := c.Seq.InFlightImage()
	img.Seq.Compact() // the in-flight state follows the transitions
	words := (*[connWords]uint64)(unsafe.Pointer(img))
	for _, w := range connPointerWords {
		if words[w] != 0 {
			*img = Conn{}
			return nil
		}
	}
	like := z.like
	if like == nil {
		// The first connection with a whole life (handshake and close) is
		// the like of all: a stray RST frozen first would make a poor one.
		if c.Ends[Client].hasISN && c.Ends[Server].hasISN && len(c.Transitions) >= 8 {
			z.like = newFrozenLike(words, c.Transitions)
			like = z.like
		} else {
			like = &zeroLike
		}
	}
	b := bases{time: c.LastSeen, isn: [2]uint32{uint32(c.Ends[Client].isn), uint32(c.Ends[Server].isn)}}
	buf := binary.AppendUvarint(z.buf[:0], uint64(len(c.Transitions)))
	buf = binary.LittleEndian.AppendUint32(buf, b.isn[0])
	buf = binary.LittleEndian.AppendUint32(buf, b.isn[1])
	buf = appendWords(buf, words[:], like.conn[:], &b)
	*img = Conn{}
	var notes []string
	for i := range c.Transitions {
		tr := &c.Transitions[i]
		ft := frozenTransition{time: tr.Time, packet: tr.Packet, inFrom: tr.InFrom, flags: tr.Flags, side: tr.Side, from: tr.From, to: tr.To}
		if tr.Note != "" {
			if ft.note = z.noteIndex(tr.Note); ft.note == noteKept {
				if notes == nil {
					notes = make([]string, len(c.Transitions))
				}
				notes[i] = tr.Note
			}
		}
		buf = appendWords(buf, (*[transitionWords]uint64)(unsafe.Pointer(&ft))[:], like.transition(i), &b)
	}
	if inFlight != nil {
		buf = appendWords(buf, inFlight[:], zeroLike.conn[:reassembly.InFlightWords], &b)
	}
	z.buf = buf
	cl, sv := c.Ends[Client].Addr, c.Ends[Server].Addr
	f := &frozenConn{key: c.key, ref: c.ref, id: c.ID, lastSeen: c.LastSeen, image: string(buf), v4: cl.Addr().Is4(), plain: like == &zeroLike,
		inFlight: inFlight != nil, states: [2]State{c.Ends[Client].State, c.Ends[Server].State}}
	f.clientIsLo = cl == addrOfKey(&c.key, true, f.v4)
	if fit := addrsFit(cl.Addr(), sv.Addr()); !fit || len(c.Anomalies) > 0 || notes != nil {
		f.extra = &frozenExtra{anomalies: c.Anomalies, notes: notes}
		if !fit {
			f.extra.addrs = &[2]netip.AddrPort{cl, sv}
		}
	}
	return f
}

// decode rebuilds into c the connection f was frozen from, reusing c's
// transition array.
func (z *Freezer) decode(f *frozenConn, c *Conn) {
	like := z.like
	if f.plain {
		like = &zeroLike
	}
	n, data := readUvarint(f.image)
	b := bases{time: f.lastSeen, isn: [2]uint32{uint32(readLE(data, 4)), uint32(readLE(data[4:], 4))}}
	data = data[8:]
	words := (*[connWords]uint64)(unsafe.Pointer(&z.scratch))
	data = readWords(words[:], like.conn[:], data, &b)
	tr := c.Transitions[:0]
	*c = z.scratch // all its pointer words are zero
	z.scratch = Conn{}
	var ft frozenTransition
	for i := range int(n) {
		data = readWords((*[transitionWords]uint64)(unsafe.Pointer(&ft))[:], like.transition(i), data, &b)
		note := ""
		switch {
		case ft.note == noteKept:
			note = f.extra.notes[i]
		case ft.note > 0:
			note = z.notes[ft.note-1]
		}
		tr = append(tr, Transition{Time: ft.time, Packet: ft.packet, InFrom: ft.inFrom, Note: note, Side: ft.side, From: ft.from, To: ft.to, Flags: ft.flags})
	}
	if f.inFlight {
		var img [reassembly.InFlightWords]uint64
		data = readWords(img[:], zeroLike.conn[:reassembly.InFlightWords], data, &b)
		c.Seq.SetInFlightImage(&img)
	}
	if len(data) != 0 {
		panic(fmt.Sprintf("tracker: frozen connection %d: %d bytes left over after thawing", f.id, len(data)))
	}
	clear(tr[len(tr):cap(tr)]) // no stale notes kept alive past what was rebuilt
	c.Transitions = tr
	c.ref, c.key = f.ref, f.key
	if x := f.extra; x != nil {
		c.Anomalies = x.anomalies
		if x.addrs != nil {
			c.Ends[Client].Addr, c.Ends[Server].Addr = x.addrs[Client], x.addrs[Server]
		}
	}
	if f.extra == nil || f.extra.addrs == nil {
		c.Ends[Client].Addr, c.Ends[Server].Addr = addrOfKey(&f.key, f.clientIsLo, f.v4), addrOfKey(&f.key, !f.clientIsLo, f.v4)
	}
}

// frozenLike is the first connection frozen, as its image and its
// transitions: what the images of the others are written as differences
// from (appendWords). It never changes after.
type frozenLike struct {
	conn        [connWords]uint64
	transitions [][transitionWords]uint64
}

// zeroLike is what images are written against before the freezer has its
// like.
var zeroLike = frozenLike{transitions: make([][transitionWords]uint64, 1)}

func newFrozenLike(image *[connWords]uint64, trs []Transition) *frozenLike {
	l := &frozenLike{conn: *image, transitions: make([][transitionWords]uint64, len(trs)+1)}
	for i := range trs {
		tr := &trs[i]
		ft := frozenTransition{time: tr.Time, packet: tr.Packet, inFrom: tr.InFrom, flags: tr.Flags, side: tr.Side, from: tr.From, to: tr.To}
		l.transitions[i] = *(*[transitionWords]uint64)(unsafe.Pointer(&ft))
	}
	return l
}

// transition returns the words transition i is written against: zeros
// past the first connection's transitions.
func (l *frozenLike) transition(i int) []uint64 {
	return l.transitions[min(i, len(l.transitions)-1)][:]
}

// noteIndex returns the index+1 of a transition note in the freezer's
// table, adding it while the table has room; noteKept when it has none.
func (z *Freezer) noteIndex(note string) uint16 {
	if i, ok := z.noteIDs[note]; ok {
		return i
	}
	if len(z.notes) >= maxNotes {
		return noteKept
	}
	if z.noteIDs == nil {
		z.noteIDs = make(map[string]uint16)
	}
	z.notes = append(z.notes, note)
	z.noteIDs[note] = uint16(len(z.notes))
	return uint16(len(z.notes))
}

// bases are what appendWords writes words relative to: times near the
// connection's last packet, sequence numbers near either endpoint's ISN,
// and words written before (the same time or count is often kept twice).
type bases struct {
	time int64
	isn  [2]uint32
	seen [16]uint64 // the last word written of each hash (seenSlot)
}

// seenSlot is where bases.seen keeps w.
func seenSlot(w uint64) byte { return byte(w * 0x9e3779b97f4a7c15 >> 60) }

// appendWords appends ws to dst as it differs from like, a word of which
// most connections share (flags, options, states), dropping the zero bytes
// of small numbers. A run of n words equal to like's (n ≤ 127) is the byte
// 0x80|n. Any other word is written the shortest of these ways:
//   - mode<<4|n and the n low bytes (n ≤ 8), little-endian, of the word
//     itself (mode 0), of its bits that differ from like's (1), or of its
//     zigzagged difference from b.time (2: a time);
//   - 0x50|slot: the word last written with its hash (bases.seen);
//   - 0x40|lo<<2|hi, then lenLo<<4|lenHi, then each 32-bit half's lenX
//     low bytes (≤ 4), of itself (lo or hi 0), of its zigzagged
//     difference from the client's (1) or the server's (2) ISN, or of its
//     bits that differ from like's half (3): sequence numbers.
func appendWords(dst []byte, ws, like []uint64, b *bases) []byte {
	like = like[:len(ws)]
	for i := 0; i < len(ws); {
		w := ws[i]
		if w == like[i] {
			n := 1
			for i+n < len(ws) && ws[i+n] == like[i+n] && n < 127 {
				n++
			}
			dst = append(dst, 0x80|byte(n))
			i += n
			continue
		}
		slot := seenSlot(w)
		if b.seen[slot] == w {
			dst = append(dst, 0x50|slot)
			i++
			continue
		}
		b.seen[slot] = w
		v, mode := w, byte(0)
		if x := w ^ like[i]; x < v {
			v, mode = x, 1
		}
		if d := int64(w) - b.time; uint64(d<<1^d>>63) < v {
			v, mode = uint64(d<<1^d>>63), 2
		}
		n := (bits.Len64(v) + 7) / 8
		if n >= 4 { // (halves cost two bytes more)
			loSel, lo := b.lane(uint32(w), uint32(like[i]))
			hiSel, hi := b.lane(uint32(w>>32), uint32(like[i]>>32))
			if loLen, hiLen := (bits.Len32(lo)+7)/8, (bits.Len32(hi)+7)/8; 1+loLen+hiLen < n {
				dst = append(dst, 0x40|loSel<<2|hiSel, byte(loLen<<4|hiLen))
				dst = appendLE(dst, uint64(lo), loLen)
				dst = appendLE(dst, uint64(hi), hiLen)
				i++
				continue
			}
		}
		dst = append(dst, mode<<4|byte(n))
		dst = appendLE(dst, v, n)
		i++
	}
	return dst
}

// lane returns the shortest way to write a 32-bit half: itself (0), its
// zigzagged difference from the client's (1) or the server's (2) ISN, or
// its bits that differ from like's half (3).
func (b *bases) lane(x, like uint32) (sel byte, v uint32) {
	v = x
	for i, isn := range b.isn {
		if d := int32(x - isn); uint32(d<<1^d>>31) < v {
			sel, v = byte(i+1), uint32(d<<1^d>>31)
		}
	}
	if x^like < v {
		sel, v = 3, x^like
	}
	return sel, v
}

func (b *bases) unlane(sel byte, v, like uint32) uint32 {
	switch sel {
	case 0:
		return v
	case 3:
		return v ^ like
	}
	return b.isn[sel-1] + uint32(int32(v>>1)^-int32(v&1))
}

// appendLE appends the n low bytes of v, little-endian.
func appendLE(dst []byte, v uint64, n int) []byte {
	return binary.LittleEndian.AppendUint64(dst, v)[:len(dst)+n]
}

// readLE reads n bytes, little-endian, from the start of src.
func readLE(src string, n int) uint64 {
	var v uint64
	for j := n - 1; j >= 0; j-- {
		v = v<<8 | uint64(src[j])
	}
	return v
}

// readWords fills ws from src, written by appendWords with the same like
// and bases, and returns the rest of src.
func readWords(ws, like []uint64, src string, b *bases) string {
	like = like[:len(ws)]
	for i := 0; i < len(ws); i++ {
		h := src[0]
		src = src[1:]
		if h&0x80 != 0 {
			n := int(h & 0x7f)
			copy(ws[i:i+n], like[i:i+n])
			i += n - 1
			continue
		}
		var v uint64
		switch h >> 4 {
		case 5:
			ws[i] = b.seen[h&0x0f]
			continue
		case 4:
			sels, lens := h&0x0f, src[0]
			loLen, hiLen := int(lens>>4), int(lens&0x0f)
			lo := b.unlane(sels>>2, uint32(readLE(src[1:], loLen)), uint32(like[i]))
			hi := b.unlane(sels&3, uint32(readLE(src[1+loLen:], hiLen)), uint32(like[i]>>32))
			src = src[1+loLen+hiLen:]
			v = uint64(hi)<<32 | uint64(lo)
		default:
			n := int(h & 0x0f)
			v = readLE(src, n)
			src = src[n:]
			switch h >> 4 {
			case 1:
				v ^= like[i]
			case 2:
				v = uint64(b.time + (int64(v>>1) ^ -int64(v&1)))
			}
		}
		ws[i] = v
		b.seen[seenSlot(v)] = v
	}
	return src
}

// readUvarint reads what binary.AppendUvarint wrote at the start of src and
// returns the rest.
func readUvarint(src string) (uint64, string) {
	var v uint64
	for shift := 0; ; shift += 7 {
		b := src[0]
		src = src[1:]
		v |= uint64(b&0x7f) << shift
		if b < 0x80 {
			return v, src
		}
	}
}
