package synth

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"github.com/tcptrace/tcptrace/tcp"
)

// decoded is what the tests check of one captured packet, decoded by
// gopacket: an independent reader of what synth wrote.
type decoded struct {
	time     time.Time
	capLen   int
	wireLen  int
	link     layers.LinkType
	src, dst netip.AddrPort
	flags    tcp.Flags
	seq, ack uint32
	window   uint16
	payload  []byte
	ipID     uint16
	ttl      uint8
	fragment bool // an IPv4 fragment: no TCP header decoded
	tcpOpts  []layers.TCPOption
	pkt      gopacket.Packet
}

// readPcap decodes every packet of a classic pcap stream and checks the IPv4
// header and TCP checksums of each one that is not truncated.
func readPcap(t testing.TB, r io.Reader) []decoded {
	t.Helper()
	pr, err := pcapgo.NewReader(r)
	if err != nil {
		t.Fatal(err)
	}
	var out []decoded
	for i := 1; ; i++ {
		data, ci, err := pr.ReadPacketData()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("packet %d: %v", i, err)
		}
		d, err := decodeFrame(pr.LinkType(), data, ci)
		if err != nil {
			t.Fatalf("packet %d: %v", i, err)
		}
		out = append(out, d)
	}
}

// readPcapNG is readPcap for pcapng streams; packets keep their interface's
// link type.
func readPcapNG(t testing.TB, r io.Reader) []decoded {
	t.Helper()
	nr, err := pcapgo.NewNgReader(r, pcapgo.NgReaderOptions{WantMixedLinkType: true})
	if err != nil {
		t.Fatal(err)
	}
	var out []decoded
	for i := 1; ; i++ {
		data, ci, err := nr.ReadPacketData()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("packet %d: %v", i, err)
		}
		intf, err := nr.Interface(ci.InterfaceIndex)
		if err != nil {
			t.Fatalf("packet %d: %v", i, err)
		}
		d, err := decodeFrame(intf.LinkType, data, ci)
		if err != nil {
			t.Fatalf("packet %d: %v", i, err)
		}
		out = append(out, d)
	}
}

func decodeFrame(lt layers.LinkType, data []byte, ci gopacket.CaptureInfo) (decoded, error) {
	d := decoded{time: ci.Timestamp, capLen: ci.CaptureLength, wireLen: ci.Length, link: lt}
	p := gopacket.NewPacket(data, lt, gopacket.Default)
	d.pkt = p
	truncated := ci.CaptureLength < ci.Length
	if el := p.ErrorLayer(); el != nil && !truncated {
		return d, fmt.Errorf("decode: %v", el.Error())
	}
	var srcIP, dstIP net.IP
	switch ip := p.NetworkLayer().(type) {
	case *layers.IPv4:
		srcIP, dstIP = ip.SrcIP, ip.DstIP
		d.ipID, d.ttl = ip.Id, ip.TTL
		if !truncated && onesComplementSum(ip.Contents, 0) != 0xffff {
			return d, fmt.Errorf("bad IPv4 header checksum %#04x", ip.Checksum)
		}
		if ip.Flags&layers.IPv4MoreFragments != 0 || ip.FragOffset != 0 {
			d.fragment = true
			return d, nil
		}
	case *layers.IPv6:
		srcIP, dstIP = ip.SrcIP, ip.DstIP
		d.ttl = ip.HopLimit
	default:
		return d, fmt.Errorf("no IP layer in %v", p)
	}
	tl, ok := p.TransportLayer().(*layers.TCP)
	if !ok || len(tl.Contents) < 20 {
		if truncated {
			return d, nil
		}
		return d, fmt.Errorf("no TCP layer in %v", p)
	}
	sa, _ := netip.AddrFromSlice(srcIP)
	da, _ := netip.AddrFromSlice(dstIP)
	d.src = netip.AddrPortFrom(sa.Unmap(), uint16(tl.SrcPort))
	d.dst = netip.AddrPortFrom(da.Unmap(), uint16(tl.DstPort))
	d.seq, d.ack, d.window = tl.Seq, tl.Ack, tl.Window
	d.flags = tcp.Flags(binary.BigEndian.Uint16(tl.Contents[12:14]) & 0x1ff)
	d.payload = tl.Payload
	d.tcpOpts = tl.Options
	if !truncated {
		seg := append(append([]byte{}, tl.Contents...), tl.Payload...)
		if !tcpChecksumOK(srcIP, dstIP, seg) {
			return d, fmt.Errorf("bad TCP checksum %#04x", tl.Checksum)
		}
	}
	return d, nil
}

// onesComplementSum adds b as big-endian 16-bit words to initial and folds
// the carries: a header with a correct checksum sums to 0xffff.
func onesComplementSum(b []byte, initial uint32) uint16 {
	s := initial
	for i := 0; i+1 < len(b); i += 2 {
		s += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		s += uint32(b[len(b)-1]) << 8
	}
	for s > 0xffff {
		s = s>>16 + s&0xffff
	}
	return uint16(s)
}

// tcpChecksumOK checks a TCP segment against the RFC 9293 pseudo-header,
// written independently of both synth and gopacket.
func tcpChecksumOK(src, dst net.IP, seg []byte) bool {
	var pseudo []byte
	if v4 := src.To4(); v4 != nil {
		pseudo = append(append(pseudo, v4...), dst.To4()...)
		pseudo = append(pseudo, 0, 6)
		pseudo = binary.BigEndian.AppendUint16(pseudo, uint16(len(seg)))
	} else {
		pseudo = append(append(pseudo, src.To16()...), dst.To16()...)
		pseudo = binary.BigEndian.AppendUint32(pseudo, uint32(len(seg)))
		pseudo = append(pseudo, 0, 0, 0, 6)
	}
	return onesComplementSum(seg, uint32(onesComplementSum(pseudo, 0))) == 0xffff
}

func pcapBytes(t testing.TB, c *Capture) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := c.WritePcap(&b, true); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}
