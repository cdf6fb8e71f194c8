package synth

import (
	"bytes"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
	"github.com/tcptrace/tcptrace/tcp"
)

var (
	cli4 = netip.MustParseAddrPort("10.0.0.1:40000")
	srv4 = netip.MustParseAddrPort("10.0.0.2:80")
	cli6 = netip.MustParseAddrPort("[2001:db8::1]:40000")
	srv6 = netip.MustParseAddrPort("[2001:db8::2]:443")
)

// want is one expected packet: who sent it and its TCP numbers.
type want struct {
	from     Side
	flags    tcp.Flags
	seq, ack uint32
	n        int
}

func checkPackets(t *testing.T, got []decoded, k *Conn, wants []want) {
	t.Helper()
	if len(got) != len(wants) {
		t.Fatalf("got %d packets, want %d", len(got), len(wants))
	}
	for i, w := range wants {
		g := got[i]
		if g.src != k.Addr(w.from) || g.dst != k.Addr(!w.from) {
			t.Errorf("packet %d: %v -> %v, want from %v", i+1, g.src, g.dst, w.from)
		}
		if g.flags != w.flags || g.seq != w.seq || g.ack != w.ack || len(g.payload) != w.n {
			t.Errorf("packet %d: %v seq=%d ack=%d len=%d, want %v seq=%d ack=%d len=%d",
				i+1, g.flags, g.seq, g.ack, len(g.payload), w.flags, w.seq, w.ack, w.n)
		}
	}
}

// fullConversation is the sequence every link type and IP version must
// carry intact.
func fullConversation(k *Conn) {
	k.Handshake().Data(Client, 100).Data(Server, 300).ACK(Client).Close(Client)
}

var fullWants = []want{
	{Client, tcp.SYN, 1000, 0, 0},
	{Server, tcp.SYN | tcp.ACK, 5000, 1001, 0},
	{Client, tcp.ACK, 1001, 5001, 0},
	{Client, tcp.PSH | tcp.ACK, 1001, 5001, 100},
	{Server, tcp.PSH | tcp.ACK, 5001, 1101, 300},
	{Client, tcp.ACK, 1101, 5301, 0},
	{Client, tcp.FIN | tcp.ACK, 1101, 5301, 0},
	{Server, tcp.ACK, 5301, 1102, 0},
	{Server, tcp.FIN | tcp.ACK, 5301, 1102, 0},
	{Client, tcp.ACK, 1102, 5302, 0},
}

func TestConnAllLinkTypes(t *testing.T) {
	for l := range numLinkTypes {
		for _, v6 := range []bool{false, true} {
			name := l.String() + map[bool]string{false: "/IPv4", true: "/IPv6"}[v6]
			t.Run(name, func(t *testing.T) {
				c := NewCapture(l)
				cli, srv := cli4, srv4
				if v6 {
					cli, srv = cli6, srv6
				}
				k := c.Conn(cli, srv, 1000, 5000)
				fullConversation(k)
				got := readPcap(t, bytes.NewReader(pcapBytes(t, c)))
				checkPackets(t, got, k, fullWants)
				if got[0].link != l.DLT() {
					t.Errorf("DLT %v, want %v", got[0].link, l.DLT())
				}
				for i, g := range got {
					if want := Epoch.Add(time.Duration(i) * time.Millisecond); !g.time.Equal(want) {
						t.Errorf("packet %d at %v, want %v", i+1, g.time, want)
					}
				}
				// The payload pattern is the low byte of each byte's sequence number.
				if p := got[3].payload; p[0] != 1001%256 || p[99] != 1100%256 {
					t.Errorf("payload pattern %d..%d", p[0], p[99])
				}
				checkLinkLayer(t, l, got[0])
			})
		}
	}
}

// checkLinkLayer checks the framing details gopacket exposes.
func checkLinkLayer(t *testing.T, l LinkType, d decoded) {
	t.Helper()
	switch l {
	case VLAN, QinQ:
		var ids []uint16
		for _, ly := range d.pkt.Layers() {
			if q, ok := ly.(*layers.Dot1Q); ok {
				ids = append(ids, q.VLANIdentifier)
			}
		}
		want := []uint16{InnerVLAN}
		if l == QinQ {
			want = []uint16{OuterVLAN, InnerVLAN}
			if eth := d.pkt.Layer(layers.LayerTypeEthernet).(*layers.Ethernet); eth.EthernetType != layers.EthernetTypeQinQ {
				t.Errorf("outer ethertype %v, want 802.1ad", eth.EthernetType)
			}
		}
		if len(ids) != len(want) || ids[0] != want[0] || ids[len(ids)-1] != want[len(want)-1] {
			t.Errorf("VLAN tags %v, want %v", ids, want)
		}
	case SLL:
		s := d.pkt.Layer(layers.LayerTypeLinuxSLL).(*layers.LinuxSLL)
		if s.PacketType != layers.LinuxSLLPacketTypeOutgoing || s.AddrLen != 6 {
			t.Errorf("SLL packet type %v addr len %d", s.PacketType, s.AddrLen)
		}
	case SLL2:
		s := d.pkt.Layer(layers.LayerTypeLinuxSLL2).(*layers.LinuxSLL2)
		if s.PacketType != layers.LinuxSLL2PacketTypeOutgoing || s.InterfaceIndex != 1 {
			t.Errorf("SLL2 packet type %v ifindex %d", s.PacketType, s.InterfaceIndex)
		}
	}
}

func TestConnSequenceRules(t *testing.T) {
	tests := []struct {
		name  string
		build func(k *Conn)
		wants []want
	}{
		{
			name:  "SYN retransmitted keeps the ISN",
			build: func(k *Conn) { k.SYN().SYN().SYNACK().ACK(Client) },
			wants: []want{
				{Client, tcp.SYN, 1000, 0, 0},
				{Client, tcp.SYN, 1000, 0, 0},
				{Server, tcp.SYN | tcp.ACK, 5000, 1001, 0},
				{Client, tcp.ACK, 1001, 5001, 0},
			},
		},
		{
			name: "simultaneous open",
			build: func(k *Conn) {
				k.Send(Client, tcp.SYN, 0).Send(Server, tcp.SYN, 0).
					Send(Client, tcp.SYN|tcp.ACK, 0).Send(Server, tcp.SYN|tcp.ACK, 0)
			},
			wants: []want{
				{Client, tcp.SYN, 1000, 0, 0},
				{Server, tcp.SYN, 5000, 0, 0},
				{Client, tcp.SYN | tcp.ACK, 1000, 5001, 0},
				{Server, tcp.SYN | tcp.ACK, 5000, 1001, 0},
			},
		},
		{
			name:  "FIN retransmitted at its own number",
			build: func(k *Conn) { k.Established().FIN(Client).FIN(Client).ACK(Server) },
			wants: []want{
				{Client, tcp.FIN | tcp.ACK, 1001, 5001, 0},
				{Client, tcp.FIN | tcp.ACK, 1001, 5001, 0},
				{Server, tcp.ACK, 5001, 1002, 0},
			},
		},
		{
			name:  "data after FIN continues past it",
			build: func(k *Conn) { k.Established().FIN(Client).Data(Client, 10) },
			wants: []want{
				{Client, tcp.FIN | tcp.ACK, 1001, 5001, 0},
				{Client, tcp.PSH | tcp.ACK, 1002, 5001, 10},
			},
		},
		{
			name: "explicit seq does not advance tracking",
			build: func(k *Conn) {
				k.Established().Data(Client, 10).Data(Client, 10, Seq(1001)).RST(Client, Seq(9)).Data(Client, 5)
			},
			wants: []want{
				{Client, tcp.PSH | tcp.ACK, 1001, 5001, 10},
				{Client, tcp.PSH | tcp.ACK, 1001, 5001, 10},
				{Client, tcp.RST | tcp.ACK, 9, 5001, 0},
				{Client, tcp.PSH | tcp.ACK, 1011, 5001, 5},
			},
		},
		{
			name:  "explicit ack and flags without ACK",
			build: func(k *Conn) { k.SYNACK(Ack(77)).Send(Client, tcp.FIN, 0).Send(Client, 0, 0) },
			wants: []want{
				{Server, tcp.SYN | tcp.ACK, 5000, 77, 0},
				{Client, tcp.FIN, 1000, 0, 0},
				{Client, 0, 1001, 0, 0},
			},
		},
		{
			name:  "sequence numbers wrap",
			build: func(k *Conn) { k.Established().Data(Client, 0x200).ACK(Server).FIN(Client) },
			wants: []want{
				{Client, tcp.PSH | tcp.ACK, 0xFFFFFF01, 5001, 0x200},
				{Server, tcp.ACK, 5001, 0x101, 0},
				{Client, tcp.FIN | tcp.ACK, 0x101, 5001, 0},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := NewCapture(Ethernet)
			isn := uint32(1000)
			if strings.Contains(tt.name, "wrap") {
				isn = 0xFFFFFF00
			}
			k := c.Conn(cli4, srv4, isn, 5000)
			tt.build(k)
			checkPackets(t, readPcap(t, bytes.NewReader(pcapBytes(t, c))), k, tt.wants)
		})
	}
}

func TestConnOptions(t *testing.T) {
	tests := []struct {
		name  string
		v6    bool
		build func(k *Conn)
		check func(t *testing.T, d decoded)
	}{
		{
			name:  "SYN defaults",
			build: func(k *Conn) { k.SYN() },
			check: func(t *testing.T, d decoded) {
				wantOpts(t, d, "MSS=1460 SACKPermitted WindowScale=7")
				if d.window != DefaultWindow || d.ttl != ClientTTL {
					t.Errorf("window %d ttl %d", d.window, d.ttl)
				}
			},
		},
		{
			name:  "explicit SYN options replace defaults",
			build: func(k *Conn) { k.SYN(NoTCPOptions(), MSS(536)) },
			check: func(t *testing.T, d decoded) { wantOpts(t, d, "MSS=536") },
		},
		{
			name:  "scaled window after handshake",
			build: func(k *Conn) { k.Handshake() },
			check: func(t *testing.T, d decoded) {
				if d.window != DefaultWindow>>DefaultWScale {
					t.Errorf("window %d, want %d", d.window, DefaultWindow>>DefaultWScale)
				}
			},
		},
		{
			name:  "timestamps echo the peer",
			build: func(k *Conn) { k.Timestamps().SYN().After(5 * time.Millisecond).SYNACK().ACK(Client) },
			check: func(t *testing.T, d decoded) {
				wantOpts(t, d, "Timestamps")
				val, ecr := tsOption(t, d)
				cliISN, srvISN := uint32(1000), uint32(5000)
				if want := cliISN*2654435761 + 1 + 7; val != want {
					t.Errorf("TSval %d, want %d", val, want)
				}
				if want := srvISN*2654435761 + 1 + 6; ecr != want {
					t.Errorf("TSecr %d, want %d", ecr, want)
				}
			},
		},
		{
			name: "SACK blocks, window, IP ID and TTL",
			build: func(k *Conn) {
				k.ACK(Client, SACK(tcp.SACKBlock{Left: 10, Right: 20}, tcp.SACKBlock{Left: 30, Right: 40}),
					Window(999), IPID(4242), TTL(3))
			},
			check: func(t *testing.T, d decoded) {
				wantOpts(t, d, "SACK")
				if d.window != 999 || d.ipID != 4242 || d.ttl != 3 {
					t.Errorf("window %d ipid %d ttl %d", d.window, d.ipID, d.ttl)
				}
				for _, o := range d.tcpOpts {
					if o.OptionType == layers.TCPOptionKindSACK && len(o.OptionData) != 16 {
						t.Errorf("SACK option data %x", o.OptionData)
					}
				}
			},
		},
		{
			name:  "IPv4 options",
			build: func(k *Conn) { k.SYN(IPv4Options(IPv4RouterAlert, IPOption{Type: 1})) },
			check: func(t *testing.T, d decoded) {
				ip := d.pkt.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
				if ip.IHL != 7 || len(ip.Options) < 2 || ip.Options[0].OptionType != 148 {
					t.Errorf("IHL %d options %v", ip.IHL, ip.Options)
				}
			},
		},
		{
			name: "IPv6 hop-by-hop and destination options",
			v6:   true,
			build: func(k *Conn) {
				k.SYN(IPv6HopByHop(IPv6RouterAlert), IPv6DestinationOptions(IPOption{Type: 0x1e, Data: []byte{1, 2, 3}}))
			},
			check: func(t *testing.T, d decoded) {
				hbh, ok := d.pkt.Layer(layers.LayerTypeIPv6HopByHop).(*layers.IPv6HopByHop)
				if !ok || hbh.NextHeader != layers.IPProtocolIPv6Destination || hbh.Options[0].OptionType != 5 {
					t.Fatalf("hop-by-hop %+v", hbh)
				}
				dst, ok := d.pkt.Layer(layers.LayerTypeIPv6Destination).(*layers.IPv6Destination)
				if !ok || dst.NextHeader != layers.IPProtocolTCP || !bytes.Equal(dst.Options[0].OptionData, []byte{1, 2, 3}) {
					t.Fatalf("destination options %+v", dst)
				}
				if d.seq != 1000 {
					t.Errorf("TCP seq %d after extension headers", d.seq)
				}
			},
		},
		{
			name:  "explicit payload",
			build: func(k *Conn) { k.Established().Data(Server, 1, Payload([]byte("hello"))) },
			check: func(t *testing.T, d decoded) {
				if string(d.payload) != "hello" {
					t.Errorf("payload %q", d.payload)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := NewCapture(Ethernet)
			cli, srv := cli4, srv4
			if tt.v6 {
				cli, srv = cli6, srv6
			}
			tt.build(c.Conn(cli, srv, 1000, 5000))
			got := readPcap(t, bytes.NewReader(pcapBytes(t, c)))
			tt.check(t, got[len(got)-1])
		})
	}
}

func wantOpts(t *testing.T, d decoded, want string) {
	t.Helper()
	var got []string
	for _, o := range d.tcpOpts {
		switch o.OptionType {
		case layers.TCPOptionKindNop:
		case layers.TCPOptionKindMSS:
			got = append(got, "MSS="+strconv.Itoa(int(o.OptionData[0])<<8|int(o.OptionData[1])))
		case layers.TCPOptionKindWindowScale:
			got = append(got, "WindowScale="+strconv.Itoa(int(o.OptionData[0])))
		default:
			got = append(got, o.OptionType.String())
		}
	}
	if g := strings.Join(got, " "); g != want {
		t.Errorf("TCP options %q, want %q", g, want)
	}
}

func tsOption(t *testing.T, d decoded) (val, ecr uint32) {
	t.Helper()
	for _, o := range d.tcpOpts {
		if o.OptionType == layers.TCPOptionKindTimestamps {
			b := o.OptionData
			return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3]),
				uint32(b[4])<<24 | uint32(b[5])<<16 | uint32(b[6])<<8 | uint32(b[7])
		}
	}
	t.Fatal("no timestamps option")
	return 0, 0
}
