package synth

import (
	"bytes"
	"io"
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/tcptrace/tcptrace/tcp"
)

func TestSYNFlood(t *testing.T) {
	target := netip.MustParseAddrPort("198.18.7.7:443")
	cfg := FloodConfig{Seed: 9, Packets: 60_000, Target: target, RSTShare: 0.25}
	var b bytes.Buffer
	st, err := WriteSYNFlood(&b, cfg)
	if err != nil {
		t.Fatal(err)
	}
	got := readPcap(t, bytes.NewReader(b.Bytes())) // checks every checksum
	if len(got) != cfg.Packets || st.Packets != int64(cfg.Packets) {
		t.Fatalf("%d packets, stats %d", len(got), st.Packets)
	}
	sources := map[netip.AddrPort]bool{}
	var syns, rsts int
	lastISN := map[netip.AddrPort]uint32{}
	for i, d := range got {
		switch d.flags {
		case tcp.SYN:
			syns++
			if d.dst != target {
				t.Fatalf("packet %d: SYN to %v", i+1, d.dst)
			}
			if sources[d.src] {
				t.Fatalf("packet %d: source %v repeats", i+1, d.src)
			}
			sources[d.src] = true
			lastISN[d.src] = d.seq
			a := d.src.Addr().As4()
			if a[0] == 0 || a[0] == 10 || a[0] == 127 || a[0] >= 224 {
				t.Errorf("packet %d: impossible source %v", i+1, d.src)
			}
		case tcp.RST | tcp.ACK:
			rsts++
			if d.src != target || d.ack != lastISN[d.dst]+1 || d.seq != 0 {
				t.Fatalf("packet %d: RST %v -> %v ack %d", i+1, d.src, d.dst, d.ack)
			}
		default:
			t.Fatalf("packet %d: flags %v", i+1, d.flags)
		}
		if i > 0 && d.time.Before(got[i-1].time) {
			t.Fatalf("packet %d: time goes back", i+1)
		}
	}
	if share := float64(rsts) / float64(syns); share < 0.23 || share > 0.27 {
		t.Errorf("RST share %.3f, want 0.25", share)
	}
	if st.Probes != int64(syns) {
		t.Errorf("stats count %d SYNs, read %d", st.Probes, syns)
	}
	// 1 M SYN/s by default.
	if d, want := got[len(got)-1].time.Sub(got[0].time).Seconds(), float64(syns)/1e6; d < want*0.95 || d > want*1.05 {
		t.Errorf("flood of %d SYNs lasts %.4f s, want %.4f", syns, d, want)
	}

	var again bytes.Buffer
	if _, err := WriteSYNFlood(&again, cfg); err != nil || !bytes.Equal(again.Bytes(), b.Bytes()) {
		t.Errorf("same seed, different bytes (%v)", err)
	}
}

// TestScrambleIsABijection inverts scramble, which is what makes every
// flood source distinct.
func TestScrambleIsABijection(t *testing.T) {
	unscramble := func(x uint32) uint32 {
		x ^= x >> 16
		x *= 0x43021123 // inverse of 0x846ca68b modulo 2^32
		x ^= x>>15 ^ x>>30
		x *= 0x1d69e2a5 // inverse of 0x7feb352d
		x ^= x >> 16
		return x
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 100000 {
		x := r.Uint32()
		if got := unscramble(scramble(x)); got != x {
			t.Fatalf("unscramble(scramble(%#x)) = %#x", x, got)
		}
	}
}

func TestFloodConfigErrors(t *testing.T) {
	for _, cfg := range []FloodConfig{
		{Packets: -1},
		{Packets: 1, Rate: -1},
		{Packets: 1, Target: netip.MustParseAddrPort("[2001:db8::1]:80")},
	} {
		if _, err := WriteSYNFlood(io.Discard, cfg); err == nil {
			t.Errorf("%+v: no error", cfg)
		}
	}
}

func BenchmarkWriteSYNFlood(b *testing.B) {
	b.ReportAllocs()
	st, err := WriteSYNFlood(io.Discard, FloodConfig{Seed: 1, Packets: b.N, RSTShare: 0.5})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(st.Packets)/b.Elapsed().Seconds(), "packets/s")
}
