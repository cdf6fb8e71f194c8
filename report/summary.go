// Package report renders what the tracker found: a summary, connections,
// transitions, anomalies and pileups, as coloured text or JSON Lines. The
// renderers are interchangeable consumers of the same tracker results; they
// compute nothing of their own beyond counts.
package report

import (
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
	Notes        []string // per-file remarks (e.g. packets on an unsupported link type)
	Error        string   // set when reading stopped early: the results cover what came before
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
	BySeverity   map[tracker.Severity]int
	Anomalous    int // connections with at least one anomaly of severity warning or error
	Pileups      []tracker.Pileup
}

// Summarize counts the tracker's connections.
func Summarize(in Input, conns []*tracker.Conn, pileups []tracker.Pileup) Summary {
	s := Summary{
		Input:        in,
		Connections:  len(conns),
		ClientStates: map[tracker.State]int{},
		ServerStates: map[tracker.State]int{},
		Anomalies:    map[tracker.Kind]int{},
		BySeverity:   map[tracker.Severity]int{},
		Pileups:      pileups,
	}
	for _, c := range conns {
		s.ClientStates[c.Ends[tracker.Client].State]++
		s.ServerStates[c.Ends[tracker.Server].State]++
		if c.Midstream {
			s.Midstream++
		}
		seen := map[tracker.Kind]bool{}
		for _, a := range c.Anomalies {
			if !seen[a.Kind] {
				seen[a.Kind] = true
				s.Anomalies[a.Kind]++
			}
			s.BySeverity[a.Severity]++
		}
		if c.HasAnomaly(tracker.Warning) {
			s.Anomalous++
		}
	}
	for _, p := range pileups {
		s.Anomalies[p.Kind]++
		s.BySeverity[p.Kind.Info().Severity]++
	}
	return s
}
