//go:build race

package synth

// raceEnabled shrinks the statistics-heavy tests under the race detector,
// which slows this single-goroutine code tenfold and adds nothing to it.
const raceEnabled = true
