package report

import (
	"encoding/xml"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/tcptrace/tcptrace/tracker"
)

// JUnitCase is one check of a gating policy, which CI systems show as one
// test case: an anomaly kind that --fail-on watches, or one --max limit.
type JUnitCase struct {
	Class   string // the group: "fail_on" or "max"
	Name    string // the kind, or the limit as "metric <= N"
	Failed  bool
	Message string // one line: what failed, or what was measured

	// Kind, when HasKind, restricts the anomalies listed under each
	// offending connection to that kind.
	Kind    tracker.Kind
	HasKind bool
	Conns   []*tracker.Conn  // the offending connections
	Pileups []tracker.Pileup // the offending pileups
}

// junitMaxListed bounds the connections listed in one failure: CI pages
// become unreadable long before the XML becomes large.
const junitMaxListed = 100

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name       string          `xml:"name,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Skipped    int             `xml:"skipped,attr"`
	Time       string          `xml:"time,attr"`
	Timestamp  string          `xml:"timestamp,attr,omitempty"`
	Properties []junitProperty `xml:"properties>property"`
	Cases      []junitCase     `xml:"testcase"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Classname string        `xml:"classname,attr"`
	Name      string        `xml:"name,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitFailure `xml:"failure,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	// Body lists the offenders one per line; CDATA keeps the line breaks
	// readable in the file.
	Body string `xml:",cdata"`
}

// WriteJUnit writes a JUnit XML report of one analysis: one test suite
// named after the capture files, one test case per check. The suite's time
// is the capture's span; its properties carry the summary's counts.
func WriteJUnit(w io.Writer, s Summary, cases []JUnitCase) error {
	span := "0"
	if s.LastTime > s.FirstTime {
		span = fmt.Sprintf("%.6f", float64(s.LastTime-s.FirstTime)/1e9)
	}
	suite := junitSuite{
		Name:  "tcptrace " + strings.Join(s.Files, ", "),
		Tests: len(cases),
		Time:  span,
		Properties: []junitProperty{
			{"packets", fmt.Sprint(s.Packets)},
			{"tcp_packets", fmt.Sprint(s.TCPPackets)},
			{"connections", fmt.Sprint(s.Connections)},
			{"anomalous_connections", fmt.Sprint(s.Anomalous)},
		},
	}
	if s.FirstTime != 0 {
		// JUnit's timestamp is ISO 8601 without a zone; the capture's is UTC.
		suite.Timestamp = time.Unix(0, s.FirstTime).UTC().Format("2006-01-02T15:04:05")
	}
	if s.Error != "" {
		suite.Properties = append(suite.Properties, junitProperty{"input_error", s.Error})
	}
	for _, c := range cases {
		jc := junitCase{Classname: "tcptrace." + c.Class, Name: c.Name, Time: "0"}
		if c.Failed {
			suite.Failures++
			jc.Failure = &junitFailure{Message: c.Message, Type: c.Class, Body: xmlSafe(junitOffenders(c))}
		} else {
			jc.SystemOut = c.Message
		}
		suite.Cases = append(suite.Cases, jc)
	}
	out := junitSuites{Name: "tcptrace", Tests: suite.Tests, Failures: suite.Failures, Time: span, Suites: []junitSuite{suite}}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(out); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

// junitOffenders lists the connections and pileups that failed a check, one
// connection per line with its anomalies indented below it.
func junitOffenders(c JUnitCase) string {
	var b strings.Builder
	for i, conn := range c.Conns {
		if i == junitMaxListed {
			fmt.Fprintf(&b, "… and %d more connections\n", len(c.Conns)-junitMaxListed)
			break
		}
		cl, sv := &conn.Ends[tracker.Client], &conn.Ends[tracker.Server]
		fmt.Fprintf(&b, "#%d %s → %s %s/%s %s %s\n", conn.ID, cl.Addr, sv.Addr, cl.State, sv.State, conn.ConnState(), conn.History())
		for _, a := range conn.Anomalies {
			if c.HasKind && a.Kind != c.Kind {
				continue
			}
			fmt.Fprintf(&b, "    %s %s (%s): %s\n", a.Severity, a.Kind, a.Side, a.Detail)
		}
	}
	for _, p := range c.Pileups {
		fmt.Fprintf(&b, "%s: %d connections at once on %s, first at %s\n", p.Kind, p.Peak, p.Endpoint,
			time.Unix(0, p.Time).UTC().Format(time.RFC3339Nano))
	}
	return b.String()
}

// xmlSafe replaces what XML 1.0 cannot carry at all (control characters
// other than tab and newline, invalid UTF-8): CDATA sections are written
// unescaped, so they must not contain them.
func xmlSafe(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\t' || r == '\n':
			return r
		case r < 0x20, r == 0xfffe, r == 0xffff, r >= 0xd800 && r <= 0xdfff:
			return '\ufffd'
		}
		return r
	}, strings.ToValidUTF8(s, "\ufffd"))
}
