package tracker

import (
	"bytes"
	"math"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"github.com/tcptrace/tcptrace/capture"
	"github.com/tcptrace/tcptrace/synth"
	"github.com/tcptrace/tcptrace/tcp"
)

// TestWordsRoundTrip: appendWords and readWords give back every word, zero
// runs, times near the base and far from it, and extremes.
func TestWordsRoundTrip(t *testing.T) {
	const base = int64(1_704_110_400_000_051_000)
	rng := rand.New(rand.NewPCG(7, 7))
	cases := map[string][]uint64{
		"empty":      {},
		"zeros":      make([]uint64, 300), // more than one run
		"extremes":   {math.MaxUint64, 1, 0, 1 << 63, uint64(base), uint64(base - 1), uint64(base + 1), 1<<63 | 5, math.MaxInt64},
		"small":      {1, 2, 255, 256, 65535, 1 << 32, 0, 0, 7},
		"near base":  {uint64(base + 1e9), uint64(base - 5e9), uint64(base + 70e9), 0, uint64(base)},
		"one zero":   {5, 0, 5},
		"zero first": {0, 0, 0, 9},
	}
	random := make([]uint64, 5000)
	for i := range random {
		switch rng.IntN(4) {
		case 0:
			random[i] = rng.Uint64()
		case 1:
			random[i] = uint64(base + rng.Int64N(1e11) - 5e10)
		case 2:
			random[i] = rng.Uint64N(1 << rng.UintN(64))
		case 3:
			// sequence numbers near the ISNs of the bases below (the
			// time's low half, and 0xfffffff0), wrapping
			lo, hi := uint32(base&0xffffffff)+uint32(rng.IntN(5000))-2500, 0xfffffff0+uint32(rng.IntN(40))
			if rng.IntN(2) == 0 {
				lo, hi = hi, lo
			}
			random[i] = uint64(hi)<<32 | uint64(lo)
		}
	}
	cases["random"] = random
	for name, ws := range cases {
		likes := map[string][]uint64{"zero": make([]uint64, len(ws)), "itself": ws, "random": make([]uint64, len(ws))}
		for i := range likes["random"] {
			if rng.IntN(2) == 0 && i < len(ws) {
				likes["random"][i] = ws[i] ^ uint64(rng.IntN(3))<<(8*rng.UintN(8))
			}
		}
		for likeName, like := range likes {
			for _, b := range []int64{base, 0, math.MinInt64, math.MaxInt64} {
				bs := bases{time: b, isn: [2]uint32{uint32(b), 0xfffffff0}}
				enc := appendWords(nil, ws, like, &bs)
				bs = bases{time: b, isn: bs.isn} // what was written before is the reader's to learn
				got := make([]uint64, len(ws))
				for i := range got {
					got[i] = 0xdead // readWords must write every word
				}
				if rest := readWords(got, like, string(append(enc, 0xaa)), &bs); len(rest) != 1 || rest[0] != 0xaa {
					t.Fatalf("%s like %s, base %d: %d bytes left over, want the one after", name, likeName, b, len(rest))
				}
				if !slices.Equal(got, ws) {
					t.Fatalf("%s like %s, base %d: got %x, want %x", name, likeName, b, got, ws)
				}
				if likeName == "itself" && len(enc) > (len(ws)+126)/127 {
					t.Fatalf("%s: %d bytes for words all like their template", name, len(enc))
				}
			}
		}
	}
	// Times near the base take less than their eight bytes.
	if n := len(appendWords(nil, []uint64{uint64(base + 30e9)}, []uint64{0}, &bases{time: base})); n > 6 {
		t.Errorf("a time 30 s after the base takes %d bytes", n)
	}
	// A word written again takes a byte.
	if n := len(appendWords(nil, []uint64{uint64(base), 7, uint64(base)}, []uint64{0, 0, 0}, &bases{})); n != 9+2+1 {
		t.Errorf("a word and its repetition take %d bytes", n)
	}
	// Two sequence numbers near the ISNs take a few bytes.
	isn := bases{isn: [2]uint32{0xfffff000, 12345}}
	if n := len(appendWords(nil, []uint64{uint64(12345+70000)<<32 | uint64(0xfffff000+2000)}, []uint64{0}, &isn)); n > 7 {
		t.Errorf("two sequence numbers near the ISNs take %d bytes", n)
	}
}

// TestPointerWords: the words freeze keeps out of a connection's image are
// the ones holding pointers: Transitions, Anomalies, ref, per endpoint its
// deferred receipt and its address's zone, and the sequence analysis'
// in-flight state.
func TestPointerWords(t *testing.T) {
	if got := len(connPointerWords); got != 8 {
		t.Errorf("Conn has %d pointer words (%v); freeze knows of 8", got, connPointerWords)
	}
	type noPointers struct {
		a int64
		b [3]uint16
	}
	if got := pointerWords(reflect.TypeFor[noPointers](), 0, nil); len(got) != 0 {
		t.Errorf("pointer words %v in a struct without pointers", got)
	}
	type some struct {
		a int64
		s string
		x [2]struct {
			n int32
			p *int
		}
		i any
	}
	if got, want := pointerWords(reflect.TypeFor[some](), 0, nil), []int{1, 4, 6, 7, 8}; !slices.Equal(got, want) {
		t.Errorf("pointer words %v, want %v", got, want)
	}
}

// TestPileForgetting: a pile that empties below the threshold is dropped,
// and the pileup it makes later is reported with the same peak and time as
// when it is kept.
func TestPileForgetting(t *testing.T) {
	tr := New(Config{Pileup: 3})
	e := &Endpoint{Addr: netip.MustParseAddrPort("10.0.0.1:80")}
	steps := []struct {
		enter bool
		at    int64
	}{{true, 1}, {true, 2}, {false, 3}, {false, 4}, {true, 5}, {true, 6}, {true, 7}, {true, 8}, {false, 9}, {false, 10}, {false, 11}, {false, 12}, {true, 13}}
	for i, s := range steps {
		for _, st := range []State{CloseWait, TimeWait} {
			if s.enter {
				tr.enter(e, st, s.at)
			} else {
				tr.leave(e, st)
			}
		}
		if i == 3 && (len(tr.closeWait) != 0 || len(tr.timeWait) != 0) {
			t.Fatalf("empty piles below the threshold kept: %v %v", tr.closeWait, tr.timeWait)
		}
	}
	got := tr.Pileups()
	want := []Pileup{{Kind: CloseWaitPileup, Endpoint: "10.0.0.1:80", Peak: 4, Time: 8}, {Kind: TimeWaitPileup, Endpoint: "10.0.0.1", Peak: 4, Time: 8}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("pileups %+v, want %+v", got, want)
	}
}

// TestFrozenLike: the images are written against a whole connection's, not
// against whatever froze first: a stray RST at the start of the capture
// (frozen at once, CLOSED on both sides) leaves them as small.
func TestFrozenLike(t *testing.T) {
	var mix bytes.Buffer
	if _, err := synth.WriteMix(&mix, synth.DefaultMix(9, 60_000)); err != nil {
		t.Fatal(err)
	}
	segs := decodeAll(t, mix.Bytes())
	rst := tcp.Segment{Time: segs[0].Time, Src: netip.MustParseAddrPort("192.0.2.1:1"), Dst: netip.MustParseAddrPort("192.0.2.2:2"), Flags: tcp.RST}
	imageBytes := func(segs []tcp.Segment) float64 {
		tr := New(Config{OnDone: func(*Conn) {}})
		for i := range segs {
			tr.Process(&segs[i])
		}
		n, size := 0, 0
		for _, s := range tr.frozen.slots {
			if s.v != nil {
				n++
				size += len(s.v.image)
			}
		}
		if n < 100 {
			t.Fatalf("%d connections frozen at the end", n)
		}
		return float64(size) / float64(n)
	}
	plain, stray := imageBytes(segs), imageBytes(append([]tcp.Segment{rst}, segs...))
	if stray > plain*1.05 {
		t.Errorf("images average %.0f bytes after a stray RST, %.0f without", stray, plain)
	}
}

// decodeAll decodes the TCP segments of a capture held in memory.
func decodeAll(t testing.TB, data []byte) []tcp.Segment {
	t.Helper()
	path := filepath.Join(t.TempDir(), "in.pcap")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := capture.Files([]string{path}, capture.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var segs []tcp.Segment
	for seg, err := range r.TCP() {
		if err != nil {
			t.Fatal(err)
		}
		segs = append(segs, *seg)
	}
	return segs
}
