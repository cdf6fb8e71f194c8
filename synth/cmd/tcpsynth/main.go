// Command tcpsynth writes synthetic TCP captures for benchmarks and tests:
// a deterministic mix of connections, or a SYN flood (plain, or realistic:
// a listening server's SYN-ACK retransmissions and a port scan).
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

A plain flood (-flood) is one SYN per spoofed 4-tuple, a share of them
answered by RST,ACK (-rst). A realistic flood (-realistic, which implies
-flood) is what a server without SYN cookies sees: each flood SYN answered
by a SYN-ACK (-synack) that its timer retransmits 1 s, 2 s, 4 s ... later
(-synack-retries, Linux's tcp_synack_retries), some SYNs sent twice by the
attacker (-syn-retry), and port-scan probes to closed ports answered by
RST,ACK (-scan): about 4.15 packets per connection. Its defaults are
-rate 50000 -synack 0.9 -synack-retries 5 -syn-retry 0.2 -scan 0.55; any of
these flags given overrides them. Once SYN-ACKs, SYNs sent twice or scans
are in, new 4-tuples stop when the packets planned reach -packets, and the
capture ends with the last connections' retransmissions (31 s of them with
5 retries): every connection is complete. The summary line counts the
distinct connections (4-tuples).

Examples:
  tcpsynth -packets 10000000 -o mix.pcap            # the benchmark mix
  tcpsynth -seed 7 -packets 1000000 -ipv6 0.5 -o m.pcap
  tcpsynth -realistic -packets 5000000 -o flood.pcap # the benchmark flood: 1.2 M connections
  tcpsynth -flood -packets 5000000 -rst 0.3 -o flood.pcap
  tcpsynth -realistic -synack-retries 2 -scan 0.2 -packets 100000 -o f.pcap
  tcpsynth -bulk -packets 2000000 -o bulk.pcap      # bulk transfers only
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
	bulk := fs.Bool("bulk", false, "every connection of the mix a bulk transfer (full-size frames)")
	flood := fs.Bool("flood", false, "write a SYN flood instead of the mix")
	realistic := fs.Bool("realistic", false, "write the realistic flood (implies -flood; see above)")
	rst := fs.Float64("rst", 0, "share of flood SYNs answered with RST,ACK")
	rate := fs.Int("rate", 1_000_000, "new flood 4-tuples (first SYNs) per second of capture time (-realistic: 50000)")
	synack := fs.Float64("synack", 0, "share of flood SYNs answered with SYN-ACK (-realistic: 0.9)")
	synackRetries := fs.Int("synack-retries", 0, "SYN-ACK retransmissions, 1 s, 2 s, 4 s ... apart (-realistic: 5)")
	synRetry := fs.Float64("syn-retry", 0, "share of flood SYNs the attacker sends twice (-realistic: 0.2)")
	scan := fs.Float64("scan", 0, "share of flood 4-tuples that are scan probes refused by RST,ACK (-realistic: 0.55)")
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
	if *flood || *realistic {
		cfg := synth.FloodConfig{Seed: *seed, Packets: *packets}
		if *realistic {
			cfg = synth.RealisticFlood(*seed, *packets)
		}
		fs.Visit(func(f *flag.Flag) {
			switch f.Name {
			case "rst":
				cfg.RSTShare = *rst
			case "rate":
				cfg.Rate = *rate
			case "synack":
				cfg.SYNACKShare = *synack
			case "synack-retries":
				cfg.SYNACKRetries = *synackRetries
			case "syn-retry":
				cfg.SYNRetryShare = *synRetry
			case "scan":
				cfg.ScanShare = *scan
			}
		})
		cfg.Nanoseconds = *nanos
		st, err = synth.WriteSYNFlood(bw, cfg)
	} else {
		cfg := synth.DefaultMix(*seed, *packets)
		cfg.Connections, cfg.IPv6Share, cfg.Nanoseconds = *conns, *ipv6, *nanos
		if *bulk {
			cfg.Normal, cfg.ServerCloses, cfg.Bulk, cfg.Retransmissions, cfg.Reordering = 0, 0, 1, 0, 0
			cfg.Resets, cfg.HalfClosed, cfg.UnansweredSYNs, cfg.Scans = 0, 0, 0, 0
		}
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
		summary := st.String()
		if (*flood || *realistic) && st.Probes > 0 {
			summary += fmt.Sprintf("; %d distinct connections, %.2f packets each", st.Probes,
				float64(st.Packets)/float64(st.Probes))
		}
		fmt.Fprintf(stderr, "tcpsynth: %s\ntcpsynth: written in %v (%.2f M packets/s)\n",
			summary, d.Round(time.Millisecond), float64(st.Packets)/d.Seconds()/1e6)
	}
	return nil
}
