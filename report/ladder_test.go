package report_test

import (
	"bytes"
	"flag"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/tcptrace/tcptrace/capture"
	"github.com/tcptrace/tcptrace/report"
	"github.com/tcptrace/tcptrace/synth"
	"github.com/tcptrace/tcptrace/tcp"
	"github.com/tcptrace/tcptrace/tracker"
)

// The -update flag may already be declared by another test file of this
// package's test binary; declare it only when it is not.
func init() {
	if flag.Lookup("update") == nil {
		flag.Bool("update", false, "rewrite the golden files")
	}
}

func updating() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

const pcapRoot = "../testdata/pcaps"

// analysis is one run of the tracker over capture files, as the CLI does it.
type analysis struct {
	files   []string
	conns   []*tracker.Conn
	summary report.Summary
}

func analyse(t testing.TB, files ...string) *analysis {
	t.Helper()
	r, err := capture.Files(files, capture.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	tr := tracker.New(tracker.DefaultConfig())
	var (
		seg         tcp.Segment
		first, last int64
	)
	for {
		kind, err := r.Next(&seg)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if first == 0 || seg.Time < first {
			first = seg.Time
		}
		last = max(last, seg.Time)
		if kind == capture.KindTCP {
			tr.Process(&seg)
		}
	}
	tr.Finish()
	st := r.Stats()
	in := report.Input{Files: files, Packets: st.Packets, TCPPackets: st.ByKind[capture.KindTCP], FirstTime: first, LastTime: last}
	return &analysis{files: files, conns: tr.Conns(), summary: report.Summarize(in, tr.Conns(), tr.Pileups())}
}

// ladders draws the given connections (all when nil) from a second pass.
func (a *analysis) ladders(t testing.TB, conns []*tracker.Conn, opt report.LadderOptions) []*report.Ladder {
	t.Helper()
	if conns == nil {
		conns = a.conns
	}
	if opt.CaptureEnd == 0 {
		opt.CaptureEnd = a.summary.LastTime
	}
	out := make([]*report.Ladder, len(conns))
	for i, c := range conns {
		out[i] = report.NewLadder(c, opt)
	}
	r, err := capture.Files(a.files, capture.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for seg, err := range r.TCP() {
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range out {
			l.Add(seg) // a ladder ignores other connections' segments
		}
	}
	return out
}

func ladderText(t testing.TB, ls []*report.Ladder, color bool) string {
	t.Helper()
	var b bytes.Buffer
	for i, l := range ls {
		if i > 0 {
			b.WriteByte('\n')
		}
		if err := l.WriteText(&b, color); err != nil {
			t.Fatal(err)
		}
	}
	return b.String()
}

// golden compares got with the file, or rewrites it with -update.
func golden(t *testing.T, path string, got string) {
	t.Helper()
	if updating() {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./report -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s (check the change, then run go test ./report -update):\n%s", path, firstDiff(string(want), got))
	}
}

func firstDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < max(len(w), len(g)); i++ {
		var a, b string
		if i < len(w) {
			a = w[i]
		}
		if i < len(g) {
			b = g[i]
		}
		if a != b {
			return "line " + itoa(i+1) + ":\nwant: " + a + "\ngot:  " + b
		}
	}
	return "(same lines, different bytes)"
}

func itoa(n int) string { return strconv.Itoa(n) }

// bundled lists the project's captures, one scenario per file.
func bundled(t testing.TB) []string {
	t.Helper()
	var out []string
	for _, dir := range []string{"synth", "kernel"} {
		for _, pat := range []string{"*.pcap", "*.pcapng", "*.pcap.gz"} {
			m, err := filepath.Glob(filepath.Join(pcapRoot, dir, pat))
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, m...)
		}
	}
	if len(out) == 0 {
		t.Skip("no captures under testdata/pcaps")
	}
	return out
}

func goldenPath(kind, capture, suffix string) string {
	rel, _ := filepath.Rel(pcapRoot, capture)
	for _, ext := range []string{".gz", ".pcap", ".pcapng"} {
		rel = strings.TrimSuffix(rel, ext)
	}
	return filepath.Join("testdata", kind, rel+suffix)
}

// TestLadderGolden draws every connection of every bundled capture, as the
// terminal shows it without colour.
func TestLadderGolden(t *testing.T) {
	for _, file := range bundled(t) {
		if strings.Contains(file, "rotated-") {
			continue // drawn together below: one capture cut in two files
		}
		t.Run(filepath.Base(file), func(t *testing.T) {
			a := analyse(t, file)
			golden(t, goldenPath("ladder", file, ".txt"), ladderText(t, a.ladders(t, nil, report.LadderOptions{}), false))
		})
	}
	t.Run("rotated", func(t *testing.T) {
		a := analyse(t, filepath.Join(pcapRoot, "synth/rotated-1.pcap"), filepath.Join(pcapRoot, "synth/rotated-2.pcap"))
		golden(t, filepath.Join("testdata/ladder/synth/rotated.txt"), ladderText(t, a.ladders(t, nil, report.LadderOptions{}), false))
	})
}

var (
	bulkClient = netip.MustParseAddrPort("192.0.2.10:45000")
	bulkServer = netip.MustParseAddrPort("198.51.100.20:8080")
)

// writeBulk builds a capture of one connection with a long transfer, two
// data retransmissions, a zero-window stall and an abort by the server:
// what the short scenario captures lack.
func writeBulk(t testing.TB) string {
	t.Helper()
	c := synth.NewCapture(synth.Ethernet)
	k := c.Conn(bulkClient, bulkServer, 7000, 90000)
	k.Handshake().Data(synth.Client, 200)
	for i := 0; i < 12; i++ {
		k.Data(synth.Server, 1400)
		if i == 4 {
			// The segment just sent, again: same sequence number and length.
			k.Data(synth.Server, 1400, synth.Seq(k.Next(synth.Server)-1400))
		}
		if i%2 == 1 {
			k.ACK(synth.Client)
		}
	}
	k.After(2 * time.Second)
	k.ACK(synth.Client, synth.Window(0))
	k.Data(synth.Server, 1400, synth.Seq(k.Next(synth.Server)-1400))
	k.RST(synth.Server)
	if err := c.Err(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "bulk.pcap")
	if err := c.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestLadderBulk checks collapsing, retransmissions, zero windows, RST and
// colour on a built capture, with and without --full.
func TestLadderBulk(t *testing.T) {
	a := analyse(t, writeBulk(t))
	if len(a.conns) != 1 {
		t.Fatalf("%d connections, want 1", len(a.conns))
	}
	for _, tc := range []struct {
		name  string
		opt   report.LadderOptions
		color bool
	}{
		{"bulk.txt", report.LadderOptions{}, false},
		{"bulk.full.txt", report.LadderOptions{Full: true}, false},
		{"bulk.color.txt", report.LadderOptions{}, true},
		{"bulk.wide.txt", report.LadderOptions{Width: 100}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			golden(t, filepath.Join("testdata/ladder/built", tc.name), ladderText(t, a.ladders(t, nil, tc.opt), tc.color))
		})
	}
}

// TestLadderContent checks what every ladder must show, whatever the
// layout: each anomaly by name, each state entered, no colour codes when
// colour is off, and lines that fit the width.
func TestLadderContent(t *testing.T) {
	files := append(bundled(t), writeBulk(t))
	for _, file := range files {
		a := analyse(t, file)
		for _, width := range []int{80, 100} {
			for _, full := range []bool{false, true} {
				ls := a.ladders(t, nil, report.LadderOptions{Width: width, Full: full})
				for _, l := range ls {
					c := l.Conn()
					text := ladderText(t, []*report.Ladder{l}, false)
					name := filepath.Base(file) + " #" + itoa(int(c.ID))
					if strings.Contains(text, "\x1b") {
						t.Errorf("%s: escape codes without colour", name)
					}
					for _, an := range c.Anomalies {
						if !strings.Contains(text, an.Kind.String()) {
							t.Errorf("%s: anomaly %s not marked:\n%s", name, an.Kind, text)
						}
					}
					for _, tr := range c.Transitions {
						if !strings.Contains(text, tr.To.String()) {
							t.Errorf("%s: state %s never shown:\n%s", name, tr.To, text)
						}
					}
					for i, ln := range strings.Split(text, "\n") {
						if n := utf8.RuneCountInString(ln); n > width-1 {
							t.Errorf("%s width %d line %d has %d columns: %q", name, width, i+1, n, ln)
						}
					}
				}
			}
		}
	}
}

// TestLadderCollapse checks where a run of plain segments becomes one line.
func TestLadderCollapse(t *testing.T) {
	for _, tc := range []struct {
		segments  int
		full      bool
		collapsed bool
	}{
		{segments: 4, collapsed: false},
		{segments: 5, collapsed: true},
		{segments: 40, collapsed: true},
		{segments: 40, full: true, collapsed: false},
	} {
		c := synth.NewCapture(synth.Ethernet)
		k := c.Conn(bulkClient, bulkServer, 1, 2)
		k.Handshake()
		for i := 0; i < tc.segments; i++ {
			k.Data(synth.Client, 100)
		}
		k.Close(synth.Client)
		path := filepath.Join(t.TempDir(), "run.pcap")
		if err := c.WriteFile(path); err != nil {
			t.Fatal(err)
		}
		a := analyse(t, path)
		text := ladderText(t, a.ladders(t, nil, report.LadderOptions{Full: tc.full}), false)
		summary := "… " + itoa(tc.segments) + " segments (" + itoa(tc.segments) + " →, 0 ←, "
		if got := strings.Contains(text, summary); got != tc.collapsed {
			t.Errorf("%d segments, full=%v: collapsed=%v, want %v:\n%s", tc.segments, tc.full, got, tc.collapsed, text)
		}
		arrows := strings.Count(text, "len=100")
		if want := tc.segments; !tc.collapsed && arrows != want {
			t.Errorf("%d segments, full=%v: %d data arrows, want %d", tc.segments, tc.full, arrows, want)
		}
	}
}

// TestLadderRelativeSequence checks that numbers are relative to each
// side's ISN, across the 2^32 wrap, and that a repeat of the same sequence
// number and length is called a retransmission while new data is not.
func TestLadderRelativeSequence(t *testing.T) {
	c := synth.NewCapture(synth.Ethernet)
	k := c.Conn(bulkClient, bulkServer, 0xFFFFFFF0, 0x7FFFFFFF)
	k.Handshake().Data(synth.Client, 100)
	k.Data(synth.Client, 100, synth.Seq(0xFFFFFFF1)) // the same segment again
	k.Data(synth.Client, 50, synth.Seq(0xFFFFFFF1))  // same start, other length: not the same segment
	k.Data(synth.Server, 10).ACK(synth.Client).Close(synth.Server)
	path := filepath.Join(t.TempDir(), "wrap.pcap")
	if err := c.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	a := analyse(t, path)
	// Wide enough that no label is shortened.
	text := ladderText(t, a.ladders(t, nil, report.LadderOptions{Full: true, Width: 100}), false)
	for _, want := range []string{
		"── SYN seq=0 ",
		"◀─",
		"SYN,ACK seq=0 ack=1 ──",
		"── PSH,ACK seq=1 ack=1 len=100 ─",
		"── PSH,ACK seq=1 ack=1 len=100 retransmitted ─",
		"── PSH,ACK seq=1 ack=1 len=50 ─",
		"PSH,ACK seq=1 ack=101 len=10 ──",
		"FIN,ACK seq=11 ack=101 ──",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("missing %q in:\n%s", want, text)
		}
	}
	// Arrows marked, not anomaly notes that use the word.
	if n := strings.Count(text, "retransmitted ─"); n != 1 {
		t.Errorf("%d retransmissions marked, want 1:\n%s", n, text)
	}
}

// TestLadderEscapes checks that text from the tracker cannot reach the
// terminal raw, and is HTML-escaped in the report.
func TestLadderEscapes(t *testing.T) {
	c := &tracker.Conn{ID: 1, FirstPacket: 1, LastPacket: 1}
	c.Ends[tracker.Client].Addr = bulkClient
	c.Ends[tracker.Server].Addr = bulkServer
	c.Anomalies = []tracker.Anomaly{{Kind: tracker.Reset, Severity: tracker.Warning, Packet: 1, Count: 1,
		Detail: "evil \x1b[2J<script>alert(1)</script>"}}
	l := report.NewLadder(c, report.LadderOptions{})
	l.Add(&tcp.Segment{Packet: 1, Src: bulkClient, Dst: bulkServer, Flags: tcp.RST | tcp.ACK})
	var b bytes.Buffer
	if err := l.WriteText(&b, false); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "\x1b") {
		t.Errorf("raw escape reached the terminal: %q", b.String())
	}
	if h := l.HTML(); strings.Contains(h, "<script>") || !strings.Contains(h, "&lt;script&gt;") {
		t.Errorf("detail not escaped for HTML: %s", h)
	}
}
