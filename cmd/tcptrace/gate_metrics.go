package main

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/tcptrace/tcptrace/report"
	"github.com/tcptrace/tcptrace/tracker"
)

// Metrics are the numbers that --max limits, baselines record and check
// compares. One flat namespace serves all three, so a name in a policy file,
// on the command line and in baseline.json means the same thing:
//
//	connections                 connections seen
//	final_state.CLIENT/SERVER   connections that ended with that pair of states
//	anomalous                   connections with a warning or an error
//	anomalous_rate              anomalous / connections
//	KIND                        connections with that anomaly (pileups: one each)
//	KIND_rate                   KIND / connections (not for the pileup kinds)
//	retransmission_rate         retransmitted packets / TCP packets (the one
//	                            rate per packet; the summary's figure)
//	handshake_ms_P              SYN → the ACK that completed the handshake
//	synack_ms_P                 SYN → SYN-ACK
//	ack_ms_P                    SYN-ACK → the handshake's ACK
//	rtt_ms_P                    per connection, the mean data → ACK round trip
//	                            (both directions' samples, Karn's rule)
//
// where P is p50, p90, p99 or max. Latencies are measured at the capture
// point, in milliseconds, over connections whose whole handshake was seen
// (rtt_ms: over connections with round-trip samples).
type metricInfo struct {
	name string
	unit string // "connections", "fraction" or "ms", for people
	// neutral metrics describe the traffic rather than its health: check
	// reports their changes but never calls them regressions.
	neutral bool
}

// percentiles are the quantiles every latency family reports, in order.
var percentiles = []struct {
	suffix string
	p      float64 // 0 < p <= 100
}{{"p50", 50}, {"p90", 90}, {"p99", 99}, {"max", 100}}

// latencyFamilies are the latency metrics, each a distribution over
// connections.
var latencyFamilies = []struct {
	name string
	of   func(h handshake) (int64, bool)
}{
	{"handshake_ms", func(h handshake) (int64, bool) { return h.ack - h.syn, h.hasSynAck && h.hasAck }},
	{"synack_ms", func(h handshake) (int64, bool) { return h.synAck - h.syn, h.hasSynAck }},
	{"ack_ms", func(h handshake) (int64, bool) { return h.ack - h.synAck, h.hasSynAck && h.hasAck }},
	{"rtt_ms", func(h handshake) (int64, bool) { return h.rtt, h.hasRTT }},
}

const finalStatePrefix = "final_state."

// lookupMetric returns the description of a metric name, or false when no
// such metric exists.
func lookupMetric(name string) (metricInfo, bool) {
	switch name {
	case "connections":
		return metricInfo{name, "connections", true}, true
	case "anomalous":
		return metricInfo{name, "connections", false}, true
	case "anomalous_rate":
		return metricInfo{name, "fraction", false}, true
	}
	if pair, ok := strings.CutPrefix(name, finalStatePrefix); ok {
		cl, sv, ok := strings.Cut(pair, "/")
		if !ok {
			return metricInfo{}, false
		}
		if _, ok := tracker.ParseState(cl); !ok {
			return metricInfo{}, false
		}
		if _, ok := tracker.ParseState(sv); !ok {
			return metricInfo{}, false
		}
		return metricInfo{name, "connections", true}, true
	}
	if _, ok := tracker.ParseKind(name); ok {
		return metricInfo{name, "connections", false}, true
	}
	if base, ok := strings.CutSuffix(name, "_rate"); ok {
		if k, ok := tracker.ParseKind(base); ok && !isPileupKind(k) {
			return metricInfo{name, "fraction", false}, true
		}
	}
	for _, f := range latencyFamilies {
		if rest, ok := strings.CutPrefix(name, f.name+"_"); ok {
			for _, p := range percentiles {
				if rest == p.suffix {
					return metricInfo{name, "ms", false}, true
				}
			}
		}
	}
	return metricInfo{}, false
}

// metricNamesHelp lists the metric families for error hints.
const metricNamesHelp = "metrics are connections, anomalous, anomalous_rate, an anomaly kind (e.g. half_closed), KIND_rate, " +
	"handshake_ms_P, synack_ms_P, ack_ms_P (P = p50, p90, p99, max) and final_state.CLIENT/SERVER"

func isPileupKind(k tracker.Kind) bool {
	return k == tracker.CloseWaitPileup || k == tracker.TimeWaitPileup
}

// metricSet is the value of every metric one analysis defines. A metric is
// absent when it is undefined: a rate without connections, a latency
// without a single complete handshake.
type metricSet map[string]float64

// computeMetrics measures one analysis.
func computeMetrics(res *result) metricSet {
	var t metricTally
	for _, c := range res.conns {
		t.add(c)
	}
	return t.metrics(res.summary)
}

// metricTally gathers, one connection at a time, what the metrics need
// beyond the summary's counts, so that a caller that does not keep every
// connection (live hands them over as they end) can still measure.
type metricTally struct {
	finalStates map[string]int
	latencies   [][]int64 // ns, indexed like latencyFamilies
}

// add counts one connection; call it once per connection.
func (t *metricTally) add(c *tracker.Conn) {
	if t.finalStates == nil {
		t.finalStates = map[string]int{}
		t.latencies = make([][]int64, len(latencyFamilies))
	}
	t.finalStates[finalStatePrefix+c.Ends[tracker.Client].State.String()+"/"+c.Ends[tracker.Server].State.String()]++
	h, ok := handshakeOf(c)
	if !ok {
		h = handshake{} // no whole handshake: only the round trips count
	}
	if d := &c.Seq.Dir; d[0].RTTSamples+d[1].RTTSamples > 0 {
		h.rtt = int64(d[0].RTTSum+d[1].RTTSum) / int64(d[0].RTTSamples+d[1].RTTSamples)
		h.hasRTT, ok = true, true
	}
	if ok {
		for i, f := range latencyFamilies {
			if d, ok := f.of(h); ok && d >= 0 {
				t.latencies[i] = append(t.latencies[i], d)
			}
		}
	}
}

// metrics combines the tally with the summary of the same connections.
func (t *metricTally) metrics(s report.Summary) metricSet {
	m := metricSet{
		"connections": float64(s.Connections),
		"anomalous":   float64(s.Anomalous),
	}
	for _, k := range tracker.Kinds() {
		m[k.String()] = float64(s.Anomalies[k])
	}
	if s.Connections > 0 {
		n := float64(s.Connections)
		m["anomalous_rate"] = roundTo(float64(s.Anomalous)/n, 6)
		for _, k := range tracker.Kinds() {
			if !isPileupKind(k) {
				m[k.String()+"_rate"] = roundTo(float64(s.Anomalies[k])/n, 6)
			}
		}
	}
	// Per packet, not per connection: the sequence analysis' rate.
	m["retransmission_rate"] = roundTo(s.RetransmissionRate, 6)
	for pair, n := range t.finalStates {
		m[pair] = float64(n)
	}
	for i, f := range latencyFamilies {
		if i >= len(t.latencies) || len(t.latencies[i]) == 0 {
			continue
		}
		ns := t.latencies[i]
		slices.Sort(ns)
		for _, p := range percentiles {
			m[f.name+"_"+p.suffix] = roundTo(float64(report.NearestRank(ns, p.p))/1e6, 3)
		}
	}
	return m
}

// handshake holds the capture times of one connection's opening segments.
type handshake struct {
	syn, synAck, ack  int64
	hasSynAck, hasAck bool
	rtt               int64 // mean data → ACK round trip (ns), from the sequence analysis
	hasRTT            bool
}

// handshakeOf reads a connection's handshake from its transitions: the
// client's CLOSED → SYN_SENT is its first SYN, its SYN_SENT → ESTABLISHED
// the SYN-ACK that acknowledged it, and the server's SYN_RCVD → ESTABLISHED
// the ACK of the server's ISN+1. Connections without the client's SYN
// (midstream, missed SYN) have no handshake; a simultaneous open has no
// SYN-ACK in this sense and counts only when the pattern above holds.
func handshakeOf(c *tracker.Conn) (handshake, bool) {
	var h handshake
	hasSyn := false
	for _, tr := range c.Transitions {
		switch {
		case !hasSyn && tr.Side == tracker.Client && tr.From == tracker.Closed && tr.To == tracker.SynSent:
			h.syn, hasSyn = tr.Time, true
		case !h.hasSynAck && tr.Side == tracker.Client && tr.From == tracker.SynSent && tr.To == tracker.Established:
			h.synAck, h.hasSynAck = tr.Time, true
		case !h.hasAck && tr.Side == tracker.Server && tr.From == tracker.SynRcvd && tr.To == tracker.Established:
			h.ack, h.hasAck = tr.Time, true
		}
	}
	if !hasSyn || !h.hasSynAck {
		return h, false
	}
	return h, true
}

// roundTo rounds to the given number of decimals, so that files written from
// the same capture are byte-identical and easy to read.
func roundTo(v float64, decimals int) float64 {
	f := math.Pow(10, float64(decimals))
	return math.Round(v*f) / f
}

// formatMetric prints a value for people: integers without decimals.
func formatMetric(v float64) string {
	if v == math.Trunc(v) && math.Abs(v) < 1e15 {
		return fmt.Sprintf("%d", int64(v))
	}
	return fmt.Sprintf("%g", v)
}
