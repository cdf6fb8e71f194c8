package synth

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"math"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
	"github.com/tcptrace/tcptrace/capture"
	"github.com/tcptrace/tcptrace/tcp"
	"github.com/tcptrace/tcptrace/tracker"
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
		{Packets: 1, SYNACKShare: -0.1},
		{Packets: 1, SYNACKShare: 1.5},
		{Packets: 1, SYNACKShare: 0.8, RSTShare: 0.3},
		{Packets: 1, SYNRetryShare: math.NaN()},
		{Packets: 1, ScanShare: 2},
		{Packets: 1, SYNACKShare: 1, SYNACKRetries: -1},
		{Packets: 1, SYNACKShare: 1, SYNACKRetries: 256},
	} {
		if _, err := WriteSYNFlood(io.Discard, cfg); err == nil {
			t.Errorf("%+v: no error", cfg)
		}
	}
}

func BenchmarkWriteSYNFlood(b *testing.B) {
	for _, bb := range []struct {
		name string
		cfg  FloodConfig
	}{
		{"plain", FloodConfig{Seed: 1, RSTShare: 0.5}},
		{"realistic", RealisticFlood(1, 0)},
	} {
		b.Run(bb.name, func(b *testing.B) {
			b.ReportAllocs()
			cfg := bb.cfg
			cfg.Packets = b.N
			st, err := WriteSYNFlood(io.Discard, cfg)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(st.Packets)/b.Elapsed().Seconds(), "packets/s")
		})
	}
}

// floodTuple is what one 4-tuple of a flood showed, in capture order.
type floodTuple struct {
	client, server netip.AddrPort
	isn, sisn      uint32
	syns           []time.Time // the client's SYNs
	synacks        []time.Time
	rsts           []time.Time
	mssOnly        bool // the SYN carried only an MSS option: a scan probe
}

// TestRealisticFlood checks floods with SYN-ACK retransmissions, SYNs sent
// twice and scans, packet by packet and as the tracker sees them.
func TestRealisticFlood(t *testing.T) {
	target := netip.MustParseAddrPort("198.18.7.7:443")
	tests := []struct {
		name string
		cfg  FloodConfig
	}{
		{"benchmark preset", RealisticFlood(3, 40_000)},
		{"listening, two retries, half the SYNs twice", FloodConfig{Seed: 4, Packets: 30_000, Rate: 200_000,
			SYNACKShare: 1, SYNACKRetries: 2, SYNRetryShare: 0.5}},
		{"every fate, nanoseconds, other target", FloodConfig{Seed: 5, Packets: 30_000, Target: target, Rate: 20_000,
			RSTShare: 0.3, SYNACKShare: 0.5, SYNACKRetries: 3, SYNRetryShare: 0.3, ScanShare: 0.2, Nanoseconds: true}},
		{"no retransmissions, every SYN twice", FloodConfig{Seed: 6, Packets: 20_000,
			SYNACKShare: 0.8, SYNRetryShare: 1}},
		{"eight retries reach the 120 s cap", FloodConfig{Seed: 7, Packets: 20_000, Rate: 5_000,
			SYNACKShare: 1, SYNACKRetries: 8}},
		{"scan only", FloodConfig{Seed: 8, Packets: 20_000, ScanShare: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.cfg
			if raceEnabled {
				cfg.Packets /= 4
			}
			var b bytes.Buffer
			st, err := WriteSYNFlood(&b, cfg)
			if err != nil {
				t.Fatal(err)
			}
			var again bytes.Buffer
			if _, err := WriteSYNFlood(&again, cfg); err != nil || !bytes.Equal(again.Bytes(), b.Bytes()) {
				t.Fatalf("same seed, different bytes (%v)", err)
			}
			other := cfg
			other.Seed++
			again.Reset()
			if _, err := WriteSYNFlood(&again, other); err != nil || bytes.Equal(again.Bytes()[:4096], b.Bytes()[:4096]) {
				t.Errorf("another seed, same bytes (%v)", err)
			}

			got := readPcap(t, bytes.NewReader(b.Bytes())) // checks every checksum
			if len(got) != cfg.Packets || st.Packets != int64(cfg.Packets) {
				t.Fatalf("%d packets, stats %d, want %d", len(got), st.Packets, cfg.Packets)
			}
			tuples := checkFloodPackets(t, cfg, got)
			if int64(len(tuples)) != st.Probes {
				t.Errorf("%d distinct 4-tuples, stats count %d", len(tuples), st.Probes)
			}
			ratio, want := float64(len(got))/float64(len(tuples)), cfg.PacketsPerConn()
			if ratio < want*0.97 || ratio > want*1.03 {
				t.Errorf("%.3f packets per connection, want %.3f", ratio, want)
			}
			checkFloodSchedules(t, cfg, tuples)
			checkFloodTracked(t, b.Bytes(), st, tuples)
		})
	}
}

// checkFloodPackets checks each packet on its own and against its 4-tuple's
// earlier packets, and returns the 4-tuples in order of first SYN.
func checkFloodPackets(t *testing.T, cfg FloodConfig, got []decoded) []*floodTuple {
	t.Helper()
	target := cfg.Target
	if !target.IsValid() {
		target = netip.MustParseAddrPort("198.18.0.1:80")
	}
	byKey := map[[2]netip.AddrPort]*floodTuple{}
	var order []*floodTuple
	for i, d := range got {
		if i > 0 && d.time.Before(got[i-1].time) {
			t.Fatalf("packet %d: time goes back", i+1)
		}
		client, server := d.src, d.dst
		if d.flags != tcp.SYN {
			client, server = d.dst, d.src
		}
		if server.Addr() != target.Addr() {
			t.Fatalf("packet %d: %v -> %v does not involve the target", i+1, d.src, d.dst)
		}
		k := [2]netip.AddrPort{client, server}
		u := byKey[k]
		switch d.flags {
		case tcp.SYN:
			if u == nil {
				u = &floodTuple{client: client, server: server, isn: d.seq}
				u.mssOnly = len(d.tcpOpts) == 1 && d.tcpOpts[0].OptionType == layers.TCPOptionKindMSS
				if len(d.tcpOpts) != 0 && !u.mssOnly {
					t.Fatalf("packet %d: SYN options %v", i+1, d.tcpOpts)
				}
				if (server.Port() == target.Port()) == u.mssOnly {
					t.Fatalf("packet %d: SYN to %v (scan probe: %v)", i+1, server, u.mssOnly)
				}
				byKey[k] = u
				order = append(order, u)
			} else if d.seq != u.isn || u.mssOnly || len(u.syns) == 2 {
				t.Fatalf("packet %d: SYN again on %v, ISN %d then %d", i+1, client, u.isn, d.seq)
			}
			u.syns = append(u.syns, d.time)
		case tcp.SYN | tcp.ACK:
			if u == nil || d.ack != u.isn+1 || len(u.rsts) > 0 || (len(u.synacks) > 0 && d.seq != u.sisn) ||
				len(d.tcpOpts) != 1 || d.tcpOpts[0].OptionType != layers.TCPOptionKindMSS || u.mssOnly {
				t.Fatalf("packet %d: SYN-ACK %v -> %v seq %d ack %d options %v", i+1, d.src, d.dst, d.seq, d.ack, d.tcpOpts)
			}
			u.sisn = d.seq
			u.synacks = append(u.synacks, d.time)
		case tcp.RST | tcp.ACK:
			if u == nil || d.ack != u.isn+1 || d.seq != 0 || len(u.synacks) > 0 || len(u.rsts) >= len(u.syns) {
				t.Fatalf("packet %d: RST %v -> %v ack %d", i+1, d.src, d.dst, d.ack)
			}
			u.rsts = append(u.rsts, d.time)
		default:
			t.Fatalf("packet %d: flags %v", i+1, d.flags)
		}
	}
	return order
}

// checkFloodSchedules checks when each 4-tuple's packets came: answers
// 5-50 µs after their SYN, the attacker's second SYN 0.2-1 s after the
// answer (or the SYN), SYN-ACK retransmissions 1 s, 2 s, 4 s … after the
// SYN-ACK before, the count of each. The capture may cut the last few
// connections short.
func checkFloodSchedules(t *testing.T, cfg FloodConfig, tuples []*floodTuple) {
	t.Helper()
	end := tuples[len(tuples)-1].syns[0]
	between := func(d, lo, hi time.Duration) bool { return d >= lo && d < hi }
	var fates [3]int
	short := 0
	for _, u := range tuples {
		complete := true
		switch {
		case u.mssOnly:
			fates[fateRST]++
			complete = len(u.syns) == 1 && len(u.rsts) == 1
		case len(u.rsts) > 0:
			fates[fateRST]++
			complete = len(u.rsts) == len(u.syns)
		case len(u.synacks) > 0:
			fates[fateSYNACK]++
			want := 1 + cfg.SYNACKRetries
			if len(u.syns) == 2 {
				want++
			}
			complete = len(u.synacks) == want
		default:
			fates[fateNone]++
		}
		if !complete {
			short++
		}
		answers := append(append([]time.Time{}, u.rsts...), u.synacks...)
		if len(answers) > 0 && !between(answers[0].Sub(u.syns[0]), 5*time.Microsecond, 51*time.Microsecond) {
			t.Fatalf("%v: answered %v after the SYN", u.client, answers[0].Sub(u.syns[0]))
		}
		if len(u.syns) == 2 {
			from := u.syns[0]
			if len(answers) > 0 {
				from = answers[0]
			}
			if d := u.syns[1].Sub(from); !between(d, 200*time.Millisecond, time.Second) {
				t.Fatalf("%v: SYN again %v after the answer", u.client, d)
			}
			if len(answers) > 1 && !between(answers[1].Sub(u.syns[1]), 5*time.Microsecond, 51*time.Microsecond) {
				t.Fatalf("%v: second SYN answered %v after", u.client, answers[1].Sub(u.syns[1]))
			}
		}
		timer := 0
		for i := 1; i < len(u.synacks); i++ {
			if len(u.syns) == 2 && u.synacks[i].Sub(u.syns[1]) >= 0 && u.synacks[i].Sub(u.syns[1]) < 51*time.Microsecond {
				continue // the answer to the second SYN; the timer restarts from it
			}
			rto := min(time.Second<<timer, 120*time.Second)
			// Up to 4 ms of timer granularity, and timestamps rounded to µs.
			if d := u.synacks[i].Sub(u.synacks[i-1]); !between(d, rto, rto+4*time.Millisecond+time.Microsecond) {
				t.Fatalf("%v: SYN-ACK retransmission %d came %v after the SYN-ACK before, want %v", u.client, timer+1, d, rto)
			}
			timer++
		}
		if !complete && u.syns[0].Before(end.Add(-200*time.Second)) {
			t.Errorf("%v: cut short long before the end: %d SYNs, %d SYN-ACKs, %d RSTs", u.client, len(u.syns), len(u.synacks), len(u.rsts))
		}
	}
	if limit := cfg.SYNACKRetries + 3; short > limit {
		t.Errorf("%d connections cut short by the end of the capture, want at most %d", short, limit)
	}
	// Shares of the fates, within 5 standard deviations.
	n := float64(len(tuples))
	scans := cfg.ScanShare * n
	flood := n - scans
	for fate, want := range [3]float64{fateNone: flood * (1 - cfg.RSTShare - cfg.SYNACKShare),
		fateRST: scans + flood*cfg.RSTShare, fateSYNACK: flood * cfg.SYNACKShare} {
		p := want / n
		if tol := 5*math.Sqrt(n*p*(1-p)) + 1; math.Abs(float64(fates[fate])-want) > tol {
			t.Errorf("fate %d: %d connections, want %.0f ± %.0f", fate, fates[fate], want, tol)
		}
	}
}

// checkFloodTracked runs the capture through the tracker, as tcptrace read
// does: one connection per 4-tuple, the half-open ones with the server in
// SYN_RCVD, the refused ones closed, the unanswered ones in SYN_SENT. A
// refused SYN sent again is refused again: a second connection.
func checkFloodTracked(t *testing.T, pcap []byte, st Stats, tuples []*floodTuple) {
	t.Helper()
	var wantHalfOpen, wantRefused, wantUnanswered int64
	for _, u := range tuples {
		switch {
		case len(u.synacks) > 0:
			wantHalfOpen++
		case len(u.rsts) > 0:
			wantRefused += int64(len(u.rsts))
		default:
			wantUnanswered++
		}
	}
	if wantHalfOpen != st.HalfOpen || wantRefused < st.Refused {
		t.Errorf("stats count %d half-open and %d refused, the packets %d and %d", st.HalfOpen, st.Refused, wantHalfOpen, wantRefused)
	}

	path := filepath.Join(t.TempDir(), "flood.pcap")
	if err := os.WriteFile(path, pcap, 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := capture.Files([]string{path}, capture.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	tr := tracker.New(tracker.DefaultConfig())
	var seg tcp.Segment
	for {
		kind, err := r.Next(&seg)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if kind != capture.KindTCP {
			t.Fatalf("packet %d: %v", seg.Packet, kind)
		}
		tr.Process(&seg)
	}
	tr.Finish()
	conns := tr.Conns()
	if want := wantHalfOpen + wantRefused + wantUnanswered; int64(len(conns)) != want || tr.Evicted() != 0 || tr.Expired() != 0 {
		t.Fatalf("tracker: %d connections (%d evicted, %d expired), want %d", len(conns), tr.Evicted(), tr.Expired(), want)
	}
	has := func(c *tracker.Conn, k tracker.Kind) bool {
		for _, a := range c.Anomalies {
			if a.Kind == k {
				return true
			}
		}
		return false
	}
	var halfOpen, refused, unanswered int64
	for _, c := range conns {
		cl, sv := c.Ends[tracker.Client].State, c.Ends[tracker.Server].State
		switch {
		case sv == tracker.SynRcvd && has(c, tracker.HandshakeIncomplete) && has(c, tracker.SynAckRetransmitted) == (c.Ends[tracker.Server].SYNACKs > 1):
			halfOpen++
		case cl == tracker.Closed && sv == tracker.Closed && has(c, tracker.ConnectionRefused):
			refused++
		case cl == tracker.SynSent && has(c, tracker.SynUnanswered):
			unanswered++
		default:
			t.Fatalf("connection %d (%v): client %v, server %v, anomalies %v", c.ID, c.Client(), cl, sv, c.Anomalies)
		}
		if c.Ends[tracker.Client].SYNs > 1 != has(c, tracker.SynRetransmitted) {
			t.Errorf("connection %d: %d SYNs, anomalies %v", c.ID, c.Ends[tracker.Client].SYNs, c.Anomalies)
		}
	}
	if halfOpen != wantHalfOpen || refused != wantRefused || unanswered != wantUnanswered {
		t.Errorf("tracker: %d half-open, %d refused, %d unanswered; want %d, %d, %d",
			halfOpen, refused, unanswered, wantHalfOpen, wantRefused, wantUnanswered)
	}
}

// TestRealisticFloodSize: the benchmark flood of 5 M packets holds 1.2 M
// connections (measured here on a tenth of it).
func TestRealisticFloodSize(t *testing.T) {
	n := 500_000
	if raceEnabled || testing.Short() {
		n = 100_000
	}
	cfg := RealisticFlood(1, n)
	st, err := WriteSYNFlood(io.Discard, cfg)
	if err != nil {
		t.Fatal(err)
	}
	conns := float64(st.Probes) * 5e6 / float64(n)
	if st.Packets != int64(n) || conns < 1.18e6 || conns > 1.22e6 {
		t.Errorf("%d packets, %d connections: %.0f connections in 5 M packets, want 1.2 M", st.Packets, st.Probes, conns)
	}
	if want := 5.0 / 1.2; math.Abs(cfg.PacketsPerConn()-want) > 0.02*want {
		t.Errorf("%.3f packets per connection planned, want %.3f", cfg.PacketsPerConn(), want)
	}
}

// TestPlainFloodUnchanged pins the plain flood's bytes: the realistic
// options left at zero change nothing.
func TestPlainFloodUnchanged(t *testing.T) {
	for _, tt := range []struct {
		cfg  FloodConfig
		want string
	}{
		{FloodConfig{Seed: 1, Packets: 300_000, RSTShare: 0.3}, "9496938f015441277c2daba24b330e4891f9d5336cf350be0ba412535d2c2675"},
		{FloodConfig{Seed: 5, Packets: 300_000, RSTShare: 1, Nanoseconds: true}, "c69d5a4aae7d4309b9f1d979d6e821c5a10f3d66312a032074a7c57d078ab69e"},
		{FloodConfig{Seed: 1, Packets: 300_000, RSTShare: 0.5, Rate: 1000}, "e6bbcec2124498c7eb0a244607c6bf0ca6f03af7eba1dca8b4e13be1f357d6c2"},
	} {
		h := sha256.New()
		if _, err := WriteSYNFlood(h, tt.cfg); err != nil {
			t.Fatal(err)
		}
		if got := hex.EncodeToString(h.Sum(nil)); got != tt.want {
			t.Errorf("%+v: sha256 %s, want %s", tt.cfg, got, tt.want)
		}
	}
}
