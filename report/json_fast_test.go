package report

import (
	"math"
	"math/rand"
	"net/netip"
	"strconv"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/tcptrace/tcptrace/tcp"
)

// millisEdges are durations around every place integer and float rounding
// could part: rounding boundaries (±499, ±500, ±501 ns past a whole µs) at
// every magnitude, binary fractions that are exact ties (62500 ns = 1/16
// ms), carries into the next ms, 2^53 where float64 stops being exact, and
// the int64 extremes.
func millisEdges() []time.Duration {
	var ds []time.Duration
	add := func(d int64) { ds = append(ds, time.Duration(d), time.Duration(-d)) }
	for _, d := range []int64{0, 1, 2, 499, 500, 501, 999, 1000, 1001, 1499, 1500, 1501, 62_500, 187_500,
		999_499, 999_500, 999_501, 999_999, 1_000_000, 9_999_500, 9_999_499, 9_999_501, 123_456_789} {
		add(d)
	}
	for p := int64(1); p > 0 && p <= math.MaxInt64/10; p *= 10 {
		for _, base := range []int64{p, p * 3, p*7 + 1} {
			for _, r := range []int64{-1, 0, 1, 499, 500, 501} {
				add(base/1000*1000 + r)
			}
		}
	}
	for k := int64(0); k < 2000; k++ {
		add(k * 62_500) // multiples of 1/16 ms: ties that are exact in binary
		add(k*1000 + 500)
	}
	for e := 40; e < 63; e++ {
		for _, off := range []int64{-1501, -1000, -501, -500, -499, -1, 0, 1, 499, 500, 501, 1000, 1501} {
			if v := int64(1)<<e + off; v > 0 {
				add(v)
			}
		}
	}
	add(math.MaxInt64)
	add(math.MaxInt64 - 500)
	ds = append(ds, math.MinInt64, math.MinInt64+1, math.MinInt64+500)
	return ds
}

// TestAppendMillis: the integer formatting equals the float formatting it
// replaces, byte for byte, on edge cases and on random values of every
// magnitude.
func TestAppendMillis(t *testing.T) {
	ds := millisEdges()
	r := rand.New(rand.NewSource(2))
	for i := 0; i < 2_000_000; i++ {
		v := r.Int63() >> r.Intn(63)
		if r.Intn(2) == 0 {
			v = -v
		}
		ds = append(ds, time.Duration(v))
		if i%4 == 0 {
			ds = append(ds, time.Duration(v/1000*1000+500)) // ties, on the float path
		}
	}
	for d, want := range map[time.Duration]string{62_500: "0.062", 187_500: "0.188", -62_500: "-0.062", -1: "-0.000", 0: "0.000"} {
		if got := string(appendMillis(nil, d)); got != want {
			t.Errorf("appendMillis(%d) = %s, want %s", int64(d), got, want)
		}
	}
	for _, d := range ds {
		if got, want := string(appendMillis(nil, d)), string(appendMillisFloat(nil, d)); got != want {
			t.Fatalf("appendMillis(%d) = %s, want %s", int64(d), got, want)
		}
	}
}

func FuzzAppendMillis(f *testing.F) {
	for _, d := range millisEdges() {
		f.Add(int64(d))
	}
	f.Fuzz(func(t *testing.T, d int64) {
		if got, want := string(appendMillis(nil, time.Duration(d))), string(appendMillisFloat(nil, time.Duration(d))); got != want {
			t.Fatalf("appendMillis(%d) = %s, want %s", d, got, want)
		}
	})
}

// TestTimeCache: timestamps written through one cache, in the orders a
// connection produces them (same second, next second, next day, back in
// time, before 1970), equal time.RFC3339Nano.
func TestTimeCache(t *testing.T) {
	r := rand.New(rand.NewSource(3))
	tc := newTSCache()
	ns := int64(1_704_110_399_999_999_000)
	for i := 0; i < 200000; i++ {
		switch r.Intn(6) {
		case 0:
			ns += r.Int63n(1000)
		case 1:
			ns += r.Int63n(2e9)
		case 2:
			ns += r.Int63n(3 * 86400e9)
		case 3:
			ns -= r.Int63n(2e9)
		case 4:
			ns = r.Int63n(math.MaxInt64)
		case 5:
			ns = -r.Int63n(1e12)
		}
		want := `"` + time.Unix(0, ns).UTC().Format(time.RFC3339Nano) + `"`
		if got := string(tc.appendTime(nil, ns)); got != want {
			t.Fatalf("appendTime(%d) = %s, want %s", ns, got, want)
		}
	}
	for _, ns := range []int64{0, math.MaxInt64, 86400e9 - 1, 86400e9} {
		want := `"` + time.Unix(0, ns).UTC().Format(time.RFC3339Nano) + `"`
		if got := string(tc.appendTime(nil, ns)); got != want {
			t.Fatalf("appendTime(%d) = %s, want %s", ns, got, want)
		}
	}
}

// appendStringRef is the byte-at-a-time encoder appendString replaced.
func appendStringRef(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c < 0x20 || c == 0x7f:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, `\ufffd`...)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}

func TestAppendString(t *testing.T) {
	for _, s := range []string{"", "a", `"`, `\`, "a\"b\\c", "\x00\x1f\x7f", "tab\there", "é", "\xff", "a\xffb", "\xe2\x82",
		"\xef\xbf\xbd", "日本語\n", "S0", "ShAdDaFf", "zone%eth0\"x"} {
		if got, want := string(appendString(nil, s)), string(appendStringRef(nil, s)); got != want {
			t.Errorf("appendString(%q) = %s, want %s", s, got, want)
		}
	}
	r := rand.New(rand.NewSource(4))
	alphabet := []byte("ab\"\\\x00\x1f\x7f\x80\xbf\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xff ")
	for i := 0; i < 100000; i++ {
		s := make([]byte, r.Intn(12))
		for j := range s {
			s[j] = alphabet[r.Intn(len(alphabet))]
		}
		if got, want := string(appendString(nil, string(s))), string(appendStringRef(nil, string(s))); got != want {
			t.Fatalf("appendString(%q) = %s, want %s", s, got, want)
		}
	}
}

func FuzzAppendString(f *testing.F) {
	f.Add("a\"b\\\x00\xff é")
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := string(appendString(nil, s)), string(appendStringRef(nil, s)); got != want {
			t.Fatalf("appendString(%q) = %s, want %s", s, got, want)
		}
	})
}

// TestAppendAddrPort: as appendString(p.String()), zones and the zero
// value included.
func TestAppendAddrPort(t *testing.T) {
	ps := []netip.AddrPort{{}, netip.AddrPortFrom(netip.Addr{}, 80)}
	for _, s := range []string{"0.0.0.0:0", "10.0.0.1:51000", "255.255.255.255:65535", "[::]:0", "[::1]:443",
		"[2001:db8::1]:80", "[::ffff:10.1.2.3]:22", "[fe80::1%eth0]:80", "[fe80::1%a\"b\\c]:1"} {
		p, err := netip.ParseAddrPort(s)
		if err != nil {
			p = netip.AddrPortFrom(netip.MustParseAddr("fe80::1").WithZone("a\"b\\c\x01\xff"), 1)
		}
		ps = append(ps, p)
	}
	for _, p := range ps {
		if got, want := string(appendAddrPort(nil, p)), string(appendString(nil, p.String())); got != want {
			t.Errorf("appendAddrPort(%s) = %s, want %s", p, got, want)
		}
	}
}

// TestAppendFlags: the table equals tcp.Flags.String for every value.
func TestAppendFlags(t *testing.T) {
	for f := 0; f < 1<<16; f++ {
		if got, want := string(appendFlags(nil, tcp.Flags(f))), tcp.Flags(f).String(); got != want {
			t.Fatalf("appendFlags(%#x) = %s, want %s", f, got, want)
		}
	}
}

// TestAppendConnAllocs: rendering a connection into a buffer with room
// allocates nothing.
func TestAppendConnAllocs(t *testing.T) {
	conns := kernelConns(t)
	buf := make([]byte, 0, 64<<10)
	for _, c := range conns {
		if n := testing.AllocsPerRun(20, func() { buf = AppendConn(buf[:0], c) }); n != 0 {
			t.Errorf("AppendConn(conn %d, %s) allocates %.1f times, want 0", c.ID, c.Client(), n)
		}
	}
}

// TestAppendUint: equals strconv.AppendUint around every power of ten and
// on random values of every size.
func TestAppendUint(t *testing.T) {
	vs := []uint64{0, 1, 9, 10, 11, 99, 100, math.MaxUint64, math.MaxUint64 - 1, 1<<63 - 1, 1 << 63}
	for p := uint64(1); p <= 1e19; p *= 10 {
		vs = append(vs, p-1, p, p+1)
		if p == 1e19 {
			break
		}
	}
	for i := 0; i < 64; i++ {
		vs = append(vs, 1<<i-1, 1<<i, 1<<i+1)
	}
	r := rand.New(rand.NewSource(5))
	for i := 0; i < 100000; i++ {
		vs = append(vs, r.Uint64()>>r.Intn(64))
	}
	for _, v := range vs {
		want := strconv.FormatUint(v, 10)
		if got := string(appendUint([]byte("x"), v)); got != "x"+want {
			t.Fatalf("appendUint(%d) = %s, want x%s", v, got, want)
		}
		if n := decimalLen(v); n != len(want) {
			t.Fatalf("decimalLen(%d) = %d, want %d", v, n, len(want))
		}
	}
}
