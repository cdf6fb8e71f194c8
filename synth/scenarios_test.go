package synth

import (
	"bytes"
	"compress/gzip"
	"flag"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tcptrace/tcptrace/tcp"
)

var update = flag.Bool("update", false, "rewrite testdata/pcaps/synth from the scenario generator")

// scenarioDir is where the committed captures live, relative to this package.
const scenarioDir = "../testdata/pcaps/synth"

// captureFile is one file a scenario writes; the name picks the format.
type captureFile struct {
	name string
	c    *Capture
}

// Addresses from the documentation ranges (RFC 5737, RFC 3849).
var (
	scClient  = netip.MustParseAddr("192.0.2.10")
	scServer  = netip.MustParseAddr("198.51.100.20")
	scClient6 = netip.MustParseAddr("2001:db8:1::10")
	scServer6 = netip.MustParseAddr("2001:db8:2::20")
)

func cp(port uint16) netip.AddrPort  { return netip.AddrPortFrom(scClient, port) }
func sp(port uint16) netip.AddrPort  { return netip.AddrPortFrom(scServer, port) }
func cp6(port uint16) netip.AddrPort { return netip.AddrPortFrom(scClient6, port) }
func sp6(port uint16) netip.AddrPort { return netip.AddrPortFrom(scServer6, port) }

// normal is the reference connection most scenarios start from: handshake,
// a request, a response, its ACK, and a close by the client. The client ends
// in TIME_WAIT and the server in CLOSED.
func normal(k *Conn) *Conn {
	return k.Handshake().Data(Client, 120).Data(Server, 1400).ACK(Client).Close(Client)
}

// single wraps a one-file scenario.
func single(name string, c *Capture) []captureFile { return []captureFile{{name, c}} }

// scenarios are the committed captures; testdata/pcaps/synth/README.md
// documents each one with the result tcptrace must report.
var scenarios = []struct {
	name  string
	build func() []captureFile
}{
	{"simultaneous-open", func() []captureFile {
		c := NewCapture(Ethernet)
		k := c.Conn(cp(5000), sp(5001), 1000, 2000)
		// Both SYNs cross; each side answers the other's SYN with a SYN-ACK
		// that repeats its own ISN (RFC 9293 §3.5, figure 7).
		k.Send(Client, tcp.SYN, 0).Send(Server, tcp.SYN, 0).
			Send(Client, tcp.SYN|tcp.ACK, 0).Send(Server, tcp.SYN|tcp.ACK, 0).
			Data(Client, 10).ACK(Server)
		return single("simultaneous-open.pcap", c)
	}},
	{"simultaneous-close", func() []captureFile {
		c := NewCapture(Ethernet)
		k := c.Conn(cp(40001), sp(80), 1000, 2000)
		k.Handshake().Data(Client, 100).Data(Server, 200).ACK(Client)
		// The FINs cross: each acknowledges only what the other sent before
		// its FIN. Then each acknowledges the other's FIN.
		k.FIN(Client).FIN(Server, Ack(k.Next(Client)-1)).ACK(Client).ACK(Server)
		return single("simultaneous-close.pcap", c)
	}},
	{"invalid-flags", func() []captureFile {
		c := NewCapture(Ethernet)
		for i, flags := range []tcp.Flags{
			tcp.SYN | tcp.FIN,
			tcp.SYN | tcp.RST,
			tcp.FIN,
			0,
			tcp.FIN | tcp.SYN | tcp.RST | tcp.PSH | tcp.ACK | tcp.URG | tcp.ECE | tcp.CWR | tcp.NS,
		} {
			k := c.Conn(cp(41001+uint16(i)), sp(80), 1000*uint32(i+1), 0)
			k.Send(Client, flags, 0, NoTCPOptions())
		}
		return single("invalid-flags.pcap", c)
	}},
	{"midstream", func() []captureFile {
		c := NewCapture(Ethernet)
		k := c.Conn(cp(40002), sp(443), 100000, 900000).Established()
		k.Data(Client, 300).Data(Server, 1400).Data(Server, 600).ACK(Client).Close(Client)
		return single("midstream.pcap", c)
	}},
	{"handshake-ack-mismatch", func() []captureFile {
		c := NewCapture(Ethernet)
		bad := c.Conn(cp(40003), sp(80), 1000, 2000)
		bad.SYN().SYNACK(Ack(1000 + 5))
		third := c.Conn(cp(40004), sp(80), 3000, 4000)
		third.SYN().SYNACK().ACK(Client, Ack(4000+100))
		return single("handshake-ack-mismatch.pcap", c)
	}},
	{"data-after-fin", func() []captureFile {
		c := NewCapture(Ethernet)
		k := c.Conn(cp(40005), sp(80), 1000, 2000)
		k.Handshake().Data(Client, 100).FIN(Client).ACK(Server).
			Data(Client, 50).ACK(Server).FIN(Server).ACK(Client)
		return single("data-after-fin.pcap", c)
	}},
	{"seq-wrap", func() []captureFile {
		c := NewCapture(Ethernet)
		k := c.Conn(cp(40006), sp(80), 0xFFFFFF00, 0xFFFFFFF0)
		k.Handshake().Data(Client, 0x180).Data(Server, 0x100).ACK(Client).
			Data(Client, 0x80).ACK(Server).Close(Client)
		return single("seq-wrap.pcap", c)
	}},
	{"vlan", func() []captureFile {
		c := NewCapture(QinQ)
		normal(c.Conn(cp(40007), sp(80), 1000, 2000))
		return single("vlan.pcap", c)
	}},
	{"raw-ip", func() []captureFile {
		c := NewCapture(RawIP)
		normal(c.Conn(cp(40008), sp(80), 1000, 2000))
		return single("raw-ip.pcap", c)
	}},
	{"two-linktypes", func() []captureFile {
		// The raw-IP interface keeps nanoseconds; the Ethernet one keeps the
		// default microseconds, so its timestamps lose the odd 333 ns.
		c := NewCapture(Ethernet).TSResolution(RawIP, 9).Step(time.Millisecond + 333*time.Nanosecond)
		eth := c.Conn(cp(40009), sp(80), 1000, 2000)
		raw := c.Conn(cp6(40010), sp6(443), 3000, 4000).Link(RawIP)
		eth.SYN().SYNACK()
		raw.SYN().SYNACK()
		eth.ACK(Client)
		raw.ACK(Client).Data(Client, 200)
		eth.Data(Client, 100)
		raw.Data(Server, 900).ACK(Client)
		eth.Data(Server, 300).ACK(Client)
		eth.Close(Client)
		raw.Close(Server)
		return single("two-linktypes.pcapng", c)
	}},
	{"gzip", func() []captureFile {
		c := NewCapture(Ethernet)
		normal(c.Conn(cp(40011), sp(80), 1000, 2000))
		return single("gzip.pcap.gz", c)
	}},
	{"ipv4-options", func() []captureFile {
		c := NewCapture(Ethernet)
		normal(c.Conn(cp(40012), sp(80), 1000, 2000).With(IPv4Options(IPv4RouterAlert)))
		normal(c.Conn(cp6(40013), sp6(80), 3000, 4000).With(
			IPv6HopByHop(IPv6RouterAlert),
			// 0x1e is the RFC 4727 experimental type: skip it and go on.
			IPv6DestinationOptions(IPOption{Type: 0x1e, Data: []byte{0xde, 0xad}})))
		return single("ipv4-options.pcap", c)
	}},
	{"fragments", func() []captureFile {
		c := NewCapture(Ethernet)
		k := c.Conn(cp(40014), sp(80), 1000, 2000)
		k.Handshake().Data(Client, 100).Data(Server, 1000, Fragment(512)).ACK(Client).Close(Client)
		return single("fragments.pcap", c)
	}},
	{"truncated", func() []captureFile {
		c := NewCapture(Ethernet).Snaplen(54)
		normal(c.Conn(cp(40015), sp(80), 1000, 2000))
		return single("truncated.pcap", c)
	}},
	{"time-backwards", func() []captureFile {
		c := NewCapture(Ethernet)
		k := c.Conn(cp(40016), sp(80), 1000, 2000)
		k.Handshake().Data(Client, 120)
		now := c.Now()
		k.At(now-2*time.Second).Data(Server, 1400)
		k.At(now + time.Millisecond).ACK(Client).Close(Client)
		return single("time-backwards.pcap", c)
	}},
	{"rotated", func() []captureFile {
		c := NewCapture(Ethernet)
		a := c.Conn(cp(40017), sp(80), 1000, 2000)
		b := c.Conn(cp(40018), sp(80), 3000, 4000)
		a.SYN().SYNACK().ACK(Client)
		b.SYN()
		a.Data(Client, 100)
		b.SYNACK().ACK(Client)
		a.Data(Server, 1000)
		b.Data(Client, 200)
		rotate := c.Len()
		a.ACK(Client)
		b.Data(Server, 500)
		a.FIN(Client)
		b.ACK(Client)
		a.ACK(Server).FIN(Server)
		b.Close(Server)
		a.ACK(Client)
		return []captureFile{
			{"rotated-1.pcap", c.Slice(0, rotate)},
			{"rotated-2.pcap", c.Slice(rotate, c.Len())},
		}
	}},
	{"syn-retransmit", func() []captureFile {
		c := NewCapture(Ethernet)
		k := c.Conn(cp(40019), sp(80), 1000, 2000)
		// Linux's initial RTO is 1 s, doubling: SYNs at 0, 1 and 3 s.
		k.SYN().At(time.Second).SYN().At(3 * time.Second).SYN()
		k.SYNACK().ACK(Client).Data(Client, 120).Data(Server, 1400).ACK(Client).Close(Client)
		return single("syn-retransmit.pcap", c)
	}},
	{"port-reuse-timewait", func() []captureFile {
		c := NewCapture(Ethernet)
		first := c.Conn(cp(40020), sp(80), 1000, 2000)
		normal(first)
		// The client reuses the 4-tuple while it is still in TIME_WAIT,
		// with a higher ISN, as RFC 9293 §3.6.1 allows.
		second := c.Conn(cp(40020), sp(80), 500000, 700000)
		second.After(5 * time.Second)
		normal(second)
		return single("port-reuse-timewait.pcap", c)
	}},
	{"rst-out-of-window", func() []captureFile {
		c := NewCapture(Ethernet)
		k := c.Conn(cp(40021), sp(80), 1000, 2000)
		k.Handshake().Data(Client, 120).Data(Server, 1400).ACK(Client)
		// 2^30 past RCV.NXT: far outside any window the handshake allows
		// (64240 << 7 is about 8 MB), so the client must ignore it.
		k.Send(Server, tcp.RST, 0, Seq(k.Next(Server)+1<<30))
		k.Data(Client, 80).Data(Server, 700).ACK(Client).Close(Client)
		return single("rst-out-of-window.pcap", c)
	}},
	{"half-closed-long", func() []captureFile {
		c := NewCapture(Ethernet)
		k := c.Conn(cp(40022), sp(80), 1000, 2000)
		k.Handshake().Data(Client, 120).Data(Server, 1400).ACK(Client)
		k.At(time.Second).FIN(Client).ACK(Server)
		// A keepalive-like probe: one byte below SND.NXT, no data.
		k.At(90*time.Second).ACK(Server, Seq(k.Next(Server)-1))
		return single("half-closed-long.pcap", c)
	}},
	{"time-wait-expiry", func() []captureFile {
		c := NewCapture(Ethernet)
		short := c.Conn(cp(40023), sp(80), 1000, 2000)
		long := c.Conn(cp(40024), sp(443), 3000, 4000)
		short.Handshake().Data(Client, 120).Data(Server, 800).ACK(Client)
		long.At(500 * time.Millisecond).Handshake()
		short.At(time.Second).Close(Client)
		for s := 10; s <= 60; s += 10 {
			long.At(time.Duration(s)*time.Second).Data(Client, 50).Data(Server, 200).ACK(Client)
		}
		long.At(70 * time.Second).Close(Client)
		return single("time-wait-expiry.pcap", c)
	}},
}

func encode(t *testing.T, f captureFile) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := f.c.WriteFormat(&b, f.name); err != nil {
		t.Fatalf("%s: %v", f.name, err)
	}
	return b.Bytes()
}

// TestGenerateCaptures checks that the committed captures are exactly what
// the scenarios produce; with -update it rewrites them.
func TestGenerateCaptures(t *testing.T) {
	made := map[string]bool{}
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			for _, f := range sc.build() {
				made[f.name] = true
				data := encode(t, f)
				checkDecodes(t, f.name, data)
				path := filepath.Join(scenarioDir, f.name)
				if *update {
					if err := os.WriteFile(path, data, 0o644); err != nil {
						t.Fatal(err)
					}
					continue
				}
				committed, err := os.ReadFile(path)
				if err != nil {
					t.Fatalf("%v (run go test ./synth -run TestGenerateCaptures -update)", err)
				}
				if strings.HasSuffix(f.name, ".gz") {
					// Deflate output may change with the Go release; the
					// capture inside may not.
					data, committed = gunzip(t, data), gunzip(t, committed)
				}
				if !bytes.Equal(data, committed) {
					t.Errorf("%s differs from what the generator makes now (run with -update if the change is intended)", path)
				}
			}
		})
	}

	// Every committed file must come from a scenario and be documented.
	entries, err := os.ReadDir(scenarioDir)
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(filepath.Join(scenarioDir, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if isCapture(e.Name()) && !made[e.Name()] {
			t.Errorf("%s is not made by any scenario: remove it", e.Name())
		}
	}
	for name := range made {
		if !bytes.Contains(readme, []byte("`"+name+"`")) {
			t.Errorf("README.md does not document %s", name)
		}
	}
}

// isCapture tells captures from the other files kept beside them (expected
// outputs, the README).
func isCapture(name string) bool {
	for _, ext := range []string{".pcap", ".pcapng", ".pcap.gz"} {
		if strings.HasSuffix(name, ext) {
			return true
		}
	}
	return false
}

// checkDecodes reads a capture back with gopacket and checks every checksum.
func checkDecodes(t *testing.T, name string, data []byte) {
	t.Helper()
	var r io.Reader = bytes.NewReader(data)
	if strings.HasSuffix(name, ".gz") {
		r = bytes.NewReader(gunzip(t, data))
	}
	var got []decoded
	if strings.HasSuffix(name, ".pcapng") {
		got = readPcapNG(t, r)
	} else {
		got = readPcap(t, r)
	}
	if len(got) == 0 {
		t.Errorf("%s: no packets", name)
	}
}

func gunzip(t *testing.T, data []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestScenarioFacts checks the properties each scenario exists for, read
// back from the bytes, so a builder change cannot silently defeat one.
func TestScenarioFacts(t *testing.T) {
	read := func(t *testing.T, name string) []decoded {
		for _, sc := range scenarios {
			for _, f := range sc.build() {
				if f.name == name {
					data := encode(t, f)
					if strings.HasSuffix(name, ".gz") {
						data = gunzip(t, data)
					}
					if strings.HasSuffix(name, ".pcapng") {
						return readPcapNG(t, bytes.NewReader(data))
					}
					return readPcap(t, bytes.NewReader(data))
				}
			}
		}
		t.Fatalf("no scenario writes %s", name)
		return nil
	}
	tests := []struct {
		file  string
		check func(t *testing.T, p []decoded)
	}{
		{"simultaneous-open.pcap", func(t *testing.T, p []decoded) {
			if p[0].flags != tcp.SYN || p[1].flags != tcp.SYN || p[2].ack != p[1].seq+1 || p[3].ack != p[0].seq+1 {
				t.Errorf("not a simultaneous open: %v %v %v %v", p[0].flags, p[1].flags, p[2].flags, p[3].flags)
			}
		}},
		{"simultaneous-close.pcap", func(t *testing.T, p []decoded) {
			n := len(p)
			cf, sf := p[n-4], p[n-3]
			if !cf.flags.Has(tcp.FIN) || !sf.flags.Has(tcp.FIN) || sf.ack != cf.seq || p[n-2].ack != sf.seq+1 || p[n-1].ack != cf.seq+1 {
				t.Errorf("FINs do not cross: client FIN seq %d, server FIN ack %d", cf.seq, sf.ack)
			}
		}},
		{"invalid-flags.pcap", func(t *testing.T, p []decoded) {
			seen := map[netip.AddrPort]bool{}
			for _, d := range p {
				seen[d.src] = true
			}
			if len(p) != 5 || len(seen) != 5 || p[4].flags != 0x1ff || p[3].flags != 0 {
				t.Errorf("%d packets on %d 4-tuples, last flags %v", len(p), len(seen), p[4].flags)
			}
		}},
		{"midstream.pcap", func(t *testing.T, p []decoded) {
			if p[0].flags.Has(tcp.SYN) || len(p[0].payload) == 0 {
				t.Errorf("first packet %v with %d bytes", p[0].flags, len(p[0].payload))
			}
		}},
		{"handshake-ack-mismatch.pcap", func(t *testing.T, p []decoded) {
			if len(p) != 5 || p[1].ack == p[0].seq+1 || p[3].ack != p[2].seq+1 || p[4].ack == p[3].seq+1 {
				t.Fatalf("acks %d (SYN %d), third ACK %d (SYN-ACK %d)", p[1].ack, p[0].seq, p[4].ack, p[3].seq)
			}
		}},
		{"data-after-fin.pcap", func(t *testing.T, p []decoded) {
			fin := p[4]
			if !fin.flags.Has(tcp.FIN) || len(p[6].payload) == 0 || p[6].seq != fin.seq+1 {
				t.Errorf("packet 7: %v seq %d after FIN at %d", p[6].flags, p[6].seq, fin.seq)
			}
		}},
		{"seq-wrap.pcap", func(t *testing.T, p []decoded) {
			var fins []uint32
			for _, d := range p {
				if d.flags.Has(tcp.FIN) {
					fins = append(fins, d.seq)
				}
			}
			if len(fins) != 2 || fins[0] > 0x1000 || fins[1] > 0x1000 {
				t.Errorf("FIN sequence numbers %#x did not wrap", fins)
			}
		}},
		{"time-backwards.pcap", func(t *testing.T, p []decoded) {
			back := 0
			for i := 1; i < len(p); i++ {
				if p[i].time.Before(p[i-1].time) {
					back++
				}
			}
			if back != 1 {
				t.Errorf("%d backward steps, want 1", back)
			}
		}},
		{"fragments.pcap", func(t *testing.T, p []decoded) {
			n := 0
			for _, d := range p {
				if d.fragment {
					n++
				}
			}
			if n != 2 {
				t.Errorf("%d fragments, want 2", n)
			}
		}},
		{"truncated.pcap", func(t *testing.T, p []decoded) {
			for _, d := range p {
				if d.capLen > 54 || d.capLen == d.wireLen && d.wireLen != 54 {
					t.Errorf("caplen %d of %d", d.capLen, d.wireLen)
				}
			}
		}},
		{"two-linktypes.pcapng", func(t *testing.T, p []decoded) {
			// The Ethernet interface keeps microseconds, raw IP nanoseconds.
			var eth, raw bool
			for _, d := range p {
				if d.time.Nanosecond()%1000 != 0 {
					raw = raw || d.link.String() == "Raw"
					eth = eth || d.link.String() == "Ethernet"
				}
			}
			if eth || !raw {
				t.Errorf("sub-microsecond timestamps: Ethernet %v, raw IP %v", eth, raw)
			}
		}},
		{"half-closed-long.pcap", func(t *testing.T, p []decoded) {
			last := p[len(p)-1]
			if gap := last.time.Sub(p[len(p)-2].time); gap < 60*time.Second {
				t.Errorf("server silent for %v", gap)
			}
		}},
		{"time-wait-expiry.pcap", func(t *testing.T, p []decoded) {
			if span := p[len(p)-1].time.Sub(p[0].time); span < 61*time.Second+100*time.Millisecond {
				t.Errorf("capture spans %v, less than TIME_WAIT plus 2*MSL", span)
			}
		}},
		{"syn-retransmit.pcap", func(t *testing.T, p []decoded) {
			syns := slices.IndexFunc(p, func(d decoded) bool { return d.flags != tcp.SYN })
			if syns != 3 || p[0].seq != p[2].seq {
				t.Errorf("%d SYNs before the answer", syns)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) { tt.check(t, read(t, tt.file)) })
	}
}
