package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/mattn/go-isatty"

	"github.com/tcptrace/tcptrace/capture"
	"github.com/tcptrace/tcptrace/tracker"
)

// statusLine is the one-line live view on stderr, redrawn in place with a
// carriage return: a capture-side `ss -s`. It is shown only on a terminal
// (or with --status always) and never mixed into JSON.
type statusLine struct {
	w       io.Writer
	enabled bool
	shown   bool // a line is on the screen and must be cleared before other output
	width   func() int
}

func newStatusLine(stderr io.Writer, mode, format string, stdout io.Writer) *statusLine {
	s := &statusLine{w: stderr, width: func() int { return 0 }}
	switch mode {
	case "always":
		s.enabled = true
	case "auto":
		s.enabled = format == "text" && isTerminal(stderr) && isTerminal(stdout)
	}
	if f, ok := stderr.(*os.File); ok && isTerminal(stderr) {
		s.width = func() int { return terminalWidth(f) }
	}
	return s
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd()))
}

// draw replaces the status line.
func (s *statusLine) draw(snap statusSnapshotData) {
	if !s.enabled {
		return
	}
	line := snap.String()
	if w := s.width(); w > 1 && len([]rune(line)) >= w {
		// A line that wraps cannot be redrawn in place.
		line = string([]rune(line)[:w-2]) + "…"
	}
	fmt.Fprintf(s.w, "\r%s\x1b[K", line)
	s.shown = true
}

// clear removes the status line so that other output starts on a clean
// line; the next draw puts it back.
func (s *statusLine) clear() {
	if s.shown {
		fmt.Fprint(s.w, "\r\x1b[K")
		s.shown = false
	}
}

// statusSnapshotData is what one status line shows.
type statusSnapshotData struct {
	rate        float64 // packets per second since the last line
	conns       int     // connections tracked (not over yet)
	client      map[tracker.State]int
	server      map[tracker.State]int
	anomalies   int
	kernel      capture.KernelStats
	kernelKnown bool
}

// statusSnapshot counts the open connections' states. Iterating is cheap
// next to the tracker's own work: some 10 ns a connection, four times a
// second.
func statusSnapshot(tracked int, open map[*tracker.Conn]tracker.Transition, packets uint64, elapsed time.Duration, anomalies int, k capture.KernelStats, kernelKnown bool) statusSnapshotData {
	d := statusSnapshotData{anomalies: anomalies, kernel: k, kernelKnown: kernelKnown,
		client: map[tracker.State]int{}, server: map[tracker.State]int{}}
	if elapsed > 0 {
		d.rate = float64(packets) / elapsed.Seconds()
	}
	d.conns = tracked
	for c := range open {
		d.client[c.Ends[tracker.Client].State]++
		d.server[c.Ends[tracker.Server].State]++
	}
	return d
}

// String renders e.g.
//
//	1.2k pkt/s  40 conns  client ESTABLISHED 12 TIME_WAIT 20  server ESTABLISHED 12 CLOSE_WAIT 3  5 anomalies  0 dropped
//
// CLOSED and LISTEN are left out: they are where connections end, not
// where they get stuck.
func (d statusSnapshotData) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s pkt/s  %d conns", humanRate(d.rate), d.conns)
	for _, side := range []struct {
		name   string
		counts map[tracker.State]int
	}{{"client", d.client}, {"server", d.server}} {
		b.WriteString("  " + side.name)
		any := false
		for _, st := range tracker.States() {
			if st == tracker.Closed || st == tracker.Listen || side.counts[st] == 0 {
				continue
			}
			fmt.Fprintf(&b, " %s %d", st, side.counts[st])
			any = true
		}
		if !any {
			b.WriteString(" -")
		}
	}
	fmt.Fprintf(&b, "  %d anomalies", d.anomalies)
	if d.kernelKnown {
		fmt.Fprintf(&b, "  %d dropped", d.kernel.Dropped+d.kernel.IfDropped)
	}
	return b.String()
}

// humanRate prints a rate with three significant digits and a k/M suffix.
func humanRate(r float64) string {
	switch {
	case r >= 1e6:
		return fmt.Sprintf("%.3gM", r/1e6)
	case r >= 1e3:
		return fmt.Sprintf("%.3gk", r/1e3)
	}
	return fmt.Sprintf("%.0f", r)
}
