package synth

import (
	"github.com/tcptrace/tcptrace/tcp"
)

// Option changes one packet a Conn sends. Options apply in order, after the
// Conn's defaults, so a later option overrides an earlier one.
type Option func(*segment)

// IPOption is one type-length-value option of an IPv4 header or of an IPv6
// hop-by-hop or destination-options header. Data excludes the type and length
// bytes. IPv4 types 0 (end of list) and 1 (no-op) are single bytes and take no
// data.
type IPOption struct {
	Type uint8
	Data []byte
}

// Router Alert options (RFC 2113 for IPv4, RFC 2711 for IPv6), common real
// options that carry no addresses.
var (
	IPv4RouterAlert = IPOption{Type: 148, Data: []byte{0, 0}}
	IPv6RouterAlert = IPOption{Type: 5, Data: []byte{0, 0}}
)

// segment is everything that describes one packet before serialization.
type segment struct {
	from   Side
	flags  tcp.Flags
	seq    uint32
	ack    uint32
	seqSet bool // explicit sequence number: the packet leaves tracking alone
	ackSet bool

	payload    []byte
	payloadLen int

	opts      tcp.Options
	window    uint16
	windowSet bool
	urgent    uint16

	ipID      uint16
	ipIDSet   bool
	ttl       uint8
	ttlSet    bool
	ipv4Opts  []IPOption
	hopByHop  []IPOption
	destOpts  []IPOption
	hasHBH    bool
	hasDest   bool
	fragment  int // IPv4 fragment payload size in bytes, 0: not fragmented
	capLen    int // captured length cap for this packet, 0: none
	badTCPSum bool
	ethPad    bool
}

// Seq sets the sequence number on the wire. A packet with an explicit
// sequence number does not advance the Conn's tracked sequence space: use it
// for retransmissions, out-of-window segments and injected packets.
func Seq(n uint32) Option { return func(s *segment) { s.seq, s.seqSet = n, true } }

// Ack sets the acknowledgment number on the wire (tracking is unaffected).
// The ACK flag is left as the method or flags chose it.
func Ack(n uint32) Option { return func(s *segment) { s.ack, s.ackSet = n, true } }

// Payload sends these bytes instead of the default pattern; it replaces the
// length the method was given.
func Payload(b []byte) Option {
	return func(s *segment) { s.payload, s.payloadLen = b, len(b) }
}

// MSS sets the maximum-segment-size option.
func MSS(n uint16) Option { return func(s *segment) { s.opts.MSS = n } }

// WScale sets the window-scale option (shift count).
func WScale(shift uint8) Option {
	return func(s *segment) { s.opts.WScale, s.opts.HasWScale = shift, true }
}

// SACKPermitted sets the SACK-permitted option.
func SACKPermitted() Option { return func(s *segment) { s.opts.SACKPermitted = true } }

// SACK sets up to four SACK blocks; more are an error reported by Write*.
func SACK(blocks ...tcp.SACKBlock) Option {
	return func(s *segment) {
		s.opts.NumSACK = uint8(min(len(blocks), 5)) // 5 marks "too many" for build to report
		copy(s.opts.SACK[:], blocks)
	}
}

// Timestamps sets the timestamps option.
func Timestamps(val, ecr uint32) Option {
	return func(s *segment) { s.opts.HasTimestamps, s.opts.TSVal, s.opts.TSEcr = true, val, ecr }
}

// NoTCPOptions removes every TCP option set so far, including the defaults a
// SYN gets; options after it add again.
func NoTCPOptions() Option { return func(s *segment) { s.opts = tcp.Options{} } }

// Window sets the window field as on the wire (before scaling).
func Window(w uint16) Option { return func(s *segment) { s.window, s.windowSet = w, true } }

// Urgent sets the urgent pointer; add tcp.URG with Flags-taking methods.
func Urgent(p uint16) Option { return func(s *segment) { s.urgent = p } }

// IPID sets the IPv4 identification (ignored for IPv6).
func IPID(id uint16) Option { return func(s *segment) { s.ipID, s.ipIDSet = id, true } }

// TTL sets the IPv4 TTL or IPv6 hop limit.
func TTL(t uint8) Option { return func(s *segment) { s.ttl, s.ttlSet = t, true } }

// IPv4Options puts options into the IPv4 header, padded to 4 bytes.
func IPv4Options(opts ...IPOption) Option { return func(s *segment) { s.ipv4Opts = opts } }

// IPv6HopByHop adds a hop-by-hop options header (padded to 8 bytes).
func IPv6HopByHop(opts ...IPOption) Option {
	return func(s *segment) { s.hopByHop, s.hasHBH = opts, true }
}

// IPv6DestinationOptions adds a destination-options header after any
// hop-by-hop header.
func IPv6DestinationOptions(opts ...IPOption) Option {
	return func(s *segment) { s.destOpts, s.hasDest = opts, true }
}

// Fragment splits the IPv4 packet into fragments carrying size bytes of IP
// payload each (the last carries the rest). size must be a positive
// multiple of 8. Each fragment is one captured packet, one clock step apart.
func Fragment(size int) Option { return func(s *segment) { s.fragment = size } }

// CapLen caps the captured length of this packet (the snap length of one
// packet); the original length stays the full length.
func CapLen(n int) Option { return func(s *segment) { s.capLen = n } }

// BadChecksum corrupts the TCP checksum (the IPv4 header checksum stays valid).
func BadChecksum() Option { return func(s *segment) { s.badTCPSum = true } }

// EthernetPadding pads Ethernet frames shorter than 60 bytes with zeros, as
// frames received from a wire arrive; without it a frame ends with its IP
// packet, as outgoing frames captured on the sending host do.
func EthernetPadding() Option { return func(s *segment) { s.ethPad = true } }
