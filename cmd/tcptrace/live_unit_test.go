package main

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tcptrace/tcptrace/capture"
	"github.com/tcptrace/tcptrace/report"
	"github.com/tcptrace/tcptrace/tcp"
	"github.com/tcptrace/tcptrace/tracker"
)

// TestLiveFlagErrors checks that bad command lines are refused before any
// capture is opened, with exit status 2 and a message and hint naming the
// problem.
func TestLiveFlagErrors(t *testing.T) {
	existing := filepath.Join(t.TempDir(), "old.pcapng")
	if err := os.WriteFile(existing, []byte("keep me"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args       []string
		err, hint  string
		notCapture bool // the error comes before libpcap is asked
	}{
		{[]string{"live"}, "no interface given", "tcptrace live -i eth0 (or -i any); 'tcptrace interfaces' lists them", true},
		{[]string{"live", "-i", "lo", "extra"}, `unexpected argument "extra"`, "tcptrace live takes flags only", true},
		{[]string{"live", "-i", "lo", "--format", "xml"}, `unknown --format "xml"`, "use --format text or --format json", true},
		{[]string{"live", "-i", "lo", "--status", "sometimes"}, `unknown --status "sometimes"`, "use --status auto, always or never", true},
		{[]string{"live", "-i", "lo", "--color", "sometimes"}, `unknown --color "sometimes"`, "use --color auto, always or never", true},
		{[]string{"live", "-i", "lo", "--snaplen", "20"}, "--snaplen 20 out of range", "use 64 to 262144 bytes", true},
		{[]string{"live", "-i", "lo", "--buffer-size", "0"}, "--buffer-size 0 out of range", "use 1 to 4096 MiB", true},
		{[]string{"live", "-i", "lo", "--duration", "-1s"}, "--duration must not be negative", "for example --duration 30s", true},
		{[]string{"live", "-i", "lo", "--count", "-3"}, `invalid argument "-3" for "-c, --count"`, "run 'tcptrace live --help' for the flags", true},
		{[]string{"live", "-i", "lo", "--write", "x.pcap.gz"}, "x.pcap.gz: tcptrace does not compress", "for example --write trace.pcapng", true},
		{[]string{"live", "-i", "lo", "--write", "-"}, "cannot write packets to standard output", "for example --write trace.pcapng", true},
		{[]string{"live", "-i", "lo", "--msl", "0s"}, "--msl and --half-close-timeout must be positive", "for example --msl 30s", true},
		{[]string{"live", "-i", "lo", "--idle-timeout", "0s"}, "--idle-timeout must be a positive duration", "for example --idle-timeout 15m", true},
		{[]string{"live", "-i", "lo", "--max-connections", "0"}, "--idle-timeout must be a positive duration and --max-connections at least 1", "for example", true},
		{[]string{"live", "-i", "lo", "--pileup", "0"}, "--pileup must be at least 1", "run 'tcptrace live --help' for the flags", true},
		{[]string{"live", "-i", "lo", "--no-such-flag"}, "unknown flag: --no-such-flag", "run 'tcptrace live --help' for the flags", true},
		{[]string{"live", "-i", "tcptrace-no-such-if0"}, `no interface "tcptrace-no-such-if0"; available: `, "'tcptrace interfaces' lists the interfaces with their addresses", false},
		{[]string{"live", "-i", "lo", "--write", existing}, existing + " already exists; tcptrace does not overwrite captures", "choose another name, or add --force to replace it", false},
		{[]string{"interfaces", "--format", "yaml"}, `unknown --format "yaml"`, "use --format text or --format json", true},
		{[]string{"interfaces", "eth0"}, `unexpected argument "eth0"`, "run 'tcptrace interfaces --help' for the flags", true},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			if !tc.notCapture && !liveBuild {
				t.Skip("this tcptrace is built without cgo: live capture is not available")
			}
			if len(tc.args) > 3 && tc.args[3] == "--write" && os.Geteuid() != 0 && !tc.notCapture {
				t.Skip("the --write check follows opening the capture, which needs root")
			}
			stdout, stderr, code := runCLI(tc.args...)
			if code != exitUsageErr {
				t.Errorf("exit %d, want %d", code, exitUsageErr)
			}
			if stdout != "" {
				t.Errorf("stdout: %q", stdout)
			}
			lines := strings.Split(strings.TrimSuffix(stderr, "\n"), "\n")
			if len(lines) != 2 || !strings.HasPrefix(lines[0], "tcptrace: error: "+tc.err) || !strings.HasPrefix(lines[1], "tcptrace: hint: "+tc.hint) {
				t.Errorf("stderr:\n%s\nwant:\ntcptrace: error: %s…\ntcptrace: hint: %s…", stderr, tc.err, tc.hint)
			}
		})
	}
	if b, _ := os.ReadFile(existing); string(b) != "keep me" {
		t.Errorf("an existing --write file was changed to %q", b)
	}
}

// liveBuild says whether this build has libpcap.
var liveBuild = func() bool {
	_, err := capture.OpenLive(capture.LiveOptions{Interface: "tcptrace-no-such-if0"})
	return !errors.Is(err, capture.ErrLiveUnsupported)
}()

// TestLivePermissionMessage checks the words a user without privileges
// sees, through the same fail() path as the command.
func TestLivePermissionMessage(t *testing.T) {
	err := &capture.PermissionError{Interface: "eth0", Err: errors.New("Permission Denied")}
	var stderr bytes.Buffer
	if code := fail(&stderr, err, liveHint(err)); code != exitUsageErr {
		t.Errorf("exit %d", code)
	}
	want := "tcptrace: error: capturing on eth0 needs root or CAP_NET_RAW+CAP_NET_ADMIN\n" +
		"tcptrace: hint: try sudo, or: setcap cap_net_raw,cap_net_admin=eip " + executablePath() + "\n"
	if stderr.String() != want {
		t.Errorf("got:\n%swant:\n%s", stderr.String(), want)
	}
	if !errors.Is(err, os.ErrPermission) {
		t.Error("a PermissionError does not match os.ErrPermission")
	}
}

func TestLiveHelp(t *testing.T) {
	stdout, _, code := runCLI("live", "--help")
	if code != exitOK {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{"Usage: tcptrace live -i INTERFACE", "--interface NAME", "--write FILE", "--duration DURATION",
		"--count N", "--user USER", "--snaplen BYTES", "(default 128)", "--buffer-size MiB", "--no-promisc", "CAP_NET_RAW+CAP_NET_ADMIN"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("help lacks %q", want)
		}
	}
	usage, _, _ := runCLI("help")
	for _, want := range []string{"tcptrace live -i INTERFACE [flags]", "tcptrace interfaces [flags]"} {
		if !strings.Contains(usage, want) {
			t.Errorf("usage lacks %q", want)
		}
	}
}

func TestInterfacesCommand(t *testing.T) {
	ifs, err := capture.Interfaces()
	if err != nil {
		t.Skip(err)
	}
	stdout, stderr, code := runCLI("interfaces")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
	if len(lines) != len(ifs)+1 || !strings.HasPrefix(lines[0], "NAME") {
		t.Fatalf("want a heading and %d interfaces, got:\n%s", len(ifs), stdout)
	}
	var lo string
	for _, l := range lines {
		if strings.HasPrefix(l, "lo ") {
			lo = l
		}
	}
	if !strings.Contains(lo, "loopback") || !strings.Contains(lo, "127.0.0.1/8") {
		t.Errorf("lo line %q lacks its flag or address", lo)
	}

	stdout, _, code = runCLI("interfaces", "--format", "json")
	if code != exitOK {
		t.Fatalf("json: exit %d", code)
	}
	objs := jsonLines(t, stdout)
	if len(objs) != len(ifs) {
		t.Fatalf("%d JSON lines for %d interfaces", len(objs), len(ifs))
	}
	for i, o := range objs {
		if o["type"] != "interface" || o["name"] != ifs[i].Name {
			t.Errorf("line %d: %v", i, o)
		}
		if _, ok := o["addresses"].([]any); !ok {
			t.Errorf("line %d: addresses not a list: %v", i, o)
		}
	}
}

func TestStatusLineText(t *testing.T) {
	for _, tc := range []struct {
		name string
		d    statusSnapshotData
		want string
	}{
		{"quiet", statusSnapshotData{client: map[tracker.State]int{}, server: map[tracker.State]int{}},
			"0 pkt/s  0 conns  client -  server -  0 anomalies"},
		{"busy", statusSnapshotData{rate: 12345, conns: 40, anomalies: 5, kernelKnown: true,
			kernel: capture.KernelStats{Received: 100, Dropped: 3, IfDropped: 1},
			client: map[tracker.State]int{tracker.Established: 12, tracker.TimeWait: 20, tracker.Closed: 8},
			server: map[tracker.State]int{tracker.Established: 12, tracker.CloseWait: 3, tracker.Listen: 25}},
			"12.3k pkt/s  40 conns  client ESTABLISHED 12 TIME_WAIT 20  server ESTABLISHED 12 CLOSE_WAIT 3  5 anomalies  4 dropped"},
		{"millions", statusSnapshotData{rate: 2.5e6, conns: 1, client: map[tracker.State]int{}, server: map[tracker.State]int{}},
			"2.5M pkt/s  1 conns  client -  server -  0 anomalies"},
	} {
		if got := tc.d.String(); got != tc.want {
			t.Errorf("%s:\n got %q\nwant %q", tc.name, got, tc.want)
		}
	}
}

// TestStatusLineDrawing checks the terminal handling: each draw replaces
// the line in place, a line wider than the terminal is cut (it could not
// be redrawn once wrapped), and clear leaves an empty line only when a
// status line is showing.
func TestStatusLineDrawing(t *testing.T) {
	var buf bytes.Buffer
	s := &statusLine{w: &buf, enabled: true, width: func() int { return 20 }}
	s.clear()
	if buf.Len() != 0 {
		t.Fatalf("clear without a line wrote %q", buf.String())
	}
	s.draw(statusSnapshotData{rate: 5, conns: 2, client: map[tracker.State]int{}, server: map[tracker.State]int{}})
	s.clear()
	s.clear()
	want := "\r5 pkt/s  2 conns  …\x1b[K" + "\r\x1b[K"
	if buf.String() != want {
		t.Errorf("got %q, want %q", buf.String(), want)
	}
	off := newStatusLine(&buf, "auto", "text", &buf)
	if off.enabled {
		t.Error("status line enabled on a non-terminal")
	}
	if newStatusLine(&buf, "always", "json", &buf).enabled != true || newStatusLine(&buf, "never", "text", &buf).enabled {
		t.Error("--status always/never not obeyed")
	}
}

// replaySource plays a capture file into the live loop as a live capture
// would: when the file ends the wire is quiet (ErrNoPacket) and the user
// presses Ctrl-C.
type replaySource struct {
	r    *capture.Reader
	stop *atomic.Bool
}

func (s *replaySource) Next(seg *tcp.Segment) (capture.Kind, error) {
	kind, err := s.r.Next(seg)
	if err == io.EOF {
		s.stop.Store(true)
		return kind, capture.ErrNoPacket
	}
	return kind, err
}
func (s *replaySource) Stats() capture.Stats { return s.r.Stats() }
func (s *replaySource) Kernel() (capture.KernelStats, error) {
	return capture.KernelStats{Received: s.r.Stats().Packets}, nil
}
func (s *replaySource) Flush() error { return nil }

// runReplay runs the live loop over a file, with the clock stopped at the
// capture's last packet so that wall-clock timers agree with 'read'.
func runReplay(t *testing.T, file string, o liveOptions) (string, *result, error) {
	t.Helper()
	r, err := capture.Files([]string{file}, capture.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var last int64
	if r2, err := capture.Files([]string{file}, capture.Options{}); err == nil {
		var seg tcp.Segment
		for {
			if _, err := r2.Next(&seg); err != nil {
				break
			}
			last = max(last, seg.Time)
		}
		r2.Close()
	}
	var stop atomic.Bool
	def := tracker.DefaultConfig()
	o.iface, o.status, o.statusInterval = "replay", "never", time.Hour
	o.tracker.MSL, o.tracker.HalfCloseTimeout, o.tracker.Pileup = def.MSL, def.HalfCloseTimeout, def.Pileup
	o.clock = func() time.Time { return time.Unix(0, last) }
	var stdout, stderr bytes.Buffer
	res, err := runLive(&replaySource{r: r, stop: &stop}, o, false, &stdout, &stderr, &stop)
	if stderr.Len() > 0 {
		t.Errorf("stderr: %s", stderr.String())
	}
	if err == nil && o.format == "text" {
		// The text stream and the summary share stdout, as in cmdLive.
		err = writeFinal(&stdout, res, o, false)
	}
	return stdout.String(), res, err
}

// TestLiveReplayMatchesRead plays every bundled capture through the live
// loop: the final connection lines equal those of 'tcptrace read
// --format json', every streamed anomaly is in the final report and vice
// versa, and every final transition was streamed, in order.
func TestLiveReplayMatchesRead(t *testing.T) {
	for _, file := range captures(t) {
		t.Run(filepath.Base(file), func(t *testing.T) {
			streamed, res, err := runReplay(t, file, liveOptions{format: "json", transitions: true})
			if err != nil || res == nil {
				t.Fatalf("runLive: %v", err)
			}
			var final bytes.Buffer
			if err := writeFinal(&final, res, liveOptions{format: "json"}, false); err != nil {
				t.Fatal(err)
			}
			want, stderr, code := runCLI("read", "--format", "json", file)
			if code != exitOK {
				t.Fatalf("read: exit %d: %s", code, stderr)
			}
			// Connection lines are streamed as connections end: the same
			// lines as read's, in another order.
			if g, w := byID(objectsOfType(t, streamed, "connection")), objectsOfType(t, want, "connection"); !reflect.DeepEqual(g, w) {
				t.Errorf("connections differ from read's:\n%s", firstDiff(jsonText(w), jsonText(g)))
			}
			if g, w := objectsOfType(t, final.String(), "pileup"), objectsOfType(t, want, "pileup"); !reflect.DeepEqual(g, w) {
				t.Errorf("pileups differ from read's: %v, want %v", g, w)
			}
			g, w := objectsOfType(t, final.String(), "summary"), objectsOfType(t, want, "summary")
			if len(g) != 1 || len(w) != 1 {
				t.Fatalf("summaries: %v, read's %v", g, w)
			}
			delete(g[0], "notes")
			delete(w[0], "notes")
			if k, ok := g[0]["kernel"].(map[string]any); !ok || k["received"] != g[0]["packets"] {
				t.Errorf("live summary's kernel counts %v, want received = packets %v", g[0]["kernel"], g[0]["packets"])
			}
			delete(g[0], "kernel") // live only
			if !reflect.DeepEqual(g, w) {
				t.Errorf("summary differs from read's:\n%s", firstDiff(jsonText(w), jsonText(g)))
			}

			type key struct {
				conn       float64
				kind, side string
			}
			streamedAnomalies := map[key]bool{}
			streamedTransitions := map[float64][]string{}
			for _, o := range jsonLines(t, streamed) {
				switch o["type"] {
				case "anomaly":
					streamedAnomalies[key{o["conn"].(float64), o["kind"].(string), o["side"].(string)}] = true
				case "transition":
					c := o["conn"].(float64)
					streamedTransitions[c] = append(streamedTransitions[c], transitionKey(o))
				case "connection", "pileup":
				default:
					t.Errorf("unexpected streamed line %v", o)
				}
			}
			finalAnomalies := map[key]bool{}
			for _, c := range objectsOfType(t, want, "connection") {
				id := c["id"].(float64)
				for _, a := range c["anomalies"].([]any) {
					a := a.(map[string]any)
					finalAnomalies[key{id, a["kind"].(string), a["side"].(string)}] = true
				}
				// Streamed transitions may include ones the tracker later
				// withdrew; the final ones must all have been streamed in order.
				s := streamedTransitions[id]
				for _, tr := range c["transitions"].([]any) {
					k := transitionKey(tr.(map[string]any))
					for len(s) > 0 && s[0] != k {
						s = s[1:]
					}
					if len(s) == 0 {
						t.Errorf("connection %v: transition %s was not streamed (in order)", id, k)
						break
					}
					s = s[1:]
				}
			}
			if !reflect.DeepEqual(streamedAnomalies, finalAnomalies) {
				t.Errorf("streamed anomalies %v, final %v", streamedAnomalies, finalAnomalies)
			}
		})
	}
}

// byID sorts connection objects by id.
func byID(conns []map[string]any) []map[string]any {
	slices.SortStableFunc(conns, func(a, b map[string]any) int { return cmp.Compare(a["id"].(float64), b["id"].(float64)) })
	return conns
}

func transitionKey(o map[string]any) string {
	return fmt.Sprintf("%v %v %v->%v #%v", o["time"], o["side"], o["from"], o["to"], o["packet"])
}

// objectsOfType returns the JSON lines of one type.
func objectsOfType(t *testing.T, out, typ string) []map[string]any {
	t.Helper()
	var objs []map[string]any
	for _, o := range jsonLines(t, out) {
		if o["type"] == typ {
			objs = append(objs, o)
		}
	}
	return objs
}

// TestLiveReplayText checks the text stream: the transition log's heading,
// a line per transition and per anomaly, then the same summary as read.
func TestLiveReplayText(t *testing.T) {
	file := filepath.Join(pcapRoot, "synth", "half-closed-long.pcap")
	out, res, err := runReplay(t, file, liveOptions{format: "text", transitions: true})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out, "TIME ") {
		t.Errorf("the stream does not start with the heading:\n%s", out)
	}
	transitions, anomalies := 0, 0
	for _, c := range res.conns {
		transitions += len(c.Transitions)
		for _, a := range c.Anomalies {
			anomalies++
			// The detail is the one known when the anomaly became certain;
			// the summary's may say more (the end of the capture).
			line := regexp.MustCompile(fmt.Sprintf(`(?m)^\S+ #%-5d %-6s .* %s: `, c.ID, a.Side, a.Kind))
			if !line.MatchString(out) {
				t.Errorf("no line for anomaly %s %s", a.Kind, a.Side)
			}
		}
	}
	if anomalies == 0 {
		t.Fatal("the capture has no anomaly to stream")
	}
	if n := strings.Count(out, " -> "); n < transitions {
		t.Errorf("%d transition lines for %d transitions", n, transitions)
	}
	want, _, _ := runCLI("read", "--color", "never", file)
	summary := out[strings.Index(out, "\ncapture ")+1:]
	want = strings.Replace(want, file, "replay (live)", 1)
	want = strings.Replace(want, "  connections", "  kernel      "+fmt.Sprint(res.summary.Packets)+" packets received, 0 dropped (buffer full), 0 dropped by the interface\n  connections", 1)
	if summary != want {
		t.Errorf("summary differs from read's:\n%s", firstDiff(want, summary))
	}

	quiet, _, err := runReplay(t, file, liveOptions{format: "text", transitions: false})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(quiet, " -> ") || !strings.Contains(quiet, "half_closed") {
		t.Errorf("--transitions=false: want anomalies only, got:\n%s", quiet)
	}
}

// TestLiveCount checks that --count stops after exactly N packets.
func TestLiveCount(t *testing.T) {
	file := filepath.Join(pcapRoot, "synth", "half-closed-long.pcap")
	_, res, err := runReplay(t, file, liveOptions{format: "json", count: 3})
	if err != nil {
		t.Fatal(err)
	}
	if res.summary.Packets != 3 {
		t.Errorf("read %d packets, want 3", res.summary.Packets)
	}
}

// TestLiveStreamsEventsAsTheyHappen checks that an event is written
// before the loop reads the next packet, not at the end.
func TestLiveStreamsEventsAsTheyHappen(t *testing.T) {
	file := filepath.Join(pcapRoot, "synth", "half-closed-long.pcap")
	r, err := capture.Files([]string{file}, capture.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var stdout bytes.Buffer
	var stop atomic.Bool
	src := &watchingSource{replaySource: replaySource{r: r, stop: &stop}, out: &stdout}
	o := liveOptions{format: "json", transitions: true, status: "never", statusInterval: time.Hour, iface: "replay",
		clock: time.Now, tracker: tracker.DefaultConfig()}
	if _, err := runLive(src, o, false, &stdout, io.Discard, &stop); err != nil {
		t.Fatal(err)
	}
	// The first packet (a SYN) moves the client to SYN_SENT; that must be
	// out before the second packet is read.
	if src.linesBeforeSecond < 1 {
		t.Errorf("%d lines written before the second packet was read", src.linesBeforeSecond)
	}
}

type watchingSource struct {
	replaySource
	out               *bytes.Buffer
	reads             int
	linesBeforeSecond int
}

func (s *watchingSource) Next(seg *tcp.Segment) (capture.Kind, error) {
	s.reads++
	if s.reads == 2 {
		s.linesBeforeSecond = strings.Count(s.out.String(), "\n")
	}
	return s.replaySource.Next(seg)
}

// TestLiveWallClockTimers checks that time-driven rules run while the wire
// is quiet: a connection the capture leaves in TIME_WAIT is closed by the
// 2×MSL timer once the wall clock has passed it, with no packet.
func TestLiveWallClockTimers(t *testing.T) {
	file := filepath.Join(pcapRoot, "synth", "gzip.pcap.gz")
	expiry := `"from":"TIME_WAIT","to":"CLOSED","packet":0`

	// With the clock at the last packet nothing has expired, as in read.
	frozen, _, err := runReplay(t, file, liveOptions{format: "json", transitions: true})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(frozen, expiry) {
		t.Fatalf("TIME_WAIT expired without the clock moving:\n%s", frozen)
	}

	r, err := capture.Files([]string{file}, capture.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var stdout bytes.Buffer
	var stop atomic.Bool
	o := liveOptions{format: "json", transitions: true, status: "never", statusInterval: time.Hour, iface: "replay",
		tracker: tracker.DefaultConfig()}
	// A clock a day after the capture: the first quiet moment fires the
	// timers, as a live capture left running would.
	o.clock = func() time.Time { return time.Now().Add(24 * time.Hour) }
	res, err := runLive(&replaySource{r: r, stop: &stop}, o, false, &stdout, io.Discard, &stop)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout.String(), expiry) {
		t.Errorf("no TIME_WAIT expiry streamed:\n%s", stdout.String())
	}
	for _, c := range res.conns {
		for _, e := range c.Ends {
			if e.State == tracker.TimeWait {
				t.Errorf("connection %d: %s still in TIME_WAIT a day later", c.ID, e.Addr)
			}
		}
	}
}

// TestLiveSummaryKeepsCountsNotConnections checks the bounded final
// listing: every connection is counted, only the last keepLimit (with
// warnings, or all with --all) are listed, in order of first packet, and a note says so.
func TestLiveSummaryKeepsCountsNotConnections(t *testing.T) {
	file := filepath.Join(pcapRoot, "synth", "invalid-flags.pcap")
	want, _, code := runCLI("read", "--format", "json", file)
	if code != exitOK {
		t.Fatal("read failed")
	}
	r, err := capture.Files([]string{file}, capture.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	l := newLiveSummary(true, 3)
	tr := tracker.New(tracker.Config{OnDone: l.add})
	var seg tcp.Segment
	for {
		kind, err := r.Next(&seg)
		if err != nil {
			break
		}
		if kind == capture.KindTCP {
			tr.Process(&seg)
		}
	}
	tr.Finish()
	res := l.result(report.Input{}, tr.Pileups())
	total := len(objectsOfType(t, want, "connection"))
	if res.summary.Connections != total || total <= 3 {
		t.Fatalf("counted %d connections, read has %d (need more than 3)", res.summary.Connections, total)
	}
	if len(res.conns) != 3 {
		t.Fatalf("kept %d connections, want 3", len(res.conns))
	}
	for i := 1; i < len(res.conns); i++ {
		if res.conns[i-1].ID >= res.conns[i].ID {
			t.Errorf("kept connections not in order: %d before %d", res.conns[i-1].ID, res.conns[i].ID)
		}
	}
	note := fmt.Sprintf("the list below shows the last 3 connections; %d earlier ones are counted but not listed", total-3)
	if !slices.Contains(res.summary.Notes, note) {
		t.Errorf("notes %q lack %q", res.summary.Notes, note)
	}
}

// TestLiveGating: --fail-on and --max apply to live capture as to read —
// every connection handed over is checked — with the same exit status and
// last stderr line.
func TestLiveGating(t *testing.T) {
	file := filepath.Join(pcapRoot, "kernel", "final-ack-lost-after.pcap")
	for _, tt := range []struct {
		name   string
		failOn string
		want   int
		last   string
	}{
		{"matched", "missing_final_ack", exitFailOn, "tcptrace: failed: missing_final_ack in 1 connection (--fail-on missing_final_ack)"},
		{"passed", "reset", exitOK, "tcptrace: passed: no anomaly matched --fail-on reset"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rules, err := parseFailOn(tt.failOn)
			if err != nil {
				t.Fatal(err)
			}
			p := &policy{failOn: rules, failOnFrom: "--fail-on"}
			o := liveOptions{format: "json", gate: newGateTally(p), tracker: tracker.DefaultConfig()}
			_, res, err := runReplay(t, file, o)
			if err != nil {
				t.Fatal(err)
			}
			var stderr bytes.Buffer
			if got := o.gate.verdict(res.summary).print(&stderr); got != tt.want {
				t.Errorf("exit %d, want %d; stderr %s", got, tt.want, stderr.String())
			}
			if last := lastLine(stderr.String()); last != tt.last {
				t.Errorf("last line %q, want %q", last, tt.last)
			}
		})
	}
}
