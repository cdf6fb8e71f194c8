package synth

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/tcptrace/tcptrace/tcp"
)

// Side names the sender of a packet. It is a bool so that true (client) and
// false (server) work where a Side is expected.
type Side bool

const (
	Client Side = true
	Server Side = false
)

func (s Side) String() string {
	if s {
		return "client"
	}
	return "server"
}

// Defaults a Conn uses unless an Option says otherwise. They follow Linux.
const (
	DefaultMSS    = 1460
	DefaultWScale = 7
	DefaultWindow = 64240 // initial receive window, unscaled
	ClientTTL     = 64
	ServerTTL     = 56 // as if the server were eight hops away from the capture point
)

// Conn drives one TCP connection. It tracks each side's next sequence number
// (SND.NXT): every packet from a side is sent at it and advances it by the
// payload length, plus one for SYN and one for FIN; every ACK acknowledges
// everything the peer has sent. Options such as Seq and Ack override the
// numbers for anomalies. Methods return the Conn so calls chain.
type Conn struct {
	c           *Capture
	link        LinkType
	ep          [2]endpoint // indexed by side.index()
	defaults    []Option
	timestamps  bool
	established bool
}

type endpoint struct {
	addr      netip.Addr
	port      uint16
	isn       uint32
	next      uint32 // SND.NXT
	finSent   bool
	finSeq    uint32
	wscale    int // shift from this side's SYN, -1 without the option or before a SYN
	ipID      uint16
	tsBase    uint32
	lastTSval uint32
}

func newEndpoint(addr netip.Addr, port uint16, isn uint32) endpoint {
	return endpoint{
		addr: addr, port: port, isn: isn, next: isn, wscale: -1,
		// Derived from the ISN so that connections differ but stay reproducible.
		ipID:   uint16(isn>>16) ^ uint16(isn),
		tsBase: isn*2654435761 + 1,
	}
}

func (s Side) index() int {
	if s {
		return 0
	}
	return 1
}

func (k *Conn) end(s Side) *endpoint { return &k.ep[s.index()] }

// Capture returns the capture the Conn writes to.
func (k *Conn) Capture() *Capture { return k.c }

// Link makes the Conn's later packets use link type l.
func (k *Conn) Link(l LinkType) *Conn {
	if !l.valid() {
		k.c.fail(fmt.Errorf("synth: unknown link type %d", l))
		return k
	}
	k.link = l
	return k
}

// With adds options applied to every later packet of the Conn, before the
// options of the call itself.
func (k *Conn) With(opts ...Option) *Conn {
	k.defaults = append(k.defaults, opts...)
	return k
}

// Timestamps makes every later packet carry the timestamps option (RFC 7323):
// TSval counts milliseconds of capture time from a per-side base, and TSecr
// echoes the last TSval the peer sent (0 on a SYN without ACK).
func (k *Conn) Timestamps() *Conn { k.timestamps = true; return k }

// At sets the capture clock to d after Epoch.
func (k *Conn) At(d time.Duration) *Conn { k.c.At(d); return k }

// After moves the capture clock by d.
func (k *Conn) After(d time.Duration) *Conn { k.c.After(d); return k }

// Established sets up both sides as if the handshake had happened before the
// capture started (no packets), for captures that begin mid-connection. No
// window scaling is assumed, since the SYNs that would announce it are unseen.
func (k *Conn) Established() *Conn {
	for i := range k.ep {
		if k.ep[i].next == k.ep[i].isn {
			k.ep[i].next = k.ep[i].isn + 1
		}
	}
	k.established = true
	return k
}

// ISN returns a side's initial sequence number.
func (k *Conn) ISN(s Side) uint32 { return k.end(s).isn }

// Next returns a side's next sequence number (SND.NXT).
func (k *Conn) Next(s Side) uint32 { return k.end(s).next }

// Addr returns a side's address and port.
func (k *Conn) Addr(s Side) netip.AddrPort { return netip.AddrPortFrom(k.end(s).addr, k.end(s).port) }

// SYN sends the client's SYN with the default options MSS 1460,
// SACK-permitted and window scale 7. Sending it again retransmits it.
func (k *Conn) SYN(opts ...Option) *Conn { return k.Send(Client, tcp.SYN, 0, opts...) }

// SYNACK sends the server's SYN-ACK, with the same default options as SYN.
func (k *Conn) SYNACK(opts ...Option) *Conn { return k.Send(Server, tcp.SYN|tcp.ACK, 0, opts...) }

// ACK sends a pure acknowledgment.
func (k *Conn) ACK(from Side, opts ...Option) *Conn { return k.Send(from, tcp.ACK, 0, opts...) }

// Data sends n payload bytes with PSH and ACK.
func (k *Conn) Data(from Side, n int, opts ...Option) *Conn {
	return k.Send(from, tcp.PSH|tcp.ACK, n, opts...)
}

// FIN sends FIN with ACK. Sending it again retransmits it at the same
// sequence number.
func (k *Conn) FIN(from Side, opts ...Option) *Conn { return k.Send(from, tcp.FIN|tcp.ACK, 0, opts...) }

// RST sends RST with ACK at the side's next sequence number, as an abort does.
func (k *Conn) RST(from Side, opts ...Option) *Conn { return k.Send(from, tcp.RST|tcp.ACK, 0, opts...) }

// Handshake sends SYN, SYN-ACK and the client's ACK.
func (k *Conn) Handshake() *Conn { return k.SYN().SYNACK().ACK(Client) }

// Close sends the four packets of an orderly close started by from: FIN,
// its ACK, the peer's FIN, and the final ACK.
func (k *Conn) Close(from Side) *Conn {
	return k.FIN(from).ACK(!from).FIN(!from).ACK(from)
}

// Send sends one packet with exactly the given flags and n payload bytes.
// The sequence number is the ISN for a SYN, the FIN's own number for a
// repeated FIN without data, and SND.NXT otherwise; the acknowledgment
// number is the peer's SND.NXT when ACK is set and 0 when not. Unless the Seq
// option overrides the sequence number, the side's SND.NXT advances past the
// packet. A SYN gets the default SYN options before opts apply.
func (k *Conn) Send(from Side, flags tcp.Flags, n int, opts ...Option) *Conn {
	c := k.c
	if n < 0 || n > 65535 {
		c.fail(fmt.Errorf("synth: packet %d: payload length %d out of range", len(c.packets)+1, n))
		return k
	}
	e, peer := k.end(from), k.end(!from)
	s := segment{from: from, flags: flags, payloadLen: n}
	if flags.Has(tcp.SYN) {
		s.opts = tcp.Options{MSS: DefaultMSS, SACKPermitted: true, WScale: DefaultWScale, HasWScale: true}
	}
	if k.timestamps {
		s.opts.HasTimestamps = true
		s.opts.TSVal = e.tsBase + uint32(c.now/time.Millisecond)
		if flags.Has(tcp.ACK) {
			s.opts.TSEcr = peer.lastTSval
		}
	}
	for _, o := range k.defaults {
		o(&s)
	}
	for _, o := range opts {
		o(&s)
	}

	if !s.seqSet {
		switch {
		case flags.Has(tcp.SYN):
			s.seq = e.isn
		case flags.Has(tcp.FIN) && e.finSent && s.payloadLen == 0:
			s.seq = e.finSeq
		default:
			s.seq = e.next
		}
	}
	if !s.ackSet && flags.Has(tcp.ACK) {
		s.ack = peer.next
	}
	if !s.windowSet {
		s.window = DefaultWindow
		if !flags.Has(tcp.SYN) && e.wscale >= 0 && peer.wscale >= 0 {
			s.window = DefaultWindow >> e.wscale
		}
	}
	if !s.ttlSet {
		s.ttl = ServerTTL
		if from == Client {
			s.ttl = ClientTTL
		}
	}
	if !s.ipIDSet {
		s.ipID = e.ipID
	}
	if s.payload == nil && s.payloadLen > 0 {
		s.payload = make([]byte, s.payloadLen)
		for i := range s.payload {
			// Each byte is its sequence number's low byte, so a
			// retransmission carries the same bytes as the original.
			s.payload[i] = byte(s.seq + uint32(i))
		}
	}

	if !k.build(&s) {
		return k
	}

	e.ipID++
	if s.opts.HasTimestamps {
		e.lastTSval = s.opts.TSVal
	}
	if s.seqSet {
		return k
	}
	end := s.seq + uint32(s.payloadLen)
	if flags.Has(tcp.SYN) {
		end++
		e.wscale = -1
		if s.opts.HasWScale {
			e.wscale = int(s.opts.WScale)
		}
	}
	if flags.Has(tcp.FIN) {
		if !e.finSent || s.payloadLen > 0 {
			e.finSent, e.finSeq = true, end
		}
		end++
	}
	if tcp.Seq(e.next).Less(tcp.Seq(end)) {
		e.next = end
	}
	return k
}
