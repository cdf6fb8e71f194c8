package main

import (
	"bufio"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
)

// expectedProblems lists, for each real kernel capture (testdata/pcaps/kernel,
// made by make.sh in a network namespace), the anomaly kinds of severity
// warning or error that must appear — and no others may.
var expectedProblems = map[string][]string{
	"client-close":          nil,
	"server-close":          nil,
	"half-close":            nil, // half_closed is info: the capture ended before the 60 s timeout
	"close-wait-pileup":     {"close_wait_pileup"},
	"time-wait-pileup":      {"time_wait_pileup"}, // 12 client sockets in TIME_WAIT on 127.0.0.1
	"final-ack-lost-before": {"fin_retransmitted", "missing_final_ack"},
	"final-ack-lost-after":  {"fin_retransmitted", "missing_final_ack"},
	"third-ack-lost":        {"handshake_incomplete", "synack_retransmitted"},
	"refused":               {"connection_refused"},
	"syn-unanswered":        {"syn_retransmitted", "syn_unanswered"},
	"synack-lost":           {"handshake_incomplete", "syn_retransmitted", "synack_retransmitted"},
	"linger-abort":          {"reset"},
	"port-reuse":            nil, // port_reuse of a TIME_WAIT 4-tuple is info
	"ipv6":                  nil,
	"any-sll2":              nil,
	"nanosecond":            nil,
	"data-loss":             {"fast_retransmission", "retransmission"}, // exactly one, after 5 duplicate ACKs
	"zero-window":           {"retransmission", "zero_window"},         // a tail-loss probe; three zero windows
	"ack-loss":              {"retransmission"},                        // three RTO retransmissions
}

// TestKernelGroundTruth checks tcptrace against the kernel: for every
// connection of every kernel capture, the final client and server states
// must be what `ss -tan` in the namespace reported at the end of the capture
// (the .kernel file), and the anomalies of severity warning or error must be
// exactly the expected ones.
func TestKernelGroundTruth(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(pcapRoot, "kernel", "*.kernel"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no kernel ground truth files: %v", err)
	}
	for _, kf := range files {
		name := strings.TrimSuffix(filepath.Base(kf), ".kernel")
		t.Run(name, func(t *testing.T) {
			want, ok := expectedProblems[name]
			if !ok {
				t.Fatalf("no expected anomalies listed for %s in expectedProblems", name)
			}
			truth := readKernelTruth(t, kf)
			stdout, stderr, code := runCLI("read", "--format", "json", strings.TrimSuffix(kf, ".kernel")+".pcap")
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			// The kernel knows only the last connection on a 4-tuple.
			last := map[string]map[string]any{}
			problems := map[string]bool{}
			for _, o := range jsonLines(t, stdout) {
				switch o["type"] {
				case "connection":
					last[o["client"].(string)+" "+o["server"].(string)] = o
					for _, a := range o["anomalies"].([]any) {
						a := a.(map[string]any)
						if a["severity"] != "info" {
							problems[a["kind"].(string)] = true
						}
					}
				case "pileup":
					if o["severity"] != "info" {
						problems[o["kind"].(string)] = true
					}
				}
			}
			for tuple, states := range truth {
				c, ok := last[tuple]
				if !ok {
					t.Errorf("%s: the kernel had this connection, tcptrace did not report it", tuple)
					continue
				}
				if c["client_state"] != states[0] || c["server_state"] != states[1] {
					t.Errorf("%s: tcptrace says client %v server %v, the kernel said %s %s",
						tuple, c["client_state"], c["server_state"], states[0], states[1])
				}
			}
			if len(last) != len(truth) {
				t.Errorf("tcptrace reports %d 4-tuples, the kernel file lists %d", len(last), len(truth))
			}
			var got []string
			for k := range problems {
				got = append(got, k)
			}
			sort.Strings(got)
			if !slices.Equal(got, want) {
				t.Errorf("warning/error anomalies %v, want %v", got, want)
			}
		})
	}
}

// readKernelTruth parses a .kernel file: "client server client_state server_state".
func readKernelTruth(t *testing.T, path string) map[string][2]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string][2]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Fields(line)
		if len(fields) != 4 {
			t.Fatalf("%s: bad line %q", path, line)
		}
		out[fields[0]+" "+fields[1]] = [2]string{fields[2], fields[3]}
	}
	return out
}
