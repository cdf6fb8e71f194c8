package reassembly

import (
	"math/bits"
	"time"
	"unsafe"

	"github.com/tcptrace/tcptrace/tcp"
)

// Stats is the cold half of one connection's analysis: everything that is
// only written on the common path (counters) or read on rare paths
// (retransmissions, gaps, handshake, round-trip timing). Conn.Segment
// updates it; renderers read Dir and Handshake. The zero value is ready.
// Its one pointer is the in-flight state (gaps, segments waiting to be
// timed, SACK blocks), allocated on first use and dropped by Compact when no
// data can follow; see the package documentation for its size.
type Stats struct {
	// cold is first: an embedding struct that puts its own pointers
	// before Stats keeps the garbage collector's scan short.
	cold *[2]coldDir // per direction of data, like Dir; nil until needed

	Dir       [2]DirStats // indexed by side: 0 client, 1 server
	Handshake Handshake

	hs handshakeState
}

// colds returns the in-flight state, allocating it on first use.
func (st *Stats) colds() *[2]coldDir {
	if st.cold == nil {
		st.cold = new([2]coldDir)
	}
	return st.cold
}

// Compact drops the in-flight state (about 550 bytes) once the connection
// is over for data — both FINs acknowledged — while its statistics are kept
// until it is reported. Should a segment still come, the analysis goes on
// without the forgotten gaps and timings: a late fill of an old gap counts
// as a retransmission, as after a gap-table overflow.
func (st *Stats) Compact() { st.cold = nil }

// InFlight reports whether the in-flight state is held (not compacted).
func (st *Stats) InFlight() bool { return st.cold != nil }

// InFlightWords is the size of the in-flight state in 64-bit words.
const InFlightWords = int(unsafe.Sizeof([2]coldDir{}) / 8)

// InFlightImage returns the in-flight state's memory as words (it holds no
// pointers: TestInFlightImage), nil when there is none: a compact copy of a
// connection keeps it so, and SetInFlightImage puts it back.
func (st *Stats) InFlightImage() *[InFlightWords]uint64 {
	return (*[InFlightWords]uint64)(unsafe.Pointer(st.cold))
}

// SetInFlightImage makes img, from InFlightImage, the in-flight state.
func (st *Stats) SetInFlightImage(img *[InFlightWords]uint64) {
	st.cold = new([2]coldDir)
	*(*[InFlightWords]uint64)(unsafe.Pointer(st.cold)) = *img
}

// DirStats describes one direction: the segments sent by one side.
type DirStats struct {
	Packets      uint64 // segments sent, hardware duplicates included
	PayloadBytes uint64 // TCP payload bytes sent, retransmissions and duplicates included

	// UniqueBytes counts payload bytes the capture saw for the first time:
	// new data beyond everything seen before and data filling a gap.
	// UniqueBytes ≤ PayloadBytes.
	UniqueBytes uint64

	RetransmittedPackets uint64 // segments in class Retransmission (SYN and FIN retransmissions included)
	RetransmittedBytes   uint64 // payload bytes of those segments that had been sent before

	// MissedBytes counts sequence space the sender used that the capture
	// never saw (like Zeek's missed_bytes): gaps before LostSegment
	// segments that were never filled later, and data the peer
	// acknowledged (cumulatively or by SACK) without it being captured.
	MissedBytes uint64

	// TripleDuplicateAcks counts runs of three or more consecutive
	// duplicate ACKs sent by this side (each run once).
	TripleDuplicateAcks uint64

	MaxIdle time.Duration // longest gap between two consecutive segments of this side

	// Round-trip times from this side's data to the peer's ACK that covers
	// exactly its last byte, at the capture point (so it measures the path
	// beyond the capture point and back). Retransmitted data is not timed
	// (Karn's rule).
	RTTMin, RTTMax, RTTSum time.Duration
	RTTSamples             uint64

	FirstPayloadTime int64 // capture time (ns) of this side's first payload byte; 0 when none

	ISN      tcp.Seq // initial sequence number, valid when ISNKnown (a SYN was seen)
	ISNKnown bool
	SYN      SYNOptions // options of the SYN this side sent

	// Advertised receive window of this side over the connection: scaled
	// when WindowScaled (both SYNs were seen, so the scale is known; a SYN
	// without the option means no scaling), as on the wire otherwise
	// (midstream). SYN windows are never scaled (RFC 7323 §2.2).
	WindowSeen           bool // WindowMin and WindowMax are valid
	WindowScaled         bool
	WindowMin, WindowMax uint32

	counts [numClasses]uint32 // saturating; 4 G segments of one class on one connection is plenty
	first  [numClasses]uint64
}

// SYNOptions are the options one side offered in its SYN or SYN-ACK.
type SYNOptions struct {
	Seen          bool   // a SYN was seen from this side
	MSS           uint16 // 0: option absent
	WScale        uint8  // valid when HasWScale
	HasWScale     bool
	SACKPermitted bool
	Timestamps    bool
}

// Count returns how many segments of this direction were in class c (a
// single class; 0 for anything else).
func (s *DirStats) Count(c Class) uint64 {
	if i := c.index(); i >= 0 {
		return uint64(s.counts[i])
	}
	return 0
}

// First returns the packet number of this direction's first segment in
// class c (a single class), or 0 when there was none.
func (s *DirStats) First(c Class) uint64 {
	if i := c.index(); i >= 0 {
		return s.first[i]
	}
	return 0
}

// RTTAvg returns the mean round-trip time, 0 without samples.
func (s *DirStats) RTTAvg() time.Duration {
	if s.RTTSamples == 0 {
		return 0
	}
	return s.RTTSum / time.Duration(s.RTTSamples)
}

func (s *DirStats) add(cls Class, pkt uint64) {
	for rest := cls & (1<<numClasses - 1); rest != 0; rest &= rest - 1 {
		i := bits.TrailingZeros32(uint32(rest))
		if s.counts[i] != ^uint32(0) {
			s.counts[i]++
		}
		if s.first[i] == 0 {
			s.first[i] = pkt
		}
	}
}

func (s *DirStats) window(w uint32) {
	if !s.WindowSeen {
		s.WindowMin, s.WindowMax, s.WindowSeen = w, w, true
		return
	}
	s.WindowMin = min(s.WindowMin, w)
	s.WindowMax = max(s.WindowMax, w)
}

func (s *DirStats) rtt(d time.Duration) {
	if d < 0 { // capture timestamps went backwards
		return
	}
	if s.RTTSamples == 0 || d < s.RTTMin {
		s.RTTMin = d
	}
	s.RTTMax = max(s.RTTMax, d)
	s.RTTSum += d
	s.RTTSamples++
}

// Handshake describes the connection's opening. The two times are kept
// apart because tools disagree on what "initial RTT" means; their sum is
// the round trip through the capture point.
type Handshake struct {
	// SYNToSYNACK is from the client's last SYN before the server's first
	// SYN-ACK to that SYN-ACK: the round trip on the server's side of the
	// capture point. Measuring from the last copy keeps the client's
	// retransmission timeouts out of it.
	SYNToSYNACK time.Duration
	// SYNACKToACK is from the server's last SYN-ACK to the client's first
	// ACK of it (ack = server ISN+1): the round trip on the client's side.
	SYNACKToACK time.Duration

	SYNRetransmissions    uint32 // SYNs without ACK sent again with the same ISN (either side)
	SYNACKRetransmissions uint32 // SYN-ACKs sent again with the same ISN (either side)

	HasSYNToSYNACK, HasSYNACKToACK bool // the two round trips above are valid
}

// RTT returns the full handshake round trip, SYNToSYNACK + SYNACKToACK,
// when both are known.
func (h *Handshake) RTT() (time.Duration, bool) {
	if !h.HasSYNToSYNACK || !h.HasSYNACKToACK {
		return 0, false
	}
	return h.SYNToSYNACK + h.SYNACKToACK, true
}

// handshakeState remembers the times the Handshake durations start from.
type handshakeState struct {
	synAt, synAckAt int64
	haveSYN         bool
	haveSYNACK      bool
}

// Bounds of the cold per-direction state. Work per segment is linear in
// them; see the package documentation for what happens when they overflow.
const (
	maxHoles = 4 // gaps in the sequence space remembered for out-of-order/retransmission decisions
	maxTimed = 8 // segments timed at once for round-trip samples
)

// coldDir is the state of one direction of data that only rare paths read.
type coldDir struct {
	// holes are gaps [lo, hi) in the sender's relative sequence space that
	// the capture has not seen, oldest first; at is when each was opened.
	holes  [maxHoles]hole
	nHoles uint8

	// timed is a FIFO of this direction's new-data segments waiting for an
	// ACK, ordered by end; invalid marks slots retransmitted since (Karn).
	timed   [maxTimed]timedSeg
	head    uint8
	nTimed  uint8
	invalid uint8 // bit i: slot i was retransmitted

	// sack is the peer's most recent SACK option for this direction's data.
	sack  [4]tcp.SACKBlock
	nSACK uint8
}

type hole struct{ lo, hi, at int64 }

type timedSeg struct{ end, at int64 }
