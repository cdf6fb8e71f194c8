// Package tcp holds the plain types every other package shares: a decoded
// TCP segment with no packet bytes, its flags and options, and 32-bit
// sequence-number (serial) arithmetic. It imports nothing of the project.
package tcp

import (
	"net/netip"
	"strings"
)

// Seq is a TCP sequence or acknowledgment number. Comparisons use serial
// arithmetic (RFC 1982, RFC 9293 §3.4) so they stay right across the 2^32
// wrap: a is before b when the signed 32-bit distance from b to a is negative.
type Seq uint32

// Add returns s advanced by n.
func (s Seq) Add(n uint32) Seq { return s + Seq(n) }

// Diff returns the signed distance s - t.
func (s Seq) Diff(t Seq) int32 { return int32(s - t) }

// Less reports s < t in sequence space.
func (s Seq) Less(t Seq) bool { return int32(s-t) < 0 }

// LessEq reports s <= t in sequence space.
func (s Seq) LessEq(t Seq) bool { return int32(s-t) <= 0 }

// InWindow reports lo <= s < lo+size.
func (s Seq) InWindow(lo Seq, size uint32) bool { return uint32(s-lo) < size }

// Flags are the TCP header flag bits, FIN in bit 0 up to NS in bit 8.
type Flags uint16

const (
	FIN Flags = 1 << iota
	SYN
	RST
	PSH
	ACK
	URG
	ECE
	CWR
	NS
)

// Has reports whether every bit of x is set.
func (f Flags) Has(x Flags) bool { return f&x == x }

var flagNames = [...]string{"FIN", "SYN", "RST", "PSH", "ACK", "URG", "ECE", "CWR", "NS"}

// String lists the set flags in tcpdump-like order, e.g. "SYN,ACK".
// The order puts the control flags people look for first.
func (f Flags) String() string {
	if f == 0 {
		return "none"
	}
	var b strings.Builder
	for _, bit := range [...]Flags{SYN, FIN, RST, PSH, ACK, URG, ECE, CWR, NS} {
		if f&bit == 0 {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		for i := range flagNames {
			if bit == 1<<i {
				b.WriteString(flagNames[i])
			}
		}
	}
	return b.String()
}

// SACKBlock is one selective-acknowledgment range [Left, Right).
type SACKBlock struct{ Left, Right Seq }

// Options are the TCP options tcptrace uses. Absent options are zero, with a
// Has* flag where zero is a legal value.
type Options struct {
	MSS           uint16 // 0: absent
	WScale        uint8  // valid when HasWScale
	HasWScale     bool
	SACKPermitted bool
	HasTimestamps bool
	NumSACK       uint8 // valid entries in SACK
	SACK          [4]SACKBlock
	TSVal, TSEcr  uint32
}

// Segment is one captured TCP segment reduced to scalars: decoding copies
// everything the analysis needs out of the packet buffer and keeps no bytes.
type Segment struct {
	Time   int64  // capture time, nanoseconds since the Unix epoch
	Packet uint64 // 1-based packet number in the merged input (all packets, not only TCP)

	Src, Dst netip.AddrPort

	Seq, Ack   Seq
	Flags      Flags
	Window     uint16 // as on the wire, before window scaling
	PayloadLen uint32 // TCP payload length from the IP header, even when the capture cut it
	IPLen      uint32 // IP packet length from the header (Zeek's ip_bytes)
	IPID       uint16 // IPv4 identification; 0 for IPv6
	TTL        uint8  // IPv4 TTL or IPv6 hop limit

	// Truncated is set when the capture holds the TCP header but not all of
	// the options or payload (snaplen).
	Truncated bool
	Options   Options
}
