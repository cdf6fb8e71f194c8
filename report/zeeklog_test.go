package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tcptrace/tcptrace/capture"
	"github.com/tcptrace/tcptrace/tcp"
	"github.com/tcptrace/tcptrace/tracker"
)

const pcapRoot = "../testdata/pcaps"

// bundledCaptures lists the captures under testdata/pcaps.
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

// analyseFile runs a capture through the tracker as tcptrace read does.
func analyseFile(t *testing.T, file string) ([]*tracker.Conn, Summary) {
	t.Helper()
	r, err := capture.Files([]string{file}, capture.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	tr := tracker.New(tracker.DefaultConfig())
	var seg tcp.Segment
	var in Input
	for {
		kind, err := r.Next(&seg)
		if err != nil {
			if err != io.EOF {
				in.Error = err.Error()
			}
			break
		}
		if in.FirstTime == 0 || seg.Time < in.FirstTime {
			in.FirstTime = seg.Time
		}
		in.LastTime = max(in.LastTime, seg.Time)
		if kind == capture.KindTCP {
			tr.Process(&seg)
		}
	}
	tr.Finish()
	in.Files = []string{file}
	return tr.Conns(), Summarize(in, tr.Conns(), tr.Pileups())
}

// zeekLog is a conn.log read by readZeekLog.
type zeekLog struct {
	meta        []string // the header lines before #fields, verbatim
	fields      []string
	types       []string
	rows        [][]string
	open, close string
}

var (
	zeekTimeRe   = regexp.MustCompile(`^[0-9]+\.[0-9]{6}$`)
	zeekHeaderRe = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}-[0-9]{2}-[0-9]{2}-[0-9]{2}-[0-9]{2}$`)
	zeekEnumRe   = regexp.MustCompile(`^[a-z_]+$`)
)

// readZeekLog is a strict reader of Zeek's ASCII log format: the header
// lines in Zeek's order with Zeek's values, tab-separated rows with exactly
// one value per field, each value valid for its declared type (or "-"),
// and #close last. It accepts Zeek's own output (TestZeekReaderAcceptsZeek).
func readZeekLog(data string) (*zeekLog, error) {
	if strings.Contains(data, "\r") {
		return nil, fmt.Errorf("carriage return in a Zeek log")
	}
	if !strings.HasSuffix(data, "\n") {
		return nil, fmt.Errorf("last line not terminated")
	}
	lines := strings.Split(strings.TrimSuffix(data, "\n"), "\n")
	want := []string{"#separator \\x09", "#set_separator\t,", "#empty_field\t(empty)", "#unset_field\t-", "#path\tconn"}
	if len(lines) < len(want)+4 {
		return nil, fmt.Errorf("only %d lines", len(lines))
	}
	log := &zeekLog{}
	for i, w := range want {
		if lines[i] != w {
			return nil, fmt.Errorf("line %d is %q, want %q", i+1, lines[i], w)
		}
		log.meta = append(log.meta, lines[i])
	}
	rest := lines[len(want):]
	open, ok := strings.CutPrefix(rest[0], "#open\t")
	if !ok || !zeekHeaderRe.MatchString(open) {
		return nil, fmt.Errorf("bad #open line %q", rest[0])
	}
	log.open = open
	f, ok := strings.CutPrefix(rest[1], "#fields\t")
	if !ok {
		return nil, fmt.Errorf("no #fields line: %q", rest[1])
	}
	ty, ok := strings.CutPrefix(rest[2], "#types\t")
	if !ok {
		return nil, fmt.Errorf("no #types line: %q", rest[2])
	}
	log.fields, log.types = strings.Split(f, "\t"), strings.Split(ty, "\t")
	if len(log.fields) != len(log.types) {
		return nil, fmt.Errorf("%d fields but %d types", len(log.fields), len(log.types))
	}
	last := rest[len(rest)-1]
	cl, ok := strings.CutPrefix(last, "#close\t")
	if !ok || !zeekHeaderRe.MatchString(cl) {
		return nil, fmt.Errorf("last line %q is not #close", last)
	}
	log.close = cl
	for n, line := range rest[3 : len(rest)-1] {
		if strings.HasPrefix(line, "#") {
			return nil, fmt.Errorf("header line %q among the rows", line)
		}
		vals := strings.Split(line, "\t")
		if len(vals) != len(log.fields) {
			return nil, fmt.Errorf("row %d has %d values for %d fields", n+1, len(vals), len(log.fields))
		}
		for i, v := range vals {
			if err := checkZeekValue(log.types[i], v); err != nil {
				return nil, fmt.Errorf("row %d, %s: %v", n+1, log.fields[i], err)
			}
		}
		log.rows = append(log.rows, vals)
	}
	return log, nil
}

func checkZeekValue(typ, v string) error {
	if v == "" {
		return fmt.Errorf("empty value (Zeek writes (empty) or -)")
	}
	if v == "-" {
		return nil
	}
	bad := func() error { return fmt.Errorf("%q is not a valid %s", v, typ) }
	switch typ {
	case "time", "interval":
		if !zeekTimeRe.MatchString(v) {
			return bad()
		}
	case "addr":
		a, err := netip.ParseAddr(v)
		if err != nil || a.String() != v {
			return bad()
		}
	case "port":
		if n, err := strconv.ParseUint(v, 10, 16); err != nil || strconv.FormatUint(n, 10) != v {
			return bad()
		}
	case "count":
		if n, err := strconv.ParseUint(v, 10, 64); err != nil || strconv.FormatUint(n, 10) != v {
			return bad()
		}
	case "bool":
		if v != "T" && v != "F" {
			return bad()
		}
	case "enum":
		if !zeekEnumRe.MatchString(v) {
			return bad()
		}
	case "string", "set[string]":
		for i := 0; i < len(v); i++ {
			if v[i] < 0x20 || v[i] >= 0x7f {
				return bad()
			}
		}
	default:
		return fmt.Errorf("unknown type %s", typ)
	}
	return nil
}

// zeekMissingSyn is the conn.log of Zeek's btest baseline
// testing/btest/Baseline/core.tcp.missing-syn (zeek/zeek), a classic
// 21-column conn.log written by Zeek itself.
const zeekMissingSyn = "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tconn\n" +
	"#open\t2016-07-13-17-58-31\n" +
	"#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration\torig_bytes\tresp_bytes\tconn_state\tlocal_orig\tlocal_resp\tmissed_bytes\thistory\torig_pkts\torig_ip_bytes\tresp_pkts\tresp_ip_bytes\ttunnel_parents\n" +
	"#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tinterval\tcount\tcount\tstring\tbool\tbool\tcount\tstring\tcount\tcount\tcount\tcount\tset[string]\n" +
	"1128727435.633408\tCHhAvVGS1DHFjwGM9\t141.42.64.125\t56730\t125.190.109.199\t80\ttcp\thttp\t1.550793\t98\t9417\tSF\t-\t-\t0\t^hADdFaf\t11\t670\t10\t9945\t-\n" +
	"#close\t2016-07-13-17-58-31\n"

// TestZeekReaderAcceptsZeek checks the strict reader on Zeek's own output,
// and that tcptrace's header is Zeek's, line for line.
func TestZeekReaderAcceptsZeek(t *testing.T) {
	want, err := readZeekLog(zeekMissingSyn)
	if err != nil {
		t.Fatalf("the strict reader rejects Zeek's own conn.log: %v", err)
	}
	var buf bytes.Buffer
	if err := WriteZeekConnLog(&buf, nil, Summary{}); err != nil {
		t.Fatal(err)
	}
	got, err := readZeekLog(buf.String())
	if err != nil {
		t.Fatalf("empty log: %v\n%s", err, buf.String())
	}
	if strings.Join(got.meta, "\n") != strings.Join(want.meta, "\n") ||
		strings.Join(got.fields, " ") != strings.Join(want.fields, " ") ||
		strings.Join(got.types, " ") != strings.Join(want.types, " ") {
		t.Errorf("header differs from Zeek's:\n got %q %q %q\nwant %q %q %q", got.meta, got.fields, got.types, want.meta, want.fields, want.types)
	}
	for _, broken := range []string{
		strings.Replace(zeekMissingSyn, "\t80\t", "\t80\t\t", 1),              // one value too many
		strings.Replace(zeekMissingSyn, "\tSF\t-\t-", "\tSF\t\t-", 1),         // empty value
		strings.Replace(zeekMissingSyn, "141.42.64.125", "141.42.64.1250", 1), // bad address
		strings.Replace(zeekMissingSyn, "#close", "#closed", 1),               // no #close
		strings.Replace(zeekMissingSyn, "\n", "\r\n", -1),                     // CRLF
		strings.Replace(zeekMissingSyn, "1.550793", "1.55", 1),                // interval without 6 decimals
	} {
		if _, err := readZeekLog(broken); err == nil {
			t.Errorf("strict reader accepts a broken log:\n%s", broken)
		}
	}
}

// jsonConn is the JSON renderer's view of one connection, the reference the
// other formats are checked against.
type jsonConn struct {
	ID         uint64 `json:"id"`
	Client     string `json:"client"`
	Server     string `json:"server"`
	FirstSeen  string `json:"first_seen"`
	LastSeen   string `json:"last_seen"`
	ClientSt   string `json:"client_state"`
	ServerSt   string `json:"server_state"`
	ClientInit string `json:"client_initial_state"`
	ServerInit string `json:"server_initial_state"`
	ConnState  string `json:"conn_state"`
	History    string `json:"history"`
	Midstream  bool   `json:"midstream"`
	Trans      []any  `json:"transitions"`
	Anomalies  []struct {
		Kind     string `json:"kind"`
		Severity string `json:"severity"`
	} `json:"anomalies"`
	Packets struct{ Client, Server uint64 } `json:"packets"`
	Bytes   struct{ Client, Server uint64 } `json:"bytes"`
	IPBytes struct{ Client, Server uint64 } `json:"ip_bytes"`
	Zeek    struct {
		OrigBytes   uint64 `json:"orig_bytes"`
		RespBytes   uint64 `json:"resp_bytes"`
		MissedBytes uint64 `json:"missed_bytes"`
	} `json:"zeek"`
}

func jsonOf(t *testing.T, c *tracker.Conn) jsonConn {
	t.Helper()
	var j jsonConn
	if err := json.Unmarshal(AppendConn(nil, c), &j); err != nil {
		t.Fatal(err)
	}
	return j
}

func rfc3339ns(t *testing.T, s string) int64 {
	t.Helper()
	tm, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatal(err)
	}
	return tm.UnixNano()
}

// TestZeekConnLogMatchesJSON renders every bundled capture as conn.log,
// reads it back with the strict reader and checks every field against the
// JSON output of the same connection.
func TestZeekConnLogMatchesJSON(t *testing.T) {
	rows := 0
	for _, file := range bundledCaptures(t) {
		conns, sum := analyseFile(t, file)
		var buf bytes.Buffer
		if err := WriteZeekConnLog(&buf, conns, sum); err != nil {
			t.Fatal(err)
		}
		log, err := readZeekLog(buf.String())
		if err != nil {
			t.Errorf("%s: %v\n%s", file, err, buf.String())
			continue
		}
		if len(log.rows) != len(conns) {
			t.Fatalf("%s: %d rows for %d connections", file, len(log.rows), len(conns))
		}
		if log.open != time.Unix(0, sum.FirstTime).UTC().Format(zeekTimeLayout) || log.close != time.Unix(0, sum.LastTime).UTC().Format(zeekTimeLayout) {
			t.Errorf("%s: #open %s #close %s, capture from %d to %d", file, log.open, log.close, sum.FirstTime, sum.LastTime)
		}
		uids := map[string]bool{}
		for i, row := range log.rows {
			rows++
			v := map[string]string{}
			for k, f := range log.fields {
				v[f] = row[k]
			}
			j := jsonOf(t, conns[i])
			check := func(field, want string) {
				t.Helper()
				if v[field] != want {
					t.Errorf("%s conn %d: %s = %q, JSON says %q", file, j.ID, field, v[field], want)
				}
			}
			u := func(n uint64) string { return strconv.FormatUint(n, 10) }
			first, last := rfc3339ns(t, j.FirstSeen), rfc3339ns(t, j.LastSeen)
			check("ts", string(appendZeekTime(nil, first)))
			cl, sv := netip.MustParseAddrPort(j.Client), netip.MustParseAddrPort(j.Server)
			check("id.orig_h", cl.Addr().Unmap().String())
			check("id.orig_p", u(uint64(cl.Port())))
			check("id.resp_h", sv.Addr().Unmap().String())
			check("id.resp_p", u(uint64(sv.Port())))
			check("proto", "tcp")
			check("service", "-")
			if last > first {
				check("duration", string(appendZeekTime(nil, last-first)))
				check("orig_bytes", u(j.Zeek.OrigBytes))
				check("resp_bytes", u(j.Zeek.RespBytes))
			} else {
				check("duration", "-")
				check("orig_bytes", "-")
				check("resp_bytes", "-")
			}
			check("conn_state", j.ConnState)
			hist := j.History
			if hist == "" {
				hist = "-"
			}
			check("history", hist)
			check("missed_bytes", u(j.Zeek.MissedBytes))
			check("orig_pkts", u(j.Packets.Client))
			check("resp_pkts", u(j.Packets.Server))
			check("orig_ip_bytes", u(j.IPBytes.Client))
			check("resp_ip_bytes", u(j.IPBytes.Server))
			check("tunnel_parents", "-")
			tf := map[bool]string{true: "T", false: "F"}
			check("local_orig", tf[ZeekLocal(cl.Addr())])
			check("local_resp", tf[ZeekLocal(sv.Addr())])
			if !regexp.MustCompile(`^C[0-9A-Za-z]{1,17}$`).MatchString(v["uid"]) || uids[v["uid"]] {
				t.Errorf("%s conn %d: uid %q malformed or repeated", file, j.ID, v["uid"])
			}
			uids[v["uid"]] = true
		}
		var again bytes.Buffer
		if err := WriteZeekConnLog(&again, conns, sum); err != nil || again.String() != buf.String() {
			t.Errorf("%s: a second rendering differs (err %v)", file, err)
		}
	}
	if rows == 0 {
		t.Fatal("no rows checked")
	}
}

func TestZeekLocal(t *testing.T) {
	for _, tt := range []struct {
		addr string
		want bool
	}{
		// From Zeek's baseline core.pcapng-pktsrc (local_orig T, local_resp F).
		{"172.17.0.2", true}, {"10.0.0.4", true}, {"1.1.1.1", false},
		{"127.0.0.1", true}, {"192.168.1.1", true}, {"192.0.2.10", true}, {"198.51.100.20", true},
		{"8.8.8.8", false}, {"100.64.0.1", true}, {"100.128.0.1", false},
		{"::1", true}, {"fe80::1", true}, {"fd00::1", true}, {"2001:db8::1", true}, {"2a00:1450::1", false},
		{"::ffff:10.1.2.3", true}, {"::ffff:8.8.4.4", false},
	} {
		if got := ZeekLocal(netip.MustParseAddr(tt.addr)); got != tt.want {
			t.Errorf("ZeekLocal(%s) = %v, want %v", tt.addr, got, tt.want)
		}
	}
}

func TestZeekValues(t *testing.T) {
	for _, tt := range []struct {
		ns   int64
		want string
	}{
		{0, "0.000000"}, {499, "0.000000"}, {500, "0.000001"}, {1_500_000_000, "1.500000"},
		{1704110400002001000, "1704110400.002001"}, {999_999_500, "1.000000"}, {-5, "0.000000"},
	} {
		if got := string(appendZeekTime(nil, tt.ns)); got != tt.want {
			t.Errorf("appendZeekTime(%d) = %s, want %s", tt.ns, got, tt.want)
		}
	}
	for _, tt := range []struct{ in, want string }{
		{"ShADadFf", "ShADadFf"}, {"", "-"}, {"-", `\x2d`}, {"(empty)", `\x28empty)`},
		{"a\tb", `a\x09b`}, {"back\\slash", `back\x5cslash`}, {"é", `\xc3\xa9`},
	} {
		if got := string(appendZeekString(nil, tt.in)); got != tt.want {
			t.Errorf("appendZeekString(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
	for _, tt := range []struct{ in, want string }{
		{"192.0.2.1", "192.0.2.1"}, {"::ffff:192.0.2.1", "192.0.2.1"}, {"2001:DB8:0:0::1", "2001:db8::1"}, {"fe80::1%eth0", "fe80::1"},
	} {
		if got := zeekAddr(netip.MustParseAddr(tt.in)); got != tt.want {
			t.Errorf("zeekAddr(%s) = %s, want %s", tt.in, got, tt.want)
		}
	}
}
