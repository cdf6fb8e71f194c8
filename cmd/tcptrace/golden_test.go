package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/pcaps")

const pcapRoot = "../../testdata/pcaps"

// captures lists every bundled capture (synth/ and kernel/).
func captures(t *testing.T) []string {
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
		t.Fatal("no captures under testdata/pcaps")
	}
	return out
}

// runCLI runs the command line in-process and returns stdout, stderr and the
// exit status.
func runCLI(args ...string) (string, string, int) {
	var stdout, stderr bytes.Buffer
	code := run(args, strings.NewReader(""), &stdout, &stderr)
	return stdout.String(), stderr.String(), code
}

func goldenName(capture, suffix string) string {
	base := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(capture, ".gz"), ".pcap"), ".pcapng")
	return base + suffix
}

// TestGolden renders every bundled capture as JSON Lines and as text (all
// connections, all transitions) and compares with the golden files beside
// it. `go test ./cmd/tcptrace -run TestGolden -update` rewrites them.
func TestGolden(t *testing.T) {
	for _, capture := range captures(t) {
		t.Run(strings.TrimPrefix(capture, pcapRoot+"/"), func(t *testing.T) {
			for _, form := range []struct {
				suffix string
				args   []string
			}{
				{".out.jsonl", []string{"read", "--format", "json", capture}},
				{".out.txt", []string{"read", "--all", "--transitions", "--color", "never", capture}},
			} {
				stdout, stderr, code := runCLI(form.args...)
				if code != 0 {
					t.Fatalf("%v: exit %d, stderr: %s", form.args, code, stderr)
				}
				got := strings.ReplaceAll(stdout, filepath.Dir(capture)+"/", "")
				golden := goldenName(capture, form.suffix)
				if *update {
					if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
						t.Fatal(err)
					}
					continue
				}
				want, err := os.ReadFile(golden)
				if err != nil {
					t.Fatalf("%v (run with -update to create it)", err)
				}
				if got != string(want) {
					t.Errorf("output of %v differs from %s (run with -update after checking the change):\n%s",
						form.args, golden, firstDiff(string(want), got))
				}
			}
		})
	}
}

// firstDiff shows the first differing line of two outputs.
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
			return "line " + itoa(i+1) + ":\n  want: " + a + "\n   got: " + b
		}
	}
	return ""
}

func itoa(i int) string {
	b, _ := json.Marshal(i)
	return string(b)
}

// jsonLines decodes JSON Lines output into generic objects.
func jsonLines(t *testing.T, out string) []map[string]any {
	t.Helper()
	var objs []map[string]any
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<26)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("invalid JSON line %q: %v", sc.Text(), err)
		}
		objs = append(objs, m)
	}
	return objs
}

// TestJSONContract checks the JSON Lines field names that other tools rely
// on, on every bundled capture: every connection line has them with the
// right types, and the summary comes last and adds up.
func TestJSONContract(t *testing.T) {
	for _, capture := range captures(t) {
		stdout, stderr, code := runCLI("read", "--format", "json", capture)
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", capture, code, stderr)
		}
		objs := jsonLines(t, stdout)
		if len(objs) == 0 || objs[len(objs)-1]["type"] != "summary" {
			t.Fatalf("%s: the last line must be the summary", capture)
		}
		conns := 0
		lastID := 0.0
		for _, o := range objs[:len(objs)-1] {
			switch o["type"] {
			case "connection":
				conns++
				for _, f := range []string{"id", "client", "server", "first_seen", "last_seen", "client_state", "server_state",
					"conn_state", "history", "midstream", "transitions", "anomalies", "packets", "bytes"} {
					if _, ok := o[f]; !ok {
						t.Errorf("%s: connection without %q: %v", capture, f, o)
					}
				}
				if id := o["id"].(float64); id <= lastID {
					t.Errorf("%s: connection ids not increasing: %v after %v", capture, id, lastID)
				} else {
					lastID = id
				}
			case "pileup":
			default:
				t.Errorf("%s: unexpected line type %v", capture, o["type"])
			}
		}
		sum := objs[len(objs)-1]
		if int(sum["connections"].(float64)) != conns {
			t.Errorf("%s: summary says %v connections, %d listed", capture, sum["connections"], conns)
		}
		skipped := 0.0
		for _, v := range sum["skipped"].(map[string]any) {
			skipped += v.(float64)
		}
		if sum["packets"].(float64) != sum["tcp_packets"].(float64)+skipped {
			t.Errorf("%s: packets %v != tcp %v + skipped %v", capture, sum["packets"], sum["tcp_packets"], skipped)
		}
	}
}
