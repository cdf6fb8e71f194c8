package tracker

import (
	"encoding/binary"
	"net/netip"
	"sync"

	"github.com/tcptrace/tcptrace/reassembly"
	"github.com/tcptrace/tcptrace/tcp"
)

// Side names one endpoint of a connection.
type Side uint8

const (
	Client Side = iota // the sender of the SYN without ACK (or the guessed client of a midstream connection)
	Server
	Both // for connection-wide anomalies
)

func (s Side) String() string { return [...]string{"client", "server", "both"}[s] }

func (s Side) peer() Side { return s ^ 1 }

// closeCause records why an endpoint went CLOSED, so that later evidence can
// undo the right assumption.
type closeCause uint8

const (
	notClosed closeCause = iota
	closedByFINAck
	closedByRST
	closedByTimer
	closedByReuse
)

// Endpoint is the observer's model of one side: its state and what the
// observer knows of its sequence space. Only State and the counters are
// meant for renderers.
type Endpoint struct {
	Since   int64  // when State was entered (ns)
	Packets uint64 // segments sent
	Bytes   uint64 // payload bytes sent, retransmissions included
	IPBytes uint64 // IP packet bytes sent, from the IP headers (Zeek's orig_ip_bytes/resp_ip_bytes)

	finTime    int64  // when the FIN was first sent
	finAckedBy uint64 // the packet the observer took as acknowledging the FIN

	pendingSYN     uint64 // packet number of a received SYN not yet answered, 0 when none
	pendingSYNTime int64

	lastCtl      int64 // when it last sent a SYN, SYN-ACK or FIN
	ctlGap       int64 // the interval between its last two copies of one
	firstSYNTime int64
	synAckTime   int64

	SYNs, SYNACKs, FINs uint32 // SYN, SYN-ACK and FIN segments sent (saturating)

	isn     tcp.Seq // initial sequence number, valid when hasISN
	synData uint32  // payload carried on the SYN (TCP Fast Open)
	nxt     tcp.Seq // one past the highest sequence number sent (SYN and FIN count one)
	fin     tcp.Seq // the FIN's own sequence number, valid when finSent
	ack     tcp.Seq // highest acknowledgment sent: what this endpoint has received
	window  uint16  // last advertised window, unscaled
	wscale  uint8   // window scale offered in its SYN

	State   State
	Initial State // the state before its first transition

	hasISN, hasNxt, finSent, hasAck, hasWScale bool
	closedBy                                   closeCause

	// After a correction proved that a segment the observer saw never
	// reached this endpoint, later copies of it are not assumed delivered at
	// once: their receipt is deferred (allocated when needed: it is rare)
	// until the endpoint's own behaviour or the retransmission clock
	// confirms it.
	doubtSYNACK bool
	doubtACK    bool
	deferred    *deferredReceipt

	Addr netip.AddrPort // last, with deferred the only pointers (see Conn)
	// (Fields are ordered by size, so that a Conn, which holds two, stays
	// in a smaller size class: TIME_WAIT keeps a hundred thousand.)
}

// deferredReceipt is a transition held back until confirmed.
type deferredReceipt struct {
	ok    bool
	from  State
	cl    cell
	cls   class
	at    int64
	pkt   uint64
	flags tcp.Flags
}

// rel returns a sequence number relative to the endpoint's ISN (the raw
// number when the ISN was not seen).
func (e *Endpoint) rel(s tcp.Seq) uint32 {
	if e.hasISN {
		return uint32(s - e.isn)
	}
	return uint32(s)
}

// EndReason says how a connection's record ended.
type EndReason uint8

const (
	StillOpen         EndReason = iota
	EndedClosed                 // both endpoints CLOSED
	EndedIdle                   // no packets for the idle timeout
	EndedEvicted                // pushed out of a full flow table
	EndedAtCaptureEnd           // still open when the capture ended
)

func (r EndReason) String() string {
	return [...]string{"open", "closed", "idle", "evicted", "capture_end"}[r]
}

// Transition is one committed state change of one endpoint.
type Transition struct {
	Time     int64     // ns
	Packet   uint64    // the packet that caused it; 0 for a timer or the end of the capture
	InFrom   int64     // how long the endpoint had been in From (ns)
	Note     string    // why, where it is not the plain table rule (corrections, timers)
	Side     Side      // whose state changed
	From, To State     // RFC 9293 names
	Flags    tcp.Flags // that packet's flags
	// (Field order packs it into 48 bytes; every connection keeps ~11.)
}

// Conn is one TCP connection: a 4-tuple and an instance, with both endpoints.
type Conn struct {
	// The fields holding pointers come first, so that the garbage
	// collector, which scans an object only up to its last pointer, reads
	// a third of a Conn instead of most of it (Endpoint keeps its address
	// last and Stats its pointer first for the same reason).
	Transitions []Transition
	Anomalies   []Anomaly
	ref         *connRef
	Ends        [2]Endpoint
	// Seq is the sequence analysis of both directions: segment classes,
	// byte counts, windows, round-trip times, handshake timing.
	Seq reassembly.Stats

	ID          uint64 // 1-based, in order of first packet
	FirstSeen   int64
	LastSeen    int64
	FirstPacket uint64
	LastPacket  uint64 // the last packet that belonged to it
	Midstream   bool

	// Ended says how the connection's record ended; StillOpen while the
	// tracker follows it.
	Ended EndReason
	// halfClosed points into Anomalies once half_closed was reported, so its
	// detail can be brought up to date; -1 when not reported.
	halfClosed int32

	key  flowKey
	seq  reassembly.Conn
	zeek zeekConn
}

// Client and Server return the endpoints' addresses.
func (c *Conn) Client() netip.AddrPort { return c.Ends[Client].Addr }
func (c *Conn) Server() netip.AddrPort { return c.Ends[Server].Addr }

// History is Zeek's conn.log history string for the connection.
func (c *Conn) History() string { return c.zeek.history() }

// ZeekBytes returns the payload bytes each side sent as Zeek's conn.log
// counts them (orig_bytes/resp_bytes): the sequence space covered, so
// retransmissions count once and bytes the capture missed count too.
func (c *Conn) ZeekBytes() (client, server uint64) {
	orig, resp := c.zeek.bytes()
	if c.zeek.origIsClient() {
		return orig, resp
	}
	return resp, orig
}

// ConnState is Zeek's conn.log conn_state code for the connection.
func (c *Conn) ConnState() string { return c.zeek.connState() }

// anomalyOf returns the connection's anomaly of kind k on side s, or nil.
func (c *Conn) anomalyOf(k Kind, s Side) *Anomaly {
	for i := range c.Anomalies {
		if c.Anomalies[i].Kind == k && c.Anomalies[i].Side == s {
			return &c.Anomalies[i]
		}
	}
	return nil
}

// HasAnomaly reports whether the connection has an anomaly at or above sev.
func (c *Conn) HasAnomaly(sev Severity) bool {
	for i := range c.Anomalies {
		if c.Anomalies[i].Severity >= sev {
			return true
		}
	}
	return false
}

func (c *Conn) sideOf(a netip.AddrPort) Side {
	if a == c.Ends[Client].Addr {
		return Client
	}
	return Server
}

// flowKey is the canonical, direction-free 4-tuple: both endpoints'
// addresses as 16 bytes (IPv4 mapped into IPv6, in big-endian halves) and
// their ports, the lower endpoint first. It holds no pointers, so the garbage
// collector never scans the flow table's keys, and no padding, so the map
// hashes and compares it as 40 plain bytes (a struct with padding is hashed
// field by field, which was a tenth of the tracker's time).
type flowKey struct {
	loHi, loLo, hiHi, hiLo uint64 // the lower endpoint's address, then the higher's
	ports                  uint64 // the lower endpoint's port << 16 | the higher's
}

func keyOf(a, b netip.AddrPort) flowKey {
	ah, al := halves(a.Addr())
	bh, bl := halves(b.Addr())
	ap, bp := uint64(a.Port()), uint64(b.Port())
	if bh < ah || bh == ah && (bl < al || bl == al && bp < ap) {
		ah, al, ap, bh, bl, bp = bh, bl, bp, ah, al, ap
	}
	return flowKey{ah, al, bh, bl, ap<<16 | bp}
}

// halves returns a's 16-byte form (IPv4 mapped into IPv6) as two
// big-endian halves; IPv4, the common case, without going through bytes.
func halves(a netip.Addr) (hi, lo uint64) {
	if a.Is4() {
		b := a.As4()
		return 0, 0xffff<<32 | uint64(binary.BigEndian.Uint32(b[:]))
	}
	b := a.As16()
	return binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])
}

// addrOfKey rebuilds the address of k's lower or higher endpoint, an IPv4
// one when v4; exact for addresses that addrsFit.
func addrOfKey(k *flowKey, lo, v4 bool) netip.AddrPort {
	var b [16]byte
	hi, low, port := k.hiHi, k.hiLo, k.ports&0xffff
	if lo {
		hi, low, port = k.loHi, k.loLo, k.ports>>16
	}
	binary.BigEndian.PutUint64(b[:8], hi)
	binary.BigEndian.PutUint64(b[8:], low)
	a := netip.AddrFrom16(b)
	if v4 {
		a = a.Unmap()
	}
	return netip.AddrPortFrom(a, uint16(port))
}

// addrsFit reports whether the flow key of two addresses gives them back
// (addrOfKey): not for an invalid address (the key holds it as ::), an
// IPv4-mapped IPv6 address (the key maps IPv4 the same way) or one with a
// zone, nor for a mix of IPv4 and IPv6.
func addrsFit(a, b netip.Addr) bool {
	return a.IsValid() && b.IsValid() && !a.Is4In6() && !b.Is4In6() && a.Zone() == "" && b.Zone() == "" && a.Is4() == b.Is4()
}

// connPool holds connections given back with Recycle.
var connPool sync.Pool

// Recycle gives c back once its consumer is done with it, so that a new
// connection reuses its memory (and its transitions' and anomalies'
// arrays): a streaming consumer that renders and forgets each connection
// spares the allocator and the garbage collector most of a connection's
// 3 KB. Neither c nor anything read out of its slices may be used after.
func Recycle(c *Conn) {
	tr, an := c.Transitions, c.Anomalies
	clear(tr) // the notes and details are strings: let them go
	clear(an)
	*c = Conn{Transitions: tr[:0], Anomalies: an[:0]}
	connPool.Put(c)
}

// reusedConn returns a zero connection, recycled when one is at hand.
func reusedConn() *Conn {
	if c, ok := connPool.Get().(*Conn); ok {
		return c
	}
	return new(Conn)
}
