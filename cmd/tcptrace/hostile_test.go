package main

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// sharedPcaps holds public captures from other projects' test suites, many
// of them malformed (see its README). It sits beside the checkout.
const sharedPcaps = "../../../shared/pcaps"

// TestPublicCaptures runs `tcptrace read` end to end on every public capture:
// each must end in a report (exit 0) or a report plus one clear error line
// and a hint (exit 2) — never a panic, never a hang.
func TestPublicCaptures(t *testing.T) {
	if _, err := os.Stat(sharedPcaps); err != nil {
		t.Skipf("no public captures at %s (%v): skipping", sharedPcaps, err)
	}
	var files []string
	filepath.WalkDir(sharedPcaps, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && (strings.HasSuffix(path, ".pcap") || strings.HasSuffix(path, ".pcapng") ||
			strings.HasSuffix(path, ".cap") || strings.HasSuffix(path, ".gz")) {
			files = append(files, path)
		}
		return nil
	})
	if len(files) < 100 {
		t.Fatalf("found only %d captures under %s", len(files), sharedPcaps)
	}
	var ok, failed int
	for _, f := range files {
		for _, format := range []string{"json", "text"} {
			type res struct {
				stdout, stderr string
				code           int
			}
			done := make(chan res, 1)
			go func() {
				o, e, c := runCLI("read", "--all", "--transitions", "--format", format, f)
				done <- res{o, e, c}
			}()
			var r res
			select {
			case r = <-done:
			case <-time.After(20 * time.Second):
				t.Fatalf("%s: no result after 20 s", f)
			}
			switch r.code {
			case exitOK:
				ok++
				if r.stderr != "" {
					t.Errorf("%s: exit 0 with stderr %q", f, r.stderr)
				}
			case exitUsageErr:
				failed++
				lines := strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n")
				if len(lines) != 2 || !strings.HasPrefix(lines[0], "tcptrace: error: ") || !strings.HasPrefix(lines[1], "tcptrace: hint: ") {
					t.Errorf("%s: exit 2 must print one error line and one hint, got %q", f, r.stderr)
				}
				if !strings.Contains(lines[0], filepath.Base(f)) {
					t.Errorf("%s: the error must name the file: %q", f, lines[0])
				}
			default:
				t.Errorf("%s: exit %d, stderr %q", f, r.code, r.stderr)
			}
			if strings.ContainsAny(r.stdout+r.stderr, "\x1b\x07\x00") {
				t.Errorf("%s: raw control characters in the output", f)
			}
		}
	}
	t.Logf("%d captures: %d runs with a report, %d with report + error", len(files), ok, failed)
}
