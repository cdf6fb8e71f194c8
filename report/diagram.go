package report

import (
	"fmt"
	"html"
	"io"
	"math"
	"sort"
	"strings"

	"github.com/tcptrace/tcptrace/tracker"
)

// Diagram is the RFC 9293 state diagram annotated with one capture: every
// edge of the tracker's own transition table, labelled with how many times
// endpoints took it, and every state with how many endpoints were left in it
// when the capture ended. The edges come from tracker.Table(), so the
// picture cannot drift from the code; only the layout is drawn by hand.
type Diagram struct {
	Edges       []DiagramEdge
	Final       map[tracker.State]int // endpoints left in each state at the end
	FinalUnused int                   // of Final[Closed]: endpoints that never left CLOSED
	Start       map[tracker.State]int // endpoints that started in each state
	Endpoints   int
	Connections int
}

// DiagramEdge is every table rule from one state to another, and how often
// the capture took that step.
type DiagramEdge struct {
	From, To tracker.State
	Rules    []tracker.Rule
	Timer    bool // the tracker's own timers also take this step (2×MSL ends TIME_WAIT)
	Count    int  // transitions over all endpoints
	InTable  bool // false for a step the capture took that no table rule describes
}

// Triggers names what causes the edge, in the RFC's style: "rcv SYN / snd
// SYN-ACK". A segment both sent and received is written "snd/rcv RST".
func (e DiagramEdge) Triggers() string {
	var parts []string
	seen := map[string]int{}
	for _, r := range e.Rules {
		verb := "rcv"
		if r.Sent {
			verb = "snd"
		}
		if i, ok := seen[r.Segment]; ok {
			if !strings.Contains(parts[i], verb) {
				parts[i] = "snd/rcv " + r.Segment
			}
			continue
		}
		seen[r.Segment] = len(parts)
		parts = append(parts, verb+" "+r.Segment)
	}
	if e.Timer {
		parts = append(parts, "2×MSL timer")
	}
	if !e.InTable && len(parts) == 0 {
		parts = append(parts, "other")
	}
	return strings.Join(parts, " / ")
}

// Guards lists the sequence-number conditions of the edge's rules.
func (e DiagramEdge) Guards() string {
	var g []string
	for _, r := range e.Rules {
		if r.Guard != "" && !containsString(g, r.Guard) {
			g = append(g, r.Guard)
		}
	}
	return strings.Join(g, "; ")
}

// Correction reports an edge that only undoes an assumption of the
// observer (every rule of it is a correction).
func (e DiagramEdge) Correction() bool {
	if len(e.Rules) == 0 {
		return false
	}
	for _, r := range e.Rules {
		if !r.Correction {
			return false
		}
	}
	return true
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// NewDiagram counts the connections' transitions on the table's edges.
func NewDiagram(conns []*tracker.Conn) *Diagram {
	d := &Diagram{Connections: len(conns), Final: map[tracker.State]int{}, Start: map[tracker.State]int{}}
	index := map[[2]tracker.State]int{}
	for _, r := range tracker.Table() {
		k := [2]tracker.State{r.From, r.To}
		i, ok := index[k]
		if !ok {
			i = len(d.Edges)
			index[k] = i
			d.Edges = append(d.Edges, DiagramEdge{From: r.From, To: r.To, InTable: true})
		}
		d.Edges[i].Rules = append(d.Edges[i].Rules, r)
	}
	// The 2×MSL timer is the tracker's, not a table cell; the classic
	// picture has it, so the edge always says so.
	if i, ok := index[[2]tracker.State{tracker.TimeWait, tracker.Closed}]; ok {
		d.Edges[i].Timer = true
	}
	for _, c := range conns {
		for s := tracker.Client; s <= tracker.Server; s++ {
			e := &c.Ends[s]
			d.Endpoints++
			d.Final[e.State]++
			d.Start[e.Initial]++
		}
		moved := [2]bool{}
		for _, tr := range c.Transitions {
			if tr.Side <= tracker.Server {
				moved[tr.Side] = true
			}
			k := [2]tracker.State{tr.From, tr.To}
			i, ok := index[k]
			if !ok {
				i = len(d.Edges)
				index[k] = i
				d.Edges = append(d.Edges, DiagramEdge{From: tr.From, To: tr.To})
			}
			d.Edges[i].Count++
		}
		for s := tracker.Client; s <= tracker.Server; s++ {
			if c.Ends[s].State == tracker.Closed && !moved[s] {
				d.FinalUnused++
			}
		}
	}
	return d
}

// maxCount is the busiest edge's count.
func (d *Diagram) maxCount() int {
	m := 0
	for _, e := range d.Edges {
		m = max(m, e.Count)
	}
	return m
}

// WriteText writes the diagram as two tables: the edges with their counts,
// and the states endpoints were left in.
func (d *Diagram) WriteText(w io.Writer, color bool) error {
	t := newTermPainter(color)
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n", t.paint(lookHeading, fmt.Sprintf("state transitions: %d endpoints in %d connections", d.Endpoints, d.Connections)))
	fmt.Fprintf(&b, "%s\n", t.paint(lookHeading, fmt.Sprintf("%-11s    %-11s %7s  %s", "from", "to", "taken", "by")))
	for _, e := range d.Edges {
		lk := lookPlain
		count := fmt.Sprint(e.Count)
		if e.Count == 0 {
			lk, count = lookDim, "-"
		}
		by := e.Triggers()
		if g := e.Guards(); g != "" {
			by += " [" + g + "]"
		}
		if e.Correction() {
			by += " (correction)"
		}
		fmt.Fprintf(&b, "%s -> %s %s  %s\n", t.paint(stateLook(e.From), fmt.Sprintf("%-11s", e.From)),
			t.paint(stateLook(e.To), fmt.Sprintf("%-11s", e.To)), t.paint(lk, fmt.Sprintf("%7s", count)), t.paint(lk, by))
	}
	fmt.Fprintf(&b, "\n%s\n", t.paint(lookHeading, fmt.Sprintf("%-11s %7s", "left in", "count")))
	for _, s := range tracker.States() {
		n := d.Final[s]
		if n == 0 {
			continue
		}
		extra := ""
		if s == tracker.Closed && d.FinalUnused > 0 {
			extra = fmt.Sprintf("  (%d never left it)", d.FinalUnused)
		}
		fmt.Fprintf(&b, "%s %7d%s\n", t.paint(stateLook(s), fmt.Sprintf("%-11s", s)), n, extra)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// The layout: the classic picture of RFC 9293 Figure 5, with a second
// CLOSED drawn as a bar along the bottom so the many ways into CLOSED (RST
// from every synchronized state, the final ACK, the 2×MSL timer) can reach
// it without crossing the rest. Coordinates are SVG user units.
const (
	diagramW = 1100
	diagramH = 1010
	boxW     = 150
	boxH     = 44
	barTop   = 930
	barH     = 40
)

type pt struct{ x, y float64 }

// statePos is the centre of each state's box; CLOSED here is the top one,
// where connections begin.
var statePos = map[tracker.State]pt{
	tracker.Closed:      {550, 50},
	tracker.Listen:      {550, 170},
	tracker.SynRcvd:     {230, 300},
	tracker.SynSent:     {870, 300},
	tracker.Established: {550, 430},
	tracker.FinWait1:    {230, 570},
	tracker.CloseWait:   {870, 570},
	tracker.FinWait2:    {230, 710},
	tracker.Closing:     {550, 710},
	tracker.LastAck:     {870, 710},
	tracker.TimeWait:    {550, 840},
}

// route is the hand-chosen path of one edge: a polyline (or, with curve, a
// quadratic Bézier through three points) and where its label goes.
type route struct {
	pts    []pt
	curve  bool
	label  pt
	anchor string // SVG text-anchor of the label
	wrap   bool   // one trigger per line, where a long label would cross another edge
}

func box(s tracker.State) (l, r, t, b float64) {
	p := statePos[s]
	return p.x - boxW/2, p.x + boxW/2, p.y - boxH/2, p.y + boxH/2
}

// routes places every edge of the table. Edges into CLOSED end on the bar;
// edges out of CLOSED start at the top box, except the correction back to
// LAST_ACK, which starts from the bar as the endpoint it corrects did.
var routes = map[[2]tracker.State]route{
	{tracker.Closed, tracker.SynSent}:      {pts: []pt{{625, 50}, {870, 50}, {870, 278}}, label: pt{760, 42}, anchor: "middle"},
	{tracker.Listen, tracker.SynSent}:      {pts: []pt{{625, 170}, {830, 170}, {830, 278}}, label: pt{730, 162}, anchor: "middle"},
	{tracker.Listen, tracker.SynRcvd}:      {pts: []pt{{475, 170}, {250, 170}, {250, 278}}, label: pt{365, 162}, anchor: "middle"},
	{tracker.SynSent, tracker.SynRcvd}:     {pts: []pt{{795, 300}, {305, 300}}, label: pt{550, 292}, anchor: "middle"},
	{tracker.SynSent, tracker.Established}: {pts: []pt{{820, 322}, {610, 408}}, label: pt{722, 338}, anchor: "end"},
	{tracker.Established, tracker.SynSent}: {pts: []pt{{625, 420}, {850, 322}}, label: pt{770, 392}, anchor: "start"},
	{tracker.SynRcvd, tracker.Established}: {pts: []pt{{280, 322}, {490, 408}}, label: pt{378, 338}, anchor: "start"},
	{tracker.Established, tracker.SynRcvd}: {pts: []pt{{475, 420}, {250, 322}}, label: pt{330, 392}, anchor: "end"},
	{tracker.SynRcvd, tracker.FinWait1}:    {pts: []pt{{215, 322}, {215, 548}}, label: pt{205, 460}, anchor: "end"},
	{tracker.SynRcvd, tracker.CloseWait}: {pts: []pt{{300, 322}, {540, 640}, {800, 552}}, curve: true,
		label: pt{610, 566}, anchor: "middle"},
	{tracker.Established, tracker.FinWait1}:  {pts: []pt{{500, 452}, {290, 548}}, label: pt{382, 478}, anchor: "end"},
	{tracker.Established, tracker.CloseWait}: {pts: []pt{{600, 452}, {810, 548}}, label: pt{718, 478}, anchor: "start"},
	{tracker.CloseWait, tracker.LastAck}:     {pts: []pt{{870, 592}, {870, 688}}, label: pt{880, 644}, anchor: "start"},
	{tracker.FinWait1, tracker.FinWait2}:     {pts: []pt{{210, 592}, {210, 688}}, label: pt{200, 644}, anchor: "end"},
	{tracker.FinWait2, tracker.FinWait1}:     {pts: []pt{{250, 688}, {250, 592}}, label: pt{260, 644}, anchor: "start"},
	{tracker.FinWait1, tracker.Closing}:      {pts: []pt{{305, 585}, {485, 688}}, label: pt{405, 620}, anchor: "start"},
	{tracker.FinWait2, tracker.TimeWait}:     {pts: []pt{{230, 732}, {230, 840}, {475, 840}}, label: pt{240, 830}, anchor: "start"},
	{tracker.Closing, tracker.TimeWait}:      {pts: []pt{{530, 732}, {530, 818}}, label: pt{520, 780}, anchor: "end"},
	{tracker.TimeWait, tracker.Closing}:      {pts: []pt{{570, 818}, {570, 732}}, label: pt{580, 780}, anchor: "start"},
	{tracker.Closed, tracker.LastAck}:        {pts: []pt{{900, barTop}, {900, 732}}, label: pt{910, 800}, anchor: "start"},
	// Into CLOSED: the bar at the bottom. RST lanes run in the margins,
	// outermost for the topmost state, so they never cross each other.
	{tracker.SynRcvd, tracker.Closed}:     {pts: []pt{{155, 308}, {50, 308}, {50, barTop}}, label: pt{102, 302}, anchor: "middle"},
	{tracker.FinWait1, tracker.Closed}:    {pts: []pt{{155, 578}, {75, 578}, {75, barTop}}, label: pt{115, 572}, anchor: "middle"},
	{tracker.FinWait2, tracker.Closed}:    {pts: []pt{{155, 718}, {100, 718}, {100, barTop}}, label: pt{127, 712}, anchor: "middle"},
	{tracker.SynSent, tracker.Closed}:     {pts: []pt{{945, 308}, {1050, 308}, {1050, barTop}}, label: pt{997, 302}, anchor: "middle"},
	{tracker.CloseWait, tracker.Closed}:   {pts: []pt{{945, 578}, {1025, 578}, {1025, barTop}}, label: pt{985, 572}, anchor: "middle"},
	{tracker.LastAck, tracker.Closed}:     {pts: []pt{{850, 732}, {850, barTop}}, label: pt{840, 800}, anchor: "end", wrap: true},
	{tracker.Established, tracker.Closed}: {pts: []pt{{625, 438}, {700, 438}, {700, barTop}}, label: pt{706, 900}, anchor: "start"},
	{tracker.Closing, tracker.Closed}:     {pts: []pt{{625, 718}, {670, 718}, {670, barTop}}, label: pt{664, 900}, anchor: "end"},
	{tracker.TimeWait, tracker.Closed}:    {pts: []pt{{550, 862}, {550, barTop}}, label: pt{540, 900}, anchor: "end"},
}

// fallbackRoute draws an edge the layout does not know (a rule added to the
// table after the layout was drawn): a straight line between the boxes.
func fallbackRoute(from, to tracker.State) route {
	a, b := statePos[from], statePos[to]
	if to == tracker.Closed {
		b = pt{a.x, barTop + boxH/2}
	}
	start, end := clip(a, b), clip(b, a)
	return route{pts: []pt{start, end}, label: pt{(start.x + end.x) / 2, (start.y+end.y)/2 - 6}, anchor: "middle"}
}

// clip moves p from a box centre to the box border on the way to q.
func clip(p, q pt) pt {
	dx, dy := q.x-p.x, q.y-p.y
	if dx == 0 && dy == 0 {
		return p
	}
	sx, sy := math.Inf(1), math.Inf(1)
	if dx != 0 {
		sx = (boxW / 2) / math.Abs(dx)
	}
	if dy != 0 {
		sy = (boxH / 2) / math.Abs(dy)
	}
	s := math.Min(sx, sy)
	return pt{p.x + dx*s, p.y + dy*s}
}

func (d *Diagram) routeOf(e DiagramEdge) route {
	if r, ok := routes[[2]tracker.State{e.From, e.To}]; ok {
		return r
	}
	return fallbackRoute(e.From, e.To)
}

// Colours by meaning, shared with the HTML report's stylesheet.
const (
	colUntaken = "#c3c8ce"
	colText    = "#1f2933"
	colDim     = "#8a939c"
)

// edgeStyle makes busier edges thicker and darker, on a log scale so one
// busy edge does not wash out the rest.
func edgeStyle(count, maxCount int) (width float64, colour string) {
	if count == 0 || maxCount == 0 {
		return 1.2, colUntaken
	}
	f := math.Log1p(float64(count)) / math.Log1p(float64(maxCount))
	width = 2 + 6*f
	// From a light to a deep blue.
	lo, hi := [3]float64{0x6c, 0xa6, 0xe0}, [3]float64{0x0b, 0x3d, 0x91}
	var c [3]int
	for i := range c {
		c[i] = int(math.Round(lo[i] + (hi[i]-lo[i])*f))
	}
	return math.Round(width*10) / 10, fmt.Sprintf("#%02x%02x%02x", c[0], c[1], c[2])
}

// stateColours fill and outline a state that endpoints were left in, by
// what it means: stuck states red, the open state green, closing yellow.
func stateColours(s tracker.State) (fill, stroke string) {
	switch stateLook(s) {
	case lookStateGood:
		return "#e3f4e1", "#2e7d32"
	case lookStateStuck:
		return "#fde2e1", "#c0392b"
	case lookStateClosed:
		return "#eceff1", "#546e7a"
	}
	return "#fff4d6", "#b7791f"
}

// WriteSVG writes a standalone SVG document.
func (d *Diagram) WriteSVG(w io.Writer) error {
	_, err := io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?>`+"\n"+d.SVG())
	return err
}

// SVG returns the diagram as an <svg> element, for a file or inline HTML.
func (d *Diagram) SVG() string {
	var b strings.Builder
	maxC := d.maxCount()
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="%d" height="%d" font-family="DejaVu Sans, Verdana, Helvetica, Arial, sans-serif" role="img" aria-label="TCP state diagram annotated with this capture">`+"\n",
		diagramW, diagramH, diagramW, diagramH)
	fmt.Fprintf(&b, `<title>TCP state diagram: %d endpoints in %d connections</title>`+"\n", d.Endpoints, d.Connections)
	b.WriteString(`<rect width="100%" height="100%" fill="#ffffff"/>` + "\n")
	d.legend(&b, maxC)

	// Untaken edges first, so taken ones are drawn over them.
	order := make([]int, len(d.Edges))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(i, j int) bool { return d.Edges[order[i]].Count < d.Edges[order[j]].Count })
	b.WriteString(`<g class="edges" fill="none" stroke-linejoin="round">` + "\n")
	for _, i := range order {
		d.edge(&b, d.Edges[i], maxC)
	}
	b.WriteString("</g>\n")

	b.WriteString(`<g class="states" text-anchor="middle">` + "\n")
	for _, s := range tracker.States() {
		d.node(&b, s)
	}
	d.bar(&b)
	b.WriteString("</g>\n</svg>\n")
	return b.String()
}

func (d *Diagram) legend(b *strings.Builder, maxC int) {
	fmt.Fprintf(b, `<g class="legend" font-size="13" fill="%s">`+"\n", colText)
	fmt.Fprintf(b, `<text x="20" y="28" font-size="16" font-weight="bold">TCP endpoint states</text>`+"\n")
	fmt.Fprintf(b, `<text x="20" y="48">%d endpoints in %d connections</text>`+"\n", d.Endpoints, d.Connections)
	wTaken, cTaken := edgeStyle(max(maxC, 1), max(maxC, 1))
	fmt.Fprintf(b, `<line x1="20" y1="70" x2="60" y2="70" stroke="%s" stroke-width="%.1f"/><text x="68" y="74">taken (number = transitions)</text>`+"\n", cTaken, wTaken)
	fmt.Fprintf(b, `<line x1="20" y1="92" x2="60" y2="92" stroke="%s" stroke-width="1.2"/><text x="68" y="96">never taken</text>`+"\n", colUntaken)
	fmt.Fprintf(b, `<line x1="20" y1="114" x2="60" y2="114" stroke="%s" stroke-width="2" stroke-dasharray="6 4"/><text x="68" y="118">correction of the observer</text>`+"\n", colDim)
	fmt.Fprintf(b, `<rect x="20" y="128" width="40" height="18" rx="9" fill="#c0392b"/><text x="40" y="141" fill="#fff" text-anchor="middle" font-weight="bold">n</text><text x="68" y="142">left in the state at the end</text>`+"\n")
	b.WriteString("</g>\n")
}

func (d *Diagram) edge(b *strings.Builder, e DiagramEdge, maxC int) {
	r := d.routeOf(e)
	width, colour := edgeStyle(e.Count, maxC)
	dash := ""
	if e.Correction() || !e.InTable {
		dash = ` stroke-dasharray="6 4"`
	}
	var path strings.Builder
	fmt.Fprintf(&path, "M%g %g", r.pts[0].x, r.pts[0].y)
	// The line stops short of its end so the arrowhead's tip is sharp.
	head := 6 + width*1.6
	last, prev := r.pts[len(r.pts)-1], r.pts[len(r.pts)-2]
	dx, dy := last.x-prev.x, last.y-prev.y
	n := math.Hypot(dx, dy)
	ux, uy := dx/n, dy/n
	stop := pt{last.x - ux*head*0.8, last.y - uy*head*0.8}
	if r.curve && len(r.pts) == 3 {
		fmt.Fprintf(&path, " Q%g %g %s", r.pts[1].x, r.pts[1].y, fmtPt(stop))
	} else {
		for _, p := range r.pts[1 : len(r.pts)-1] {
			fmt.Fprintf(&path, " L%g %g", p.x, p.y)
		}
		fmt.Fprintf(&path, " L%s", fmtPt(stop))
	}
	title := fmt.Sprintf("%s → %s: %s", e.From, e.To, e.Triggers())
	if g := e.Guards(); g != "" {
		title += " [" + g + "]"
	}
	if e.Correction() {
		title += " (correction: a segment was lost beyond the capture point)"
	}
	title += fmt.Sprintf(" — taken %d times", e.Count)
	fmt.Fprintf(b, `<g class="edge" data-from="%s" data-to="%s" data-count="%d"><title>%s</title>`,
		e.From, e.To, e.Count, html.EscapeString(title))
	fmt.Fprintf(b, `<path d="%s" stroke="%s" stroke-width="%.1f"%s/>`, path.String(), colour, width, dash)
	// Arrowhead: a triangle along the last segment's direction.
	half := head * 0.45
	tip := last
	base := pt{last.x - ux*head, last.y - uy*head}
	l := pt{base.x - uy*half, base.y + ux*half}
	rr := pt{base.x + uy*half, base.y - ux*half}
	fmt.Fprintf(b, `<path d="M%s L%s L%s Z" fill="%s" stroke="none"/>`, fmtPt(tip), fmtPt(l), fmtPt(rr), colour)

	// Label: the count in bold, then what causes the step.
	textCol, countCol, weight := colDim, colDim, "normal"
	if e.Count > 0 {
		textCol, countCol, weight = colText, colour, "bold"
	}
	fmt.Fprintf(b, `<text x="%g" y="%g" text-anchor="%s" font-size="12" fill="%s" paint-order="stroke" stroke="#ffffff" stroke-width="4" stroke-linejoin="round">`,
		r.label.x, r.label.y, r.anchor, textCol)
	label := shortTriggers(e)
	if !r.wrap {
		fmt.Fprintf(b, `<tspan font-weight="%s" fill="%s">%d</tspan> %s</text></g>`+"\n", weight, countCol, e.Count, html.EscapeString(label))
		return
	}
	for i, part := range strings.Split(label, " / ") {
		if i == 0 {
			fmt.Fprintf(b, `<tspan font-weight="%s" fill="%s">%d</tspan> %s`, weight, countCol, e.Count, html.EscapeString(part))
			continue
		}
		fmt.Fprintf(b, `<tspan x="%g" dy="15">%s</tspan>`, r.label.x, html.EscapeString(part))
	}
	b.WriteString("</text></g>\n")
}

// shortTriggers is the label drawn on the edge: the RST lanes say only
// "RST" (sent or received makes no difference to where they go), and
// corrections say that the segment came again.
func shortTriggers(e DiagramEdge) string {
	allRST := len(e.Rules) > 0 && !e.Timer
	for _, r := range e.Rules {
		allRST = allRST && r.Segment == "RST"
	}
	if allRST {
		return "RST"
	}
	t := e.Triggers()
	if e.Correction() {
		t += " again"
	}
	return t
}

func fmtPt(p pt) string { return fmt.Sprintf("%g %g", math.Round(p.x*10)/10, math.Round(p.y*10)/10) }

func (d *Diagram) node(b *strings.Builder, s tracker.State) {
	p, ok := statePos[s]
	if !ok {
		return
	}
	l, _, t, _ := box(s)
	final := d.Final[s]
	if s == tracker.Closed {
		// The top CLOSED holds only endpoints that never left it; the
		// others are on the bar.
		final = d.FinalUnused
	}
	fill, stroke, sw := "#ffffff", "#52606d", 1.5
	if final > 0 {
		fill, stroke = stateColours(s)
		sw = 3
	}
	fmt.Fprintf(b, `<g class="state" data-state="%s" data-final="%d"><title>%s: %d endpoints left here, %d started here</title>`, s, final, s, final, d.Start[s])
	fmt.Fprintf(b, `<rect x="%g" y="%g" width="%d" height="%d" rx="8" fill="%s" stroke="%s" stroke-width="%g"/>`, l, t, boxW, boxH, fill, stroke, sw)
	fmt.Fprintf(b, `<text x="%g" y="%g" font-size="15" font-weight="bold" fill="%s">%s</text>`, p.x, p.y+5, colText, s)
	if final > 0 {
		badge(b, l+boxW-6, t-2, final, stroke)
	}
	if st := d.Start[s]; st > 0 {
		fmt.Fprintf(b, `<text x="%g" y="%g" font-size="11" fill="%s" font-style="italic">%d started here</text>`, p.x, t+boxH+14, colDim, st)
	}
	b.WriteString("</g>\n")
}

// badge draws a count in a pill on a box's corner.
func badge(b *strings.Builder, x, y float64, n int, colour string) {
	text := fmt.Sprint(n)
	w := float64(14 + 8*len(text))
	fmt.Fprintf(b, `<rect x="%g" y="%g" width="%g" height="20" rx="10" fill="%s"/><text x="%g" y="%g" font-size="13" font-weight="bold" fill="#ffffff">%s</text>`,
		x-w/2, y-10, w, colour, x, y+4.5, text)
}

func (d *Diagram) bar(b *strings.Builder) {
	final := d.Final[tracker.Closed] - d.FinalUnused
	fill, stroke, sw := "#ffffff", "#52606d", 1.5
	if final > 0 {
		fill, stroke = stateColours(tracker.Closed)
		sw = 3
	}
	fmt.Fprintf(b, `<g class="state" data-state="CLOSED" data-final="%d"><title>CLOSED: %d endpoints closed during the capture</title>`, final, final)
	fmt.Fprintf(b, `<rect x="30" y="%d" width="%d" height="%d" rx="8" fill="%s" stroke="%s" stroke-width="%g"/>`, barTop, diagramW-60, barH, fill, stroke, sw)
	fmt.Fprintf(b, `<text x="%d" y="%d" font-size="15" font-weight="bold" fill="%s">CLOSED</text>`, diagramW/2, barTop+barH/2+5, colText)
	if final > 0 {
		badge(b, float64(diagramW/2+70), float64(barTop+barH/2), final, stroke)
	}
	b.WriteString("</g>\n")
}

// WriteDOT writes the diagram for Graphviz with the same fixed layout
// (neato pins the positions): `dot -Tsvg` or `neato -n -Tpng` draw it.
func (d *Diagram) WriteDOT(w io.Writer) error {
	var b strings.Builder
	maxC := d.maxCount()
	b.WriteString("// TCP endpoint states: tcptrace diagram --format dot\n")
	fmt.Fprintf(&b, "digraph tcp_states {\n")
	fmt.Fprintf(&b, "\tgraph [layout=neato, splines=true, overlap=true, outputorder=edgesfirst, label=%s, labelloc=t, fontname=\"Helvetica\"];\n",
		dotQuote(fmt.Sprintf("TCP endpoint states: %d endpoints in %d connections", d.Endpoints, d.Connections)))
	b.WriteString("\tnode [shape=box, style=\"rounded,filled\", fillcolor=\"#ffffff\", color=\"#52606d\", fontname=\"Helvetica-Bold\", width=2.08, height=0.61, fixedsize=true];\n")
	b.WriteString("\tedge [fontname=\"Helvetica\", fontsize=10, arrowsize=0.7];\n")
	inch := func(p pt) string { return fmt.Sprintf("%.2f,%.2f!", p.x/72, (diagramH-p.y)/72) }
	for _, s := range tracker.States() {
		final := d.Final[s]
		if s == tracker.Closed {
			final = d.FinalUnused
		}
		attrs := fmt.Sprintf("pos=%q", inch(statePos[s]))
		label := s.String()
		if final > 0 {
			fill, stroke := stateColours(s)
			attrs += fmt.Sprintf(", fillcolor=%q, color=%q, penwidth=3", fill, stroke)
			label += fmt.Sprintf("\\n%d left here", final)
		}
		fmt.Fprintf(&b, "\t%s [label=\"%s\", %s];\n", s, label, attrs)
	}
	closedEnd := d.Final[tracker.Closed] - d.FinalUnused
	attrs := fmt.Sprintf("pos=%q, width=%.2f", inch(pt{diagramW / 2, barTop + barH/2}), float64(diagramW-60)/72)
	label := "CLOSED"
	if closedEnd > 0 {
		fill, stroke := stateColours(tracker.Closed)
		attrs += fmt.Sprintf(", fillcolor=%q, color=%q, penwidth=3", fill, stroke)
		label += fmt.Sprintf("\\n%d left here", closedEnd)
	}
	fmt.Fprintf(&b, "\tCLOSED_end [label=\"%s\", %s];\n", label, attrs)
	for _, e := range d.Edges {
		from, to := e.From.String(), e.To.String()
		if e.To == tracker.Closed {
			to = "CLOSED_end"
		}
		if e.From == tracker.Closed && e.To == tracker.LastAck {
			from = "CLOSED_end"
		}
		width, colour := edgeStyle(e.Count, maxC)
		style := ""
		if e.Correction() || !e.InTable {
			style = ", style=dashed"
		}
		text := fmt.Sprintf("%d %s", e.Count, shortTriggers(e))
		if g := e.Guards(); g != "" {
			text += "\\n[" + g + "]"
		}
		fmt.Fprintf(&b, "\t%s -> %s [label=%s, penwidth=%.1f, color=%q, fontcolor=%q%s];\n",
			from, to, dotQuote(text), width, colour, labelColour(e.Count), style)
	}
	b.WriteString("}\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func labelColour(count int) string {
	if count == 0 {
		return colDim
	}
	return colText
}

// dotQuote quotes a DOT string; "\n" escapes written by the caller are kept.
func dotQuote(s string) string {
	return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"`
}
