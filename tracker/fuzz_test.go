package tracker

import (
	"cmp"
	"encoding/binary"
	"net/netip"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/tcptrace/tcptrace/tcp"
)

// checkInvariants asserts what must hold for any input: states are valid,
// each endpoint's transitions chain (every From is the previous To, starting
// at its initial state, ending at its final state) and never go back in
// time by more than the input did, and anomaly counts are positive.
func checkInvariants(t *testing.T, tr *Tracker) {
	t.Helper()
	for _, c := range tr.Conns() {
		cur := [2]State{c.Ends[Client].Initial, c.Ends[Server].Initial}
		for _, x := range c.Transitions {
			if x.Side > Server {
				t.Fatalf("conn %d: transition with side %v", c.ID, x.Side)
			}
			if x.From != cur[x.Side] {
				t.Fatalf("conn %d: %s transition from %s, but it was in %s\n%s", c.ID, x.Side, x.From, cur[x.Side], transitionsOf(c))
			}
			if x.From == x.To {
				t.Fatalf("conn %d: transition to the same state %s", c.ID, x.To)
			}
			if x.InFrom < 0 {
				t.Fatalf("conn %d: negative time in state", c.ID)
			}
			cur[x.Side] = x.To
		}
		for s := Client; s <= Server; s++ {
			if c.Ends[s].State >= numStates {
				t.Fatalf("conn %d: invalid state %d", c.ID, c.Ends[s].State)
			}
			if cur[s] != c.Ends[s].State {
				t.Fatalf("conn %d: %s transitions end in %s, state is %s", c.ID, s, cur[s], c.Ends[s].State)
			}
		}
		for _, a := range c.Anomalies {
			if a.Count < 1 || a.Kind >= numKinds || a.Detail == "" {
				t.Fatalf("conn %d: bad anomaly %+v", c.ID, a)
			}
		}
	}
	for a, p := range tr.closeWait {
		if p.count < 0 {
			t.Fatalf("negative CLOSE_WAIT count on %s", a)
		}
	}
	for a, p := range tr.timeWait {
		if p.count < 0 {
			t.Fatalf("negative TIME_WAIT count on %s", a)
		}
	}
}

// segmentsFrom turns fuzz bytes into segments on a few 4-tuples, with
// sequence numbers near a handful of bases so that the state machine's
// interesting cases (exact ISN+1, FIN+1, wrap-around) are reachable.
func segmentsFrom(data []byte) []tcp.Segment {
	addrs := []netip.AddrPort{
		netip.MustParseAddrPort("10.0.0.1:40000"),
		netip.MustParseAddrPort("10.0.0.2:80"),
		netip.MustParseAddrPort("10.0.0.1:40001"),
		netip.MustParseAddrPort("[2001:db8::1]:443"),
	}
	bases := []uint32{1000, 5000, 0xfffffff0, 0}
	var out []tcp.Segment
	var now int64
	for len(data) >= 8 {
		b := data[:8]
		data = data[8:]
		src, dst := addrs[b[0]&3], addrs[(b[0]>>2)&3]
		if src == dst {
			continue
		}
		now += int64(binary.LittleEndian.Uint16(b[6:8])) * 1e6 // up to 65 s between packets
		out = append(out, tcp.Segment{
			Time: now, Packet: uint64(len(out) + 1), Src: src, Dst: dst,
			Flags:      tcp.Flags(b[1]) | tcp.Flags(b[0]>>4&1)<<8,
			Seq:        tcp.Seq(bases[b[2]&3] + uint32(b[2]>>2)),
			Ack:        tcp.Seq(bases[b[3]&3] + uint32(b[3]>>2)),
			PayloadLen: uint32(b[4] & 0x3f),
			Window:     uint16(b[5]) << 4,
		})
	}
	return out
}

func FuzzTracker(f *testing.F) {
	// Seeds: a normal connection and a simultaneous close, encoded as above.
	f.Add([]byte{
		0x04, 0x02, 0x00, 0x00, 0, 0xff, 0, 0, // client SYN seq 1000
		0x01, 0x12, 0x01, 0x04, 0, 0xff, 1, 0, // server SYN-ACK seq 5000 ack 1001
		0x04, 0x10, 0x04, 0x05, 0, 0xff, 1, 0, // client ACK
		0x04, 0x11, 0x04, 0x05, 0, 0xff, 1, 0, // client FIN
		0x01, 0x11, 0x05, 0x08, 0, 0xff, 1, 0, // server FIN
		0x04, 0x10, 0x08, 0x09, 0, 0xff, 1, 0, // client ACK
	})
	f.Add([]byte{0x04, 0x02, 0x02, 0, 0, 0, 0, 0, 0x01, 0x14, 0, 0x06, 0, 0, 1, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		segs := segmentsFrom(data)
		tr := New(Config{Pileup: 2})
		for i := range segs {
			tr.Process(&segs[i])
		}
		tr.Finish()
		checkInvariants(t, tr)
		_ = tr.Pileups()
		for _, c := range tr.Conns() {
			_, _ = c.History(), c.ConnState()
		}
	})
}

// FuzzEmbryos: whatever the segments, connections that waited as embryos
// or frozen end exactly as when every segment was applied to a full
// connection at once (streaming transitions turns both off).
func FuzzEmbryos(f *testing.F) {
	f.Add([]byte{
		0x04, 0x02, 0x00, 0x00, 0, 0xff, 0, 0, // client SYN
		0x04, 0x02, 0x00, 0x00, 0, 0xff, 1, 0, // the same SYN again
		0x01, 0x12, 0x01, 0x04, 0, 0xff, 1, 0, // server SYN-ACK
		0x01, 0x12, 0x01, 0x04, 0, 0xfe, 1, 0, // and again, with timestamps
		0x04, 0x14, 0x04, 0x05, 0, 0xff, 1, 0, // client RST
	})
	f.Fuzz(func(t *testing.T, data []byte) {
		segs := segmentsFrom(data)
		for i := range segs {
			if segs[i].Window&16 == 0 {
				segs[i].Options = tcp.Options{HasTimestamps: true, TSVal: uint32(i), TSEcr: uint32(i / 2), MSS: 1460}
			}
		}
		run := func(cfg Config) []*Conn {
			var done []*Conn
			cfg.Pileup, cfg.IdleTimeout = 2, 90*time.Second
			cfg.OnDone = func(c *Conn) {
				// Empty or nil depends on whether the memory was recycled
				// (frozen connections recycle theirs): no output tells.
				if len(c.Transitions) == 0 {
					c.Transitions = nil
				}
				if len(c.Anomalies) == 0 {
					c.Anomalies = nil
				}
				done = append(done, c)
			}
			tr := New(cfg)
			tr.sweepEvery = 1 // idle connections frozen as soon as can be
			for i := range segs {
				seg := segs[i]
				tr.Process(&seg)
			}
			tr.Finish()
			slices.SortFunc(done, func(a, b *Conn) int { return cmp.Compare(a.ID, b.ID) })
			return done
		}
		got := run(Config{})
		want := run(Config{OnTransition: func(*Conn, Transition) {}})
		if len(got) != len(want) {
			t.Fatalf("%d connections with embryos, %d without", len(got), len(want))
		}
		for i := range got {
			if !reflect.DeepEqual(got[i], want[i]) {
				t.Fatalf("connection %d differs with embryos:\n got %+v\nwant %+v", got[i].ID, *got[i], *want[i])
			}
		}
	})
}
