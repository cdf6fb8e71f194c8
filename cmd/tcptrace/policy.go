package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/tcptrace/tcptrace/tracker"
)

// defaultPolicyFile is looked up in the working directory when --policy is
// not given, so that a CI job needs no flags beyond the capture.
const defaultPolicyFile = ".tcptrace.yaml"

// policy is the gating configuration: what makes read, live and check fail.
// It comes from the policy file, then the command line replaces what it
// names (a --fail-on list replaces fail_on; --max KIND=N replaces that one
// limit; --tolerance replaces the default tolerance).
type policy struct {
	source     string       // the file it was read from; "" when none
	failOn     []failOnRule // nil when nothing fails on anomalies
	failOnFrom string       // where failOn came from, for messages
	limits     []limit      // in order of appearance, one per metric
	tolerance  *tolerance   // check's default; nil means defaultTolerance
	tolerances map[string]tolerance
}

// empty reports whether the policy asks for no gating at all.
func (p *policy) empty() bool { return len(p.failOn) == 0 && len(p.limits) == 0 }

// failOnRule is one item of a --fail-on list: an anomaly kind, which
// matches that kind at any severity, or a severity, which matches every
// anomaly at that severity or above.
type failOnRule struct {
	kind  tracker.Kind
	sev   tracker.Severity
	isSev bool
}

func (r failOnRule) String() string {
	if r.isSev {
		return r.sev.String()
	}
	return r.kind.String()
}

// matches reports whether an anomaly of kind k at severity sev is matched.
func (r failOnRule) matches(k tracker.Kind, sev tracker.Severity) bool {
	if r.isSev {
		return sev >= r.sev
	}
	return k == r.kind
}

// limit is one --max rule: the metric must not exceed max.
type limit struct {
	metric string
	max    float64
	origin string // "--max" or "FILE:LINE", for messages
}

// tolerance is how far a metric may move from its baseline before check
// calls the move a regression (or an improvement).
type tolerance struct {
	value    float64
	relative bool // value is a fraction of the baseline value (10% → 0.1)
}

// defaultTolerance applies when neither --tolerance nor the policy sets one.
var defaultTolerance = tolerance{value: 0.10, relative: true}

func (t tolerance) String() string {
	if t.relative {
		return strconv.FormatFloat(t.value*100, 'f', -1, 64) + "%"
	}
	return strconv.FormatFloat(t.value, 'f', -1, 64)
}

// allowed returns the largest change of a metric from base that is within
// the tolerance.
func (t tolerance) allowed(base float64) float64 {
	if t.relative {
		return math.Abs(base) * t.value
	}
	return t.value
}

// parseTolerance reads "10%" (relative to the baseline value) or "2.5"
// (absolute, in the metric's unit).
func parseTolerance(s string) (tolerance, error) {
	s = strings.TrimSpace(s)
	rel := strings.HasSuffix(s, "%")
	v, err := strconv.ParseFloat(strings.TrimSuffix(s, "%"), 64)
	if err != nil || v < 0 || math.IsInf(v, 0) || math.IsNaN(v) {
		return tolerance{}, fmt.Errorf("tolerance %q is not a percentage like 10%% or a non-negative number", s)
	}
	if rel {
		return tolerance{value: v / 100, relative: true}, nil
	}
	return tolerance{value: v}, nil
}

// parseFailOn reads a comma list of kinds and severities.
func parseFailOn(list string) ([]failOnRule, error) {
	var rules []failOnRule
	for _, item := range strings.Split(list, ",") {
		r, err := parseFailOnItem(strings.TrimSpace(item))
		if err != nil {
			return nil, err
		}
		rules = append(rules, r)
	}
	return rules, nil
}

func parseFailOnItem(name string) (failOnRule, error) {
	if sev, ok := tracker.ParseSeverity(name); ok {
		return failOnRule{sev: sev, isSev: true}, nil
	}
	if k, ok := tracker.ParseKind(name); ok {
		return failOnRule{kind: k}, nil
	}
	if name == "" {
		return failOnRule{}, errors.New("empty item in the fail-on list")
	}
	return failOnRule{}, fmt.Errorf("unknown anomaly kind or severity %q in the fail-on list", Escape(name))
}

// parseLimit reads one METRIC=N.
func parseLimit(s string) (limit, error) {
	name, value, ok := strings.Cut(strings.TrimSpace(s), "=")
	if !ok {
		return limit{}, fmt.Errorf("--max %q is not METRIC=N", Escape(s))
	}
	return newLimit(strings.TrimSpace(name), strings.TrimSpace(value), "--max")
}

func newLimit(name, value, origin string) (limit, error) {
	if _, ok := lookupMetric(name); !ok {
		return limit{}, fmt.Errorf("unknown metric %q", Escape(name))
	}
	v, err := strconv.ParseFloat(value, 64)
	if err != nil || v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return limit{}, fmt.Errorf("the limit for %s must be a non-negative number, not %q", name, Escape(value))
	}
	return limit{metric: name, max: v, origin: origin}, nil
}

// setLimit adds l, replacing an earlier limit of the same metric.
func (p *policy) setLimit(l limit) {
	for i := range p.limits {
		if p.limits[i].metric == l.metric {
			p.limits[i] = l
			return
		}
	}
	p.limits = append(p.limits, l)
}

// policyFile is the YAML layout. Every value is kept as a node so that
// errors can name the line; unknown keys at the top are rejected by the
// decoder, unknown keys below by the code that reads each node.
type policyFile struct {
	FailOn     yaml.Node `yaml:"fail_on"`
	Max        yaml.Node `yaml:"max"`
	Tolerance  yaml.Node `yaml:"tolerance"`
	Tolerances yaml.Node `yaml:"tolerances"`
}

// policyKeys are the top-level keys, for the hint of an unknown one.
const policyKeys = "fail_on, max, tolerance, tolerances"

// policyError is a mistake in a policy file, at a line.
type policyError struct {
	file string
	line int
	msg  string
}

func (e *policyError) Error() string {
	if e.line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.file, e.line, e.msg)
	}
	return fmt.Sprintf("%s: %s", e.file, e.msg)
}

var (
	yamlFieldNotFound = regexp.MustCompile(`^line (\d+): field (.+) not found in type `)
	yamlLine          = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)
)

// loadPolicy reads a policy file. An empty file is an empty policy.
func loadPolicy(file string) (*policy, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	return parsePolicy(file, data)
}

func parsePolicy(file string, data []byte) (*policy, error) {
	var pf policyFile
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&pf); err != nil {
		if errors.Is(err, io.EOF) {
			return &policy{source: file}, nil
		}
		return nil, yamlError(file, err)
	}
	p := &policy{source: file}
	if err := p.readFailOn(file, &pf.FailOn); err != nil {
		return nil, err
	}
	if err := p.readMax(file, &pf.Max); err != nil {
		return nil, err
	}
	if pf.Tolerance.Kind != 0 {
		t, err := toleranceNode(file, &pf.Tolerance)
		if err != nil {
			return nil, err
		}
		p.tolerance = &t
	}
	if err := p.readTolerances(file, &pf.Tolerances); err != nil {
		return nil, err
	}
	return p, nil
}

// yamlError turns the YAML library's messages into FILE:LINE: message,
// naming an unknown key as such.
func yamlError(file string, err error) error {
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		msg := te.Errors[0]
		if m := yamlFieldNotFound.FindStringSubmatch(msg); m != nil {
			line, _ := strconv.Atoi(m[1])
			return &policyError{file, line, fmt.Sprintf("unknown key %q (the keys are %s)", Escape(m[2]), policyKeys)}
		}
		if m := yamlLine.FindStringSubmatch(msg); m != nil {
			line, _ := strconv.Atoi(m[1])
			return &policyError{file, line, m[2]}
		}
		return &policyError{file: file, msg: msg}
	}
	msg := err.Error()
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return &policyError{file, line, m[2]}
	}
	return &policyError{file: file, msg: strings.TrimPrefix(msg, "yaml: ")}
}

// readFailOn accepts a list (fail_on: [half_closed, error]) or one string
// with the --fail-on syntax (fail_on: half_closed,error).
func (p *policy) readFailOn(file string, n *yaml.Node) error {
	switch n.Kind {
	case 0:
		return nil
	case yaml.ScalarNode:
		rules, err := parseFailOn(n.Value)
		if err != nil {
			return &policyError{file, n.Line, "fail_on: " + err.Error()}
		}
		p.failOn = rules
	case yaml.SequenceNode:
		p.failOn = []failOnRule{}
		for _, item := range n.Content {
			if item.Kind != yaml.ScalarNode {
				return &policyError{file, item.Line, "fail_on: each item must be an anomaly kind or a severity"}
			}
			r, err := parseFailOnItem(item.Value)
			if err != nil {
				return &policyError{file, item.Line, "fail_on: " + err.Error()}
			}
			p.failOn = append(p.failOn, r)
		}
	default:
		return &policyError{file, n.Line, "fail_on must be a list of anomaly kinds and severities"}
	}
	return nil
}

// readMax reads the max: mapping of metric names to limits.
func (p *policy) readMax(file string, n *yaml.Node) error {
	return eachMetric(file, "max", n, func(line int, key, value *yaml.Node) error {
		l, err := newLimit(key.Value, value.Value, fmt.Sprintf("%s:%d", file, line))
		if err != nil {
			return &policyError{file, line, "max: " + err.Error()}
		}
		p.setLimit(l)
		return nil
	})
}

func (p *policy) readTolerances(file string, n *yaml.Node) error {
	return eachMetric(file, "tolerances", n, func(line int, key, value *yaml.Node) error {
		if _, ok := lookupMetric(key.Value); !ok {
			return &policyError{file, line, fmt.Sprintf("tolerances: unknown metric %q", Escape(key.Value))}
		}
		t, err := toleranceNode(file, value)
		if err != nil {
			return err
		}
		if p.tolerances == nil {
			p.tolerances = map[string]tolerance{}
		}
		p.tolerances[key.Value] = t
		return nil
	})
}

// eachMetric walks a mapping of metric names to scalars.
func eachMetric(file, what string, n *yaml.Node, f func(line int, key, value *yaml.Node) error) error {
	switch n.Kind {
	case 0:
		return nil
	case yaml.MappingNode:
	default:
		return &policyError{file, n.Line, what + " must be a mapping of metric names to numbers"}
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		key, value := n.Content[i], n.Content[i+1]
		if value.Kind != yaml.ScalarNode {
			return &policyError{file, value.Line, fmt.Sprintf("%s: the value of %s must be a number", what, Escape(key.Value))}
		}
		if err := f(key.Line, key, value); err != nil {
			return err
		}
	}
	return nil
}

func toleranceNode(file string, n *yaml.Node) (tolerance, error) {
	if n.Kind != yaml.ScalarNode {
		return tolerance{}, &policyError{file, n.Line, "a tolerance must be a percentage like 10% or a number"}
	}
	t, err := parseTolerance(n.Value)
	if err != nil {
		return tolerance{}, &policyError{file, n.Line, err.Error()}
	}
	return t, nil
}

// toleranceFor returns the tolerance of one metric.
func (p *policy) toleranceFor(metric string) tolerance {
	if t, ok := p.tolerances[metric]; ok {
		return t
	}
	if p.tolerance != nil {
		return *p.tolerance
	}
	return defaultTolerance
}
