package tracker

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
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
		}
	}
	cases["random"] = random
	for name, ws := range cases {
		for _, b := range []int64{base, 0, math.MinInt64, math.MaxInt64} {
			enc := appendWords(nil, ws, b)
			got := make([]uint64, len(ws))
			for i := range got {
				got[i] = 0xdead // readWords must write every word
			}
			if rest := readWords(got, append(enc, 0xaa), b); len(rest) != 1 || rest[0] != 0xaa {
				t.Fatalf("%s, base %d: %d bytes left over, want the one after", name, b, len(rest))
			}
			if !slices.Equal(got, ws) {
				t.Fatalf("%s, base %d: got %x, want %x", name, b, got, ws)
			}
		}
	}
	// Times near the base take less than their eight bytes.
	if n := len(appendWords(nil, []uint64{uint64(base + 30e9)}, base)); n > 6 {
		t.Errorf("a time 30 s after the base takes %d bytes", n)
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
	if got := len(transitionPointerWords); got != 1 {
		t.Errorf("Transition has %d pointer words (%v); freeze knows of 1 (the note)", got, transitionPointerWords)
	}
}
