package main

import (
	"fmt"
	"io"
	"time"

	"github.com/fatih/color"

	"github.com/tcptrace/tcptrace/report"
	"github.com/tcptrace/tcptrace/tracker"
)

// eventSink streams the tracker's events as they happen: one line per
// transition, anomaly or pileup, written (and so flushed) line by line; in
// JSON also each connection's full record when the tracker is done with
// it. It counts finished connections into the summary and keeps the set of
// connections still tracked for the status line.
//
// The tracker's callbacks only queue events; flush writes them after the
// packet or timer that caused them has been fully applied. That keeps the
// order of events and lets an anomaly be written with the count, detail and
// time the tracker settles on while applying the same packet (it fills them
// in after the callback).
type eventSink struct {
	gate        *gateTally // applies the gating rules to each connection as it ends
	format      string
	transitions bool
	json        *report.JSON
	text        *report.Text
	w           io.Writer
	sev         map[tracker.Severity]*color.Color
	status      *statusLine

	queue     []queuedEvent
	open      map[*tracker.Conn]tracker.Transition // connections with events that are not over yet, with their last transition
	summary   *liveSummary
	pileups   map[pileupKey]bool // pileups already reported
	anomalies int                // anomalies and pileups reported so far
	err       error              // the first write error; later events are dropped
}

type queuedEvent struct {
	c       *tracker.Conn
	tr      tracker.Transition
	anomaly int // index into c.Anomalies; or eventTransition, eventDone
}

const (
	eventTransition = -1
	eventDone       = -2 // the tracker is done with c
)

type pileupKey struct {
	kind     tracker.Kind
	endpoint string
}

func newEventSink(w io.Writer, format string, colored, transitions bool, status *statusLine, summary *liveSummary) *eventSink {
	e := &eventSink{format: format, transitions: transitions, w: w, status: status, summary: summary,
		open: map[*tracker.Conn]tracker.Transition{}, pileups: map[pileupKey]bool{}}
	if format == "json" {
		e.json = report.NewJSON(w)
	} else {
		e.text = report.NewText(w, colored)
		mk := func(attrs ...color.Attribute) *color.Color {
			c := color.New(attrs...)
			if colored {
				c.EnableColor()
			} else {
				c.DisableColor()
			}
			return c
		}
		// The same colours as the report's severities.
		e.sev = map[tracker.Severity]*color.Color{
			tracker.Error:   mk(color.FgRed, color.Bold),
			tracker.Warning: mk(color.FgYellow),
			tracker.Info:    mk(color.FgBlue),
		}
	}
	return e
}

// transition is the tracker's OnTransition callback.
func (e *eventSink) transition(c *tracker.Conn, tr tracker.Transition) {
	if c.Ended == tracker.StillOpen {
		e.open[c] = tr
	}
	if e.transitions {
		e.queue = append(e.queue, queuedEvent{c: c, tr: tr, anomaly: eventTransition})
	}
}

// anomaly is the tracker's OnAnomaly callback. A new anomaly is always the
// last of its connection's list when the callback runs.
func (e *eventSink) anomaly(c *tracker.Conn, _ tracker.Anomaly) {
	if _, ok := e.open[c]; !ok && c.Ended == tracker.StillOpen {
		e.open[c] = tracker.Transition{}
	}
	e.queue = append(e.queue, queuedEvent{c: c, anomaly: len(c.Anomalies) - 1})
}

// done is the tracker's OnDone callback: the connection is over and the
// tracker has forgotten it (its last transition was reported before).
func (e *eventSink) done(c *tracker.Conn) {
	delete(e.open, c)
	e.queue = append(e.queue, queuedEvent{c: c, anomaly: eventDone})
}

// heading introduces the text stream with the transition log's columns.
func (e *eventSink) heading() {
	e.status.clear()
	e.text.TransitionHeading()
	e.err = e.text.Err()
}

// flush writes the queued events.
func (e *eventSink) flush() {
	if len(e.queue) == 0 {
		return
	}
	for _, ev := range e.queue {
		if ev.anomaly >= 0 {
			e.anomalies++
		}
		if ev.anomaly == eventDone {
			e.summary.add(ev.c)
			if e.gate != nil {
				e.gate.add(ev.c)
			}
			if e.json == nil {
				continue // text lists connections in the final summary
			}
		}
		if e.err != nil {
			continue
		}
		e.status.clear()
		switch {
		case ev.anomaly == eventDone:
			e.err = e.json.Conn(ev.c)
		case ev.anomaly >= 0 && e.json != nil:
			e.err = e.json.Anomaly(ev.c, ev.c.Anomalies[ev.anomaly])
		case ev.anomaly >= 0:
			e.textAnomaly(ev.c, ev.c.Anomalies[ev.anomaly])
		case e.json != nil:
			e.err = e.json.Transition(ev.c, ev.tr)
		default:
			e.text.Transition(ev.c, ev.tr)
			e.err = e.text.Err()
		}
	}
	clear(e.queue)
	e.queue = e.queue[:0]
}

// textAnomaly prints an anomaly in the transition log's columns: time,
// connection, side, the side's endpoint, then severity, kind and detail.
func (e *eventSink) textAnomaly(c *tracker.Conn, a tracker.Anomaly) {
	addr := c.Client().String()
	if a.Side != tracker.Both {
		addr = c.Ends[a.Side].Addr.String()
	}
	n := ""
	if a.Count > 1 {
		n = fmt.Sprintf(" ×%d", a.Count)
	}
	_, e.err = fmt.Fprintf(e.w, "%s #%-5d %-6s %-22s %s %s%s: %s\n",
		clock(a.Time), c.ID, a.Side, addr, e.sev[a.Severity].Sprintf("%-11s", a.Severity), a.Kind, n, report.Escape(a.Detail))
}

// checkPileups reports each pileup once, when it first reaches the
// threshold: the tracker computes pileups on demand rather than as events.
func (e *eventSink) checkPileups(tr *tracker.Tracker) {
	for _, p := range tr.Pileups() {
		k := pileupKey{p.Kind, p.Endpoint}
		if e.pileups[k] {
			continue
		}
		e.pileups[k] = true
		e.anomalies++
		if e.err != nil {
			continue
		}
		e.status.clear()
		if e.json != nil {
			e.err = e.json.Pileup(p)
			continue
		}
		what := "in CLOSE_WAIT on"
		if p.Kind == tracker.TimeWaitPileup {
			what = "in TIME_WAIT on host"
		}
		sev := p.Kind.Info().Severity
		_, e.err = fmt.Fprintf(e.w, "%s %-6s %-6s %-22s %s %s: %d connections at once %s %s\n",
			clock(p.Time), "-", "-", report.Escape(p.Endpoint), e.sev[sev].Sprintf("%-11s", sev), p.Kind, p.Peak, what, report.Escape(p.Endpoint))
	}
}

// clock prints a time of day in UTC with microseconds, as the transition
// log does.
func clock(ns int64) string { return time.Unix(0, ns).UTC().Format("15:04:05.000000") }
