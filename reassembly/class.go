package reassembly

import (
	"iter"
	"math/bits"
	"strings"
)

// Class is a set of segment classes: what the sequence analysis concluded
// about one segment. Segment returns it; the counts in DirStats are kept per
// class. A segment can be in several classes at once (a zero-window ACK that
// is also a duplicate of the previous one, a fast retransmission, which is
// also a retransmission).
type Class uint32

// The classes. Each one's String is its stable snake_case name, used
// verbatim in reports. Unless DIFFERENCES.md says otherwise the definitions
// are Wireshark's "TCP Analysis" flags of the same name.
const (
	// Retransmission: the segment carries data, a SYN or a FIN that its
	// sender had already sent (it does not advance the sequence space), or
	// data lost before the capture point and resent too late to be a
	// reordering. Set on every retransmission, including the fast and
	// spurious ones.
	Retransmission Class = 1 << iota
	// FastRetransmission: a retransmission of the sequence number the peer
	// has repeated in at least two duplicate ACKs, sent shortly after the
	// last of them (20 ms, or the handshake round trip when longer).
	FastRetransmission
	// SpuriousRetransmission: a retransmission of data the peer had already
	// acknowledged (cumulatively or by SACK) at the capture point. For a FIN
	// it often means the ACK was lost beyond the capture point.
	SpuriousRetransmission
	// OutOfOrder: the segment fills a gap in the sequence space that was
	// opened by a later segment, within the reordering window (the
	// handshake round trip, 3 ms when unknown).
	OutOfOrder
	// LostSegment: the segment starts beyond the next expected sequence
	// number: the capture never saw what came between (Wireshark's
	// "previous segment not captured"). The gap is added to MissedBytes.
	LostSegment
	// AckUnseenSegment: the segment acknowledges (cumulatively or by SACK)
	// peer data the capture never saw.
	AckUnseenSegment
	// DuplicateAck: no data, no SYN/FIN/RST, the same ACK, window and
	// sequence number as the sender's previous segment, while the peer has
	// data outstanding beyond that ACK (the BSD rule).
	DuplicateAck
	// ZeroWindow: the sender advertises a zero receive window.
	ZeroWindow
	// ZeroWindowProbe: a probe of the peer's zero window: one byte at the
	// next sequence number, or (Linux) no data at SND.UNA−1.
	ZeroWindowProbe
	// ZeroWindowProbeAck: the peer's answer to a zero-window probe that
	// still advertises a zero window.
	ZeroWindowProbeAck
	// WindowFull: the segment's data reaches exactly the right edge of the
	// window the peer last advertised.
	WindowFull
	// WindowUpdate: no data, same sequence and ACK numbers as the sender's
	// previous segment, a different non-zero window.
	WindowUpdate
	// KeepAlive: no data or one byte at one below the next sequence number
	// (or SND.UNA−1), no SYN/FIN/RST, while the peer's window is open.
	KeepAlive
	// KeepAliveAck: the answer to a keep-alive: a repeat of the sender's
	// previous ACK and non-zero window.
	KeepAliveAck
	// HardwareDuplicate: the same packet captured twice (same IPv4 ID,
	// sequence and ACK numbers, length, flags, window and timestamp as the
	// sender's previous segment). Nothing else is concluded from it.
	HardwareDuplicate

	numClasses = iota
)

// NumClasses is the number of classes; ClassAt(i) for i in [0, NumClasses)
// lists them in their fixed order.
const NumClasses = numClasses

var classNames = [numClasses]string{
	"retransmission",
	"fast_retransmission",
	"spurious_retransmission",
	"out_of_order",
	"lost_segment",
	"ack_unseen_segment",
	"duplicate_ack",
	"zero_window",
	"zero_window_probe",
	"zero_window_probe_ack",
	"window_full",
	"window_update",
	"keep_alive",
	"keep_alive_ack",
	"hardware_duplicate",
}

// ClassAt returns the i-th class in the fixed order, or 0 when i is out of
// range.
func ClassAt(i int) Class {
	if i < 0 || i >= numClasses {
		return 0
	}
	return 1 << i
}

// index returns the position of a single-class value, or -1 when c is not
// exactly one known class.
func (c Class) index() int {
	if c == 0 || c&(c-1) != 0 || c >= 1<<numClasses {
		return -1
	}
	return bits.TrailingZeros32(uint32(c))
}

// Has reports whether every class in x is in c.
func (c Class) Has(x Class) bool { return c&x == x }

// All yields the classes in c one at a time, in the fixed order.
func (c Class) All() iter.Seq[Class] {
	return func(yield func(Class) bool) {
		for rest := c & (1<<numClasses - 1); rest != 0; rest &= rest - 1 {
			if !yield(rest & -rest) {
				return
			}
		}
	}
}

// String returns the snake_case names of the classes in c, comma-separated
// in the fixed order ("retransmission,fast_retransmission"), or "none".
func (c Class) String() string {
	if i := c.index(); i >= 0 {
		return classNames[i]
	}
	if c&(1<<numClasses-1) == 0 {
		return "none"
	}
	var b strings.Builder
	for x := range c.All() {
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(classNames[x.index()])
	}
	return b.String()
}

// ParseClass returns the class with the given snake_case name.
func ParseClass(name string) (Class, bool) {
	for i, n := range classNames {
		if n == name {
			return 1 << i, true
		}
	}
	return 0, false
}
