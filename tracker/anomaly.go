package tracker

import "fmt"

// Kind names one anomaly. The set is closed and the names are stable: they
// appear verbatim in JSON, in --fail-on and in the README.
type Kind uint8

const (
	SynUnanswered Kind = iota
	SynRetransmitted
	ConnectionRefused
	HandshakeIncomplete
	SynAckRetransmitted
	HandshakeAckMismatch
	SimultaneousOpen
	HalfClosed
	MissingFinalAck
	FinRetransmitted
	SimultaneousClose
	Reset
	RstOutOfWindow
	DataAfterFin
	PortReuse
	Midstream
	InvalidFlags
	CloseWaitPileup
	TimeWaitPileup
	// Sequence analysis (package reassembly), counted per side.
	Retransmission
	FastRetransmission
	SpuriousRetransmission
	OutOfOrder
	LostSegment
	AckUnseenSegment
	DuplicateAck
	ZeroWindow
	KeepAlive
	numKinds
)

// Severity orders anomalies for people and for --fail-on.
type Severity uint8

const (
	Info Severity = iota
	Warning
	Error
)

func (s Severity) String() string { return [...]string{"info", "warning", "error"}[s] }

// ParseSeverity is the inverse of Severity.String.
func ParseSeverity(name string) (Severity, bool) {
	for s := Info; s <= Error; s++ {
		if s.String() == name {
			return s, true
		}
	}
	return 0, false
}

// KindInfo documents one kind: its stable name, its usual severity and the
// one-sentence definition the README carries.
type KindInfo struct {
	Name       string
	Severity   Severity // the usual severity; some kinds are lowered when the capture ended too soon to be sure
	Definition string
}

var kinds = [numKinds]KindInfo{
	SynUnanswered:        {"syn_unanswered", Error, "The client sent SYNs and nothing at all came back from the server."},
	SynRetransmitted:     {"syn_retransmitted", Warning, "The client sent its SYN again with the same ISN (count = extra SYNs)."},
	ConnectionRefused:    {"connection_refused", Warning, "The server answered the SYN with an RST: nothing listened on that port."},
	HandshakeIncomplete:  {"handshake_incomplete", Error, "SYN and SYN-ACK were seen but no ACK of the server's ISN+1 followed: the server was left in SYN_RCVD."},
	SynAckRetransmitted:  {"synack_retransmitted", Warning, "The server sent its SYN-ACK again (count = extra SYN-ACKs)."},
	HandshakeAckMismatch: {"handshake_ack_mismatch", Error, "A SYN-ACK or the third ACK acknowledged a sequence number other than the peer's ISN+1."},
	SimultaneousOpen:     {"simultaneous_open", Info, "Both ends sent a SYN before receiving the other's (SYN_SENT -> SYN_RCVD)."},
	HalfClosed:           {"half_closed", Warning, "One side's FIN was acknowledged but the other side sent no FIN or RST for longer than --half-close-timeout (info when the capture ended first): it sat in CLOSE_WAIT."},
	MissingFinalAck:      {"missing_final_ack", Warning, "The last FIN was never acknowledged: the passive closer was left in LAST_ACK (info when the capture ended less than 1 s after that FIN)."},
	FinRetransmitted:     {"fin_retransmitted", Warning, "An endpoint sent its FIN again at the same sequence number (count = extra FINs)."},
	SimultaneousClose:    {"simultaneous_close", Info, "Both ends sent a FIN before receiving the other's (FIN_WAIT_1 -> CLOSING)."},
	Reset:                {"reset", Warning, "A connection past its SYN was aborted by an RST; the detail names the sender and its state."},
	RstOutOfWindow:       {"rst_out_of_window", Warning, "An RST whose sequence number was outside the receiver's window (or, answering a SYN, that did not acknowledge it) was ignored, as the receiver would."},
	DataAfterFin:         {"data_after_fin", Warning, "An endpoint sent payload beyond the sequence number of its own FIN."},
	PortReuse:            {"port_reuse", Warning, "A new SYN arrived on a 4-tuple whose previous connection was not closed (info when it was only in TIME_WAIT)."},
	Midstream:            {"midstream", Info, "The capture started after the handshake: both endpoints start as ESTABLISHED and the server is guessed from the ports."},
	InvalidFlags:         {"invalid_flags", Warning, "A segment carried a flag combination no conforming TCP sends (SYN+FIN, SYN+RST, FIN without ACK, none, all); it changes no state."},
	CloseWaitPileup:      {"close_wait_pileup", Warning, "At some moment at least --pileup connections were in CLOSE_WAIT at once on the same local ip:port."},
	TimeWaitPileup:       {"time_wait_pileup", Warning, "At some moment at least --pileup connections were in TIME_WAIT at once on the same host."},

	Retransmission:         {"retransmission", Warning, "An endpoint sent data again that it had sent before (SYN and FIN repeats have their own kinds)."},
	FastRetransmission:     {"fast_retransmission", Warning, "A retransmission shortly after the peer's duplicate ACKs asked for that data (fast retransmit)."},
	SpuriousRetransmission: {"spurious_retransmission", Info, "A retransmission of data the peer had already acknowledged at the capture point."},
	OutOfOrder:             {"out_of_order", Info, "A segment filled a gap opened by a later one within the reordering window (about one round trip)."},
	LostSegment:            {"lost_segment", Warning, "A segment started beyond the next expected sequence number: the capture never saw the bytes in between (counted as missed bytes)."},
	AckUnseenSegment:       {"ack_unseen_segment", Info, "An endpoint acknowledged data of its peer that the capture never saw (loss at the capture point, not on the path)."},
	DuplicateAck:           {"duplicate_ack", Info, "A pure ACK repeating the previous ACK, window and sequence number while data was outstanding (the BSD rule)."},
	ZeroWindow:             {"zero_window", Warning, "An endpoint advertised a zero receive window: its application stopped reading and the peer had to wait."},
	KeepAlive:              {"keep_alive", Info, "An endpoint probed an idle connection with a keep-alive (one below its next sequence number, peer window open)."},
}

func (k Kind) String() string {
	if k < numKinds {
		return kinds[k].Name
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// Info returns the kind's documentation.
func (k Kind) Info() KindInfo { return kinds[k] }

// Kinds lists every anomaly kind in a fixed order.
func Kinds() []Kind {
	out := make([]Kind, numKinds)
	for i := range out {
		out[i] = Kind(i)
	}
	return out
}

// ParseKind is the inverse of Kind.String.
func ParseKind(name string) (Kind, bool) {
	for i := range kinds {
		if kinds[i].Name == name {
			return Kind(i), true
		}
	}
	return 0, false
}

// Anomaly is one named problem of one connection. Repeated events of one kind
// on one side are one Anomaly with a Count.
type Anomaly struct {
	Kind     Kind
	Severity Severity
	Side     Side   // the endpoint it concerns; Both for connection-wide ones
	Time     int64  // when it was established (ns)
	Packet   uint64 // the packet that established it; 0 for a timer or the end of the capture
	Count    int    // occurrences (retransmissions, invalid segments…), at least 1
	Detail   string // one line for people
}

// Pileup is an aggregate anomaly over many connections.
type Pileup struct {
	Kind     Kind   // CloseWaitPileup or TimeWaitPileup
	Endpoint string // "ip:port" for CLOSE_WAIT, "ip" for TIME_WAIT
	Peak     int
	Time     int64 // when the peak was first reached
}
