package main

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRun(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name    string
		args    []string
		wantErr error
		stderr  string
		check   func(t *testing.T, stdout []byte)
	}{
		{name: "mix to file", args: []string{"-packets", "5000", "-o", filepath.Join(dir, "mix.pcap")},
			stderr: "5000 packets", check: func(t *testing.T, _ []byte) {
				b, err := os.ReadFile(filepath.Join(dir, "mix.pcap"))
				if err != nil {
					t.Fatal(err)
				}
				checkPcap(t, b, 0xa1b2c3d4)
			}},
		{name: "flood to stdout, nanoseconds", args: []string{"-flood", "-rst", "0.5", "-packets", "300", "-ns", "-q", "-o", "-"},
			check: func(t *testing.T, stdout []byte) { checkPcap(t, stdout, 0xa1b23c4d) }},
		{name: "realistic flood", args: []string{"-realistic", "-packets", "20000", "-o", filepath.Join(dir, "flood.pcap")},
			stderr: "distinct connections, 4.1", check: func(t *testing.T, _ []byte) {
				b, err := os.ReadFile(filepath.Join(dir, "flood.pcap"))
				if err != nil {
					t.Fatal(err)
				}
				checkPcap(t, b, 0xa1b2c3d4)
			}},
		{name: "flags override the realistic flood", args: []string{"-realistic", "-scan", "0", "-synack", "1", "-syn-retry", "0",
			"-synack-retries", "2", "-rate", "1000", "-packets", "4000", "-o", "-"},
			stderr: "1000 probes, 1000 half-open; 1000 distinct connections, 4.00 packets each"},
		{name: "plain flood summary", args: []string{"-flood", "-rst", "1", "-packets", "4000", "-o", "-"},
			stderr: "refused; 2012 distinct connections, 1.99 packets each"},
		{name: "bad flood share", args: []string{"-realistic", "-scan", "2", "-packets", "10", "-o", "-"}, wantErr: errAny},
		{name: "no output", args: []string{"-packets", "10"}, wantErr: errUsage, stderr: "need -o"},
		{name: "stray argument", args: []string{"-o", "x", "y"}, wantErr: errUsage, stderr: "hint:"},
		{name: "bad flag", args: []string{"-nope"}, wantErr: errUsage, stderr: "Examples:"},
		{name: "bad value", args: []string{"-packets", "-3", "-o", filepath.Join(dir, "bad.pcap")}, stderr: "",
			wantErr: errAny},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(tt.args, &stdout, &stderr)
			switch {
			case tt.wantErr == errAny && err == nil:
				t.Fatal("no error")
			case tt.wantErr != errAny && !errors.Is(err, tt.wantErr):
				t.Fatalf("error %v, want %v", err, tt.wantErr)
			}
			if !strings.Contains(stderr.String(), tt.stderr) {
				t.Errorf("stderr %q lacks %q", stderr.String(), tt.stderr)
			}
			if tt.check != nil {
				tt.check(t, stdout.Bytes())
			}
		})
	}
}

var errAny = errors.New("any error")

func checkPcap(t *testing.T, b []byte, magic uint32) {
	t.Helper()
	if len(b) < 24+16 || binary.LittleEndian.Uint32(b) != magic || binary.LittleEndian.Uint32(b[20:]) != 1 {
		t.Fatalf("not an Ethernet pcap with magic %#x: % x", magic, b[:min(len(b), 24)])
	}
}
