// Package report renders what the tracker found: a summary, connections,
// transitions, anomalies and pileups, as coloured text or JSON Lines. The
// renderers are interchangeable consumers of the same tracker results; they
// compute nothing of their own beyond counts.
package report

import (
	"cmp"
	"maps"
	"math"
	"slices"
	"sort"

	"github.com/tcptrace/tcptrace/tracker"
)

// Input describes what was read, filled in by the caller from its packet
// source (report does not know where packets come from).
type Input struct {
	Files        []string
	Packets      uint64            // every packet read, TCP or not
	TCPPackets   uint64            // TCP segments given to the tracker
	Skipped      map[string]uint64 // by reason: non_tcp, fragment, truncated, undecodable, filtered
	TruncatedTCP uint64            // TCP segments analysed although the capture cut their options or payload
	TimeWentBack uint64            // packets earlier than their predecessor in the same file
	Expired      int               // connections ended by the idle timeout
	Evicted      int               // connections pushed out of the full flow table
	FirstTime    int64             // ns; 0 when nothing was read
	LastTime     int64
	Notes        []string      // per-file remarks (e.g. packets on an unsupported link type)
	Kernel       *KernelCounts // live capture: what the kernel counted; nil for files
	Error        string        // set when reading stopped early: the results cover what came before
}

// KernelCounts are libpcap's statistics of a live capture.
type KernelCounts struct {
	Received  uint64 // packets the kernel passed to the capture
	Dropped   uint64 // dropped because the capture buffer was full
	IfDropped uint64 // dropped by the interface or its driver
}

// SkippedReasons is the fixed order in which skip reasons are shown.
var SkippedReasons = []string{"non_tcp", "fragment", "truncated", "undecodable", "filtered"}

// Summary is the aggregate of one run.
type Summary struct {
	Input
	Connections  int
	Midstream    int
	ClientStates map[tracker.State]int
	ServerStates map[tracker.State]int
	Anomalies    map[tracker.Kind]int // connections with each kind (pileups count once each)
	// KindSeverity counts the connections with each kind at each severity
	// (a kind is lowered to info when the capture ended too soon to be sure).
	KindSeverity map[tracker.Kind]*[3]int
	BySeverity   map[tracker.Severity]int
	Anomalous    int // connections with at least one anomaly of severity warning or error
	Pileups      []tracker.Pileup

	// Sequence analysis totals.
	RetransmittedPackets uint64  // segments that repeated sequence space, SYN and FIN repeats included
	RetransmissionRate   float64 // RetransmittedPackets / TCPPackets
	ConnsWithLoss        int     // connections with a retransmission or a lost segment
	Handshake            Percentiles
	WorstHandshakes      []ConnTime // the slowest full handshakes, slowest first
}

// Percentiles summarise a set of durations in milliseconds.
type Percentiles struct {
	Samples            int
	P50, P90, P99, Max float64
}

// ConnTime names one connection and a duration of it.
type ConnTime struct {
	ID             uint64
	Client, Server string
	Ms             float64
}

// worstKept is how many of the slowest handshakes the summary names.
const worstKept = 5

// Tally accumulates the summary one connection at a time, so that a
// consumer that receives connections as they end needs no list of them.
type Tally struct {
	s          Summary
	handshakes []float64 // a uniform sample of at most maxSamples handshake times
	seen       int       // handshake times offered to the sample
	rng        uint64
}

// maxSamples bounds the handshake times kept for percentiles: beyond it
// they are a reservoir sample (Vitter's algorithm R, with a fixed seed so
// the output stays deterministic), and memory stays bounded over days of
// live capture.
const maxSamples = 1 << 20

// NewTally returns an empty tally.
func NewTally() *Tally {
	return &Tally{s: Summary{
		ClientStates: map[tracker.State]int{},
		ServerStates: map[tracker.State]int{},
		Anomalies:    map[tracker.Kind]int{},
		BySeverity:   map[tracker.Severity]int{},
		KindSeverity: map[tracker.Kind]*[3]int{},
	}}
}

// Add counts one connection.
func (t *Tally) Add(c *tracker.Conn) {
	s := &t.s
	s.Connections++
	s.ClientStates[c.Ends[tracker.Client].State]++
	s.ServerStates[c.Ends[tracker.Server].State]++
	if c.Midstream {
		s.Midstream++
	}
	var seen [64]bool
	loss := false
	for _, a := range c.Anomalies {
		if !seen[a.Kind] {
			seen[a.Kind] = true
			s.Anomalies[a.Kind]++
			ks := s.KindSeverity[a.Kind]
			if ks == nil {
				ks = new([3]int)
				s.KindSeverity[a.Kind] = ks
			}
			ks[worstOf(c, a.Kind)]++
		}
		s.BySeverity[a.Severity]++
		loss = loss || a.Kind == tracker.Retransmission || a.Kind == tracker.LostSegment
	}
	if loss {
		s.ConnsWithLoss++
	}
	if c.HasAnomaly(tracker.Warning) {
		s.Anomalous++
	}
	for side := range c.Seq.Dir {
		s.RetransmittedPackets += c.Seq.Dir[side].RetransmittedPackets
	}
	if rtt, ok := c.Seq.Handshake.RTT(); ok {
		ms := float64(rtt) / 1e6
		t.sample(ms)
		if len(s.WorstHandshakes) < worstKept || ms > s.WorstHandshakes[len(s.WorstHandshakes)-1].Ms {
			w := append(s.WorstHandshakes, ConnTime{ID: c.ID, Client: c.Client().String(), Server: c.Server().String(), Ms: ms})
			sort.SliceStable(w, func(i, j int) bool { return w[i].Ms > w[j].Ms })
			s.WorstHandshakes = w[:min(len(w), worstKept)]
		}
	}
}

func (t *Tally) sample(ms float64) {
	t.seen++
	if len(t.handshakes) < maxSamples {
		t.handshakes = append(t.handshakes, ms)
		return
	}
	// xorshift64*: cheap, deterministic.
	if t.rng == 0 {
		t.rng = 0x9e3779b97f4a7c15
	}
	t.rng ^= t.rng >> 12
	t.rng ^= t.rng << 25
	t.rng ^= t.rng >> 27
	if j := (t.rng * 2685821657736338717) % uint64(t.seen); j < maxSamples {
		t.handshakes[j] = ms
	}
}

// worstOf is the highest severity of kind k in the connection (either side).
func worstOf(c *tracker.Conn, k tracker.Kind) tracker.Severity {
	var sev tracker.Severity
	for _, a := range c.Anomalies {
		if a.Kind == k && a.Severity > sev {
			sev = a.Severity
		}
	}
	return sev
}

// Summary completes the tally with what was read and the pileups.
func (t *Tally) Summary(in Input, pileups []tracker.Pileup) Summary {
	s := t.s
	s.Input = in
	s.Pileups = pileups
	// Copy the maps so the tally can go on counting.
	s.ClientStates, s.ServerStates = maps.Clone(s.ClientStates), maps.Clone(s.ServerStates)
	s.Anomalies, s.BySeverity = maps.Clone(s.Anomalies), maps.Clone(s.BySeverity)
	s.KindSeverity = make(map[tracker.Kind]*[3]int, len(t.s.KindSeverity))
	for k, v := range t.s.KindSeverity {
		c := *v
		s.KindSeverity[k] = &c
	}
	for _, p := range pileups {
		s.Anomalies[p.Kind]++
		s.BySeverity[p.Kind.Info().Severity]++
		ks := s.KindSeverity[p.Kind]
		if ks == nil {
			ks = new([3]int)
			s.KindSeverity[p.Kind] = ks
		}
		ks[p.Kind.Info().Severity]++
	}
	if in.TCPPackets > 0 {
		s.RetransmissionRate = float64(s.RetransmittedPackets) / float64(in.TCPPackets)
	}
	s.Handshake = percentiles(t.handshakes)
	s.Handshake.Samples = t.seen
	return s
}

// Summarize counts the tracker's connections.
func Summarize(in Input, conns []*tracker.Conn, pileups []tracker.Pileup) Summary {
	t := NewTally()
	for _, c := range conns {
		t.Add(c)
	}
	return t.Summary(in, pileups)
}

// percentiles uses the nearest-rank method on a sorted copy.
func percentiles(ms []float64) Percentiles {
	if len(ms) == 0 {
		return Percentiles{}
	}
	v := slices.Clone(ms)
	slices.Sort(v)
	return Percentiles{Samples: len(v), P50: NearestRank(v, 50), P90: NearestRank(v, 90), P99: NearestRank(v, 99), Max: v[len(v)-1]}
}

// NearestRank is the nearest-rank percentile of sorted values: the smallest
// value with at least p% of the values at or below it. It always returns a
// measured value, never an interpolation. sorted must not be empty.
func NearestRank[T cmp.Ordered](sorted []T, p float64) T {
	i := int(math.Ceil(p/100*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}
