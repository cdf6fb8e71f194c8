package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/pflag"

	"github.com/tcptrace/tcptrace/report"
)

const reportUsage = `Usage: tcptrace report [flags] FILE... -o report.html

Writes one self-contained HTML file (no network, no CDN): the summary, the
state tables, the annotated state diagram, a timeline of how many endpoints
were in each state over the capture, the anomaly list with filters, and a
ladder diagram for each connection with an anomaly (click to open). Large
captures stay small: the tables, diagram and timeline are aggregates, the
anomaly list keeps the 2000 most severe, and ladders are capped
(--max-ladders, the most severe first); the report says where it capped.

"-o -" writes to standard output. An existing file is never overwritten
without --force.

Examples:
    tcptrace report x.pcap -o report.html
    tcptrace report --max-ladders 50 rotated-*.pcap -o week.html

Flags:
`

func init() {
	register(command{name: "report", args: "-o HTML FILE...", order: 52, run: cmdReport,
		summary: "write a self-contained HTML report"})
}

func cmdReport(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	var (
		o          readOptions
		out        string
		force      bool
		maxLadders int
	)
	fs := pflag.NewFlagSet("report", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVarP(&out, "output", "o", "", "write the report to `FILE` (\"-\" for standard output)")
	fs.BoolVar(&force, "force", false, "overwrite the -o file if it exists")
	fs.IntVar(&maxLadders, "max-ladders", report.DefaultMaxLadders, "draw ladders for at most `N` connections")
	addAnalysisFlags(fs, &o)
	help := fs.BoolP("help", "h", false, "show this help")
	if err := fs.Parse(args); err != nil {
		return failUsage(stderr, err, "report")
	}
	if *help {
		fmt.Fprint(stdout, reportUsage+flagUsages(fs))
		return exitOK
	}
	files := fs.Args()
	if err := checkRereadable(files, "report"); err != nil {
		return failUsage(stderr, err, "report")
	}
	if out == "" {
		return failUsage(stderr, &usageError{msg: "no output file given", hint: "tcptrace report FILE.pcap -o report.html"}, "report")
	}
	if maxLadders < 0 {
		return failUsage(stderr, &usageError{msg: "--max-ladders must not be negative"}, "report")
	}
	if out != "-" && !force {
		if _, err := os.Stat(out); err == nil {
			return fail(stderr, fmt.Errorf("%s already exists", Escape(out)), "use --force to overwrite it, or choose another -o")
		}
	}

	res, readErr := analyse(files, o)
	if res == nil {
		return fail(stderr, readErr, hintFor(readErr))
	}
	chosen, candidates := report.LadderConns(res.conns, maxLadders)
	ladders, err := buildLadders(files, o.filter, chosen,
		report.LadderOptions{Width: 80, CaptureEnd: res.summary.LastTime})
	// Damage stops both passes at the same packet; the report shows what
	// came before it.
	if err != nil && readErr == nil {
		return fail(stderr, err, hintFor(err))
	}
	r := &report.HTMLReport{Summary: res.summary, Conns: res.conns, Ladders: ladders, LadderCandidates: candidates}
	if err := writeOutput(out, force, stdout, r.Write); err != nil && !errors.Is(err, errBrokenPipe) {
		return fail(stderr, err, "")
	}
	if readErr != nil {
		return fail(stderr, readErr, hintFor(readErr)+" (the report covers the packets before the damage)")
	}
	return exitOK
}
