package tracker

import "fmt"

// State is one endpoint's RFC 9293 connection state (§3.3.2, Figure 5), as a
// passive observer reconstructs it.
type State uint8

const (
	Closed State = iota
	Listen
	SynSent
	SynRcvd
	Established
	FinWait1
	FinWait2
	Closing
	TimeWait
	CloseWait
	LastAck
	numStates
)

// stateNames are the RFC's names, used verbatim in every output.
var stateNames = [numStates]string{
	Closed:      "CLOSED",
	Listen:      "LISTEN",
	SynSent:     "SYN_SENT",
	SynRcvd:     "SYN_RCVD",
	Established: "ESTABLISHED",
	FinWait1:    "FIN_WAIT_1",
	FinWait2:    "FIN_WAIT_2",
	Closing:     "CLOSING",
	TimeWait:    "TIME_WAIT",
	CloseWait:   "CLOSE_WAIT",
	LastAck:     "LAST_ACK",
}

func (s State) String() string {
	if s < numStates {
		return stateNames[s]
	}
	return fmt.Sprintf("State(%d)", uint8(s))
}

// States lists every state in the RFC's order, for tables and diagrams.
func States() []State {
	out := make([]State, numStates)
	for i := range out {
		out[i] = State(i)
	}
	return out
}

// ParseState is the inverse of String.
func ParseState(name string) (State, bool) {
	for i, n := range stateNames {
		if n == name {
			return State(i), true
		}
	}
	return 0, false
}

// Synchronized reports the states in which both ISNs are known to the
// endpoint (RFC 9293 §3.5: ESTABLISHED and every state after it).
func (s State) Synchronized() bool { return s >= Established && s < numStates }

// SentFIN reports the states an endpoint reaches only after sending its FIN.
func (s State) SentFIN() bool {
	switch s {
	case FinWait1, FinWait2, Closing, TimeWait, LastAck:
		return true
	}
	return false
}

// ReceivedFIN reports the states an endpoint reaches only after receiving the
// peer's FIN.
func (s State) ReceivedFIN() bool {
	switch s {
	case CloseWait, LastAck, Closing, TimeWait:
		return true
	}
	return false
}

// Open reports whether the endpoint still holds a connection (anything but
// CLOSED and LISTEN).
func (s State) Open() bool { return s != Closed && s != Listen }
