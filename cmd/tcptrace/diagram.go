package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/pflag"

	"github.com/tcptrace/tcptrace/report"
)

const diagramUsage = `Usage: tcptrace diagram [flags] FILE...

Draws the RFC 9293 TCP state diagram with what happened in the capture:
every transition of the tracker's own table labelled with how many times
endpoints took it (thicker and darker when taken more, grey when never),
and the states endpoints were left in at the end highlighted with their
counts. SVG is drawn by tcptrace itself; DOT is for Graphviz.

The format follows the -o file's extension (.svg, .dot or .gv, anything
else is text) unless --format says otherwise. An existing file is never
overwritten without --force.

Examples:
    tcptrace diagram x.pcap                     # the counts as a table
    tcptrace diagram x.pcap -o states.svg
    tcptrace diagram x.pcap --format dot | dot -Tpng > states.png

Flags:
`

func init() {
	register(command{name: "diagram", args: "[flags] FILE...", order: 51, run: cmdDiagram,
		summary: "the TCP state diagram with what happened (SVG, DOT, text)"})
}

func cmdDiagram(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	var (
		o                    readOptions
		format, out, colorTo string
		force                bool
	)
	fs := pflag.NewFlagSet("diagram", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&format, "format", "", "output `FORMAT`: svg, dot or text (default: from the -o extension, else text)")
	fs.StringVarP(&out, "output", "o", "", "write to `FILE` instead of standard output")
	fs.BoolVar(&force, "force", false, "overwrite the -o file if it exists")
	fs.StringVar(&colorTo, "color", "auto", "colour the text format: `WHEN` = auto, always or never (NO_COLOR is honoured)")
	addAnalysisFlags(fs, &o)
	help := fs.BoolP("help", "h", false, "show this help")
	if err := fs.Parse(args); err != nil {
		return failUsage(stderr, err, "diagram")
	}
	if *help {
		fmt.Fprint(stdout, diagramUsage+flagUsages(fs))
		return exitOK
	}
	files := fs.Args()
	if len(files) == 0 {
		return failUsage(stderr, &usageError{msg: "no capture file given", hint: "tcptrace diagram FILE.pcap -o states.svg"}, "diagram")
	}
	if format == "" {
		format = formatFromName(out)
	}
	if format != "svg" && format != "dot" && format != "text" {
		return failUsage(stderr, &usageError{msg: fmt.Sprintf("unknown --format %q", Escape(format)), hint: "use --format svg, dot or text"}, "diagram")
	}
	if out != "" && out != "-" && !force {
		if _, err := os.Stat(out); err == nil {
			return fail(stderr, fmt.Errorf("%s already exists", Escape(out)), "use --force to overwrite it, or choose another -o")
		}
	}
	color := false
	if format == "text" && (out == "" || out == "-") {
		var err error
		if color, err = useColor(colorTo, stdout); err != nil {
			return failUsage(stderr, err, "diagram")
		}
	}

	res, readErr := analyse(files, o)
	if res == nil {
		return fail(stderr, readErr, hintFor(readErr))
	}
	d := report.NewDiagram(res.conns)
	write := func(w io.Writer) error {
		switch format {
		case "svg":
			return d.WriteSVG(w)
		case "dot":
			return d.WriteDOT(w)
		}
		return d.WriteText(w, color)
	}
	if err := writeOutput(out, force, stdout, write); err != nil && !errors.Is(err, errBrokenPipe) {
		return fail(stderr, err, "")
	}
	if readErr != nil {
		return fail(stderr, readErr, hintFor(readErr)+" (the diagram covers the packets before the damage)")
	}
	return exitOK
}

func formatFromName(name string) string {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".svg":
		return "svg"
	case ".dot", ".gv":
		return "dot"
	}
	return "text"
}

// writeOutput writes to stdout when name is "" or "-", else to the file:
// created exclusively so an existing file is never replaced unless force,
// and, with force, written beside it and renamed over it so a failure
// leaves the old file whole.
func writeOutput(name string, force bool, stdout io.Writer, write func(io.Writer) error) error {
	if name == "" || name == "-" {
		return write(stdout)
	}
	if !force {
		f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err != nil {
			if errors.Is(err, os.ErrExist) {
				return fmt.Errorf("%s already exists (use --force to overwrite it)", Escape(name))
			}
			return err
		}
		werr := write(f)
		if cerr := f.Close(); werr == nil {
			werr = cerr
		}
		if werr != nil {
			os.Remove(name)
			return fmt.Errorf("writing %s: %w", Escape(name), werr)
		}
		return nil
	}
	tmp, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".*")
	if err != nil {
		return err
	}
	werr := write(tmp)
	if cerr := tmp.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Chmod(tmp.Name(), 0o644)
	}
	if werr == nil {
		werr = os.Rename(tmp.Name(), name)
	}
	if werr != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("writing %s: %w", Escape(name), werr)
	}
	return nil
}
