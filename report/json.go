package report

import (
	"io"
	"math/bits"
	"net/netip"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/tcptrace/tcptrace/reassembly"
	"github.com/tcptrace/tcptrace/tcp"
	"github.com/tcptrace/tcptrace/tracker"
)

// JSON writes JSON Lines: one object per line with a "type" field. The field
// names are a contract other tools read: add fields, never rename them. The
// encoder is hand-written (appending into one reused buffer) because output
// is a large part of the cost on big captures.
type JSON struct {
	w   io.Writer
	buf []byte
}

// NewJSON returns a JSON Lines writer.
func NewJSON(w io.Writer) *JSON { return &JSON{w: w, buf: make([]byte, 0, 4096)} }

func (j *JSON) flush() error {
	_, err := j.w.Write(j.buf)
	j.buf = j.buf[:0]
	return err
}

// Conn writes one {"type":"connection"} line.
func (j *JSON) Conn(c *tracker.Conn) error {
	j.buf = AppendConn(j.buf, c)
	j.buf = append(j.buf, '\n')
	return j.flush()
}

// Transition writes one {"type":"transition"} line (live streaming).
func (j *JSON) Transition(c *tracker.Conn, tr tracker.Transition) error {
	tc := newTSCache()
	j.buf = append(appendTransitionFields(appendEventHeader(j.buf, "transition", c), &tr, &tc), "}\n"...)
	return j.flush()
}

// Anomaly writes one {"type":"anomaly"} line (live streaming).
func (j *JSON) Anomaly(c *tracker.Conn, a tracker.Anomaly) error {
	tc := newTSCache()
	j.buf = append(appendAnomalyFields(appendEventHeader(j.buf, "anomaly", c), &a, &tc), "}\n"...)
	return j.flush()
}

// appendEventHeader opens a streamed event line: its type and connection.
func appendEventHeader(b []byte, typ string, c *tracker.Conn) []byte {
	b = append(b, `{"type":"`...)
	b = append(b, typ...)
	b = append(b, `","conn":`...)
	b = strconv.AppendUint(b, c.ID, 10)
	b = append(b, `,"client":`...)
	b = appendAddrPort(b, c.Client())
	b = append(b, `,"server":`...)
	b = appendAddrPort(b, c.Server())
	return append(b, ',')
}

// Pileup writes one {"type":"pileup"} line.
func (j *JSON) Pileup(p tracker.Pileup) error {
	b := append(j.buf, `{"type":"pileup","kind":`...)
	b = appendString(b, p.Kind.String())
	b = append(b, `,"severity":`...)
	b = appendString(b, p.Kind.Info().Severity.String())
	b = append(b, `,"endpoint":`...)
	b = appendString(b, p.Endpoint)
	b = append(b, `,"peak":`...)
	b = strconv.AppendInt(b, int64(p.Peak), 10)
	b = append(b, `,"time":`...)
	b = appendTime(b, p.Time)
	j.buf = append(b, "}\n"...)
	return j.flush()
}

// Summary writes the closing {"type":"summary"} line.
func (j *JSON) Summary(s Summary) error {
	b := append(j.buf, `{"type":"summary","packets":`...)
	b = strconv.AppendUint(b, s.Packets, 10)
	b = append(b, `,"tcp_packets":`...)
	b = strconv.AppendUint(b, s.TCPPackets, 10)
	b = append(b, `,"skipped":{`...)
	for i, r := range SkippedReasons {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, r)
		b = append(b, ':')
		b = strconv.AppendUint(b, s.Skipped[r], 10)
	}
	b = append(b, `},"truncated_tcp":`...)
	b = strconv.AppendUint(b, s.TruncatedTCP, 10)
	b = append(b, `,"time_went_back":`...)
	b = strconv.AppendUint(b, s.TimeWentBack, 10)
	b = append(b, `,"connections":`...)
	b = strconv.AppendInt(b, int64(s.Connections), 10)
	b = append(b, `,"expired":`...)
	b = strconv.AppendInt(b, int64(s.Expired), 10)
	b = append(b, `,"evicted":`...)
	b = strconv.AppendInt(b, int64(s.Evicted), 10)
	b = append(b, `,"midstream":`...)
	b = strconv.AppendInt(b, int64(s.Midstream), 10)
	b = append(b, `,"client_states":`...)
	b = appendStates(b, s.ClientStates)
	b = append(b, `,"server_states":`...)
	b = appendStates(b, s.ServerStates)
	b = append(b, `,"anomalies":{`...)
	first := true
	for _, k := range tracker.Kinds() {
		if n := s.Anomalies[k]; n > 0 {
			if !first {
				b = append(b, ',')
			}
			first = false
			b = appendString(b, k.String())
			b = append(b, ':')
			b = strconv.AppendInt(b, int64(n), 10)
		}
	}
	b = append(b, '}')
	b = append(b, `,"retransmitted_packets":`...)
	b = strconv.AppendUint(b, s.RetransmittedPackets, 10)
	b = append(b, `,"retransmission_rate":`...)
	b = strconv.AppendFloat(b, s.RetransmissionRate, 'f', 6, 64)
	b = append(b, `,"connections_with_loss":`...)
	b = strconv.AppendInt(b, int64(s.ConnsWithLoss), 10)
	b = append(b, `,"handshake_ms":`...)
	if h := s.Handshake; h.Samples == 0 {
		b = append(b, "null"...)
	} else {
		b = append(b, `{"samples":`...)
		b = strconv.AppendInt(b, int64(h.Samples), 10)
		for _, p := range []struct {
			name string
			v    float64
		}{{`,"p50":`, h.P50}, {`,"p90":`, h.P90}, {`,"p99":`, h.P99}, {`,"max":`, h.Max}} {
			b = append(b, p.name...)
			b = strconv.AppendFloat(b, p.v, 'f', 3, 64)
		}
		b = append(b, '}')
	}
	b = append(b, `,"worst_handshakes":[`...)
	for i, w := range s.WorstHandshakes {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"id":`...)
		b = strconv.AppendUint(b, w.ID, 10)
		b = append(b, `,"client":`...)
		b = appendString(b, w.Client)
		b = append(b, `,"server":`...)
		b = appendString(b, w.Server)
		b = append(b, `,"ms":`...)
		b = strconv.AppendFloat(b, w.Ms, 'f', 3, 64)
		b = append(b, '}')
	}
	b = append(b, ']')
	if s.FirstTime != 0 {
		b = append(b, `,"first_time":`...)
		b = appendTime(b, s.FirstTime)
		b = append(b, `,"last_time":`...)
		b = appendTime(b, s.LastTime)
	}
	if k := s.Kernel; k != nil {
		b = append(b, `,"kernel":{"received":`...)
		b = strconv.AppendUint(b, k.Received, 10)
		b = append(b, `,"dropped":`...)
		b = strconv.AppendUint(b, k.Dropped, 10)
		b = append(b, `,"if_dropped":`...)
		b = strconv.AppendUint(b, k.IfDropped, 10)
		b = append(b, '}')
	}
	if len(s.Notes) > 0 {
		b = append(b, `,"notes":[`...)
		for i, n := range s.Notes {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, n)
		}
		b = append(b, ']')
	}
	if s.Error != "" {
		b = append(b, `,"error":`...)
		b = appendString(b, s.Error)
	}
	j.buf = append(b, "}\n"...)
	return j.flush()
}

// AppendConn appends one connection object (without newline). It allocates
// nothing when b has room for the line, except for an IPv6 address with a
// zone (escaped from its String) and a Zeek history longer than 32 letters
// (tracker.Conn.History converts it to a string; shorter ones stay on the
// stack).
func AppendConn(b []byte, c *tracker.Conn) []byte {
	cl, sv := &c.Ends[tracker.Client], &c.Ends[tracker.Server]
	tc := newTSCache()
	b = append(b, `{"type":"connection","id":`...)
	b = appendUint(b, c.ID)
	b = append(b, `,"client":`...)
	b = appendAddrPort(b, cl.Addr)
	b = append(b, `,"server":`...)
	b = appendAddrPort(b, sv.Addr)
	b = append(b, `,"first_seen":`...)
	b = tc.appendTime(b, c.FirstSeen)
	b = append(b, `,"last_seen":`...)
	b = tc.appendTime(b, c.LastSeen)
	b = append(b, `,"first_packet":`...)
	b = appendUint(b, c.FirstPacket)
	b = append(b, `,"client_state":"`...)
	b = append(b, cl.State.String()...)
	b = append(b, `","server_state":"`...)
	b = append(b, sv.State.String()...)
	b = append(b, `","client_initial_state":"`...)
	b = append(b, cl.Initial.String()...)
	b = append(b, `","server_initial_state":"`...)
	b = append(b, sv.Initial.String()...)
	b = append(b, `","conn_state":`...)
	b = appendString(b, c.ConnState())
	b = append(b, `,"history":`...)
	b = appendString(b, c.History())
	if c.Midstream {
		b = append(b, `,"midstream":true,"ended":"`...)
	} else {
		b = append(b, `,"midstream":false,"ended":"`...)
	}
	b = append(b, c.Ended.String()...)
	b = append(b, `","transitions":[`...)
	for i := range c.Transitions {
		if i > 0 {
			b = append(b, ",{"...)
		} else {
			b = append(b, '{')
		}
		b = appendTransitionFields(b, &c.Transitions[i], &tc)
		b = append(b, '}')
	}
	b = append(b, `],"anomalies":[`...)
	for i := range c.Anomalies {
		if i > 0 {
			b = append(b, ",{"...)
		} else {
			b = append(b, '{')
		}
		b = appendAnomalyFields(b, &c.Anomalies[i], &tc)
		b = append(b, '}')
	}
	b = append(b, `],"packets":{"client":`...)
	b = appendUint(b, cl.Packets)
	b = append(b, `,"server":`...)
	b = appendUint(b, sv.Packets)
	b = append(b, `},"bytes":{"client":`...)
	b = appendUint(b, cl.Bytes)
	b = append(b, `,"server":`...)
	b = appendUint(b, sv.Bytes)
	b = append(b, `},"ip_bytes":{"client":`...)
	b = appendUint(b, cl.IPBytes)
	b = append(b, `,"server":`...)
	b = appendUint(b, sv.IPBytes)
	ob, rb := c.ZeekBytes()
	b = append(b, `},"zeek":{"orig_bytes":`...)
	b = appendUint(b, ob)
	b = append(b, `,"resp_bytes":`...)
	b = appendUint(b, rb)
	b = append(b, `,"missed_bytes":`...)
	b = appendUint(b, c.Seq.Dir[tracker.Client].MissedBytes+c.Seq.Dir[tracker.Server].MissedBytes)
	b = append(b, '}')
	return appendSeq(b, c)
}

// appendSeq writes the sequence analysis: duration, handshake, round-trip
// times, time to first byte and per-direction statistics.
func appendSeq(b []byte, c *tracker.Conn) []byte {
	st := &c.Seq
	b = append(b, `,"duration_ms":`...)
	b = appendMillis(b, time.Duration(max(c.LastSeen-c.FirstSeen, 0)))
	hs := &st.Handshake
	b = append(b, `,"handshake":{"syn_to_synack_ms":`...)
	b = appendOptMillis(b, hs.SYNToSYNACK, hs.HasSYNToSYNACK)
	b = append(b, `,"synack_to_ack_ms":`...)
	b = appendOptMillis(b, hs.SYNACKToACK, hs.HasSYNACKToACK)
	b = append(b, `,"syn_retransmissions":`...)
	b = appendUint(b, uint64(hs.SYNRetransmissions))
	b = append(b, `,"synack_retransmissions":`...)
	b = appendUint(b, uint64(hs.SYNACKRetransmissions))
	for side, name := range [2]string{`,"client_options":`, `,"server_options":`} {
		b = append(b, name...)
		o := &st.Dir[side].SYN
		if !o.Seen {
			b = append(b, "null"...)
			continue
		}
		b = append(b, `{"mss":`...)
		b = appendUint(b, uint64(o.MSS))
		b = append(b, `,"wscale":`...)
		if o.HasWScale {
			b = appendUint(b, uint64(o.WScale))
		} else {
			b = append(b, "null"...)
		}
		b = append(b, `,"sack":`...)
		b = strconv.AppendBool(b, o.SACKPermitted)
		b = append(b, `,"timestamps":`...)
		b = strconv.AppendBool(b, o.Timestamps)
		b = append(b, '}')
	}
	b = append(b, `},"rtt_ms":{`...)
	for side, name := range [2]string{`"client":`, `,"server":`} {
		d := &st.Dir[side]
		b = append(b, name...)
		if d.RTTSamples == 0 {
			b = append(b, "null"...)
			continue
		}
		b = append(b, `{"min":`...)
		b = appendMillis(b, d.RTTMin)
		b = append(b, `,"avg":`...)
		b = appendMillis(b, d.RTTAvg())
		b = append(b, `,"max":`...)
		b = appendMillis(b, d.RTTMax)
		b = append(b, `,"samples":`...)
		b = appendUint(b, d.RTTSamples)
		b = append(b, '}')
	}
	b = append(b, `},"ttfb_ms":`...)
	first := st.Dir[tracker.Server].FirstPayloadTime
	// Timestamps going back in the capture can make it negative: unknown.
	b = appendOptMillis(b, time.Duration(first-c.FirstSeen), first != 0 && first >= c.FirstSeen)
	b = append(b, `,"stats":{`...)
	for side, name := range [2]string{`"client":{"packets":`, `,"server":{"packets":`} {
		d := &st.Dir[side]
		b = append(b, name...)
		b = appendUint(b, d.Packets)
		b = append(b, `,"payload_bytes":`...)
		b = appendUint(b, d.PayloadBytes)
		b = append(b, `,"unique_bytes":`...)
		b = appendUint(b, d.UniqueBytes)
		b = append(b, `,"retransmitted_packets":`...)
		b = appendUint(b, d.RetransmittedPackets)
		b = append(b, `,"retransmitted_bytes":`...)
		b = appendUint(b, d.RetransmittedBytes)
		b = append(b, `,"out_of_order_packets":`...)
		b = appendUint(b, d.Count(reassembly.OutOfOrder))
		b = append(b, `,"missed_bytes":`...)
		b = appendUint(b, d.MissedBytes)
		b = append(b, `,"zero_window":`...)
		b = appendUint(b, d.Count(reassembly.ZeroWindow))
		if d.WindowSeen {
			b = append(b, `,"window_min":`...)
			b = appendUint(b, uint64(d.WindowMin))
			b = append(b, `,"window_max":`...)
			b = appendUint(b, uint64(d.WindowMax))
		} else {
			b = append(b, `,"window_min":null,"window_max":null`...)
		}
		if d.WindowScaled {
			b = append(b, `,"window_scaled":true,"idle_max_ms":`...)
		} else {
			b = append(b, `,"window_scaled":false,"idle_max_ms":`...)
		}
		b = appendMillis(b, d.MaxIdle)
		b = append(b, `,"classes":{`...)
		sep := false
		for i := range classKeys {
			cls := reassembly.ClassAt(i)
			if k := d.Count(cls); k > 0 {
				if sep {
					b = append(b, ',')
				}
				sep = true
				b = append(b, classKeys[i]...)
				b = appendUint(b, k)
				b = append(b, `,"first_packet":`...)
				b = appendUint(b, d.First(cls))
				b = append(b, '}')
			}
		}
		b = append(b, "}}"...)
	}
	return append(b, "}}"...)
}

// classKeys are the classes' keys in "classes", each opening its object:
// `"retransmission":{"count":`.
var classKeys = func() (k [reassembly.NumClasses]string) {
	for i := range k {
		k[i] = `"` + reassembly.ClassAt(i).String() + `":{"count":`
	}
	return k
}()

// flagNames are tcp.Flags.String for every combination of the nine flags,
// which would otherwise build a string per transition.
var flagNames = func() (n [1 << 9]string) {
	for i := range n {
		n[i] = tcp.Flags(i).String()
	}
	return n
}()

func appendFlags(b []byte, f tcp.Flags) []byte {
	if int(f) < len(flagNames) {
		return append(b, flagNames[f]...)
	}
	return append(b, f.String()...)
}

// appendAddrPort writes an address and port as a JSON string, as
// appendString(b, p.String()) would without building the string: IPv4 and
// IPv6 text never needs escaping, an IPv6 zone (any bytes) may.
func appendAddrPort(b []byte, p netip.AddrPort) []byte {
	if a := p.Addr(); !a.IsValid() || a.Zone() != "" {
		return appendString(b, p.String())
	}
	b = append(b, '"')
	b = p.AppendTo(b)
	return append(b, '"')
}

// appendMillis writes a duration in milliseconds with microsecond precision:
// strconv.AppendFloat(b, float64(d)/1e6, 'f', 3, 64), byte for byte. In
// integers where that is provably the same: for |d| < 2^53 ns float64(d) is
// exact and the quotient's rounding error is below 2^-53·|d|/1e6 < 1e-6 ms,
// less than the distance (at least 1 ns) from d/1e6 to the nearest rounding
// boundary unless d lies exactly on one (d%1000 == ±500). There the float
// path decides, since it rounds the binary quotient half to even
// (0.0625 → "0.062"); so does it for |d| ≥ 2^53. TestAppendMillis and
// FuzzAppendMillis compare the two.
func appendMillis(b []byte, d time.Duration) []byte {
	if d > -1<<53 && d < 1<<53 {
		u := uint64(d)
		if d < 0 {
			u = uint64(-d)
		}
		us, r := u/1000, u%1000
		if r != 500 {
			if d < 0 {
				b = append(b, '-') // also for "-0.000", as the float path writes
			}
			if r > 500 {
				us++
			}
			f := us % 1000
			b = appendUint(b, us/1000)
			return append(b, '.', '0'+byte(f/100), digitPairs[f%100*2], digitPairs[f%100*2+1])
		}
	}
	return appendMillisFloat(b, d)
}

// appendMillisFloat is the reference appendMillis agrees with.
func appendMillisFloat(b []byte, d time.Duration) []byte {
	return strconv.AppendFloat(b, float64(d)/1e6, 'f', 3, 64)
}

func appendOptMillis(b []byte, d time.Duration, ok bool) []byte {
	if !ok {
		return append(b, "null"...)
	}
	return appendMillis(b, d)
}

func appendTransitionFields(b []byte, tr *tracker.Transition, tc *tsCache) []byte {
	b = append(b, `"time":`...)
	b = tc.appendTime(b, tr.Time)
	b = append(b, `,"side":"`...)
	b = append(b, tr.Side.String()...)
	b = append(b, `","from":"`...)
	b = append(b, tr.From.String()...)
	b = append(b, `","to":"`...)
	b = append(b, tr.To.String()...)
	b = append(b, `","packet":`...)
	b = appendUint(b, tr.Packet)
	if tr.Packet != 0 {
		b = append(b, `,"flags":"`...)
		b = appendFlags(b, tr.Flags)
		b = append(b, `","in_from_ms":`...)
	} else {
		b = append(b, `,"in_from_ms":`...)
	}
	b = appendMillis(b, time.Duration(tr.InFrom))
	if tr.Note != "" {
		b = append(b, `,"note":`...)
		b = appendString(b, tr.Note)
	}
	return b
}

func appendAnomalyFields(b []byte, a *tracker.Anomaly, tc *tsCache) []byte {
	b = append(b, `"kind":"`...)
	b = append(b, a.Kind.String()...)
	b = append(b, `","severity":"`...)
	b = append(b, a.Severity.String()...)
	b = append(b, `","side":"`...)
	b = append(b, a.Side.String()...)
	b = append(b, `","time":`...)
	b = tc.appendTime(b, a.Time)
	b = append(b, `,"packet":`...)
	b = appendUint(b, a.Packet)
	b = append(b, `,"count":`...)
	b = strconv.AppendInt(b, int64(a.Count), 10)
	b = append(b, `,"detail":`...)
	return appendString(b, a.Detail)
}

func appendStates(b []byte, m map[tracker.State]int) []byte {
	b = append(b, '{')
	first := true
	for _, st := range tracker.States() {
		if n := m[st]; n > 0 {
			if !first {
				b = append(b, ',')
			}
			first = false
			b = append(b, '"')
			b = append(b, st.String()...)
			b = append(b, `":`...)
			b = strconv.AppendInt(b, int64(n), 10)
		}
	}
	return append(b, '}')
}

// tsCache remembers the text of the last second written,
// `"2006-01-02T15:04:05` (opening quote included): a connection's
// timestamps mostly share their second, nearly always their day.
type tsCache struct {
	sec, day int64 // -1 before the first
	text     [32]byte
}

func newTSCache() tsCache { return tsCache{sec: -1, day: -1} }

// appendTime writes RFC 3339 with nanoseconds in UTC, quoted.
func appendTime(b []byte, ns int64) []byte {
	tc := newTSCache()
	return tc.appendTime(b, ns)
}

// appendRFC3339Nano formats exactly as time.RFC3339Nano in UTC.
func appendRFC3339Nano(b []byte, ns int64) []byte {
	n := len(b)
	b = appendTime(b, ns)
	copy(b[n:], b[n+1:len(b)-1])
	return b[:len(b)-2]
}

// appendTime writes RFC 3339 with nanoseconds in UTC, quoted, as
// time.RFC3339Nano formats it, without going through time.Time: a
// connection line carries a dozen timestamps. The line is put together in
// one array and appended at once.
func (tc *tsCache) appendTime(b []byte, ns int64) []byte {
	if ns < 0 {
		b = append(b, '"')
		b = time.Unix(0, ns).UTC().AppendFormat(b, time.RFC3339Nano)
		return append(b, '"')
	}
	sec := uint64(ns) / 1e9
	frac := uint64(ns) - sec*1e9
	if int64(sec) != tc.sec {
		tc.fill(sec)
	}
	l := len(b)
	b = reserve(b, 32)
	t := (*[32]byte)(b[l : l+32])
	*t = tc.text
	n := 20
	if frac != 0 {
		// Nine digits, then without the trailing zeros.
		t[20] = '.'
		t[21] = byte('0' + frac/1e8)
		p := frac % 1e8 / 1e6 * 2
		t[22], t[23] = digitPairs[p], digitPairs[p+1]
		p = frac % 1e6 / 1e4 * 2
		t[24], t[25] = digitPairs[p], digitPairs[p+1]
		p = frac % 1e4 / 100 * 2
		t[26], t[27] = digitPairs[p], digitPairs[p+1]
		p = frac % 100 * 2
		t[28], t[29] = digitPairs[p], digitPairs[p+1]
		n = 30
		for t[n-1] == '0' {
			n--
		}
	}
	t[n&31] = 'Z'
	t[(n+1)&31] = '"'
	return b[:l+n+2]
}

// fill sets tc to the second sec (since 1970, at most 2^63/1e9: years
// 1970…2262, always four digits).
func (tc *tsCache) fill(sec uint64) {
	tc.sec = int64(sec)
	days, rem := sec/86400, sec%86400
	t := &tc.text
	if int64(days) != tc.day {
		tc.day = int64(days)
		// Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
		z := days + 719468
		era := z / 146097
		doe := z - era*146097
		yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
		y := yoe + era*400
		doy := doe - (365*yoe + yoe/4 - yoe/100)
		mp := (5*doy + 2) / 153
		d := doy - (153*mp+2)/5 + 1
		m := mp + 3
		if m > 12 {
			m -= 12
		}
		if m <= 2 {
			y++
		}
		t[0] = '"'
		putPair(t[1:3], y/100)
		putPair(t[3:5], y%100)
		t[5] = '-'
		putPair(t[6:8], m)
		t[8] = '-'
		putPair(t[9:11], d)
		t[11] = 'T'
	}
	putPair(t[12:14], rem/3600)
	t[14] = ':'
	putPair(t[15:17], rem%3600/60)
	t[17] = ':'
	putPair(t[18:20], rem%60)
}

// appendUint is strconv.AppendUint(b, v, 10), writing the digits in place
// (strconv formats into a scratch array and copies).
func appendUint(b []byte, v uint64) []byte {
	if v < 10 {
		return append(b, byte('0'+v))
	}
	n := decimalLen(v)
	b = reserve(b, 20)
	l := len(b)
	b = b[:l+n]
	d := b[l:]
	i := len(d)
	for v >= 100 {
		q := v / 100
		p := (v - q*100) * 2
		i -= 2
		d[i], d[i+1] = digitPairs[p], digitPairs[p+1]
		v = q
	}
	if v >= 10 {
		p := v * 2
		d[i-2], d[i-1] = digitPairs[p], digitPairs[p+1]
	} else {
		d[i-1] = byte('0' + v)
	}
	return b
}

// decimalLen returns the number of decimal digits of v (1 for 0).
func decimalLen(v uint64) int {
	// bitlen·log10(2), rounded down: the digit count or one more than the
	// count less one, which the power of ten tells apart.
	t := bits.Len64(v) * 1233 >> 12 // ≤ 19
	if v < pow10[t] {
		return max(t, 1)
	}
	return t + 1
}

var pow10 = [20]uint64{1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
	1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19}

// reserve makes room for n more bytes after len(b).
func reserve(b []byte, n int) []byte {
	if cap(b)-len(b) < n {
		b = slices.Grow(b, n)
	}
	return b
}

// putPair writes v < 100 as two digits.
func putPair(dst []byte, v uint64) {
	_ = dst[1]
	dst[0], dst[1] = digitPairs[v*2], digitPairs[v*2+1]
}

const digitPairs = "00010203040506070809" +
	"10111213141516171819" +
	"20212223242526272829" +
	"30313233343536373839" +
	"40414243444546474849" +
	"50515253545556575859" +
	"60616263646566676869" +
	"70717273747576777879" +
	"80818283848586878889" +
	"90919293949596979899"

const hexDigits = "0123456789abcdef"

// jsonSafe marks the ASCII bytes a JSON string holds as they are.
var jsonSafe = func() (t [utf8.RuneSelf]bool) {
	for c := 0x20; c < 0x7f; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// appendString writes s as a JSON string, escaping control characters and
// replacing invalid UTF-8. Runs that need nothing are copied at once.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if jsonSafe[c] {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			if c == '"' || c == '\\' {
				b = append(b, '\\', c)
			} else {
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i++
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
