package schema

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/tcptrace/tcptrace/capture"
	"github.com/tcptrace/tcptrace/report"
	"github.com/tcptrace/tcptrace/tcp"
	"github.com/tcptrace/tcptrace/tracker"
)

const pcapRoot = "../../testdata/pcaps"

// bundledCaptures lists every capture under testdata/pcaps (synth/, kernel/
// and whatever else is added there).
func bundledCaptures(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, pat := range []string{"*/*.pcap", "*/*.pcapng", "*/*.pcap.gz"} {
		m, err := filepath.Glob(filepath.Join(pcapRoot, pat))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, m...)
	}
	sort.Strings(out)
	if len(out) == 0 {
		t.Fatal("no captures under " + pcapRoot)
	}
	return out
}

// render produces the JSON Lines tcptrace writes for one capture: the
// transition and anomaly lines live streams, then the connection, pileup
// and summary lines of a report — every line type there is.
func render(t *testing.T, file string) []string {
	t.Helper()
	var out bytes.Buffer
	j := report.NewJSON(&out)
	cfg := tracker.DefaultConfig()
	cfg.OnTransition = func(c *tracker.Conn, tr tracker.Transition) {
		if err := j.Transition(c, tr); err != nil {
			t.Fatal(err)
		}
	}
	cfg.OnAnomaly = func(c *tracker.Conn, a tracker.Anomaly) {
		if err := j.Anomaly(c, a); err != nil {
			t.Fatal(err)
		}
	}
	tr := tracker.New(cfg)
	r, err := capture.Files([]string{file}, capture.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var (
		seg         tcp.Segment
		first, last int64
		in          report.Input
	)
	for {
		kind, err := r.Next(&seg)
		if err != nil {
			if err != io.EOF {
				in.Error = err.Error()
			}
			break
		}
		if first == 0 || seg.Time < first {
			first = seg.Time
		}
		last = max(last, seg.Time)
		if kind == capture.KindTCP {
			tr.Process(&seg)
		}
	}
	tr.Finish()
	st := r.Stats()
	in.Files, in.Packets, in.TCPPackets = []string{file}, st.Packets, st.ByKind[capture.KindTCP]
	in.TruncatedTCP, in.TimeWentBack, in.FirstTime, in.LastTime = st.TruncatedTCP, st.TimeWentBack, first, last
	in.Skipped = map[string]uint64{}
	for k := capture.Kind(0); int(k) < capture.NumKinds; k++ {
		if k != capture.KindTCP {
			in.Skipped[k.String()] = st.ByKind[k]
		}
	}
	for _, f := range st.Files {
		in.Notes = append(in.Notes, f.Notes()...)
	}
	for _, c := range tr.Conns() {
		if err := j.Conn(c); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range tr.Pileups() {
		if err := j.Pileup(p); err != nil {
			t.Fatal(err)
		}
	}
	if err := j.Summary(report.Summarize(in, tr.Conns(), tr.Pileups())); err != nil {
		t.Fatal(err)
	}
	var lines []string
	sc := bufio.NewScanner(&out)
	sc.Buffer(nil, 1<<26)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	return lines
}

// schemaDoc is the committed schema as generic JSON.
func schemaDoc(t *testing.T) map[string]any {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(JSONLines))
	if err != nil {
		t.Fatalf("jsonl.schema.json is not JSON: %v", err)
	}
	return doc.(map[string]any)
}

func compile(t *testing.T, doc map[string]any) *jsonschema.Schema {
	t.Helper()
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource(ID, doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile(ID)
	if err != nil {
		t.Fatalf("jsonl.schema.json does not compile: %v", err)
	}
	return s
}

// strict returns a copy of the schema that rejects properties it does not
// describe: every object schema, except the conditions of if and the
// building blocks in $defs (which are checked where they are used), gets
// unevaluatedProperties: false (the parts of an allOf too are left alone:
// the schema that holds them sees what they evaluated). The published schema lets consumers accept
// fields added later; this copy makes sure the schema describes every field
// tcptrace writes today.
func strict(t *testing.T) map[string]any {
	t.Helper()
	doc := schemaDoc(t)
	var walk func(v any, mark bool)
	walk = func(v any, mark bool) {
		switch x := v.(type) {
		case map[string]any:
			_, hasProps := x["properties"]
			_, hasRef := x["$ref"]
			_, hasAllOf := x["allOf"]
			if mark && (hasProps || hasRef || hasAllOf) {
				x["unevaluatedProperties"] = false
			}
			for k, child := range x {
				switch k {
				case "if", "const", "enum":
				case "allOf":
					// Each part sees only its own properties; the schema
					// holding the allOf sees them all.
					for _, part := range child.([]any) {
						walk(part, false)
					}
				case "$defs", "properties":
					for _, def := range child.(map[string]any) {
						walk(def, k == "properties")
					}
				default:
					walk(child, true)
				}
			}
		case []any:
			for _, e := range x {
				walk(e, true)
			}
		}
	}
	walk(doc, true)
	return doc
}

func decode(t *testing.T, line string) map[string]any {
	t.Helper()
	v, err := jsonschema.UnmarshalJSON(strings.NewReader(line))
	if err != nil {
		t.Fatalf("invalid JSON %q: %v", line, err)
	}
	return v.(map[string]any)
}

// TestOutputValidates validates every line tcptrace writes for every
// bundled capture, against the published schema and its strict copy.
func TestOutputValidates(t *testing.T) {
	published, strictSchema := compile(t, schemaDoc(t)), compile(t, strict(t))
	seen := map[string]int{}
	for _, file := range bundledCaptures(t) {
		for _, line := range render(t, file) {
			v := decode(t, line)
			seen[v["type"].(string)]++
			if err := published.Validate(v); err != nil {
				t.Errorf("%s: line does not validate:\n%s\n%v", file, line, err)
			}
			if err := strictSchema.Validate(v); err != nil {
				t.Errorf("%s: line has a field the schema does not describe (add it to jsonl.schema.json):\n%s\n%v", file, line, err)
			}
		}
	}
	for _, typ := range []string{"connection", "transition", "anomaly", "summary"} {
		if seen[typ] == 0 {
			t.Errorf("no %s line in any bundled capture: the schema of that type went untested", typ)
		}
	}
	t.Logf("validated lines by type: %v", seen)
}

// requiredOf lists the fields a line of the given type must have, read from
// the schema itself: what the test deletes must be what the schema demands.
func requiredOf(t *testing.T, doc map[string]any, defs ...string) map[string]bool {
	t.Helper()
	req := map[string]bool{}
	all := doc["$defs"].(map[string]any)
	for _, name := range defs {
		def, ok := all[name].(map[string]any)
		if !ok {
			t.Fatalf("no $defs/%s in the schema", name)
		}
		for _, f := range def["required"].([]any) {
			req[f.(string)] = true
		}
	}
	return req
}

// TestMissingFieldFails deletes each field of real output in turn: the
// schema must reject the line exactly when the field is required, so a
// renderer that stops writing a required field fails this test.
func TestMissingFieldFails(t *testing.T) {
	doc := schemaDoc(t)
	published := compile(t, doc)
	lineDefs := map[string][]string{
		"connection": {"connection"},
		"transition": {"lineHeader", "transition"},
		"anomaly":    {"lineHeader", "anomaly"},
		"pileup":     {"pileup"},
		"summary":    {"summary"},
	}
	tested := map[string]bool{}
	for _, file := range bundledCaptures(t) {
		// The first lines of each type in each capture: every field
		// appears, and the test stays fast.
		perType := map[string]int{}
		for _, line := range render(t, file) {
			typ := decode(t, line)["type"].(string)
			if perType[typ]++; perType[typ] > 3 {
				continue
			}
			req := requiredOf(t, doc, lineDefs[typ]...)
			// Fields required together or only in some cases.
			req["first_time"], req["last_time"] = true, true
			for field := range decode(t, line) {
				v := decode(t, line)
				flagsRequired := field == "flags" && v["packet"] != nil && v["packet"].(json.Number).String() != "0"
				delete(v, field)
				err := published.Validate(v)
				switch {
				case (req[field] || flagsRequired) && err == nil:
					t.Errorf("%s: %s line without required %q validates", file, typ, field)
				case !(req[field] || flagsRequired) && err != nil:
					t.Errorf("%s: %s line without optional %q fails: %v", file, typ, field, err)
				}
				tested[typ+"."+field] = true
			}
			if typ != "connection" {
				continue
			}
			// Nested objects: a transition, an anomaly, a per-side count.
			for _, nested := range []struct{ field, def string }{{"transitions", "transition"}, {"anomalies", "anomaly"}} {
				items := decode(t, line)[nested.field].([]any)
				if len(items) == 0 {
					continue
				}
				req := requiredOf(t, doc, nested.def)
				for field := range items[0].(map[string]any) {
					v := decode(t, line)
					item := v[nested.field].([]any)[0].(map[string]any)
					must := req[field] || field == "flags" && item["packet"].(json.Number).String() != "0"
					delete(item, field)
					if err := published.Validate(v); must && err == nil {
						t.Errorf("%s: %s item without required %q validates", file, nested.def, field)
					}
					tested[nested.def+"."+field] = true
				}
			}
			v := decode(t, line)
			delete(v["packets"].(map[string]any), "server")
			if published.Validate(v) == nil {
				t.Errorf("%s: packets without server validates", file)
			}
		}
	}
	if len(tested) < 20 {
		t.Errorf("only %d fields were deleted and checked: %v", len(tested), tested)
	}
}

// TestUnknownFields: consumers may rely on the published schema accepting
// fields added later; the strict copy used above rejects them.
func TestUnknownFields(t *testing.T) {
	published, strictSchema := compile(t, schemaDoc(t)), compile(t, strict(t))
	lines := render(t, filepath.Join(pcapRoot, "synth", "syn-retransmit.pcap"))
	for _, line := range lines {
		v := decode(t, line)
		v["added_later"] = json.Number("1")
		if err := published.Validate(v); err != nil {
			t.Errorf("published schema rejects an added field: %v", err)
		}
		if strictSchema.Validate(v) == nil {
			t.Errorf("strict schema accepts an undescribed field in %s", line)
		}
		if v["type"] == "connection" {
			v := decode(t, line)
			v["transitions"].([]any)[0].(map[string]any)["added_later"] = true
			if strictSchema.Validate(v) == nil {
				t.Errorf("strict schema accepts an undescribed field in a transition")
			}
		}
	}
}

// TestClosedSets keeps the schema's enums equal to the tracker's closed
// sets of anomaly kinds and states.
func TestClosedSets(t *testing.T) {
	defs := schemaDoc(t)["$defs"].(map[string]any)
	enum := func(def string) []string {
		var out []string
		for _, v := range defs[def].(map[string]any)["enum"].([]any) {
			out = append(out, v.(string))
		}
		return out
	}
	var kinds, states []string
	for _, k := range tracker.Kinds() {
		kinds = append(kinds, k.String())
	}
	for _, s := range tracker.States() {
		states = append(states, s.String())
	}
	if got := enum("kind"); !slices.Equal(got, kinds) {
		t.Errorf("schema kinds %v, tracker kinds %v", got, kinds)
	}
	if got := enum("state"); !slices.Equal(got, states) {
		t.Errorf("schema states %v, tracker states %v", got, states)
	}
	var sevs []string
	for s := tracker.Info; s <= tracker.Error; s++ {
		sevs = append(sevs, s.String())
	}
	if got := enum("severity"); !slices.Equal(got, sevs) {
		t.Errorf("schema severities %v, tracker severities %v", got, sevs)
	}
}
