package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestDiagramCommand covers formats, output files and refusing to
// overwrite; the drawing itself has golden tests in package report.
func TestDiagramCommand(t *testing.T) {
	const capture = pcapRoot + "/synth/simultaneous-close.pcap"
	dir := t.TempDir()
	existing := filepath.Join(dir, "existing.svg")
	if err := os.WriteFile(existing, []byte("keep me"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		stdout string // prefix of stdout
		file   string // file that must then start with fileHas
		has    string
		stderr string
	}{
		{name: "text by default", args: []string{"diagram", capture}, stdout: "state transitions: 2 endpoints"},
		{name: "dot to stdout", args: []string{"diagram", "--format", "dot", capture}, stdout: "// TCP endpoint states"},
		{name: "svg to stdout", args: []string{"diagram", "--format", "svg", capture}, stdout: "<?xml"},
		{name: "svg from the extension", args: []string{"diagram", capture, "-o", filepath.Join(dir, "a.svg")},
			file: filepath.Join(dir, "a.svg"), has: "<?xml"},
		{name: "dot from the extension", args: []string{"diagram", capture, "-o", filepath.Join(dir, "a.gv")},
			file: filepath.Join(dir, "a.gv"), has: "// TCP endpoint states"},
		{name: "format wins over extension", args: []string{"diagram", "--format", "text", capture, "-o", filepath.Join(dir, "b.svg")},
			file: filepath.Join(dir, "b.svg"), has: "state transitions"},
		{name: "never overwrites", args: []string{"diagram", capture, "-o", existing}, code: exitUsageErr,
			file: existing, has: "keep me", stderr: "already exists"},
		{name: "unless forced", args: []string{"diagram", "--force", capture, "-o", existing},
			file: existing, has: "<?xml"},
		{name: "unknown format", args: []string{"diagram", "--format", "png", capture}, code: exitUsageErr, stderr: "unknown --format"},
		{name: "no file", args: []string{"diagram"}, code: exitUsageErr, stderr: "no capture file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stdout, stderr, code := runCLI(tc.args...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d; stderr: %s", code, tc.code, stderr)
			}
			if !strings.HasPrefix(stdout, tc.stdout) {
				t.Errorf("stdout starts %.60q, want %q", stdout, tc.stdout)
			}
			if !strings.Contains(stderr, tc.stderr) {
				t.Errorf("stderr lacks %q: %s", tc.stderr, stderr)
			}
			if tc.file != "" {
				got, err := os.ReadFile(tc.file)
				if err != nil {
					t.Fatal(err)
				}
				if !strings.HasPrefix(string(got), tc.has) {
					t.Errorf("%s starts %.40q, want %q", tc.file, got, tc.has)
				}
			}
		})
	}
	// No stray temporary files are left beside the output.
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			t.Errorf("temporary file %s left behind", e.Name())
		}
	}
}

// The pictures in the README are made by the tool from bundled captures:
// `go test ./cmd/tcptrace -run TestREADMEPictures -update` redraws them and
// rewrites the README's marked sections; without -update the test fails
// when either is stale. (The HTML report's screenshot needs Chromium and is
// made by TestReportInChromium.)
const imagesDir = "../../docs/images"

var (
	ladderPicture = []string{"ladder", "--color", "never", "testdata/pcaps/kernel/final-ack-lost-before.pcap"}
	pileupDiagram = []string{"diagram", "testdata/pcaps/kernel/close-wait-pileup.pcap", "-o", "docs/images/close-wait-pileup.svg"}
)

func TestREADMEPictures(t *testing.T) {
	// The state machine as every bundled capture exercises it.
	all := captures(t)
	args := append([]string{"diagram", "--format", "svg"}, all...)
	stdout, stderr, code := runCLI(args...)
	if code != 0 {
		t.Fatalf("diagram: exit %d: %s", code, stderr)
	}
	checkPicture(t, filepath.Join(imagesDir, "state-machine.svg"), stdout)

	// One capture's diagram, for the pictures section.
	stdout, stderr, code = runCLI("diagram", "--format", "svg", filepath.Join("../..", pileupDiagram[1]))
	if code != 0 {
		t.Fatalf("diagram: exit %d: %s", code, stderr)
	}
	checkPicture(t, filepath.Join(imagesDir, "close-wait-pileup.svg"), stdout)

	table, stderr, code := runCLI(append([]string{"diagram", "--color", "never"}, all...)...)
	if code != 0 {
		t.Fatalf("diagram: exit %d: %s", code, stderr)
	}
	ladderArgs := append([]string(nil), ladderPicture...)
	ladderArgs[len(ladderArgs)-1] = filepath.Join("../..", ladderArgs[len(ladderArgs)-1])
	ladder, stderr, code := runCLI(ladderArgs...)
	if code != 0 {
		t.Fatalf("ladder: exit %d: %s", code, stderr)
	}
	sections := map[string]string{
		"pictures:ladder": "```\n$ tcptrace " + strings.Join(ladderPicture, " ") + "\n" + ladder + "```\n",
		"pictures:diagram": "```\n$ tcptrace " + strings.Join(pileupDiagram, " ") + "\n```\n\n" +
			"![The TCP state diagram annotated with close-wait-pileup.pcap](docs/images/close-wait-pileup.svg)\n",
		"state-machine:table": "<details><summary>The transition table as text (<code>tcptrace diagram FILE...</code>, here over every bundled capture)</summary>\n\n```\n" +
			strings.ReplaceAll(table, "../../", "") + "```\n</details>\n",
	}
	raw, err := os.ReadFile(readmePath)
	if err != nil {
		t.Fatal(err)
	}
	readme := string(raw)
	for name, body := range sections {
		re := regexp.MustCompile(`(?s)(<!-- ` + regexp.QuoteMeta(name) + `:begin -->\n).*?(<!-- ` + regexp.QuoteMeta(name) + `:end -->)`)
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
		t.Errorf("README.md pictures are stale: run go test ./cmd/tcptrace -run TestREADMEPictures -update")
	}
}

// checkPicture compares a generated picture with docs/images, or writes it.
func checkPicture(t *testing.T, path, got string) {
	t.Helper()
	if *update {
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
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if string(want) != got {
		t.Errorf("%s is stale: run go test ./cmd/tcptrace -run TestREADMEPictures -update", path)
	}
}
