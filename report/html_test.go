package report_test

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tcptrace/tcptrace/report"
	"github.com/tcptrace/tcptrace/tcp"
	"github.com/tcptrace/tcptrace/tracker"
)

func htmlReport(t testing.TB, a *analysis, maxLadders int) string {
	t.Helper()
	chosen, total := report.LadderConns(a.conns, maxLadders)
	r := &report.HTMLReport{Summary: a.summary, Conns: a.conns, Ladders: a.ladders(t, chosen, report.LadderOptions{}),
		LadderCandidates: total}
	if len(chosen) == 0 {
		r.Ladders = nil
	}
	var b bytes.Buffer
	if err := r.Write(&b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// reportData extracts the JSON the page's script reads.
func reportData(t testing.TB, page string) map[string]json.RawMessage {
	t.Helper()
	m := regexp.MustCompile(`(?s)<script type="application/json" id="report-data">(.*?)</script>`).FindStringSubmatch(page)
	if m == nil {
		t.Fatal("no report data")
	}
	var data map[string]json.RawMessage
	if err := json.Unmarshal([]byte(m[1]), &data); err != nil {
		t.Fatal(err)
	}
	return data
}

// TestHTMLReport checks the parts of the report on the synthesized
// captures, and that nothing is loaded from elsewhere.
func TestHTMLReport(t *testing.T) {
	var files []string
	for _, f := range bundled(t) {
		if strings.Contains(f, "/synth/") {
			files = append(files, f)
		}
	}
	a := analyse(t, files...)
	page := htmlReport(t, a, report.DefaultMaxLadders)
	anomalous := 0
	for _, c := range a.conns {
		if len(c.Anomalies) > 0 {
			anomalous++
		}
	}
	for _, want := range []string{
		`<section id="summary">`, `<table id="final-states">`, `<table id="transitions">`,
		`<section id="diagram">`, `<g class="edge"`, `<svg id="timeline-svg"`, `class="band"`,
		`<table id="anomaly-list">`, `<select id="filter-kind">`, `<option value="half_closed">`,
		`<details id="conn-`, `<span class="l-syn">`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("report lacks %s", want)
		}
	}
	if n := strings.Count(page, `<details id="conn-`); n != anomalous {
		t.Errorf("%d ladders, want one per anomalous connection (%d)", n, anomalous)
	}
	if strings.Contains(page, `id="ladder-cap"`) {
		t.Error("ladders said to be capped when they are not")
	}
	// Self-contained: no external scripts, styles, images or fonts. The
	// only URL is the SVG namespace.
	for _, bad := range []string{"<script src", "<link", "<img", "@import", "url(", "https://"} {
		if strings.Contains(page, bad) {
			t.Errorf("report refers to something outside itself: %q", bad)
		}
	}
	if urls := regexp.MustCompile(`http://[^"]*`).FindAllString(page, -1); len(urls) != strings.Count(page, "http://www.w3.org/2000/svg") {
		t.Errorf("unexpected URLs: %v", urls)
	}
	var rows [][]any
	if err := json.Unmarshal(reportData(t, page)["anomalies"], &rows); err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, c := range a.conns {
		total += len(c.Anomalies)
	}
	if len(rows) != total {
		t.Errorf("%d anomaly rows, want %d", len(rows), total)
	}
}

// TestHTMLReportCaps checks that the ladder cap is applied and said.
func TestHTMLReportCaps(t *testing.T) {
	var files []string
	for _, f := range bundled(t) {
		if strings.Contains(f, "/synth/") {
			files = append(files, f)
		}
	}
	a := analyse(t, files...)
	page := htmlReport(t, a, 2)
	if n := strings.Count(page, `<details id="conn-`); n != 2 {
		t.Errorf("%d ladders, want 2", n)
	}
	if !strings.Contains(page, `id="ladder-cap"`) || !strings.Contains(page, "Showing ladders for 2 of the") {
		t.Error("the cap on ladders is not said")
	}
	// Errors come first when capping.
	chosen, _ := report.LadderConns(a.conns, 2)
	for _, c := range chosen {
		worst := tracker.Info
		for _, an := range c.Anomalies {
			worst = max(worst, an.Severity)
		}
		if worst != tracker.Error {
			t.Errorf("connection #%d chosen before connections with errors", c.ID)
		}
	}
}

// manyConns runs the tracker over n synthetic connections without a
// capture file: every tenth is left half-closed, every hundredth is reset,
// the rest close normally. Connections overlap in time, so the timeline
// has real pile-ups to draw.
func manyConns(n int) ([]*tracker.Conn, report.Summary, func(i int, emit func(*tcp.Segment))) {
	server := netip.MustParseAddrPort("198.51.100.20:443")
	start := time.Date(2024, 1, 1, 12, 0, 0, 0, time.UTC).UnixNano()
	segments := func(i int, emit func(*tcp.Segment)) {
		client := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), uint16(20000+i%40000))
		t0 := start + int64(i)*int64(time.Millisecond)
		pkt := uint64(i)*8 + 1
		cisn, sisn := tcp.Seq(1000+i), tcp.Seq(900000+i)
		send := func(from bool, dt time.Duration, flags tcp.Flags, seq, ack tcp.Seq, n uint32) {
			s := tcp.Segment{Time: t0 + int64(dt), Packet: pkt, Flags: flags, Seq: seq, Ack: ack, PayloadLen: n, Window: 500}
			s.Src, s.Dst = client, server
			if !from {
				s.Src, s.Dst = server, client
			}
			pkt++
			emit(&s)
		}
		send(true, 0, tcp.SYN, cisn, 0, 0)
		send(false, 100*time.Microsecond, tcp.SYN|tcp.ACK, sisn, cisn+1, 0)
		send(true, 200*time.Microsecond, tcp.ACK, cisn+1, sisn+1, 0)
		send(true, 300*time.Microsecond, tcp.PSH|tcp.ACK, cisn+1, sisn+1, 100)
		send(false, 400*time.Microsecond, tcp.PSH|tcp.ACK, sisn+1, cisn+101, 1000)
		switch {
		case i%100 == 0:
			send(false, 500*time.Microsecond, tcp.RST|tcp.ACK, sisn+1001, cisn+101, 0)
		case i%10 == 0:
			send(true, 500*time.Microsecond, tcp.FIN|tcp.ACK, cisn+101, sisn+1001, 0)
			send(false, 600*time.Microsecond, tcp.ACK, sisn+1001, cisn+102, 0)
		default:
			send(true, 500*time.Microsecond, tcp.FIN|tcp.ACK, cisn+101, sisn+1001, 0)
			send(false, 600*time.Microsecond, tcp.FIN|tcp.ACK, sisn+1001, cisn+102, 0)
			send(true, 700*time.Microsecond, tcp.ACK, cisn+102, sisn+1002, 0)
		}
	}
	tr := tracker.New(tracker.DefaultConfig())
	var last int64
	for i := 0; i < n; i++ {
		segments(i, func(s *tcp.Segment) { last = s.Time; tr.Process(s) })
	}
	tr.Finish()
	in := report.Input{Files: []string{"synthetic"}, FirstTime: start, LastTime: last, Packets: uint64(n) * 7, TCPPackets: uint64(n) * 7}
	return tr.Conns(), report.Summarize(in, tr.Conns(), tr.Pileups()), segments
}

// TestHTMLReportLarge checks that 100k connections make a report that
// stays small and quick: aggregates stay aggregates, lists are capped.
func TestHTMLReportLarge(t *testing.T) {
	if testing.Short() {
		t.Skip("100k connections")
	}
	const n = 100_000
	conns, summary, segments := manyConns(n)
	begin := time.Now()
	chosen, total := report.LadderConns(conns, report.DefaultMaxLadders)
	byID := map[uint64]*report.Ladder{}
	var ladders []*report.Ladder
	for _, c := range chosen {
		l := report.NewLadder(c, report.LadderOptions{CaptureEnd: summary.LastTime})
		byID[c.ID] = l
		ladders = append(ladders, l)
	}
	for _, c := range chosen {
		// Connection IDs follow the order of first packets: ID i+1 is
		// generator index i.
		segments(int(c.ID-1), byID[c.ID].Add)
	}
	r := &report.HTMLReport{Summary: summary, Conns: conns, Ladders: ladders, LadderCandidates: total}
	var b bytes.Buffer
	if err := r.Write(&b); err != nil {
		t.Fatal(err)
	}
	elapsed := time.Since(begin)
	page := b.String()
	t.Logf("%d connections, %d anomalous: %d bytes in %v", n, total, b.Len(), elapsed)
	want := 0
	for _, c := range conns {
		if len(c.Anomalies) > 0 {
			want++
		}
	}
	if total != want || total <= report.DefaultMaxLadders {
		t.Errorf("%d connections qualified for a ladder, want %d (more than the cap)", total, want)
	}
	if b.Len() > 2_000_000 {
		t.Errorf("report is %d bytes for %d connections, want under 2 MB", b.Len(), n)
	}
	if got := strings.Count(page, `<details id="conn-`); got != report.DefaultMaxLadders {
		t.Errorf("%d ladders, want the cap %d", got, report.DefaultMaxLadders)
	}
	if !strings.Contains(page, "The 2000 most severe of") {
		t.Error("the cap on the anomaly list is not said")
	}
	if !strings.Contains(page, "Sampled at 1000 evenly spaced instants") {
		t.Error("the timeline does not say it was sampled")
	}
	if bands := strings.Count(page, `class="band"`); bands == 0 {
		t.Error("no timeline drawn")
	}
}

// BenchmarkHTMLReport measures the report for 10k connections.
func BenchmarkHTMLReport(b *testing.B) {
	conns, summary, _ := manyConns(10_000)
	b.ReportAllocs()
	for b.Loop() {
		r := &report.HTMLReport{Summary: summary, Conns: conns}
		var out bytes.Buffer
		if err := r.Write(&out); err != nil {
			b.Fatal(err)
		}
	}
}
