package main

import (
	"strings"
	"testing"
)

// TestLadderCommand covers choosing connections and the errors people
// make; the drawing itself has golden tests in package report.
func TestLadderCommand(t *testing.T) {
	const (
		reuse = pcapRoot + "/synth/port-reuse-timewait.pcap"
		two   = pcapRoot + "/synth/two-linktypes.pcapng"
		clean = pcapRoot + "/synth/vlan.pcap"
		half  = pcapRoot + "/synth/half-closed-long.pcap"
		bulk  = pcapRoot + "/kernel/data-loss.pcap"
	)
	for _, tc := range []struct {
		name     string
		args     []string
		code     int
		stdout   []string // substrings expected on stdout
		stderr   []string // substrings expected on stderr
		ladders  int      // "connection #" headings
		notInOut []string
	}{
		{name: "by number", args: []string{"ladder", "--conn", "2", reuse},
			stdout: []string{"connection #2 ", "port_reuse"}, ladders: 1},
		{name: "by number with #", args: []string{"ladder", "-c", "#1", reuse}, stdout: []string{"connection #1 "}, ladders: 1},
		{name: "by tuple, reused: the first, and said", args: []string{"ladder", "--conn", "192.0.2.10:40020-198.51.100.20:80", reuse},
			stdout: []string{"connection #1 "}, stderr: []string{"1 later connection(s) reused", "#1"}, ladders: 1,
			notInOut: []string{"connection #2"}},
		{name: "by tuple in the other order", args: []string{"ladder", "--conn", "198.51.100.20:80-192.0.2.10:40020", reuse},
			stdout: []string{"connection #1 "}, ladders: 1},
		{name: "IPv6 tuple", args: []string{"ladder", "--conn", "[2001:db8:1::10]:40010-[2001:db8:2::20]:443", two},
			stdout: []string{"connection #2 ", "[2001:db8:2::20]:443"}, ladders: 1},
		{name: "two connections", args: []string{"ladder", "--conn", "1", "--conn", "2", two}, ladders: 2},
		{name: "default: anomalous only", args: []string{"ladder", half}, stdout: []string{"half_closed"}, ladders: 1},
		{name: "nothing anomalous", args: []string{"ladder", clean}, stderr: []string{"no connection has a warning"}},
		{name: "all", args: []string{"ladder", "--all", two}, ladders: 2},
		{name: "long runs collapsed", args: []string{"ladder", "--conn", "1", bulk}, ladders: 1,
			stdout: []string{" segments ("}, notInOut: []string{"\n 20 "}},
		{name: "full shows every packet", args: []string{"ladder", "--full", "--conn", "1", bulk}, ladders: 1,
			stdout: []string{"\n 20 "}, notInOut: []string{" segments ("}},
		{name: "colour on request", args: []string{"ladder", "--color", "always", half}, stdout: []string{"\x1b["}, ladders: 1},
		{name: "no colour", args: []string{"ladder", "--color", "never", half}, notInOut: []string{"\x1b["}, ladders: 1},
		{name: "unknown number", args: []string{"ladder", "--conn", "99", reuse}, code: exitUsageErr,
			stderr: []string{"no connection #99", "hint:"}},
		{name: "unknown tuple", args: []string{"ladder", "--conn", "10.0.0.1:1-10.0.0.2:2", reuse}, code: exitUsageErr,
			stderr: []string{"no connection between 10.0.0.1:1 and 10.0.0.2:2"}},
		{name: "not an ID", args: []string{"ladder", "--conn", "foo", reuse}, code: exitUsageErr,
			stderr: []string{"neither a number nor CLIENT-SERVER"}},
		{name: "bad address", args: []string{"ladder", "--conn", "10.0.0.1-10.0.0.2:80", reuse}, code: exitUsageErr,
			stderr: []string{"IP:PORT"}},
		{name: "stdin cannot be read twice", args: []string{"ladder", "-"}, code: exitUsageErr,
			stderr: []string{"cannot read standard input", "save the capture to a file"}},
		{name: "all and conn", args: []string{"ladder", "--all", "--conn", "1", reuse}, code: exitUsageErr},
		{name: "no file", args: []string{"ladder"}, code: exitUsageErr, stderr: []string{"no capture file"}},
		{name: "narrow", args: []string{"ladder", "--width", "20", reuse}, code: exitUsageErr},
		{name: "missing file", args: []string{"ladder", "nope.pcap"}, code: exitUsageErr, stderr: []string{"check the file name"}},
		{name: "help", args: []string{"ladder", "--help"}, stdout: []string{"Usage: tcptrace ladder", "--conn ID", "--full"}},
		{name: "read --ladder draws the listed connections", args: []string{"read", "--ladder", "--color", "never", half},
			stdout: []string{"connections with warnings or errors (1)", "── SYN seq=0", "end of capture"}, ladders: 1},
		{name: "read --ladder --all", args: []string{"read", "--ladder", "--all", two}, ladders: 2},
		{name: "read --ladder, nothing listed", args: []string{"read", "--ladder", clean}, ladders: 0},
		{name: "read --ladder cannot read stdin", args: []string{"read", "--ladder", "-"}, code: exitUsageErr,
			stderr: []string{"cannot read standard input"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stdout, stderr, code := runCLI(tc.args...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d; stderr: %s", code, tc.code, stderr)
			}
			for _, s := range tc.stdout {
				if !strings.Contains(stdout, s) {
					t.Errorf("stdout lacks %q:\n%s", s, stdout)
				}
			}
			for _, s := range tc.stderr {
				if !strings.Contains(stderr, s) {
					t.Errorf("stderr lacks %q:\n%s", s, stderr)
				}
			}
			for _, s := range tc.notInOut {
				if strings.Contains(stdout, s) {
					t.Errorf("stdout has %q:\n%s", s, stdout)
				}
			}
			if n := strings.Count(stdout, "connection #"); tc.ladders != n && tc.code == 0 && !strings.Contains(tc.name, "help") {
				t.Errorf("%d ladders, want %d", n, tc.ladders)
			}
		})
	}
}
