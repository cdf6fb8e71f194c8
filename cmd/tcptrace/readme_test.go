package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/tcptrace/tcptrace/tracker"
)

// The README's examples and anomaly glossary are generated from the code and
// the bundled captures, so they cannot drift: `go test ./cmd/tcptrace -run
// TestREADME -update` rewrites the marked sections; without -update the test
// fails when they are stale.
const readmePath = "../../README.md"

var (
	textExample = []string{"read", "--transitions", "--color", "never", "testdata/pcaps/synth/half-closed-long.pcap"}
	jsonExample = []string{"read", "--format", "json", "testdata/pcaps/synth/syn-retransmit.pcap"}
	connExample = []string{"read", "--color", "never", "--conn", "1", "testdata/pcaps/kernel/data-loss.pcap"}
)

func TestREADME(t *testing.T) {
	raw, err := os.ReadFile(readmePath)
	if err != nil {
		t.Fatal(err)
	}
	readme := string(raw)
	sections := map[string]string{
		"example:text": "```\n$ tcptrace " + strings.Join(textExample, " ") + "\n" + cliFromRoot(t, textExample) + "```\n",
		"example:json": "```\n$ tcptrace " + strings.Join(jsonExample, " ") + "\n" + cliFromRoot(t, jsonExample) + "```\n",
		"anomalies":    anomalyGlossary(t),
		"example:conn": "```\n$ tcptrace " + strings.Join(connExample, " ") + "\n" + cliFromRoot(t, connExample) + "```\n",
	}
	for name, body := range sections {
		re := regexp.MustCompile(`(?s)(<!-- ` + name + `:begin -->\n).*?(<!-- ` + name + `:end -->)`)
		if !re.MatchString(readme) {
			t.Fatalf("README.md has no %s markers", name)
		}
		readme = re.ReplaceAllLiteralString(readme, "<!-- "+name+":begin -->\n"+body+"<!-- "+name+":end -->")
	}
	if *update {
		if err := os.WriteFile(readmePath, []byte(readme), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if readme != string(raw) {
		t.Errorf("README.md is stale: run go test ./cmd/tcptrace -run TestREADME -update")
	}
}

// cliFromRoot runs the CLI as if from the repository root.
func cliFromRoot(t *testing.T, args []string) string {
	t.Helper()
	a := append([]string(nil), args...)
	last := len(a) - 1
	a[last] = filepath.Join("../..", a[last])
	stdout, stderr, code := runCLI(a...)
	if code != 0 {
		t.Fatalf("%v: exit %d: %s", a, code, stderr)
	}
	return strings.ReplaceAll(stdout, "../../", "")
}

// anomalyGlossary builds the README table: each kind's definition and a
// real example found in the bundled captures' JSON output.
func anomalyGlossary(t *testing.T) string {
	t.Helper()
	examples := map[string]string{}
	// The sequence analysis' own real captures (random loss through a router
	// namespace, reassembly/testdata/make-lossy.sh) show the rarer kinds.
	lossy, _ := filepath.Glob("../../reassembly/testdata/*.pcap")
	for _, capture := range append(captures(t), lossy...) {
		stdout, _, code := runCLI("read", "--format", "json", capture)
		if code != 0 {
			continue
		}
		name := strings.TrimPrefix(strings.TrimPrefix(capture, pcapRoot+"/"), "../../")
		for _, o := range jsonLines(t, stdout) {
			switch o["type"] {
			case "connection":
				for _, a := range o["anomalies"].([]any) {
					m := a.(map[string]any)
					k := m["kind"].(string)
					if _, ok := examples[k]; !ok {
						examples[k] = fmt.Sprintf("`%s`: %s", name, m["detail"])
					}
				}
			case "pileup":
				k := o["kind"].(string)
				if _, ok := examples[k]; !ok {
					examples[k] = fmt.Sprintf("`%s`: %v connections at once on %v", name, o["peak"], o["endpoint"])
				}
			}
		}
	}
	var b strings.Builder
	b.WriteString("| kind | severity | meaning | example |\n|---|---|---|---|\n")
	for _, k := range tracker.Kinds() {
		info := k.Info()
		ex, ok := examples[info.Name]
		if !ok {
			ex = "(no bundled capture shows it yet)"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", info.Name, info.Severity, info.Definition, strings.ReplaceAll(ex, "|", "\\|"))
	}
	return b.String()
}
