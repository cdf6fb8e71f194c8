package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"

	"github.com/spf13/pflag"

	"github.com/tcptrace/tcptrace/report"
	"github.com/tcptrace/tcptrace/tracker"
)

// Gating turns a report into an exit status for CI: --fail-on lists anomaly
// kinds and severities that must not occur, --max puts limits on metrics,
// and a policy file holds the same rules. The report is printed first, in
// full; then one stderr line per limit and a last line that names what
// matched and how often. Exit 1 means a rule failed, 2 an error (which wins).

// gateFlags are the gating flags of read, live and check.
type gateFlags struct {
	fs     *pflag.FlagSet
	failOn string
	max    []string
	policy string
}

// addGateFlags declares --fail-on, --max and --policy on a command.
func addGateFlags(fs *pflag.FlagSet) *gateFlags {
	g := &gateFlags{fs: fs}
	fs.StringVar(&g.failOn, "fail-on", "", "exit 1 if any anomaly in `LIST` occurred: kinds and/or severities, e.g. half_closed,missing_final_ack or warning")
	fs.StringArrayVar(&g.max, "max", nil, "exit 1 if `METRIC=N` is exceeded, e.g. reset=0, anomalous_rate=0.01, handshake_ms_p99=200 (repeatable)")
	fs.StringVar(&g.policy, "policy", "", "gating rules from `FILE` (default: "+defaultPolicyFile+" in the working directory, if there is one)")
	return g
}

// load reads the policy file and applies the flags over it.
func (g *gateFlags) load() (*policy, error) {
	file, explicit := g.policy, g.fs.Changed("policy")
	if !explicit {
		file = defaultPolicyFile
	}
	p, err := loadPolicy(file)
	switch {
	case err == nil:
	case !explicit && errors.Is(err, fs.ErrNotExist):
		p = &policy{}
	default:
		var pe *policyError
		if errors.As(err, &pe) {
			return nil, &usageError{msg: "policy " + pe.Error(), hint: "the policy file is described in the README, section \"Use in CI\""}
		}
		return nil, &usageError{msg: "policy: " + err.Error(), hint: "check the file name given to --policy"}
	}
	if g.fs.Changed("fail-on") {
		p.failOn = nil
		if strings.TrimSpace(g.failOn) != "" {
			rules, err := parseFailOn(g.failOn)
			if err != nil {
				return nil, &usageError{msg: "--fail-on: " + err.Error(), hint: failOnHint}
			}
			p.failOn = rules
		}
		p.failOnFrom = "--fail-on"
	} else if p.failOn != nil {
		p.failOnFrom = "fail_on in " + p.source
	}
	for _, arg := range g.max {
		for _, item := range strings.Split(arg, ",") {
			l, err := parseLimit(item)
			if err != nil {
				return nil, &usageError{msg: err.Error(), hint: metricNamesHelp}
			}
			p.setLimit(l)
		}
	}
	return p, nil
}

var failOnHint = "give anomaly kinds (" + kindNames() + ") and/or severities (info, warning, error), separated by commas"

func kindNames() string {
	var names []string
	for _, k := range tracker.Kinds() {
		names = append(names, k.String())
	}
	return strings.Join(names, ", ")
}

// verdict is the outcome of a policy on one analysis.
type verdict struct {
	policy  *policy
	checked []tracker.Kind // the kinds the fail-on rules look at, in Kinds order
	matched map[tracker.Kind]*kindMatch
	limits  []limitResult
}

// kindMatch is what one kind matched: connections or pileups.
type kindMatch struct {
	conns   []*tracker.Conn
	pileups []tracker.Pileup
}

func (m *kindMatch) count() int { return len(m.conns) + len(m.pileups) }

// limitResult is one limit against its measured value. An undefined metric
// (a latency without a single complete handshake) passes: there is nothing
// that exceeds the limit.
type limitResult struct {
	limit
	value   float64
	defined bool
}

func (r limitResult) failed() bool { return r.defined && r.value > r.max }

// evaluate applies the policy to an analysis.
func evaluate(p *policy, res *result) *verdict {
	g := newGateTally(p)
	for _, c := range res.conns {
		g.add(c)
	}
	return g.verdict(res.summary)
}

// gateTally applies a policy one connection at a time: live mode, which
// hands connections over as they end, calls add for each and verdict at
// the end, and keeps only the connections that matched.
type gateTally struct {
	v       *verdict
	metrics metricTally
}

func newGateTally(p *policy) *gateTally {
	return &gateTally{v: &verdict{policy: p, matched: map[tracker.Kind]*kindMatch{}}}
}

func (g *gateTally) match(k tracker.Kind, sev tracker.Severity) bool {
	for _, r := range g.v.policy.failOn {
		if r.matches(k, sev) {
			return true
		}
	}
	return false
}

// add applies the rules to one connection; call it once per connection.
func (g *gateTally) add(c *tracker.Conn) {
	seen := map[tracker.Kind]bool{}
	for _, a := range c.Anomalies {
		if !seen[a.Kind] && g.match(a.Kind, a.Severity) {
			seen[a.Kind] = true
			g.v.at(a.Kind).conns = append(g.v.at(a.Kind).conns, c)
		}
	}
	if len(g.v.policy.limits) > 0 {
		g.metrics.add(c)
	}
}

// verdict adds the pileups and limits from the summary of the same
// connections and returns the outcome.
func (g *gateTally) verdict(s report.Summary) *verdict {
	v := g.v
	for _, pl := range s.Pileups {
		if g.match(pl.Kind, pl.Kind.Info().Severity) {
			v.at(pl.Kind).pileups = append(v.at(pl.Kind).pileups, pl)
		}
	}
	for _, k := range tracker.Kinds() {
		usual := g.match(k, k.Info().Severity)
		if _, hit := v.matched[k]; usual || hit {
			v.checked = append(v.checked, k)
		}
	}
	if len(v.policy.limits) > 0 {
		m := g.metrics.metrics(s)
		for _, l := range v.policy.limits {
			val, ok := m[l.metric]
			v.limits = append(v.limits, limitResult{limit: l, value: val, defined: ok})
		}
	}
	return v
}

func (v *verdict) at(k tracker.Kind) *kindMatch {
	m := v.matched[k]
	if m == nil {
		m = &kindMatch{}
		v.matched[k] = m
	}
	return m
}

// print writes one line per limit and the closing line, and returns the
// exit status. It prints nothing when there are no rules.
func (v *verdict) print(stderr io.Writer) int {
	if v.policy.empty() {
		return exitOK
	}
	for _, l := range v.limits {
		status := "pass"
		if l.failed() {
			status = "FAIL"
		}
		value := "undefined (" + undefinedWhy(l.metric) + ")"
		if l.defined {
			value = formatMetric(l.value)
		}
		fmt.Fprintf(stderr, "tcptrace: limit %s <= %s: %s %s\n", l.metric, formatMetric(l.max), value, status)
	}
	var failures []string
	for _, k := range tracker.Kinds() {
		if m, ok := v.matched[k]; ok {
			failures = append(failures, describeMatch(k, m))
		}
	}
	matchedPart := ""
	if len(failures) > 0 {
		matchedPart = strings.Join(failures, ", ") + " (" + v.policy.failOnFrom + " " + v.policy.failOnList() + ")"
	}
	var exceeded []string
	for _, l := range v.limits {
		if l.failed() {
			exceeded = append(exceeded, fmt.Sprintf("%s %s > %s", l.metric, formatMetric(l.value), formatMetric(l.max)))
		}
	}
	if matchedPart != "" || len(exceeded) > 0 {
		parts := []string{}
		if matchedPart != "" {
			parts = append(parts, matchedPart)
		}
		if len(exceeded) > 0 {
			parts = append(parts, "over the limit: "+strings.Join(exceeded, ", "))
		}
		fmt.Fprintf(stderr, "tcptrace: failed: %s\n", strings.Join(parts, "; "))
		return exitFailOn
	}
	var passed []string
	if len(v.policy.failOn) > 0 {
		passed = append(passed, "no anomaly matched "+v.policy.failOnFrom+" "+v.policy.failOnList())
	}
	if n := len(v.limits); n > 0 {
		passed = append(passed, fmt.Sprintf("%d limit%s met", n, plural(n)))
	}
	fmt.Fprintf(stderr, "tcptrace: passed: %s\n", strings.Join(passed, "; "))
	return exitOK
}

func describeMatch(k tracker.Kind, m *kindMatch) string {
	if len(m.pileups) > 0 && len(m.conns) == 0 {
		n := len(m.pileups)
		return fmt.Sprintf("%s on %d endpoint%s", k, n, plural(n))
	}
	n := m.count()
	return fmt.Sprintf("%s in %d connection%s", k, n, plural(n))
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// failOnList prints the fail-on rules in the --fail-on syntax.
func (p *policy) failOnList() string {
	names := make([]string, len(p.failOn))
	for i, r := range p.failOn {
		names[i] = r.String()
	}
	return strings.Join(names, ",")
}

// undefinedWhy says why a metric has no value.
func undefinedWhy(metric string) string {
	if strings.HasSuffix(metric, "_rate") {
		return "no connections"
	}
	for _, f := range latencyFamilies {
		if strings.HasPrefix(metric, f.name+"_") {
			return "no complete handshake seen"
		}
	}
	return "not measured"
}
