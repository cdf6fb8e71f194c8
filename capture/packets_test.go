package capture

import (
	"encoding/binary"
	"net"
	"net/netip"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/tcptrace/tcptrace/tcp"
)

// Builders for test packets. They use gopacket's serialization so the bytes
// come from an independent implementation of the wire formats.

var (
	testSrc4 = netip.MustParseAddr("10.0.0.1")
	testDst4 = netip.MustParseAddr("192.0.2.80")
	testSrc6 = netip.MustParseAddr("2001:db8::1")
	testDst6 = netip.MustParseAddr("2001:db8:ffff::2")
	testMAC1 = net.HardwareAddr{0x02, 0, 0, 0, 0, 1}
	testMAC2 = net.HardwareAddr{0x02, 0, 0, 0, 0, 2}
)

// serialize lays out the layers with lengths and checksums filled in.
func serialize(t testing.TB, ls ...gopacket.SerializableLayer) []byte {
	t.Helper()
	var network gopacket.NetworkLayer
	for _, l := range ls {
		switch l := l.(type) {
		case *layers.IPv4:
			network = l
		case *layers.IPv6:
			network = l
		case *layers.TCP:
			if network != nil {
				if err := l.SetNetworkLayerForChecksum(network); err != nil {
					t.Fatal(err)
				}
			}
		case *layers.UDP:
			if network != nil {
				if err := l.SetNetworkLayerForChecksum(network); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	buf := gopacket.NewSerializeBuffer()
	opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
	if err := gopacket.SerializeLayers(buf, opts, ls...); err != nil {
		t.Fatalf("serialize: %v", err)
	}
	return append([]byte(nil), buf.Bytes()...)
}

func ethernet(etype layers.EthernetType) *layers.Ethernet {
	return &layers.Ethernet{SrcMAC: testMAC1, DstMAC: testMAC2, EthernetType: etype}
}

func ipv4Layer() *layers.IPv4 {
	return &layers.IPv4{
		Version: 4, TTL: 64, Id: 0x1234, Flags: layers.IPv4DontFragment,
		Protocol: layers.IPProtocolTCP, SrcIP: testSrc4.AsSlice(), DstIP: testDst4.AsSlice(),
	}
}

func ipv6Layer(next layers.IPProtocol) *layers.IPv6 {
	return &layers.IPv6{
		Version: 6, HopLimit: 63, NextHeader: next,
		SrcIP: testSrc6.AsSlice(), DstIP: testDst6.AsSlice(),
	}
}

// synOptions are the options of a typical Linux SYN.
func synOptions() []layers.TCPOption {
	return []layers.TCPOption{
		{OptionType: layers.TCPOptionKindMSS, OptionLength: 4, OptionData: []byte{0x05, 0xb4}},
		{OptionType: layers.TCPOptionKindSACKPermitted, OptionLength: 2},
		{OptionType: layers.TCPOptionKindTimestamps, OptionLength: 10, OptionData: []byte{0, 0, 0, 7, 0, 0, 0, 0}},
		{OptionType: layers.TCPOptionKindNop, OptionLength: 1},
		{OptionType: layers.TCPOptionKindWindowScale, OptionLength: 3, OptionData: []byte{7}},
	}
}

func synTCP() *layers.TCP {
	return &layers.TCP{SrcPort: 40000, DstPort: 80, Seq: 1000, SYN: true, Window: 64240, Options: synOptions()}
}

func dataTCP() *layers.TCP {
	return &layers.TCP{
		SrcPort: 40000, DstPort: 80, Seq: 1001, Ack: 5001, ACK: true, PSH: true, Window: 502,
		Options: []layers.TCPOption{
			{OptionType: layers.TCPOptionKindNop, OptionLength: 1},
			{OptionType: layers.TCPOptionKindNop, OptionLength: 1},
			{OptionType: layers.TCPOptionKindTimestamps, OptionLength: 10, OptionData: []byte{0, 0, 1, 0, 0, 0, 2, 0}},
		},
	}
}

// sackTCP carries SACK blocks (n of them).
func sackTCP(n int) *layers.TCP {
	data := make([]byte, 8*n)
	for i := range n {
		binary.BigEndian.PutUint32(data[8*i:], uint32(10000+1000*i))
		binary.BigEndian.PutUint32(data[8*i+4:], uint32(10500+1000*i))
	}
	return &layers.TCP{
		SrcPort: 80, DstPort: 40000, Seq: 5001, Ack: 1001, ACK: true, Window: 1000,
		Options: []layers.TCPOption{
			{OptionType: layers.TCPOptionKindNop, OptionLength: 1},
			{OptionType: layers.TCPOptionKindNop, OptionLength: 1},
			{OptionType: layers.TCPOptionKindSACK, OptionLength: uint8(2 + 8*n), OptionData: data},
		},
	}
}

func payload(n int) gopacket.Payload {
	p := make([]byte, n)
	for i := range p {
		p[i] = byte(i)
	}
	return p
}

// wantSYN4 is the Segment for ipv4Layer + synTCP (IPv4 header of ihl bytes).
func wantSYN4(ihl int) tcp.Segment {
	return tcp.Segment{
		Src: netip.AddrPortFrom(testSrc4, 40000), Dst: netip.AddrPortFrom(testDst4, 80),
		Seq: 1000, Flags: tcp.SYN, Window: 64240, IPLen: uint32(ihl + 40), IPID: 0x1234, TTL: 64,
		Options: tcp.Options{MSS: 1460, SACKPermitted: true, HasTimestamps: true, TSVal: 7, WScale: 7, HasWScale: true},
	}
}

// wantData6 is the Segment for ipv6Layer + dataTCP + payload(n), with ext
// bytes of extension headers.
func wantData6(n, ext int) tcp.Segment {
	return tcp.Segment{
		Src: netip.AddrPortFrom(testSrc6, 40000), Dst: netip.AddrPortFrom(testDst6, 80),
		Seq: 1001, Ack: 5001, Flags: tcp.ACK | tcp.PSH, Window: 502, PayloadLen: uint32(n),
		IPLen: uint32(40 + ext + 32 + n), TTL: 63,
		Options: tcp.Options{HasTimestamps: true, TSVal: 256, TSEcr: 512},
	}
}

// wantData4 is the Segment for ipv4Layer + dataTCP + payload(n).
func wantData4(n int) tcp.Segment {
	return tcp.Segment{
		Src: netip.AddrPortFrom(testSrc4, 40000), Dst: netip.AddrPortFrom(testDst4, 80),
		Seq: 1001, Ack: 5001, Flags: tcp.ACK | tcp.PSH, Window: 502, PayloadLen: uint32(n),
		IPLen: uint32(20 + 32 + n), IPID: 0x1234, TTL: 64,
		Options: tcp.Options{HasTimestamps: true, TSVal: 256, TSEcr: 512},
	}
}

// sllHeader is a Linux cooked-capture header (gopacket cannot serialize one).
func sllHeader(etype uint16) []byte {
	h := make([]byte, 16)
	binary.BigEndian.PutUint16(h[0:], 0) // packet addressed to us
	binary.BigEndian.PutUint16(h[2:], 1) // ARPHRD_ETHER
	binary.BigEndian.PutUint16(h[4:], 6)
	copy(h[6:], testMAC1)
	binary.BigEndian.PutUint16(h[14:], etype)
	return h
}

// sll2Header is a Linux cooked-capture v2 header.
func sll2Header(etype uint16) []byte {
	h := make([]byte, 20)
	binary.BigEndian.PutUint16(h[0:], etype)
	binary.BigEndian.PutUint32(h[4:], 2) // ifindex
	binary.BigEndian.PutUint16(h[8:], 1) // ARPHRD_ETHER
	h[10] = 4                            // outgoing
	h[11] = 6
	copy(h[12:], testMAC1)
	return h
}

func concat(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}
