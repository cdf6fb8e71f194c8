package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/pflag"

	"github.com/tcptrace/tcptrace/capture"
)

const interfacesUsage = `Usage: tcptrace interfaces [flags]

Lists the interfaces 'tcptrace live -i' can capture on, with their state and
addresses. Listing needs no privileges; capturing does.

Flags:
`

func init() {
	register(command{name: "interfaces", args: "[flags]", order: 30, run: cmdInterfaces,
		summary: "list the interfaces live capture can use"})
}

func cmdInterfaces(args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fs := pflag.NewFlagSet("interfaces", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	format := fs.String("format", "text", "output `FORMAT`: text or json (one object per interface)")
	help := fs.BoolP("help", "h", false, "show this help")
	if err := fs.Parse(args); err != nil {
		return failUsage(stderr, err, "interfaces")
	}
	if *help {
		fmt.Fprint(stdout, interfacesUsage+flagUsages(fs))
		return exitOK
	}
	if fs.NArg() > 0 {
		return failUsage(stderr, &usageError{msg: fmt.Sprintf("unexpected argument %q", Escape(fs.Arg(0)))}, "interfaces")
	}
	if *format != "text" && *format != "json" {
		return failUsage(stderr, &usageError{msg: fmt.Sprintf("unknown --format %q", Escape(*format)), hint: "use --format text or --format json"}, "interfaces")
	}
	ifs, err := capture.Interfaces()
	if err != nil {
		return fail(stderr, err, "")
	}
	if *format == "json" {
		err = writeInterfacesJSON(stdout, ifs)
	} else {
		err = writeInterfacesText(stdout, ifs)
	}
	if err != nil {
		return fail(stderr, fmt.Errorf("writing the list: %w", err), "")
	}
	return exitOK
}

// writeInterfacesText prints one interface per line: name, flags,
// addresses, and libpcap's description where there is one.
func writeInterfacesText(w io.Writer, ifs []capture.Interface) error {
	width := len("NAME")
	for _, i := range ifs {
		width = max(width, len(Escape(i.Name)))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%-*s  %-22s  %s\n", width, "NAME", "FLAGS", "ADDRESSES")
	for _, i := range ifs {
		flags := strings.Join(i.Flags(), ",")
		if flags == "" {
			flags = "down"
		}
		addrs := make([]string, len(i.Addresses))
		for k, a := range i.Addresses {
			addrs[k] = a.String()
		}
		line := strings.Join(addrs, " ")
		if line == "" {
			line = "-"
		}
		if i.Description != "" {
			line += "  (" + Escape(i.Description) + ")"
		}
		fmt.Fprintf(&b, "%-*s  %-22s  %s\n", width, Escape(i.Name), flags, line)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// writeInterfacesJSON prints one {"type":"interface"} object per line.
func writeInterfacesJSON(w io.Writer, ifs []capture.Interface) error {
	type jsonInterface struct {
		Type        string   `json:"type"`
		Name        string   `json:"name"`
		Description string   `json:"description"`
		Flags       []string `json:"flags"`
		Addresses   []string `json:"addresses"`
	}
	enc := json.NewEncoder(w)
	for _, i := range ifs {
		j := jsonInterface{Type: "interface", Name: i.Name, Description: i.Description, Flags: i.Flags(), Addresses: []string{}}
		if j.Flags == nil {
			j.Flags = []string{}
		}
		for _, a := range i.Addresses {
			j.Addresses = append(j.Addresses, a.String())
		}
		if err := enc.Encode(j); err != nil {
			return err
		}
	}
	return nil
}
