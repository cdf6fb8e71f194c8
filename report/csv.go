package report

import (
	"encoding/csv"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/tcptrace/tcptrace/tracker"
)

// CSVHeader names the columns of the CSV output, one row per connection.
// They are the connection fields of the JSON output, flattened: addresses
// split into IP and port, transitions counted, anomalies as a list of kinds
// and the highest severity. Pileups and the summary have no rows.
var CSVHeader = []string{
	"id", "client_ip", "client_port", "server_ip", "server_port",
	"first_seen", "last_seen", "duration_s",
	"client_state", "server_state", "client_initial_state", "server_initial_state",
	"conn_state", "history", "midstream",
	"client_packets", "server_packets", "client_bytes", "server_bytes",
	"transitions", "anomalies", "severity",
}

// WriteCSV writes a header and one row per connection. Quoting follows RFC
// 4180: fields with commas, quotes or line breaks are quoted, quotes
// doubled, and lines end in CRLF.
func WriteCSV(w io.Writer, conns []*tracker.Conn) error {
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	if err := cw.Write(CSVHeader); err != nil {
		return err
	}
	row := make([]string, len(CSVHeader))
	for _, c := range conns {
		csvRow(row, c)
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

func csvRow(row []string, c *tracker.Conn) {
	cl, sv := &c.Ends[tracker.Client], &c.Ends[tracker.Server]
	u := func(v uint64) string { return strconv.FormatUint(v, 10) }
	row[0] = u(c.ID)
	row[1], row[2] = cl.Addr.Addr().String(), u(uint64(cl.Addr.Port()))
	row[3], row[4] = sv.Addr.Addr().String(), u(uint64(sv.Addr.Port()))
	row[5], row[6] = csvTime(c.FirstSeen), csvTime(c.LastSeen)
	row[7] = strconv.FormatFloat(float64(c.LastSeen-c.FirstSeen)/1e9, 'f', 6, 64)
	row[8], row[9] = cl.State.String(), sv.State.String()
	row[10], row[11] = cl.Initial.String(), sv.Initial.String()
	row[12], row[13] = c.ConnState(), c.History()
	row[14] = strconv.FormatBool(c.Midstream)
	row[15], row[16] = u(cl.Packets), u(sv.Packets)
	row[17], row[18] = u(cl.Bytes), u(sv.Bytes)
	row[19] = strconv.Itoa(len(c.Transitions))
	var kinds []string
	seen := map[tracker.Kind]bool{}
	worst, anomalous := tracker.Info, false
	for _, a := range c.Anomalies {
		if !seen[a.Kind] {
			seen[a.Kind] = true
			kinds = append(kinds, a.Kind.String())
		}
		if !anomalous || a.Severity > worst {
			worst, anomalous = a.Severity, true
		}
	}
	row[20] = strings.Join(kinds, ";")
	row[21] = ""
	if anomalous {
		row[21] = worst.String()
	}
}

// csvTime is the JSON output's time format: RFC 3339, nanoseconds, UTC.
func csvTime(ns int64) string { return time.Unix(0, ns).UTC().Format(time.RFC3339Nano) }
