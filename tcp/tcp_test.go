package tcp

import "testing"

func TestSeqWrap(t *testing.T) {
	tests := []struct {
		a, b      Seq
		less, leq bool
		diff      int32
	}{
		{1, 2, true, true, -1},
		{2, 1, false, false, 1},
		{5, 5, false, true, 0},
		{0xffffffff, 0, true, true, -1}, // wraps: 2^32-1 is just before 0
		{0, 0xffffffff, false, false, 1},
		{0xfffffff0, 0x10, true, true, -0x20}, // across the wrap
		{0x10, 0xfffffff0, false, false, 0x20},
	}
	for _, tt := range tests {
		if got := tt.a.Less(tt.b); got != tt.less {
			t.Errorf("%#x.Less(%#x) = %v, want %v", tt.a, tt.b, got, tt.less)
		}
		if got := tt.a.LessEq(tt.b); got != tt.leq {
			t.Errorf("%#x.LessEq(%#x) = %v, want %v", tt.a, tt.b, got, tt.leq)
		}
		if got := tt.a.Diff(tt.b); got != tt.diff {
			t.Errorf("%#x.Diff(%#x) = %d, want %d", tt.a, tt.b, got, tt.diff)
		}
	}
}

func TestInWindow(t *testing.T) {
	tests := []struct {
		s, lo Seq
		size  uint32
		want  bool
	}{
		{10, 10, 1, true},
		{10, 10, 0, false},
		{9, 10, 100, false},
		{109, 10, 100, true},
		{110, 10, 100, false},
		{0x5, 0xfffffff0, 0x20, true}, // window spans the wrap
		{0x10, 0xfffffff0, 0x20, false},
	}
	for _, tt := range tests {
		if got := tt.s.InWindow(tt.lo, tt.size); got != tt.want {
			t.Errorf("%#x.InWindow(%#x, %d) = %v, want %v", tt.s, tt.lo, tt.size, got, tt.want)
		}
	}
}

func TestFlagsString(t *testing.T) {
	tests := []struct {
		f    Flags
		want string
	}{
		{0, "none"},
		{SYN, "SYN"},
		{SYN | ACK, "SYN,ACK"},
		{FIN | ACK | PSH, "FIN,PSH,ACK"},
		{RST | ACK, "RST,ACK"},
	}
	for _, tt := range tests {
		if got := tt.f.String(); got != tt.want {
			t.Errorf("Flags(%#x).String() = %q, want %q", uint16(tt.f), got, tt.want)
		}
	}
}
