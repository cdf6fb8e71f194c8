package report_test

import (
	"bytes"
	"encoding/xml"
	"io"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tcptrace/tcptrace/report"
	"github.com/tcptrace/tcptrace/tracker"
)

// diagramSets are the captures each golden diagram is drawn from: every
// synthesized scenario together, and every kernel one together.
func diagramSets(t *testing.T) map[string][]string {
	t.Helper()
	sets := map[string][]string{}
	for _, f := range bundled(t) {
		dir := filepath.Base(filepath.Dir(f))
		sets[dir] = append(sets[dir], f)
	}
	return sets
}

// TestDiagramGolden renders the annotated diagram as SVG, DOT and text.
func TestDiagramGolden(t *testing.T) {
	for name, files := range diagramSets(t) {
		t.Run(name, func(t *testing.T) {
			d := report.NewDiagram(analyse(t, files...).conns)
			for _, form := range []struct {
				ext   string
				write func(io.Writer) error
			}{
				{".svg", d.WriteSVG},
				{".dot", d.WriteDOT},
				{".txt", func(w io.Writer) error { return d.WriteText(w, false) }},
			} {
				var b bytes.Buffer
				if err := form.write(&b); err != nil {
					t.Fatal(err)
				}
				golden(t, filepath.Join("testdata/diagram", name+form.ext), b.String())
			}
		})
	}
}

// TestDiagramCounts checks that the diagram accounts for every transition
// and every endpoint, and draws every rule of the table.
func TestDiagramCounts(t *testing.T) {
	for name, files := range diagramSets(t) {
		conns := analyse(t, files...).conns
		d := report.NewDiagram(conns)
		transitions, edgeSum := 0, 0
		for _, c := range conns {
			transitions += len(c.Transitions)
		}
		for _, e := range d.Edges {
			edgeSum += e.Count
		}
		if edgeSum != transitions {
			t.Errorf("%s: edges count %d transitions, the connections have %d", name, edgeSum, transitions)
		}
		finals, starts := 0, 0
		for _, s := range tracker.States() {
			finals += d.Final[s]
			starts += d.Start[s]
		}
		if finals != 2*len(conns) || starts != 2*len(conns) || d.Endpoints != 2*len(conns) {
			t.Errorf("%s: %d final, %d start, %d endpoints for %d connections", name, finals, starts, d.Endpoints, len(conns))
		}
		svg := d.SVG()
		for _, r := range tracker.Table() {
			attr := `data-from="` + r.From.String() + `" data-to="` + r.To.String() + `"`
			if strings.Count(svg, attr) != 1 {
				t.Errorf("%s: rule %s -> %s drawn %d times, want once", name, r.From, r.To, strings.Count(svg, attr))
			}
		}
	}
}

// TestDiagramUntakenGrey checks that with no traffic every edge is grey,
// thin and labelled 0, and no state is highlighted.
func TestDiagramUntakenGrey(t *testing.T) {
	d := report.NewDiagram(nil)
	svg := d.SVG()
	for _, e := range d.Edges {
		if e.Count != 0 {
			t.Fatalf("edge %s -> %s has %d", e.From, e.To, e.Count)
		}
	}
	if strings.Contains(svg, `data-count="1`) || strings.Contains(svg, `stroke-width="3"`) {
		t.Error("an edge or state is highlighted without traffic")
	}
	edges := svg[strings.Index(svg, `<g class="edges"`):strings.Index(svg, `<g class="states"`)]
	if n := strings.Count(edges, `stroke="#c3c8ce" stroke-width="1.2"`); n != len(d.Edges) {
		t.Errorf("%d grey edges, want %d", n, len(d.Edges))
	}
}

// TestDiagramSVGWellFormed parses the SVG as XML.
func TestDiagramSVGWellFormed(t *testing.T) {
	for name, files := range diagramSets(t) {
		var b bytes.Buffer
		if err := report.NewDiagram(analyse(t, files...).conns).WriteSVG(&b); err != nil {
			t.Fatal(err)
		}
		dec := xml.NewDecoder(&b)
		for {
			_, err := dec.Token()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
		}
	}
}

// TestDiagramDOTGraphviz lets Graphviz read the DOT output when it is
// installed.
func TestDiagramDOTGraphviz(t *testing.T) {
	dot, err := exec.LookPath("dot")
	if err != nil {
		t.Skip("Graphviz (dot) is not installed")
	}
	for name, files := range diagramSets(t) {
		var b bytes.Buffer
		if err := report.NewDiagram(analyse(t, files...).conns).WriteDOT(&b); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(dot, "-Tsvg")
		cmd.Stdin = &b
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil || !bytes.Contains(out, []byte("<svg")) {
			t.Errorf("%s: dot failed: %v %s", name, err, stderr.String())
		}
	}
}
