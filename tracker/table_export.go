package tracker

// Rule is one cell of the transition table, exported for diagrams and docs:
// the state diagram is drawn from the same table the tracker runs, so the
// picture cannot drift from the code.
type Rule struct {
	From, To   State
	Sent       bool   // the endpoint sent the segment (else it received it)
	Segment    string // SYN, SYN-ACK, FIN, ACK or RST
	Guard      string // the sequence-number condition, "" when none
	Correction bool   // undoes an assumption of the observer (a segment lost beyond the capture point)
}

// Table returns every transition rule that changes state, in table order.
func Table() []Rule {
	var out []Rule
	for d := dir(0); d < numDirs; d++ {
		for cls := class(0); cls < numClasses; cls++ {
			for st := State(0); st < numStates; st++ {
				cl := transitions[d][cls][st]
				if !cl.ok || cl.to == st {
					continue
				}
				if cl.guard == peerSYNPending {
					// Reported as LISTEN -> SYN_RCVD: a responder that answers
					// with a SYN-ACK was listening (see step).
					continue
				}
				out = append(out, Rule{From: st, To: cl.to, Sent: d == sent, Segment: cls.String(),
					Guard: cl.guard.String(), Correction: cl.correction})
			}
		}
	}
	return out
}
