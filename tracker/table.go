package tracker

import "github.com/tcptrace/tcptrace/tcp"

// class is a segment reduced to the one control event the state machine
// cares about. classify assigns it with a fixed precedence, as Linux
// conntrack's get_conntrack_index does: RST > SYN/SYN-ACK > FIN > ACK.
type class uint8

const (
	clsSYN    class = iota // SYN without ACK: an active open
	clsSYNACK              // SYN with ACK: the answer to an open
	clsFIN                 // FIN (always with ACK); its ACK part is applied first as clsACK
	clsACK                 // ACK without SYN, FIN or RST, with or without data
	clsRST                 // RST, with or without ACK
	numClasses
)

var classNames = [numClasses]string{"SYN", "SYN-ACK", "FIN", "ACK", "RST"}

func (c class) String() string { return classNames[c] }

// classify returns the segment's class, or a non-empty reason when the flag
// combination is one no conforming TCP sends. Invalid segments are reported
// and then kept away from the state machine, as conntrack marks them INVALID.
func classify(f tcp.Flags) (class, string) {
	const six = tcp.FIN | tcp.SYN | tcp.RST | tcp.PSH | tcp.ACK | tcp.URG
	switch {
	case f&six == six:
		return 0, "all flags set"
	case f.Has(tcp.SYN | tcp.FIN):
		return 0, "SYN and FIN together"
	case f.Has(tcp.SYN | tcp.RST):
		return 0, "SYN and RST together"
	case f.Has(tcp.RST):
		return clsRST, ""
	case f.Has(tcp.SYN | tcp.ACK):
		return clsSYNACK, ""
	case f.Has(tcp.SYN):
		return clsSYN, ""
	case f&six == 0:
		return 0, "no flags set"
	case f.Has(tcp.FIN) && !f.Has(tcp.ACK):
		return 0, "FIN without ACK"
	case !f.Has(tcp.ACK):
		return 0, "no ACK flag on a non-SYN, non-RST segment"
	case f.Has(tcp.FIN):
		return clsFIN, ""
	}
	return clsACK, ""
}

// dir says whether the endpoint whose state is being changed sent the
// segment or received it. Every observed segment is applied twice: first as
// "sent" to its sender, then as "received" to its receiver.
type dir uint8

const (
	sent dir = iota
	received
	numDirs
)

func (d dir) String() string { return [...]string{"sent", "received"}[d] }

// guard is the sequence-number condition a table cell needs before its
// transition may be committed: the table proposes, the guard validates.
type guard uint8

const (
	always            guard = iota
	ackedOurSYN             // the segment's ACK covers this endpoint's SYN: ack = ISN+1 (RFC 9293 §3.10.7.3)
	ackedOurFIN             // the segment's ACK covers this endpoint's FIN: ack ≥ FIN seq + 1
	ackedPeerSYN            // this endpoint, sending, acknowledges the peer's SYN: it got the SYN-ACK after all
	sameSYN                 // this endpoint sends its SYN again with the same ISN
	sameFIN                 // this endpoint sends its FIN again at the same sequence number
	peerSYNPending          // this endpoint received a SYN it has not answered yet
	sameFINAfterClose       // sameFIN, and the endpoint had gone CLOSED because its FIN was acked
)

var guardNames = [...]string{
	always:            "",
	ackedOurSYN:       "ack = ISN+1",
	ackedOurFIN:       "ack ≥ FIN+1",
	ackedPeerSYN:      "its ack = peer ISN+1",
	sameSYN:           "same ISN again",
	sameFIN:           "same FIN again",
	peerSYNPending:    "answers the peer's SYN",
	sameFINAfterClose: "same FIN again",
}

func (g guard) String() string { return guardNames[g] }

// cell is one entry of the transition table. The zero cell means "no state
// change".
type cell struct {
	to    State
	guard guard
	ok    bool
	// correction marks a transition that undoes an earlier assumption of the
	// observer (that a segment it saw was delivered): the evidence is a
	// retransmission the endpoint would not have sent otherwise.
	correction bool
}

func to(s State) cell                 { return cell{to: s, ok: true} }
func when(g guard, s State) cell      { return cell{to: s, guard: g, ok: true} }
func corrected(g guard, s State) cell { return cell{to: s, guard: g, ok: true, correction: true} }

// transitions is the whole per-endpoint state machine: table[dir][class][state]
// proposes the endpoint's next state, subject to the cell's guard. Cells left
// out mean the segment does not change that endpoint's state. Each line says
// why, in the manner of Linux's tcp_conntracks table.
var transitions = [numDirs][numClasses][numStates]cell{
	sent: {
		clsSYN: {
			Closed:      to(SynSent),                 // active open (connect)
			Listen:      to(SynSent),                 // a listener sends a SYN: RFC 9293's "SEND" from LISTEN
			Established: corrected(sameSYN, SynSent), // SYN again after the SYN-ACK was seen: the SYN-ACK was lost beyond the capture point
		},
		clsSYNACK: {
			Closed:      when(peerSYNPending, SynRcvd), // answers a SYN: it was listening (reported as LISTEN -> SYN_RCVD at the SYN)
			Listen:      to(SynRcvd),                   // passive open answered
			SynSent:     to(SynRcvd),                   // simultaneous open: SYN-ACK after both SYNs
			Established: corrected(sameSYN, SynRcvd),   // SYN-ACK again after the third ACK was seen: that ACK was lost beyond the capture point
		},
		clsFIN: {
			SynRcvd:     to(FinWait1),                          // close before the handshake finished
			Established: to(FinWait1),                          // active close
			CloseWait:   to(LastAck),                           // passive close: the application closed after the peer's FIN
			FinWait2:    corrected(sameFIN, FinWait1),          // FIN again: the ACK that covered it never arrived
			TimeWait:    corrected(sameFIN, Closing),           // FIN again after both FINs: its ACK never arrived
			Closed:      corrected(sameFINAfterClose, LastAck), // FIN again after the final ACK was seen: that ACK was lost beyond the capture point
		},
		clsACK: {
			SynSent: when(ackedPeerSYN, Established), // acknowledges the SYN-ACK it was thought not to have
		},
		clsRST: {
			SynSent:     to(Closed), // abort
			SynRcvd:     to(Closed),
			Established: to(Closed),
			FinWait1:    to(Closed),
			FinWait2:    to(Closed),
			Closing:     to(Closed),
			TimeWait:    to(Closed),
			CloseWait:   to(Closed),
			LastAck:     to(Closed),
		},
	},
	received: {
		clsSYN: {
			Closed:  when(peerSYNPending, Closed), // unknown until it answers: SYN-ACK ⇒ it was LISTEN, RST ⇒ no listener
			Listen:  to(SynRcvd),                  // passive open
			SynSent: to(SynRcvd),                  // simultaneous open: both SYNs crossed
		},
		clsSYNACK: {
			SynSent: when(ackedOurSYN, Established), // handshake, client side
			SynRcvd: when(ackedOurSYN, Established), // simultaneous open: the peer's SYN-ACK acknowledges our SYN
		},
		clsFIN: {
			SynRcvd:     to(CloseWait), // FIN right after the handshake ACK
			Established: to(CloseWait), // the peer closed first
			FinWait1:    to(Closing),   // simultaneous close: our FIN is not acknowledged yet
			FinWait2:    to(TimeWait),  // the peer's FIN after ours was acknowledged
		},
		clsACK: {
			SynRcvd:  when(ackedOurSYN, Established), // handshake, server side
			FinWait1: when(ackedOurFIN, FinWait2),    // our FIN acknowledged
			Closing:  when(ackedOurFIN, TimeWait),    // simultaneous close completes
			LastAck:  when(ackedOurFIN, Closed),      // the final ACK
		},
		clsRST: {
			SynSent:     to(Closed), // refused (only an RST that acknowledges our SYN gets here)
			SynRcvd:     to(Closed),
			Established: to(Closed),
			FinWait1:    to(Closed),
			FinWait2:    to(Closed),
			Closing:     to(Closed),
			TimeWait:    to(Closed), // Linux default (tcp_rfc1337=0): an RST ends TIME_WAIT
			CloseWait:   to(Closed),
			LastAck:     to(Closed),
		},
	},
}
