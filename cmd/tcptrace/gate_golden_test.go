package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// gateGoldenDir holds the expected outputs of the formats for other tools,
// one folder per capture folder (synth/, kernel/).
const gateGoldenDir = "testdata/golden"

// TestGateGolden renders every bundled capture as a Zeek conn.log, CSV, a
// JUnit report (--fail-on warning) and a baseline, and compares with the
// files in testdata/golden. `go test ./cmd/tcptrace -run TestGateGolden
// -update` rewrites them.
func TestGateGolden(t *testing.T) {
	for _, capture := range captures(t) {
		rel := strings.TrimPrefix(capture, pcapRoot+"/")
		t.Run(rel, func(t *testing.T) {
			for _, form := range []struct {
				suffix string
				args   []string
			}{
				{".conn.log", []string{"read", "--format", "zeek", capture}},
				{".csv", []string{"read", "--format", "csv", capture}},
				{".junit.xml", []string{"read", "--format", "junit", "--fail-on", "warning", capture}},
				{".baseline.json", []string{"baseline", capture}},
			} {
				stdout, stderr, code := runCLI(form.args...)
				if code != exitOK && code != exitFailOn {
					t.Fatalf("%v: exit %d, stderr: %s", form.args, code, stderr)
				}
				got := strings.ReplaceAll(stdout, filepath.Dir(capture)+"/", "")
				golden := filepath.Join(gateGoldenDir, goldenName(rel, form.suffix))
				if *update {
					if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
						t.Fatal(err)
					}
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
