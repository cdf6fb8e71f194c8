package tracker

import (
	"sort"
	"strings"
	"time"

	"github.com/tcptrace/tcptrace/tcp"
)

// dur prints a capture-time duration for people: 3 significant digits.
func dur(ns int64) string {
	d := time.Duration(ns)
	switch {
	case d < 0:
		return "0s"
	case d < time.Millisecond:
		return d.Round(time.Microsecond).String()
	case d < time.Second:
		return d.Round(10 * time.Microsecond).String()
	case d < time.Minute:
		return d.Round(10 * time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}

func seq32(s tcp.Seq) uint32 { return uint32(s) }

func joinComma(s []string) string { return strings.Join(s, ", ") }

func sortPileups(p []Pileup) {
	sort.Slice(p, func(i, j int) bool {
		if p[i].Kind != p[j].Kind {
			return p[i].Kind < p[j].Kind
		}
		return p[i].Endpoint < p[j].Endpoint
	})
}
