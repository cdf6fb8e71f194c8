package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/tcptrace/tcptrace/tracker"
)

// Baselines: `tcptrace baseline` writes the metrics of a capture as a small
// JSON file meant to be committed; `tcptrace check --baseline` measures a new
// capture the same way and compares, metric by metric, with a tolerance.
// Connections are compared in aggregate, never by identity: ports and ISNs
// change from run to run.

const baselineUsage = `Usage: tcptrace baseline [flags] FILE... > baseline.json

Writes the metrics of the captures as JSON for 'tcptrace check --baseline':
connection counts by final state pair, anomaly counts and rates, handshake
latency percentiles. The output is deterministic (sorted keys, fixed
rounding), so it diffs well under version control.

Flags:
`

const checkUsage = `Usage: tcptrace check --baseline baseline.json [flags] FILE...

Measures the captures as 'tcptrace baseline' does, with the baseline's
analysis settings, and prints a table of the metrics that changed: metric,
baseline, now, change and verdict. A metric where lower is better (anomaly
counts and rates, latencies) regresses when it grew by more than its
tolerance; connection counts and final state pairs describe the traffic and
are reported, never failed. The rules of --fail-on, --max and the policy
file apply too.

Exit status: 0 no regression and no rule failed, 1 otherwise, 2 on errors.

Examples:
    tcptrace baseline release.pcap > baseline.json
    tcptrace check --baseline baseline.json ci.pcap
    tcptrace check --baseline baseline.json --tolerance 25% --fail-on error ci.pcap

Flags:
`

func init() {
	register(command{name: "baseline", args: "[flags] FILE... > baseline.json", order: 30, run: cmdBaseline,
		summary: "record a capture's metrics for check"})
	register(command{name: "check", args: "--baseline FILE [flags] FILE...", order: 31, run: cmdCheck,
		summary: "compare captures with a baseline; exit 1 on regression"})
}

// baselineVersion is the file format's version; check refuses others.
const baselineVersion = 1

// baselineFile is the JSON layout of a baseline.
type baselineFile struct {
	Version  int              `json:"tcptrace_baseline"`
	Files    []string         `json:"files"`
	Settings baselineSettings `json:"settings"`
	Metrics  metricSet        `json:"metrics"`
}

// baselineSettings are the analysis settings the metrics depend on; check
// reuses them so that both sides are measured alike.
type baselineSettings struct {
	Filter           string `json:"filter"`
	MSL              string `json:"msl"`
	HalfCloseTimeout string `json:"half_close_timeout"`
	IdleTimeout      string `json:"idle_timeout"`
	Pileup           int    `json:"pileup"`
}

func settingsOf(o readOptions) baselineSettings {
	return baselineSettings{Filter: o.filter, MSL: o.tracker.MSL.String(),
		HalfCloseTimeout: o.tracker.HalfCloseTimeout.String(), IdleTimeout: o.tracker.IdleTimeout.String(), Pileup: o.tracker.Pileup}
}

// apply sets the analysis options from the baseline's settings.
func (s baselineSettings) apply(o *readOptions) error {
	msl, err := time.ParseDuration(s.MSL)
	if err != nil || msl <= 0 {
		return fmt.Errorf("settings.msl %q is not a positive duration", s.MSL)
	}
	hct, err := time.ParseDuration(s.HalfCloseTimeout)
	if err != nil || hct <= 0 {
		return fmt.Errorf("settings.half_close_timeout %q is not a positive duration", s.HalfCloseTimeout)
	}
	idle, err := time.ParseDuration(s.IdleTimeout)
	if err != nil || idle <= 0 {
		return fmt.Errorf("settings.idle_timeout %q is not a positive duration", s.IdleTimeout)
	}
	if s.Pileup < 1 {
		return fmt.Errorf("settings.pileup %d must be at least 1", s.Pileup)
	}
	o.filter, o.tracker.Pileup = s.Filter, s.Pileup
	o.tracker.MSL, o.tracker.HalfCloseTimeout, o.tracker.IdleTimeout = msl, hct, idle
	return nil
}

func cmdBaseline(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	o := readOptions{tracker: tracker.DefaultConfig()}
	fs := pflag.NewFlagSet("baseline", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	addAnalysisFlags(fs, &o) // check applies the same settings, from the baseline
	help := fs.BoolP("help", "h", false, "show this help")
	if err := fs.Parse(args); err != nil {
		return failUsage(stderr, err, "baseline")
	}
	if *help {
		fmt.Fprint(stdout, baselineUsage+flagUsages(fs))
		return exitOK
	}
	o.format = "json" // only for readOptions.check, which knows nothing of baselines
	if err := o.check(fs.Args()); err != nil {
		return failUsage(stderr, err, "baseline")
	}
	res, err := analyse(fs.Args(), o)
	if err != nil {
		// A baseline from a damaged capture would be a wrong reference.
		return fail(stderr, err, hintFor(err))
	}
	b := baselineFile{Version: baselineVersion, Files: fs.Args(), Settings: settingsOf(o), Metrics: computeMetrics(res)}
	out, err := json.MarshalIndent(b, "", "  ")
	if err != nil {
		return fail(stderr, err, "")
	}
	if _, err := stdout.Write(append(out, '\n')); err != nil {
		return fail(stderr, fmt.Errorf("writing the baseline: %w", err), "")
	}
	return exitOK
}

// readBaseline loads and validates a baseline file.
func readBaseline(file string) (*baselineFile, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var b baselineFile
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&b); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return nil, fmt.Errorf("%s: not a baseline: invalid JSON at byte offset %d: %v", file, se.Offset, err)
		}
		return nil, fmt.Errorf("%s: not a baseline: %v", file, err)
	}
	if b.Version != baselineVersion {
		return nil, fmt.Errorf("%s: not a tcptrace baseline of version %d (tcptrace_baseline is %d)", file, baselineVersion, b.Version)
	}
	names := make([]string, 0, len(b.Metrics))
	for name := range b.Metrics {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if _, ok := lookupMetric(name); !ok {
			return nil, fmt.Errorf("%s: unknown metric %q", file, Escape(name))
		}
	}
	return &b, nil
}

func cmdCheck(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	var (
		o            = readOptions{tracker: tracker.DefaultConfig()}
		baselinePath string
		tol          string
		all          bool
	)
	fs := pflag.NewFlagSet("check", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&baselinePath, "baseline", "", "the baseline `FILE` written by 'tcptrace baseline' (required)")
	fs.StringVar(&tol, "tolerance", "", "how far a metric may grow before it regresses: `T` = a percentage of the baseline (10%) or an absolute amount (2); default 10% or the policy's")
	fs.BoolVarP(&all, "all", "a", false, "list every metric, not only those that changed")
	gate := addGateFlags(fs)
	help := fs.BoolP("help", "h", false, "show this help")
	if err := fs.Parse(args); err != nil {
		return failUsage(stderr, err, "check")
	}
	if *help {
		fmt.Fprint(stdout, checkUsage+flagUsages(fs))
		return exitOK
	}
	if baselinePath == "" {
		return failUsage(stderr, &usageError{msg: "no --baseline given", hint: "tcptrace baseline old.pcap > baseline.json; tcptrace check --baseline baseline.json new.pcap"}, "check")
	}
	rules, err := gate.load()
	if err != nil {
		return failUsage(stderr, err, "check")
	}
	if fs.Changed("tolerance") {
		t, err := parseTolerance(tol)
		if err != nil {
			return failUsage(stderr, &usageError{msg: "--tolerance: " + err.Error(), hint: "for example --tolerance 10% or --tolerance 2"}, "check")
		}
		rules.tolerance = &t
	}
	if len(fs.Args()) == 0 {
		return failUsage(stderr, &usageError{msg: "no capture file given", hint: "tcptrace check --baseline baseline.json FILE.pcap"}, "check")
	}
	base, err := readBaseline(baselinePath)
	if err != nil {
		return fail(stderr, err, "write one with: tcptrace baseline FILE... > "+Escape(baselinePath))
	}
	if err := base.Settings.apply(&o); err != nil {
		return fail(stderr, fmt.Errorf("%s: %w", baselinePath, err), "write the baseline again with tcptrace baseline")
	}
	o.format = "json" // only for readOptions.check, which knows nothing of baselines
	if err := o.check(fs.Args()); err != nil {
		return failUsage(stderr, err, "check")
	}
	res, readErr := analyse(fs.Args(), o)
	if res == nil {
		return fail(stderr, readErr, hintFor(readErr))
	}
	rows := compareMetrics(base.Metrics, computeMetrics(res), rules)
	if err := printDiffTable(stdout, rows, all); err != nil && !errors.Is(err, errBrokenPipe) {
		return fail(stderr, fmt.Errorf("writing the report: %w", err), "")
	}
	status := evaluate(rules, res).print(stderr)
	if readErr != nil {
		return fail(stderr, readErr, hintFor(readErr)+" (the comparison above covers the packets before the damage)")
	}
	var regressed []string
	for _, r := range rows {
		if r.verdict == verdictRegression {
			regressed = append(regressed, fmt.Sprintf("%s %s → %s", r.metric, r.baseText(), r.nowText()))
		}
	}
	if len(regressed) > 0 {
		fmt.Fprintf(stderr, "tcptrace: regression against %s: %s\n", Escape(baselinePath), strings.Join(regressed, ", "))
		return exitFailOn
	}
	fmt.Fprintf(stderr, "tcptrace: no regression against %s\n", Escape(baselinePath))
	return status
}

// Verdicts of one metric.
const (
	verdictSame       = "same"       // equal
	verdictOK         = "ok"         // moved within the tolerance
	verdictRegression = "REGRESSION" // a lower-is-better metric grew beyond the tolerance
	verdictImproved   = "improved"   // a lower-is-better metric fell beyond the tolerance
	verdictChanged    = "changed"    // a neutral metric moved beyond the tolerance
	verdictNew        = "new"        // defined now, undefined in the baseline
	verdictGone       = "gone"       // defined in the baseline, undefined now
)

// diffRow is one metric of the comparison.
type diffRow struct {
	metric          string
	base, now       float64
	hasBase, hasNow bool
	tolerance       tolerance
	verdict         string
}

func (r diffRow) baseText() string { return valueText(r.base, r.hasBase) }
func (r diffRow) nowText() string  { return valueText(r.now, r.hasNow) }

func valueText(v float64, ok bool) string {
	if !ok {
		return "-"
	}
	return formatMetric(v)
}

// changeText is the difference, and its percentage of a non-zero baseline.
func (r diffRow) changeText() string {
	if !r.hasBase || !r.hasNow {
		return "-"
	}
	d := roundTo(r.now-r.base, 6)
	if d == 0 {
		return "0"
	}
	s := formatMetric(d)
	if d > 0 {
		s = "+" + s
	}
	if r.base != 0 {
		s += fmt.Sprintf(" (%+.1f%%)", d/math.Abs(r.base)*100)
	}
	return s
}

// compareMetrics compares every metric defined on either side. Counts are
// zero where not recorded (a final state pair nobody ended in); other
// metrics are undefined there and get the verdict new or gone, which pass.
func compareMetrics(base, now metricSet, p *policy) []diffRow {
	names := map[string]bool{}
	for n := range base {
		names[n] = true
	}
	for n := range now {
		names[n] = true
	}
	var rows []diffRow
	for name := range names {
		info, _ := lookupMetric(name)
		r := diffRow{metric: name, tolerance: p.toleranceFor(name)}
		r.base, r.hasBase = base[name]
		r.now, r.hasNow = now[name]
		if info.unit == "connections" {
			r.hasBase, r.hasNow = true, true
		}
		r.verdict = judge(r, info)
		rows = append(rows, r)
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].metric < rows[j].metric })
	return rows
}

// judge applies the tolerance. The comparison is made on values rounded as
// the baseline file stores them, so a baseline checked against its own
// capture is "same" everywhere.
func judge(r diffRow, info metricInfo) string {
	switch {
	case !r.hasBase && !r.hasNow:
		return verdictSame
	case !r.hasBase:
		return verdictNew
	case !r.hasNow:
		return verdictGone
	}
	d := r.now - r.base
	allowed := r.tolerance.allowed(r.base)
	// Float noise must not turn "exactly at the tolerance" into a regression.
	const eps = 1e-9
	switch {
	case d == 0:
		return verdictSame
	case math.Abs(d) <= allowed+eps:
		return verdictOK
	case info.neutral:
		return verdictChanged
	case d > 0:
		return verdictRegression
	}
	return verdictImproved
}

// printDiffTable prints the rows that changed (all rows with all), aligned,
// and a line that counts the rest.
func printDiffTable(w io.Writer, rows []diffRow, all bool) error {
	header := []string{"METRIC", "BASELINE", "NOW", "CHANGE", "TOLERANCE", "VERDICT"}
	table := [][]string{header}
	hidden := 0
	for _, r := range rows {
		if !all && r.verdict == verdictSame {
			hidden++
			continue
		}
		table = append(table, []string{r.metric, r.baseText(), r.nowText(), r.changeText(), r.tolerance.String(), r.verdict})
	}
	widths := make([]int, len(header))
	for _, row := range table {
		for i, cell := range row {
			widths[i] = max(widths[i], len([]rune(cell)))
		}
	}
	var b strings.Builder
	if len(table) > 1 {
		for _, row := range table {
			for i, cell := range row {
				pad := widths[i] - len([]rune(cell))
				switch {
				case i == len(row)-1:
					b.WriteString(cell)
				case i == 0:
					b.WriteString(cell + strings.Repeat(" ", pad) + "  ")
				default: // numbers right-aligned
					b.WriteString(strings.Repeat(" ", pad) + cell + "  ")
				}
			}
			b.WriteString("\n")
		}
	}
	switch {
	case len(table) == 1:
		fmt.Fprintf(&b, "all %d metrics are the same as in the baseline\n", hidden)
	case hidden > 0:
		fmt.Fprintf(&b, "%d more metrics are the same (--all lists them)\n", hidden)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
