package main

import (
	"fmt"
	"io"

	"github.com/tcptrace/tcptrace/report"
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

// writeToolFormat renders one of toolFormats.
func writeToolFormat(w io.Writer, format string, res *result, v *verdict) error {
	switch format {
	case "zeek":
		return report.WriteZeekConnLog(w, res.conns, res.summary)
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
