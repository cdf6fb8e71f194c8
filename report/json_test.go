package report

import (
	"math/rand"
	"testing"
	"time"
)

// TestRFC3339Nano: the hand-written formatter equals time.RFC3339Nano for
// every kind of value (whole seconds, trailing zeros, leap years, far
// dates, before 1970).
func TestRFC3339Nano(t *testing.T) {
	values := []int64{0, 1, 999_999_999, 1_000_000_000, 1_704_110_400_000_000_000, 1_704_110_400_100_000_000,
		951_782_400_000_000_001 /* 2000-02-29 */, 4_102_444_800_000_000_000 /* 2100-01-01 */, -1, -86_400_000_000_001}
	r := rand.New(rand.NewSource(1))
	for i := 0; i < 100000; i++ {
		values = append(values, r.Int63n(1<<62), r.Int63n(4_102_444_800)*1e9, r.Int63n(4_102_444_800)*1e9+r.Int63n(1000)*1e6)
	}
	for _, ns := range values {
		want := time.Unix(0, ns).UTC().Format(time.RFC3339Nano)
		if got := string(appendRFC3339Nano(nil, ns)); got != want {
			t.Fatalf("appendRFC3339Nano(%d) = %s, want %s", ns, got, want)
		}
	}
}
