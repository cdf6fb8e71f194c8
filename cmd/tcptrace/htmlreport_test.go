package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestReportCommand covers the report's output file and its errors.
func TestReportCommand(t *testing.T) {
	const capture = pcapRoot + "/synth/half-closed-long.pcap"
	dir := t.TempDir()
	out := filepath.Join(dir, "r.html")
	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{name: "writes the file", args: []string{"report", capture, "-o", out}},
		{name: "never overwrites", args: []string{"report", capture, "-o", out}, code: exitUsageErr, stderr: "already exists"},
		{name: "unless forced", args: []string{"report", "--force", capture, "-o", out}},
		{name: "to stdout", args: []string{"report", capture, "-o", "-"}, stdout: "<!DOCTYPE html>"},
		{name: "needs -o", args: []string{"report", capture}, code: exitUsageErr, stderr: "no output file"},
		{name: "not stdin", args: []string{"report", "-", "-o", out}, code: exitUsageErr, stderr: "cannot read standard input"},
		{name: "negative cap", args: []string{"report", "--max-ladders", "-1", capture, "-o", out}, code: exitUsageErr},
		{name: "help", args: []string{"report", "--help"}, stdout: "Usage: tcptrace report"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stdout, stderr, code := runCLI(tc.args...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d; stderr: %s", code, tc.code, stderr)
			}
			if !strings.HasPrefix(stdout, tc.stdout) {
				t.Errorf("stdout starts %.40q, want %q", stdout, tc.stdout)
			}
			if !strings.Contains(stderr, tc.stderr) {
				t.Errorf("stderr lacks %q: %s", tc.stderr, stderr)
			}
		})
	}
	page, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(page, []byte(`<details id="conn-1"`)) || !bytes.Contains(page, []byte("half_closed")) {
		t.Error("the report lacks the half-closed connection's ladder")
	}
}

// chromium finds the browser, or skips: the test needs Debian's chromium
// package (scripts/setup.sh installs it).
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("chromium is not installed (apt-get install chromium); the HTML report is not checked in a browser")
	return ""
}

// runChromium runs headless Chromium with a fresh profile and nothing
// that reaches the network, returning stdout and the log (stderr).
func runChromium(t *testing.T, browser string, args ...string) (string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir=" + t.TempDir(), "--enable-logging=stderr", "--v=0"}
	cmd := exec.CommandContext(ctx, browser, append(base, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium: %v\n%s", err, stderr.String())
	}
	return stdout.String(), stderr.String()
}

// consoleMessages are what the page wrote to the console (Chromium logs
// them as INFO:CONSOLE lines); the report's script writes none, so any
// is an error.
func consoleMessages(log string) []string {
	var out []string
	for _, line := range strings.Split(log, "\n") {
		if strings.Contains(line, ":CONSOLE") {
			out = append(out, line)
		}
	}
	return out
}

// filterProbe exercises the anomaly filters as a person would, after the
// report's own script, and writes what it saw into the page for
// --dump-dom.
const filterProbe = `<script>
(function () {
  function rows() { return document.querySelectorAll("#anomaly-list tbody tr").length; }
  var all = rows();
  var link = document.querySelector("#anomaly-list a[href^='#conn-']");
  if (link) { link.click(); }
  document.body.setAttribute("data-opened", document.querySelectorAll("details[open]").length);
  var kind = document.getElementById("filter-kind");
  kind.value = "half_closed";
  kind.dispatchEvent(new Event("change", {bubbles: true}));
  var half = rows();
  kind.value = "";
  kind.dispatchEvent(new Event("change", {bubbles: true}));
  var text = document.getElementById("filter-text");
  text.value = "no-such-address";
  text.dispatchEvent(new Event("input", {bubbles: true}));
  var none = rows();
  document.body.setAttribute("data-probe", all + "/" + half + "/" + none + "/" + document.getElementById("anomaly-count").textContent);
})();
</script>
</body>`

// TestReportInChromium opens reports in headless Chromium: they must load
// without a console message, with every part present and the script's
// work done. With -update it also takes the README's screenshot.
func TestReportInChromium(t *testing.T) {
	browser := chromium(t)
	dir := t.TempDir()
	pileup := pcapRoot + "/kernel/close-wait-pileup.pcap"
	for _, tc := range []struct {
		name  string
		files []string
	}{
		{"close-wait-pileup", []string{pileup}},
		{"every capture", captures(t)},
		{"no anomalies", []string{pcapRoot + "/synth/vlan.pcap"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-")+".html")
			if _, stderr, code := runCLI(append(append([]string{"report"}, tc.files...), "-o", out)...); code != 0 {
				t.Fatalf("report: exit %d: %s", code, stderr)
			}
			page, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			anomalous := bytes.Contains(page, []byte(`<table id="anomaly-list">`))
			if anomalous {
				// A copy with the probe, so the report itself stays as written.
				probed := bytes.Replace(page, []byte("</body>"), []byte(filterProbe), 1)
				if err := os.WriteFile(out+".probe.html", probed, 0o644); err != nil {
					t.Fatal(err)
				}
				out += ".probe.html"
			}
			dom, log := runChromium(t, browser, "--dump-dom", "file://"+out)
			if msgs := consoleMessages(log); len(msgs) > 0 {
				t.Errorf("console messages:\n%s", strings.Join(msgs, "\n"))
			}
			for _, want := range []string{
				`data-ready="yes"`, `id="summary"`, `id="final-states"`, `id="transitions"`,
				`class="edge"`, `id="timeline-svg"`, `id="anomalies"`, `id="ladders"`,
			} {
				if !strings.Contains(dom, want) {
					t.Errorf("rendered page lacks %s", want)
				}
			}
			if !anomalous {
				return
			}
			m := regexp.MustCompile(`data-probe="(\d+)/(\d+)/(\d+)/([^"]*)"`).FindStringSubmatch(dom)
			if m == nil {
				t.Fatal("the filter probe did not run")
			}
			// The first page holds every anomaly up to the page size.
			listed := len(regexp.MustCompile(`\[\d+,"(error|warning|info)",`).FindAll(page, -1))
			if want := strconv.Itoa(min(listed, 100)); m[1] != want || m[3] != "0" || !strings.Contains(m[4], "0 of") {
				t.Errorf("filters: %s rows (want %s), %s half_closed, %s for a missing address (%q)", m[1], want, m[2], m[3], m[4])
			}
			if tc.name == "close-wait-pileup" && m[2] != m[1] {
				t.Errorf("every anomaly listed should be half_closed: %s of %s", m[2], m[1])
			}
			if !strings.Contains(dom, `data-opened="1"`) {
				t.Error("clicking a connection number did not open its ladder")
			}
		})
	}
	if *update {
		shot, err := filepath.Abs(filepath.Join(imagesDir, "report.png"))
		if err != nil {
			t.Fatal(err)
		}
		// From the repository root, so the page names the capture as the
		// README does.
		t.Chdir("../..")
		out := filepath.Join(dir, "readme.html")
		if _, stderr, code := runCLI("report", strings.TrimPrefix(pileup, "../../"), "-o", out); code != 0 {
			t.Fatalf("report: exit %d: %s", code, stderr)
		}
		runChromium(t, browser, "--hide-scrollbars", "--window-size=1280,2960", "--screenshot="+shot, "file://"+out)
		if st, err := os.Stat(shot); err != nil || st.Size() == 0 {
			t.Fatalf("no screenshot: %v", err)
		}
	}
}
