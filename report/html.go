package report

import (
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"math"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/tcptrace/tcptrace/tracker"
)

// Limits that keep the HTML report small and fast for any capture: the
// aggregates (summary, tables, diagram, timeline) are always complete; the
// per-item parts are capped, and the report says so where it caps.
const (
	DefaultMaxLadders    = 200  // ladder diagrams of anomalous connections
	MaxAnomalyRows       = 2000 // rows in the filterable anomaly list, most severe first
	TimelinePoints       = 1000 // samples of the state timeline
	htmlLadderWidth      = 80
	anomalyRowsPerPage   = 100
	timelineW, timelineH = 1000, 320
)

//go:embed assets/report.html.tmpl assets/report.css assets/report.js
var assets embed.FS

// reportTemplate is parsed on first use: every other command would pay for
// it at start-up otherwise.
var reportTemplate = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("report.html.tmpl").Funcs(template.FuncMap{
		"clock": fmtClock,
	}).ParseFS(assets, "assets/report.html.tmpl"))
})

// HTMLReport is everything one self-contained HTML report shows.
type HTMLReport struct {
	Summary Summary
	Conns   []*tracker.Conn
	// Ladders are drawn for the connections LadderConns chose, with their
	// segments already added; LadderCandidates is how many connections
	// qualified before the cap.
	Ladders          []*Ladder
	LadderCandidates int
}

// LadderConns picks the connections that get a ladder in the report: those
// with an anomaly, the most severe first, then in connection order, at most
// limit of them. It also returns how many qualified.
func LadderConns(conns []*tracker.Conn, limit int) ([]*tracker.Conn, int) {
	var out []*tracker.Conn
	for _, c := range conns {
		if len(c.Anomalies) > 0 {
			out = append(out, c)
		}
	}
	total := len(out)
	slices.SortStableFunc(out, func(a, b *tracker.Conn) int {
		return int(worst(b)) - int(worst(a))
	})
	if limit >= 0 && len(out) > limit {
		out = out[:limit]
	}
	// Back in connection order for reading.
	slices.SortFunc(out, func(a, b *tracker.Conn) int { return cmpU64(a.ID, b.ID) })
	return out, total
}

func worst(c *tracker.Conn) tracker.Severity {
	var w tracker.Severity
	for _, a := range c.Anomalies {
		w = max(w, a.Severity)
	}
	return w
}

// htmlData is what the template sees.
type htmlData struct {
	Title      string
	S          Summary
	Span       string
	Files      []string
	Skipped    []skipped
	States     []stateRow
	Severities []sevCount
	Kinds      []kindCount
	Pileups    []pileupRow
	Edges      []DiagramEdge
	Untaken    []DiagramEdge
	DiagramSVG template.HTML
	Timeline   template.HTML
	TimeNote   string
	Anomalies  anomalyTable
	Ladders    []ladderSection
	LadderNote string
	CSS        template.CSS
	JS         template.JS
	Data       template.JS
}

type skipped struct {
	Reason string
	Count  uint64
}

type stateRow struct {
	State            string
	Look             string
	Clients, Servers int
}

type sevCount struct {
	Name  string
	Count int
}

type kindCount struct {
	Name, Severity, Definition string
	Count                      int
}

type pileupRow struct {
	Kind, Endpoint, Time string
	Peak                 int
}

type anomalyTable struct {
	Total, Shown int
	Kinds        []string
	PerPage      int
}

type ladderSection struct {
	ID          uint64
	Client      string
	Server      string
	Kinds       string
	Severity    string
	FinalClient string
	FinalServer string
	Body        template.HTML
}

// anomalyJSON is one row of the anomaly list, as compact arrays for the
// page's script: [conn, severity, kind, side, time (s from capture
// start), packet, count, detail, client, server, has ladder].
type anomalyJSON [11]any

// Write renders the report.
func (r *HTMLReport) Write(w io.Writer) error {
	css, err := assets.ReadFile("assets/report.css")
	if err != nil {
		return err
	}
	js, err := assets.ReadFile("assets/report.js")
	if err != nil {
		return err
	}
	s := r.Summary
	d := htmlData{Title: "tcptrace report", S: s, Span: fmtDur(s.LastTime - s.FirstTime), Files: s.Files,
		CSS: template.CSS(css), JS: template.JS(js)}
	if len(s.Files) > 0 {
		d.Title = "tcptrace: " + strings.Join(s.Files, ", ")
	}
	for _, reason := range SkippedReasons {
		if n := s.Skipped[reason]; n > 0 {
			d.Skipped = append(d.Skipped, skipped{strings.ReplaceAll(reason, "_", " "), n})
		}
	}
	for _, st := range tracker.States() {
		cn, sn := s.ClientStates[st], s.ServerStates[st]
		if cn > 0 || sn > 0 {
			d.States = append(d.States, stateRow{st.String(), lookClass[stateLook(st)], cn, sn})
		}
	}
	for _, sev := range []tracker.Severity{tracker.Error, tracker.Warning, tracker.Info} {
		d.Severities = append(d.Severities, sevCount{sev.String(), s.BySeverity[sev]})
	}
	for _, sev := range []tracker.Severity{tracker.Error, tracker.Warning, tracker.Info} {
		for _, k := range tracker.Kinds() {
			if n := s.Anomalies[k]; n > 0 && k.Info().Severity == sev {
				d.Kinds = append(d.Kinds, kindCount{k.String(), sev.String(), k.Info().Definition, n})
			}
		}
	}
	for _, p := range s.Pileups {
		what := "CLOSE_WAIT on " + p.Endpoint
		if p.Kind == tracker.TimeWaitPileup {
			what = "TIME_WAIT on host " + p.Endpoint
		}
		d.Pileups = append(d.Pileups, pileupRow{p.Kind.String(), what, fmtClock(p.Time), p.Peak})
	}

	diagram := NewDiagram(r.Conns)
	d.Edges = diagram.Edges
	for _, e := range diagram.Edges {
		if e.Count == 0 {
			d.Untaken = append(d.Untaken, e)
		}
	}
	d.DiagramSVG = template.HTML(diagram.SVG())

	tl := newTimeline(r.Conns, s.FirstTime, s.LastTime, TimelinePoints)
	d.Timeline = template.HTML(tl.svg())
	d.TimeNote = tl.note()

	rows, total := anomalyRows(r, s.FirstTime)
	d.Anomalies = anomalyTable{Total: total, Shown: len(rows), PerPage: anomalyRowsPerPage}
	for _, k := range tracker.Kinds() {
		if s.Anomalies[k] > 0 && k != tracker.CloseWaitPileup && k != tracker.TimeWaitPileup {
			d.Anomalies.Kinds = append(d.Anomalies.Kinds, k.String())
		}
	}

	for _, l := range r.Ladders {
		c := l.Conn()
		var kinds []string
		for _, a := range c.Anomalies {
			if !containsString(kinds, a.Kind.String()) {
				kinds = append(kinds, a.Kind.String())
			}
		}
		d.Ladders = append(d.Ladders, ladderSection{
			ID: c.ID, Client: c.Client().String(), Server: c.Server().String(),
			Kinds: strings.Join(kinds, ", "), Severity: worst(c).String(),
			FinalClient: c.Ends[tracker.Client].State.String(), FinalServer: c.Ends[tracker.Server].State.String(),
			Body: template.HTML(l.HTML()),
		})
	}
	if r.LadderCandidates > len(r.Ladders) {
		d.LadderNote = fmt.Sprintf("Showing ladders for %d of the %d connections with anomalies (the most severe first); "+
			"draw any other with tcptrace ladder FILE --conn ID.", len(r.Ladders), r.LadderCandidates)
	}

	data := map[string]any{"anomalies": rows, "perPage": anomalyRowsPerPage, "timeline": tl.json()}
	raw, err := json.Marshal(data) // escapes <, > and & so it cannot close the script element
	if err != nil {
		return err
	}
	d.Data = template.JS(raw)
	return reportTemplate().Execute(w, d)
}

// anomalyRows lists the connections' anomalies, most severe first, at most
// MaxAnomalyRows, and returns the total.
func anomalyRows(r *HTMLReport, start int64) ([]anomalyJSON, int) {
	type ref struct {
		c *tracker.Conn
		a *tracker.Anomaly
	}
	var all []ref
	for _, c := range r.Conns {
		for i := range c.Anomalies {
			all = append(all, ref{c, &c.Anomalies[i]})
		}
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].a.Severity > all[j].a.Severity })
	total := len(all)
	if len(all) > MaxAnomalyRows {
		all = all[:MaxAnomalyRows]
	}
	// Within the cap, in time order as people read a capture.
	sort.SliceStable(all, func(i, j int) bool {
		if all[i].a.Time != all[j].a.Time {
			return all[i].a.Time < all[j].a.Time
		}
		return all[i].c.ID < all[j].c.ID
	})
	hasLadder := map[uint64]bool{}
	for _, l := range r.Ladders {
		hasLadder[l.Conn().ID] = true
	}
	rows := make([]anomalyJSON, 0, len(all))
	for _, x := range all {
		a := x.a
		rows = append(rows, anomalyJSON{x.c.ID, a.Severity.String(), a.Kind.String(), a.Side.String(),
			math.Round(float64(a.Time-start)/1e3) / 1e6, a.Packet, a.Count, a.Detail,
			x.c.Client().String(), x.c.Server().String(), hasLadder[x.c.ID]})
	}
	return rows, total
}

// timelineStates are the states the timeline stacks, bottom to top: the
// open state first, then the ones connections pile up in. CLOSED and LISTEN
// are left out: they are where every endpoint starts and ends.
var timelineStates = []tracker.State{
	tracker.Established, tracker.SynSent, tracker.SynRcvd, tracker.FinWait1, tracker.FinWait2,
	tracker.Closing, tracker.LastAck, tracker.CloseWait, tracker.TimeWait,
}

// timelineColours give each stacked state its own colour, with the states
// of pile-ups (CLOSE_WAIT, TIME_WAIT) the strongest.
var timelineColours = map[tracker.State]string{
	tracker.Established: "#66bb6a", tracker.SynSent: "#aed581", tracker.SynRcvd: "#d4e157",
	tracker.FinWait1: "#ffd54f", tracker.FinWait2: "#ffb74d", tracker.Closing: "#ff8a65",
	tracker.LastAck: "#ba68c8", tracker.CloseWait: "#e53935", tracker.TimeWait: "#5c6bc0",
}

// timeline is the number of endpoints in each state over the capture, as a
// step function sampled at most at a fixed number of instants.
type timeline struct {
	start, end int64
	times      []int64 // sample instants; the value holds until the next
	counts     [][]int // [sample][index in timelineStates]
	exact      bool    // every change is a sample (few changes), not a sampling
	peak       []int   // per state
}

// newTimeline replays every endpoint's transitions (each starts in its
// initial state at the connection's first packet) and samples the counts.
func newTimeline(conns []*tracker.Conn, start, end int64, points int) *timeline {
	tl := &timeline{start: start, end: end, peak: make([]int, len(timelineStates))}
	slot := map[tracker.State]int{}
	for i, s := range timelineStates {
		slot[s] = i
	}
	type change struct {
		at    int64
		state int
		delta int
	}
	var changes []change
	add := func(at int64, s tracker.State, delta int) {
		if i, ok := slot[s]; ok {
			changes = append(changes, change{at, i, delta})
		}
	}
	for _, c := range conns {
		for side := tracker.Client; side <= tracker.Server; side++ {
			var trs []tracker.Transition
			for _, tr := range c.Transitions {
				if tr.Side == side {
					trs = append(trs, tr)
				}
			}
			// A retroactive transition (the listener's SYN_RCVD dated at
			// the SYN) may be recorded after later ones.
			slices.SortStableFunc(trs, func(a, b tracker.Transition) int { return cmpI64(a.Time, b.Time) })
			cur := c.Ends[side].Initial
			add(c.FirstSeen, cur, +1)
			for _, tr := range trs {
				add(tr.Time, cur, -1)
				cur = tr.To
				add(tr.Time, cur, +1)
			}
		}
	}
	if len(conns) == 0 || end < start {
		return tl
	}
	slices.SortStableFunc(changes, func(a, b change) int { return cmpI64(a.at, b.at) })
	var instants []int64
	distinct := 0
	for i := range changes {
		if i == 0 || changes[i].at != changes[i-1].at {
			distinct++
		}
	}
	if distinct+2 <= points {
		tl.exact = true
		instants = append(instants, start)
		for i := range changes {
			if i == 0 || changes[i].at != changes[i-1].at {
				if at := changes[i].at; at > start && at < end {
					instants = append(instants, at)
				}
			}
		}
		instants = append(instants, end)
	} else {
		for i := 0; i < points; i++ {
			instants = append(instants, start+int64(float64(end-start)*float64(i)/float64(points-1)))
		}
	}
	cur := make([]int, len(timelineStates))
	j := 0
	for _, t := range instants {
		for j < len(changes) && changes[j].at <= t {
			cur[changes[j].state] += changes[j].delta
			j++
		}
		tl.times = append(tl.times, t)
		tl.counts = append(tl.counts, slices.Clone(cur))
		for i, n := range cur {
			tl.peak[i] = max(tl.peak[i], n)
		}
	}
	return tl
}

func (tl *timeline) note() string {
	if len(tl.times) == 0 {
		return "No connections."
	}
	if tl.exact {
		return "Every change is drawn."
	}
	return fmt.Sprintf("Sampled at %d evenly spaced instants: a state held for less than %s between samples may not show.",
		len(tl.times), fmtDur((tl.end-tl.start)/int64(max(1, len(tl.times)-1))))
}

// json hands the samples to the page's script for the hover read-out.
func (tl *timeline) json() map[string]any {
	names := make([]string, len(timelineStates))
	for i, s := range timelineStates {
		names[i] = s.String()
	}
	t := make([]float64, len(tl.times))
	for i, x := range tl.times {
		t[i] = math.Round(float64(x-tl.start)/1e3) / 1e6
	}
	return map[string]any{"states": names, "t": t, "counts": tl.counts,
		"x0": tlLeft, "x1": timelineW - tlRight, "span": float64(tl.end-tl.start) / 1e9}
}

const (
	tlLeft, tlRight, tlTop, tlBottom = 60, 20, 20, 40
)

// svg draws the stacked areas, axes and a legend of peaks.
func (tl *timeline) svg() string {
	var b strings.Builder
	fmt.Fprintf(&b, `<svg id="timeline-svg" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="%d" height="%d" font-size="12" role="img" aria-label="endpoints in each state over the capture">`,
		timelineW, timelineH, timelineW, timelineH)
	plotW, plotH := float64(timelineW-tlLeft-tlRight), float64(timelineH-tlTop-tlBottom)
	maxTotal := 0
	for _, c := range tl.counts {
		sum := 0
		for _, n := range c {
			sum += n
		}
		maxTotal = max(maxTotal, sum)
	}
	if len(tl.times) == 0 || maxTotal == 0 {
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle" fill="%s">no endpoint was in an open state</text></svg>`, timelineW/2, timelineH/2, colDim)
		return b.String()
	}
	yMax := niceCeil(float64(maxTotal))
	span := float64(tl.end - tl.start)
	x := func(t int64) float64 {
		if span <= 0 {
			return tlLeft
		}
		return tlLeft + plotW*float64(t-tl.start)/span
	}
	y := func(v float64) float64 { return tlTop + plotH - plotH*v/yMax }
	r1 := func(v float64) float64 { return math.Round(v*10) / 10 }

	// Grid and y axis.
	for _, v := range niceTicks(yMax, 5) {
		fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%g" y2="%g" stroke="#e4e7eb"/>`, tlLeft, timelineW-tlRight, r1(y(v)), r1(y(v)))
		fmt.Fprintf(&b, `<text x="%d" y="%g" text-anchor="end" fill="%s">%g</text>`, tlLeft-6, r1(y(v))+4, colDim, v)
	}
	// Areas: for each state, the band between the stack below it and the
	// stack including it, as steps (a count holds until the next sample).
	last := len(tl.times) - 1
	xEnd := x(tl.end)
	lower := make([]float64, len(tl.times))
	for si, st := range timelineStates {
		if tl.peak[si] == 0 {
			continue
		}
		upper := make([]float64, len(tl.times))
		for i := range tl.times {
			upper[i] = lower[i] + float64(tl.counts[i][si])
		}
		var p strings.Builder
		fmt.Fprintf(&p, "M%g %g", r1(x(tl.times[0])), r1(y(lower[0])))
		for i := range tl.times {
			next := xEnd
			if i < last {
				next = x(tl.times[i+1])
			}
			fmt.Fprintf(&p, "L%g %gL%g %g", r1(x(tl.times[i])), r1(y(upper[i])), r1(next), r1(y(upper[i])))
		}
		for i := last; i >= 0; i-- {
			next := xEnd
			if i < last {
				next = x(tl.times[i+1])
			}
			fmt.Fprintf(&p, "L%g %gL%g %g", r1(next), r1(y(lower[i])), r1(x(tl.times[i])), r1(y(lower[i])))
		}
		p.WriteString("Z")
		fmt.Fprintf(&b, `<path class="band" data-state="%s" d="%s" fill="%s" fill-opacity="0.85" stroke="%s" stroke-width="0.5"><title>%s: at most %d at once</title></path>`,
			st, p.String(), timelineColours[st], timelineColours[st], st, tl.peak[si])
		lower = upper
	}
	// X axis in seconds from the capture's start.
	fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%g" y2="%g" stroke="#52606d"/>`, tlLeft, timelineW-tlRight, r1(y(0)), r1(y(0)))
	for _, v := range niceTicks(span/1e9, 8) {
		xv := tlLeft + plotW*v*1e9/math.Max(span, 1)
		fmt.Fprintf(&b, `<line x1="%g" x2="%g" y1="%g" y2="%g" stroke="#52606d"/><text x="%g" y="%g" text-anchor="middle" fill="%s">%s</text>`,
			r1(xv), r1(xv), r1(y(0)), r1(y(0))+5, r1(xv), r1(y(0))+18, colDim, secondsLabel(v))
	}
	fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end" fill="%s">seconds from the start of the capture</text>`, timelineW-tlRight, timelineH-4, colDim)
	fmt.Fprintf(&b, `<line id="timeline-cursor" x1="0" x2="0" y1="%d" y2="%g" stroke="#1f2933" stroke-dasharray="3 3" visibility="hidden"/>`, tlTop, r1(y(0)))
	b.WriteString(`</svg>`)
	// Legend with each state's peak, top of the stack first.
	b.WriteString(`<ul class="legend">`)
	for si := len(timelineStates) - 1; si >= 0; si-- {
		if tl.peak[si] == 0 {
			continue
		}
		st := timelineStates[si]
		fmt.Fprintf(&b, `<li><span class="swatch" style="background:%s"></span>%s <span class="dim">peak %d</span></li>`, timelineColours[st], st, tl.peak[si])
	}
	b.WriteString(`</ul>`)
	return b.String()
}

// niceCeil rounds up to 1, 2 or 5 times a power of ten.
func niceCeil(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

// niceTicks returns round tick values from 0 to at most max, about n of them.
func niceTicks(maxV float64, n int) []float64 {
	if maxV <= 0 {
		return []float64{0}
	}
	step := niceCeil(maxV / float64(n))
	var out []float64
	for v := 0.0; v <= maxV*1.0000001; v += step {
		out = append(out, math.Round(v/step)*step)
	}
	return out
}

func secondsLabel(v float64) string {
	return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.6f", v), "0"), ".")
}
