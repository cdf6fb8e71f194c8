//go:build cgo

package capture

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcap"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/tcptrace/tcptrace/tcp"
)

// Live captures packets from a network interface with libpcap and decodes
// them into tcp.Segment, with the same Next contract as the file Reader:
// packet bytes are read in place (zero copy) and only scalars are kept, so
// steady-state capture costs no allocation per packet.
//
// Live is not safe for concurrent use; stop a capture by no longer calling
// Next (each call returns within the read timeout) and then calling Close.
type Live struct {
	handle  *pcap.Handle
	iface   string
	link    LinkType
	snapLen int
	stats   Stats
	last    int64 // time of the previous packet
	started time.Time

	save     packetSaver // nil without LiveOptions.Write
	saveFile *os.File
	saveBuf  *bufio.Writer
	saveNg   *pcapgo.NgWriter // set when save is pcapng, for the closing statistics block

	err error // sticky: a read or write failure, or Close
}

// packetSaver is what pcapgo's pcap and pcapng writers have in common.
type packetSaver interface {
	WritePacket(ci gopacket.CaptureInfo, data []byte) error
}

// saveBufferSize batches writes to the save file: at 128-byte snaplen one
// write per ~6000 packets.
const saveBufferSize = 1 << 20

// OpenLive opens a live capture. Errors name the interface: a
// *PermissionError when the capture is not allowed, an
// *UnknownInterfaceError listing the interfaces when the name is wrong, a
// *SaveExistsError when Write names an existing file and Overwrite is not
// set.
func OpenLive(opt LiveOptions) (*Live, error) {
	if err := checkLiveOptions(&opt); err != nil {
		return nil, err
	}
	// Check the name first: without privileges libpcap reports "permission
	// denied" before it looks at the name, and a typo deserves the list.
	if opt.Interface != "any" {
		if ifs, err := Interfaces(); err == nil && !slices.ContainsFunc(ifs, func(i Interface) bool { return i.Name == opt.Interface }) {
			return nil, unknownInterface(opt.Interface, ifs)
		}
	}
	handle, err := activate(opt)
	if err != nil {
		return nil, err
	}
	l := &Live{handle: handle, iface: opt.Interface, link: LinkType(handle.LinkType()), snapLen: handle.SnapLen(), started: time.Now()}
	if !l.link.Supported() {
		handle.Close()
		return nil, fmt.Errorf("interface %s has link type %s, which tcptrace cannot decode; tcptrace reads Ethernet, Linux SLL/SLL2, raw IP and BSD loopback", opt.Interface, l.link)
	}
	if opt.Filter != "" {
		// The kernel runs the filter, so rejected packets never cross into
		// user space (and are not counted as filtered).
		if err := handle.SetBPFFilter(opt.Filter); err != nil {
			handle.Close()
			return nil, fmt.Errorf("filter %q on %s: %w", opt.Filter, opt.Interface, err)
		}
	}
	if opt.Write != "" {
		if err := l.openSave(opt); err != nil {
			handle.Close()
			return nil, err
		}
	}
	return l, nil
}

// activate creates and activates the pcap handle, turning libpcap's
// failures into errors that say what to do.
func activate(opt LiveOptions) (*pcap.Handle, error) {
	in, err := pcap.NewInactiveHandle(opt.Interface)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", opt.Interface, err)
	}
	defer in.CleanUp()
	for _, step := range []struct {
		what string
		err  error
	}{
		{"snap length", in.SetSnapLen(opt.SnapLen)},
		{"promiscuous mode", in.SetPromisc(opt.Promiscuous)},
		{"read timeout", in.SetTimeout(opt.ReadTimeout)},
		// Immediate mode hands over each packet as it arrives, so events
		// are not held back until a buffer block fills.
		{"immediate mode", in.SetImmediateMode(true)},
	} {
		if step.err != nil {
			return nil, fmt.Errorf("setting the %s on %s: %w", step.what, opt.Interface, step.err)
		}
	}
	if opt.BufferSize > 0 {
		if err := in.SetBufferSize(opt.BufferSize); err != nil {
			return nil, fmt.Errorf("setting the buffer size on %s: %w", opt.Interface, err)
		}
	}
	h, err := in.Activate()
	if err != nil {
		return nil, activateError(opt.Interface, err)
	}
	return h, nil
}

// activateError classifies an error from pcap_activate. gopacket keeps
// libpcap's status codes unexported and reports them by message, so the
// messages are matched here: "Permission Denied" is PCAP_ERROR_PERM_DENIED,
// -11 is PCAP_ERROR_PROMISC_PERM_DENIED, and a generic PCAP_ERROR carries
// the system's "Operation not permitted".
func activateError(iface string, err error) error {
	msg := err.Error()
	lower := strings.ToLower(msg)
	switch {
	case strings.Contains(lower, "permission denied"), strings.Contains(lower, "not permitted"),
		strings.HasSuffix(msg, "error: -11"):
		return &PermissionError{Interface: iface, Err: err}
	case msg == "No Such Device":
		ifs, _ := Interfaces()
		return unknownInterface(iface, ifs)
	case msg == "Interface Not Up":
		return fmt.Errorf("interface %s is down; bring it up with: ip link set %s up", iface, iface)
	}
	return fmt.Errorf("opening %s: %w", iface, err)
}

func unknownInterface(name string, ifs []Interface) error {
	e := &UnknownInterfaceError{Interface: name}
	for _, i := range ifs {
		e.Available = append(e.Available, i.Name)
	}
	return e
}

// openSave creates the Write file and its header.
func (l *Live) openSave(opt LiveOptions) error {
	format, err := SaveFormat(opt.Write)
	if err != nil {
		return err
	}
	f, err := createSaveFile(opt.Write, opt.Overwrite)
	if err != nil {
		return err
	}
	l.saveFile = f
	l.saveBuf = bufio.NewWriterSize(f, saveBufferSize)
	fail := func(err error) error {
		f.Close()
		l.saveFile, l.saveBuf = nil, nil
		return fmt.Errorf("writing %s: %w", opt.Write, err)
	}
	if format == "pcap" {
		w := pcapgo.NewWriterNanos(l.saveBuf)
		if err := w.WriteFileHeader(uint32(l.snapLen), layers.LinkType(l.link)); err != nil {
			return fail(err)
		}
		l.save = w
		return nil
	}
	intf := pcapgo.DefaultNgInterface
	intf.Name = opt.Interface
	intf.LinkType = layers.LinkType(l.link)
	intf.SnapLength = uint32(l.snapLen)
	intf.Filter = opt.Filter
	info := pcapgo.DefaultNgWriterOptions
	info.SectionInfo.Application = "tcptrace live"
	w, err := pcapgo.NewNgWriterInterface(l.saveBuf, intf, info)
	if err != nil {
		return fail(err)
	}
	l.save, l.saveNg = w, w
	return nil
}

// Next waits for the next packet, decodes it into seg (overwriting every
// field) and returns its kind. seg.Packet counts every packet captured,
// from 1. When no packet arrives within the read timeout it returns
// ErrNoPacket, which is not sticky. A failure to read the interface or to
// write the save file is returned and is sticky, as is io.EOF after Close.
func (l *Live) Next(seg *tcp.Segment) (Kind, error) {
	if l.err != nil {
		return KindUndecodable, l.err
	}
	data, ci, err := l.handle.ZeroCopyReadPacketData()
	if err != nil {
		if errors.Is(err, pcap.NextErrorTimeoutExpired) {
			return KindUndecodable, ErrNoPacket
		}
		if err == io.EOF {
			l.err = io.EOF
		} else {
			l.err = fmt.Errorf("reading from %s: %w", l.iface, err)
		}
		return KindUndecodable, l.err
	}
	if l.save != nil {
		// The file has one interface, whatever the kernel's index.
		ci.InterfaceIndex = 0
		if err := l.save.WritePacket(ci, data); err != nil {
			l.err = fmt.Errorf("writing %s: %w", l.saveFile.Name(), err)
			return KindUndecodable, l.err
		}
	}
	now := ci.Timestamp.UnixNano()
	if l.stats.Packets > 0 && now < l.last {
		l.stats.TimeWentBack++
	}
	l.last = now
	l.stats.Packets++
	seg.Time, seg.Packet = now, l.stats.Packets
	kind := Decode(l.link, data, ci.Length, seg)
	l.stats.ByKind[kind]++
	if kind == KindTCP && seg.Truncated {
		l.stats.TruncatedTCP++
	}
	return kind, nil
}

// Stats returns the counts of packets handed out so far. Files is empty.
func (l *Live) Stats() Stats { return l.stats }

// Kernel returns the kernel's counts since the capture was opened.
func (l *Live) Kernel() (KernelStats, error) {
	if l.handle == nil {
		return KernelStats{}, errors.New("capture: closed")
	}
	s, err := l.handle.Stats()
	if err != nil {
		return KernelStats{}, fmt.Errorf("statistics of %s: %w", l.iface, err)
	}
	return KernelStats{Received: uint64(s.PacketsReceived), Dropped: uint64(s.PacketsDropped), IfDropped: uint64(s.PacketsIfDropped)}, nil
}

// Interface is the interface name the capture was opened on.
func (l *Live) Interface() string { return l.iface }

// LinkType is the interface's link-layer header type.
func (l *Live) LinkType() LinkType { return l.link }

// SnapLen is the snap length libpcap applied.
func (l *Live) SnapLen() int { return l.snapLen }

// Flush pushes buffered packets to the save file, so that a copy of the
// file taken now is readable up to here. Callers flush now and then (once
// a second, say) and Close flushes at the end.
func (l *Live) Flush() error {
	if l.saveBuf == nil {
		return nil
	}
	if l.saveNg != nil {
		if err := l.saveNg.Flush(); err != nil {
			return fmt.Errorf("writing %s: %w", l.saveFile.Name(), err)
		}
	}
	if err := l.saveBuf.Flush(); err != nil {
		return fmt.Errorf("writing %s: %w", l.saveFile.Name(), err)
	}
	return nil
}

// Close stops the capture and completes the save file: a pcapng file gets
// an interface statistics block with the capture's start and end and the
// kernel's counts. Next returns io.EOF afterwards.
func (l *Live) Close() error {
	if l.handle == nil {
		return nil
	}
	var errs []error
	if l.saveNg != nil {
		st := pcapgo.NgInterfaceStatistics{
			LastUpdate: time.Now(), StartTime: l.started, EndTime: time.Now(),
			PacketsReceived: pcapgo.NgNoValue64, PacketsDropped: pcapgo.NgNoValue64,
		}
		if k, err := l.Kernel(); err == nil {
			st.PacketsReceived, st.PacketsDropped = k.Received, k.Dropped+k.IfDropped
		}
		if err := l.saveNg.WriteInterfaceStats(0, st); err != nil {
			errs = append(errs, fmt.Errorf("writing %s: %w", l.saveFile.Name(), err))
		}
	}
	if l.saveFile != nil {
		if err := l.Flush(); err != nil {
			errs = append(errs, err)
		}
		if err := l.saveFile.Close(); err != nil {
			errs = append(errs, err)
		}
		l.save, l.saveNg, l.saveBuf, l.saveFile = nil, nil, nil, nil
	}
	l.handle.Close()
	l.handle = nil
	if l.err == nil {
		l.err = io.EOF
	}
	return errors.Join(errs...)
}

// Interfaces lists the interfaces libpcap can capture on, "any" included
// on Linux, in libpcap's order (up and running first).
func Interfaces() ([]Interface, error) {
	devs, err := pcap.FindAllDevs()
	if err != nil {
		return nil, fmt.Errorf("listing interfaces: %w", err)
	}
	out := make([]Interface, 0, len(devs))
	for _, d := range devs {
		i := Interface{
			Name:        d.Name,
			Description: d.Description,
			// PCAP_IF_* bits from pcap/pcap.h.
			Loopback: d.Flags&0x1 != 0,
			Up:       d.Flags&0x2 != 0,
			Running:  d.Flags&0x4 != 0,
			Wireless: d.Flags&0x8 != 0,
		}
		for _, a := range d.Addresses {
			if p, ok := prefixOf(a.IP, a.Netmask); ok {
				i.Addresses = append(i.Addresses, p)
			}
		}
		out = append(out, i)
	}
	return out, nil
}
