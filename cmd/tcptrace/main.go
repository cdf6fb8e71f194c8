// Command tcptrace shows what happened to every TCP connection in a capture:
// each endpoint's RFC 9293 state machine, every transition, and the anomalies
// that hurt in production. This package is the only one that knows all the
// others: it wires capture → tracker → report.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"sort"
	"strings"

	"github.com/spf13/pflag"

	"github.com/tcptrace/tcptrace/report"
)

// Escape keeps text from the command line or from packets from reaching the
// terminal raw.
var Escape = report.Escape

// Exit statuses, documented in the README.
const (
	exitOK       = 0
	exitFailOn   = 1 // a --fail-on rule matched (the report was printed)
	exitUsageErr = 2 // usage or input error
)

// command is one subcommand. Each lives in its own file and registers
// itself in init, so adding one touches no other file.
type command struct {
	name    string
	args    string // synopsis after the name
	summary string
	order   int // position in the usage text
	run     func(args []string, stdin io.Reader, stdout, stderr io.Writer) int
}

var commands = map[string]command{}

func register(c command) { commands[c.name] = c }

func usageText() string {
	var b strings.Builder
	b.WriteString("tcptrace shows what happened to every TCP connection in a capture or on the wire.\n\nUsage:\n")
	list := make([]command, 0, len(commands))
	for _, c := range commands {
		list = append(list, c)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].order < list[j].order })
	for _, c := range list {
		synopsis := "tcptrace " + c.name + " " + c.args
		if len(synopsis) > 36 {
			fmt.Fprintf(&b, "    %s\n    %-36s %s\n", synopsis, "", c.summary)
			continue
		}
		fmt.Fprintf(&b, "    %-36s %s\n", synopsis, c.summary)
	}
	b.WriteString(examples)
	return b.String()
}

const examples = `
Examples:
    tcptrace read capture.pcapng
    tcptrace read --all rotated-*.pcap
    tcptrace read --transitions -f 'port 9000' x.pcap
    tcptrace read --format json x.pcap | jq 'select(.type=="connection")'
    tcptrace read --conn 3 x.pcap
    sudo tcptrace live -i eth0 -f 'tcp port 443'
    tcptrace read --fail-on half_closed,missing_final_ack ci-capture.pcap

Run 'tcptrace COMMAND --help' for a command's flags.
`

var version = "devel"

func main() {
	stop := startProfile(os.Getenv("TCPTRACE_CPUPROFILE"), os.Getenv("TCPTRACE_MEMPROFILE"))
	code := run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// startProfile writes a CPU profile of the whole run to cpuPath and an
// allocation profile at its end to memPath, when they are set: the evidence
// behind performance work (go tool pprof bin/tcptrace PATH).
func startProfile(cpuPath, memPath string) (stop func()) {
	var cpu *os.File
	if cpuPath != "" {
		f, err := os.Create(cpuPath)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "tcptrace: warning: no CPU profile: %v\n", err)
		} else {
			cpu = f
		}
	}
	return func() {
		if cpu != nil {
			pprof.StopCPUProfile()
			cpu.Close()
		}
		if memPath != "" {
			f, err := os.Create(memPath)
			if err == nil {
				err = pprof.Lookup("allocs").WriteTo(f, 0)
				f.Close()
			}
			if err != nil {
				fmt.Fprintf(os.Stderr, "tcptrace: warning: no allocation profile: %v\n", err)
			}
		}
	}
}

// run is the whole CLI behind a testable signature.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usageText())
		return exitUsageErr
	}
	switch args[0] {
	case "version", "--version":
		fmt.Fprintf(stdout, "tcptrace %s\n", version)
		return exitOK
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usageText())
		return exitOK
	}
	if c, ok := commands[args[0]]; ok {
		return c.run(args[1:], stdin, stdout, stderr)
	}
	return fail(stderr, fmt.Errorf("unknown command %q", Escape(args[0])), "run 'tcptrace help' for the commands")
}

// fail prints the error and an optional hint the way age does, one line
// each, and returns the usage/input exit status.
func fail(stderr io.Writer, err error, hint string) int {
	fmt.Fprintf(stderr, "tcptrace: error: %s\n", Escape(oneLine(err.Error())))
	if hint != "" {
		fmt.Fprintf(stderr, "tcptrace: hint: %s\n", hint)
	}
	return exitUsageErr
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", " ")), " ")
}

// usageError marks errors in the command line, as opposed to bad input.
type usageError struct{ msg, hint string }

func (e *usageError) Error() string { return e.msg }

func failUsage(stderr io.Writer, err error, cmd string) int {
	var ue *usageError
	hint := fmt.Sprintf("run 'tcptrace %s --help' for the flags", cmd)
	if errors.As(err, &ue) && ue.hint != "" {
		hint = ue.hint
	}
	return fail(stderr, err, hint)
}

// flagUsages lists a command's flags in the style of the usage text: the
// long name, the short one, the argument and the default.
func flagUsages(fs *pflag.FlagSet) string {
	var b strings.Builder
	fs.VisitAll(func(f *pflag.Flag) {
		name := "    --" + f.Name
		if f.Shorthand != "" {
			name = "-" + f.Shorthand + ", --" + f.Name
		}
		arg, usage := pflag.UnquoteUsage(f)
		if f.Value.Type() != "bool" {
			if arg == "" {
				arg = "VALUE"
			}
			name += " " + arg
		}
		if f.Value.Type() != "bool" && f.DefValue != "" && f.DefValue != "0" && f.DefValue != "0s" && f.DefValue != "[]" {
			usage += fmt.Sprintf(" (default %s)", f.DefValue)
		}
		fmt.Fprintf(&b, "  %-32s %s\n", name, usage)
	})
	return b.String()
}
