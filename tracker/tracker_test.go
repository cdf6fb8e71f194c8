package tracker

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tcptrace/tcptrace/tcp"
)

var (
	cliAddr = netip.MustParseAddrPort("10.0.0.1:51000")
	srvAddr = netip.MustParseAddrPort("10.0.0.2:80")
)

// pk is one hand-built segment: time in ms, sender, flags, absolute seq/ack,
// payload length.
type pk struct {
	ms       int64
	from     Side
	flags    tcp.Flags
	seq, ack uint32
	n        uint32
}

const (
	S  = tcp.SYN
	SA = tcp.SYN | tcp.ACK
	A  = tcp.ACK
	PA = tcp.PSH | tcp.ACK
	FA = tcp.FIN | tcp.ACK
	R  = tcp.RST
	RA = tcp.RST | tcp.ACK
)

func segOf(i int, p pk, cli, srv netip.AddrPort) tcp.Segment {
	src, dst := cli, srv
	if p.from == Server {
		src, dst = srv, cli
	}
	return tcp.Segment{
		Time: p.ms * int64(time.Millisecond), Packet: uint64(i + 1), Src: src, Dst: dst,
		Seq: tcp.Seq(p.seq), Ack: tcp.Seq(p.ack), Flags: p.flags, Window: 65535, PayloadLen: p.n,
	}
}

func runPkts(cfg Config, pkts []pk) *Tracker {
	tr := New(cfg)
	for i, p := range pkts {
		seg := segOf(i, p, cliAddr, srvAddr)
		tr.Process(&seg)
	}
	tr.Finish()
	return tr
}

// ISNs: client 1000, server 5000.
var handshake = []pk{
	{0, Client, S, 1000, 0, 0},
	{1, Server, SA, 5000, 1001, 0},
	{2, Client, A, 1001, 5001, 0},
	{3, Client, PA, 1001, 5001, 10},
	{4, Server, PA, 5001, 1011, 20},
	{5, Client, A, 1011, 5021, 0},
}

func with(base []pk, more ...pk) []pk { return append(slices.Clone(base), more...) }

func kindsOf(c *Conn) string {
	var out []string
	for _, a := range c.Anomalies {
		s := fmt.Sprintf("%s/%s/%s", a.Kind, a.Side, a.Severity)
		if a.Count > 1 {
			s += fmt.Sprintf("x%d", a.Count)
		}
		out = append(out, s)
	}
	return strings.Join(out, " ")
}

func transitionsOf(c *Conn) string {
	var out []string
	for _, tr := range c.Transitions {
		out = append(out, fmt.Sprintf("%c:%s>%s@%d", tr.Side.String()[0], tr.From, tr.To, tr.Packet))
	}
	return strings.Join(out, " ")
}

func TestScenarios(t *testing.T) {
	tests := []struct {
		name        string
		pkts        []pk
		client      State
		server      State
		anomalies   string // kind/side/severity[xN], in order
		transitions string // when set, the exact transition list
		conns       int    // connections expected when more than 1; the first is checked
	}{
		{
			name: "client closes first",
			pkts: with(handshake,
				pk{6, Client, FA, 1011, 5021, 0},
				pk{7, Server, A, 5021, 1012, 0},
				pk{8, Server, FA, 5021, 1012, 0},
				pk{9, Client, A, 1012, 5022, 0}),
			client: TimeWait, server: Closed,
			transitions: "c:CLOSED>SYN_SENT@1 s:LISTEN>SYN_RCVD@1 c:SYN_SENT>ESTABLISHED@2 s:SYN_RCVD>ESTABLISHED@3 " +
				"c:ESTABLISHED>FIN_WAIT_1@7 s:ESTABLISHED>CLOSE_WAIT@7 c:FIN_WAIT_1>FIN_WAIT_2@8 " +
				"s:CLOSE_WAIT>LAST_ACK@9 c:FIN_WAIT_2>TIME_WAIT@9 s:LAST_ACK>CLOSED@10",
		},
		{
			name: "server closes first, FIN and ACK of FIN together",
			pkts: with(handshake,
				pk{6, Server, FA, 5021, 1011, 0},
				pk{7, Client, FA, 1011, 5022, 0},
				pk{8, Server, A, 5022, 1012, 0}),
			client: Closed, server: TimeWait,
			transitions: "c:CLOSED>SYN_SENT@1 s:LISTEN>SYN_RCVD@1 c:SYN_SENT>ESTABLISHED@2 s:SYN_RCVD>ESTABLISHED@3 " +
				"s:ESTABLISHED>FIN_WAIT_1@7 c:ESTABLISHED>CLOSE_WAIT@7 c:CLOSE_WAIT>LAST_ACK@8 " +
				"s:FIN_WAIT_1>FIN_WAIT_2@8 s:FIN_WAIT_2>TIME_WAIT@8 c:LAST_ACK>CLOSED@9",
		},
		{
			name: "half-close, capture ends before the timeout",
			pkts: with(handshake,
				pk{1000, Client, FA, 1011, 5021, 0},
				pk{1001, Server, A, 5021, 1012, 0},
				pk{3000, Server, PA, 5021, 1012, 5}),
			client: FinWait2, server: CloseWait,
			anomalies: "half_closed/server/info",
		},
		{
			name: "half-close longer than the timeout",
			pkts: with(handshake,
				pk{1000, Client, FA, 1011, 5021, 0},
				pk{1001, Server, A, 5021, 1012, 0},
				pk{90000, Server, A, 5021, 1012, 0}),
			client: FinWait2, server: CloseWait,
			anomalies: "half_closed/server/warning",
		},
		{
			name: "final ACK never captured",
			pkts: with(handshake,
				pk{6, Client, FA, 1011, 5021, 0},
				pk{7, Server, A, 5021, 1012, 0},
				pk{8, Server, FA, 5021, 1012, 0},
				pk{300, Server, FA, 5021, 1012, 0},
				pk{900, Server, FA, 5021, 1012, 0},
				pk{2100, Server, FA, 5021, 1012, 0}),
			client: TimeWait, server: LastAck,
			anomalies: "fin_retransmitted/server/warningx3 missing_final_ack/server/warning",
		},
		{
			name: "final ACK lost beyond the capture point",
			pkts: with(handshake,
				pk{6, Client, FA, 1011, 5021, 0},
				pk{7, Server, A, 5021, 1012, 0},
				pk{8, Server, FA, 5021, 1012, 0},
				pk{9, Client, A, 1012, 5022, 0},
				pk{300, Server, FA, 5021, 1012, 0},
				pk{301, Client, A, 1012, 5022, 0},
				pk{900, Server, FA, 5021, 1012, 0},
				pk{901, Client, A, 1012, 5022, 0}),
			client: TimeWait, server: LastAck,
			anomalies: "fin_retransmitted/server/warningx2 missing_final_ack/server/warning",
		},
		{
			name: "final ACK lost once, then delivered",
			pkts: with(handshake,
				pk{6, Client, FA, 1011, 5021, 0},
				pk{7, Server, A, 5021, 1012, 0},
				pk{8, Server, FA, 5021, 1012, 0},
				pk{300, Server, FA, 5021, 1012, 0},
				pk{301, Client, A, 1012, 5022, 0}),
			client: TimeWait, server: Closed,
			anomalies: "fin_retransmitted/server/warning",
		},
		{
			name: "third ACK lost before the capture point",
			pkts: []pk{
				{0, Client, S, 1000, 0, 0},
				{1, Server, SA, 5000, 1001, 0},
				{1000, Server, SA, 5000, 1001, 0},
				{3000, Server, SA, 5000, 1001, 0},
			},
			client: Established, server: SynRcvd,
			anomalies: "synack_retransmitted/server/warningx2 handshake_incomplete/server/error",
		},
		{
			name: "third ACK lost beyond the capture point",
			pkts: []pk{
				{0, Client, S, 1000, 0, 0},
				{1, Server, SA, 5000, 1001, 0},
				{2, Client, A, 1001, 5001, 0},
				{1000, Server, SA, 5000, 1001, 0},
				{1001, Client, A, 1001, 5001, 0},
				{3000, Server, SA, 5000, 1001, 0},
			},
			client: Established, server: SynRcvd,
			anomalies: "synack_retransmitted/server/warningx2 handshake_incomplete/server/error",
		},
		{
			name: "refused",
			pkts: []pk{
				{0, Client, S, 1000, 0, 0},
				{1, Server, RA, 0, 1001, 0},
			},
			client: Closed, server: Closed,
			anomalies:   "connection_refused/server/warning",
			transitions: "c:CLOSED>SYN_SENT@1 c:SYN_SENT>CLOSED@2",
		},
		{
			name: "SYN unanswered",
			pkts: []pk{
				{0, Client, S, 1000, 0, 0},
				{1000, Client, S, 1000, 0, 0},
				{3000, Client, S, 1000, 0, 0},
			},
			client: SynSent, server: Closed,
			anomalies: "syn_retransmitted/client/warningx2 syn_unanswered/client/error",
		},
		{
			name: "SYN-ACKs lost beyond the capture point",
			pkts: []pk{
				{0, Client, S, 1000, 0, 0},
				{1, Server, SA, 5000, 1001, 0},
				{1000, Client, S, 1000, 0, 0},
				{1001, Server, SA, 5000, 1001, 0},
			},
			client: SynSent, server: SynRcvd,
			anomalies: "syn_retransmitted/client/warning synack_retransmitted/server/warning handshake_incomplete/server/error",
		},
		{
			name: "SYN retransmitted, then answered",
			pkts: []pk{
				{0, Client, S, 1000, 0, 0},
				{1000, Client, S, 1000, 0, 0},
				{1001, Server, SA, 5000, 1001, 0},
				{1002, Client, A, 1001, 5001, 0},
			},
			client: Established, server: Established,
			anomalies: "syn_retransmitted/client/warning",
		},
		{
			name:   "abort with RST (SO_LINGER 0)",
			pkts:   with(handshake, pk{6, Client, RA, 1011, 5021, 0}),
			client: Closed, server: Closed,
			anomalies: "reset/client/warning",
		},
		{
			name:   "RST outside the window is ignored",
			pkts:   with(handshake, pk{6, Client, R, 900000000, 0, 0}, pk{7, Client, RA, 1011, 5021, 0}),
			client: Closed, server: Closed,
			anomalies: "rst_out_of_window/client/warning reset/client/warning",
		},
		{
			name: "simultaneous open",
			pkts: []pk{
				{0, Client, S, 1000, 0, 0},
				{1, Server, S, 5000, 0, 0},
				{2, Client, SA, 1000, 5001, 0},
				{3, Server, SA, 5000, 1001, 0},
			},
			client: Established, server: Established,
			anomalies: "simultaneous_open/both/info",
			transitions: "c:CLOSED>SYN_SENT@1 s:CLOSED>SYN_SENT@2 s:SYN_SENT>SYN_RCVD@2 c:SYN_SENT>SYN_RCVD@2 " +
				"s:SYN_RCVD>ESTABLISHED@3 c:SYN_RCVD>ESTABLISHED@4",
		},
		{
			name: "simultaneous close",
			pkts: with(handshake,
				pk{6, Client, FA, 1011, 5021, 0},
				pk{7, Server, FA, 5021, 1011, 0},
				pk{8, Client, A, 1012, 5022, 0},
				pk{9, Server, A, 5022, 1012, 0}),
			client: TimeWait, server: TimeWait,
			anomalies: "simultaneous_close/both/info",
			transitions: "c:CLOSED>SYN_SENT@1 s:LISTEN>SYN_RCVD@1 c:SYN_SENT>ESTABLISHED@2 s:SYN_RCVD>ESTABLISHED@3 " +
				"c:ESTABLISHED>FIN_WAIT_1@7 s:ESTABLISHED>FIN_WAIT_1@8 s:FIN_WAIT_1>CLOSING@8 c:FIN_WAIT_1>CLOSING@8 " +
				"s:CLOSING>TIME_WAIT@9 c:CLOSING>TIME_WAIT@10",
		},
		{
			name: "midstream, then the client closes",
			pkts: []pk{
				{0, Server, PA, 5000, 1000, 100},
				{1, Client, A, 1000, 5100, 0},
				{2, Client, FA, 1000, 5100, 0},
				{3, Server, FA, 5100, 1001, 0},
				{4, Client, A, 1001, 5101, 0},
			},
			client: TimeWait, server: Closed,
			anomalies: "midstream/both/info",
		},
		{
			name: "handshake ACK mismatch",
			pkts: []pk{
				{0, Client, S, 1000, 0, 0},
				{1, Server, SA, 5000, 1001, 0},
				{2, Client, A, 1001, 5007, 0},
			},
			client: Established, server: SynRcvd,
			anomalies: "ack_unseen_segment/client/info handshake_ack_mismatch/client/error handshake_incomplete/server/info",
		},
		{
			name: "SYN-ACK acknowledging the wrong number",
			pkts: []pk{
				{0, Client, S, 1000, 0, 0},
				{1, Server, SA, 5000, 1234, 0},
			},
			client: SynSent, server: SynRcvd,
			anomalies: "handshake_ack_mismatch/server/error handshake_incomplete/server/info",
		},
		{
			name: "data after FIN",
			pkts: with(handshake,
				pk{6, Client, FA, 1011, 5021, 0},
				pk{7, Client, PA, 1012, 5021, 50}),
			client: FinWait1, server: CloseWait,
			anomalies: "data_after_fin/client/warning half_closed/server/info",
		},
		{
			name: "invalid flags change nothing",
			pkts: with(handshake,
				pk{6, Client, tcp.SYN | tcp.FIN, 1011, 0, 0},
				pk{7, Client, 0, 1011, 0, 0},
				pk{8, Client, tcp.FIN, 1011, 0, 0}),
			client: Established, server: Established,
			anomalies: "invalid_flags/client/warningx3",
		},
		{
			name: "sequence numbers wrap around 2^32",
			pkts: []pk{
				{0, Client, S, 0xfffffffe, 0, 0},
				{1, Server, SA, 0xfffffff0, 0xffffffff, 0},
				{2, Client, A, 0xffffffff, 0xfffffff1, 0},
				{3, Client, PA, 0xffffffff, 0xfffffff1, 100},
				{4, Server, PA, 0xfffffff1, 99, 100},
				{5, Client, FA, 99, 0x55, 0},
				{6, Server, FA, 0x55, 100, 0},
				{7, Client, A, 100, 0x56, 0},
			},
			client: TimeWait, server: Closed,
		},
		{
			name: "TIME_WAIT ends after 2×MSL of capture time",
			pkts: with(handshake,
				pk{6, Client, FA, 1011, 5021, 0},
				pk{7, Server, FA, 5021, 1012, 0},
				pk{8, Client, A, 1012, 5022, 0},
				pk{70000, Server, A, 5022, 1012, 0}),
			client: Closed, server: Closed, conns: 2,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := runPkts(Config{}, tt.pkts)
			want := max(tt.conns, 1)
			if n := len(tr.Conns()); n != want {
				t.Fatalf("got %d connections, want %d", n, want)
			}
			checkInvariants(t, tr)
			c := tr.Conns()[0]
			if c.Ends[Client].State != tt.client || c.Ends[Server].State != tt.server {
				t.Errorf("final states client %s server %s, want %s %s\ntransitions: %s",
					c.Ends[Client].State, c.Ends[Server].State, tt.client, tt.server, transitionsOf(c))
			}
			if got := kindsOf(c); got != tt.anomalies {
				t.Errorf("anomalies:\n got %q\nwant %q", got, tt.anomalies)
				for _, a := range c.Anomalies {
					t.Logf("  %s: %s", a.Kind, a.Detail)
				}
			}
			if tt.transitions != "" {
				if got := transitionsOf(c); got != tt.transitions {
					t.Errorf("transitions:\n got %s\nwant %s", got, tt.transitions)
				}
			}
		})
	}
}

// TestHardwareDuplicates: every packet after the handshake captured twice
// (same IPv4 ID), as on a mirror port, changes nothing: no retransmitted
// FIN, no correction of the final ACK. (A lone SYN or SYN-ACK cannot be told
// from its retransmission by the IP ID: the sequence analysis calls
// duplicates only once it has seen a side's IDs change.)
func TestHardwareDuplicates(t *testing.T) {
	pkts := with(handshake,
		pk{6, Client, FA, 1011, 5021, 0},
		pk{7, Server, A, 5021, 1012, 0},
		pk{8, Server, FA, 5021, 1012, 0},
		pk{9, Client, A, 1012, 5022, 0})
	tr := New(Config{})
	n := 0
	for i, p := range pkts {
		seg := segOf(i, p, cliAddr, srvAddr)
		seg.IPID = uint16(100 + i) // IDs change from packet to packet
		copies := 2
		if i < 2 {
			copies = 1
		}
		for copy := 0; copy < copies; copy++ {
			n++
			seg.Packet = uint64(n)
			tr.Process(&seg)
		}
	}
	tr.Finish()
	checkInvariants(t, tr)
	c := tr.Conns()[0]
	if c.Ends[Client].State != TimeWait || c.Ends[Server].State != Closed {
		t.Errorf("states %s %s, want TIME_WAIT CLOSED\n%s", c.Ends[Client].State, c.Ends[Server].State, transitionsOf(c))
	}
	for _, a := range c.Anomalies {
		if a.Severity > Info {
			t.Errorf("unexpected anomaly %s: %s", a.Kind, a.Detail)
		}
	}
}

func TestPortReuse(t *testing.T) {
	closed := with(handshake,
		pk{6, Client, FA, 1011, 5021, 0},
		pk{7, Server, FA, 5021, 1012, 0},
		pk{8, Client, A, 1012, 5022, 0},
		pk{9, Server, A, 5022, 1012, 0})
	tr := runPkts(Config{}, with(closed,
		pk{5000, Client, S, 90000, 0, 0},
		pk{5001, Server, SA, 70000, 90001, 0},
		pk{5002, Client, A, 90001, 70001, 0}))
	cs := tr.Conns()
	if len(cs) != 2 {
		t.Fatalf("got %d connections, want 2", len(cs))
	}
	if got := cs[0].Ends[Client].State; got != Closed {
		t.Errorf("old connection's client %s, want CLOSED (TIME_WAIT taken over)", got)
	}
	if got := kindsOf(cs[1]); got != "port_reuse/client/info" {
		t.Errorf("new connection anomalies %q", got)
	}
	if cs[1].Ends[Client].State != Established || cs[1].Ends[Server].State != Established {
		t.Errorf("new connection states %s %s", cs[1].Ends[Client].State, cs[1].Ends[Server].State)
	}
}

func TestCloseWaitPileup(t *testing.T) {
	tr := New(Config{Pileup: 10})
	pkt := 0
	for i := 0; i < 12; i++ {
		cli := netip.AddrPortFrom(cliAddr.Addr(), uint16(40000+i))
		for _, p := range []pk{
			{0, Client, S, 1000, 0, 0},
			{1, Server, SA, 5000, 1001, 0},
			{2, Client, A, 1001, 5001, 0},
			{3, Client, FA, 1001, 5001, 0},
			{4, Server, A, 5001, 1002, 0},
		} {
			p.ms += int64(i) * 10
			seg := segOf(pkt, p, cli, srvAddr)
			pkt++
			tr.Process(&seg)
		}
	}
	tr.Finish()
	p := tr.Pileups()
	if len(p) != 1 || p[0].Kind != CloseWaitPileup || p[0].Peak != 12 || p[0].Endpoint != srvAddr.String() {
		t.Fatalf("pileups %+v, want one close_wait_pileup of 12 on %s", p, srvAddr)
	}
}

func TestClassify(t *testing.T) {
	tests := []struct {
		f       tcp.Flags
		want    class
		invalid bool
	}{
		{S, clsSYN, false},
		{SA, clsSYNACK, false},
		{A, clsACK, false},
		{PA, clsACK, false},
		{FA, clsFIN, false},
		{FA | tcp.PSH, clsFIN, false},
		{R, clsRST, false},
		{RA, clsRST, false},
		{S | tcp.FIN, 0, true},
		{S | R, 0, true},
		{tcp.FIN, 0, true},
		{tcp.FIN | tcp.PSH | tcp.URG, 0, true}, // nmap Xmas scan
		{0, 0, true},
		{tcp.PSH, 0, true},
		{tcp.FIN | tcp.SYN | tcp.RST | tcp.PSH | tcp.ACK | tcp.URG, 0, true},
		{S | tcp.ECE | tcp.CWR, clsSYN, false}, // ECN setup SYN
	}
	for _, tt := range tests {
		got, why := classify(tt.f)
		if (why != "") != tt.invalid || (!tt.invalid && got != tt.want) {
			t.Errorf("classify(%s) = %s, %q; want %s invalid=%v", tt.f, got, why, tt.want, tt.invalid)
		}
	}
}

func TestLifecycle(t *testing.T) {
	closed := with(handshake,
		pk{6, Client, RA, 1011, 5021, 0})
	t.Run("closed connections are handed over after the linger", func(t *testing.T) {
		var done []*Conn
		tr := New(Config{OnDone: func(c *Conn) { done = append(done, c) }})
		for i, p := range closed {
			seg := segOf(i, p, cliAddr, srvAddr)
			tr.Process(&seg)
		}
		if len(done) != 0 || tr.Live() != 1 {
			t.Fatalf("handed over %d, live %d before the linger passed", len(done), tr.Live())
		}
		tr.Advance(10 * int64(time.Second))
		if len(done) != 1 || done[0].Ended != EndedClosed || tr.Live() != 0 {
			t.Fatalf("after the linger: handed over %d, live %d", len(done), tr.Live())
		}
		if tr.Conns() != nil {
			t.Errorf("with OnDone the tracker must not keep connections")
		}
	})
	t.Run("idle connections expire", func(t *testing.T) {
		var done []*Conn
		tr := New(Config{IdleTimeout: time.Minute, OnDone: func(c *Conn) { done = append(done, c) }})
		for i, p := range handshake {
			seg := segOf(i, p, cliAddr, srvAddr)
			tr.Process(&seg)
		}
		tr.Advance(int64(59 * time.Second))
		if len(done) != 0 {
			t.Fatalf("expired too early")
		}
		tr.Advance(int64(61 * time.Second))
		if len(done) != 1 || done[0].Ended != EndedIdle || tr.Expired() != 1 {
			t.Fatalf("not expired: %d handed over", len(done))
		}
		if done[0].Ends[Client].State != Established {
			t.Errorf("an expired connection keeps its states, got %s", done[0].Ends[Client].State)
		}
	})
	t.Run("a full table evicts the least recently active", func(t *testing.T) {
		// SYN-only connections wait as embryos, four to a connection's
		// room: a table of one holds four.
		var done []*Conn
		tr := New(Config{MaxConnections: 1, OnDone: func(c *Conn) { done = append(done, c) }})
		for i := 0; i < 6; i++ {
			cli := netip.AddrPortFrom(cliAddr.Addr(), uint16(40000+i))
			seg := segOf(i, pk{int64(i) * 10, Client, S, 1000, 0, 0}, cli, srvAddr)
			tr.Process(&seg)
			if i == 2 {
				// Keep the first connection busy so that it is not the oldest.
				seg := segOf(i, pk{int64(i)*10 + 5, Client, S, 1000, 0, 0}, netip.AddrPortFrom(cliAddr.Addr(), 40000), srvAddr)
				tr.Process(&seg)
			}
		}
		if tr.Evicted() != 2 || tr.Live() != 4 {
			t.Fatalf("evicted %d, live %d; want 2 and 4", tr.Evicted(), tr.Live())
		}
		if done[0].ID != 2 || done[1].ID != 3 {
			t.Errorf("evicted connections %d and %d, want 2 and 3 (1 was active)", done[0].ID, done[1].ID)
		}
		tr.Finish()
		if len(done) != 6 || done[2].Ended != EndedAtCaptureEnd || done[2].ID != 1 {
			t.Errorf("Finish must hand over the rest in id order")
		}
		if got := kindsOf(done[0]); got != "syn_unanswered/client/info" {
			t.Errorf("an evicted connection's end-of-life anomalies are settled, got %q", got)
		}
	})
	t.Run("embryos that go on make room as whole connections", func(t *testing.T) {
		// 32 half-open connections fit as embryos in a table of 8; as their
		// handshakes complete, each needs a whole connection's room.
		tr := New(Config{MaxConnections: 8, OnDone: func(*Conn) {}})
		cli := func(i int) netip.AddrPort { return netip.AddrPortFrom(cliAddr.Addr(), uint16(40000+i)) }
		for i := 0; i < 32; i++ {
			for j, p := range handshake[:2] {
				seg := segOf(2*i+j, p, cli(i), srvAddr)
				tr.Process(&seg)
			}
		}
		if tr.Evicted() != 0 || tr.Live() != 32 {
			t.Fatalf("evicted %d, live %d; want 0 and 32 embryos", tr.Evicted(), tr.Live())
		}
		for i := 0; i < 32; i++ {
			seg := segOf(100+i, handshake[2], cli(i), srvAddr)
			tr.Process(&seg)
			if room := tr.flows.len() + tr.embryos.len()/embryoWeight; room > 8 {
				t.Fatalf("after %d handshakes the table holds %d connections and %d embryos: more than 8", i+1, tr.flows.len(), tr.embryos.len())
			}
		}
		if tr.Evicted() == 0 || tr.flows.len() != 8 {
			t.Fatalf("evicted %d, %d connections in the table; want evictions and 8", tr.Evicted(), tr.flows.len())
		}
	})
	t.Run("established connections count one each", func(t *testing.T) {
		var done []*Conn
		tr := New(Config{MaxConnections: 3, OnDone: func(c *Conn) { done = append(done, c) }})
		for i := 0; i < 5; i++ {
			cli := netip.AddrPortFrom(cliAddr.Addr(), uint16(40000+i))
			for j, p := range handshake {
				p.ms += int64(i) * 10
				seg := segOf(i*10+j, p, cli, srvAddr)
				tr.Process(&seg)
			}
		}
		if tr.Evicted() != 2 || tr.Live() != 3 || done[0].ID != 1 || done[1].ID != 2 {
			t.Fatalf("evicted %d, live %d; want the two oldest of 5 evicted, 3 live", tr.Evicted(), tr.Live())
		}
	})
}
