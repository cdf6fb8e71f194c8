package tracker

import (
	"testing"

	"github.com/tcptrace/tcptrace/tcp"
)

// Frozen is the number of frozen connections, for tests outside the package.
func FrozenCount(t *Tracker) int { return t.frozen.len() }

// FrozenOpen is the number of frozen connections not done with data (idle).
func FrozenOpen(t *Tracker) int {
	n := 0
	for _, s := range t.frozen.slots {
		if f := s.v; f != nil && !(doneWithData(f.states[Client]) && doneWithData(f.states[Server])) {
			n++
		}
	}
	return n
}

// SetSweepEvery makes t sweep for idle connections every n packets.
func SetSweepEvery(t *Tracker, n int) { t.sweepEvery = n }

// DecodeAll decodes the TCP segments of a capture held in memory.
func DecodeAll(t testing.TB, data []byte) []tcp.Segment { return decodeAll(t, data) }
