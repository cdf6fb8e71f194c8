package report

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/fatih/color"

	"github.com/tcptrace/tcptrace/tracker"
)

// palette names colours by meaning, as cilium's hubble printer does; every
// colour choice in the text output goes through it.
type palette struct {
	heading, addr, dim            *color.Color
	good, closing, stuck, closed  *color.Color
	sevError, sevWarning, sevInfo *color.Color
}

func newPalette(enabled bool) palette {
	mk := func(attrs ...color.Attribute) *color.Color {
		c := color.New(attrs...)
		if enabled {
			c.EnableColor()
		} else {
			c.DisableColor()
		}
		return c
	}
	return palette{
		heading:    mk(color.Bold),
		addr:       mk(color.FgCyan),
		dim:        mk(color.Faint),
		good:       mk(color.FgGreen),
		closing:    mk(color.FgYellow),
		stuck:      mk(color.FgRed, color.Bold),
		closed:     mk(color.Faint),
		sevError:   mk(color.FgRed, color.Bold),
		sevWarning: mk(color.FgYellow),
		sevInfo:    mk(color.FgBlue),
	}
}

// state colours a state by what it means for an on-call engineer: states
// where connections get stuck stand out.
func (p palette) state(s tracker.State) *color.Color {
	switch s {
	case tracker.Established:
		return p.good
	case tracker.CloseWait, tracker.LastAck, tracker.SynRcvd, tracker.SynSent:
		return p.stuck
	case tracker.Closed, tracker.Listen:
		return p.closed
	}
	return p.closing
}

func (p palette) severity(s tracker.Severity) *color.Color {
	switch s {
	case tracker.Error:
		return p.sevError
	case tracker.Warning:
		return p.sevWarning
	}
	return p.sevInfo
}

// Text renders the human report.
type Text struct {
	w   io.Writer
	p   palette
	err error
}

// NewText returns a text renderer; color says whether to emit colour codes.
func NewText(w io.Writer, color bool) *Text { return &Text{w: w, p: newPalette(color)} }

func (t *Text) printf(format string, args ...any) {
	if t.err == nil {
		_, t.err = fmt.Fprintf(t.w, format, args...)
	}
}

// Err returns the first write error.
func (t *Text) Err() error { return t.err }

// Summary prints the overview: what was read, final-state tables, anomaly
// counts and pileups.
func (t *Text) Summary(s Summary) {
	p := t.p
	files := make([]string, len(s.Files))
	for i, f := range s.Files {
		files[i] = Escape(f)
	}
	t.printf("%s %s\n", p.heading.Sprint("capture"), strings.Join(files, ", "))
	t.printf("  packets     %d read, %d TCP", s.Packets, s.TCPPackets)
	var skipped []string
	for _, r := range SkippedReasons {
		if n := s.Skipped[r]; n > 0 {
			skipped = append(skipped, fmt.Sprintf("%d %s", n, strings.ReplaceAll(r, "_", "-")))
		}
	}
	if len(skipped) > 0 {
		t.printf("; skipped %s", strings.Join(skipped, ", "))
	}
	t.printf("\n")
	if s.TruncatedTCP > 0 {
		t.printf("  truncated   %d TCP segments cut by the snaplen were analysed from their headers\n", s.TruncatedTCP)
	}
	if s.TimeWentBack > 0 {
		t.printf("  time        %d packets had a timestamp earlier than the packet before them in the same file\n", s.TimeWentBack)
	}
	if s.FirstTime != 0 {
		t.printf("  span        %s – %s (%s)\n", fmtClock(s.FirstTime), fmtClock(s.LastTime), fmtDur(s.LastTime-s.FirstTime))
	}
	if k := s.Kernel; k != nil {
		drops := fmt.Sprintf("%d dropped (buffer full), %d dropped by the interface", k.Dropped, k.IfDropped)
		if k.Dropped+k.IfDropped > 0 {
			drops = p.sevWarning.Sprint(drops)
		}
		t.printf("  kernel      %d packets received, %s\n", k.Received, drops)
	}
	for _, n := range s.Notes {
		t.printf("  note        %s\n", Escape(n))
	}
	if s.Error != "" {
		t.printf("  %s     %s: the results cover the packets before it\n", p.sevError.Sprint("stopped"), Escape(s.Error))
	}
	t.printf("  connections %d", s.Connections)
	if s.Midstream > 0 {
		t.printf(" (%d started before the capture)", s.Midstream)
	}
	if s.Expired > 0 || s.Evicted > 0 {
		t.printf("; %d expired after the idle timeout, %d evicted from the full flow table (reported as they stood)", s.Expired, s.Evicted)
	}
	t.printf("\n")
	if s.TCPPackets > 0 {
		t.printf("  loss        %.2f%% of TCP packets retransmitted (%d); %d connection(s) with retransmissions or lost segments\n",
			100*s.RetransmissionRate, s.RetransmittedPackets, s.ConnsWithLoss)
	}
	if h := s.Handshake; h.Samples > 0 {
		t.printf("  handshake   p50 %s, p90 %s, p99 %s, max %s over %d full handshakes", ms(h.P50), ms(h.P90), ms(h.P99), ms(h.Max), h.Samples)
		if w := s.WorstHandshakes; len(w) > 0 && h.Samples > 1 {
			t.printf("; slowest #%d %s → %s", w[0].ID, p.addr.Sprint(w[0].Client), p.addr.Sprint(w[0].Server))
		}
		t.printf("\n")
	}
	t.printf("\n")

	if s.Connections > 0 {
		t.printf("%s\n", p.heading.Sprintf("%-14s %8s %8s", "final state", "clients", "servers"))
		for _, st := range tracker.States() {
			cn, sn := s.ClientStates[st], s.ServerStates[st]
			if cn == 0 && sn == 0 {
				continue
			}
			t.printf("%s %8s %8s\n", p.state(st).Sprintf("%-14s", st), count(cn), count(sn))
		}
		t.printf("\n")
	}

	if len(s.Anomalies) == 0 {
		t.printf("%s none\n", p.heading.Sprint("anomalies"))
	} else {
		t.printf("%s\n", p.heading.Sprintf("%-9s %-24s %11s", "anomalies", "", "connections"))
		// By the severity each connection actually got: a kind is lowered
		// to info when the capture ended too soon to be sure.
		for _, sev := range []tracker.Severity{tracker.Error, tracker.Warning, tracker.Info} {
			for _, k := range tracker.Kinds() {
				ks := s.KindSeverity[k]
				if ks == nil || ks[sev] == 0 {
					continue
				}
				t.printf("%s %-24s %11d\n", p.severity(sev).Sprintf("%-9s", sev), k, ks[sev])
			}
		}
	}
	for _, pl := range s.Pileups {
		what := "in CLOSE_WAIT on"
		if pl.Kind == tracker.TimeWaitPileup {
			what = "in TIME_WAIT on host"
		}
		t.printf("%s %s: %d connections at once %s %s, first at %s\n",
			p.severity(pl.Kind.Info().Severity).Sprintf("%-9s", pl.Kind.Info().Severity), pl.Kind, pl.Peak, what, p.addr.Sprint(pl.Endpoint), fmtClock(pl.Time))
	}
	t.printf("\n")
}

// ms prints milliseconds with about three significant digits.
func ms(v float64) string { return fmtDur(int64(v * 1e6)) }

func count(n int) string {
	if n == 0 {
		return "-"
	}
	return fmt.Sprint(n)
}

// ConnHeading introduces the connection list.
func (t *Text) ConnHeading(all bool, n int) {
	what := "connections with warnings or errors"
	if all {
		what = "connections"
	}
	t.printf("%s (%d)\n", t.p.heading.Sprint(what), n)
}

// Conn prints one connection on one line, then its anomalies indented.
func (t *Text) Conn(c *tracker.Conn) {
	p := t.p
	cl, sv := &c.Ends[tracker.Client], &c.Ends[tracker.Server]
	t.printf("#%-5d %s → %s  %s/%s  %s %s\n", c.ID,
		p.addr.Sprint(cl.Addr), p.addr.Sprint(sv.Addr),
		p.state(cl.State).Sprint(cl.State), p.state(sv.State).Sprint(sv.State),
		p.dim.Sprint(c.ConnState()), p.dim.Sprint(c.History()))
	for _, a := range c.Anomalies {
		n := ""
		if a.Count > 1 {
			n = fmt.Sprintf(" ×%d", a.Count)
		}
		t.printf("       %s %s%s: %s\n", p.severity(a.Severity).Sprintf("%-7s", a.Severity), a.Kind, n, Escape(a.Detail))
	}
}

// TransitionHeading introduces the transition log.
func (t *Text) TransitionHeading() {
	t.printf("%s\n", t.p.heading.Sprintf("%-15s %-6s %-6s %-22s %-11s    %-11s %9s %7s %s",
		"TIME", "CONN", "SIDE", "ENDPOINT", "OLD", "NEW", "IN OLD", "PACKET", "FLAGS"))
}

// Transition prints one state change, like a tcpstates log line.
func (t *Text) Transition(c *tracker.Conn, tr tracker.Transition) {
	p := t.p
	pkt, flags := "timer", ""
	if tr.Packet != 0 {
		pkt, flags = fmt.Sprint(tr.Packet), tr.Flags.String()
	}
	note := ""
	if tr.Note != "" {
		note = "  " + p.dim.Sprint("(", Escape(tr.Note), ")")
	}
	t.printf("%s #%-5d %-6s %s %s -> %s %9s %7s %s%s\n",
		fmtClock(tr.Time), c.ID, tr.Side, p.addr.Sprintf("%-22s", c.Ends[tr.Side].Addr),
		p.state(tr.From).Sprintf("%-11s", tr.From), p.state(tr.To).Sprintf("%-11s", tr.To),
		fmtDur(tr.InFrom), pkt, flags, note)
}

// fmtClock prints a capture time as UTC time of day with microseconds.
func fmtClock(ns int64) string { return time.Unix(0, ns).UTC().Format("15:04:05.000000") }

// fmtDur prints a duration with about three significant digits.
func fmtDur(ns int64) string {
	d := time.Duration(ns)
	switch {
	case d <= 0:
		return "0s"
	case d < time.Millisecond:
		return d.Round(time.Microsecond).String()
	case d < time.Second:
		return d.Round(10 * time.Microsecond).String()
	case d < time.Minute:
		return d.Round(10 * time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}

// Escape makes text from packets, files or the command line safe for a
// terminal: control characters (C0, DEL, C1) and invalid UTF-8 are written as
// Go escapes, never emitted raw; printable Unicode is kept.
func Escape(s string) string {
	clean := true
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if unsafeRune(r, size) {
			clean = false
			break
		}
		i += size
	}
	if clean {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case unsafeRune(r, size):
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

func unsafeRune(r rune, size int) bool {
	return (r == utf8.RuneError && size == 1) || r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) ||
		r == 0x2028 || r == 0x2029 || (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069)
}
