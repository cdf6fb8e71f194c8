package main

import (
	"strings"
	"testing"

	"github.com/tcptrace/tcptrace/tracker"
)

func TestParsePolicy(t *testing.T) {
	tests := []struct {
		name    string
		yaml    string
		wantErr string // substring of the error; "" for success
		check   func(t *testing.T, p *policy)
	}{
		{
			name: "everything",
			yaml: `# CI policy
fail_on: [half_closed, missing_final_ack, error]
max:
  reset: 0
  handshake_ms_p99: 200
  anomalous_rate: 0.01
tolerance: 10%
tolerances:
  handshake_ms_p99: 5
  connections: 50%
`,
			check: func(t *testing.T, p *policy) {
				if got := p.failOnList(); got != "half_closed,missing_final_ack,error" {
					t.Errorf("fail_on %q", got)
				}
				if len(p.limits) != 3 || p.limits[0].metric != "reset" || p.limits[1].max != 200 || p.limits[2].max != 0.01 {
					t.Errorf("limits %+v", p.limits)
				}
				if p.limits[1].origin != "p.yaml:5" {
					t.Errorf("origin %q", p.limits[1].origin)
				}
				if tol := p.toleranceFor("reset"); tol != (tolerance{0.10, true}) {
					t.Errorf("default tolerance %v", tol)
				}
				if tol := p.toleranceFor("handshake_ms_p99"); tol != (tolerance{5, false}) {
					t.Errorf("handshake tolerance %v", tol)
				}
				if tol := p.toleranceFor("connections"); tol != (tolerance{0.5, true}) {
					t.Errorf("connections tolerance %v", tol)
				}
			},
		},
		{
			name: "fail_on as one string",
			yaml: "fail_on: half_closed,warning\n",
			check: func(t *testing.T, p *policy) {
				if len(p.failOn) != 2 || p.failOn[0].kind != tracker.HalfClosed || !p.failOn[1].isSev || p.failOn[1].sev != tracker.Warning {
					t.Errorf("fail_on %+v", p.failOn)
				}
			},
		},
		{
			name: "empty file",
			yaml: "",
			check: func(t *testing.T, p *policy) {
				if !p.empty() || p.tolerance != nil {
					t.Errorf("%+v", p)
				}
			},
		},
		{
			name: "comments only",
			yaml: "# nothing yet\n",
			check: func(t *testing.T, p *policy) {
				if !p.empty() {
					t.Errorf("%+v", p)
				}
			},
		},
		{name: "unknown top-level key", yaml: "fail_on: [reset]\nmax_connections: 3\n", wantErr: `p.yaml:2: unknown key "max_connections" (the keys are fail_on, max, tolerance, tolerances)`},
		{name: "misspelt key", yaml: "failon: [reset]\n", wantErr: `p.yaml:1: unknown key "failon"`},
		{name: "unknown kind", yaml: "fail_on:\n  - reset\n  - half_open\n", wantErr: `p.yaml:3: fail_on: unknown anomaly kind or severity "half_open"`},
		{name: "unknown metric in max", yaml: "max:\n  reset: 0\n  retransmits: 3\n", wantErr: `p.yaml:3: max: unknown metric "retransmits"`},
		{name: "negative limit", yaml: "max:\n  reset: -1\n", wantErr: `p.yaml:2: max: the limit for reset must be a non-negative number, not "-1"`},
		{name: "limit not a number", yaml: "max:\n  reset: lots\n", wantErr: `p.yaml:2: max: the limit for reset must be a non-negative number`},
		{name: "max not a mapping", yaml: "max: [reset]\n", wantErr: `p.yaml:1: max must be a mapping`},
		{name: "nested value in max", yaml: "max:\n  reset:\n    count: 1\n", wantErr: `p.yaml:3: max: the value of reset must be a number`},
		{name: "bad tolerance", yaml: "tolerance: ten percent\n", wantErr: `p.yaml:1: tolerance "ten percent" is not a percentage`},
		{name: "negative tolerance", yaml: "tolerances:\n  reset: -5%\n", wantErr: `p.yaml:2: tolerance "-5%"`},
		{name: "unknown metric in tolerances", yaml: "tolerances:\n  rtt: 5\n", wantErr: `p.yaml:2: tolerances: unknown metric "rtt"`},
		{name: "duplicate key", yaml: "max:\n  reset: 0\nmax:\n  reset: 1\n", wantErr: `p.yaml:3: mapping key "max" already defined at line 1`},
		{name: "syntax error", yaml: "fail_on: [reset\n", wantErr: `p.yaml:`},
		{name: "not a mapping", yaml: "- reset\n", wantErr: `p.yaml:1: cannot unmarshal`},
		{name: "final state metric", yaml: "max:\n  final_state.CLOSE_WAIT/FIN_WAIT_2: 0\n", check: func(t *testing.T, p *policy) {
			if len(p.limits) != 1 || p.limits[0].metric != "final_state.CLOSE_WAIT/FIN_WAIT_2" {
				t.Errorf("%+v", p.limits)
			}
		}},
		{name: "bad final state", yaml: "max:\n  final_state.CLOSE_WAIT: 0\n", wantErr: `unknown metric "final_state.CLOSE_WAIT"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := parsePolicy("p.yaml", []byte(tt.yaml))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, p)
		})
	}
}

func TestParseFlags(t *testing.T) {
	for _, tt := range []struct {
		in      string
		want    tolerance
		wantErr bool
	}{
		{"10%", tolerance{0.1, true}, false}, {"0%", tolerance{0, true}, false}, {"2.5", tolerance{2.5, false}, false},
		{" 25% ", tolerance{0.25, true}, false}, {"%", tolerance{}, true}, {"-1", tolerance{}, true}, {"NaN", tolerance{}, true},
		{"Inf", tolerance{}, true}, {"", tolerance{}, true},
	} {
		got, err := parseTolerance(tt.in)
		if (err != nil) != tt.wantErr || (!tt.wantErr && got != tt.want) {
			t.Errorf("parseTolerance(%q) = %v, %v", tt.in, got, err)
		}
	}
	for _, tt := range []struct {
		in, metric string
		max        float64
		wantErr    string
	}{
		{"reset=0", "reset", 0, ""}, {" handshake_ms_p99 = 200 ", "handshake_ms_p99", 200, ""},
		{"anomalous_rate=0.01", "anomalous_rate", 0.01, ""}, {"half_closed_rate=1", "half_closed_rate", 1, ""},
		{"reset", "", 0, "is not METRIC=N"}, {"reset=x", "", 0, "non-negative number"},
		{"close_wait_pileup_rate=1", "", 0, "unknown metric"}, {"handshake_ms_p95=1", "", 0, "unknown metric"},
		{"no_such_metric=0.01", "", 0, "unknown metric"},
	} {
		l, err := parseLimit(tt.in)
		switch {
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("parseLimit(%q) error %v, want %q", tt.in, err, tt.wantErr)
		case tt.wantErr == "" && (err != nil || l.metric != tt.metric || l.max != tt.max):
			t.Errorf("parseLimit(%q) = %+v, %v", tt.in, l, err)
		}
	}
	if _, err := parseFailOn("reset,,error"); err == nil {
		t.Error("empty item accepted")
	}
	rules, err := parseFailOn("info")
	if err != nil || !rules[0].matches(tracker.Midstream, tracker.Info) {
		t.Errorf("info must match every anomaly: %v %v", rules, err)
	}
}
