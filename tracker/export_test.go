package tracker

// Frozen is the number of frozen connections, for tests outside the package.
func FrozenCount(t *Tracker) int { return t.frozen.len() }
