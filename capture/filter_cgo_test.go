//go:build cgo

package capture

import (
	"encoding/binary"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcap"
	"golang.org/x/net/bpf"

	"github.com/tcptrace/tcptrace/tcp"
)

// filterFile is a pcapng file with Ethernet, Linux SLL2 and raw-IP
// interfaces, each carrying TCP to port 80, TCP to port 22 and UDP.
func filterFile(t testing.TB) string {
	toPort := func(port layers.TCPPort) *layers.TCP {
		l := dataTCP()
		l.DstPort = port
		return l
	}
	udp := &layers.UDP{SrcPort: 53, DstPort: 80}
	ipUDP := ipv4Layer()
	ipUDP.Protocol = layers.IPProtocolUDP
	ip80 := serialize(t, ipv4Layer(), toPort(80), payload(10))
	ip22 := serialize(t, ipv4Layer(), toPort(22), payload(10))
	ipU := serialize(t, ipUDP, udp, payload(10))
	ng := &ngBuilder{}
	ng.section(binary.LittleEndian)
	ng.iface(LinkEthernet, 0, 9, 0)
	ng.iface(LinkLinuxSLL2, 0, 9, 0)
	ng.iface(LinkRaw, 0, 9, 0)
	eth := ethernet(layers.EthernetTypeIPv4).DstMAC
	ethHdr := concat(eth, testMAC1, []byte{0x08, 0x00})
	ts := uint64(1e9)
	for _, ip := range [][]byte{ip80, ip22, ipU} {
		ng.epb(0, ts, concat(ethHdr, ip), 0)
		ng.epb(1, ts+1, concat(sll2Header(0x0800), ip), 0)
		ng.epb(2, ts+2, ip, 0)
		ts += 10
	}
	return writeTemp(t, "filter.pcapng", ng.bytes())
}

func TestFilter(t *testing.T) {
	path := filterFile(t)
	for _, tc := range []struct {
		expr string
		want []Kind // per packet, in file order
	}{
		{"tcp port 80", []Kind{KindTCP, KindTCP, KindTCP, KindFiltered, KindFiltered, KindFiltered, KindFiltered, KindFiltered, KindFiltered}},
		{"tcp", []Kind{KindTCP, KindTCP, KindTCP, KindTCP, KindTCP, KindTCP, KindFiltered, KindFiltered, KindFiltered}},
		{"port 80", []Kind{KindTCP, KindTCP, KindTCP, KindFiltered, KindFiltered, KindFiltered, KindNonTCP, KindNonTCP, KindNonTCP}},
		{"not port 80", []Kind{KindFiltered, KindFiltered, KindFiltered, KindTCP, KindTCP, KindTCP, KindFiltered, KindFiltered, KindFiltered}},
	} {
		t.Run(tc.expr, func(t *testing.T) {
			r, err := Files([]string{path}, Options{Filter: tc.expr})
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			got, err := readAll(t, r)
			if err != io.EOF {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("%d packets, want %d", len(got), len(tc.want))
			}
			var filtered uint64
			for i, g := range got {
				if g.kind != tc.want[i] {
					t.Errorf("packet %d: %v, want %v", i+1, g.kind, tc.want[i])
				}
				if g.kind == KindFiltered {
					filtered++
					if (g.seg != tcp.Segment{Time: g.seg.Time, Packet: uint64(i + 1)}) {
						t.Errorf("packet %d: filtered segment carries %+v", i+1, g.seg)
					}
				}
			}
			if st := r.Stats(); st.ByKind[KindFiltered] != filtered {
				t.Errorf("filtered count %d, want %d", st.ByKind[KindFiltered], filtered)
			}
		})
	}
}

func TestFilterErrors(t *testing.T) {
	path := filterFile(t)
	raw := writeTemp(t, "raw.pcap", pcapBytes(binary.LittleEndian, false, LinkRaw, 65535))
	for _, tc := range []struct {
		path, expr, want string
	}{
		{path, "tcp port", "syntax error"},
		{path, "tcp port 99999", "illegal port number 99999 > 65535"},
		{raw, "ether host 02:00:00:00:00:01", `filter "ether host 02:00:00:00:00:01" on link type 101 (RAW):`},
	} {
		_, err := Files([]string{tc.path}, Options{Filter: tc.expr})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("filter %q: error %v, want one containing %q", tc.expr, err, tc.want)
		}
	}
}

// BenchmarkFilter compares the Go BPF interpreter with libpcap's matcher
// (a cgo call per packet) on the same program and packet.
func BenchmarkFilter(b *testing.B) {
	frame := serialize(b, ethernet(layers.EthernetTypeIPv4), ipv4Layer(), dataTCP(), payload(10))
	const expr = "tcp port 80 and host 192.0.2.80"
	b.Run("go-vm", func(b *testing.B) {
		insns, err := pcap.CompileBPFFilter(layers.LinkTypeEthernet, filterSnapLen, expr)
		if err != nil {
			b.Fatal(err)
		}
		m, err := newVMProgram(insns)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if !m.match(frame, len(frame)) {
				b.Fatal("no match")
			}
		}
	})
	b.Run("libpcap", func(b *testing.B) {
		m, err := compileFilter(LinkEthernet, expr)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if !m.match(frame, len(frame)) {
				b.Fatal("no match")
			}
		}
	})
}

// vmProgram runs a libpcap program in golang.org/x/net/bpf's interpreter:
// the pure-Go alternative BenchmarkFilter measures against libpcap.
type vmProgram struct{ vm *bpf.VM }

func newVMProgram(insns []pcap.BPFInstruction) (*vmProgram, error) {
	raw := make([]bpf.RawInstruction, len(insns))
	for i, in := range insns {
		raw[i] = bpf.RawInstruction{Op: in.Code, Jt: in.Jt, Jf: in.Jf, K: in.K}
	}
	prog, ok := bpf.Disassemble(raw)
	if !ok {
		return nil, errors.New("libpcap produced a BPF instruction the Go interpreter does not support")
	}
	vm, err := bpf.NewVM(prog)
	if err != nil {
		return nil, err
	}
	return &vmProgram{vm: vm}, nil
}

func (p *vmProgram) match(data []byte, _ int) bool {
	n, err := p.vm.Run(data)
	return err == nil && n > 0
}

func TestFilterDoesNotAllocate(t *testing.T) {
	path, _ := smallPackets(t, 30000, false)
	for _, expr := range []string{"tcp port 80", "udp"} { // one passes every packet, one none
		r, err := Files([]string{path}, Options{Filter: expr})
		if err != nil {
			t.Fatal(err)
		}
		var seg tcp.Segment
		allocs := testing.AllocsPerRun(20000, func() {
			if _, err := r.Next(&seg); err != nil {
				t.Fatal(err)
			}
		})
		r.Close()
		if allocs != 0 {
			t.Errorf("filter %q: Next allocates %.4f times per packet", expr, allocs)
		}
	}
}
