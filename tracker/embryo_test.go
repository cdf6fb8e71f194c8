package tracker_test

import (
	"bytes"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/tcptrace/tcptrace/report"
	"github.com/tcptrace/tcptrace/synth"
	"github.com/tcptrace/tcptrace/tcp"
	"github.com/tcptrace/tcptrace/tracker"
)

// TestEmbryosChangeNothing: connections that wait as compact embryos (SYNs,
// SYN-ACKs and their copies) and hatch by replay end exactly as when every
// segment is applied to a full connection at once. Streaming transitions
// turns embryos off, which gives the reference. Every connection's whole
// JSON record must be the same, on floods (half-open, refused, unanswered,
// retransmitted SYNs), the benchmark mix and the kernel's captures.
func TestEmbryosChangeNothing(t *testing.T) {
	inputs := map[string][]tcp.Segment{}
	var flood bytes.Buffer
	if _, err := synth.WriteSYNFlood(&flood, synth.RealisticFlood(3, 30_000)); err != nil {
		t.Fatal(err)
	}
	inputs["realistic-flood"] = tracker.DecodeAll(t, flood.Bytes())
	refused := synth.RealisticFlood(4, 20_000)
	refused.RSTShare, refused.SYNACKShare = 0.3, 0.5 // second SYNs after an RST
	flood.Reset()
	if _, err := synth.WriteSYNFlood(&flood, refused); err != nil {
		t.Fatal(err)
	}
	inputs["flood-with-resets"] = tracker.DecodeAll(t, flood.Bytes())
	// Time going back now and then: replayed copies must meet the timers
	// the original order met.
	back := slices.Clone(inputs["realistic-flood"])
	for i := 50; i < len(back); i += 97 {
		back[i].Time -= 1_500_000_000
	}
	inputs["flood-time-back"] = back
	var mix bytes.Buffer
	if _, err := synth.WriteMix(&mix, synth.DefaultMix(5, 40_000)); err != nil {
		t.Fatal(err)
	}
	inputs["mix"] = tracker.DecodeAll(t, mix.Bytes())
	// The same, 2,000 times slower (90 s): idle connections (half-closed
	// ones, quiet ones) frozen and thawed by their next packet or timer.
	slow := slices.Clone(inputs["mix"])
	for i := range slow {
		slow[i].Time = slow[0].Time + (slow[i].Time-slow[0].Time)*2000
	}
	inputs["mix-slow"] = slow
	// Addresses the flow key cannot tell apart (IPv4, and IPv4 mapped into
	// IPv6) on one 4-tuple, and a zone.
	for _, pair := range [][2]string{{"10.0.0.1:40000", "10.0.0.2:80"}, {"[::ffff:10.0.0.1]:40000", "[::ffff:10.0.0.2]:80"}, {"[fe80::1%eth0]:40000", "[fe80::2%eth0]:80"}} {
		cli, srv := netip.MustParseAddrPort(pair[0]), netip.MustParseAddrPort(pair[1])
		inputs["addresses "+pair[0]] = append(inputs["addresses "+pair[0]],
			tcp.Segment{Time: 1e9, Packet: 1, Src: cli, Dst: srv, Seq: 100, Flags: tcp.SYN},
			tcp.Segment{Time: 2e9, Packet: 2, Src: srv, Dst: cli, Seq: 500, Ack: 101, Flags: tcp.SYN | tcp.ACK},
			tcp.Segment{Time: 3e9, Packet: 3, Src: netip.MustParseAddrPort("[::ffff:10.0.0.1]:40000"), Dst: netip.MustParseAddrPort("[::ffff:10.0.0.2]:80"), Seq: 100, Flags: tcp.SYN},
			tcp.Segment{Time: 4e9, Packet: 4, Src: srv, Dst: cli, Seq: 500, Ack: 101, Flags: tcp.SYN | tcp.ACK},
			tcp.Segment{Time: 5e9, Packet: 5, Src: cli, Dst: srv, Seq: 101, Flags: tcp.RST})
	}
	// Invalid addresses (the API allows them; the flow key holds them as
	// ::): a connection closed midstream, frozen, then thawed by a late
	// packet.
	a, b := netip.AddrPortFrom(netip.Addr{}, 5), netip.AddrPortFrom(netip.Addr{}, 80)
	inputs["invalid addresses"] = []tcp.Segment{
		{Time: 3e9, Packet: 1, Src: a, Dst: b, Seq: 100, Ack: 500, Flags: tcp.ACK},
		{Time: 4e9, Packet: 2, Src: a, Dst: b, Seq: 100, Ack: 500, Flags: tcp.FIN | tcp.ACK},
		{Time: 5e9, Packet: 3, Src: b, Dst: a, Seq: 500, Ack: 101, Flags: tcp.FIN | tcp.ACK},
		{Time: 6e9, Packet: 4, Src: a, Dst: b, Seq: 101, Ack: 501, Flags: tcp.ACK},
		{Time: 100e9, Packet: 5, Src: b, Dst: a, Seq: 501, Ack: 101, Flags: tcp.ACK},
	}
	kernel, _ := filepath.Glob("../testdata/pcaps/*/*.pcap")
	for _, f := range kernel {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		inputs[filepath.Base(f)] = tracker.DecodeAll(t, data)
	}
	if len(kernel) < 10 {
		t.Fatalf("only %d captures under testdata/pcaps", len(kernel))
	}
	for name, segs := range inputs {
		// A short idle timeout also ends embryos and connections alike
		// before the capture does. (Eviction is not compared: embryos
		// take a quarter of a connection's room in the table.)
		want0 := records(segs, tracker.Config{OnTransition: func(*tracker.Conn, tracker.Transition) {}}, 0)
		for _, idle := range []time.Duration{0, 2 * time.Second} {
			want := want0
			if idle != 0 {
				want = records(segs, tracker.Config{IdleTimeout: idle, OnTransition: func(*tracker.Conn, tracker.Transition) {}}, 0)
			}
			// Sweeping for idle connections after every packet freezes
			// and thaws the most.
			for _, sweep := range []int{0, 1} {
				got := records(segs, tracker.Config{IdleTimeout: idle}, sweep)
				if len(got) != len(want) {
					t.Fatalf("%s, idle %s, sweep %d: %d connections with embryos, %d without", name, idle, sweep, len(got), len(want))
				}
				for i := range got {
					if !bytes.Equal(got[i], want[i]) {
						t.Fatalf("%s, idle %s, sweep %d: connection %d differs with embryos and frozen connections:\n got %s\nwant %s", name, idle, sweep, i+1, got[i], want[i])
					}
				}
			}
		}
	}
}

// TestRecycleChangesNothing: connections built in recycled memory end as
// new ones do.
func TestRecycleChangesNothing(t *testing.T) {
	var mix bytes.Buffer
	if _, err := synth.WriteMix(&mix, synth.DefaultMix(6, 30_000)); err != nil {
		t.Fatal(err)
	}
	cli, srv := netip.MustParseAddrPort("10.0.0.1:40000"), netip.MustParseAddrPort("10.0.0.2:80")
	for name, segs := range map[string][]tcp.Segment{
		"mix": tracker.DecodeAll(t, mix.Bytes()),
		// A new SYN ends the connection of the first one, which the tracker
		// still reads while it starts the next.
		"reused 4-tuple": {
			{Time: 1e9, Packet: 1, Src: cli, Dst: srv, Seq: 100, Flags: tcp.SYN},
			{Time: 2e9, Packet: 2, Src: cli, Dst: srv, Seq: 5000, Flags: tcp.SYN},
			{Time: 3e9, Packet: 3, Src: cli, Dst: srv, Seq: 9000, Flags: tcp.SYN},
		},
		// The client's RST ends the connection within its own step.
		"reset in SYN_SENT": {
			{Time: 1e9, Packet: 1, Src: cli, Dst: srv, Seq: 100, Flags: tcp.SYN},
			{Time: 2e9, Packet: 2, Src: cli, Dst: srv, Seq: 101, Flags: tcp.RST},
			{Time: 3e9, Packet: 3, Src: cli, Dst: srv, Seq: 700, Flags: tcp.SYN},
		},
	} {
		got := records(segs, tracker.Config{OnDone: tracker.Recycle}, 0)
		want := records(segs, tracker.Config{}, 0)
		if len(got) != len(want) || len(got) == 0 || name == "mix" && len(got) < 100 {
			t.Fatalf("%s: %d connections recycled, %d not", name, len(got), len(want))
		}
		for i := range got {
			if !bytes.Equal(got[i], want[i]) {
				t.Fatalf("%s: connection %d differs when recycled:\n got %s\nwant %s", name, i+1, got[i], want[i])
			}
		}
	}
}

// records runs the tracker and renders every connection, in id order; then
// it calls cfg.OnDone, if set, with the connection. A sweep other than 0
// sweeps for idle connections to freeze every sweep packets.
func records(segs []tcp.Segment, cfg tracker.Config, sweep int) [][]byte {
	type rec struct {
		id   uint64
		line []byte
	}
	var out []rec
	then := cfg.OnDone
	cfg.OnDone = func(c *tracker.Conn) {
		out = append(out, rec{c.ID, report.AppendConn(nil, c)})
		if then != nil {
			then(c)
		}
	}
	tr := tracker.New(cfg)
	if sweep != 0 {
		tracker.SetSweepEvery(tr, sweep)
	}
	for i := range segs {
		seg := segs[i]
		tr.Process(&seg)
	}
	tr.Finish()
	slices.SortFunc(out, func(a, b rec) int { return int(a.id) - int(b.id) })
	lines := make([][]byte, len(out))
	for i, r := range out {
		lines[i] = r.line
	}
	return lines
}

// TestFreezeHappens: on the benchmark mix most connections waiting out
// TIME_WAIT are frozen (a pointer field added to Conn and not kept aside by
// freeze would stop that), idle open ones too (half-closed ones waiting for
// their peer), and none is left frozen after Finish.
func TestFreezeHappens(t *testing.T) {
	var mix bytes.Buffer
	if _, err := synth.WriteMix(&mix, synth.DefaultMix(8, 300_000)); err != nil {
		t.Fatal(err)
	}
	segs := tracker.DecodeAll(t, mix.Bytes())
	done := 0
	tr := tracker.New(tracker.Config{OnDone: func(*tracker.Conn) { done++ }})
	most, mostOpen := 0, 0
	for i := range segs {
		tr.Process(&segs[i])
		most = max(most, tracker.FrozenCount(tr))
		if i%1000 == 0 {
			mostOpen = max(mostOpen, tracker.FrozenOpen(tr))
		}
	}
	if mostOpen < 10 {
		t.Errorf("at most %d idle open connections frozen at once", mostOpen)
	}
	t.Logf("at most %d idle open connections frozen at once", mostOpen)
	atEnd := tr.Live()
	tr.Finish()
	if most < atEnd/2 || most < 100 {
		t.Errorf("at most %d connections frozen at once; %d were live at the end", most, atEnd)
	}
	if n := tracker.FrozenCount(tr); n != 0 {
		t.Errorf("%d connections still frozen after Finish", n)
	}
	t.Logf("%d connections, at most %d frozen, %d live at the end", done, most, atEnd)
}
