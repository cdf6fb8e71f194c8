package capture

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// LiveOptions configure a live capture.
type LiveOptions struct {
	Interface string // interface name, or "any" for all interfaces (Linux)
	Filter    string // tcpdump/BPF expression run in the kernel; "" = every packet

	// SnapLen is how many bytes of each packet are kept; 0 means
	// DefaultSnapLen. tcptrace needs headers only, and every byte more
	// costs kernel buffer space, copies and, with Write, disk.
	SnapLen int

	Promiscuous bool
	BufferSize  int // kernel capture buffer in bytes; 0 = libpcap's default (2 MiB on Linux)

	// ReadTimeout is the longest Next waits for a packet before it returns
	// ErrNoPacket, so that the caller can run wall-clock work while the
	// wire is quiet; 0 means DefaultReadTimeout. Packets themselves are
	// delivered at once (immediate mode), not held for the timeout.
	ReadTimeout time.Duration

	// Write, when set, names a file that receives every captured packet
	// as captured (snaplen bytes): pcap for a ".pcap" name, pcapng
	// otherwise, with nanosecond timestamps either way. An existing file
	// is an error unless Overwrite is set.
	Write     string
	Overwrite bool
}

// DefaultSnapLen covers the link, IP and TCP headers with options of
// ordinary traffic: Linux SLL2 (20) + IPv6 (40) + TCP with timestamps and
// SACK (up to 60) is 120. Longer headers are still analysed, from what was
// kept, and counted as truncated TCP.
const DefaultSnapLen = 128

// MinSnapLen is the smallest snap length a capture accepts: Ethernet,
// IPv4 and a TCP header without options.
const MinSnapLen = 64

// DefaultReadTimeout bounds how long Next blocks on a quiet wire.
const DefaultReadTimeout = 100 * time.Millisecond

// ErrNoPacket is returned by Live.Next when no packet arrived within the
// read timeout. It is not sticky: the capture goes on.
var ErrNoPacket = errors.New("capture: no packet within the read timeout")

// ErrLiveUnsupported is returned by OpenLive in a build without cgo.
var ErrLiveUnsupported = errors.New("live capture needs tcptrace built with cgo and libpcap (CGO_ENABLED=1, libpcap-dev)")

// KernelStats are the kernel's counts for a live capture (pcap_stats),
// since the capture was opened.
type KernelStats struct {
	Received  uint64 // packets the filter accepted
	Dropped   uint64 // accepted but dropped because the capture buffer was full: tcptrace fell behind
	IfDropped uint64 // dropped by the interface or its driver before the capture saw them
}

// Interface is a network interface a live capture can open.
type Interface struct {
	Name        string
	Description string
	Addresses   []netip.Prefix
	Up          bool
	Running     bool
	Loopback    bool
	Wireless    bool
}

// Flags lists the interface's flags as words: "up", "running",
// "loopback", "wireless".
func (i Interface) Flags() []string {
	var f []string
	for _, x := range []struct {
		set  bool
		name string
	}{{i.Up, "up"}, {i.Running, "running"}, {i.Loopback, "loopback"}, {i.Wireless, "wireless"}} {
		if x.set {
			f = append(f, x.name)
		}
	}
	return f
}

// PermissionError means the system refused to open the capture: it needs
// root or CAP_NET_RAW and CAP_NET_ADMIN. It matches os.ErrPermission.
type PermissionError struct {
	Interface string
	Err       error // libpcap's reason
}

func (e *PermissionError) Error() string {
	return fmt.Sprintf("capturing on %s needs root or CAP_NET_RAW+CAP_NET_ADMIN", e.Interface)
}

func (e *PermissionError) Unwrap() []error { return []error{os.ErrPermission, e.Err} }

// UnknownInterfaceError names an interface that does not exist, with the
// ones that do.
type UnknownInterfaceError struct {
	Interface string
	Available []string
}

func (e *UnknownInterfaceError) Error() string {
	if len(e.Available) == 0 {
		return fmt.Sprintf("no interface %q", e.Interface)
	}
	return fmt.Sprintf("no interface %q; available: %s", e.Interface, strings.Join(e.Available, ", "))
}

// checkLiveOptions validates the options that do not need libpcap and
// fills in the defaults.
func checkLiveOptions(opt *LiveOptions) error {
	if opt.Interface == "" {
		return errors.New("no interface given")
	}
	if opt.SnapLen == 0 {
		opt.SnapLen = DefaultSnapLen
	}
	if opt.SnapLen < MinSnapLen || opt.SnapLen > filterSnapLen {
		return fmt.Errorf("snap length %d out of range: %d to %d bytes", opt.SnapLen, MinSnapLen, filterSnapLen)
	}
	if opt.BufferSize < 0 {
		return fmt.Errorf("negative buffer size %d", opt.BufferSize)
	}
	if opt.ReadTimeout == 0 {
		opt.ReadTimeout = DefaultReadTimeout
	}
	if opt.ReadTimeout < time.Millisecond {
		return fmt.Errorf("read timeout %s is shorter than libpcap's 1 ms resolution", opt.ReadTimeout)
	}
	if opt.Write != "" {
		if _, err := SaveFormat(opt.Write); err != nil {
			return err
		}
	}
	return nil
}

// SaveFormat is the file format Live writes for a file name: "pcap" for
// names ending in .pcap, "pcapng" otherwise. Compressed names and standard
// output are refused: live events already use stdout, and compressing at
// capture rates belongs in a separate process.
func SaveFormat(name string) (string, error) {
	if name == "-" {
		return "", errors.New("cannot write packets to standard output: events go there; name a file")
	}
	lower := strings.ToLower(filepath.Base(name))
	for _, ext := range []string{".gz", ".zst", ".xz", ".bz2", ".lz4"} {
		if strings.HasSuffix(lower, ext) {
			return "", fmt.Errorf("%s: tcptrace does not compress the packets it writes; write .pcapng and compress it afterwards", name)
		}
	}
	if strings.HasSuffix(lower, ".pcap") || strings.HasSuffix(lower, ".cap") {
		return "pcap", nil
	}
	return "pcapng", nil
}

// createSaveFile creates the Write file, refusing to replace an existing one
// unless overwrite is set.
func createSaveFile(name string, overwrite bool) (*os.File, error) {
	flags := os.O_WRONLY | os.O_CREATE | os.O_EXCL
	if overwrite {
		flags = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	}
	f, err := os.OpenFile(name, flags, 0o644)
	if err != nil {
		if errors.Is(err, os.ErrExist) {
			return nil, &SaveExistsError{File: name}
		}
		return nil, err
	}
	return f, nil
}

// SaveExistsError refuses to overwrite a file named by LiveOptions.Write.
type SaveExistsError struct{ File string }

func (e *SaveExistsError) Error() string {
	return fmt.Sprintf("%s already exists; tcptrace does not overwrite captures", e.File)
}

// prefixOf turns an address and its mask into a prefix; an address without
// a usable mask becomes a single-address prefix.
func prefixOf(ip net.IP, mask net.IPMask) (netip.Prefix, bool) {
	addr, ok := netip.AddrFromSlice(ip)
	if !ok {
		return netip.Prefix{}, false
	}
	addr = addr.Unmap()
	bits := addr.BitLen()
	if ones, size := mask.Size(); size == addr.BitLen() {
		bits = ones
	}
	return netip.PrefixFrom(addr, bits), true
}
