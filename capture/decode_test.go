package capture

import (
	"encoding/binary"
	"net/netip"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/tcptrace/tcptrace/tcp"
)

type decodeCase struct {
	name    string
	link    LinkType
	data    []byte
	wireLen int // 0: len(data)
	kind    Kind
	want    tcp.Segment // compared whole, for every kind
}

func sackBlock(left, right tcp.Seq) tcp.SACKBlock { return tcp.SACKBlock{Left: left, Right: right} }

// with returns s changed by f, to state expectations as a delta.
func with(s tcp.Segment, f func(*tcp.Segment)) tcp.Segment {
	f(&s)
	return s
}

// addrsOnly is what a non-TCP verdict leaves: the IP addresses, no ports.
func addrsOnly(s tcp.Segment) tcp.Segment {
	return tcp.Segment{
		Src: netip.AddrPortFrom(s.Src.Addr(), 0), Dst: netip.AddrPortFrom(s.Dst.Addr(), 0),
		IPLen: s.IPLen, IPID: s.IPID, TTL: s.TTL,
	}
}

func decodeCases(t *testing.T) []decodeCase {
	ethSYN := serialize(t, ethernet(layers.EthernetTypeIPv4), ipv4Layer(), synTCP())
	ethData := serialize(t, ethernet(layers.EthernetTypeIPv4), ipv4Layer(), dataTCP(), payload(100))
	ip4Data := serialize(t, ipv4Layer(), dataTCP(), payload(100))
	ip6Data := serialize(t, ipv6Layer(layers.IPProtocolTCP), dataTCP(), payload(100))

	ip4Opts := ipv4Layer()
	ip4Opts.Options = []layers.IPv4Option{
		{OptionType: 0x94, OptionLength: 4, OptionData: []byte{0, 0}}, // router alert
		{OptionType: 0x01, OptionLength: 1},                           // NOP
		{OptionType: 0x01, OptionLength: 1},
		{OptionType: 0x01, OptionLength: 1},
		{OptionType: 0x00, OptionLength: 1}, // end of options
	}

	ack := &layers.TCP{SrcPort: 40000, DstPort: 80, Seq: 1001, Ack: 5001, ACK: true, Window: 502}
	ackFrame := serialize(t, ethernet(layers.EthernetTypeIPv4), ipv4Layer(), ack)
	wantACK := tcp.Segment{
		Src: netip.AddrPortFrom(testSrc4, 40000), Dst: netip.AddrPortFrom(testDst4, 80),
		Seq: 1001, Ack: 5001, Flags: tcp.ACK, Window: 502, IPLen: 40, IPID: 0x1234, TTL: 64,
	}

	// IPv6 with hop-by-hop, routing and destination options before TCP.
	hbh := &layers.IPv6HopByHop{Options: []*layers.IPv6HopByHopOption{
		{OptionType: 1, OptionLength: 4, OptionData: []byte{0, 0, 0, 0}}, // PadN
	}}
	hbh.NextHeader = layers.IPProtocolIPv6Routing
	routing := &layers.IPv6Routing{RoutingType: 4, Reserved: []byte{0, 0, 0, 0}, Data: make([]byte, 16)}
	routing.NextHeader = layers.IPProtocolIPv6Destination
	dest := &layers.IPv6Destination{Options: []*layers.IPv6DestinationOption{
		{OptionType: 1, OptionLength: 4, OptionData: []byte{0, 0, 0, 0}},
	}}
	dest.NextHeader = layers.IPProtocolTCP
	ip6Ext := serialize(t, ipv6Layer(layers.IPProtocolIPv6HopByHop), hbh, routing, dest, dataTCP(), payload(10))

	fragment := func(offset uint16, more bool) []byte {
		frag := &layers.IPv6Fragment{NextHeader: layers.IPProtocolTCP, FragmentOffset: offset, MoreFragments: more, Identification: 7}
		return serialize(t, ipv6Layer(layers.IPProtocolIPv6Fragment), frag, dataTCP(), payload(10))
	}
	// An authentication header: next header, length in 4-byte units minus
	// 2, reserved, SPI, sequence, 4 bytes of ICV.
	ah := gopacket.Payload{byte(layers.IPProtocolTCP), 2, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0xa, 0xb, 0xc, 0xd}
	ip6AH := serialize(t, ipv6Layer(layers.IPProtocolAH), ah, dataTCP(), payload(10))
	ip6ESP := serialize(t, ipv6Layer(layers.IPProtocolESP), payload(40))
	ip6NoNext := serialize(t, ipv6Layer(layers.IPProtocolNoNextHeader), payload(8))

	ip4Frag := func(flags layers.IPv4Flag, offset uint16) []byte {
		ip := ipv4Layer()
		ip.Flags, ip.FragOffset = flags, offset
		return serialize(t, ethernet(layers.EthernetTypeIPv4), ip, dataTCP(), payload(100))
	}
	udp := &layers.UDP{SrcPort: 53, DstPort: 5353}
	ipUDP := ipv4Layer()
	ipUDP.Protocol = layers.IPProtocolUDP
	ethUDP := serialize(t, ethernet(layers.EthernetTypeIPv4), ipUDP, udp, payload(20))
	arp := serialize(t, ethernet(layers.EthernetTypeARP), &layers.ARP{
		AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4, HwAddressSize: 6, ProtAddressSize: 4,
		Operation: 1, SourceHwAddress: testMAC1, SourceProtAddress: testSrc4.AsSlice(),
		DstHwAddress: testMAC2, DstProtAddress: testDst4.AsSlice(),
	})

	flagsTCP := &layers.TCP{SrcPort: 1, DstPort: 2, Seq: 0xfffffff0, Ack: 3, ACK: true, ECE: true, CWR: true, NS: true, URG: true, FIN: true, RST: true, Window: 7}
	ethFlags := serialize(t, ethernet(layers.EthernetTypeIPv4), ipv4Layer(), flagsTCP)

	pppoe := serialize(t, ethernet(layers.EthernetTypePPPoESession),
		&layers.PPPoE{Version: 1, Type: 1, Code: layers.PPPoECodeSession, SessionId: 9},
		&layers.PPP{PPPType: layers.PPPTypeIPv4}, ipv4Layer(), dataTCP(), payload(100))

	patched := func(b []byte, at int, v ...byte) []byte {
		b = append([]byte(nil), b...)
		copy(b[at:], v)
		return b
	}
	null := func(order binary.ByteOrder, family uint32, ip []byte) []byte {
		h := make([]byte, 4)
		order.PutUint32(h, family)
		return concat(h, ip)
	}
	// TCP options: MSS, then a timestamp option claiming length 0.
	badOpt := serialize(t, ethernet(layers.EthernetTypeIPv4), ipv4Layer(), &layers.TCP{
		SrcPort: 40000, DstPort: 80, Seq: 1000, SYN: true, Window: 64240,
		Options: []layers.TCPOption{
			{OptionType: layers.TCPOptionKindMSS, OptionLength: 4, OptionData: []byte{0x05, 0xb4}},
			{OptionType: layers.TCPOptionKindNop, OptionLength: 1},
			{OptionType: layers.TCPOptionKindNop, OptionLength: 1},
			{OptionType: layers.TCPOptionKindNop, OptionLength: 1},
			{OptionType: layers.TCPOptionKindNop, OptionLength: 1},
		},
	})
	badOpt = patched(badOpt, 14+20+24, 8, 0)

	wantSYN := wantSYN4(20)
	return []decodeCase{
		{name: "ethernet ipv4 syn with options", link: LinkEthernet, data: ethSYN, kind: KindTCP, want: wantSYN},
		{name: "ipv4 header options", link: LinkEthernet, kind: KindTCP, want: wantSYN4(28),
			data: serialize(t, ethernet(layers.EthernetTypeIPv4), ip4Opts, synTCP())},
		{name: "802.1Q tag", link: LinkEthernet, kind: KindTCP, want: wantData4(100),
			data: serialize(t, ethernet(layers.EthernetTypeDot1Q), &layers.Dot1Q{VLANIdentifier: 10, Type: layers.EthernetTypeIPv4},
				ipv4Layer(), dataTCP(), payload(100))},
		{name: "0x9100, 802.1ad and 802.1Q tags", link: LinkEthernet, kind: KindTCP, want: wantData4(100),
			data: serialize(t, ethernet(0x9100), &layers.Dot1Q{VLANIdentifier: 1, Type: layers.EthernetTypeQinQ},
				&layers.Dot1Q{VLANIdentifier: 2, Type: layers.EthernetTypeDot1Q},
				&layers.Dot1Q{VLANIdentifier: 3, Type: layers.EthernetTypeIPv4}, ipv4Layer(), dataTCP(), payload(100))},
		{name: "ethernet padding is not payload", link: LinkEthernet, data: concat(ackFrame, make([]byte, 60-len(ackFrame))),
			kind: KindTCP, want: wantACK},
		{name: "pppoe session", link: LinkEthernet, data: pppoe, kind: KindTCP, want: wantData4(100)},
		{name: "all flags", link: LinkEthernet, data: ethFlags, kind: KindTCP, want: tcp.Segment{
			Src: netip.AddrPortFrom(testSrc4, 1), Dst: netip.AddrPortFrom(testDst4, 2), Seq: 0xfffffff0, Ack: 3,
			Flags: tcp.FIN | tcp.RST | tcp.ACK | tcp.URG | tcp.ECE | tcp.CWR | tcp.NS, Window: 7, IPLen: 40, IPID: 0x1234, TTL: 64}},
		{name: "sack blocks", link: LinkRaw, data: serialize(t, ipv4Layer(), sackTCP(3)), kind: KindTCP, want: tcp.Segment{
			Src: netip.AddrPortFrom(testSrc4, 80), Dst: netip.AddrPortFrom(testDst4, 40000), Seq: 5001, Ack: 1001,
			Flags: tcp.ACK, Window: 1000, IPLen: 20 + 20 + 28, IPID: 0x1234, TTL: 64,
			Options: tcp.Options{NumSACK: 3, SACK: [4]tcp.SACKBlock{sackBlock(10000, 10500), sackBlock(11000, 11500), sackBlock(12000, 12500)}}}},
		{name: "four sack blocks", link: LinkRaw, data: serialize(t, ipv4Layer(), sackTCP(4)), kind: KindTCP, want: tcp.Segment{
			Src: netip.AddrPortFrom(testSrc4, 80), Dst: netip.AddrPortFrom(testDst4, 40000), Seq: 5001, Ack: 1001,
			Flags: tcp.ACK, Window: 1000, IPLen: 20 + 20 + 36, IPID: 0x1234, TTL: 64,
			Options: tcp.Options{NumSACK: 4, SACK: [4]tcp.SACKBlock{sackBlock(10000, 10500), sackBlock(11000, 11500), sackBlock(12000, 12500), sackBlock(13000, 13500)}}}},
		{name: "malformed option length keeps earlier options", link: LinkEthernet, data: badOpt, kind: KindTCP,
			want: with(wantSYN, func(s *tcp.Segment) {
				s.Options = tcp.Options{MSS: 1460}
				s.IPLen = 20 + 28
			})},

		{name: "linux sll ipv6", link: LinkLinuxSLL, data: concat(sllHeader(0x86dd), ip6Data), kind: KindTCP, want: wantData6(100, 0)},
		{name: "linux sll2 ipv4", link: LinkLinuxSLL2, data: concat(sll2Header(0x0800), ip4Data), kind: KindTCP, want: wantData4(100)},
		{name: "linux sll vlan", link: LinkLinuxSLL, data: concat(sllHeader(0x8100), []byte{0, 5, 0x08, 0x00}, ip4Data), kind: KindTCP, want: wantData4(100)},
		{name: "ipv6 hop-by-hop, routing, destination options", link: LinkIPv6, data: ip6Ext, kind: KindTCP, want: wantData6(10, 8+24+8)},
		{name: "ipv6 authentication header", link: LinkRaw, data: ip6AH, kind: KindTCP, want: wantData6(10, 16)},
		{name: "ipv6 atomic fragment is whole", link: LinkRaw, data: fragment(0, false), kind: KindTCP, want: wantData6(10, 8)},
		{name: "ipv6 first fragment", link: LinkRaw, data: fragment(0, true), kind: KindFragment, want: addrsOnly(wantData6(10, 8))},
		{name: "ipv6 later fragment", link: LinkRaw, data: fragment(185, false), kind: KindFragment, want: addrsOnly(wantData6(10, 8))},
		{name: "ipv6 esp", link: LinkRaw, data: ip6ESP, kind: KindNonTCP, want: addrsOnly(with(wantData6(0, 0), func(s *tcp.Segment) { s.IPLen = 80 }))},
		{name: "ipv6 no next header", link: LinkRaw, data: ip6NoNext, kind: KindNonTCP, want: addrsOnly(with(wantData6(0, 0), func(s *tcp.Segment) { s.IPLen = 48 }))},
		{name: "ipv6 extension header past payload", link: LinkRaw, kind: KindUndecodable, want: addrsOnly(with(wantData6(10, 8+24+8), func(s *tcp.Segment) { s.IPLen = 44 })),
			data: patched(ip6Ext, 4, 0, 4)[:44]},

		{name: "ipv4 more fragments", link: LinkEthernet, data: ip4Frag(layers.IPv4MoreFragments, 0), kind: KindFragment, want: addrsOnly(wantData4(100))},
		{name: "ipv4 fragment offset", link: LinkEthernet, data: ip4Frag(0, 100), kind: KindFragment, want: addrsOnly(wantData4(100))},
		{name: "udp", link: LinkEthernet, data: ethUDP, kind: KindNonTCP, want: tcp.Segment{
			Src: netip.AddrPortFrom(testSrc4, 0), Dst: netip.AddrPortFrom(testDst4, 0), IPLen: 48, IPID: 0x1234, TTL: 64}},
		{name: "arp", link: LinkEthernet, data: arp, kind: KindNonTCP},

		{name: "cut inside the tcp header", link: LinkEthernet, data: ethData[:14+20+10], wireLen: len(ethData),
			kind: KindTruncated, want: addrsOnly(wantData4(100))},
		{name: "cut inside the payload", link: LinkEthernet, data: ethData[:14+20+32+10], wireLen: len(ethData),
			kind: KindTCP, want: with(wantData4(100), func(s *tcp.Segment) { s.Truncated = true })},
		{name: "cut inside the options", link: LinkEthernet, data: ethSYN[:14+20+30], wireLen: len(ethSYN),
			kind: KindTCP, want: with(wantSYN, func(s *tcp.Segment) {
				s.Truncated = true
				s.Options = tcp.Options{MSS: 1460, SACKPermitted: true}
			})},
		{name: "cut inside the ip header", link: LinkEthernet, data: ethData[:14+10], wireLen: len(ethData), kind: KindTruncated},
		{name: "cut inside the vlan tag", link: LinkEthernet, data: concat(ethernet(0).DstMAC, testMAC1, []byte{0x81, 0, 0}), wireLen: 100, kind: KindTruncated},
		{name: "short ip header, not cut", link: LinkEthernet, data: ethData[:14+10], kind: KindUndecodable},
		{name: "short ethernet header", link: LinkEthernet, data: ethData[:10], kind: KindUndecodable},

		{name: "ipv4 ihl below 5", link: LinkRaw, data: patched(ip4Data, 0, 0x44), kind: KindUndecodable},
		{name: "ipv4 version wrong", link: LinkIPv4, data: patched(ip4Data, 0, 0x55), kind: KindUndecodable},
		{name: "ipv4 total length below ihl", link: LinkRaw, data: patched(ip4Data, 2, 0, 19), kind: KindUndecodable},
		{name: "tcp data offset below 5", link: LinkRaw, data: patched(ip4Data, 20+12, 0x40), kind: KindUndecodable, want: addrsOnly(wantData4(100))},
		{name: "tcp data offset past the segment", link: LinkRaw, data: patched(ip4Data, 2, 0, 20+31), kind: KindUndecodable,
			want: addrsOnly(with(wantData4(0), func(s *tcp.Segment) { s.IPLen = 51 }))},
		{name: "ip segment shorter than a tcp header", link: LinkRaw, data: patched(ip4Data, 2, 0, 30), kind: KindUndecodable,
			want: addrsOnly(with(wantData4(0), func(s *tcp.Segment) { s.IPLen = 30 }))},
		{name: "ipv4 total length 0 (segmentation offload)", link: LinkRaw, data: patched(ip4Data, 2, 0, 0), kind: KindTCP, want: wantData4(100)},
		{name: "ipv4 total length beyond the wire is clamped", link: LinkRaw, data: patched(ip4Data, 2, 0xff, 0xff), kind: KindTCP, want: wantData4(100)},
		{name: "ipv6 payload length beyond the wire is clamped", link: LinkRaw, data: patched(ip6Data, 4, 0xff, 0xff), kind: KindTCP, want: wantData6(100, 0)},

		{name: "bsd null little-endian ipv4", link: LinkNull, data: null(binary.LittleEndian, 2, ip4Data), kind: KindTCP, want: wantData4(100)},
		{name: "bsd null big-endian ipv4", link: LinkNull, data: null(binary.BigEndian, 2, ip4Data), kind: KindTCP, want: wantData4(100)},
		{name: "bsd null AF_INET6 24", link: LinkNull, data: null(binary.LittleEndian, 24, ip6Data), kind: KindTCP, want: wantData6(100, 0)},
		{name: "bsd null AF_INET6 28", link: LinkNull, data: null(binary.BigEndian, 28, ip6Data), kind: KindTCP, want: wantData6(100, 0)},
		{name: "bsd null AF_INET6 30", link: LinkNull, data: null(binary.LittleEndian, 30, ip6Data), kind: KindTCP, want: wantData6(100, 0)},
		{name: "bsd loop big-endian ipv6", link: LinkLoop, data: null(binary.BigEndian, 30, ip6Data), kind: KindTCP, want: wantData6(100, 0)},
		{name: "bsd loop little-endian ipv4", link: LinkLoop, data: null(binary.LittleEndian, 2, ip4Data), kind: KindTCP, want: wantData4(100)},
		{name: "bsd null other family", link: LinkNull, data: null(binary.LittleEndian, 7, ip4Data), kind: KindNonTCP},

		{name: "DLT_RAW 12 ipv4", link: LinkRawDLT12, data: ip4Data, kind: KindTCP, want: wantData4(100)},
		{name: "DLT_RAW 14 ipv6", link: LinkRawDLT14, data: ip6Data, kind: KindTCP, want: wantData6(100, 0)},
		{name: "LINKTYPE_IPV4", link: LinkIPv4, data: ip4Data, kind: KindTCP, want: wantData4(100)},
		{name: "LINKTYPE_IPV6", link: LinkIPv6, data: ip6Data, kind: KindTCP, want: wantData6(100, 0)},
		{name: "LINKTYPE_IPV4 holding ipv6", link: LinkIPv4, data: ip6Data, kind: KindUndecodable},
		{name: "raw with ip version 5", link: LinkRaw, data: patched(ip4Data, 0, 0x55), kind: KindUndecodable},
		{name: "unsupported link type", link: 105, data: ethData, kind: KindUndecodable},
		{name: "empty packet", link: LinkEthernet, data: nil, kind: KindUndecodable},
	}
}

func TestDecode(t *testing.T) {
	for _, tc := range decodeCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			wire := tc.wireLen
			if wire == 0 {
				wire = len(tc.data)
			}
			// Start from a dirty segment: Decode must overwrite every field
			// but Time and Packet.
			seg := dirtySegment()
			kind := Decode(tc.link, tc.data, wire, &seg)
			if kind != tc.kind {
				t.Fatalf("kind = %v, want %v", kind, tc.kind)
			}
			want := tc.want
			want.Time, want.Packet = 99, 42
			if seg != want {
				t.Errorf("segment\n got %+v\nwant %+v", seg, want)
			}
		})
	}
}

func dirtySegment() tcp.Segment {
	return tcp.Segment{
		Time: 99, Packet: 42, Src: netip.MustParseAddrPort("[::1]:9"), Dst: netip.MustParseAddrPort("1.2.3.4:5"),
		Seq: 1, Ack: 2, Flags: tcp.FIN, Window: 3, PayloadLen: 4, IPLen: 5, IPID: 6, TTL: 7, Truncated: true,
		Options: tcp.Options{MSS: 1, WScale: 2, HasWScale: true, SACKPermitted: true, HasTimestamps: true,
			NumSACK: 1, SACK: [4]tcp.SACKBlock{sackBlock(1, 2)}, TSVal: 3, TSEcr: 4},
	}
}

func TestKindString(t *testing.T) {
	want := map[Kind]string{KindTCP: "tcp", KindNonTCP: "non_tcp", KindFragment: "fragment",
		KindTruncated: "truncated", KindUndecodable: "undecodable", KindFiltered: "filtered", Kind(200): "unknown"}
	for k, s := range want {
		if got := k.String(); got != s {
			t.Errorf("Kind(%d).String() = %q, want %q", k, got, s)
		}
	}
}

func TestLinkTypeString(t *testing.T) {
	for lt, want := range map[LinkType]string{105: "105 (IEEE802_11)", 1: "1 (ETHERNET)", 276: "276 (LINUX_SLL2)", 60000: "60000"} {
		if got := lt.String(); got != want {
			t.Errorf("LinkType(%d).String() = %q, want %q", uint16(lt), got, want)
		}
	}
}
