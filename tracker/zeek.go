package tracker

import "github.com/tcptrace/tcptrace/tcp"

// This file reproduces, packet by packet, what Zeek's TCP analyzer records for
// one connection, so that tcptrace can print the conn.log fields history,
// conn_state, orig_bytes and resp_bytes exactly as Zeek would. It follows the
// Zeek sources, not its prose documentation:
//
//   - src/packet_analysis/protocol/tcp/TCPSessionAdapter.cc: Process (the
//     per-packet pipeline), init_endpoint, get_relative_seq, update_history,
//     update_window, init_peer, update_ack_seq, update_last_seq, the
//     Update*State functions and IsReuse;
//   - src/packet_analysis/protocol/tcp/TCP.cc (older) and
//     src/packet_analysis/protocol/ip/IPBasedAnalyzer.cc: WantConnection and
//     NewConn, which may flip the roles of a new connection;
//   - src/analyzer/protocol/tcp/TCP_Endpoint.{h,cc}: endpoint states, Size,
//     CheckHistory/AddHistory and the scaled counters (ChecksumError,
//     DidRxmit, ZeroWindow, Gap);
//   - src/Conn.cc and src/session/Session.h: Connection::CheckHistory,
//     ScaledHistoryEntry and FlipRoles (which appends '^');
//   - src/analyzer/protocol/tcp/TCP_Reassembler.cc: when a content gap is
//     charged to the history;
//   - scripts/base/protocols/conn/main.zeek: the conn_state function.
//
// Roles. tcptrace calls the sender of the SYN without ACK the client, and on
// a midstream pickup the side with the well-known (lower) port the server;
// that never changes. Zeek calls the sender of the first packet the
// originator, except that a new connection whose first packet is not a bare
// SYN is flipped when its source port is in likely_server_ports (and its
// destination port is not, or both are and the packet is not a SYN and the
// source port is the lower), and that a SYN arriving from the responder after
// a SYN-ACK from the originator flips it again. zeekConn keeps Zeek's view
// internally: its endpoints are indexed by our roles and each carries Zeek's
// current role, so history letters, conn_state and byte counts all come out in
// Zeek's orientation. origIsClient tells the caller which of our endpoints
// Zeek logs as id.orig_h.
//
// Not modelled, because they need more than one connection's packets: Zeek's
// timers, which end a connection tcp_close_delay (5 s) after it closes or
// after tcp_inactivity_timeout (5 min) of silence, so later packets start a
// new connection; and the reassembler's pending-data check, which can delay
// the moment a side counts as closed for startsNewConnection. missed_bytes is
// the sum of the gap lengths reported while both sides are established or
// closing from established (the same condition as the letter g); the caller's
// reassembly knows those lengths.

// Indices of zeekConn.ep: our roles, independent of Zeek's.
const (
	zeekClient = 0
	zeekServer = 1
)

// zeekEndpointState is Zeek's EndpointState (TCP_Endpoint.h). These are the
// states a passive observer can tell apart, not RFC 9293 states.
type zeekEndpointState uint8

const (
	zeekInactive    zeekEndpointState = iota // TCP_ENDPOINT_INACTIVE: nothing seen from this side
	zeekSynSent                              // TCP_ENDPOINT_SYN_SENT: SYN seen, no ACK
	zeekSynAckSent                           // TCP_ENDPOINT_SYN_ACK_SENT: SYN-ACK seen from the originator
	zeekPartial                              // TCP_ENDPOINT_PARTIAL: data seen, no SYN
	zeekEstablished                          // TCP_ENDPOINT_ESTABLISHED
	zeekClosed                               // TCP_ENDPOINT_CLOSED: FIN seen
	zeekReset                                // TCP_ENDPOINT_RESET: RST seen
)

// History masks from TCP_Endpoint::HistoryMasks; the responder's copy is
// shifted left 16 bits. zeekHistUnknown is session::detail::HIST_UNKNOWN_PKT,
// which is never shifted because it belongs to the connection, not a side.
const (
	zeekHistSYN     = 0x1
	zeekHistFIN     = 0x2
	zeekHistRST     = 0x4
	zeekHistFINRST  = 0x8
	zeekHistData    = 0x10
	zeekHistACK     = 0x20
	zeekHistMulti   = 0x40
	zeekHistUnknown = 0x400
)

// zeekTooLargeSeqDelta is TOO_LARGE_SEQ_DELTA: SYN and RST sequence numbers
// further than this from the last one are not trusted.
const zeekTooLargeSeqDelta = 1048576

// zeekHistoryCap bounds the stored history so zeekConn stays pointer-free.
// Zeek's history has no bound, but only f, h, r and s can repeat without a
// logarithmic brake, and each repetition needs a new sequence number; 48
// letters hold every once-per-direction letter plus five powers of ten of
// each scaled letter in both directions. Letters past the cap are counted in
// historyDropped, never silently lost.
const zeekHistoryCap = 48

// zeekScaled is one of Zeek's logarithmic history counters
// (Connection::ScaledHistoryEntry with base 10): the letter is recorded on
// the 1st, 10th, 100th, ... event.
type zeekScaled struct{ count, threshold uint32 }

// hit counts one event and reports whether its letter is due.
func (s *zeekScaled) hit() bool {
	if s.threshold == 0 {
		s.threshold = 1 // Zeek starts every threshold at 1
	}
	s.count++
	if s.count != s.threshold {
		return false
	}
	// Same uint32 arithmetic as Zeek, including its wrap check.
	if next := s.threshold * 10; next <= s.threshold {
		s.count = 0
	} else {
		s.threshold = next
	}
	return true
}

// zeekEndpoint is the part of Zeek's TCP_Endpoint that history, conn_state
// and the byte counts depend on.
type zeekEndpoint struct {
	// startSeq is signed 64-bit in Zeek too (StartSeqI64): it is the ISN, or
	// one before the first sequence number seen when no SYN was.
	startSeq int64
	// Relative sequence numbers of the last SYN, FIN and RST, for the rule
	// that repeats those letters only when the number changes.
	histLastSYN, histLastFIN, histLastRST uint64

	lastSeq, ackSeq    uint32 // one past the highest sequence sent; highest ACK received for it
	seqWraps, ackWraps uint32 // how often each has wrapped past 2^32
	finCount           uint32

	checksum, rxmit, zeroWindow, gap zeekScaled // letters c, t, w, g

	state, prevState zeekEndpointState
	isOrig           bool // Zeek's current role for this endpoint
	didClose         bool // Zeek reported it closed (FIN or RST processed)
}

// zeekConn accumulates what Zeek's TCP analyzer would record for one
// connection. The zero value is ready to use; it holds no pointers, so a Conn
// can embed it by value.
type zeekConn struct {
	ep          [2]zeekEndpoint // indexed by zeekClient, zeekServer: our roles, which never change
	histSeen    uint32          // Connection::hist_seen: low half orig, high half resp
	hist        [zeekHistoryCap]byte
	histLen     uint8
	histDropped uint16
	started     bool

	// Which ports Zeek's likely_server_ports holds, for the flip of a new
	// connection; see setServerPortHint.
	hintSet                    bool
	clientLikely, serverLikely bool
	clientPort, serverPort     uint16
}

// setServerPortHint tells zeekConn which of the two ports are in Zeek's
// likely_server_ports, so that the first packet is oriented as
// TCPAnalyzer::WantConnection would. Call it before the first packet. That
// set holds the ports of the protocol analyzers Zeek has loaded (80, 443, 22,
// 25, 53, …; it is empty with `zeek -b`), which tcptrace cannot know; without
// a hint zeekConn assumes Zeek agrees with our port rule: the server's port is
// likely, the client's is not.
func (z *zeekConn) setServerPortHint(clientPort, serverPort uint16, clientLikely, serverLikely bool) {
	z.hintSet = true
	z.clientLikely, z.serverLikely = clientLikely, serverLikely
	z.clientPort, z.serverPort = clientPort, serverPort
}

// origIsClient reports whether Zeek's originator (id.orig_h) is our client.
func (z *zeekConn) origIsClient() bool { return z.ep[zeekClient].isOrig }

// packet records one segment that Zeek would accept (see badChecksum for one
// it would not); ask startsNewConnection first, since Zeek gives some SYNs to
// a new connection. fromClient says which of our endpoints sent it. gap says
// that this segment acknowledges data of the other side that the capture
// never held: Zeek's reassembler finds content gaps exactly there (an ACK
// past a hole) and charges the letter g to the side whose data is missing.
//
// Zeek's retransmission letter t is not an input: Zeek sets it for any
// payload that ends at or before the highest sequence number already seen
// from that side (reordering and keep-alives included), which packet
// computes from seq and payloadLen. A zero window is read from window.
func (z *zeekConn) packet(fromClient bool, flags tcp.Flags, seq, ack tcp.Seq, payloadLen uint32, window uint16, gap bool) {
	z.begin(fromClient, flags)
	ep, peer := z.sides(fromClient)
	isOrig := ep.isOrig
	baseSeq, ackSeq := uint32(seq), uint32(ack)

	// get_segment_len: SYN and FIN take a sequence number each; RST payload
	// is not part of the stream.
	segLen := payloadLen
	if flags.Has(tcp.SYN) {
		segLen++
	}
	if flags.Has(tcp.FIN) {
		segLen++
	}
	if flags.Has(tcp.RST) {
		segLen -= payloadLen
	}
	seqOnePast := baseSeq + segLen

	ep.initSeq(flags, baseSeq, seqOnePast)
	relSeq, _ := ep.relative(baseSeq, ep.lastSeq, ep.seqWraps)
	z.updateHistory(ep, flags, relSeq, payloadLen)
	z.updateWindow(ep, peer, window, flags)

	if flags.Has(tcp.FIN) {
		ep.finCount++
	}
	if flags.Has(tcp.ACK) {
		if peer.state == zeekInactive {
			// init_peer: number the peer as if its SYN had been seen.
			peer.startSeq = int64(ackSeq - 1)
			peer.ackSeq = ackSeq - 1
			peer.lastSeq = ackSeq - 1
		} else if _, underflow := peer.relative(ackSeq, peer.ackSeq, peer.ackWraps); !underflow && !flags.Has(tcp.RST) {
			// Zeek does not trust the ACK of a RST.
			peer.updateAckSeq(ackSeq)
		}
	}
	deltaLast := z.updateLastSeq(ep, seqOnePast, flags, payloadLen)
	doClose := z.updateStateMachine(ep, peer, baseSeq, ackSeq, payloadLen, deltaLast, isOrig, flags)

	// TCP_Reassembler::Gap charges a gap to the history only while both
	// sides are established or closing cleanly (the RST and partial cases
	// produce false gaps), and Zeek only looks for gaps on an ACK, after the
	// state machine has seen this packet.
	if gap && flags.Has(tcp.ACK) && peer.clean() && ep.clean() && peer.gap.hit() {
		z.addHistory(z.letter(peer, 'G'))
	}
	if doClose && !ep.didClose {
		// ConnectionClosed. Zeek defers this while reassembled data is
		// pending; tcptrace assumes none is.
		ep.didClose = true
	}
}

// badChecksum records a segment whose TCP checksum is wrong, in place of
// packet. Zeek creates (and orients) a connection for it and checks it for
// reuse like any segment, counts it with the logarithmic letter c, and
// ignores it otherwise. Captures with offloaded checksums are usually read
// with `zeek -C`, which never calls this.
func (z *zeekConn) badChecksum(fromClient bool, flags tcp.Flags) {
	z.begin(fromClient, flags)
	ep, _ := z.sides(fromClient)
	if ep.checksum.hit() {
		z.addHistory(z.letter(ep, 'C'))
	}
}

// analysisLimited records that analysis of the connection hit a limit. Zeek's
// documentation lists this as 'x', but its code (Analyzer::LimitReachedWeird)
// records an upper-case 'X', once per connection, for either direction.
func (z *zeekConn) analysisLimited() {
	z.checkHistory(zeekHistUnknown, 'X')
}

// startsNewConnection reports whether Zeek would log this connection and
// start a new one with this segment (TCPSessionAdapter::IsReuse). Only SYNs
// do: a bare SYN whose sequence number is not the originator's ISN, any SYN
// once either side has closed or reset, and a SYN-ACK before the originator
// has sent anything. The caller then feeds the segment to a fresh zeekConn.
// It does not depend on the sender.
func (z *zeekConn) startsNewConnection(flags tcp.Flags, seq tcp.Seq) bool {
	if !z.started || !flags.Has(tcp.SYN) {
		return false
	}
	orig, resp := z.roles()
	connOrig := orig
	if flags.Has(tcp.ACK) {
		if orig.state != zeekInactive {
			return false
		}
		connOrig = resp
	}
	if orig.didClose || resp.didClose {
		return true
	}
	if uint32(seq) == uint32(connOrig.startSeq) {
		return false
	}
	// A bare SYN answering an originator's SYN-ACK: the capture had them in
	// the wrong order, and the state machine will flip the roles instead.
	return flags.Has(tcp.ACK) || connOrig.state != zeekSynAckSent ||
		resp.state != zeekInactive || uint32(seq) != uint32(resp.startSeq)
}

// history returns Zeek's history string: one letter per event, upper case
// from the originator and lower case from the responder.
func (z *zeekConn) history() string { return string(z.hist[:z.histLen]) }

// historyDropped counts letters Zeek would have appended past zeekHistoryCap.
func (z *zeekConn) historyDropped() int { return int(z.histDropped) }

// bytes returns Zeek's orig_bytes and resp_bytes: sequence-space sizes, not
// payload sums (TCP_Endpoint::Size). conn.log shows them only when the
// connection's duration is positive.
func (z *zeekConn) bytes() (orig, resp uint64) {
	o, r := z.roles()
	return o.size(r), r.size(o)
}

// connState returns Zeek's conn_state code, as the conn_state function of
// base/protocols/conn/main.zeek computes it from the two endpoint states:
// S0, S1, SF, REJ, S2, S3, RSTO, RSTR, RSTOS0, RSTRH, SH, SHR or OTH.
func (z *zeekConn) connState() string {
	o, r := z.roles()
	os, rs := o.state, r.state
	oInactive := os == zeekInactive || os == zeekPartial
	rInactive := rs == zeekInactive || rs == zeekPartial
	switch {
	case rs == zeekReset:
		if os == zeekSynSent || os == zeekSynAckSent || (os == zeekReset && o.size(r) == 0 && r.size(o) == 0) {
			return "REJ"
		}
		if oInactive {
			return "RSTRH"
		}
		return "RSTR"
	case os == zeekReset:
		if !rInactive {
			return "RSTO"
		}
		if zeekSYNThenRST(z.history()) {
			return "RSTOS0"
		}
		return "OTH"
	case os == zeekClosed && rs == zeekClosed:
		return "SF"
	case os == zeekClosed:
		if rInactive {
			return "SH"
		}
		return "S2"
	case rs == zeekClosed:
		if oInactive {
			return "SHR"
		}
		return "S3"
	case os == zeekSynSent && rs == zeekInactive:
		return "S0"
	case os == zeekEstablished && rs == zeekEstablished:
		return "S1"
	}
	return "OTH"
}

// zeekSYNThenRST is main.zeek's `/\^?S[^HAFGIQ]*R.*/ == c$history`, a match
// of the whole string: the originator's SYN, then its RST, with nothing
// between that shows a handshake, data, a FIN, a gap or an odd packet from
// the originator (responder letters are lower case and do not count).
func zeekSYNThenRST(h string) bool {
	if len(h) > 0 && h[0] == '^' {
		h = h[1:]
	}
	if len(h) == 0 || h[0] != 'S' {
		return false
	}
	for i := 1; i < len(h); i++ {
		switch h[i] {
		case 'R':
			return true
		case 'H', 'A', 'F', 'G', 'I', 'Q':
			return false
		}
	}
	return false
}

// begin orients a new connection on its first segment, as NewConn does:
// the sender is the originator unless WantConnection flips the roles, which
// it considers only when the segment is not a bare SYN.
func (z *zeekConn) begin(fromClient bool, flags tcp.Flags) {
	if z.started {
		return
	}
	z.started = true
	sender := zeekServer
	if fromClient {
		sender = zeekClient
	}
	z.ep[sender].isOrig = true

	if flags.Has(tcp.SYN) && !flags.Has(tcp.ACK) {
		return
	}
	clientLikely, serverLikely := z.clientLikely, z.serverLikely
	if !z.hintSet {
		clientLikely, serverLikely = false, true
	}
	srcLikely, dstLikely, srcLower := serverLikely, clientLikely, z.serverPort < z.clientPort
	if fromClient {
		srcLikely, dstLikely, srcLower = clientLikely, serverLikely, z.clientPort < z.serverPort
	}
	flip := false
	if srcLikely {
		if dstLikely {
			// Both plausible: flip only when it cannot be a stealth scan's
			// SYN-ACK and the source is the more plausible server.
			flip = !flags.Has(tcp.SYN) && srcLower
		} else {
			flip = true
		}
	}
	if flip {
		z.flipRoles()
	}
}

// flipRoles is Connection::FlipRoles: the endpoints swap roles and the
// history gets '^'. hist_seen is not swapped, so letters already recorded
// for the old originator now suppress the new originator's — as in Zeek.
func (z *zeekConn) flipRoles() {
	z.ep[zeekClient].isOrig = !z.ep[zeekClient].isOrig
	z.ep[zeekServer].isOrig = !z.ep[zeekServer].isOrig
	z.addHistory('^')
}

// sides returns the sending endpoint and its peer.
func (z *zeekConn) sides(fromClient bool) (ep, peer *zeekEndpoint) {
	if fromClient {
		return &z.ep[zeekClient], &z.ep[zeekServer]
	}
	return &z.ep[zeekServer], &z.ep[zeekClient]
}

// roles returns Zeek's current originator and responder.
func (z *zeekConn) roles() (orig, resp *zeekEndpoint) {
	if z.ep[zeekClient].isOrig {
		return &z.ep[zeekClient], &z.ep[zeekServer]
	}
	return &z.ep[zeekServer], &z.ep[zeekClient]
}

func (z *zeekConn) addHistory(c byte) {
	if int(z.histLen) == len(z.hist) {
		z.histDropped++
		return
	}
	z.hist[z.histLen] = c
	z.histLen++
}

// letter lower-cases an upper-case history letter for the responder.
func (z *zeekConn) letter(ep *zeekEndpoint, c byte) byte {
	if ep.isOrig {
		return c
	}
	return c + ('a' - 'A')
}

// checkHistory is Connection::CheckHistory: it records the letter the first
// time the mask is seen and reports whether it had been seen before.
func (z *zeekConn) checkHistory(mask uint32, c byte) bool {
	if z.histSeen&mask != 0 {
		return true
	}
	z.histSeen |= mask
	z.addHistory(c)
	return false
}

// checkEndpointHistory is TCP_Endpoint::CheckHistory: the responder uses
// the high half of hist_seen and lower-case letters.
func (z *zeekConn) checkEndpointHistory(ep *zeekEndpoint, mask uint32, c byte) bool {
	if !ep.isOrig {
		mask <<= 16
	}
	return z.checkHistory(mask, z.letter(ep, c))
}

// updateHistory is update_history. Packets with more than one of SYN, FIN
// and RST get only I (FIN+RST) or Q (SYN with FIN or RST), once per side.
// S/H, F and R repeat whenever their relative sequence number differs from
// the last one of the same kind (for a FIN, the number after its payload).
// D and A are recorded once per side; A only for a packet with neither
// payload nor SYN, FIN or RST.
func (z *zeekConn) updateHistory(ep *zeekEndpoint, flags tcp.Flags, relSeq uint64, payloadLen uint32) {
	syn, fin, rst := flags.Has(tcp.SYN), flags.Has(tcp.FIN), flags.Has(tcp.RST)
	bits := 0
	for _, set := range [...]bool{syn, fin, rst} {
		if set {
			bits++
		}
	}
	switch {
	case bits > 1:
		if fin && rst {
			z.checkEndpointHistory(ep, zeekHistFINRST, 'I')
		} else {
			z.checkEndpointHistory(ep, zeekHistMulti, 'Q')
		}
	case syn:
		// S and H share one mask, so a SYN after a SYN-ACK from the same
		// side is a repeat of the same kind.
		code := byte('S')
		if flags.Has(tcp.ACK) {
			code = 'H'
		}
		if z.checkEndpointHistory(ep, zeekHistSYN, code) && relSeq != ep.histLastSYN {
			z.addHistory(z.letter(ep, code))
		}
		ep.histLastSYN = relSeq
	case fin:
		end := relSeq + uint64(payloadLen)
		if z.checkEndpointHistory(ep, zeekHistFIN, 'F') && end != ep.histLastFIN {
			z.addHistory(z.letter(ep, 'F'))
		}
		ep.histLastFIN = end
	case rst:
		if z.checkEndpointHistory(ep, zeekHistRST, 'R') && relSeq != ep.histLastRST {
			z.addHistory(z.letter(ep, 'R'))
		}
		ep.histLastRST = relSeq
	case payloadLen > 0:
		z.checkEndpointHistory(ep, zeekHistData, 'D')
	case flags.Has(tcp.ACK):
		z.checkEndpointHistory(ep, zeekHistACK, 'A')
	}
}

// updateWindow keeps the zero-window part of update_window. A window is zero
// after scaling exactly when it is zero on the wire. Zero windows on or after
// a RST, or once the peer has sent its FIN, are not counted.
func (z *zeekConn) updateWindow(ep, peer *zeekEndpoint, window uint16, flags tcp.Flags) {
	if window == 0 && !flags.Has(tcp.RST) && peer.state != zeekClosed && ep.state != zeekReset && ep.zeroWindow.hit() {
		z.addHistory(z.letter(ep, 'W'))
	}
}

// updateLastSeq is update_last_seq: it advances the highest sequence number
// and records t for payload that does not advance it. It returns the
// distance from the previous highest number.
func (z *zeekConn) updateLastSeq(ep *zeekEndpoint, last uint32, flags tcp.Flags, payloadLen uint32) int32 {
	delta := int32(last - ep.lastSeq)
	switch {
	case (flags.Has(tcp.SYN) || flags.Has(tcp.RST)) && (delta > zeekTooLargeSeqDelta || delta < -zeekTooLargeSeqDelta):
		// Implausible jump on a SYN or RST: not trusted.
	case flags.Has(tcp.FIN) && ep.lastSeq == uint32(ep.startSeq)+1:
		// Only the SYN seen so far: take the FIN's number even if it looks
		// older (connections larger than 2 GB).
		ep.updateLastSeq(last)
	case ep.state == zeekReset:
		// Nothing after a RST is trusted.
	case delta > 0:
		ep.updateLastSeq(last)
	case payloadLen > 0:
		if ep.rxmit.hit() {
			z.addHistory(z.letter(ep, 'T'))
		}
	}
	return delta
}

// updateStateMachine is UpdateStateMachine; it reports do_close.
func (z *zeekConn) updateStateMachine(ep, peer *zeekEndpoint, baseSeq, ackSeq, payloadLen uint32, deltaLast int32, isOrig bool, flags tcp.Flags) bool {
	switch ep.state {
	case zeekInactive:
		return z.updateInactive(ep, peer, baseSeq, payloadLen, isOrig, flags)
	case zeekSynSent, zeekSynAckSent:
		// UpdateSYN_SentState: only FIN and RST move a side that has sent
		// its SYN; its peer's SYN-ACK establishes it from the other side.
		doClose := false
		if flags.Has(tcp.FIN) {
			ep.setState(zeekClosed)
			doClose = true
		}
		if flags.Has(tcp.RST) {
			ep.setState(zeekReset)
			doClose = true
		}
		return doClose
	case zeekEstablished, zeekPartial:
		return ep.updateEstablished(peer, flags)
	case zeekClosed:
		// UpdateClosedState: a RST after our FIN counts unless the peer
		// has closed too (then the FIN exchange already ended it).
		if flags.Has(tcp.RST) && peer.state != zeekClosed {
			ep.setState(zeekReset)
			return !ep.didClose
		}
	}
	return false // zeekReset: UpdateResetState only reports weirds
}

// updateInactive is UpdateInactiveState: the first packet from a side.
func (z *zeekConn) updateInactive(ep, peer *zeekEndpoint, baseSeq, payloadLen uint32, isOrig bool, flags tcp.Flags) bool {
	doClose := false
	if flags.Has(tcp.SYN) {
		switch {
		case isOrig && flags.Has(tcp.ACK):
			ep.setState(zeekSynAckSent) // connection_originator_SYN_ack
		case isOrig:
			ep.setState(zeekSynSent)
		default:
			// A responder's bare SYN after the originator's SYN-ACK: the
			// two were captured in the wrong order; flip and establish.
			// (ep's StartSeq is this SYN's number, set by initSeq.)
			if !flags.Has(tcp.ACK) && peer.state == zeekSynAckSent && baseSeq == uint32(ep.startSeq) {
				z.flipRoles()
				peer.setState(zeekEstablished)
			}
			if peer.state == zeekSynSent {
				peer.setState(zeekEstablished)
			}
			ep.setState(zeekEstablished)
		}
	}
	if flags.Has(tcp.FIN) {
		ep.setState(zeekClosed)
		doClose = true
	}
	if flags.Has(tcp.RST) {
		ep.setState(zeekReset)
		doClose = true
	}
	if ep.state == zeekInactive {
		switch {
		case !isOrig && payloadLen == 0 && peer.state == zeekSynSent:
			// Some stacks ACK a SYN before answering it; such an ACK does
			// not make the connection partial. (peer is the originator.)
		case flags.Has(tcp.ACK) && peer.state == zeekEstablished:
			// A SYN-ACK was seen but the SYN was missed: establish.
			ep.setState(zeekEstablished)
		default:
			ep.setState(zeekPartial)
		}
	}
	return doClose
}

// updateEstablished is UpdateEstablishedState, for ESTABLISHED and PARTIAL.
func (e *zeekEndpoint) updateEstablished(peer *zeekEndpoint, flags tcp.Flags) bool {
	doClose := false
	if flags.Has(tcp.SYN) && e.state == zeekPartial && peer.state == zeekInactive && !flags.Has(tcp.ACK) {
		e.setState(zeekSynSent) // SYN_after_partial
	}
	if flags.Has(tcp.FIN) && !flags.Has(tcp.RST) {
		e.setState(zeekClosed)
		if peer.state == zeekReset && peer.prevState == zeekClosed {
			// The peer's FIN then RST was a normal close after all.
			peer.setState(zeekClosed)
		}
		doClose = true
	}
	if flags.Has(tcp.RST) {
		e.setState(zeekReset)
		doClose = true
	}
	return doClose
}

// setState is TCP_Endpoint::SetState: prevState changes only with state.
func (e *zeekEndpoint) setState(s zeekEndpointState) {
	if s != e.state {
		e.prevState, e.state = e.state, s
	}
}

// clean is is_clean from TCP_Reassembler.cc.
func (e *zeekEndpoint) clean() bool {
	return e.state == zeekEstablished || (e.state == zeekClosed && e.prevState == zeekEstablished)
}

// initSeq is init_endpoint: it sets the endpoint's sequence origin from its
// first packet, and again from a SYN that contradicts it.
func (e *zeekEndpoint) initSeq(flags tcp.Flags, firstSeq, last uint32) {
	syn := flags.Has(tcp.SYN)
	reinit := false
	switch e.state {
	case zeekInactive:
		if syn {
			e.ackSeq = firstSeq
			e.startSeq = int64(firstSeq)
		} else {
			// Partial connection: number it as if a SYN had come just
			// before, and do not let the first packet look like a repeat.
			e.ackSeq = firstSeq - 1
			e.startSeq = int64(firstSeq - 1)
			last = firstSeq
		}
		e.lastSeq = last
	case zeekSynSent, zeekSynAckSent:
		reinit = syn && firstSeq != uint32(e.startSeq) // SYN_seq_jump
	case zeekEstablished, zeekPartial:
		reinit = syn // Zeek guesses this SYN really sets the connection up
	case zeekReset:
		reinit = syn && e.prevState == zeekInactive // the earlier RST may have been injected
	}
	if reinit {
		e.startSeq = int64(firstSeq)
		e.ackSeq = firstSeq
		e.lastSeq = last
	}
}

// relative is get_relative_seq: seq relative to the endpoint's start in 64
// bits, counting wraps against last. underflow reports a number before the
// start (the uint64 then holds Zeek's sign-extended negative value).
func (e *zeekEndpoint) relative(seq, last, wraps uint32) (rel uint64, underflow bool) {
	delta := int32(seq - last)
	if delta < 0 {
		if wraps != 0 && seq > last {
			wraps-- // part of the previous 32-bit lap
		}
	} else if delta > 0 && seq < last {
		wraps++
	}
	if wraps == 0 {
		d := int32(seq - uint32(e.startSeq))
		return uint64(int64(d)), d < 0
	}
	return uint64(wraps)<<32 + uint64(seq) - uint64(e.startSeq), false
}

func (e *zeekEndpoint) updateLastSeq(seq uint32) {
	if seq < e.lastSeq {
		e.seqWraps++
	}
	e.lastSeq = seq
}

// updateAckSeq is update_ack_seq plus UpdateAckSeq: only forward, and an ACK
// of 0 far ahead is taken for a broken ACK, not a wrap.
func (e *zeekEndpoint) updateAckSeq(ack uint32) {
	delta := int32(ack - e.ackSeq)
	if (ack == 0 && delta > zeekTooLargeSeqDelta) || delta <= 0 {
		return
	}
	if ack < e.ackSeq {
		e.ackWraps++
	}
	e.ackSeq = ack
}

// size is TCP_Endpoint::Size: the larger of the highest sequence number sent
// and the highest acknowledged, less the start, the SYN and any FIN.
func (e *zeekEndpoint) size(peer *zeekEndpoint) uint64 {
	if e.prevState == zeekSynSent && e.state == zeekReset && peer.state == zeekInactive && !e.noDataAcked() {
		return 0 // a half-open connection found and aborted: the numbers mean nothing
	}
	last := uint64(e.seqWraps)<<32 + uint64(e.lastSeq)
	ack := uint64(e.ackWraps)<<32 + uint64(e.ackSeq)
	size := max(last, ack) - uint64(e.startSeq)
	if size != 0 {
		size--
	}
	if e.finCount > 0 && size != 0 {
		size--
	}
	return size
}

// noDataAcked is NoDataAcked: nothing acknowledged beyond the SYN.
func (e *zeekEndpoint) noDataAcked() bool {
	ack := uint64(e.ackWraps)<<32 + uint64(e.ackSeq)
	start := uint64(e.startSeq)
	return ack == start || ack == start+1
}
