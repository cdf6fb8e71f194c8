package main

import (
	"fmt"
	"io"
	"net/netip"

	"github.com/tcptrace/tcptrace/report"
	"github.com/tcptrace/tcptrace/tcp"
	"github.com/tcptrace/tcptrace/tracker"
)

// The output formats for other tools: a Zeek conn.log, CSV and JUnit XML.
// text and json are read.go's.

// toolFormats are the --format values this file renders.
var toolFormats = []string{"zeek", "csv", "junit"}

func isToolFormat(f string) bool {
	for _, t := range toolFormats {
		if f == t {
			return true
		}
	}
	return false
}

const formatHint = "use --format text, json, zeek, csv or junit"

// checkToolFormat rejects a JUnit report without rules: its test cases are
// the rules, and a report with none would pass whatever the capture holds.
func checkToolFormat(format string, p *policy) error {
	if format == "junit" && p.empty() {
		return &usageError{msg: "--format junit needs rules to report on",
			hint: "add --fail-on (e.g. --fail-on warning), --max, or a policy file (" + defaultPolicyFile + " or --policy FILE)"}
	}
	return nil
}

// writeToolFormat renders one of toolFormats. ipBytes may be nil.
func writeToolFormat(w io.Writer, format string, res *result, v *verdict, ipBytes *ipByteCounter) error {
	switch format {
	case "zeek":
		var f report.ZeekIPBytes
		if ipBytes != nil {
			f = ipBytes.lookup
		}
		return report.WriteZeekConnLog(w, res.conns, res.summary, f)
	case "csv":
		return report.WriteCSV(w, res.conns)
	case "junit":
		return report.WriteJUnit(w, res.summary, junitCases(v))
	}
	return fmt.Errorf("unknown format %q", format)
}

// junitCases turns a verdict into test cases: one per anomaly kind that the
// fail-on rules watch, then one per limit.
func junitCases(v *verdict) []report.JUnitCase {
	var cases []report.JUnitCase
	for _, k := range v.checked {
		c := report.JUnitCase{Class: "fail_on", Name: k.String(), Kind: k, HasKind: true,
			Message: fmt.Sprintf("no %s matched %s", k, v.policy.failOnList())}
		if m, ok := v.matched[k]; ok {
			c.Failed = true
			c.Message = describeMatch(k, m) + " (" + v.policy.failOnFrom + " " + v.policy.failOnList() + ")"
			c.Conns, c.Pileups = m.conns, m.pileups
		}
		cases = append(cases, c)
	}
	for _, l := range v.limits {
		c := report.JUnitCase{Class: "max", Name: fmt.Sprintf("%s <= %s", l.metric, formatMetric(l.max)), Failed: l.failed()}
		switch {
		case !l.defined:
			c.Message = fmt.Sprintf("%s undefined (%s)", l.metric, undefinedWhy(l.metric))
		case c.Failed:
			c.Message = fmt.Sprintf("%s = %s, over the limit %s (%s)", l.metric, formatMetric(l.value), formatMetric(l.max), l.origin)
		default:
			c.Message = fmt.Sprintf("%s = %s", l.metric, formatMetric(l.value))
		}
		cases = append(cases, c)
	}
	return cases
}

// ipByteCounter sums the IP total length of each side's segments, which
// conn.log reports as orig_ip_bytes and resp_ip_bytes and the tracker does
// not keep. It sees every TCP segment right after the tracker did: the
// segment then belongs to the newest connection on its 4-tuple, because the
// tracker only ever starts connections, appending them to Conns.
type ipByteCounter struct {
	newest map[[2]netip.AddrPort]*tracker.Conn
	seen   int // connections already indexed
	bytes  map[*tracker.Conn]*[2]uint64
}

func newIPByteCounter() *ipByteCounter {
	return &ipByteCounter{newest: map[[2]netip.AddrPort]*tracker.Conn{}, bytes: map[*tracker.Conn]*[2]uint64{}}
}

// flowOf is the direction-free 4-tuple. Like the tracker's flow key it
// treats an IPv4 address and its IPv4-mapped IPv6 form as one.
func flowOf(a, b netip.AddrPort) [2]netip.AddrPort {
	a, b = unmapped(a), unmapped(b)
	if b.Compare(a) < 0 {
		a, b = b, a
	}
	return [2]netip.AddrPort{a, b}
}

func unmapped(a netip.AddrPort) netip.AddrPort {
	return netip.AddrPortFrom(a.Addr().Unmap(), a.Port())
}

// observe counts one segment the tracker has just processed.
func (ic *ipByteCounter) observe(tr *tracker.Tracker, seg *tcp.Segment) {
	conns := tr.Conns()
	for _, c := range conns[ic.seen:] {
		ic.newest[flowOf(c.Client(), c.Server())] = c
	}
	ic.seen = len(conns)
	c := ic.newest[flowOf(seg.Src, seg.Dst)]
	if c == nil {
		return
	}
	n := ic.bytes[c]
	if n == nil {
		n = new([2]uint64)
		ic.bytes[c] = n
	}
	side := tracker.Client
	if unmapped(seg.Src) != unmapped(c.Client()) {
		side = tracker.Server
	}
	n[side] += uint64(seg.IPLen)
}

// lookup is a report.ZeekIPBytes.
func (ic *ipByteCounter) lookup(c *tracker.Conn) (client, server uint64, ok bool) {
	n := ic.bytes[c]
	if n == nil {
		return 0, 0, false
	}
	return n[tracker.Client], n[tracker.Server], true
}
