package capture

import (
	"encoding/binary"
	"net/netip"

	"github.com/tcptrace/tcptrace/tcp"
)

// Kind says what a packet turned out to be.
type Kind uint8

const (
	KindTCP         Kind = iota // a TCP segment with at least its 20-byte base header captured
	KindNonTCP                  // another protocol (ARP, UDP, ICMP, ESP, …)
	KindFragment                // an IPv4 or IPv6 fragment: counted, not reassembled
	KindTruncated               // the capture was cut before a complete TCP header
	KindUndecodable             // malformed headers, or a link type tcptrace cannot read
	KindFiltered                // rejected by the -f filter expression

	// NumKinds is the number of kinds, for arrays indexed by Kind.
	NumKinds = int(KindFiltered) + 1
)

var kindNames = [NumKinds]string{"tcp", "non_tcp", "fragment", "truncated", "undecodable", "filtered"}

// String gives the stable snake_case name used in reports and JSON.
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "unknown"
}

// EtherTypes the decoder follows.
const (
	etherTypeIPv4    = 0x0800
	etherTypeIPv6    = 0x86dd
	etherTypeVLAN    = 0x8100 // 802.1Q
	etherTypeQinQ    = 0x88a8 // 802.1ad
	etherTypeQinQOld = 0x9100 // pre-standard double tagging
	etherTypePPPoE   = 0x8864 // PPPoE session stage
)

// IP protocol numbers, including the IPv6 extension headers the decoder walks.
const (
	protoHopByHop = 0
	protoTCP      = 6
	protoRouting  = 43
	protoFragment = 44
	protoAH       = 51
	protoDestOpts = 60
)

// maxIPv6ExtHeaders bounds the extension-header walk. Real stacks send a
// handful at most; a packet with more is treated as malformed rather than
// letting a crafted chain of 8-byte headers cost time.
const maxIPv6ExtHeaders = 16

// Decode decodes one packet's bytes for a link type into seg. It sets every
// field except Time and Packet, which come from the capture record and are
// left as they are. It copies scalars and keeps no reference to data.
// wireLen is the packet's length on the wire; when it exceeds len(data) the
// capture was cut (snaplen), which turns a short header into KindTruncated
// rather than KindUndecodable.
func Decode(linkType LinkType, data []byte, wireLen int, seg *tcp.Segment) Kind {
	time, packet := seg.Time, seg.Packet
	*seg = tcp.Segment{Time: time, Packet: packet}
	d := decoder{seg: seg, cut: wireLen > len(data)}
	if wireLen < len(data) {
		// A record claiming fewer bytes on the wire than it holds is
		// damaged; trust the bytes we have.
		wireLen = len(data)
	}
	return d.link(linkType, data, wireLen)
}

// decoder carries what every layer needs: where to write and whether the
// capture was cut short.
type decoder struct {
	seg *tcp.Segment
	cut bool
}

// short is the verdict for a header that does not fit in the captured bytes:
// truncated when the capture was cut, malformed when the packet itself is
// too short.
func (d *decoder) short() Kind {
	if d.cut {
		return KindTruncated
	}
	return KindUndecodable
}

func (d *decoder) link(linkType LinkType, data []byte, wireLen int) Kind {
	switch linkType {
	case LinkEthernet:
		if len(data) < 14 {
			return d.short()
		}
		return d.etherType(binary.BigEndian.Uint16(data[12:]), data, 14, wireLen)
	case LinkLinuxSLL:
		if len(data) < 16 {
			return d.short()
		}
		return d.etherType(binary.BigEndian.Uint16(data[14:]), data, 16, wireLen)
	case LinkLinuxSLL2:
		if len(data) < 20 {
			return d.short()
		}
		return d.etherType(binary.BigEndian.Uint16(data[0:]), data, 20, wireLen)
	case LinkRaw, LinkRawDLT12, LinkRawDLT14:
		if len(data) < 1 {
			return d.short()
		}
		switch data[0] >> 4 {
		case 4:
			return d.ipv4(data, wireLen)
		case 6:
			return d.ipv6(data, wireLen)
		}
		return KindUndecodable
	case LinkIPv4:
		return d.ipv4(data, wireLen)
	case LinkIPv6:
		return d.ipv6(data, wireLen)
	case LinkNull, LinkLoop:
		if len(data) < 4 {
			return d.short()
		}
		// The family is in the writer's byte order for NULL and in network
		// order for LOOP, but files in the wild get both wrong. Families
		// are small numbers, so a value with high bits set is byte-swapped.
		family := binary.LittleEndian.Uint32(data)
		if family&0xffff0000 != 0 {
			family = binary.BigEndian.Uint32(data)
		}
		switch family {
		case 2: // AF_INET everywhere
			return d.ipv4(data[4:], wireLen-4)
		case 24, 28, 30: // AF_INET6 on NetBSD/OpenBSD, FreeBSD, Darwin
			return d.ipv6(data[4:], wireLen-4)
		}
		return KindNonTCP
	}
	return KindUndecodable
}

// etherType follows an EtherType found at data[off-2:off], stepping over VLAN
// tags and a PPPoE session header.
func (d *decoder) etherType(etype uint16, data []byte, off, wireLen int) Kind {
	// Each tag consumes 4 bytes, so the loop is bounded by the packet length.
	for etype == etherTypeVLAN || etype == etherTypeQinQ || etype == etherTypeQinQOld {
		if len(data) < off+4 {
			return d.short()
		}
		etype = binary.BigEndian.Uint16(data[off+2:])
		off += 4
	}
	switch etype {
	case etherTypeIPv4:
		return d.ipv4(data[off:], wireLen-off)
	case etherTypeIPv6:
		return d.ipv6(data[off:], wireLen-off)
	case etherTypePPPoE:
		// 6-byte PPPoE header, then the 2-byte PPP protocol.
		if len(data) < off+8 {
			return d.short()
		}
		switch binary.BigEndian.Uint16(data[off+6:]) {
		case 0x0021:
			return d.ipv4(data[off+8:], wireLen-off-8)
		case 0x0057:
			return d.ipv6(data[off+8:], wireLen-off-8)
		}
	}
	return KindNonTCP
}

// ipv4 decodes an IPv4 header at b[0]; wire is the number of bytes the
// packet had on the wire from that point on.
func (d *decoder) ipv4(b []byte, wire int) Kind {
	if len(b) < 20 {
		return d.short()
	}
	if b[0]>>4 != 4 {
		return KindUndecodable
	}
	ihl := int(b[0]&0x0f) * 4
	if ihl < 20 {
		return KindUndecodable
	}
	total := int(binary.BigEndian.Uint16(b[2:]))
	switch {
	case total == 0:
		// Segmentation offload: the NIC fills in the length, so captures
		// taken on the sending host show 0. tcpdump uses the frame length.
		total = wire
	case total > wire:
		// The header claims more than the wire carried; the packet is
		// damaged, and the wire length is the most that can be true.
		total = wire
	}
	if total < ihl {
		return KindUndecodable
	}
	seg := d.seg
	seg.IPLen = uint32(total)
	seg.IPID = binary.BigEndian.Uint16(b[4:])
	seg.TTL = b[8]
	src := netip.AddrFrom4([4]byte(b[12:16]))
	dst := netip.AddrFrom4([4]byte(b[16:20]))
	seg.Src = netip.AddrPortFrom(src, 0)
	seg.Dst = netip.AddrPortFrom(dst, 0)
	if frag := binary.BigEndian.Uint16(b[6:]); frag&0x3fff != 0 { // MF flag or a fragment offset
		return KindFragment
	}
	if b[9] != protoTCP {
		return KindNonTCP
	}
	if len(b) < ihl {
		return d.short()
	}
	// Bytes past the IP total length are link padding (Ethernet's 60-byte
	// minimum) and must not count as payload.
	end := min(len(b), total)
	return d.tcp(b[ihl:end], total-ihl)
}

// ipv6 decodes an IPv6 header and its extension headers at b[0].
func (d *decoder) ipv6(b []byte, wire int) Kind {
	if len(b) < 40 {
		return d.short()
	}
	if b[0]>>4 != 6 {
		return KindUndecodable
	}
	end := 40 + int(binary.BigEndian.Uint16(b[4:]))
	if end == 40 || end > wire {
		// 0 is a jumbogram or an offloaded send; larger than the wire is
		// damage. Either way the wire length is the best bound.
		end = wire
	}
	seg := d.seg
	seg.IPLen = uint32(end)
	seg.TTL = b[7]
	src := netip.AddrFrom16([16]byte(b[8:24]))
	dst := netip.AddrFrom16([16]byte(b[24:40]))
	seg.Src = netip.AddrPortFrom(src, 0)
	seg.Dst = netip.AddrPortFrom(dst, 0)

	next, off := b[6], 40
	for range maxIPv6ExtHeaders {
		var need, length int
		switch next {
		case protoTCP:
			// off may lie past the captured bytes when the capture cut
			// the extension headers' tail.
			lo := min(off, len(b))
			return d.tcp(b[lo:max(lo, min(len(b), end))], end-off)
		case protoHopByHop, protoRouting, protoDestOpts:
			need = 2
		case protoAH:
			need = 2
		case protoFragment:
			need = 4
		default: // ESP, no next header, UDP, ICMPv6, …
			return KindNonTCP
		}
		if off+need > end {
			return KindUndecodable
		}
		if off+need > len(b) {
			return d.short()
		}
		switch next {
		case protoAH:
			length = (int(b[off+1]) + 2) * 4
		case protoFragment:
			length = 8
			// An atomic fragment (offset 0, no more fragments; RFC 6946)
			// holds a whole packet and is decoded like one.
			if binary.BigEndian.Uint16(b[off+2:])&0xfff9 != 0 {
				return KindFragment
			}
		default:
			length = (int(b[off+1]) + 1) * 8
		}
		next = b[off]
		off += length
		if off > end {
			return KindUndecodable
		}
	}
	return KindUndecodable
}

// tcp decodes a TCP header. b holds the captured bytes of the segment (never
// past the IP length) and segLen is the segment's length per the IP header.
func (d *decoder) tcp(b []byte, segLen int) Kind {
	if segLen < 20 {
		return KindUndecodable
	}
	if len(b) < 20 {
		// The IP header promises a full TCP header that the capture cut.
		return KindTruncated
	}
	hdrLen := int(b[12]>>4) * 4
	if hdrLen < 20 || hdrLen > segLen {
		return KindUndecodable
	}
	seg := d.seg
	seg.Src = netip.AddrPortFrom(seg.Src.Addr(), binary.BigEndian.Uint16(b[0:]))
	seg.Dst = netip.AddrPortFrom(seg.Dst.Addr(), binary.BigEndian.Uint16(b[2:]))
	seg.Seq = tcp.Seq(binary.BigEndian.Uint32(b[4:]))
	seg.Ack = tcp.Seq(binary.BigEndian.Uint32(b[8:]))
	// tcp.Flags uses the wire layout: byte 13 holds FIN..CWR, and NS is the
	// low bit of byte 12.
	seg.Flags = tcp.Flags(b[13]) | tcp.Flags(b[12]&1)<<8
	seg.Window = binary.BigEndian.Uint16(b[14:])
	seg.PayloadLen = uint32(segLen - hdrLen)
	seg.Truncated = len(b) < segLen
	if hdrLen > 20 {
		parseOptions(b[20:min(hdrLen, len(b))], &seg.Options)
	}
	return KindTCP
}

// TCP option kinds (IANA).
const (
	optEnd           = 0
	optNOP           = 1
	optMSS           = 2
	optWindowScale   = 3
	optSACKPermitted = 4
	optSACK          = 5
	optTimestamps    = 8
)

// parseOptions fills o from the option bytes. A malformed length ends the
// walk: what came before it stands, the packet is still a TCP segment. An
// option of a known kind with the wrong fixed length is skipped.
func parseOptions(b []byte, o *tcp.Options) {
	// Most segments of Linux, BSD and Windows stacks carry exactly NOP, NOP,
	// timestamps (RFC 7323 appendix A's layout): read it without the loop.
	if len(b) == 12 && b[0] == optNOP && b[1] == optNOP && b[2] == optTimestamps && b[3] == 10 {
		o.HasTimestamps = true
		o.TSVal = binary.BigEndian.Uint32(b[4:])
		o.TSEcr = binary.BigEndian.Uint32(b[8:])
		return
	}
	for len(b) > 0 {
		kind := b[0]
		if kind == optEnd {
			return
		}
		if kind == optNOP {
			b = b[1:]
			continue
		}
		if len(b) < 2 {
			return
		}
		n := int(b[1])
		if n < 2 || n > len(b) {
			return
		}
		body := b[2:n]
		switch kind {
		case optMSS:
			if n == 4 {
				o.MSS = binary.BigEndian.Uint16(body)
			}
		case optWindowScale:
			if n == 3 {
				o.WScale = body[0]
				o.HasWScale = true
			}
		case optSACKPermitted:
			if n == 2 {
				o.SACKPermitted = true
			}
		case optSACK:
			if len(body)%8 == 0 {
				o.NumSACK = 0
				for i := 0; i+8 <= len(body) && int(o.NumSACK) < len(o.SACK); i += 8 {
					o.SACK[o.NumSACK] = tcp.SACKBlock{
						Left:  tcp.Seq(binary.BigEndian.Uint32(body[i:])),
						Right: tcp.Seq(binary.BigEndian.Uint32(body[i+4:])),
					}
					o.NumSACK++
				}
			}
		case optTimestamps:
			if n == 10 {
				o.HasTimestamps = true
				o.TSVal = binary.BigEndian.Uint32(body)
				o.TSEcr = binary.BigEndian.Uint32(body[4:])
			}
		}
		b = b[n:]
	}
}
