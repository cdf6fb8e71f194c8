//go:build !cgo

package capture

import (
	"fmt"
	"net"

	"github.com/tcptrace/tcptrace/tcp"
)

// Live is a live capture. Without cgo there is no libpcap, so OpenLive
// always fails with ErrLiveUnsupported; the type exists so that callers
// build the same way.
type Live struct{}

// OpenLive fails: live capture needs libpcap. The options are still
// checked, so usage errors read the same in every build.
func OpenLive(opt LiveOptions) (*Live, error) {
	if err := checkLiveOptions(&opt); err != nil {
		return nil, err
	}
	return nil, ErrLiveUnsupported
}

// Next is never reached: OpenLive fails.
func (l *Live) Next(seg *tcp.Segment) (Kind, error) { return KindUndecodable, ErrLiveUnsupported }

// Stats is empty.
func (l *Live) Stats() Stats { return Stats{} }

// Kernel fails.
func (l *Live) Kernel() (KernelStats, error) { return KernelStats{}, ErrLiveUnsupported }

// Interface is empty.
func (l *Live) Interface() string { return "" }

// LinkType is zero.
func (l *Live) LinkType() LinkType { return 0 }

// SnapLen is zero.
func (l *Live) SnapLen() int { return 0 }

// Flush does nothing.
func (l *Live) Flush() error { return nil }

// Close does nothing.
func (l *Live) Close() error { return nil }

// Interfaces lists the system's interfaces from the Go standard library,
// which needs no libpcap (there is no "any" and no description).
func Interfaces() ([]Interface, error) {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil, fmt.Errorf("listing interfaces: %w", err)
	}
	out := make([]Interface, 0, len(ifs))
	for _, ni := range ifs {
		i := Interface{
			Name:     ni.Name,
			Up:       ni.Flags&net.FlagUp != 0,
			Running:  ni.Flags&net.FlagRunning != 0,
			Loopback: ni.Flags&net.FlagLoopback != 0,
		}
		addrs, _ := ni.Addrs()
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok {
				if p, ok := prefixOf(n.IP, n.Mask); ok {
					i.Addresses = append(i.Addresses, p)
				}
			}
		}
		out = append(out, i)
	}
	return out, nil
}
