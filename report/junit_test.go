package report

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tcptrace/tcptrace/tracker"
)

// junitRead is what a CI system reads from the report.
type junitRead struct {
	Tests    int `xml:"tests,attr"`
	Failures int `xml:"failures,attr"`
	Suites   []struct {
		Name     string `xml:"name,attr"`
		Tests    int    `xml:"tests,attr"`
		Failures int    `xml:"failures,attr"`
		Props    []struct {
			Name  string `xml:"name,attr"`
			Value string `xml:"value,attr"`
		} `xml:"properties>property"`
		Cases []struct {
			Class   string `xml:"classname,attr"`
			Name    string `xml:"name,attr"`
			Failure *struct {
				Message string `xml:"message,attr"`
				Body    string `xml:",chardata"`
			} `xml:"failure"`
			Out string `xml:"system-out"`
		} `xml:"testcase"`
	} `xml:"testsuite"`
}

func TestJUnit(t *testing.T) {
	conns, sum := analyseFile(t, filepath.Join(pcapRoot, "synth", "half-closed-long.pcap"))
	var half []*tracker.Conn
	for _, c := range conns {
		for _, a := range c.Anomalies {
			if a.Kind == tracker.HalfClosed {
				half = append(half, c)
			}
		}
	}
	if len(half) == 0 {
		t.Fatal("half-closed-long.pcap has no half_closed connection")
	}
	// A connection whose detail carries what XML cannot hold or CDATA must
	// not end early with.
	odd := &tracker.Conn{ID: 99, Anomalies: []tracker.Anomaly{{Kind: tracker.Reset, Detail: "ctl\x01 ]]> <tag> & \xff"}}}
	odd.Ends[tracker.Client].Addr = netip.MustParseAddrPort("192.0.2.1:1234")
	odd.Ends[tracker.Server].Addr = netip.MustParseAddrPort("192.0.2.2:80")
	many := make([]*tracker.Conn, junitMaxListed+5)
	for i := range many {
		many[i] = odd
	}
	cases := []JUnitCase{
		{Class: "fail_on", Name: "half_closed", Kind: tracker.HalfClosed, HasKind: true, Failed: true, Message: "half_closed in 1 connection", Conns: half},
		{Class: "fail_on", Name: "reset", Kind: tracker.Reset, HasKind: true, Message: "no reset"},
		{Class: "fail_on", Name: "reset", Kind: tracker.Reset, HasKind: true, Failed: true, Message: "odd", Conns: []*tracker.Conn{odd}},
		{Class: "max", Name: "anomalous <= 0", Failed: true, Message: "anomalous = 105", Conns: many},
		{Class: "fail_on", Name: "close_wait_pileup", Failed: true, Message: "pileup",
			Pileups: []tracker.Pileup{{Kind: tracker.CloseWaitPileup, Endpoint: "192.0.2.2:80", Peak: 12, Time: sum.FirstTime}}},
	}
	var buf bytes.Buffer
	if err := WriteJUnit(&buf, sum, cases); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if !strings.HasPrefix(out, xml.Header) {
		t.Errorf("no XML declaration:\n%s", out)
	}
	var got junitRead
	if err := xml.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatalf("not XML: %v\n%s", err, out)
	}
	if got.Tests != 5 || got.Failures != 4 || len(got.Suites) != 1 || got.Suites[0].Tests != 5 || got.Suites[0].Failures != 4 {
		t.Fatalf("counts: %+v", got)
	}
	s := got.Suites[0]
	if !strings.Contains(s.Name, "half-closed-long.pcap") {
		t.Errorf("suite name %q does not name the capture", s.Name)
	}
	props := map[string]string{}
	for _, p := range s.Props {
		props[p.Name] = p.Value
	}
	if props["connections"] != fmt.Sprint(sum.Connections) {
		t.Errorf("properties %v", props)
	}
	c0 := s.Cases[0]
	if c0.Class != "tcptrace.fail_on" || c0.Name != "half_closed" || c0.Failure == nil ||
		!strings.Contains(c0.Failure.Body, fmt.Sprintf("#%d %s", half[0].ID, half[0].Client())) ||
		!strings.Contains(c0.Failure.Body, "half_closed") {
		t.Errorf("half_closed case: %+v", c0)
	}
	if s.Cases[1].Failure != nil || s.Cases[1].Out != "no reset" {
		t.Errorf("passing case: %+v", s.Cases[1])
	}
	if body := s.Cases[2].Failure.Body; !strings.Contains(body, "]]> <tag> &") || strings.Contains(body, "\x01") {
		t.Errorf("odd detail not carried safely: %q", body)
	}
	if body := s.Cases[3].Failure.Body; strings.Count(body, "#99 ") != junitMaxListed || !strings.Contains(body, "and 5 more") {
		t.Errorf("long list not cut at %d: %d listed", junitMaxListed, strings.Count(body, "#99 "))
	}
	if body := s.Cases[4].Failure.Body; !strings.Contains(body, "close_wait_pileup: 12 connections at once on 192.0.2.2:80") {
		t.Errorf("pileup body %q", body)
	}
}
