package reassembly

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/tcptrace/tcptrace/tcp"
)

var (
	tsharkFlag  = flag.Bool("tshark", false, "compare Segment's classes with tshark's tcp.analysis flags on ../testdata/pcaps")
	tsharkFiles = flag.String("tshark.files", "", "with -tshark: comma-separated glob patterns of further captures to compare")
)

// tsharkField maps each class to the tshark field that flags it; hardware
// duplicates have none (tshark calls them retransmissions or duplicate
// ACKs).
var tsharkField = map[Class]string{
	Retransmission:         "tcp.analysis.retransmission",
	FastRetransmission:     "tcp.analysis.fast_retransmission",
	SpuriousRetransmission: "tcp.analysis.spurious_retransmission",
	OutOfOrder:             "tcp.analysis.out_of_order",
	LostSegment:            "tcp.analysis.lost_segment",
	AckUnseenSegment:       "tcp.analysis.ack_lost_segment",
	DuplicateAck:           "tcp.analysis.duplicate_ack",
	ZeroWindow:             "tcp.analysis.zero_window",
	ZeroWindowProbe:        "tcp.analysis.zero_window_probe",
	ZeroWindowProbeAck:     "tcp.analysis.zero_window_probe_ack",
	WindowFull:             "tcp.analysis.window_full",
	WindowUpdate:           "tcp.analysis.window_update",
	KeepAlive:              "tcp.analysis.keep_alive",
	KeepAliveAck:           "tcp.analysis.keep_alive_ack",
}

// The segment fields tshark prints, in order, before the analysis fields.
var tsharkSegmentFields = []string{
	"frame.number", "frame.time_epoch", "tcp.stream", "ip.src", "ipv6.src", "tcp.srcport",
	"ip.id", "tcp.seq", "tcp.ack", "tcp.len", "tcp.window_size_value", "tcp.flags",
	"tcp.options.mss_val", "tcp.options.wscale.shift", "tcp.options.sack_perm",
	"tcp.options.timestamp.tsval", "tcp.options.sack_le", "tcp.options.sack_re",
}

// tsharkFrame is one TCP frame as tshark decoded and classified it.
type tsharkFrame struct {
	stream int
	src    string
	seg    tcp.Segment
	flags  Class // tshark's analysis flags, as classes
}

// TestTsharkDifferential feeds every capture of the project to Segment,
// segment by segment as tshark decoded them, and compares the classes with
// tshark's analysis flags on the same frames. Each difference must match
// one of the documented reasons in DIFFERENCES.md (see explain); the rest
// fail the test. Run it with
//
//	go test ./reassembly -run Tshark -tshark -v [-tshark.files 'dir/*.pcap']
func TestTsharkDifferential(t *testing.T) {
	if !*tsharkFlag {
		t.Skip("needs -tshark")
	}
	if _, err := exec.LookPath("tshark"); err != nil {
		t.Skip("tshark not installed")
	}
	// The project's captures, and this package's own lossy ones
	// (testdata/make-lossy.sh).
	files, _ := filepath.Glob(filepath.Join("testdata", "*.pcap"))
	for _, pat := range []string{"*.pcap", "*.pcapng", "*.pcap.gz"} {
		m, _ := filepath.Glob(filepath.Join("..", "testdata", "pcaps", "*", pat))
		files = append(files, m...)
	}
	for _, pat := range strings.Split(*tsharkFiles, ",") {
		if pat != "" {
			m, _ := filepath.Glob(pat)
			files = append(files, m...)
		}
	}
	sort.Strings(files)
	if len(files) == 0 {
		t.Fatal("no captures in ../testdata/pcaps")
	}
	totals := map[string]int{}
	for _, file := range files {
		name := strings.TrimPrefix(file, filepath.Join("..", "testdata", "pcaps")+string(filepath.Separator))
		t.Run(name, func(t *testing.T) {
			frames, err := readTshark(file)
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range compareWithTshark(frames) {
				if d.reason == "" {
					t.Errorf("frame %d: %s", d.frame, d.text)
					totals["unexplained"]++
					continue
				}
				t.Logf("frame %d: %s — %s", d.frame, d.text, d.reason)
				totals[d.reason]++
			}
		})
	}
	for reason, n := range totals {
		t.Logf("%4d × %s", n, reason)
	}
}

func readTshark(file string) ([]tsharkFrame, error) {
	args := []string{"-r", file, "-n", "-Y", "tcp && !icmp && !icmpv6",
		"-o", "tcp.relative_sequence_numbers:FALSE", "-o", "tcp.analyze_sequence_numbers:TRUE",
		"-T", "fields", "-E", "separator=/t"}
	var classes []Class
	for _, f := range tsharkSegmentFields {
		args = append(args, "-e", f)
	}
	for i := range numClasses {
		if field, ok := tsharkField[ClassAt(i)]; ok {
			args = append(args, "-e", field)
			classes = append(classes, ClassAt(i))
		}
	}
	// Every occurrence: a segment may carry several SACK blocks.
	args = append(args, "-E", "occurrence=a", "-E", "aggregator=,")
	var stderr bytes.Buffer
	cmd := exec.Command("tshark", args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("tshark: %v: %s", err, stderr.String())
	}
	var frames []tsharkFrame
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		f := strings.Split(sc.Text(), "\t")
		if len(f) != len(tsharkSegmentFields)+len(classes) {
			return nil, fmt.Errorf("tshark line with %d fields: %q", len(f), sc.Text())
		}
		num := func(i int) uint64 {
			s := f[i]
			if j := strings.IndexByte(s, ','); j >= 0 {
				s = s[:j]
			}
			v, _ := strconv.ParseUint(strings.TrimPrefix(s, "0x"), map[bool]int{true: 16, false: 10}[strings.HasPrefix(s, "0x")], 64)
			return v
		}
		var fr tsharkFrame
		fr.stream = int(num(2))
		fr.src = f[3] + f[4] + ":" + f[5]
		s := &fr.seg
		s.Packet = num(0)
		s.Time = epochNanos(f[1])
		s.IPID = uint16(num(6))
		s.Seq, s.Ack = tcp.Seq(num(7)), tcp.Seq(num(8))
		s.PayloadLen = uint32(num(9))
		s.Window = uint16(num(10))
		s.Flags = tcp.Flags(num(11))
		s.Options.MSS = uint16(num(12))
		if f[13] != "" {
			s.Options.WScale, s.Options.HasWScale = uint8(num(13)), true
		}
		s.Options.SACKPermitted = f[14] != ""
		if f[15] != "" {
			s.Options.TSVal, s.Options.HasTimestamps = uint32(num(15)), true
		}
		if f[16] != "" {
			le, re := strings.Split(f[16], ","), strings.Split(f[17], ",")
			for i := 0; i < len(le) && i < len(re) && i < 4; i++ {
				l, _ := strconv.ParseUint(le[i], 10, 32)
				r, _ := strconv.ParseUint(re[i], 10, 32)
				s.Options.SACK[i] = tcp.SACKBlock{Left: tcp.Seq(l), Right: tcp.Seq(r)}
				s.Options.NumSACK++
			}
		}
		for i, c := range classes {
			if f[len(tsharkSegmentFields)+i] != "" {
				fr.flags |= c
			}
		}
		frames = append(frames, fr)
	}
	return frames, sc.Err()
}

func epochNanos(s string) int64 {
	sec, frac, _ := strings.Cut(s, ".")
	n, _ := strconv.ParseInt(sec, 10, 64)
	frac = (frac + "000000000")[:9]
	f, _ := strconv.ParseInt(frac, 10, 64)
	return n*1e9 + f
}

type tsharkDiff struct {
	frame  uint64
	text   string
	reason string // the documented difference it is an instance of; "" when none
}

// compareWithTshark runs one Conn per tshark stream (side 0 is the sender
// of the stream's first frame) and lists the frames whose classes differ.
func compareWithTshark(frames []tsharkFrame) []tsharkDiff {
	type connState struct {
		c      Conn
		st     Stats
		client string
	}
	conns := map[int]*connState{}
	var diffs []tsharkDiff
	for i := range frames {
		fr := &frames[i]
		cs := conns[fr.stream]
		if cs == nil {
			cs = &connState{client: fr.src}
			conns[fr.stream] = cs
		}
		from := 0
		if fr.src != cs.client {
			from = 1
		}
		own, peer, gaps := cs.c.dir[from], cs.c.dir[from^1], cs.st.colds()[from] // before the segment
		ours := cs.c.Segment(from, &fr.seg, &cs.st)
		// tshark sets retransmission on fast and spurious retransmissions
		// too, as Segment does, so the sets compare directly.
		theirs := fr.flags
		if ours == theirs {
			continue
		}
		diffs = append(diffs, tsharkDiff{
			frame:  fr.seg.Packet,
			text:   fmt.Sprintf("side %d %v len %d: ours %v, tshark %v", from, fr.seg.Flags, fr.seg.PayloadLen, ours, theirs),
			reason: explain(ours, theirs, &fr.seg, own, peer, &gaps),
		})
	}
	return diffs
}

// explain names the documented difference (its row # in DIFFERENCES.md) that accounts
// for ours ≠ theirs on seg, given both directions' state and the sender's
// gaps before it, or returns "".
func explain(ours, theirs Class, seg *tcp.Segment, own, peer dirState, gaps *coldDir) string {
	extra, missing := ours&^theirs, theirs&^ours
	peerClosed := peer.flags&winKnown != 0 && peer.win == 0
	ctl := seg.Flags&(tcp.SYN|tcp.FIN) != 0
	switch {
	case ours == HardwareDuplicate && theirs&(Retransmission|DuplicateAck) != 0:
		return "#6 hardware duplicate (same IPv4 ID), not a retransmission"
	case extra == ZeroWindowProbe && missing == KeepAlive && peerClosed:
		return "#4 Linux persist probe (SND.UNA−1, no data) into a zero window"
	case extra == ZeroWindowProbeAck && missing == 0:
		return "#5 answer to a Linux persist probe (tshark's keep-alive ACK needs an open window)"
	case extra == SpuriousRetransmission && missing == 0 && ctl && seg.PayloadLen == 0:
		return "#11 SYN or FIN sent again after the capture saw its ACK: spurious (tshark checks data only)"
	case extra == 0 && missing == DuplicateAck && peer.flags&seqKnown != 0 && peer.rel(seg.Ack) >= peer.nxt:
		return "#2 repeated ACK with no data outstanding is not a duplicate ACK (BSD rule)"
	case extra == 0 && missing == AckUnseenSegment && seg.Flags&tcp.SYN != 0:
		return "#14 SYN-ACK acknowledging more than the SYN is not acceptable, says nothing of data"
	case extra == 0 && missing == Retransmission && seg.Flags&tcp.SYN != 0 && own.flags&(sentSYN|sentSYNACK) == sentSYN:
		return "#1 simultaneous open: the SYN-ACK after the side's own SYN is not a copy"
	case extra == 0 && missing == Retransmission && own.flags&seqKnown != 0 && own.rel(seg.Seq) == own.nxt:
		return "#15 new data for Segment: tshark advanced past it on an earlier segment Segment ignores (RST, out of window)"
	case extra == Retransmission && missing == OutOfOrder && own.flags&seqKnown != 0:
		s := own.rel(seg.Seq)
		e := s + int64(seg.PayloadLen)
		if n, _ := gaps.holeOverlap(s, min(e, own.nxt)); n < min(e, own.nxt)-s {
			return "#7 resends data the capture had seen: a retransmission however soon (tshark: out-of-order within its threshold)"
		}
		return "#8 fills a gap later than the handshake round trip: lost before the capture point (tshark: out-of-order within 3 ms or its iRTT)"
	}
	return ""
}
