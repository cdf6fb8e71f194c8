package synth

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
	"github.com/tcptrace/tcptrace/tcp"
)

func TestPcapNGInterfacesAndResolutions(t *testing.T) {
	c := NewCapture(Ethernet).TSResolution(RawIP, 9).TSResolution(SLL, 0x80|20)
	c.Step(1500 * time.Nanosecond) // finer than a microsecond, to see each resolution cut it
	a := c.Conn(cli4, srv4, 1, 2)
	b := c.Conn(cli6, srv6, 3, 4).Link(RawIP)
	s := c.Conn(netip.MustParseAddrPort("10.9.9.9:1"), srv4, 5, 6).Link(SLL)
	a.SYN()
	b.SYN()
	s.SYN()
	a.SYNACK()

	var buf bytes.Buffer
	if err := c.WritePcapNG(&buf); err != nil {
		t.Fatal(err)
	}
	got := readPcapNG(t, bytes.NewReader(buf.Bytes()))
	wantLinks := []layers.LinkType{layers.LinkTypeEthernet, layers.LinkTypeRaw, layers.LinkTypeLinuxSLL, layers.LinkTypeEthernet}
	// Exact times each resolution can hold: microseconds truncate, nanoseconds
	// are exact, 2^-20 s units truncate to 953.67 ns steps.
	wantTimes := []time.Duration{0, 1500, 2861, 4000}
	if len(got) != 4 {
		t.Fatalf("%d packets", len(got))
	}
	for i, d := range got {
		if d.link != wantLinks[i] {
			t.Errorf("packet %d link %v, want %v", i+1, d.link, wantLinks[i])
		}
		off := d.time.Sub(Epoch)
		// gopacket rounds 2^-n fractions to within a few nanoseconds.
		if diff := off - wantTimes[i]; diff < -3 || diff > 3 {
			t.Errorf("packet %d at +%v, want +%v", i+1, off, wantTimes[i])
		}
	}
	// Ethernet has no if_tsresol option (default microseconds); the others do.
	if n := bytes.Count(buf.Bytes(), []byte{9, 0, 1, 0}); n != 2 {
		t.Errorf("%d if_tsresol options, want 2", n)
	}
	if err := c.WritePcap(&bytes.Buffer{}, false); err == nil || !strings.Contains(err.Error(), "packet 2") {
		t.Errorf("pcap of mixed link types: %v, want an error naming packet 2", err)
	}
}

func TestSnaplenAndCapLen(t *testing.T) {
	c := NewCapture(Ethernet).Snaplen(54)
	k := c.Conn(cli4, srv4, 1, 2).Established()
	k.Data(Client, 500).ACK(Server, CapLen(40))
	var buf bytes.Buffer
	if err := c.WritePcap(&buf, false); err != nil {
		t.Fatal(err)
	}
	if got := binary.LittleEndian.Uint32(buf.Bytes()[16:]); got != 54 {
		t.Errorf("file snaplen %d", got)
	}
	got := readPcap(t, bytes.NewReader(buf.Bytes()))
	if got[0].capLen != 54 || got[0].wireLen != 14+20+20+500 {
		t.Errorf("data packet caplen %d len %d", got[0].capLen, got[0].wireLen)
	}
	if got[0].seq != 2 || got[0].flags.String() != "PSH,ACK" {
		t.Errorf("truncated packet lost its TCP header: %+v", got[0])
	}
	if got[1].capLen != 40 || got[1].wireLen != 54 {
		t.Errorf("ACK caplen %d len %d", got[1].capLen, got[1].wireLen)
	}
}

func TestFragments(t *testing.T) {
	c := NewCapture(Ethernet)
	k := c.Conn(cli4, srv4, 1, 2).Established()
	k.Data(Client, 100, Fragment(48), IPID(7)).ACK(Server)
	got := readPcap(t, bytes.NewReader(pcapBytes(t, c)))
	if len(got) != 4 {
		t.Fatalf("%d packets, want 3 fragments and an ACK", len(got))
	}
	var whole []byte
	for i, d := range got[:3] {
		ip := d.pkt.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
		if !d.fragment || ip.Id != 7 || int(ip.FragOffset)*8 != len(whole) {
			t.Errorf("fragment %d: id %d offset %d flags %v", i+1, ip.Id, ip.FragOffset, ip.Flags)
		}
		if more := ip.Flags&layers.IPv4MoreFragments != 0; more != (i < 2) {
			t.Errorf("fragment %d: MF=%v", i+1, more)
		}
		whole = append(whole, ip.Payload...)
	}
	if len(whole) != 120 || !tcpChecksumOK(net.IP{10, 0, 0, 1}, net.IP{10, 0, 0, 2}, whole) {
		t.Errorf("reassembled %d bytes, checksum ok=%v", len(whole), tcpChecksumOK(net.IP{10, 0, 0, 1}, net.IP{10, 0, 0, 2}, whole))
	}
	if got[3].ack != 1+1+100 {
		t.Errorf("fragmented data did not advance tracking: ack %d", got[3].ack)
	}
}

func TestSliceAndGzip(t *testing.T) {
	c := NewCapture(Ethernet)
	k := c.Conn(cli4, srv4, 1, 2).Handshake()
	mark := c.Len()
	k.Close(Server)
	second := c.Slice(mark, c.Len())
	var zbuf bytes.Buffer
	if err := second.WritePcapGzip(&zbuf, false); err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(&zbuf)
	if err != nil {
		t.Fatal(err)
	}
	if zr.Name != "" || !zr.ModTime.IsZero() {
		t.Errorf("gzip header name %q time %v: output would not be reproducible", zr.Name, zr.ModTime)
	}
	got := readPcap(t, zr)
	if len(got) != 4 || got[0].flags.String() != "FIN,ACK" || !got[0].time.Equal(Epoch.Add(3*time.Millisecond)) {
		t.Errorf("second half: %d packets, first %v at %v", len(got), got[0].flags, got[0].time)
	}
	if bad := c.Slice(2, 1); bad.Err() == nil {
		t.Error("reversed slice gave no error")
	}
}

func TestWriteFileFormats(t *testing.T) {
	c := NewCapture(Ethernet)
	c.Conn(cli4, srv4, 1, 2).Handshake()
	dir := t.TempDir()
	for _, tt := range []struct {
		name  string
		magic []byte
	}{
		{"a.pcap", []byte{0xd4, 0xc3, 0xb2, 0xa1}},
		{"a.ns.pcap", []byte{0x4d, 0x3c, 0xb2, 0xa1}},
		{"a.pcapng", []byte{0x0a, 0x0d, 0x0d, 0x0a}},
		{"a.pcap.gz", []byte{0x1f, 0x8b}},
	} {
		path := filepath.Join(dir, tt.name)
		if err := c.WriteFile(path); err != nil {
			t.Fatal(err)
		}
		b := readFile(t, path)
		if !bytes.HasPrefix(b, tt.magic) {
			t.Errorf("%s starts with %x, want %x", tt.name, b[:4], tt.magic)
		}
	}
}

func TestBuildErrors(t *testing.T) {
	tests := []struct {
		name  string
		build func(c *Capture)
		want  string
	}{
		{"mixed IP versions", func(c *Capture) { c.Conn(cli4, srv6, 1, 2) }, "one IP version"},
		{"fragment size", func(c *Capture) { c.Conn(cli4, srv4, 1, 2).SYN(Fragment(10)) }, "multiple of 8"},
		{"negative fragment size", func(c *Capture) { c.Conn(cli4, srv4, 1, 2).SYN(Fragment(-8)) }, "negative"},
		{"fragment on IPv6", func(c *Capture) { c.Conn(cli6, srv6, 1, 2).SYN(Fragment(8)) }, "IPv4 connection"},
		{"IPv6 headers on IPv4", func(c *Capture) { c.Conn(cli4, srv4, 1, 2).SYN(IPv6HopByHop()) }, "IPv6 connection"},
		{"five SACK blocks", func(c *Capture) { c.Conn(cli4, srv4, 1, 2).ACK(Client, SACK(make([]tcp.SACKBlock, 5)...)) }, "SACK"},
		{"payload too long", func(c *Capture) { c.Conn(cli4, srv4, 1, 2).Data(Client, 70000) }, "payload length"},
		{"bad link", func(c *Capture) { c.Conn(cli4, srv4, 1, 2).Link(LinkType(99)) }, "link type"},
		{"bad snaplen", func(c *Capture) { c.Snaplen(0) }, "snaplen"},
		{"bad resolution", func(c *Capture) { c.TSResolution(Ethernet, 12) }, "if_tsresol"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := NewCapture(Ethernet)
			tt.build(c)
			for _, err := range []error{c.Err(), c.WritePcap(&bytes.Buffer{}, false), c.WritePcapNG(&bytes.Buffer{})} {
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Errorf("error %v, want one containing %q", err, tt.want)
				}
			}
		})
	}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestPaddingAndBadChecksum(t *testing.T) {
	c := NewCapture(Ethernet)
	k := c.Conn(cli4, srv4, 1, 2).Established()
	k.ACK(Client).ACK(Client, EthernetPadding()).Data(Client, 3, BadChecksum())
	pr := bytes.NewReader(pcapBytes(t, c))
	var lens []int
	pr.Seek(24, 0)
	for {
		var rec [16]byte
		if _, err := pr.Read(rec[:]); err != nil {
			break
		}
		n := int(binary.LittleEndian.Uint32(rec[8:]))
		data := make([]byte, n)
		pr.Read(data)
		lens = append(lens, n)
		if len(lens) == 3 {
			ip := data[14:]
			if tcpChecksumOK(net.IP(ip[12:16]), net.IP(ip[16:20]), ip[20:]) {
				t.Error("BadChecksum left a valid checksum")
			}
		}
	}
	if len(lens) != 3 || lens[0] != 54 || lens[1] != 60 || lens[2] != 57 {
		t.Errorf("frame lengths %v, want [54 60 57]", lens)
	}
}

// TestNoPanicAfterBuildError sends on connections whose construction
// failed: the builder must keep returning errors, never panic.
func TestNoPanicAfterBuildError(t *testing.T) {
	c := NewCapture(Ethernet)
	c.Conn(cli4, srv6, 1, 2).Handshake().Data(Client, 10).Close(Client)
	c.Conn(netip.AddrPort{}, srv4, 1, 2).SYN()
	c.Conn(cli4, srv4, 1, 2).SYN(Fragment(-8), CapLen(-1))
	if err := c.WritePcap(&bytes.Buffer{}, false); err == nil {
		t.Error("no error")
	}
}
