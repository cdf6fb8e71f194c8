package report

import (
	"fmt"
	"html"
	"io"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/fatih/color"

	"github.com/tcptrace/tcptrace/tcp"
	"github.com/tcptrace/tcptrace/tracker"
)

// LadderOptions configure a ladder diagram.
type LadderOptions struct {
	Full       bool  // one line per packet; otherwise long runs of data and ACKs are collapsed
	Width      int   // columns; 0 means 80. The arrows shrink to fit, down to a minimum
	CaptureEnd int64 // ns; when set, the last line shows the states at this time
}

// collapseAfter is the longest run of plain data/ACK segments shown packet by
// packet when not Full: a short request/response stays readable as arrows,
// a bulk transfer becomes one line of counts.
const collapseAfter = 4

// minArrow is the narrowest arrow, whatever the width asked for.
const minArrow = 26

// stateWidth fits the longest RFC state name, ESTABLISHED.
const stateWidth = 11

// Ladder draws one connection as a ladder (sequence) diagram: the client on
// the left, the server on the right, one arrow per segment, and beside each
// arrow the state each endpoint entered on it. The tracker keeps no packets,
// so the caller feeds the connection's segments back with Add, in packet
// order; transitions and anomalies are joined to them by packet number.
type Ladder struct {
	c   *tracker.Conn
	opt LadderOptions

	rows []ladderRow

	// Transitions and anomalies tied to a packet, in packet order, consumed
	// as the segments arrive; those whose packet never comes are shown on
	// their own line where their packet would have been.
	byPacket []ladderItem
	next     int
	// Timer transitions and anomalies without a packet, in time order,
	// shown where they happened between segments.
	timed     []ladderItem
	nextTimed int

	// Relative sequence numbers: each side's ISN (its first SYN's sequence
	// number, or the first sequence number seen from it).
	base    [2]tcp.Seq
	hasBase [2]bool
	// seen holds every (side, seq, length) that occupied sequence space, so
	// a repeat is known as a retransmission.
	seen map[retxKey]struct{}

	run      []ladderRow // plain segments not yet known to form a long run
	runCount runCounts

	lastTime int64
	finished bool
}

type retxKey struct {
	client bool
	seq    tcp.Seq
	len    uint32
}

// ladderItem is a transition or an anomaly waiting for its place.
type ladderItem struct {
	packet uint64
	time   int64
	tr     *tracker.Transition
	an     *tracker.Anomaly
}

type rowKind uint8

const (
	rowSegment rowKind = iota // an arrow
	rowRun                    // collapsed segments
	rowEvent                  // a state change without a packet (timer) or whose packet is missing
	rowGap                    // a long silence
	rowEnd                    // the states at the end
)

// ladderRow is one line of the diagram plus the notes under it.
type ladderRow struct {
	kind       rowKind
	time       int64
	packet     uint64
	fromClient bool
	label      string
	retx       bool
	look       look      // colour of the arrow
	enter      [2]string // state entered by client/server on this row, "" for none
	enterState [2]tracker.State
	text       string     // for runs, events and gaps
	extras     []runExtra // what else a run holds
	notes      []ladderNote
}

// runExtra is one more count of a collapsed run, with its own colour.
type runExtra struct {
	look look
	text string
}

type ladderNote struct {
	sev  tracker.Severity
	kind string // anomaly name; "" for a plain note
	text string
}

// runCounts summarises collapsed segments.
type runCounts struct {
	n, retx, zeroWindow    int
	fromClient, fromServer int
	bytes                  uint64
	first, lastTime        int64
	firstPacket            uint64
}

// NewLadder starts a ladder for c.
func NewLadder(c *tracker.Conn, opt LadderOptions) *Ladder {
	if opt.Width <= 0 {
		opt.Width = 80
	}
	l := &Ladder{c: c, opt: opt, seen: map[retxKey]struct{}{}, lastTime: c.FirstSeen}
	for i := range c.Transitions {
		tr := &c.Transitions[i]
		it := ladderItem{packet: tr.Packet, time: tr.Time, tr: tr}
		if tr.Packet == 0 {
			l.timed = append(l.timed, it)
		} else {
			l.byPacket = append(l.byPacket, it)
		}
	}
	for i := range c.Anomalies {
		a := &c.Anomalies[i]
		it := ladderItem{packet: a.Packet, time: a.Time, an: a}
		if a.Packet == 0 {
			l.timed = append(l.timed, it)
		} else {
			l.byPacket = append(l.byPacket, it)
		}
	}
	// Stable sorts keep the tracker's order among items of one packet: a
	// side's transitions stay in the order they were committed.
	slices.SortStableFunc(l.byPacket, func(a, b ladderItem) int { return cmpU64(a.packet, b.packet) })
	slices.SortStableFunc(l.timed, func(a, b ladderItem) int { return cmpI64(a.time, b.time) })
	return l
}

// Conn returns the connection the ladder draws.
func (l *Ladder) Conn() *tracker.Conn { return l.c }

// Add appends one segment of the connection. Segments must come in packet
// order; segments of other connections are ignored.
func (l *Ladder) Add(seg *tcp.Segment) {
	if l.finished || seg.Packet < l.c.FirstPacket || seg.Packet > l.c.LastPacket {
		return
	}
	cl, sv := l.c.Ends[tracker.Client].Addr, l.c.Ends[tracker.Server].Addr
	var fromClient bool
	switch {
	case seg.Src == cl && seg.Dst == sv:
		fromClient = true
	case seg.Src == sv && seg.Dst == cl:
	default:
		return
	}
	l.flushTimed(seg.Time, false)
	// Items whose packet was passed without being seen (never expected,
	// but a tracker event must not vanish from the picture).
	for l.next < len(l.byPacket) && l.byPacket[l.next].packet < seg.Packet {
		l.orphan(l.byPacket[l.next])
		l.next++
	}
	var items []ladderItem
	for l.next < len(l.byPacket) && l.byPacket[l.next].packet == seg.Packet {
		items = append(items, l.byPacket[l.next])
		l.next++
	}

	row := l.segmentRow(seg, fromClient)
	notable := seg.Flags&(tcp.SYN|tcp.FIN|tcp.RST) != 0 || len(items) > 0
	l.attach(&row, items)
	if notable || l.opt.Full {
		l.endRun()
		l.push(row)
		return
	}
	l.addToRun(row, seg)
}

// segmentRow builds the arrow for one segment and notes retransmissions.
func (l *Ladder) segmentRow(seg *tcp.Segment, fromClient bool) ladderRow {
	me, peer := sideIndex(fromClient), sideIndex(!fromClient)
	if !l.hasBase[me] {
		l.base[me], l.hasBase[me] = seg.Seq, true
	}
	if seg.Flags.Has(tcp.ACK) && !l.hasBase[peer] {
		// The peer has not been seen yet: an ACK of a SYN acknowledges
		// ISN+1; otherwise the first acknowledged number is the peer's
		// first sequence number, as for a connection picked up midstream.
		l.base[peer], l.hasBase[peer] = seg.Ack, true
		if seg.Flags.Has(tcp.SYN) {
			l.base[peer]--
		}
	}
	space := seg.PayloadLen
	if seg.Flags.Has(tcp.SYN) {
		space++
	}
	if seg.Flags.Has(tcp.FIN) {
		space++
	}
	retx := false
	if space > 0 {
		k := retxKey{fromClient, seg.Seq, space}
		_, retx = l.seen[k]
		l.seen[k] = struct{}{}
	}

	var b strings.Builder
	b.WriteString(seg.Flags.String())
	if space > 0 || seg.Flags.Has(tcp.RST) || !seg.Flags.Has(tcp.ACK) {
		fmt.Fprintf(&b, " seq=%d", uint32(seg.Seq-l.base[me]))
	}
	if seg.Flags.Has(tcp.ACK) {
		fmt.Fprintf(&b, " ack=%d", uint32(seg.Ack-l.base[peer]))
	}
	if seg.PayloadLen > 0 {
		fmt.Fprintf(&b, " len=%d", seg.PayloadLen)
	}
	if seg.Window == 0 && !seg.Flags.Has(tcp.RST) {
		b.WriteString(" win=0")
	}
	lk := lookData
	switch {
	case seg.Flags.Has(tcp.RST):
		lk = lookRST
	case seg.Flags.Has(tcp.SYN):
		lk = lookSYN
	case seg.Flags.Has(tcp.FIN):
		lk = lookFIN
	case retx:
		lk = lookRetx
	}
	return ladderRow{kind: rowSegment, time: seg.Time, packet: seg.Packet, fromClient: fromClient,
		label: b.String(), retx: retx, look: lk}
}

func sideIndex(client bool) int {
	if client {
		return int(tracker.Client)
	}
	return int(tracker.Server)
}

// attach writes the states entered on a row and the notes under it.
func (l *Ladder) attach(row *ladderRow, items []ladderItem) {
	var chains [2][]tracker.Transition
	for _, it := range items {
		if it.tr != nil && it.tr.Side <= tracker.Server {
			chains[it.tr.Side] = append(chains[it.tr.Side], *it.tr)
		}
	}
	for s, chain := range chains {
		if len(chain) == 0 {
			continue
		}
		last := chain[len(chain)-1]
		row.enter[s], row.enterState[s] = last.To.String(), last.To
		// One arrow can move a side through several states (a crossing
		// FIN); the column shows where it ended, the note the way there.
		if len(chain) > 1 {
			names := []string{chain[0].From.String()}
			for _, tr := range chain {
				names = append(names, tr.To.String())
			}
			row.notes = append(row.notes, ladderNote{text: fmt.Sprintf("%s: %s", tracker.Side(s), strings.Join(names, " → "))})
		}
		for _, tr := range chain {
			if tr.Note != "" {
				row.notes = append(row.notes, ladderNote{text: fmt.Sprintf("%s %s → %s: %s", tracker.Side(s), tr.From, tr.To, tr.Note)})
			}
		}
	}
	for _, it := range items {
		if it.an != nil {
			row.notes = append(row.notes, anomalyNote(it.an))
		}
	}
}

func anomalyNote(a *tracker.Anomaly) ladderNote {
	kind := a.Kind.String()
	if a.Count > 1 {
		kind += fmt.Sprintf(" ×%d", a.Count)
	}
	return ladderNote{sev: a.Severity, kind: kind, text: a.Detail}
}

// orphan shows a transition or anomaly whose packet is not among the
// segments (or that has none) on a line of its own.
func (l *Ladder) orphan(it ladderItem) {
	l.endRun()
	row := ladderRow{kind: rowEvent, time: it.time, packet: it.packet, text: fmt.Sprintf("packet %d not seen", it.packet)}
	if it.tr != nil {
		if it.tr.Side <= tracker.Server {
			row.enter[it.tr.Side], row.enterState[it.tr.Side] = it.tr.To.String(), it.tr.To
		}
		if it.tr.Note != "" {
			row.notes = append(row.notes, ladderNote{text: it.tr.Note})
		}
	} else {
		row.notes = append(row.notes, anomalyNote(it.an))
	}
	l.push(row)
}

// flushTimed places timer events and anomalies without a packet before
// time t (all of them when final); one at the same time as a segment is
// placed after it, since the tracker decided it having seen that segment.
func (l *Ladder) flushTimed(t int64, final bool) {
	for l.nextTimed < len(l.timed) && (final || l.timed[l.nextTimed].time < t) {
		it := l.timed[l.nextTimed]
		l.nextTimed++
		if it.tr != nil {
			l.endRun()
			row := ladderRow{kind: rowEvent, time: it.time, text: it.tr.Note}
			if row.text == "" {
				row.text = "timer"
			}
			if it.tr.Side <= tracker.Server {
				row.enter[it.tr.Side], row.enterState[it.tr.Side] = it.tr.To.String(), it.tr.To
			}
			l.push(row)
			continue
		}
		// An anomaly without a packet belongs to the line before it when
		// one is at the same moment; otherwise it stands alone.
		l.endRun()
		if n := len(l.rows); n > 0 && l.rows[n-1].time == it.time && l.rows[n-1].kind != rowGap {
			l.rows[n-1].notes = append(l.rows[n-1].notes, anomalyNote(it.an))
			continue
		}
		l.push(ladderRow{kind: rowEvent, time: it.time, text: "timer", notes: []ladderNote{anomalyNote(it.an)}})
	}
}

func (l *Ladder) addToRun(row ladderRow, seg *tcp.Segment) {
	rc := &l.runCount
	if rc.n == 0 {
		rc.first, rc.firstPacket = seg.Time, seg.Packet
	}
	rc.n++
	rc.lastTime = seg.Time
	rc.bytes += uint64(seg.PayloadLen)
	if row.fromClient {
		rc.fromClient++
	} else {
		rc.fromServer++
	}
	if row.retx {
		rc.retx++
	}
	if seg.Window == 0 && !seg.Flags.Has(tcp.RST) {
		rc.zeroWindow++
	}
	if rc.n <= collapseAfter {
		l.run = append(l.run, row)
	} else {
		l.run = l.run[:0]
	}
}

// endRun writes the pending plain segments: one by one when few, as a
// line of counts when many.
func (l *Ladder) endRun() {
	rc := l.runCount
	if rc.n == 0 {
		return
	}
	l.runCount = runCounts{}
	if rc.n <= collapseAfter {
		run := l.run
		l.run = nil
		for _, r := range run {
			l.push(r)
		}
		return
	}
	l.run = l.run[:0]
	text := fmt.Sprintf("… %d segments (%d →, %d ←, %s)", rc.n, rc.fromClient, rc.fromServer, bytesText(rc.bytes))
	row := ladderRow{kind: rowRun, time: rc.first, packet: rc.firstPacket, text: text}
	if rc.retx > 0 {
		row.extras = append(row.extras, runExtra{lookRetx, fmt.Sprintf("%d retransmitted", rc.retx)})
	}
	if rc.zeroWindow > 0 {
		row.extras = append(row.extras, runExtra{lookDim, fmt.Sprintf("%d with win=0", rc.zeroWindow)})
	}
	l.push(row)
	l.lastTime = rc.lastTime
}

func bytesText(n uint64) string {
	switch {
	case n < 10_000:
		return fmt.Sprintf("%d B", n)
	case n < 10_000_000:
		return fmt.Sprintf("%.1f kB", float64(n)/1e3)
	}
	return fmt.Sprintf("%.1f MB", float64(n)/1e6)
}

// gapAfter is the silence that earns a line of its own: long enough that a
// person reading packet times would miss what it means.
const gapAfter = int64(1e9)

func (l *Ladder) push(r ladderRow) {
	if r.time-l.lastTime >= gapAfter && len(l.rows) > 0 {
		l.rows = append(l.rows, ladderRow{kind: rowGap, time: r.time, text: fmtDur(r.time-l.lastTime) + " later"})
	}
	if r.time > l.lastTime {
		l.lastTime = r.time
	}
	l.rows = append(l.rows, r)
}

// Finish places what is left after the last segment. Writers call it; it
// may be called more than once.
func (l *Ladder) Finish() {
	if l.finished {
		return
	}
	l.endRun()
	for l.next < len(l.byPacket) {
		l.orphan(l.byPacket[l.next])
		l.next++
	}
	end := max(l.c.LastSeen, l.opt.CaptureEnd, l.lastTime)
	// What the tracker decided when the capture ended belongs to the last
	// line, not to a line of its own just before it.
	var atEnd []ladderNote
	for l.nextTimed < len(l.timed) {
		if it := l.timed[l.nextTimed]; it.an != nil && it.time >= end {
			atEnd = append(atEnd, anomalyNote(it.an))
			l.nextTimed++
			continue
		}
		l.flushTimed(l.timed[l.nextTimed].time+1, false)
	}
	end = max(end, l.lastTime)
	row := ladderRow{kind: rowEnd, time: end, text: "end of capture", notes: atEnd}
	for s := tracker.Client; s <= tracker.Server; s++ {
		row.enter[s], row.enterState[s] = l.c.Ends[s].State.String(), l.c.Ends[s].State
	}
	l.push(row)
	l.finished = true
}

// look is what a piece of the ladder means, for colour.
type look uint8

const (
	lookPlain look = iota
	lookHeading
	lookAddr
	lookDim
	lookData
	lookSYN
	lookFIN
	lookRST
	lookRetx
	lookStateGood
	lookStateClosing
	lookStateStuck
	lookStateClosed
	lookSevError
	lookSevWarning
	lookSevInfo
	numLooks
)

// lookClass names each look in the HTML report's stylesheet.
var lookClass = [numLooks]string{"", "l-head", "l-addr", "l-dim", "", "l-syn", "l-fin", "l-rst", "l-retx",
	"s-good", "s-closing", "s-stuck", "s-closed", "v-error", "v-warning", "v-info"}

func stateLook(s tracker.State) look {
	switch s {
	case tracker.Established:
		return lookStateGood
	case tracker.CloseWait, tracker.LastAck, tracker.SynRcvd, tracker.SynSent:
		return lookStateStuck
	case tracker.Closed, tracker.Listen:
		return lookStateClosed
	}
	return lookStateClosing
}

func severityLook(s tracker.Severity) look {
	switch s {
	case tracker.Error:
		return lookSevError
	case tracker.Warning:
		return lookSevWarning
	}
	return lookSevInfo
}

// painter turns a piece of text of some look into output: terminal colour
// codes, HTML spans, or nothing.
type painter interface {
	paint(lk look, s string) string
}

// termPainter colours by meaning through the same palette as the text
// report, with the ladder's own colours for control segments.
type termPainter struct {
	p                   palette
	syn, fin, rst, retx *color.Color
}

func newTermPainter(enabled bool) termPainter {
	mk := func(attrs ...color.Attribute) *color.Color {
		c := color.New(attrs...)
		if enabled {
			c.EnableColor()
		} else {
			c.DisableColor()
		}
		return c
	}
	return termPainter{p: newPalette(enabled),
		syn: mk(color.FgGreen), fin: mk(color.FgYellow), rst: mk(color.FgRed, color.Bold), retx: mk(color.FgMagenta)}
}

func (t termPainter) paint(lk look, s string) string {
	var c *color.Color
	switch lk {
	case lookHeading:
		c = t.p.heading
	case lookAddr:
		c = t.p.addr
	case lookDim:
		c = t.p.dim
	case lookSYN:
		c = t.syn
	case lookFIN:
		c = t.fin
	case lookRST:
		c = t.rst
	case lookRetx:
		c = t.retx
	case lookStateGood:
		c = t.p.good
	case lookStateClosing:
		c = t.p.closing
	case lookStateStuck:
		c = t.p.stuck
	case lookStateClosed:
		c = t.p.closed
	case lookSevError:
		c = t.p.sevError
	case lookSevWarning:
		c = t.p.sevWarning
	case lookSevInfo:
		c = t.p.sevInfo
	default:
		return s
	}
	return c.Sprint(s)
}

// htmlPainter escapes every piece and wraps the coloured ones in spans.
type htmlPainter struct{}

func (htmlPainter) paint(lk look, s string) string {
	s = html.EscapeString(s)
	if cls := lookClass[lk]; cls != "" && s != "" {
		return `<span class="` + cls + `">` + s + `</span>`
	}
	return s
}

// line assembles one output line from pieces, counting columns in runes so
// padding stays right under colour codes and box-drawing characters.
type line struct {
	b     strings.Builder
	cols  int
	paint painter
}

func (ln *line) add(lk look, s string) {
	ln.b.WriteString(ln.paint.paint(lk, s))
	ln.cols += utf8.RuneCountInString(s)
}

// padTo adds spaces up to column col.
func (ln *line) padTo(col int) {
	if col > ln.cols {
		ln.add(lookPlain, strings.Repeat(" ", col-ln.cols))
	}
}

func (ln *line) String() string { return strings.TrimRight(ln.b.String(), " ") }

// ladderLayout holds the column positions of one rendering.
type ladderLayout struct {
	pktW, timeW  int
	clientCol    int // where the client's state starts
	arrowCol     int
	arrowW       int
	serverCol    int
	width        int
	noteIndent   int
	relativeBase int64
}

func (l *Ladder) layout() ladderLayout {
	var maxPkt uint64
	var maxTime int64
	for _, r := range l.rows {
		maxPkt = max(maxPkt, r.packet)
		maxTime = max(maxTime, r.time-l.c.FirstSeen)
	}
	lo := ladderLayout{width: l.opt.Width, relativeBase: l.c.FirstSeen}
	lo.pktW = max(3, len(fmt.Sprint(maxPkt)))
	lo.timeW = max(4, len(relTime(maxTime)))
	lo.clientCol = lo.pktW + 1 + lo.timeW + 2
	lo.arrowCol = lo.clientCol + stateWidth + 1
	lo.arrowW = max(minArrow, lo.width-1-lo.arrowCol-1-stateWidth)
	lo.serverCol = lo.arrowCol + lo.arrowW + 1
	lo.noteIndent = lo.clientCol + 2
	return lo
}

// relTime prints seconds since the connection's first packet with
// microseconds, the resolution of most captures.
func relTime(ns int64) string {
	if ns < 0 {
		return fmt.Sprintf("-%d.%06d", -ns/1e9, (-ns%1e9)/1e3)
	}
	return fmt.Sprintf("%d.%06d", ns/1e9, (ns%1e9)/1e3)
}

// WriteText writes the ladder for a terminal; color says whether to use
// colour codes.
func (l *Ladder) WriteText(w io.Writer, color bool) error {
	_, err := io.WriteString(w, l.render(newTermPainter(color)))
	return err
}

// HTML returns the ladder as escaped text with colour spans, for a <pre>.
func (l *Ladder) HTML() string { return l.render(htmlPainter{}) }

func (l *Ladder) render(p painter) string {
	l.Finish()
	lo := l.layout()
	var out strings.Builder
	emit := func(ln *line) { out.WriteString(ln.String()); out.WriteByte('\n') }
	newLine := func() *line { return &line{paint: p} }
	c := l.c
	cl, sv := &c.Ends[tracker.Client], &c.Ends[tracker.Server]

	// Heading: which connection, and how it ended.
	ln := newLine()
	ln.add(lookHeading, fmt.Sprintf("connection #%d", c.ID))
	ln.add(lookPlain, "  ")
	ln.add(lookAddr, cl.Addr.String())
	ln.add(lookPlain, " → ")
	ln.add(lookAddr, sv.Addr.String())
	emit(ln)
	ln = newLine()
	packets := "packets"
	if cl.Packets+sv.Packets == 1 {
		packets = "packet"
	}
	ln.add(lookDim, fmt.Sprintf("%d %s in %s; ", cl.Packets+sv.Packets, packets, fmtDur(c.LastSeen-c.FirstSeen)))
	if c.Midstream {
		ln.add(lookDim, "picked up midstream: seq and ack relative to the first seen")
	} else {
		ln.add(lookDim, "seq and ack relative to each side's ISN")
	}
	emit(ln)
	out.WriteByte('\n')

	// Column heads: addresses over the state columns.
	ln = newLine()
	ln.add(lookDim, fmt.Sprintf("%*s %*s", lo.pktW, "pkt", lo.timeW, "time"))
	ln.padTo(lo.clientCol)
	ln.add(lookPlain, "client ")
	ln.add(lookAddr, cl.Addr.String())
	serverHead := "server " + sv.Addr.String()
	right := max(lo.serverCol+stateWidth, lo.width-1)
	if ln.cols+2+utf8.RuneCountInString(serverHead) > right {
		emit(ln)
		ln = newLine()
	}
	ln.padTo(right - utf8.RuneCountInString(serverHead))
	ln.add(lookPlain, "server ")
	ln.add(lookAddr, sv.Addr.String())
	emit(ln)

	ln = newLine()
	ln.padTo(lo.clientCol)
	ln.add(stateLook(cl.Initial), cl.Initial.String())
	ln.padTo(lo.serverCol)
	ln.add(stateLook(sv.Initial), sv.Initial.String())
	emit(ln)

	for _, r := range l.rows {
		ln = newLine()
		switch r.kind {
		case rowGap:
			ln.padTo(lo.arrowCol)
			ln.add(lookDim, centre("⋮ "+r.text+" ⋮", lo.arrowW))
			emit(ln)
			continue
		case rowEnd:
			ln.add(lookDim, fmt.Sprintf("%*s %*s", lo.pktW, "", lo.timeW, relTime(r.time-lo.relativeBase)))
		default:
			pkt := "-"
			if r.packet != 0 {
				pkt = fmt.Sprint(r.packet)
			}
			ln.add(lookDim, fmt.Sprintf("%*s %*s", lo.pktW, pkt, lo.timeW, relTime(r.time-lo.relativeBase)))
		}
		ln.padTo(lo.clientCol)
		if r.kind == rowRun {
			// A run changes no state, so its counts may use the client's
			// column too.
			ln.padTo(lo.clientCol + 2)
			ln.add(lookDim, r.text)
			for _, x := range r.extras {
				ln.add(lookDim, ",")
				if ln.cols+1+utf8.RuneCountInString(x.text)+2 > lo.width-1 {
					emit(ln)
					ln = newLine()
					ln.padTo(lo.clientCol + 4)
				} else {
					ln.add(lookPlain, " ")
				}
				ln.add(x.look, x.text)
			}
			ln.add(lookDim, " …")
			emit(ln)
			continue
		}
		if r.enter[tracker.Client] != "" {
			ln.add(stateLook(r.enterState[tracker.Client]), r.enter[tracker.Client])
		}
		ln.padTo(lo.arrowCol)
		switch r.kind {
		case rowSegment:
			l.arrow(ln, r, lo.arrowW)
		case rowEvent, rowEnd:
			text := "· " + r.text + " ·"
			if utf8.RuneCountInString(text) > lo.arrowW {
				// Too long for the arrow's place: it goes under the line.
				r.notes = append([]ladderNote{{text: r.text}}, r.notes...)
				text = "· see below ·"
			}
			ln.add(lookDim, centre(text, lo.arrowW))
		}
		if r.enter[tracker.Server] != "" {
			ln.padTo(lo.serverCol)
			ln.add(stateLook(r.enterState[tracker.Server]), r.enter[tracker.Server])
		}
		emit(ln)
		for _, n := range r.notes {
			l.note(&out, p, lo, n)
		}
	}
	return out.String()
}

// arrow draws a segment's arrow with its label next to the sender.
func (l *Ladder) arrow(ln *line, r ladderRow, width int) {
	label := r.label
	suffix := ""
	if r.retx {
		suffix = " retransmitted"
		if utf8.RuneCountInString(label)+len(suffix)+6 > width {
			suffix = " retx"
		}
	}
	text := utf8.RuneCountInString(label) + utf8.RuneCountInString(suffix)
	shaft := max(1, width-text-5) // "── " + label + " " + shaft + head
	if r.fromClient {
		ln.add(r.look, "── "+label)
		ln.add(lookRetx, suffix)
		ln.add(r.look, " "+strings.Repeat("─", shaft)+"▶")
		return
	}
	ln.add(r.look, "◀"+strings.Repeat("─", shaft)+" "+label)
	ln.add(lookRetx, suffix)
	ln.add(r.look, " ──")
}

// note writes an annotation under a row, wrapped to the width: anomalies
// start with their severity and name, other notes with an arrow.
func (l *Ladder) note(out *strings.Builder, p painter, lo ladderLayout, n ladderNote) {
	ln := &line{paint: p}
	ln.padTo(lo.noteIndent)
	body := lookDim
	if n.kind != "" {
		ln.add(severityLook(n.sev), "! "+n.sev.String()+" "+n.kind)
		ln.add(lookPlain, ":")
		body = lookPlain
	} else {
		ln.add(lookDim, "↳")
	}
	right := max(lo.noteIndent+20, lo.width-1)
	for _, w := range strings.Fields(Escape(n.text)) {
		sep := " "
		if ln.cols+1+utf8.RuneCountInString(w) > right && ln.cols > lo.noteIndent+4 {
			out.WriteString(ln.String())
			out.WriteByte('\n')
			ln = &line{paint: p}
			ln.padTo(lo.noteIndent + 2)
			sep = ""
		}
		ln.add(lookPlain, sep)
		ln.add(body, w)
	}
	out.WriteString(ln.String())
	out.WriteByte('\n')
}

// centre indents s to the middle of width; what follows pads itself.
func centre(s string, width int) string {
	n := utf8.RuneCountInString(s)
	if n >= width {
		return s
	}
	return strings.Repeat(" ", (width-n)/2) + s
}

func cmpU64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func cmpI64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
