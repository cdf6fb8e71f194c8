package main

import (
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"

	"github.com/spf13/pflag"

	"github.com/tcptrace/tcptrace/capture"
	"github.com/tcptrace/tcptrace/report"
	"github.com/tcptrace/tcptrace/tracker"
)

const ladderUsage = `Usage: tcptrace ladder [flags] FILE...

Draws connections as ladder diagrams: the client on the left, the server on
the right, one arrow per segment with relative sequence numbers, and the
state each endpoint enters at each arrow. Long runs of data and ACKs are
collapsed into one line of counts (--full shows every packet); anomalies are
marked where they happen. Without --conn, every connection with a warning
or an error is drawn.

ID is a connection number from 'tcptrace read' or CLIENT-SERVER, e.g.
10.0.0.1:51000-10.0.0.2:80 or [2001:db8::1]:51000-[2001:db8::2]:80.

Examples:
    tcptrace ladder x.pcap --conn 3
    tcptrace ladder x.pcap --conn 10.0.0.1:51000-10.0.0.2:80 --full
    tcptrace ladder --all rotated-1.pcap rotated-2.pcap | less -R

Flags:
`

func init() {
	register(command{name: "ladder", args: "[flags] FILE...", order: 50, run: cmdLadder,
		summary: "draw connections as ladder diagrams"})
}

type ladderFlags struct {
	conns []string
	all   bool
	full  bool
	width int
	color string
}

func cmdLadder(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	var (
		o  readOptions
		lf ladderFlags
	)
	fs := pflag.NewFlagSet("ladder", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringArrayVarP(&lf.conns, "conn", "c", nil, "draw connection `ID` (repeatable)")
	fs.BoolVarP(&lf.all, "all", "a", false, "draw every connection")
	fs.BoolVar(&lf.full, "full", false, "one line per packet, nothing collapsed")
	fs.IntVarP(&lf.width, "width", "w", 80, "fit the diagram in `COLUMNS`")
	fs.StringVar(&lf.color, "color", "auto", "colour: `WHEN` = auto, always or never (NO_COLOR is honoured)")
	addAnalysisFlags(fs, &o)
	help := fs.BoolP("help", "h", false, "show this help")
	if err := fs.Parse(args); err != nil {
		return failUsage(stderr, err, "ladder")
	}
	if *help {
		fmt.Fprint(stdout, ladderUsage+flagUsages(fs))
		return exitOK
	}
	files := fs.Args()
	if err := checkRereadable(files, "ladder"); err != nil {
		return failUsage(stderr, err, "ladder")
	}
	if lf.all && len(lf.conns) > 0 {
		return failUsage(stderr, &usageError{msg: "--all and --conn exclude each other"}, "ladder")
	}
	if lf.width < 40 {
		return failUsage(stderr, &usageError{msg: "--width must be at least 40"}, "ladder")
	}
	color, err := useColor(lf.color, stdout)
	if err != nil {
		return failUsage(stderr, err, "ladder")
	}

	res, readErr := analyse(files, o)
	if res == nil {
		return fail(stderr, readErr, hintFor(readErr))
	}
	var chosen []*tracker.Conn
	switch {
	case len(lf.conns) > 0:
		for _, id := range lf.conns {
			c, others, err := findConn(res.conns, id)
			if err != nil {
				return fail(stderr, err, "'tcptrace read --all FILE' lists the connections and their numbers")
			}
			if others > 0 {
				fmt.Fprintf(stderr, "tcptrace: note: %d later connection(s) reused %s; drawing the first, #%d (use its number for another)\n",
					others, Escape(id), c.ID)
			}
			chosen = append(chosen, c)
		}
	case lf.all:
		chosen = res.conns
	default:
		for _, c := range res.conns {
			if c.HasAnomaly(tracker.Warning) {
				chosen = append(chosen, c)
			}
		}
		if len(chosen) == 0 {
			fmt.Fprintf(stderr, "tcptrace: no connection has a warning or an error; use --conn ID or --all\n")
			return exitOK
		}
	}
	opt := report.LadderOptions{Full: lf.full, Width: lf.width, CaptureEnd: res.summary.LastTime}
	// Damage stops both passes at the same packet, so the ladders are drawn
	// from what came before it and the error is reported after them.
	ladders, err := buildLadders(files, o.filter, chosen, opt)
	if err != nil && readErr == nil {
		return fail(stderr, err, hintFor(err))
	}
	if err := writeLadders(stdout, ladders, color); err != nil && !errors.Is(err, errBrokenPipe) {
		return fail(stderr, fmt.Errorf("writing the ladders: %w", err), "")
	}
	if readErr != nil {
		return fail(stderr, readErr, hintFor(readErr)+" (the ladders above cover the packets before the damage)")
	}
	return exitOK
}

// writeLadders prints ladders one after another, a blank line apart.
func writeLadders(w io.Writer, ladders []*report.Ladder, color bool) error {
	for i, l := range ladders {
		if i > 0 {
			if _, err := io.WriteString(w, "\n"); err != nil {
				return err
			}
		}
		if err := l.WriteText(w, color); err != nil {
			return err
		}
	}
	return nil
}

// writeReadLadders draws the connections 'read --ladder' listed, after the
// list. When the first pass stopped on damage, the second stops at the same
// packet and the ladders cover what came before it.
func writeReadLadders(w io.Writer, res *result, o readOptions, conns []*tracker.Conn, color bool) error {
	if len(conns) == 0 {
		return nil
	}
	ladders, err := buildLadders(res.summary.Files, o.filter, conns, report.LadderOptions{CaptureEnd: res.summary.LastTime})
	if err != nil && res.summary.Error == "" {
		return err
	}
	if _, err := io.WriteString(w, "\n"); err != nil {
		return err
	}
	return writeLadders(w, ladders, color)
}

// checkRereadable rejects what a two-pass command cannot do: the tracker
// keeps no packets, so ladders read the capture a second time, which
// standard input does not allow.
func checkRereadable(files []string, cmd string) error {
	if len(files) == 0 {
		return &usageError{msg: "no capture file given", hint: fmt.Sprintf("tcptrace %s FILE.pcap", cmd)}
	}
	for _, f := range files {
		if f == "-" {
			return &usageError{msg: cmd + " reads the capture twice and cannot read standard input",
				hint: "save the capture to a file first"}
		}
	}
	return nil
}

// findConn resolves a connection ID: a number from the listing, or
// CLIENT-SERVER in either order. When several connections used the 4-tuple
// it returns the first and how many others there were.
func findConn(conns []*tracker.Conn, id string) (*tracker.Conn, int, error) {
	id = strings.TrimSpace(id)
	if n, err := strconv.ParseUint(strings.TrimPrefix(id, "#"), 10, 64); err == nil {
		for _, c := range conns {
			if c.ID == n {
				return c, 0, nil
			}
		}
		return nil, 0, fmt.Errorf("no connection #%d (the capture has %d)", n, len(conns))
	}
	a, b, ok := strings.Cut(id, "-")
	if !ok {
		return nil, 0, &usageError{msg: fmt.Sprintf("connection %q is neither a number nor CLIENT-SERVER", Escape(id)),
			hint: "for example --conn 3 or --conn 10.0.0.1:51000-10.0.0.2:80"}
	}
	ca, errA := netip.ParseAddrPort(a)
	cb, errB := netip.ParseAddrPort(b)
	if errA != nil || errB != nil {
		return nil, 0, &usageError{msg: fmt.Sprintf("connection %q: addresses must be IP:PORT (IPv6 as [ADDR]:PORT)", Escape(id)),
			hint: "for example --conn 10.0.0.1:51000-10.0.0.2:80"}
	}
	var first *tracker.Conn
	others := 0
	for _, c := range conns {
		cl, sv := c.Client(), c.Server()
		if (cl == ca && sv == cb) || (cl == cb && sv == ca) {
			if first == nil {
				first = c
			} else {
				others++
			}
		}
	}
	if first == nil {
		return nil, 0, fmt.Errorf("no connection between %s and %s", ca, cb)
	}
	return first, others, nil
}

// ladderKey is a direction-free 4-tuple.
type ladderKey struct{ lo, hi netip.AddrPort }

func keyFor(a, b netip.AddrPort) ladderKey {
	if b.Compare(a) < 0 {
		a, b = b, a
	}
	return ladderKey{a, b}
}

// buildLadders reads the capture again and hands each chosen connection's
// segments to its ladder: the segments of its 4-tuple between its first
// and last packet. Packet numbers match the first pass because the same
// files are read in the same order with the same filter. On damage it
// returns the ladders drawn from the packets before it, with the error.
func buildLadders(files []string, filter string, conns []*tracker.Conn, opt report.LadderOptions) ([]*report.Ladder, error) {
	ladders := make([]*report.Ladder, len(conns))
	byKey := map[ladderKey][]*report.Ladder{}
	for i, c := range conns {
		ladders[i] = report.NewLadder(c, opt)
		k := keyFor(c.Client(), c.Server())
		byKey[k] = append(byKey[k], ladders[i])
	}
	if len(conns) == 0 {
		return ladders, nil
	}
	r, err := capture.Files(files, capture.Options{Filter: filter})
	if err != nil {
		return ladders, err
	}
	defer r.Close()
	for seg, err := range r.TCP() {
		if err != nil {
			return ladders, err
		}
		for _, l := range byKey[keyFor(seg.Src, seg.Dst)] {
			if c := l.Conn(); seg.Packet >= c.FirstPacket && seg.Packet <= c.LastPacket {
				l.Add(seg)
			}
		}
	}
	return ladders, nil
}
