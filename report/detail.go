package report

import (
	"fmt"
	"strings"
	"time"

	"github.com/tcptrace/tcptrace/reassembly"
	"github.com/tcptrace/tcptrace/tracker"
)

// Detail prints one connection in depth: both endpoints' state histories,
// the handshake and its options, per-direction statistics side by side
// (like Ostermann's tcptrace -l, but readable), and every anomaly with its
// packet numbers.
func (t *Text) Detail(c *tracker.Conn) {
	p := t.p
	cl, sv := &c.Ends[tracker.Client], &c.Ends[tracker.Server]
	t.printf("%s #%d  %s → %s\n", p.heading.Sprint("connection"), c.ID, p.addr.Sprint(cl.Addr), p.addr.Sprint(sv.Addr))
	t.printf("  first seen  %s (packet %d), last seen %s (packet %d), %s\n",
		fmtClock(c.FirstSeen), c.FirstPacket, fmtClock(c.LastSeen), c.LastPacket, fmtDur(c.LastSeen-c.FirstSeen))
	t.printf("  final       client %s, server %s; Zeek %s %s; record %s\n",
		p.state(cl.State).Sprint(cl.State), p.state(sv.State).Sprint(sv.State), c.ConnState(), c.History(), c.Ended)
	if c.Midstream {
		t.printf("  midstream   the capture started after the handshake\n")
	}

	t.printf("\n%s\n", p.heading.Sprint("state history"))
	for _, side := range []tracker.Side{tracker.Client, tracker.Server} {
		e := &c.Ends[side]
		t.printf("  %s %s, from %s\n", side, p.addr.Sprint(e.Addr), p.state(e.Initial).Sprint(e.Initial))
		for _, tr := range c.Transitions {
			if tr.Side != side {
				continue
			}
			at := "timer"
			if tr.Packet != 0 {
				at = fmt.Sprintf("#%d %s", tr.Packet, tr.Flags)
			}
			note := ""
			if tr.Note != "" {
				note = " " + p.dim.Sprint("(", Escape(tr.Note), ")")
			}
			t.printf("    +%-10s %-16s %s -> %s%s\n", fmtDur(tr.Time-c.FirstSeen), at,
				p.state(tr.From).Sprintf("%-11s", tr.From), p.state(tr.To).Sprint(tr.To), note)
		}
	}

	hs := &c.Seq.Handshake
	t.printf("\n%s\n", p.heading.Sprint("handshake"))
	t.printf("  SYN → SYN-ACK  %s   SYN-ACK → ACK  %s   SYN repeats %d, SYN-ACK repeats %d\n",
		optDur(hs.SYNToSYNACK, hs.HasSYNToSYNACK), optDur(hs.SYNACKToACK, hs.HasSYNACKToACK), hs.SYNRetransmissions, hs.SYNACKRetransmissions)

	d := [2]*reassembly.DirStats{&c.Seq.Dir[0], &c.Seq.Dir[1]}
	t.printf("\n%s\n", p.heading.Sprintf("%-24s %26s %26s", "per direction", "client → server", "server → client"))
	row := func(name string, f func(*reassembly.DirStats) string) {
		t.printf("  %-22s %26s %26s\n", name, f(d[0]), f(d[1]))
	}
	num := func(f func(*reassembly.DirStats) uint64) func(*reassembly.DirStats) string {
		return func(s *reassembly.DirStats) string { return fmt.Sprint(f(s)) }
	}
	row("SYN options", func(s *reassembly.DirStats) string { return synOptions(s.SYN) })
	row("packets", num(func(s *reassembly.DirStats) uint64 { return s.Packets }))
	row("payload bytes", num(func(s *reassembly.DirStats) uint64 { return s.PayloadBytes }))
	row("unique bytes", num(func(s *reassembly.DirStats) uint64 { return s.UniqueBytes }))
	row("retransmitted packets", num(func(s *reassembly.DirStats) uint64 { return s.RetransmittedPackets }))
	row("retransmitted bytes", num(func(s *reassembly.DirStats) uint64 { return s.RetransmittedBytes }))
	row("missed bytes", num(func(s *reassembly.DirStats) uint64 { return s.MissedBytes }))
	row("window min/max", func(s *reassembly.DirStats) string {
		if !s.WindowSeen {
			return "-"
		}
		w := fmt.Sprintf("%d / %d", s.WindowMin, s.WindowMax)
		if !s.WindowScaled {
			w += " (unscaled)"
		}
		return w
	})
	row("RTT min/avg/max", func(s *reassembly.DirStats) string {
		if s.RTTSamples == 0 {
			return "-"
		}
		return fmt.Sprintf("%s/%s/%s", fmtDur(int64(s.RTTMin)), fmtDur(int64(s.RTTAvg())), fmtDur(int64(s.RTTMax)))
	})
	row("RTT samples", num(func(s *reassembly.DirStats) uint64 { return s.RTTSamples }))
	row("longest idle", func(s *reassembly.DirStats) string { return fmtDur(int64(s.MaxIdle)) })
	row("first payload", func(s *reassembly.DirStats) string {
		if s.FirstPayloadTime == 0 {
			return "-"
		}
		return "+" + fmtDur(s.FirstPayloadTime-c.FirstSeen)
	})
	for i := 0; i < reassembly.NumClasses; i++ {
		cls := reassembly.ClassAt(i)
		if d[0].Count(cls) == 0 && d[1].Count(cls) == 0 {
			continue
		}
		row(cls.String(), func(s *reassembly.DirStats) string {
			if n := s.Count(cls); n > 0 {
				return fmt.Sprintf("%d (first #%d)", n, s.First(cls))
			}
			return "-"
		})
	}

	t.printf("\n%s\n", p.heading.Sprint("anomalies"))
	if len(c.Anomalies) == 0 {
		t.printf("  none\n")
	}
	for _, a := range c.Anomalies {
		at := "at the end"
		if a.Packet != 0 {
			at = fmt.Sprintf("packet %d", a.Packet)
		}
		t.printf("  %s %s %s (%s, +%s): %s\n", p.severity(a.Severity).Sprintf("%-7s", a.Severity), a.Kind, a.Side, at,
			fmtDur(a.Time-c.FirstSeen), Escape(a.Detail))
	}
}

func optDur(d time.Duration, ok bool) string {
	if !ok {
		return "-"
	}
	return fmtDur(int64(d))
}

func synOptions(o reassembly.SYNOptions) string {
	if !o.Seen {
		return "no SYN seen"
	}
	var parts []string
	if o.MSS != 0 {
		parts = append(parts, fmt.Sprintf("mss %d", o.MSS))
	}
	if o.HasWScale {
		parts = append(parts, fmt.Sprintf("ws %d", o.WScale))
	}
	if o.SACKPermitted {
		parts = append(parts, "sack")
	}
	if o.Timestamps {
		parts = append(parts, "ts")
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}
