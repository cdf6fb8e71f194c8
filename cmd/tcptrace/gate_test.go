package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tcptrace/tcptrace/report"
	"github.com/tcptrace/tcptrace/tracker"
)

func synthCapture(name string) string { return filepath.Join(pcapRoot, "synth", name) }

// lastLine is the last line of a command's stderr.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return lines[len(lines)-1]
}

// TestGateExitStatus runs the gating command lines and checks the exact
// exit status and the last stderr line of each.
func TestGateExitStatus(t *testing.T) {
	dir := t.TempDir()
	writeFile := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	policy := writeFile("policy.yaml", "fail_on: [half_closed]\nmax:\n  anomalous: 5\n")
	badPolicy := writeFile("bad.yaml", "fail_on: [half_closed]\nmax_anomalies: 3\n")
	half, clean, mid := synthCapture("half-closed-long.pcap"), synthCapture("vlan.pcap"), synthCapture("midstream.pcap")
	tests := []struct {
		name string
		args []string
		code int
		last string // the last stderr line; "" for none
	}{
		{"no rules", []string{"read", half}, exitOK, ""},
		{"kind matched", []string{"read", "--fail-on", "half_closed,missing_final_ack", half}, exitFailOn,
			"tcptrace: failed: half_closed in 1 connection (--fail-on half_closed,missing_final_ack)"},
		{"severity matched", []string{"read", "--fail-on", "warning", half}, exitFailOn,
			"tcptrace: failed: half_closed in 1 connection (--fail-on warning)"},
		{"severity not reached", []string{"read", "--fail-on", "error", half}, exitOK,
			"tcptrace: passed: no anomaly matched --fail-on error"},
		{"named kind matches below its usual severity", []string{"read", "--fail-on", "midstream", mid}, exitFailOn,
			"tcptrace: failed: midstream in 1 connection (--fail-on midstream)"},
		{"info severity matches everything", []string{"read", "--fail-on", "info", mid}, exitFailOn,
			"tcptrace: failed: midstream in 1 connection (--fail-on info)"},
		{"clean capture", []string{"read", "--fail-on", "warning", clean}, exitOK,
			"tcptrace: passed: no anomaly matched --fail-on warning"},
		{"limit exceeded", []string{"read", "--max", "half_closed=0", half}, exitFailOn,
			"tcptrace: failed: over the limit: half_closed 1 > 0"},
		{"limits met", []string{"read", "--max", "half_closed=1,reset=0", "--max", "handshake_ms_p99=200", half}, exitOK,
			"tcptrace: passed: 3 limits met"},
		{"undefined latency passes", []string{"read", "--max", "handshake_ms_p99=1", mid}, exitOK, "tcptrace: passed: 1 limit met"},
		{"both", []string{"read", "--fail-on", "warning", "--max", "anomalous_rate=0.5", half}, exitFailOn,
			"tcptrace: failed: half_closed in 1 connection (--fail-on warning); over the limit: anomalous_rate 1 > 0.5"},
		{"policy file", []string{"read", "--policy", policy, half}, exitFailOn,
			"tcptrace: failed: half_closed in 1 connection (fail_on in " + policy + " half_closed)"},
		{"flags replace the policy's fail_on", []string{"read", "--policy", policy, "--fail-on", "error", half}, exitOK,
			"tcptrace: passed: no anomaly matched --fail-on error; 1 limit met"},
		{"empty --fail-on turns the policy's off", []string{"read", "--policy", policy, "--fail-on", "", half}, exitOK,
			"tcptrace: passed: 1 limit met"},
		{"--max replaces the policy's limit", []string{"read", "--policy", policy, "--fail-on", "", "--max", "anomalous=0", half}, exitFailOn,
			"tcptrace: failed: over the limit: anomalous 1 > 0"},
		{"policy with an unknown key", []string{"read", "--policy", badPolicy, half}, exitUsageErr,
			`tcptrace: hint: the policy file is described in the README, section "Use in CI"`},
		{"missing policy", []string{"read", "--policy", filepath.Join(dir, "nope.yaml"), half}, exitUsageErr,
			"tcptrace: hint: check the file name given to --policy"},
		{"unknown kind", []string{"read", "--fail-on", "half_open", half}, exitUsageErr, "tcptrace: hint: " + failOnHint},
		{"unknown metric", []string{"read", "--max", "retransmits=1", half}, exitUsageErr, "tcptrace: hint: " + metricNamesHelp},
		{"junit without rules", []string{"read", "--format", "junit", half}, exitUsageErr,
			"tcptrace: hint: add --fail-on (e.g. --fail-on warning), --max, or a policy file (.tcptrace.yaml or --policy FILE)"},
		{"junit with rules", []string{"read", "--format", "junit", "--fail-on", "warning", half}, exitFailOn,
			"tcptrace: failed: half_closed in 1 connection (--fail-on warning)"},
		{"input error wins", []string{"read", "--fail-on", "warning", filepath.Join(dir, "missing.pcap")}, exitUsageErr,
			"tcptrace: hint: check the file name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stdout, stderr, code := runCLI(tt.args...)
			if code != tt.code {
				t.Fatalf("%v: exit %d, want %d; stderr:\n%s", tt.args, code, tt.code, stderr)
			}
			got := ""
			if stderr != "" {
				got = lastLine(stderr)
			}
			if got != tt.last {
				t.Errorf("%v: last stderr line\n  %q\nwant\n  %q", tt.args, got, tt.last)
			}
			if tt.code != exitUsageErr && !strings.Contains(tt.name, "error") && stdout == "" {
				t.Errorf("%v: no report on stdout", tt.args)
			}
		})
	}
}

// TestGateLimitLines checks the per-limit pass/fail lines.
func TestGateLimitLines(t *testing.T) {
	_, stderr, _ := runCLI("read", "--max", "half_closed=0", "--max", "reset=0", "--max", "handshake_ms_p99=1",
		synthCapture("half-closed-long.pcap"), synthCapture("midstream.pcap"))
	want := "tcptrace: limit half_closed <= 0: 1 FAIL\n" +
		"tcptrace: limit reset <= 0: 0 pass\n" +
		"tcptrace: limit handshake_ms_p99 <= 1: 2 FAIL\n" +
		"tcptrace: failed: over the limit: half_closed 1 > 0, handshake_ms_p99 2 > 1\n"
	if stderr != want {
		t.Errorf("stderr:\n%s\nwant:\n%s", stderr, want)
	}
}

// TestDefaultPolicyFile: .tcptrace.yaml in the working directory is read
// without flags.
func TestDefaultPolicyFile(t *testing.T) {
	capture, err := filepath.Abs(synthCapture("half-closed-long.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	t.Chdir(t.TempDir())
	if _, stderr, code := runCLI("read", capture); code != exitOK || stderr != "" {
		t.Fatalf("without a policy file: exit %d, %s", code, stderr)
	}
	if err := os.WriteFile(defaultPolicyFile, []byte("fail_on: warning\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, stderr, code := runCLI("read", capture)
	if code != exitFailOn || lastLine(stderr) != "tcptrace: failed: half_closed in 1 connection (fail_on in .tcptrace.yaml warning)" {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
	if err := os.WriteFile(defaultPolicyFile, []byte("fail_on: warning\nfailon: error\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, stderr, code = runCLI("read", capture)
	if code != exitUsageErr || !strings.Contains(stderr, `tcptrace: error: policy .tcptrace.yaml:2: unknown key "failon"`) {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
}

func TestMetrics(t *testing.T) {
	tests := []struct {
		capture string
		want    map[string]float64
		absent  []string
	}{
		{"syn-retransmit.pcap", map[string]float64{
			// SYN at 0 s, retransmitted at 1 s and 3 s, SYN-ACK at 3.001 s, ACK at 3.002 s.
			"connections": 1, "syn_retransmitted": 1, "syn_retransmitted_rate": 1, "anomalous": 1, "anomalous_rate": 1,
			"handshake_ms_p50": 3002, "handshake_ms_max": 3002, "synack_ms_p99": 3001, "ack_ms_p50": 1,
			"final_state.TIME_WAIT/CLOSED": 1, "half_closed": 0, "half_closed_rate": 0,
		}, nil},
		{"midstream.pcap", map[string]float64{"connections": 1, "midstream": 1, "anomalous": 0, "final_state.TIME_WAIT/CLOSED": 1},
			[]string{"handshake_ms_p50", "synack_ms_max", "ack_ms_p99"}},
		{"half-closed-long.pcap", map[string]float64{"half_closed": 1, "final_state.FIN_WAIT_2/CLOSE_WAIT": 1, "handshake_ms_p99": 2}, nil},
		{"handshake-ack-mismatch.pcap", map[string]float64{"connections": 2, "handshake_ack_mismatch": 2,
			// Port 40004: SYN at 0, SYN-ACK at 1 ms; its third ACK is wrong, so no ACK time.
			"synack_ms_max": 1}, []string{"handshake_ms_p50", "ack_ms_p50"}},
	}
	for _, tt := range tests {
		res, err := analyse([]string{synthCapture(tt.capture)}, readOptions{tracker: tracker.DefaultConfig()})
		if err != nil {
			t.Fatal(err)
		}
		m := computeMetrics(res)
		for name, want := range tt.want {
			if got, ok := m[name]; !ok || got != want {
				t.Errorf("%s: %s = %v (defined %v), want %v", tt.capture, name, got, ok, want)
			}
		}
		for _, name := range tt.absent {
			if v, ok := m[name]; ok {
				t.Errorf("%s: %s = %v, want undefined", tt.capture, name, v)
			}
		}
		for name := range m {
			if _, ok := lookupMetric(name); !ok {
				t.Errorf("%s: computed metric %q is not a known metric name", tt.capture, name)
			}
		}
	}
}

func TestNearestRank(t *testing.T) {
	vals := []int64{10, 20, 30, 40, 50, 60, 70, 80, 90, 100}
	for _, tt := range []struct {
		p    float64
		want int64
	}{{50, 50}, {90, 90}, {99, 100}, {100, 100}, {1, 10}, {10, 10}, {11, 20}} {
		if got := report.NearestRank(vals, tt.p); got != tt.want {
			t.Errorf("p%v = %d, want %d", tt.p, got, tt.want)
		}
	}
	if got := report.NearestRank([]int64{7}, 99); got != 7 {
		t.Errorf("one value: %d", got)
	}
}

func TestJudge(t *testing.T) {
	rel := func(pct float64) tolerance { return tolerance{pct / 100, true} }
	abs := func(v float64) tolerance { return tolerance{v, false} }
	lower, neutral := metricInfo{unit: "connections"}, metricInfo{unit: "connections", neutral: true}
	for _, tt := range []struct {
		base, now       float64
		hasBase, hasNow bool
		tol             tolerance
		info            metricInfo
		want            string
	}{
		{10, 10, true, true, rel(10), lower, verdictSame},
		{10, 11, true, true, rel(10), lower, verdictOK},
		{10, 11.0001, true, true, rel(10), lower, verdictRegression},
		{10, 9, true, true, rel(10), lower, verdictOK},
		{10, 8, true, true, rel(10), lower, verdictImproved},
		{0, 1, true, true, rel(10), lower, verdictRegression}, // a relative tolerance of zero allows no growth
		{0, 1, true, true, abs(1), lower, verdictOK},
		{0, 2, true, true, abs(1), lower, verdictRegression},
		{10, 20, true, true, rel(10), neutral, verdictChanged},
		{10, 0, true, true, rel(10), neutral, verdictChanged},
		{0.3, 0.33, true, true, rel(10), lower, verdictOK}, // float noise at the edge
		{1, 0, true, false, rel(10), lower, verdictGone},
		{0, 1, false, true, rel(10), lower, verdictNew},
	} {
		r := diffRow{base: tt.base, now: tt.now, hasBase: tt.hasBase, hasNow: tt.hasNow, tolerance: tt.tol}
		if got := judge(r, tt.info); got != tt.want {
			t.Errorf("judge(%v → %v, %v, neutral %v) = %s, want %s", tt.base, tt.now, tt.tol, tt.info.neutral, got, tt.want)
		}
	}
}

// TestCheck: a baseline of a clean capture, checked against the same
// capture, passes; against a worse one, it fails with the diff.
func TestCheck(t *testing.T) {
	dir := t.TempDir()
	clean, worse := synthCapture("vlan.pcap"), synthCapture("half-closed-long.pcap")
	out, stderr, code := runCLI("baseline", clean)
	if code != exitOK || stderr != "" {
		t.Fatalf("baseline: exit %d: %s", code, stderr)
	}
	var b baselineFile
	if err := json.Unmarshal([]byte(out), &b); err != nil || b.Version != 1 || b.Metrics["connections"] != 1 {
		t.Fatalf("baseline %v: %s", err, out)
	}
	again, _, _ := runCLI("baseline", clean)
	if again != out {
		t.Error("baseline is not deterministic")
	}
	file := filepath.Join(dir, "baseline.json")
	if err := os.WriteFile(file, []byte(out), 0o644); err != nil {
		t.Fatal(err)
	}

	stdout, stderr, code := runCLI("check", "--baseline", file, clean)
	if code != exitOK || stdout != "all 74 metrics are the same as in the baseline\n" ||
		stderr != "tcptrace: no regression against "+file+"\n" {
		t.Errorf("same capture: exit %d\n%s%s", code, stdout, stderr)
	}

	stdout, stderr, code = runCLI("check", "--baseline", file, worse)
	wantTable := "" +
		"METRIC                             BASELINE  NOW        CHANGE  TOLERANCE  VERDICT\n" +
		"anomalous                                 0    1            +1        10%  REGRESSION\n" +
		"anomalous_rate                            0    1            +1        10%  REGRESSION\n" +
		"final_state.FIN_WAIT_2/CLOSE_WAIT         0    1            +1        10%  changed\n" +
		"final_state.TIME_WAIT/CLOSED              1    0  -1 (-100.0%)        10%  changed\n" +
		"half_closed                               0    1            +1        10%  REGRESSION\n" +
		"half_closed_rate                          0    1            +1        10%  REGRESSION\n" +
		"keep_alive                                0    1            +1        10%  REGRESSION\n" +
		"keep_alive_rate                           0    1            +1        10%  REGRESSION\n" +
		"67 more metrics are the same (--all lists them)\n"
	if code != exitFailOn || stdout != wantTable {
		t.Errorf("worse capture: exit %d\n%s\nwant\n%s", code, stdout, wantTable)
	}
	if want := "tcptrace: regression against " + file + ": anomalous 0 → 1, anomalous_rate 0 → 1, half_closed 0 → 1, half_closed_rate 0 → 1, keep_alive 0 → 1, keep_alive_rate 0 → 1"; lastLine(stderr) != want {
		t.Errorf("last line %q, want %q", lastLine(stderr), want)
	}

	// A tolerance that allows one more: the counts pass, the rates (0 → 1
	// against an absolute 1) too.
	_, _, code = runCLI("check", "--baseline", file, "--tolerance", "1", worse)
	if code != exitOK {
		t.Errorf("--tolerance 1: exit %d", code)
	}
	// Per-metric tolerance from a policy file.
	pol := filepath.Join(dir, "p.yaml")
	os.WriteFile(pol, []byte("tolerances:\n  half_closed: 1\n  half_closed_rate: 1\n  anomalous: 1\n  keep_alive: 1\n  keep_alive_rate: 1\n"), 0o644)
	_, stderr, code = runCLI("check", "--baseline", file, "--policy", pol, worse)
	if code != exitFailOn || lastLine(stderr) != "tcptrace: regression against "+file+": anomalous_rate 0 → 1" {
		t.Errorf("policy tolerances: exit %d, %q", code, lastLine(stderr))
	}
	// Gating rules apply in check too.
	_, stderr, code = runCLI("check", "--baseline", file, "--fail-on", "warning", clean)
	if code != exitOK || !strings.Contains(stderr, "passed: no anomaly matched --fail-on warning") {
		t.Errorf("check with --fail-on: exit %d, %s", code, stderr)
	}

	// Errors: exit 2.
	garbage := filepath.Join(dir, "garbage.json")
	os.WriteFile(garbage, []byte(`{"tcptrace_baseline": 1, "metrics": {"rtt": 1}}`), 0o644)
	wrongVersion := filepath.Join(dir, "v2.json")
	os.WriteFile(wrongVersion, []byte(`{"tcptrace_baseline": 2}`), 0o644)
	notJSON := filepath.Join(dir, "not.json")
	os.WriteFile(notJSON, []byte("metrics:\n"), 0o644)
	for _, tt := range []struct {
		args []string
		msg  string
	}{
		{[]string{"check", clean}, "tcptrace: error: no --baseline given"},
		{[]string{"check", "--baseline", file}, "tcptrace: error: no capture file given"},
		{[]string{"check", "--baseline", filepath.Join(dir, "none.json"), clean}, "no such file or directory"},
		{[]string{"check", "--baseline", garbage, clean}, `unknown metric "rtt"`},
		{[]string{"check", "--baseline", wrongVersion, clean}, "not a tcptrace baseline of version 1"},
		{[]string{"check", "--baseline", notJSON, clean}, "invalid JSON at byte offset"},
		{[]string{"check", "--baseline", file, "--tolerance", "lots", clean}, "--tolerance: tolerance \"lots\""},
		{[]string{"check", "--baseline", file, filepath.Join(dir, "none.pcap")}, "no such file or directory"},
		{[]string{"baseline"}, "tcptrace: error: no capture file given"},
		{[]string{"baseline", filepath.Join(dir, "none.pcap")}, "no such file or directory"},
	} {
		_, stderr, code := runCLI(tt.args...)
		if code != exitUsageErr || !strings.Contains(stderr, tt.msg) {
			t.Errorf("%v: exit %d, stderr %q, want 2 and %q", tt.args, code, stderr, tt.msg)
		}
	}
}
