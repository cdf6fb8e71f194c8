package report

import (
	"bufio"
	"crypto/sha256"
	"encoding/binary"
	"io"
	"math/big"
	"net/netip"
	"strconv"
	"time"

	"github.com/tcptrace/tcptrace/tracker"
)

// Zeek conn.log in Zeek's ASCII (TSV) log format, the layout that zeek-cut
// and Zeek's log tooling read: a header of #-lines, one tab-separated row
// per connection, a #close line. The columns are the classic 21 of
// Conn::Info (scripts/base/protocols/conn/main.zeek, before ip_proto).
//
// Where tcptrace's values come from, field by field:
//
//	ts, duration       first and last packet of the connection (duration, and
//	                   with it orig_bytes and resp_bytes, unset when it is 0,
//	                   as set_conn does)
//	uid                "C" + base62 of a SHA-256 of the 4-tuple, first time
//	                   and connection id: stable across runs, unique per row
//	id.*               Zeek's originator is tcptrace's client (the SYN's
//	                   sender, or the port-guessed client of a midstream
//	                   connection); the tracker orients history and
//	                   conn_state the same way
//	service            unset: tcptrace identifies no application protocol
//	orig/resp_bytes    sequence space each side's data covered, as Zeek
//	                   counts it (TCP_Endpoint::Size): Conn.ZeekBytes
//	conn_state,history Conn.ConnState and Conn.History (Zeek's own rules)
//	local_orig/resp    Zeek's default Site::local_nets: its private address
//	                   space (private_address_space_is_local = T)
//	missed_bytes       bytes the capture never saw, both directions, from the
//	                   sequence analysis (gaps and data acknowledged unseen)
//	orig/resp_pkts     packets each side sent
//	orig/resp_ip_bytes the IP total length of those packets, summed
//	tunnel_parents     unset: tcptrace decodes no tunnels
//
// #open and #close carry the capture's first and last packet times (UTC),
// not the wall clock Zeek uses, so the same capture always gives the same
// file. Rows are in order of first packet; Zeek writes a row when it
// forgets a connection.

// ZeekFields are the column names of conn.log, in order.
var ZeekFields = []string{
	"ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto", "service", "duration",
	"orig_bytes", "resp_bytes", "conn_state", "local_orig", "local_resp", "missed_bytes", "history",
	"orig_pkts", "orig_ip_bytes", "resp_pkts", "resp_ip_bytes", "tunnel_parents",
}

// ZeekTypes are the Zeek types of ZeekFields.
var ZeekTypes = []string{
	"time", "string", "addr", "port", "addr", "port", "enum", "string", "interval",
	"count", "count", "string", "bool", "bool", "count", "string",
	"count", "count", "count", "count", "set[string]",
}

const (
	zeekUnset = "-"
	// zeekTimeLayout is the strftime "%Y-%m-%d-%H-%M-%S" of #open and #close.
	zeekTimeLayout = "2006-01-02-15-04-05"
)

// WriteZeekConnLog writes conns as a Zeek conn.log. s gives the capture's
// time span for #open and #close.
func WriteZeekConnLog(w io.Writer, conns []*tracker.Conn, s Summary) error {
	bw := bufio.NewWriter(w)
	bw.WriteString("#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tconn\n")
	bw.WriteString("#open\t" + zeekHeaderTime(s.FirstTime) + "\n")
	bw.WriteString("#fields")
	for _, f := range ZeekFields {
		bw.WriteString("\t" + f)
	}
	bw.WriteString("\n#types")
	for _, t := range ZeekTypes {
		bw.WriteString("\t" + t)
	}
	bw.WriteByte('\n')
	var row []byte
	for _, c := range conns {
		row = appendZeekRow(row[:0], c)
		bw.Write(row)
	}
	bw.WriteString("#close\t" + zeekHeaderTime(s.LastTime) + "\n")
	return bw.Flush()
}

func zeekHeaderTime(ns int64) string {
	return time.Unix(0, ns).UTC().Format(zeekTimeLayout)
}

func appendZeekRow(b []byte, c *tracker.Conn) []byte {
	cl, sv := &c.Ends[tracker.Client], &c.Ends[tracker.Server]
	tab := func() { b = append(b, '\t') }
	b = appendZeekTime(b, c.FirstSeen)
	tab()
	b = append(b, ZeekUID(c)...)
	tab()
	b = append(b, zeekAddr(cl.Addr.Addr())...)
	tab()
	b = strconv.AppendUint(b, uint64(cl.Addr.Port()), 10)
	tab()
	b = append(b, zeekAddr(sv.Addr.Addr())...)
	tab()
	b = strconv.AppendUint(b, uint64(sv.Addr.Port()), 10)
	b = append(b, "\ttcp\t-\t"...) // proto, service
	if d := c.LastSeen - c.FirstSeen; d > 0 {
		b = appendZeekTime(b, d)
		tab()
		ob, rb := c.ZeekBytes()
		b = strconv.AppendUint(b, ob, 10)
		tab()
		b = strconv.AppendUint(b, rb, 10)
	} else {
		b = append(b, "-\t-\t-"...)
	}
	tab()
	b = appendZeekString(b, c.ConnState())
	tab()
	b = appendZeekBool(b, ZeekLocal(cl.Addr.Addr()))
	tab()
	b = appendZeekBool(b, ZeekLocal(sv.Addr.Addr()))
	tab()
	b = strconv.AppendUint(b, c.Seq.Dir[tracker.Client].MissedBytes+c.Seq.Dir[tracker.Server].MissedBytes, 10) // missed_bytes
	tab()
	b = appendZeekString(b, c.History())
	tab()
	b = strconv.AppendUint(b, cl.Packets, 10)
	tab()
	b = strconv.AppendUint(b, cl.IPBytes, 10)
	tab()
	b = strconv.AppendUint(b, sv.Packets, 10)
	tab()
	b = strconv.AppendUint(b, sv.IPBytes, 10)
	return append(b, "\t-\n"...) // tunnel_parents
}

// appendZeekTime writes seconds with six decimals, as Zeek's %.6f, rounding
// nanoseconds to the nearest microsecond.
func appendZeekTime(b []byte, ns int64) []byte {
	if ns < 0 {
		ns = 0
	}
	us := (ns + 500) / 1000
	b = strconv.AppendInt(b, us/1e6, 10)
	frac := us % 1e6
	b = append(b, '.')
	for d := int64(100000); d > 0; d /= 10 {
		b = append(b, byte('0'+frac/d%10))
	}
	return b
}

func appendZeekBool(b []byte, v bool) []byte {
	if v {
		return append(b, 'T')
	}
	return append(b, 'F')
}

// appendZeekString writes a string field as Zeek's ASCII writer does: unset
// when empty here (history is unset when no letter was recorded), bytes that
// are not printable ASCII, the separator and the backslash as \xNN, and a
// value that would read as the unset or empty marker escaped.
func appendZeekString(b []byte, s string) []byte {
	switch s {
	case "":
		return append(b, zeekUnset...)
	case zeekUnset:
		return append(b, `\x2d`...)
	case "(empty)":
		return append(b, `\x28empty)`...)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= 0x7f || c == '\\' {
			b = append(b, '\\', 'x', hexDigits[c>>4], hexDigits[c&0xf])
			continue
		}
		b = append(b, c)
	}
	return b
}

// zeekAddr prints an address as Zeek does: IPv4 dotted (also when it came
// mapped into IPv6), IPv6 compressed, without zone.
func zeekAddr(a netip.Addr) string {
	return a.Unmap().WithZone("").String()
}

// zeekPrivate is Site::private_address_space as Zeek ships it, which Zeek
// (since 6.0) copies into Site::local_nets.
var zeekPrivate = func() []netip.Prefix {
	var out []netip.Prefix
	for _, s := range []string{
		"0.0.0.0/8", "2002::/24", "10.0.0.0/8", "2002:a00::/24", "100.64.0.0/10", "2002:6440::/26",
		"127.0.0.0/8", "2002:7f00::/24", "169.254.0.0/16", "2002:a9fe::/32", "172.16.0.0/12", "2002:ac10::/28",
		"192.0.0.0/24", "2002:c000::/40", "192.0.2.0/24", "2002:c000:200::/40", "192.168.0.0/16", "2002:c0a8::/32",
		"198.18.0.0/15", "2002:c612::/31", "198.51.100.0/24", "2002:c633:6400::/40", "203.0.113.0/24", "2002:cb00:7100::/40",
		"240.0.0.0/4", "2002:f000::/20", "255.255.255.255/32", "2002:ffff:ffff::/48",
		"::/128", "::1/128", "64:ff9b:1::/48", "100::/64", "2001::/23", "2001:2::/48", "2001:db8::/32", "fc00::/7", "fe80::/10",
	} {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}()

// ZeekLocal reports whether Zeek, with its default configuration, logs the
// address as local (T in local_orig / local_resp).
func ZeekLocal(a netip.Addr) bool {
	a = a.Unmap().WithZone("")
	for _, p := range zeekPrivate {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// ZeekUID returns the connection's conn.log uid: "C" and the base62 form of
// 96 bits of a SHA-256 over what identifies the connection in a capture (the
// 4-tuple, the first packet's time and the connection id), like Zeek's
// 96-bit uids but reproducible from run to run.
func ZeekUID(c *tracker.Conn) string {
	h := sha256.New()
	for _, ap := range []netip.AddrPort{c.Client(), c.Server()} {
		a, _ := ap.Addr().MarshalBinary()
		h.Write(a)
		h.Write(binary.BigEndian.AppendUint16(nil, ap.Port()))
	}
	h.Write(binary.BigEndian.AppendUint64(nil, uint64(c.FirstSeen)))
	h.Write(binary.BigEndian.AppendUint64(nil, c.ID))
	sum := h.Sum(nil)
	n := new(big.Int).SetBytes(sum[:12])
	return "C" + n.Text(62)
}
