package report

import (
	"io"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/tcptrace/tcptrace/reassembly"
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
	j.buf = append(appendTransitionFields(appendEventHeader(j.buf, "transition", c), tr), "}\n"...)
	return j.flush()
}

// Anomaly writes one {"type":"anomaly"} line (live streaming).
func (j *JSON) Anomaly(c *tracker.Conn, a tracker.Anomaly) error {
	j.buf = append(appendAnomalyFields(appendEventHeader(j.buf, "anomaly", c), a), "}\n"...)
	return j.flush()
}

// appendEventHeader opens a streamed event line: its type and connection.
func appendEventHeader(b []byte, typ string, c *tracker.Conn) []byte {
	b = append(b, `{"type":"`...)
	b = append(b, typ...)
	b = append(b, `","conn":`...)
	b = strconv.AppendUint(b, c.ID, 10)
	b = append(b, `,"client":`...)
	b = appendString(b, c.Client().String())
	b = append(b, `,"server":`...)
	b = appendString(b, c.Server().String())
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

// AppendConn appends one connection object (without newline).
func AppendConn(b []byte, c *tracker.Conn) []byte {
	cl, sv := &c.Ends[tracker.Client], &c.Ends[tracker.Server]
	b = append(b, `{"type":"connection","id":`...)
	b = strconv.AppendUint(b, c.ID, 10)
	b = append(b, `,"client":`...)
	b = appendString(b, cl.Addr.String())
	b = append(b, `,"server":`...)
	b = appendString(b, sv.Addr.String())
	b = append(b, `,"first_seen":`...)
	b = appendTime(b, c.FirstSeen)
	b = append(b, `,"last_seen":`...)
	b = appendTime(b, c.LastSeen)
	b = append(b, `,"first_packet":`...)
	b = strconv.AppendUint(b, c.FirstPacket, 10)
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
	b = append(b, `,"midstream":`...)
	b = strconv.AppendBool(b, c.Midstream)
	b = append(b, `,"ended":"`...)
	b = append(b, c.Ended.String()...)
	b = append(b, '"')
	b = append(b, `,"transitions":[`...)
	for i, tr := range c.Transitions {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '{')
		b = appendTransitionFields(b, tr)
		b = append(b, '}')
	}
	b = append(b, `],"anomalies":[`...)
	for i, a := range c.Anomalies {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '{')
		b = appendAnomalyFields(b, a)
		b = append(b, '}')
	}
	b = append(b, `],"packets":{"client":`...)
	b = strconv.AppendUint(b, cl.Packets, 10)
	b = append(b, `,"server":`...)
	b = strconv.AppendUint(b, sv.Packets, 10)
	b = append(b, `},"bytes":{"client":`...)
	b = strconv.AppendUint(b, cl.Bytes, 10)
	b = append(b, `,"server":`...)
	b = strconv.AppendUint(b, sv.Bytes, 10)
	b = append(b, `},"ip_bytes":{"client":`...)
	b = strconv.AppendUint(b, cl.IPBytes, 10)
	b = append(b, `,"server":`...)
	b = strconv.AppendUint(b, sv.IPBytes, 10)
	ob, rb := c.ZeekBytes()
	b = append(b, `},"zeek":{"orig_bytes":`...)
	b = strconv.AppendUint(b, ob, 10)
	b = append(b, `,"resp_bytes":`...)
	b = strconv.AppendUint(b, rb, 10)
	b = append(b, `,"missed_bytes":`...)
	b = strconv.AppendUint(b, c.Seq.Dir[tracker.Client].MissedBytes+c.Seq.Dir[tracker.Server].MissedBytes, 10)
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
	b = strconv.AppendUint(b, uint64(hs.SYNRetransmissions), 10)
	b = append(b, `,"synack_retransmissions":`...)
	b = strconv.AppendUint(b, uint64(hs.SYNACKRetransmissions), 10)
	for side, name := range [2]string{`,"client_options":`, `,"server_options":`} {
		b = append(b, name...)
		o := st.Dir[side].SYN
		if !o.Seen {
			b = append(b, "null"...)
			continue
		}
		b = append(b, `{"mss":`...)
		b = strconv.AppendUint(b, uint64(o.MSS), 10)
		b = append(b, `,"wscale":`...)
		if o.HasWScale {
			b = strconv.AppendUint(b, uint64(o.WScale), 10)
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
		b = strconv.AppendUint(b, d.RTTSamples, 10)
		b = append(b, '}')
	}
	b = append(b, `},"ttfb_ms":`...)
	first := st.Dir[tracker.Server].FirstPayloadTime
	// Timestamps going back in the capture can make it negative: unknown.
	b = appendOptMillis(b, time.Duration(first-c.FirstSeen), first != 0 && first >= c.FirstSeen)
	b = append(b, `,"stats":{`...)
	for side, name := range [2]string{`"client":`, `,"server":`} {
		d := &st.Dir[side]
		b = append(b, name...)
		b = append(b, `{"packets":`...)
		b = strconv.AppendUint(b, d.Packets, 10)
		b = append(b, `,"payload_bytes":`...)
		b = strconv.AppendUint(b, d.PayloadBytes, 10)
		b = append(b, `,"unique_bytes":`...)
		b = strconv.AppendUint(b, d.UniqueBytes, 10)
		b = append(b, `,"retransmitted_packets":`...)
		b = strconv.AppendUint(b, d.RetransmittedPackets, 10)
		b = append(b, `,"retransmitted_bytes":`...)
		b = strconv.AppendUint(b, d.RetransmittedBytes, 10)
		b = append(b, `,"out_of_order_packets":`...)
		b = strconv.AppendUint(b, d.Count(reassembly.OutOfOrder), 10)
		b = append(b, `,"missed_bytes":`...)
		b = strconv.AppendUint(b, d.MissedBytes, 10)
		b = append(b, `,"zero_window":`...)
		b = strconv.AppendUint(b, d.Count(reassembly.ZeroWindow), 10)
		b = append(b, `,"window_min":`...)
		b = appendOptUint(b, uint64(d.WindowMin), d.WindowSeen)
		b = append(b, `,"window_max":`...)
		b = appendOptUint(b, uint64(d.WindowMax), d.WindowSeen)
		b = append(b, `,"window_scaled":`...)
		b = strconv.AppendBool(b, d.WindowScaled)
		b = append(b, `,"idle_max_ms":`...)
		b = appendMillis(b, d.MaxIdle)
		b = append(b, `,"classes":{`...)
		n := 0
		for i := 0; i < reassembly.NumClasses; i++ {
			cls := reassembly.ClassAt(i)
			if k := d.Count(cls); k > 0 {
				if n > 0 {
					b = append(b, ',')
				}
				n++
				b = append(b, '"')
				b = append(b, cls.String()...)
				b = append(b, `":{"count":`...)
				b = strconv.AppendUint(b, k, 10)
				b = append(b, `,"first_packet":`...)
				b = strconv.AppendUint(b, d.First(cls), 10)
				b = append(b, '}')
			}
		}
		b = append(b, "}}"...)
	}
	return append(b, "}}"...)
}

// appendMillis writes a duration in milliseconds with microsecond precision.
func appendMillis(b []byte, d time.Duration) []byte {
	return strconv.AppendFloat(b, float64(d)/1e6, 'f', 3, 64)
}

func appendOptMillis(b []byte, d time.Duration, ok bool) []byte {
	if !ok {
		return append(b, "null"...)
	}
	return appendMillis(b, d)
}

func appendOptUint(b []byte, v uint64, ok bool) []byte {
	if !ok {
		return append(b, "null"...)
	}
	return strconv.AppendUint(b, v, 10)
}

func appendTransitionFields(b []byte, tr tracker.Transition) []byte {
	b = append(b, `"time":`...)
	b = appendTime(b, tr.Time)
	b = append(b, `,"side":"`...)
	b = append(b, tr.Side.String()...)
	b = append(b, `","from":"`...)
	b = append(b, tr.From.String()...)
	b = append(b, `","to":"`...)
	b = append(b, tr.To.String()...)
	b = append(b, `","packet":`...)
	b = strconv.AppendUint(b, tr.Packet, 10)
	if tr.Packet != 0 {
		b = append(b, `,"flags":"`...)
		b = append(b, tr.Flags.String()...)
		b = append(b, '"')
	}
	b = append(b, `,"in_from_ms":`...)
	b = strconv.AppendFloat(b, float64(tr.InFrom)/1e6, 'f', 3, 64)
	if tr.Note != "" {
		b = append(b, `,"note":`...)
		b = appendString(b, tr.Note)
	}
	return b
}

func appendAnomalyFields(b []byte, a tracker.Anomaly) []byte {
	b = append(b, `"kind":"`...)
	b = append(b, a.Kind.String()...)
	b = append(b, `","severity":"`...)
	b = append(b, a.Severity.String()...)
	b = append(b, `","side":"`...)
	b = append(b, a.Side.String()...)
	b = append(b, `","time":`...)
	b = appendTime(b, a.Time)
	b = append(b, `,"packet":`...)
	b = strconv.AppendUint(b, a.Packet, 10)
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

// appendTime writes RFC 3339 with nanoseconds in UTC, quoted.
func appendTime(b []byte, ns int64) []byte {
	b = append(b, '"')
	b = appendRFC3339Nano(b, ns)
	return append(b, '"')
}

// appendRFC3339Nano formats exactly as time.RFC3339Nano in UTC, without
// going through time.Time: a connection line carries a dozen timestamps,
// and this is several times faster.
func appendRFC3339Nano(b []byte, ns int64) []byte {
	if ns < 0 {
		return time.Unix(0, ns).UTC().AppendFormat(b, time.RFC3339Nano)
	}
	sec, frac := ns/1e9, ns%1e9
	days, rem := sec/86400, sec%86400
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
	b = appendDigits(b, y, 4)
	b = append(b, '-')
	b = appendDigits(b, m, 2)
	b = append(b, '-')
	b = appendDigits(b, d, 2)
	b = append(b, 'T')
	b = appendDigits(b, rem/3600, 2)
	b = append(b, ':')
	b = appendDigits(b, rem%3600/60, 2)
	b = append(b, ':')
	b = appendDigits(b, rem%60, 2)
	if frac != 0 {
		digits := 9
		for frac%10 == 0 {
			frac /= 10
			digits--
		}
		b = append(b, '.')
		b = appendDigits(b, frac, digits)
	}
	return append(b, 'Z')
}

// appendDigits writes v zero-padded to width digits.
func appendDigits(b []byte, v int64, width int) []byte {
	var buf [20]byte
	i := len(buf)
	for v > 0 || width > 0 {
		i--
		buf[i] = byte('0' + v%10)
		v /= 10
		width--
	}
	return append(b, buf[i:]...)
}

const hexDigits = "0123456789abcdef"

// appendString writes s as a JSON string, escaping control characters and
// replacing invalid UTF-8.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c < 0x20 || c == 0x7f:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, `\ufffd`...)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}
