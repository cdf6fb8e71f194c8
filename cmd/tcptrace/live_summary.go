package main

import (
	"fmt"
	"slices"

	"github.com/tcptrace/tcptrace/report"
	"github.com/tcptrace/tcptrace/tracker"
)

// liveSummary builds the final summary from connections as the tracker
// hands them over (OnDone), so that a capture running for days keeps
// counts, not connections. report.Tally is what 'read' summarises with,
// so the totals are the same.
type liveSummary struct {
	tally *report.Tally

	// kept are the most recent connections the final text listing can
	// show (those with warnings, or all with --all), at most keepLimit.
	kept      []*tracker.Conn
	next      int // ring position once kept is full
	keepLimit int
	keepAll   bool
	notKept   int
}

// keepLimit bounds the connections held for the final text listing.
const keepLimit = 1000

// newLiveSummary returns an empty summary; keep is how many connections to
// hold for the final listing (0 when they are streamed, as in JSON).
func newLiveSummary(all bool, keep int) *liveSummary {
	return &liveSummary{
		tally:     report.NewTally(),
		keepLimit: keep,
		keepAll:   all,
	}
}

// add counts a connection that is over.
func (l *liveSummary) add(c *tracker.Conn) {
	l.tally.Add(c)
	if l.keepLimit == 0 || (!l.keepAll && !c.HasAnomaly(tracker.Warning)) {
		return
	}
	if len(l.kept) < l.keepLimit {
		l.kept = append(l.kept, c)
		return
	}
	l.kept[l.next] = c
	l.next = (l.next + 1) % l.keepLimit
	l.notKept++
}

// result is the final summary for the input, with the pileups, and the
// kept connections in order of first packet.
func (l *liveSummary) result(in report.Input, pileups []tracker.Pileup) *result {
	if l.notKept > 0 {
		what := "connections with warnings or errors"
		if l.keepAll {
			what = "connections"
		}
		in.Notes = append(in.Notes, fmt.Sprintf("the list below shows the last %d %s; %d earlier ones are counted but not listed", len(l.kept), what, l.notKept))
	}
	s := l.tally.Summary(in, pileups)
	conns := slices.Clone(l.kept)
	slices.SortFunc(conns, func(a, b *tracker.Conn) int { return cmpInt(int64(a.ID), int64(b.ID)) })
	return &result{conns: conns, summary: s}
}
