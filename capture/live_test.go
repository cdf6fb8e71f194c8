//go:build cgo

package capture

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tcptrace/tcptrace/tcp"
)

func TestActivateError(t *testing.T) {
	for _, tc := range []struct {
		libpcap string
		want    string // substring of the error
		perm    bool
	}{
		{"Permission Denied", "capturing on eth7 needs root or CAP_NET_RAW+CAP_NET_ADMIN", true},
		{"Error: socket: Operation not permitted", "capturing on eth7 needs root", true},
		{"unknown activated error: -11", "capturing on eth7 needs root", true},
		{"Interface Not Up", "interface eth7 is down; bring it up with: ip link set eth7 up", false},
		{"No Such Device", `no interface "eth7"`, false},
		{"Error: something else", "opening eth7: Error: something else", false},
	} {
		t.Run(tc.libpcap, func(t *testing.T) {
			err := activateError("eth7", errors.New(tc.libpcap))
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %q, want it to contain %q", err, tc.want)
			}
			var pe *PermissionError
			if got := errors.As(err, &pe); got != tc.perm {
				t.Errorf("PermissionError: %v, want %v", got, tc.perm)
			}
			if got := errors.Is(err, os.ErrPermission); got != tc.perm {
				t.Errorf("errors.Is(os.ErrPermission): %v, want %v", got, tc.perm)
			}
		})
	}
}

func TestSaveFormat(t *testing.T) {
	for _, tc := range []struct {
		name, want, err string
	}{
		{"x.pcapng", "pcapng", ""},
		{"x", "pcapng", ""},
		{"dir.pcap/x.ntar", "pcapng", ""},
		{"x.pcap", "pcap", ""},
		{"X.PCAP", "pcap", ""},
		{"x.cap", "pcap", ""},
		{"x.pcap.gz", "", "does not compress"},
		{"x.pcapng.zst", "", "does not compress"},
		{"-", "", "standard output"},
	} {
		got, err := SaveFormat(tc.name)
		if got != tc.want || (err == nil) != (tc.err == "") || (err != nil && !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("SaveFormat(%q) = %q, %v; want %q, error containing %q", tc.name, got, err, tc.want, tc.err)
		}
	}
}

func TestCheckLiveOptions(t *testing.T) {
	for _, tc := range []struct {
		name string
		opt  LiveOptions
		err  string
	}{
		{"defaults", LiveOptions{Interface: "lo"}, ""},
		{"no interface", LiveOptions{}, "no interface"},
		{"snaplen too small", LiveOptions{Interface: "lo", SnapLen: 40}, "snap length 40 out of range"},
		{"snaplen too large", LiveOptions{Interface: "lo", SnapLen: 1 << 20}, "out of range"},
		{"negative buffer", LiveOptions{Interface: "lo", BufferSize: -1}, "negative buffer"},
		{"timeout under 1ms", LiveOptions{Interface: "lo", ReadTimeout: time.Microsecond}, "1 ms"},
		{"compressed save", LiveOptions{Interface: "lo", Write: "a.pcap.gz"}, "compress"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opt := tc.opt
			err := checkLiveOptions(&opt)
			if (err == nil) != (tc.err == "") || (err != nil && !strings.Contains(err.Error(), tc.err)) {
				t.Fatalf("got %v, want error containing %q", err, tc.err)
			}
			if err == nil && (opt.SnapLen != DefaultSnapLen || opt.ReadTimeout != DefaultReadTimeout) {
				t.Errorf("defaults not filled in: %+v", opt)
			}
		})
	}
}

func TestCreateSaveFileRefusesToOverwrite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.pcapng")
	if err := os.WriteFile(path, []byte("precious"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := createSaveFile(path, false)
	var ee *SaveExistsError
	if !errors.As(err, &ee) || ee.File != path {
		t.Fatalf("got %v, want *SaveExistsError for %s", err, path)
	}
	if b, _ := os.ReadFile(path); string(b) != "precious" {
		t.Fatalf("file changed to %q", b)
	}
	f, err := createSaveFile(path, true)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	if b, _ := os.ReadFile(path); len(b) != 0 {
		t.Fatalf("overwrite kept %q", b)
	}
}

func TestOpenLiveUnknownInterface(t *testing.T) {
	_, err := OpenLive(LiveOptions{Interface: "tcptrace-no-such-if0"})
	var ue *UnknownInterfaceError
	if !errors.As(err, &ue) {
		t.Fatalf("got %v, want *UnknownInterfaceError", err)
	}
	if !strings.Contains(err.Error(), "lo") {
		t.Errorf("%q does not list lo among the available interfaces", err)
	}
}

// TestLiveLoopback captures real traffic on lo (root only): every segment
// of a connection arrives decoded, the read timeout shows as ErrNoPacket,
// the saved file reads back as the same segments in both formats, and
// reading costs no allocation per packet.
func TestLiveLoopback(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("live capture needs root (CI runs tests as root)")
	}
	for _, name := range []string{"x.pcapng", "x.pcap"} {
		t.Run(name, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			port := ln.Addr().(*net.TCPAddr).Port
			save := filepath.Join(t.TempDir(), name)
			l, err := OpenLive(LiveOptions{Interface: "lo", Filter: fmt.Sprintf("tcp port %d", port), ReadTimeout: 50 * time.Millisecond, Write: save})
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			if l.LinkType() != LinkEthernet && l.LinkType() != LinkNull {
				t.Logf("lo link type %s", l.LinkType())
			}

			var seg tcp.Segment
			if _, err := l.Next(&seg); err != ErrNoPacket {
				t.Fatalf("quiet wire: got %v, want ErrNoPacket", err)
			}
			exchange(t, ln)

			var live []tcp.Segment
			for {
				kind, err := l.Next(&seg)
				if err == ErrNoPacket {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				if kind != KindTCP {
					t.Fatalf("packet %d: kind %s", seg.Packet, kind)
				}
				live = append(live, seg)
			}
			// SYN, SYN-ACK, ACK, data, ACK, FIN, ACK, FIN, ACK at least.
			if len(live) < 7 {
				t.Fatalf("captured %d segments", len(live))
			}
			if !live[0].Flags.Has(tcp.SYN) || live[0].Dst.Port() != uint16(port) {
				t.Errorf("first segment %v → %v %s, want the SYN to port %d", live[0].Src, live[0].Dst, live[0].Flags, port)
			}
			if st := l.Stats(); st.Packets != uint64(len(live)) || st.ByKind[KindTCP] != uint64(len(live)) {
				t.Errorf("stats %+v for %d segments", st, len(live))
			}
			k, err := l.Kernel()
			if err != nil || k.Received < uint64(len(live)) || k.Dropped != 0 {
				t.Errorf("kernel stats %+v, %v for %d segments", k, err, len(live))
			}
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			if _, err := l.Next(&seg); err != io.EOF {
				t.Errorf("Next after Close: %v, want io.EOF", err)
			}

			r, err := Files([]string{save}, Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			for i := 0; ; i++ {
				var back tcp.Segment
				_, err := r.Next(&back)
				if err == io.EOF {
					if i != len(live) {
						t.Errorf("file has %d packets, live %d", i, len(live))
					}
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				if i < len(live) && back != live[i] {
					t.Errorf("packet %d differs:\nlive %+v\nfile %+v", i+1, live[i], back)
				}
			}
			if st := r.Stats(); st.Files[0].Format != strings.TrimPrefix(filepath.Ext(name), ".") {
				t.Errorf("saved as %s", st.Files[0].Format)
			}
		})
	}
}

// exchange makes one connection to ln: data both ways, then an orderly
// close from the client.
func exchange(t *testing.T, ln net.Listener) {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			done <- err
			return
		}
		defer c.Close()
		buf := make([]byte, 16)
		n, err := c.Read(buf)
		if err == nil {
			_, err = c.Write(buf[:n])
		}
		if err == nil {
			_, err = c.Read(buf) // until the client's FIN
			if err == io.EOF {
				err = nil
			}
		}
		done <- err
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(c, make([]byte, 4)); err != nil {
		t.Fatal(err)
	}
	c.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond) // the last ACK
}

// TestLiveNextAllocs checks the zero-copy path: once warm, reading and
// decoding a packet, and saving it, allocates nothing.
func TestLiveNextAllocs(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("live capture needs root (CI runs tests as root)")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	l, err := OpenLive(LiveOptions{Interface: "lo", Filter: fmt.Sprintf("tcp port %d", port), Write: filepath.Join(t.TempDir(), "a.pcapng")})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	const conns = 40
	for range conns {
		exchange(t, ln)
	}
	var seg tcp.Segment
	got := 0
	allocs := testing.AllocsPerRun(conns*7, func() {
		if _, err := l.Next(&seg); err == nil {
			got++
		}
	})
	if got < conns*7 {
		t.Fatalf("only %d packets captured", got)
	}
	if allocs != 0 {
		t.Errorf("%.2f allocations per packet, want 0", allocs)
	}
}
