package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"

	"github.com/mattn/go-isatty"
	"github.com/spf13/pflag"

	"github.com/tcptrace/tcptrace/capture"
	"github.com/tcptrace/tcptrace/report"
	"github.com/tcptrace/tcptrace/tcp"
	"github.com/tcptrace/tcptrace/tracker"
)

const readUsage = `Usage: tcptrace read [flags] FILE...

Reads pcap and pcapng files (gzip-compressed or not; "-" is stdin), merges
several files in time order, and reports every TCP connection's endpoint
states, transitions and anomalies.

Flags:
`

func init() {
	register(command{name: "read", args: "[flags] FILE...", order: 10, run: cmdRead,
		summary: "analyse pcap/pcapng files (\"-\" is stdin)"})
}

type readOptions struct {
	all, transitions bool
	ladder           bool // draw the listed connections (ladder.go)
	filter, format   string
	color            string
	tracker          tracker.Config
	workers          int
	conns            []string // --conn: connections to show in detail
	// stream, when set, receives each connection as it ends and analyse
	// keeps none: memory follows the live connections (JSON output).
	stream func(*tracker.Conn)
	// streamDone, when set, is called once the tracker has handed over its
	// last connection, and returns when stream has seen them all.
	streamDone func()
}

func cmdRead(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	var o readOptions
	fs := pflag.NewFlagSet("read", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.BoolVarP(&o.all, "all", "a", false, "list every connection, not only those with warnings or errors")
	fs.BoolVarP(&o.transitions, "transitions", "t", false, "print every state change (text format)")
	fs.BoolVar(&o.ladder, "ladder", false, "draw each listed connection as a ladder diagram (text format; reads the files twice)")
	fs.StringVar(&o.format, "format", "text", "output `FORMAT`: text, json (JSON Lines), zeek (conn.log), csv or junit")
	fs.StringVar(&o.color, "color", "auto", "colour text output: `WHEN` = auto, always or never (NO_COLOR is honoured)")
	fs.StringArrayVar(&o.conns, "conn", nil, "show connection `ID` in detail (its number, or CLIENT-SERVER as 10.0.0.1:51000-10.0.0.2:80; repeatable)")
	addAnalysisFlags(fs, &o)
	gate := addGateFlags(fs)
	help := fs.BoolP("help", "h", false, "show this help")
	if err := fs.Parse(args); err != nil {
		return failUsage(stderr, err, "read")
	}
	if *help {
		fmt.Fprint(stdout, readUsage+flagUsages(fs))
		return exitOK
	}
	if err := o.check(fs.Args()); err != nil {
		return failUsage(stderr, err, "read")
	}
	color, err := useColor(o.color, stdout)
	if err != nil {
		return failUsage(stderr, err, "read")
	}
	rules, err := gate.load()
	if err == nil {
		err = checkToolFormat(o.format, rules)
	}
	if err != nil {
		return failUsage(stderr, err, "read")
	}
	// JSON without gating or --conn streams: each connection is written when
	// it ends (in order of first packet) and then forgotten.
	var out *jsonStream
	if o.format == "json" && rules.empty() && len(o.conns) == 0 {
		out = newJSONStream(stdout)
		// Once written, a connection's memory serves the next one.
		o.stream = func(c *tracker.Conn) { out.conn(c); tracker.Recycle(c) }
		if o.workers > 1 {
			stage := startConnStage(o.stream)
			defer stage.close()
			o.stream = stage.add
			o.streamDone = stage.close
		}
	}
	res, readErr := analyse(fs.Args(), o)
	if res == nil {
		return fail(stderr, readErr, hintFor(readErr))
	}
	var detail []*tracker.Conn
	for _, id := range o.conns {
		c, _, err := findConn(res.conns, id)
		if err != nil {
			hint := "run 'tcptrace read --all' on the capture for the connection numbers"
			var ue *usageError
			if errors.As(err, &ue) {
				hint = ue.hint
			}
			return fail(stderr, err, hint)
		}
		detail = append(detail, c)
	}
	verdict := evaluate(rules, res)
	var werr error
	switch o.format {
	case "json":
		if out != nil {
			werr = out.finish(res.summary)
		} else {
			werr = writeJSON(stdout, res)
		}
	case "text":
		if len(detail) > 0 {
			werr = writeDetails(stdout, detail, color)
		} else {
			werr = writeText(stdout, res, o, color)
		}
	default:
		werr = writeToolFormat(stdout, o.format, res, verdict)
	}
	if werr != nil && !errors.Is(werr, errBrokenPipe) {
		return fail(stderr, fmt.Errorf("writing the report: %w", werr), "")
	}
	status := verdict.print(stderr)
	if readErr != nil {
		return fail(stderr, readErr, hintFor(readErr)+" (the report above covers the packets before the damage)")
	}
	return status
}

// addAnalysisFlags declares the flags that change what the tracker finds,
// with the same names and defaults as 'read', so every picture agrees with
// the report.
func addAnalysisFlags(fs *pflag.FlagSet, o *readOptions) {
	def := tracker.DefaultConfig()
	fs.StringVarP(&o.filter, "filter", "f", "", "tcpdump/BPF filter `EXPR`, e.g. 'port 443' (needs libpcap)")
	fs.DurationVar(&o.tracker.MSL, "msl", def.MSL, "maximum segment lifetime (`DURATION`); TIME_WAIT lasts 2×MSL of capture time")
	fs.DurationVar(&o.tracker.HalfCloseTimeout, "half-close-timeout", def.HalfCloseTimeout, "CLOSE_WAIT longer than `DURATION` is half_closed")
	fs.IntVar(&o.tracker.Pileup, "pileup", def.Pileup, "`N` connections at once in CLOSE_WAIT (per ip:port) or TIME_WAIT (per host) make a pileup")
	fs.DurationVar(&o.tracker.IdleTimeout, "idle-timeout", def.IdleTimeout, "a connection without packets for `DURATION` of capture time is expired (reported as it stands)")
	fs.IntVar(&o.tracker.MaxConnections, "max-connections", def.MaxConnections, "track at most `N` connections at once (SYN-only and half-open ones count a quarter); beyond, the least recently active is evicted")
	fs.IntVarP(&o.workers, "workers", "j", defaultWorkers(), "use `N` goroutines for reading and decoding beside the tracker (output is identical)")
}

func (o *readOptions) check(files []string) error {
	if len(files) == 0 {
		return &usageError{msg: "no capture file given", hint: "tcptrace read FILE.pcap (or - for stdin)"}
	}
	if o.format != "text" && o.format != "json" && !isToolFormat(o.format) {
		return &usageError{msg: fmt.Sprintf("unknown --format %q", o.format), hint: formatHint}
	}
	if o.tracker.MSL <= 0 || o.tracker.HalfCloseTimeout <= 0 {
		return &usageError{msg: "--msl and --half-close-timeout must be positive durations", hint: "for example --msl 30s"}
	}
	if o.tracker.Pileup < 1 {
		return &usageError{msg: "--pileup must be at least 1"}
	}
	if o.ladder {
		if err := checkRereadable(files, "read --ladder"); err != nil {
			return err
		}
	}
	if o.tracker.IdleTimeout <= 0 || o.tracker.MaxConnections < 1 {
		return &usageError{msg: "--idle-timeout must be a positive duration and --max-connections at least 1"}
	}
	return nil
}

var errBrokenPipe = errors.New("broken pipe")

// useColor decides colour: always/never as asked, auto only on a terminal
// and without NO_COLOR.
func useColor(mode string, stdout io.Writer) (bool, error) {
	switch mode {
	case "always":
		return true, nil
	case "never":
		return false, nil
	case "auto":
		if _, set := os.LookupEnv("NO_COLOR"); set {
			return false, nil
		}
		f, ok := stdout.(*os.File)
		return ok && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd())), nil
	}
	return false, &usageError{msg: fmt.Sprintf("unknown --color %q", mode), hint: "use --color auto, always or never"}
}

// result is everything one analysis produced.
type result struct {
	conns   []*tracker.Conn
	summary report.Summary
}

// analyse reads every packet, runs the tracker and summarises. When reading
// stops on damaged input it still returns the results so far, with the error.
// A nil result means nothing could be read at all.
func analyse(files []string, o readOptions) (*result, error) {
	r, err := capture.Files(files, capture.Options{Filter: o.filter})
	if err != nil {
		return nil, err
	}
	defer r.Close()
	cfg := o.tracker
	tally := report.NewTally()
	if o.stream != nil {
		cfg.OnDone = func(c *tracker.Conn) {
			tally.Add(c)
			o.stream(c)
		}
	}
	tr := tracker.New(cfg)
	var first, last int64
	readErr := eachPacket(r, o.workers, func(kind capture.Kind, seg *tcp.Segment, hint *tracker.FlowHint) {
		if first == 0 || seg.Time < first {
			first = seg.Time
		}
		last = max(last, seg.Time)
		if kind == capture.KindTCP {
			tr.ProcessHinted(seg, *hint)
		}
	})
	tr.Finish()
	if o.streamDone != nil {
		o.streamDone()
	}
	st := r.Stats()
	in := report.Input{
		Files:        files,
		Packets:      st.Packets,
		TCPPackets:   st.ByKind[capture.KindTCP],
		Skipped:      map[string]uint64{},
		TruncatedTCP: st.TruncatedTCP,
		TimeWentBack: st.TimeWentBack,
		Expired:      tr.Expired(),
		Evicted:      tr.Evicted(),
		FirstTime:    first,
		LastTime:     last,
	}
	for k := capture.Kind(0); int(k) < capture.NumKinds; k++ {
		if k != capture.KindTCP {
			in.Skipped[k.String()] = st.ByKind[k]
		}
	}
	for _, f := range st.Files {
		in.Notes = append(in.Notes, f.Notes()...)
	}
	if readErr != nil {
		in.Error = readErr.Error()
	}
	if o.stream == nil {
		for _, c := range tr.Conns() {
			tally.Add(c)
		}
	}
	return &result{conns: tr.Conns(), summary: tally.Summary(in, tr.Pileups())}, readErr
}

func writeJSON(w io.Writer, res *result) error {
	j := report.NewJSON(w)
	for _, c := range res.conns {
		if err := j.Conn(c); err != nil {
			return err
		}
	}
	for _, p := range res.summary.Pileups {
		if err := j.Pileup(p); err != nil {
			return err
		}
	}
	return j.Summary(res.summary)
}

// writeDetails prints the --conn connections in detail.
func writeDetails(w io.Writer, conns []*tracker.Conn, color bool) error {
	t := report.NewText(w, color)
	for i, c := range conns {
		if i > 0 {
			fmt.Fprintln(w)
		}
		t.Detail(c)
	}
	return t.Err()
}

func writeText(w io.Writer, res *result, o readOptions, color bool) error {
	t := report.NewText(w, color)
	t.Summary(res.summary)
	if o.transitions {
		type entry struct {
			c  *tracker.Conn
			tr tracker.Transition
		}
		var all []entry
		for _, c := range res.conns {
			for _, tr := range c.Transitions {
				all = append(all, entry{c, tr})
			}
		}
		// Time order; a retroactive transition (a listener's SYN_RCVD dated at
		// the SYN) sorts where it happened.
		slices.SortStableFunc(all, func(a, b entry) int {
			if a.tr.Time != b.tr.Time {
				return cmpInt(a.tr.Time, b.tr.Time)
			}
			return cmpInt(int64(a.tr.Packet), int64(b.tr.Packet))
		})
		t.TransitionHeading()
		for _, e := range all {
			t.Transition(e.c, e.tr)
		}
		fmt.Fprintln(w)
	}
	var shown []*tracker.Conn
	for _, c := range res.conns {
		if o.all || c.HasAnomaly(tracker.Warning) {
			shown = append(shown, c)
		}
	}
	if len(shown) > 0 {
		t.ConnHeading(o.all, len(shown))
		for _, c := range shown {
			t.Conn(c)
		}
	}
	if o.ladder && t.Err() == nil {
		return writeReadLadders(w, res, o, shown, color)
	}
	return t.Err()
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// hintFor suggests what to do about an input error.
func hintFor(err error) string {
	var fe *capture.FileError
	var filt *capture.FilterError
	switch {
	case errors.As(err, &filt):
		return "filters use tcpdump's syntax (pcap-filter(7)), e.g. -f 'tcp port 443 and host 10.0.0.1'"
	case errors.Is(err, os.ErrNotExist):
		return "check the file name"
	case errors.Is(err, os.ErrPermission):
		return "check the file's permissions (or run with sudo)"
	case errors.As(err, &fe):
		return "the file is damaged or not a capture; tcptrace reads pcap and pcapng, gzip-compressed or not"
	}
	return "tcptrace reads pcap and pcapng files, gzip-compressed or not"
}
