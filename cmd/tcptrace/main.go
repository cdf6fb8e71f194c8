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
	"strings"
)

// Exit statuses, documented in the README.
const (
	exitOK       = 0
	exitFailOn   = 1 // a --fail-on rule matched (the report was printed)
	exitUsageErr = 2 // usage or input error
)

const usage = `tcptrace shows what happened to every TCP connection in a capture.

Usage:
    tcptrace read [flags] FILE...     analyse pcap/pcapng files ("-" is stdin)
    tcptrace version                  print the version

Examples:
    tcptrace read capture.pcapng
    tcptrace read --all rotated-*.pcap
    tcptrace read --transitions -f 'port 9000' x.pcap
    tcptrace read --format json x.pcap | jq 'select(.type=="connection")'

Run 'tcptrace read --help' for the flags.
`

var version = "devel"

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run is the whole CLI behind a testable signature.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsageErr
	}
	switch args[0] {
	case "read":
		return cmdRead(args[1:], stdin, stdout, stderr)
	case "version", "--version":
		fmt.Fprintf(stdout, "tcptrace %s\n", version)
		return exitOK
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return exitOK
	}
	return fail(stderr, fmt.Errorf("unknown command %q", args[0]), "run 'tcptrace help' for the commands")
}

// fail prints the error and an optional hint the way age does, one line
// each, and returns the usage/input exit status.
func fail(stderr io.Writer, err error, hint string) int {
	fmt.Fprintf(stderr, "tcptrace: error: %s\n", oneLine(err.Error()))
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
