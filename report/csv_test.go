package report

import (
	"bytes"
	"encoding/csv"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestCSVMatchesJSON renders every bundled capture as CSV, reads it back
// with a strict RFC 4180 reader and checks each row against the JSON output
// of the same connection.
func TestCSVMatchesJSON(t *testing.T) {
	rows := 0
	for _, file := range bundledCaptures(t) {
		conns, _ := analyseFile(t, file)
		var buf bytes.Buffer
		if err := WriteCSV(&buf, conns); err != nil {
			t.Fatal(err)
		}
		raw := buf.String()
		if strings.Count(raw, "\r\n") != len(conns)+1 || strings.Count(raw, "\n") != len(conns)+1 {
			t.Errorf("%s: want %d CRLF-terminated lines:\n%q", file, len(conns)+1, raw)
		}
		r := csv.NewReader(strings.NewReader(raw))
		r.FieldsPerRecord = len(CSVHeader)
		records, err := r.ReadAll()
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if strings.Join(records[0], ",") != strings.Join(CSVHeader, ",") {
			t.Errorf("%s: header %v", file, records[0])
		}
		for i, rec := range records[1:] {
			rows++
			v := map[string]string{}
			for k, name := range CSVHeader {
				v[name] = rec[k]
			}
			j := jsonOf(t, conns[i])
			u := func(n uint64) string { return strconv.FormatUint(n, 10) }
			first, last := rfc3339ns(t, j.FirstSeen), rfc3339ns(t, j.LastSeen)
			var kinds []string
			worst := ""
			rank := map[string]int{"": -1, "info": 0, "warning": 1, "error": 2}
			for _, a := range j.Anomalies {
				if !strings.Contains(";"+strings.Join(kinds, ";")+";", ";"+a.Kind+";") {
					kinds = append(kinds, a.Kind)
				}
				if rank[a.Severity] > rank[worst] {
					worst = a.Severity
				}
			}
			cl, sv := strings.LastIndex(j.Client, ":"), strings.LastIndex(j.Server, ":")
			for field, want := range map[string]string{
				"id":                   u(j.ID),
				"client_ip":            strings.Trim(j.Client[:cl], "[]"),
				"client_port":          j.Client[cl+1:],
				"server_ip":            strings.Trim(j.Server[:sv], "[]"),
				"server_port":          j.Server[sv+1:],
				"first_seen":           j.FirstSeen,
				"last_seen":            j.LastSeen,
				"duration_s":           strconv.FormatFloat(time.Duration(last-first).Seconds(), 'f', 6, 64),
				"client_state":         j.ClientSt,
				"server_state":         j.ServerSt,
				"client_initial_state": j.ClientInit,
				"server_initial_state": j.ServerInit,
				"conn_state":           j.ConnState,
				"history":              j.History,
				"midstream":            strconv.FormatBool(j.Midstream),
				"client_packets":       u(j.Packets.Client),
				"server_packets":       u(j.Packets.Server),
				"client_bytes":         u(j.Bytes.Client),
				"server_bytes":         u(j.Bytes.Server),
				"transitions":          strconv.Itoa(len(j.Trans)),
				"anomalies":            strings.Join(kinds, ";"),
				"severity":             worst,
			} {
				if v[field] != want {
					t.Errorf("%s conn %d: %s = %q, JSON says %q", file, j.ID, field, v[field], want)
				}
			}
		}
	}
	if rows == 0 {
		t.Fatal("no rows checked")
	}
}
