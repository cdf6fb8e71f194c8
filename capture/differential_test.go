package capture

import (
	"encoding/binary"
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/tcptrace/tcptrace/tcp"
)

// randomPacket builds a random TCP packet on a random link and returns its
// bytes with the link type for Decode and the layer type gopacket starts at.
func randomPacket(t testing.TB, rng *rand.Rand) ([]byte, LinkType, gopacket.LayerType) {
	var ls []gopacket.SerializableLayer
	v6 := rng.IntN(2) == 0

	tl := &layers.TCP{
		SrcPort: layers.TCPPort(rng.IntN(65536)), DstPort: layers.TCPPort(rng.IntN(65536)),
		Seq: rng.Uint32(), Ack: rng.Uint32(), Window: uint16(rng.IntN(65536)), Urgent: uint16(rng.IntN(2)),
	}
	flags := rng.IntN(512)
	tl.FIN, tl.SYN, tl.RST, tl.PSH = flags&1 != 0, flags&2 != 0, flags&4 != 0, flags&8 != 0
	tl.ACK, tl.URG, tl.ECE, tl.CWR, tl.NS = flags&16 != 0, flags&32 != 0, flags&64 != 0, flags&128 != 0, flags&256 != 0
	optLen := 0
	addOpt := func(o layers.TCPOption) {
		if optLen+int(o.OptionLength) <= 40 {
			tl.Options = append(tl.Options, o)
			optLen += int(o.OptionLength)
		}
	}
	for range rng.IntN(6) {
		switch rng.IntN(6) {
		case 0:
			addOpt(layers.TCPOption{OptionType: layers.TCPOptionKindMSS, OptionLength: 4, OptionData: binary.BigEndian.AppendUint16(nil, uint16(rng.IntN(65536)))})
		case 1:
			addOpt(layers.TCPOption{OptionType: layers.TCPOptionKindWindowScale, OptionLength: 3, OptionData: []byte{byte(rng.IntN(15))}})
		case 2:
			addOpt(layers.TCPOption{OptionType: layers.TCPOptionKindSACKPermitted, OptionLength: 2})
		case 3:
			n := 1 + rng.IntN(4)
			data := make([]byte, 8*n)
			for i := range data {
				data[i] = byte(rng.Uint32())
			}
			addOpt(layers.TCPOption{OptionType: layers.TCPOptionKindSACK, OptionLength: uint8(2 + 8*n), OptionData: data})
		case 4:
			data := make([]byte, 8)
			binary.BigEndian.PutUint64(data, rng.Uint64())
			addOpt(layers.TCPOption{OptionType: layers.TCPOptionKindTimestamps, OptionLength: 10, OptionData: data})
		case 5:
			addOpt(layers.TCPOption{OptionType: layers.TCPOptionKindNop, OptionLength: 1})
		}
	}

	var ip gopacket.SerializableLayer
	etype := layers.EthernetTypeIPv4
	family := layers.ProtocolFamilyIPv4
	if v6 {
		var src, dst [16]byte
		binary.BigEndian.PutUint64(src[:], rng.Uint64())
		binary.BigEndian.PutUint64(dst[8:], rng.Uint64())
		ip = &layers.IPv6{Version: 6, HopLimit: uint8(rng.IntN(256)), NextHeader: layers.IPProtocolTCP,
			SrcIP: src[:], DstIP: dst[:], FlowLabel: rng.Uint32() & 0xfffff}
		etype, family = layers.EthernetTypeIPv6, layers.ProtocolFamilyIPv6BSD
	} else {
		l := &layers.IPv4{Version: 4, TTL: uint8(rng.IntN(256)), Id: uint16(rng.IntN(65536)), Protocol: layers.IPProtocolTCP,
			SrcIP: binary.BigEndian.AppendUint32(nil, rng.Uint32()), DstIP: binary.BigEndian.AppendUint32(nil, rng.Uint32())}
		if rng.IntN(2) == 0 {
			l.Flags = layers.IPv4DontFragment
		}
		for range rng.IntN(3) {
			l.Options = append(l.Options, layers.IPv4Option{OptionType: 0x94, OptionLength: 4, OptionData: []byte{0, 0}})
		}
		ip = l
	}

	var link LinkType
	var first gopacket.LayerType
	var prefix []byte
	switch rng.IntN(5) {
	case 0:
		link, first = LinkEthernet, layers.LayerTypeEthernet
		ls = append(ls, ethernet(etype))
	case 1:
		link, first = LinkEthernet, layers.LayerTypeEthernet
		ls = append(ls, ethernet(layers.EthernetTypeDot1Q), &layers.Dot1Q{VLANIdentifier: uint16(rng.IntN(4096)), Type: etype})
	case 2:
		link, first = LinkLinuxSLL, layers.LayerTypeLinuxSLL
		prefix = sllHeader(uint16(etype))
	case 3:
		link, first = LinkNull, layers.LayerTypeLoopback
		ls = append(ls, &layers.Loopback{Family: family})
	case 4:
		link = LinkRaw
		first = layers.LayerTypeIPv4
		if v6 {
			first = layers.LayerTypeIPv6
		}
	}
	ls = append(ls, ip, tl, payload(rng.IntN(300)))
	return concat(prefix, serialize(t, ls...)), link, first
}

// gopacketSegment builds the Segment a packet decoded by gopacket describes.
func gopacketSegment(t testing.TB, p gopacket.Packet) tcp.Segment {
	t.Helper()
	var seg tcp.Segment
	var src, dst netip.Addr
	switch ip := p.NetworkLayer().(type) {
	case *layers.IPv4:
		src, _ = netip.AddrFromSlice(ip.SrcIP)
		dst, _ = netip.AddrFromSlice(ip.DstIP)
		seg.IPLen, seg.IPID, seg.TTL = uint32(ip.Length), ip.Id, ip.TTL
	case *layers.IPv6:
		src, _ = netip.AddrFromSlice(ip.SrcIP)
		dst, _ = netip.AddrFromSlice(ip.DstIP)
		seg.IPLen, seg.TTL = 40+uint32(ip.Length), ip.HopLimit
	default:
		t.Fatalf("gopacket found no IP layer: %v", p)
	}
	tl, ok := p.TransportLayer().(*layers.TCP)
	if !ok {
		t.Fatalf("gopacket found no TCP layer: %v", p)
	}
	seg.Src = netip.AddrPortFrom(src, uint16(tl.SrcPort))
	seg.Dst = netip.AddrPortFrom(dst, uint16(tl.DstPort))
	seg.Seq, seg.Ack, seg.Window = tcp.Seq(tl.Seq), tcp.Seq(tl.Ack), tl.Window
	for bit, set := range []bool{tl.FIN, tl.SYN, tl.RST, tl.PSH, tl.ACK, tl.URG, tl.ECE, tl.CWR, tl.NS} {
		if set {
			seg.Flags |= 1 << bit
		}
	}
	seg.PayloadLen = uint32(len(tl.Payload))
	for _, o := range tl.Options {
		switch o.OptionType {
		case layers.TCPOptionKindMSS:
			seg.Options.MSS = binary.BigEndian.Uint16(o.OptionData)
		case layers.TCPOptionKindWindowScale:
			seg.Options.WScale, seg.Options.HasWScale = o.OptionData[0], true
		case layers.TCPOptionKindSACKPermitted:
			seg.Options.SACKPermitted = true
		case layers.TCPOptionKindSACK:
			seg.Options.NumSACK = 0
			for i := 0; i+8 <= len(o.OptionData); i += 8 {
				seg.Options.SACK[seg.Options.NumSACK] = tcp.SACKBlock{
					Left:  tcp.Seq(binary.BigEndian.Uint32(o.OptionData[i:])),
					Right: tcp.Seq(binary.BigEndian.Uint32(o.OptionData[i+4:])),
				}
				seg.Options.NumSACK++
			}
		case layers.TCPOptionKindTimestamps:
			seg.Options.HasTimestamps = true
			seg.Options.TSVal = binary.BigEndian.Uint32(o.OptionData)
			seg.Options.TSEcr = binary.BigEndian.Uint32(o.OptionData[4:])
		}
	}
	return seg
}

// tcpOffset is where gopacket found the TCP header.
func tcpOffset(p gopacket.Packet) int {
	n := 0
	for _, l := range p.Layers() {
		if l.LayerType() == layers.LayerTypeTCP {
			return n
		}
		n += len(l.LayerContents())
	}
	return n
}

// TestDifferentialGopacket decodes random packets with gopacket and with
// Decode and compares every Segment field. Packets cut by a random snap
// length must keep every header field and the payload length, and say so.
func TestDifferentialGopacket(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	// DecodingLayerParser is gopacket's fast path; it is checked against
	// NewPacket on the Ethernet frames.
	var eth layers.Ethernet
	var dot1q layers.Dot1Q
	var ip4 layers.IPv4
	var ip6 layers.IPv6
	var tl layers.TCP
	var pl gopacket.Payload
	parser := gopacket.NewDecodingLayerParser(layers.LayerTypeEthernet, &eth, &dot1q, &ip4, &ip6, &tl, &pl)
	decoded := make([]gopacket.LayerType, 0, 8)
	for i := range 3000 {
		data, link, first := randomPacket(t, rng)
		p := gopacket.NewPacket(data, first, gopacket.Default)
		if err := p.ErrorLayer(); err != nil {
			t.Fatalf("packet %d: gopacket: %v", i, err.Error())
		}
		want := gopacketSegment(t, p)
		var got tcp.Segment
		if kind := Decode(link, data, len(data), &got); kind != KindTCP {
			t.Fatalf("packet %d on %v: kind %v\n% x", i, link, kind, data)
		}
		if got != want {
			t.Fatalf("packet %d on %v:\n got %+v\nwant %+v\n% x", i, link, got, want, data)
		}
		if link == LinkEthernet {
			if err := parser.DecodeLayers(data, &decoded); err != nil {
				t.Fatalf("packet %d: DecodingLayerParser: %v", i, err)
			}
			if tl.Seq != uint32(got.Seq) || len(tl.Payload) != int(got.PayloadLen) || tl.Window != got.Window {
				t.Errorf("packet %d: DecodingLayerParser seq %d payload %d window %d, Decode %+v", i, tl.Seq, len(tl.Payload), tl.Window, got)
			}
		}

		// The same packet cut at a random length.
		cut := rng.IntN(len(data))
		var short tcp.Segment
		kind := Decode(link, data[:cut], len(data), &short)
		switch kind {
		case KindTruncated:
			// Right only when the cut falls before the end of the TCP
			// base header.
			if start := tcpOffset(p); cut >= start+20 {
				t.Fatalf("packet %d cut at %d, TCP header at %d: truncated", i, cut, start)
			}
		case KindTCP:
			if !short.Truncated {
				t.Fatalf("packet %d cut at %d of %d: not marked truncated", i, cut, len(data))
			}
			if short.Src != want.Src || short.Dst != want.Dst || short.Seq != want.Seq || short.Ack != want.Ack ||
				short.Flags != want.Flags || short.Window != want.Window || short.PayloadLen != want.PayloadLen || short.IPLen != want.IPLen {
				t.Fatalf("packet %d cut at %d:\n got %+v\nwant %+v", i, cut, short, want)
			}
		default:
			t.Fatalf("packet %d cut at %d of %d: kind %v", i, cut, len(data), kind)
		}
	}
}
