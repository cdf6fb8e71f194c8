// Command tcpsynth writes synthetic TCP captures for benchmarks and tests:
// a deterministic mix of connections, or a SYN flood.
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/tcptrace/tcptrace/synth"
)

const usage = `usage: tcpsynth [flags] -o FILE

Writes a classic pcap (Ethernet) of synthetic TCP traffic. The same flags
always give the same bytes.

Examples:
  tcpsynth -packets 10000000 -o mix.pcap            # the benchmark mix
  tcpsynth -seed 7 -packets 1000000 -ipv6 0.5 -o m.pcap
  tcpsynth -flood -packets 5000000 -rst 0.3 -o flood.pcap
  tcpsynth -packets 1000 -o - | tcpdump -r - -c 5

Flags:
`

func main() {
	err := run(os.Args[1:], os.Stdout, os.Stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
		os.Exit(0)
	case errors.Is(err, errUsage):
		os.Exit(2)
	case err != nil:
		fmt.Fprintf(os.Stderr, "tcpsynth: error: %v\n", err)
		os.Exit(1)
	}
}

var errUsage = errors.New("usage")

func run(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("tcpsynth", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, usage)
		fs.PrintDefaults()
	}
	seed := fs.Int64("seed", 1, "random seed")
	packets := fs.Int("packets", 1_000_000, "number of packets to write")
	conns := fs.Int("connections", 1000, "connections open at once (mix)")
	ipv6 := fs.Float64("ipv6", 0.2, "share of connections over IPv6 (mix)")
	flood := fs.Bool("flood", false, "write a SYN flood instead of the mix")
	rst := fs.Float64("rst", 0, "share of flood SYNs answered with RST,ACK")
	rate := fs.Int("rate", 1_000_000, "flood SYNs per second of capture time")
	nanos := fs.Bool("ns", false, "nanosecond timestamps")
	out := fs.String("o", "", "output file, - for standard output")
	quiet := fs.Bool("q", false, "do not print statistics")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	if fs.NArg() > 0 || *out == "" {
		fmt.Fprintln(stderr, "tcpsynth: error: need -o FILE and no arguments")
		fmt.Fprintln(stderr, "tcpsynth: hint: tcpsynth -packets 1000000 -o mix.pcap")
		return errUsage
	}

	var w io.Writer = stdout
	var f *os.File
	if *out != "-" {
		var err error
		if f, err = os.Create(*out); err != nil {
			return err
		}
		w = f
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	start := time.Now()
	var st synth.Stats
	var err error
	if *flood {
		st, err = synth.WriteSYNFlood(bw, synth.FloodConfig{Seed: *seed, Packets: *packets, RSTShare: *rst,
			Rate: *rate, Nanoseconds: *nanos})
	} else {
		cfg := synth.DefaultMix(*seed, *packets)
		cfg.Connections, cfg.IPv6Share, cfg.Nanoseconds = *conns, *ipv6, *nanos
		st, err = synth.WriteMix(bw, cfg)
	}
	if err == nil {
		err = bw.Flush()
	}
	if f != nil {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		return err
	}
	if !*quiet {
		d := time.Since(start)
		fmt.Fprintf(stderr, "tcpsynth: %v\ntcpsynth: written in %v (%.2f M packets/s)\n",
			st, d.Round(time.Millisecond), float64(st.Packets)/d.Seconds()/1e6)
	}
	return nil
}
