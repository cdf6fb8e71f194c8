package synth

import (
	"fmt"
	"net"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/tcptrace/tcptrace/tcp"
)

var serializeOpts = gopacket.SerializeOptions{ComputeChecksums: true, FixLengths: true}

// build serializes s and appends it (or its fragments) to the capture. It
// reports false after recording an error.
func (k *Conn) build(s *segment) bool {
	c := k.c
	if err := k.serialize(s); err != nil {
		c.fail(fmt.Errorf("synth: packet %d (%v -> %v, %v): %w",
			len(c.packets)+1, k.Addr(s.from), k.Addr(!s.from), s.flags, err))
		return false
	}
	return true
}

func (k *Conn) serialize(s *segment) error {
	src, dst := k.end(s.from), k.end(!s.from)
	v6 := src.addr.Is6()
	if s.fragment < 0 || s.capLen < 0 {
		return fmt.Errorf("negative fragment size %d or captured length %d", s.fragment, s.capLen)
	}

	tcpOpts, err := tcpOptionList(&s.opts)
	if err != nil {
		return err
	}
	t := &layers.TCP{
		SrcPort: layers.TCPPort(src.port), DstPort: layers.TCPPort(dst.port),
		Seq: s.seq, Ack: s.ack, Window: s.window, Urgent: s.urgent,
		FIN: s.flags.Has(tcp.FIN), SYN: s.flags.Has(tcp.SYN), RST: s.flags.Has(tcp.RST),
		PSH: s.flags.Has(tcp.PSH), ACK: s.flags.Has(tcp.ACK), URG: s.flags.Has(tcp.URG),
		ECE: s.flags.Has(tcp.ECE), CWR: s.flags.Has(tcp.CWR), NS: s.flags.Has(tcp.NS),
		Options: tcpOpts,
	}

	var ip4 *layers.IPv4
	var ipLayers []gopacket.SerializableLayer
	if v6 {
		if len(s.ipv4Opts) > 0 || s.fragment > 0 {
			return fmt.Errorf("IPv4 options and fragments need an IPv4 connection")
		}
		ip6 := &layers.IPv6{Version: 6, HopLimit: s.ttl, SrcIP: net.IP(src.addr.AsSlice()), DstIP: net.IP(dst.addr.AsSlice())}
		// Chain the next-header fields: IPv6 -> hop-by-hop -> destination -> TCP.
		next := layers.IPProtocolTCP
		var exts []gopacket.SerializableLayer
		if s.hasDest {
			exts = append([]gopacket.SerializableLayer{&ipv6Options{dest: true, next: next, opts: s.destOpts}}, exts...)
			next = layers.IPProtocolIPv6Destination
		}
		if s.hasHBH {
			exts = append([]gopacket.SerializableLayer{&ipv6Options{dest: false, next: next, opts: s.hopByHop}}, exts...)
			next = layers.IPProtocolIPv6HopByHop
		}
		ip6.NextHeader = next
		ipLayers = append([]gopacket.SerializableLayer{ip6}, exts...)
		if err := t.SetNetworkLayerForChecksum(ip6); err != nil {
			return err
		}
	} else {
		if s.hasHBH || s.hasDest {
			return fmt.Errorf("IPv6 extension headers need an IPv6 connection")
		}
		ip4 = &layers.IPv4{
			Version: 4, TTL: s.ttl, Id: s.ipID, Flags: layers.IPv4DontFragment, Protocol: layers.IPProtocolTCP,
			SrcIP: net.IP(src.addr.AsSlice()), DstIP: net.IP(dst.addr.AsSlice()),
		}
		for _, o := range s.ipv4Opts {
			if o.Type <= 1 {
				ip4.Options = append(ip4.Options, layers.IPv4Option{OptionType: o.Type, OptionLength: 1})
				continue
			}
			if len(o.Data) > 38 {
				return fmt.Errorf("IPv4 option %d: %d data bytes do not fit", o.Type, len(o.Data))
			}
			ip4.Options = append(ip4.Options, layers.IPv4Option{OptionType: o.Type, OptionLength: uint8(2 + len(o.Data)), OptionData: o.Data})
		}
		ipLayers = []gopacket.SerializableLayer{ip4}
		if err := t.SetNetworkLayerForChecksum(ip4); err != nil {
			return err
		}
	}

	link := linkLayers(k.link, v6, src.addr, dst.addr, s.from == Client)
	payload := gopacket.Payload(s.payload)

	if s.fragment > 0 {
		return k.fragments(s, link, ip4, t, payload)
	}

	buf := gopacket.NewSerializeBuffer()
	all := append(append(link, ipLayers...), t, payload)
	if err := gopacket.SerializeLayers(buf, serializeOpts, all...); err != nil {
		return err
	}
	data := k.unpad(buf.Bytes(), s, ipLayers[0])
	if s.badTCPSum {
		corruptTCPChecksum(data, len(data)-len(s.payload)-int(t.DataOffset)*4)
	}
	k.c.add(k.link, data, len(data))
	k.capLast(s)
	return nil
}

// capLast applies the CapLen option to the packet just added.
func (k *Conn) capLast(s *segment) {
	if s.capLen > 0 {
		p := &k.c.packets[len(k.c.packets)-1]
		p.data = p.data[:min(len(p.data), s.capLen)]
	}
}

func corruptTCPChecksum(data []byte, tcpStart int) {
	data[tcpStart+16] ^= 0x5a
}

// fragments serializes the TCP segment once, with its checksum over the
// whole segment, then cuts it into IPv4 fragments that share one IP ID.
func (k *Conn) fragments(s *segment, link []gopacket.SerializableLayer, ip4 *layers.IPv4, t *layers.TCP, payload gopacket.Payload) error {
	if s.fragment%8 != 0 {
		return fmt.Errorf("fragment size %d is not a multiple of 8", s.fragment)
	}
	seg := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(seg, serializeOpts, t, payload); err != nil {
		return err
	}
	whole := seg.Bytes()
	if s.badTCPSum {
		corruptTCPChecksum(whole, 0)
	}
	for off := 0; off < len(whole); off += s.fragment {
		end := min(off+s.fragment, len(whole))
		frag := *ip4
		frag.Options = ip4.Options
		frag.Flags = 0
		if end < len(whole) {
			frag.Flags = layers.IPv4MoreFragments
		}
		frag.FragOffset = uint16(off / 8)
		buf := gopacket.NewSerializeBuffer()
		all := append(append([]gopacket.SerializableLayer{}, link...), &frag, gopacket.Payload(whole[off:end]))
		if err := gopacket.SerializeLayers(buf, serializeOpts, all...); err != nil {
			return err
		}
		data := k.unpad(buf.Bytes(), s, &frag)
		k.c.add(k.link, data, len(data))
		k.capLast(s)
	}
	return nil
}

// unpad cuts the padding gopacket always adds to Ethernet frames under 60
// bytes, unless the EthernetPadding option asked for it.
func (k *Conn) unpad(data []byte, s *segment, ip gopacket.SerializableLayer) []byte {
	if s.ethPad {
		return data
	}
	var header int
	switch k.link {
	case Ethernet:
		header = 14
	case VLAN:
		header = 18
	case QinQ:
		header = 22
	default:
		return data
	}
	switch ip := ip.(type) {
	case *layers.IPv4:
		return data[:header+int(ip.Length)]
	case *layers.IPv6:
		return data[:header+40+int(ip.Length)]
	}
	return data
}

// tcpOptionList lays out TCP options the way Linux does, padded with NOPs to
// 4-byte boundaries: MSS, SACK-permitted, timestamps, window scale on a SYN;
// timestamps then SACK blocks on other segments.
func tcpOptionList(o *tcp.Options) ([]layers.TCPOption, error) {
	if o.NumSACK > 4 {
		return nil, fmt.Errorf("%d SACK blocks: at most 4 fit", o.NumSACK)
	}
	nop := layers.TCPOption{OptionType: layers.TCPOptionKindNop, OptionLength: 1}
	var l []layers.TCPOption
	if o.MSS != 0 {
		l = append(l, layers.TCPOption{OptionType: layers.TCPOptionKindMSS, OptionData: []byte{byte(o.MSS >> 8), byte(o.MSS)}})
	}
	switch {
	case o.SACKPermitted && o.HasTimestamps:
		l = append(l, layers.TCPOption{OptionType: layers.TCPOptionKindSACKPermitted}, timestampOption(o))
	case o.SACKPermitted:
		l = append(l, nop, nop, layers.TCPOption{OptionType: layers.TCPOptionKindSACKPermitted})
	case o.HasTimestamps:
		l = append(l, nop, nop, timestampOption(o))
	}
	if o.HasWScale {
		l = append(l, nop, layers.TCPOption{OptionType: layers.TCPOptionKindWindowScale, OptionData: []byte{o.WScale}})
	}
	if o.NumSACK > 0 {
		data := make([]byte, 0, 8*int(o.NumSACK))
		for _, b := range o.SACK[:o.NumSACK] {
			data = append(data, be32(uint32(b.Left))...)
			data = append(data, be32(uint32(b.Right))...)
		}
		l = append(l, nop, nop, layers.TCPOption{OptionType: layers.TCPOptionKindSACK, OptionData: data})
	}
	return l, nil
}

func timestampOption(o *tcp.Options) layers.TCPOption {
	return layers.TCPOption{OptionType: layers.TCPOptionKindTimestamps, OptionData: append(be32(o.TSVal), be32(o.TSEcr)...)}
}

func be32(v uint32) []byte { return []byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)} }

// ipv6Options serializes a hop-by-hop or destination-options header, padded
// to a multiple of 8 bytes with Pad1/PadN as RFC 8200 §4.2 requires. Written
// here because gopacket pads these headers to the wrong length.
type ipv6Options struct {
	dest bool
	next layers.IPProtocol
	opts []IPOption
}

func (h *ipv6Options) LayerType() gopacket.LayerType {
	if h.dest {
		return layers.LayerTypeIPv6Destination
	}
	return layers.LayerTypeIPv6HopByHop
}

func (h *ipv6Options) SerializeTo(b gopacket.SerializeBuffer, _ gopacket.SerializeOptions) error {
	body := []byte{byte(h.next), 0}
	for _, o := range h.opts {
		if o.Type == 0 { // Pad1
			body = append(body, 0)
			continue
		}
		if len(o.Data) > 255 {
			return fmt.Errorf("IPv6 option %d: %d data bytes do not fit", o.Type, len(o.Data))
		}
		body = append(body, o.Type, byte(len(o.Data)))
		body = append(body, o.Data...)
	}
	switch pad := (8 - len(body)%8) % 8; pad {
	case 0:
	case 1:
		body = append(body, 0)
	default:
		body = append(body, 1, byte(pad-2))
		body = append(body, make([]byte, pad-2)...)
	}
	if len(body) > 2048 {
		return fmt.Errorf("IPv6 extension header of %d bytes is too long", len(body))
	}
	body[1] = byte(len(body)/8 - 1)
	p, err := b.PrependBytes(len(body))
	if err != nil {
		return err
	}
	copy(p, body)
	return nil
}
