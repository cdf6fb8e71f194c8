package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"github.com/tcptrace/tcptrace/capture"
	"github.com/tcptrace/tcptrace/report"
	"github.com/tcptrace/tcptrace/tcp"
	"github.com/tcptrace/tcptrace/tracker"
)

const liveUsage = `Usage: tcptrace live -i INTERFACE [flags]

Captures on a network interface and reports, as they happen, every TCP state
transition and every anomaly the moment it becomes certain; time-driven rules
(TIME_WAIT expiry, the half-close timeout) run on the wall clock. On a
terminal a status line on stderr shows packets/s, connections per state,
anomalies and kernel drops.

Ctrl-C or SIGTERM (or --duration, --count) stops the capture; tcptrace then
prints the same summary as 'tcptrace read', with the kernel's drop counts,
and exits 0.

Capturing needs root or CAP_NET_RAW+CAP_NET_ADMIN. Started as root,
tcptrace switches to --user once the capture (and the --write file) is open.

Examples:
    sudo tcptrace live -i eth0
    sudo tcptrace live -i any -f 'tcp port 443' --duration 30s
    sudo tcptrace live -i eth0 --format json | jq 'select(.type=="anomaly")'
    sudo tcptrace live -i eth0 --write trace.pcapng

Flags:
`

func init() {
	register(command{name: "live", args: "-i INTERFACE [flags]", order: 20, run: cmdLive,
		summary: "watch connections on an interface as they happen"})
}

// liveOptions are the flags of tcptrace live.
type liveOptions struct {
	gate          *gateTally // --fail-on/--max/--policy rules, nil when none
	iface, filter string
	format, color string
	status        string
	transitions   bool
	all           bool
	snapLen       int
	noPromisc     bool
	bufferMiB     int
	duration      time.Duration
	count         uint64
	write         string
	force         bool
	user          string
	tracker       tracker.Config
	// Not flags: tests replay files with these.
	statusInterval time.Duration
	clock          func() time.Time
}

// defaultBufferMiB sizes the kernel buffer for bursts: at the default
// snaplen a packet takes about 200 bytes of ring, so 32 MiB absorbs some
// 150 000 packets while tcptrace catches up.
const defaultBufferMiB = 32

func (o *liveOptions) flags(fs *pflag.FlagSet) {
	def := tracker.DefaultConfig()
	fs.StringVarP(&o.iface, "interface", "i", "", "capture on `NAME` ('any' for all; see 'tcptrace interfaces')")
	fs.StringVarP(&o.filter, "filter", "f", "", "tcpdump/BPF filter `EXPR`, run in the kernel, e.g. 'tcp port 443'")
	fs.StringVar(&o.format, "format", "text", "output `FORMAT`: text or json (JSON Lines, one event per line)")
	fs.StringVar(&o.color, "color", "auto", "colour text output: `WHEN` = auto, always or never (NO_COLOR is honoured)")
	fs.StringVar(&o.status, "status", "auto", "status line on stderr: `WHEN` = auto (text output on a terminal), always or never")
	fs.BoolVarP(&o.transitions, "transitions", "t", true, "stream every state change (--transitions=false: anomalies only)")
	fs.BoolVarP(&o.all, "all", "a", false, "the final summary lists every connection, not only those with warnings or errors")
	fs.IntVarP(&o.snapLen, "snaplen", "s", capture.DefaultSnapLen, "keep `BYTES` of each packet (headers are all tcptrace needs)")
	fs.BoolVar(&o.noPromisc, "no-promisc", false, "do not put the interface into promiscuous mode")
	fs.IntVarP(&o.bufferMiB, "buffer-size", "B", defaultBufferMiB, "kernel capture buffer in `MiB`")
	fs.DurationVar(&o.duration, "duration", 0, "stop after `DURATION` (e.g. 30s, 10m)")
	fs.Uint64VarP(&o.count, "count", "c", 0, "stop after `N` packets")
	fs.StringVarP(&o.write, "write", "w", "", "also save the captured packets to `FILE` (pcapng; pcap if it ends in .pcap)")
	fs.BoolVar(&o.force, "force", false, "let --write replace an existing file")
	fs.StringVar(&o.user, "user", "nobody", "when started as root, switch to `USER` once the capture is open ('' keeps root)")
	fs.DurationVar(&o.tracker.MSL, "msl", def.MSL, "maximum segment lifetime (`DURATION`); TIME_WAIT lasts 2×MSL")
	fs.DurationVar(&o.tracker.HalfCloseTimeout, "half-close-timeout", def.HalfCloseTimeout, "CLOSE_WAIT longer than `DURATION` is half_closed")
	fs.IntVar(&o.tracker.Pileup, "pileup", def.Pileup, "`N` connections at once in CLOSE_WAIT (per ip:port) or TIME_WAIT (per host) make a pileup")
	fs.DurationVar(&o.tracker.IdleTimeout, "idle-timeout", def.IdleTimeout, "a connection without packets for `DURATION` is reported as it stands and forgotten")
	fs.IntVar(&o.tracker.MaxConnections, "max-connections", def.MaxConnections, "track at most `N` connections at once; beyond, the least recently active is evicted (reported as it stands)")
}

// check validates the flags that need no capture.
func (o *liveOptions) check(args []string) error {
	if len(args) > 0 {
		return &usageError{msg: fmt.Sprintf("unexpected argument %q", Escape(args[0])),
			hint: "tcptrace live takes flags only; to analyse a file use 'tcptrace read FILE'"}
	}
	if o.iface == "" {
		return &usageError{msg: "no interface given", hint: "tcptrace live -i eth0 (or -i any); 'tcptrace interfaces' lists them"}
	}
	if o.format != "text" && o.format != "json" {
		return &usageError{msg: fmt.Sprintf("unknown --format %q", Escape(o.format)), hint: "use --format text or --format json"}
	}
	switch o.status {
	case "auto", "always", "never":
	default:
		return &usageError{msg: fmt.Sprintf("unknown --status %q", Escape(o.status)), hint: "use --status auto, always or never"}
	}
	if o.snapLen < capture.MinSnapLen || o.snapLen > 262144 {
		return &usageError{msg: fmt.Sprintf("--snaplen %d out of range", o.snapLen),
			hint: fmt.Sprintf("use %d to 262144 bytes; the default %d covers TCP headers with options", capture.MinSnapLen, capture.DefaultSnapLen)}
	}
	if o.bufferMiB < 1 || o.bufferMiB > 4096 {
		return &usageError{msg: fmt.Sprintf("--buffer-size %d out of range", o.bufferMiB), hint: "use 1 to 4096 MiB"}
	}
	if o.duration < 0 {
		return &usageError{msg: "--duration must not be negative", hint: "for example --duration 30s"}
	}
	if o.write != "" {
		if _, err := capture.SaveFormat(o.write); err != nil {
			return &usageError{msg: Escape(err.Error()), hint: "for example --write trace.pcapng"}
		}
	}
	if o.tracker.MSL <= 0 || o.tracker.HalfCloseTimeout <= 0 {
		return &usageError{msg: "--msl and --half-close-timeout must be positive durations", hint: "for example --msl 30s"}
	}
	if o.tracker.Pileup < 1 {
		return &usageError{msg: "--pileup must be at least 1"}
	}
	if o.tracker.IdleTimeout <= 0 || o.tracker.MaxConnections < 1 {
		return &usageError{msg: "--idle-timeout must be a positive duration and --max-connections at least 1", hint: "for example --idle-timeout 15m --max-connections 100000"}
	}
	return nil
}

func cmdLive(args []string, _ io.Reader, stdout, stderr io.Writer) int {
	o := liveOptions{statusInterval: statusInterval, clock: time.Now}
	fs := pflag.NewFlagSet("live", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	o.flags(fs)
	gate := addGateFlags(fs)
	help := fs.BoolP("help", "h", false, "show this help")
	if err := fs.Parse(args); err != nil {
		return failUsage(stderr, err, "live")
	}
	if *help {
		fmt.Fprint(stdout, liveUsage+flagUsages(fs))
		return exitOK
	}
	if err := o.check(fs.Args()); err != nil {
		return failUsage(stderr, err, "live")
	}
	color, err := useColor(o.color, stdout)
	if err != nil {
		return failUsage(stderr, err, "live")
	}
	rules, err := gate.load()
	if err != nil {
		return failUsage(stderr, err, "live")
	}
	if !rules.empty() {
		o.gate = newGateTally(rules)
	}

	src, err := capture.OpenLive(capture.LiveOptions{
		Interface:   o.iface,
		Filter:      o.filter,
		SnapLen:     o.snapLen,
		Promiscuous: !o.noPromisc,
		BufferSize:  o.bufferMiB << 20,
		Write:       o.write,
		Overwrite:   o.force,
	})
	if err != nil {
		return fail(stderr, err, liveHint(err))
	}
	defer src.Close()
	if o.write != "" {
		giveToSudoUser(o.write)
	}
	wasRoot := os.Geteuid() == 0
	if err := dropPrivileges(o.user); err != nil {
		return fail(stderr, err, "use --user NAME with an existing user, or --user '' to stay root")
	}
	// Like tcpdump's "listening on", on stderr so that JSON on stdout
	// stays clean; scripts can wait for it before making traffic.
	as := ""
	if wasRoot && os.Geteuid() != 0 {
		as = ", as user " + Escape(o.user)
	}
	fmt.Fprintf(stderr, "tcptrace: capturing on %s, link type %s, snaplen %d%s; Ctrl-C stops\n", Escape(o.iface), src.LinkType(), src.SnapLen(), as)

	// Signals only set a flag: the capture loop notices it within one read
	// timeout and stops in order. A second Ctrl-C kills at once.
	var stop atomic.Bool
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-sigs:
			stop.Store(true)
			signal.Reset(os.Interrupt, syscall.SIGTERM)
		case <-done:
			signal.Stop(sigs)
		}
	}()

	res, runErr := runLive(src, o, color, stdout, stderr, &stop)
	if runErr != nil && res == nil {
		return fail(stderr, runErr, "")
	}
	if closeErr := src.Close(); closeErr != nil && runErr == nil {
		runErr = closeErr
	}
	if werr := writeFinal(stdout, res, o, color); werr != nil {
		return fail(stderr, fmt.Errorf("writing the report: %w", werr), "")
	}
	status := exitOK
	if o.gate != nil {
		status = o.gate.verdict(res.summary).print(stderr)
	}
	if runErr != nil {
		return fail(stderr, runErr, "the summary above covers the packets before the failure")
	}
	return status
}

// liveHint says what to do about a failure to open the capture.
func liveHint(err error) string {
	var (
		perm    *capture.PermissionError
		unknown *capture.UnknownInterfaceError
		exists  *capture.SaveExistsError
	)
	switch {
	case errors.As(err, &perm):
		return "try sudo, or: setcap cap_net_raw,cap_net_admin=eip " + executablePath()
	case errors.As(err, &unknown):
		return "'tcptrace interfaces' lists the interfaces with their addresses"
	case errors.As(err, &exists):
		return "choose another name, or add --force to replace it"
	case errors.Is(err, capture.ErrLiveUnsupported):
		return "this tcptrace was built without cgo; build it with CGO_ENABLED=1 and libpcap-dev installed"
	}
	return ""
}

// executablePath names this program for the setcap hint: the running
// binary when it can be found, else a shell expression that finds it.
func executablePath() string {
	if p, err := os.Executable(); err == nil {
		return p
	}
	return "$(command -v tcptrace)"
}

// packetSource is what the capture loop needs from capture.Live; tests
// drive the loop with a file.
type packetSource interface {
	Next(seg *tcp.Segment) (capture.Kind, error)
	Stats() capture.Stats
	Kernel() (capture.KernelStats, error)
	Flush() error
}

// statusInterval is how often the status line is redrawn, the save file
// flushed and pileups checked: at most four times a second.
const statusInterval = 250 * time.Millisecond

// drainLimit bounds how long a stopped capture keeps reading what the
// kernel had buffered before the stop: a safety net only, since the drain
// ends at the first packet stamped after the stop. At the rates measured
// (see the README) a full 32 MiB buffer is read in well under a second.
const drainLimit = 30 * time.Second

// runLive is the capture loop: it reads packets until stop is set, the
// duration has passed, the count is reached or reading fails, streams the
// events, and returns the final results. A nil result comes with an error
// that stopped it before anything was read.
func runLive(src packetSource, o liveOptions, color bool, stdout, stderr io.Writer, stop *atomic.Bool) (*result, error) {
	status := newStatusLine(stderr, o.status, o.format, stdout)
	keep := keepLimit
	if o.format == "json" {
		keep = 0 // every connection line is streamed as the connection ends
	}
	summary := newLiveSummary(o.all, keep)
	events := newEventSink(stdout, o.format, color, o.transitions, status, summary)
	events.gate = o.gate
	cfg := o.tracker
	cfg.OnTransition = events.transition
	cfg.OnAnomaly = events.anomaly
	// The tracker hands each connection over when it is done with it and
	// forgets it, so memory follows the connections alive on the wire.
	cfg.OnDone = events.done
	tr := tracker.New(cfg)
	if o.format == "text" && o.transitions {
		events.heading()
	}

	var (
		seg         tcp.Segment
		first, last int64
		readErr     error
		start       = o.clock()
		nextTick    = start.Add(o.statusInterval)
		draining    bool
		stoppedAt   int64 // when the stop came; packets stamped later are not waited for
		drainEnd    time.Time
		prevPackets uint64
		prevTick    = start
	)
capture:
	for {
		now := o.clock()
		if !draining && (stop.Load() || (o.duration > 0 && now.Sub(start) >= o.duration)) {
			// Stop capturing, but first take in what the kernel already
			// holds: those packets happened before the stop.
			draining, stoppedAt, drainEnd = true, now.UnixNano(), now.Add(drainLimit)
		}
		if draining && now.After(drainEnd) {
			break
		}
		if now.After(nextTick) {
			nextTick = now.Add(o.statusInterval)
			// Non-TCP traffic moves no TCP clock; the newest packet's time
			// does, without running ahead of packets still queued.
			tr.Advance(last)
			events.flush()
			events.checkPileups(tr)
			if err := src.Flush(); err != nil {
				readErr = err
				break
			}
			st := src.Stats()
			k, kerr := src.Kernel()
			status.draw(statusSnapshot(tr.Live(), events.open, st.Packets-prevPackets, now.Sub(prevTick), events.anomalies, k, kerr == nil))
			prevPackets, prevTick = st.Packets, now
		}
		if events.err != nil {
			break
		}

		kind, err := src.Next(&seg)
		switch {
		case err == nil:
			if first == 0 || seg.Time < first {
				first = seg.Time
			}
			last = max(last, seg.Time)
			if kind == capture.KindTCP {
				tr.Process(&seg)
				events.flush()
			}
			if o.count > 0 && src.Stats().Packets >= o.count {
				break capture
			}
			if draining && seg.Time > stoppedAt {
				break capture // the kernel's backlog from before the stop is in
			}
		case errors.Is(err, capture.ErrNoPacket):
			if draining {
				break capture // the kernel's queue is empty
			}
			// Nothing is queued, so every earlier packet has been
			// processed: the wall clock is safe to move to.
			tr.Advance(o.clock().UnixNano())
			events.flush()
		case err == io.EOF:
			break capture
		default:
			readErr = err
			break capture
		}
	}
	tr.Finish()
	events.flush()
	events.checkPileups(tr)
	status.clear()

	st := src.Stats()
	in := report.Input{
		Files:        []string{o.iface + " (live)"},
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
	if k, err := src.Kernel(); err == nil {
		in.Kernel = &report.KernelCounts{Received: k.Received, Dropped: k.Dropped, IfDropped: k.IfDropped}
	}
	if readErr != nil {
		in.Error = readErr.Error()
	}
	if readErr == nil && events.err != nil {
		readErr = fmt.Errorf("writing events: %w", events.err)
	}
	return summary.result(in, tr.Pileups()), readErr
}

// writeFinal prints the closing summary as 'tcptrace read' does. In JSON
// the connection lines have already been streamed as each ended, so only
// the pileups and the summary are left.
func writeFinal(w io.Writer, res *result, o liveOptions, color bool) error {
	if o.format == "json" {
		j := report.NewJSON(w)
		for _, p := range res.summary.Pileups {
			if err := j.Pileup(p); err != nil {
				return err
			}
		}
		return j.Summary(res.summary)
	}
	fmt.Fprintln(w)
	return writeText(w, res, readOptions{all: o.all}, color)
}
