package report

import "testing"

func TestEscape(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain.pcap", "plain.pcap"},
		{"état ×2 ✓", "état ×2 ✓"},
		{"a\x1b[31mred", `a\x1b[31mred`},
		{"tab\there", `tab\there`},
		{"nl\nx", `nl\nx`},
		{"bad\xffutf8", `bad\xffutf8`},
		{"c1\u0085x", `c1\u0085x`},
		{"bidi\u202eevil", `bidi\u202eevil`},
	}
	for _, tt := range tests {
		if got := Escape(tt.in); got != tt.want {
			t.Errorf("Escape(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
