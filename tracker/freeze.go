package tracker

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"net/netip"
	"reflect"
	"unsafe"
)

// A connection whose endpoints are both done with data — TIME_WAIT or
// CLOSED, after the last ACK of the close — has nothing left to do but wait
// out TIME_WAIT (or the linger after CLOSED) to be reported. On a busy
// capture that is most of the connections held at any moment: 60 s of
// closed connections against a few seconds of open ones. Linux keeps such a
// socket as a small inet_timewait_sock; the tracker freezes the Conn into a
// frozenConn — its memory image with the zero words run-length encoded, the
// times relative to its last packet — and gives the Conn back to the pool:
// ~0.7 KB instead of ~2.2 KB. Anything that needs the connection again (a
// late packet on its 4-tuple, its timer, the idle or eviction rules, the end
// of the capture) thaws it into a Conn equal to the one frozen; the records
// are exactly those without freezing (TestEmbryosChangeNothing,
// FuzzEmbryos). Freezing is on when connections are handed to OnDone and
// nobody watches transitions or anomalies as they happen, as for embryos.
type frozenConn struct {
	key      flowKey
	ref      *connRef
	id       uint64 // Finish ends connections in id order without thawing them to look
	lastSeen int64  // for the idle rule; also the base of the image's times
	addrs    [2]netip.AddrPort
	extra    *frozenExtra // nil unless it has anomalies or transition notes
	image    []byte       // appendWords of the Conn's words, then of its transitions'
}

// frozenExtra holds the strings a frozen connection keeps as they are.
type frozenExtra struct {
	anomalies []Anomaly
	notes     []string // per transition; nil when none has a note
}

func (f *frozenConn) flowKey() *flowKey { return &f.key }

const (
	connWords       = int(unsafe.Sizeof(Conn{}) / 8)
	transitionWords = int(unsafe.Sizeof(Transition{}) / 8)
)

// The words of a Conn and of a Transition that hold pointers. freeze clears
// the fields it keeps aside (transitions, anomalies, ref, addresses, notes)
// and freezes only when every one of these words is then zero: the image,
// kept in memory the garbage collector does not scan, must never hold a
// pointer. A pointer field added to Conn later only stops freezing until
// freeze keeps it aside too (TestFreezeHappens).
var (
	connPointerWords       = pointerWords(reflect.TypeFor[Conn](), 0, nil)
	transitionPointerWords = pointerWords(reflect.TypeFor[Transition](), 0, nil)
)

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

// frozenReady reports whether c can be frozen: both endpoints done with
// data and nothing deferred.
func frozenReady(c *Conn) bool {
	a, b := &c.Ends[Client], &c.Ends[Server]
	return doneWithData(a.State) && doneWithData(b.State) && a.deferred == nil && b.deferred == nil && c.Ended == StillOpen
}

// freeze replaces c, which is in the flow table under hash h, by its frozen
// form, and recycles c. It leaves c as it is when its image would hold a
// pointer.
func (t *Tracker) freeze(c *Conn, h uint64) {
	img := &t.scratch
	*img = *c
	img.Transitions, img.Anomalies, img.ref = nil, nil, nil
	img.Ends[Client].Addr, img.Ends[Server].Addr = netip.AddrPort{}, netip.AddrPort{}
	words := (*[connWords]uint64)(unsafe.Pointer(img))
	for _, w := range connPointerWords {
		if words[w] != 0 {
			return
		}
	}
	base := c.LastSeen
	buf := binary.AppendUvarint(t.frozenBuf[:0], uint64(len(c.Transitions)))
	buf = appendWords(buf, words[:], base)
	var notes []string
	for i := range c.Transitions {
		tr := c.Transitions[i]
		if tr.Note != "" {
			if notes == nil {
				notes = make([]string, len(c.Transitions))
			}
			notes[i], tr.Note = tr.Note, ""
		}
		tw := (*[transitionWords]uint64)(unsafe.Pointer(&tr))
		for _, w := range transitionPointerWords {
			if tw[w] != 0 {
				return
			}
		}
		buf = appendWords(buf, tw[:], base)
	}
	t.frozenBuf = buf
	f := &frozenConn{key: c.key, ref: c.ref, id: c.ID, lastSeen: c.LastSeen,
		addrs: [2]netip.AddrPort{c.Ends[Client].Addr, c.Ends[Server].Addr}, image: append([]byte(nil), buf...)}
	if len(c.Anomalies) > 0 || notes != nil {
		f.extra = &frozenExtra{anomalies: c.Anomalies, notes: notes}
	}
	*img = Conn{}
	t.flows.del(&c.key, h)
	t.frozen.set(f, h)
	c.ref.c, c.ref.f = nil, f
	c.Anomalies = nil // the frozen connection has them now
	Recycle(c)
}

// thaw turns a frozen connection back into the Conn it was, in the flow
// table.
func (t *Tracker) thaw(f *frozenConn) *Conn {
	h := hashKey(&f.key)
	t.frozen.del(&f.key, h)
	base := f.lastSeen
	n, k := binary.Uvarint(f.image)
	data := f.image[k:]
	words := (*[connWords]uint64)(unsafe.Pointer(&t.scratch))
	data = readWords(words[:], data, base)
	c := reusedConn()
	tr := c.Transitions[:0]
	*c = t.scratch // all its pointer words are zero
	t.scratch = Conn{}
	var tw [transitionWords]uint64
	for i := range int(n) {
		data = readWords(tw[:], data, base)
		tr = append(tr, *(*Transition)(unsafe.Pointer(&tw)))
		if f.extra != nil && f.extra.notes != nil {
			tr[i].Note = f.extra.notes[i]
		}
	}
	if len(data) != 0 {
		panic(fmt.Sprintf("tracker: frozen connection %d: %d bytes left over after thawing", f.id, len(data)))
	}
	c.Transitions = tr
	if f.extra != nil {
		c.Anomalies = f.extra.anomalies
	}
	c.ref = f.ref
	c.Ends[Client].Addr, c.Ends[Server].Addr = f.addrs[Client], f.addrs[Server]
	f.ref.c, f.ref.f = c, nil
	t.flows.set(c, h)
	return c
}

// appendWords appends ws to dst in a form that drops the zero bytes of
// small numbers: a run of n zero words (n ≤ 127) is the byte 0x80|n; any
// other word is a byte n (≤ 8) and its n low bytes, little-endian — the word
// itself or, marked 0x10, its zigzagged difference from base, whichever is
// shorter (a time near base).
func appendWords(dst []byte, ws []uint64, base int64) []byte {
	for i := 0; i < len(ws); {
		w := ws[i]
		if w == 0 {
			n := 1
			for i+n < len(ws) && ws[i+n] == 0 && n < 127 {
				n++
			}
			dst = append(dst, 0x80|byte(n))
			i += n
			continue
		}
		v, tag := w, byte(0)
		if d := int64(w) - base; uint64(d<<1^d>>63) < v {
			v, tag = uint64(d<<1^d>>63), 0x10
		}
		n := (bits.Len64(v) + 7) / 8
		dst = append(dst, tag|byte(n))
		for ; n > 0; n-- {
			dst = append(dst, byte(v))
			v >>= 8
		}
		i++
	}
	return dst
}

// readWords fills ws from src, written by appendWords, and returns the rest
// of src.
func readWords(ws []uint64, src []byte, base int64) []byte {
	for i := 0; i < len(ws); {
		h := src[0]
		src = src[1:]
		if h&0x80 != 0 {
			n := int(h & 0x7f)
			clear(ws[i : i+n])
			i += n
			continue
		}
		n := int(h & 0x0f)
		var v uint64
		for j := n - 1; j >= 0; j-- {
			v = v<<8 | uint64(src[j])
		}
		src = src[n:]
		if h&0x10 != 0 {
			v = uint64(base + (int64(v>>1) ^ -int64(v&1)))
		}
		ws[i] = v
		i++
	}
	return src
}
