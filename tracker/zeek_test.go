package tracker

import (
	"slices"
	"strings"
	"testing"

	"github.com/tcptrace/tcptrace/tcp"
)

// zeekSeg is one test segment for zeekConn.
type zeekSeg struct {
	fromClient bool
	flags      tcp.Flags
	seq, ack   tcp.Seq
	length     uint32
	window     uint16
	gap        bool
	corrupt    bool // bad checksum: fed to badChecksum instead of packet
}

// zeekCli and zeekSrv build a segment from our client or server with a
// non-zero window, so that only tests about zero windows get 'w'.
func zeekCli(flags tcp.Flags, seq, ack tcp.Seq, length uint32) zeekSeg {
	return zeekSeg{fromClient: true, flags: flags, seq: seq, ack: ack, length: length, window: 8192}
}

func zeekSrv(flags tcp.Flags, seq, ack tcp.Seq, length uint32) zeekSeg {
	return zeekSeg{flags: flags, seq: seq, ack: ack, length: length, window: 8192}
}

func (s zeekSeg) withWindow(w uint16) zeekSeg { s.window = w; return s }
func (s zeekSeg) withGap() zeekSeg            { s.gap = true; return s }
func (s zeekSeg) withBadChecksum() zeekSeg    { s.corrupt = true; return s }

func zeekRepeat(n int, s zeekSeg) []zeekSeg {
	out := make([]zeekSeg, n)
	for i := range out {
		out[i] = s
	}
	return out
}

func (z *zeekConn) feed(segs []zeekSeg) {
	for _, s := range segs {
		if s.corrupt {
			z.badChecksum(s.fromClient, s.flags)
			continue
		}
		z.packet(s.fromClient, s.flags, s.seq, s.ack, s.length, s.window, s.gap)
	}
}

const (
	zSYN = tcp.SYN
	zSA  = tcp.SYN | tcp.ACK
	zA   = tcp.ACK
	zPA  = tcp.PSH | tcp.ACK
	zFA  = tcp.FIN | tcp.ACK
	zR   = tcp.RST
	zRA  = tcp.RST | tcp.ACK
)

// zeekHandshake is client ISN 1000, server ISN 5000.
var zeekHandshake = []zeekSeg{
	zeekCli(zSYN, 1000, 0, 0),
	zeekSrv(zSA, 5000, 1001, 0),
	zeekCli(zA, 1001, 5001, 0),
}

// zeekHint selects Zeek's likely_server_ports for a case.
type zeekHint uint8

const (
	zeekHintDefault zeekHint = iota // unset: the server's port is likely, the client's not
	zeekHintBare                    // `zeek -b`: no protocol scripts, so no likely ports
)

func TestZeekHistoryAndConnState(t *testing.T) {
	type bytes struct{ orig, resp uint64 }
	tests := []struct {
		name         string
		hint         zeekHint
		segs         []zeekSeg
		history      string
		state        string
		origIsClient bool
		bytes        *bytes // nil: not checked
	}{
		// ---- every conn_state code ----
		{
			// S0 "S" with orig_pkts 3 is the everyday scan/timeout line; the
			// retransmitted SYN keeps its sequence number, so no second S.
			name:    "S0: SYN retransmitted, no reply",
			segs:    zeekRepeat(3, zeekCli(zSYN, 1000, 0, 0)),
			history: "S", state: "S0", origIsClient: true, bytes: &bytes{0, 0},
		},
		{
			// Real Zeek output in a zeekctl test fixture: REJ "Sr", 0/0
			// bytes, 2 packets each way (a capture that saw every packet
			// twice: same sequence numbers, so no second S or r).
			name: "REJ: SYN answered by RST-ACK, both duplicated",
			segs: []zeekSeg{
				zeekCli(zSYN, 1000, 0, 0), zeekCli(zSYN, 1000, 0, 0),
				zeekSrv(zRA, 0, 1001, 0), zeekSrv(zRA, 0, 1001, 0),
			},
			history: "Sr", state: "REJ", origIsClient: true, bytes: &bytes{0, 0},
		},
		{
			// conn_state: RST from the responder while the originator is
			// also reset and neither sent data is a rejection too.
			name:    "REJ: RST from each side, no data",
			segs:    []zeekSeg{zeekCli(zR, 1000, 0, 0), zeekSrv(zR, 5000, 0, 0)},
			history: "Rr", state: "REJ", origIsClient: true, bytes: &bytes{0, 0},
		},
		{
			// Baseline core.tcp.rxmit-history/conn-2.log (wikipedia.trace):
			// ShADad S1.
			name: "S1: established with data both ways",
			segs: append(slices.Clone(zeekHandshake),
				zeekCli(zPA, 1001, 5001, 100), zeekSrv(zA, 5001, 1101, 0),
				zeekSrv(zPA, 5001, 1101, 200), zeekCli(zA, 1101, 5201, 0)),
			history: "ShADad", state: "S1", origIsClient: true, bytes: &bytes{100, 200},
		},
		{
			name: "SF: normal close",
			segs: append(slices.Clone(zeekHandshake),
				zeekCli(zPA, 1001, 5001, 100), zeekSrv(zA, 5001, 1101, 0), zeekSrv(zPA, 5001, 1101, 200),
				zeekCli(zFA, 1101, 5201, 0), zeekSrv(zFA, 5201, 1102, 0), zeekCli(zA, 1102, 5202, 0)),
			history: "ShADadFf", state: "SF", origIsClient: true, bytes: &bytes{100, 200},
		},
		{
			// Baseline core.tcp.large-file-reassembly/conn.log (ftp-data):
			// ShAdfFa SF, orig_bytes 0, resp_bytes 270.
			name: "SF: server sends data and closes first",
			segs: append(slices.Clone(zeekHandshake),
				zeekSrv(zPA, 5001, 1001, 270), zeekSrv(zFA, 5271, 1001, 0),
				zeekCli(zFA, 1001, 5272, 0), zeekSrv(zA, 5272, 1002, 0)),
			history: "ShAdfFa", state: "SF", origIsClient: true, bytes: &bytes{0, 270},
		},
		{
			// Baseline core.tcp.fin-rst-timeout/conn.log: ShADadtFRfr SF.
			// The client's RST after its FIN is undone by the server's FIN
			// (a FIN-then-RST close is still a normal close).
			name: "SF: FIN then RST from both sides",
			segs: append(slices.Clone(zeekHandshake),
				zeekCli(zPA, 1001, 5001, 100), zeekSrv(zA, 5001, 1101, 0),
				zeekSrv(zPA, 5001, 1101, 200), zeekSrv(zPA, 5001, 1101, 200),
				zeekCli(zFA, 1101, 5201, 0), zeekCli(zR, 1102, 0, 0),
				zeekSrv(zFA, 5201, 1102, 0), zeekSrv(zR, 5202, 0, 0)),
			history: "ShADadtFRfr", state: "SF", origIsClient: true,
		},
		{
			// Baseline core.tcp.rxmit-history/conn-1.log: ShADaGdgtR RSTO.
			// G: the server ACKs client data the capture lacks; g: the
			// client ACKs server data the capture lacks.
			name: "RSTO: gaps both ways, retransmission, client aborts",
			segs: append(slices.Clone(zeekHandshake),
				zeekCli(zPA, 1001, 5001, 100), zeekSrv(zA, 5001, 1201, 0).withGap(),
				zeekSrv(zPA, 5001, 1201, 200), zeekCli(zA, 1201, 5301, 0).withGap(),
				zeekSrv(zPA, 5001, 1201, 200), zeekCli(zR, 1201, 0, 0)),
			history: "ShADaGdgtR", state: "RSTO", origIsClient: true,
		},
		{
			// Real Zeek output in the zeekctl fixture above: ShADTdtr RSTR.
			name: "RSTR: retransmissions both ways, server aborts",
			segs: append(slices.Clone(zeekHandshake),
				zeekCli(zPA, 1001, 5001, 100), zeekCli(zPA, 1001, 5001, 100),
				zeekSrv(zPA, 5001, 1101, 50), zeekSrv(zPA, 5001, 1101, 50),
				zeekSrv(zR, 5051, 0, 0)),
			history: "ShADTdtr", state: "RSTR", origIsClient: true, bytes: &bytes{100, 50},
		},
		{
			// Baseline scripts.base.protocols.conn.conn_state-RST-behavior
			// (syn-then-rst.pcap, zeek -b): SR RSTOS0.
			name:    "RSTOS0: SYN then RST",
			hint:    zeekHintBare,
			segs:    []zeekSeg{zeekCli(zSYN, 1000, 0, 0), zeekCli(zR, 1001, 0, 0)},
			history: "SR", state: "RSTOS0", origIsClient: true, bytes: &bytes{0, 0},
		},
		{
			// Same baseline (syn-then-ack-then-rst.pcap): SaR RSTOS0. The
			// responder's bare ACK of a SYN leaves it inactive; the ACK
			// acknowledges 500 bytes, so Size's half-open rule gives 0.
			name:    "RSTOS0: SYN, responder ACK, RST",
			hint:    zeekHintBare,
			segs:    []zeekSeg{zeekCli(zSYN, 1000, 0, 0), zeekSrv(zA, 5000, 1500, 0), zeekCli(zR, 1001, 0, 0)},
			history: "SaR", state: "RSTOS0", origIsClient: true, bytes: &bytes{0, 0},
		},
		{
			// Same baseline (syn-then-stuff-then-rst.pcap): SaFR OTH, the
			// F breaks RSTOS0's /^?S[^HAFGIQ]*R.*/.
			name: "OTH: SYN, responder ACK, FIN, RST",
			hint: zeekHintBare,
			segs: []zeekSeg{
				zeekCli(zSYN, 1000, 0, 0), zeekSrv(zA, 5000, 1001, 0),
				zeekCli(zFA, 1001, 5000, 0), zeekCli(zR, 1002, 0, 0),
			},
			history: "SaFR", state: "OTH", origIsClient: true,
		},
		{
			// Same baseline (single-rst.pcap): R OTH.
			name:    "OTH: a lone RST",
			hint:    zeekHintBare,
			segs:    []zeekSeg{zeekCli(zR, 1000, 0, 0)},
			history: "R", state: "OTH", origIsClient: true,
		},
		{
			// Baseline core.tcp.rxmit-history/conn-2.log: DdA OTH with
			// orig_bytes 463, resp_bytes 350 (midstream pickup).
			name: "OTH: midstream, both sides partial",
			segs: []zeekSeg{
				zeekCli(zPA, 1001, 5001, 463), zeekSrv(zPA, 5001, 1464, 350),
				zeekCli(zA, 1464, 5351, 0),
			},
			history: "DdA", state: "OTH", origIsClient: true, bytes: &bytes{463, 350},
		},
		{
			// Baseline core.expire-all-timers/conn-all.log: Da OTH, 18/0.
			name:    "OTH: one data segment and its ACK",
			segs:    []zeekSeg{zeekCli(zPA, 1001, 5001, 18), zeekSrv(zA, 5001, 1019, 0)},
			history: "Da", state: "OTH", origIsClient: true, bytes: &bytes{18, 0},
		},
		{
			// Baseline core.tcp.rxmit-history/conn-2.log: ^h OTH (a lone
			// SYN-ACK from port 80, flipped so the client is orig).
			name:    "OTH: lone SYN-ACK, flipped",
			segs:    []zeekSeg{zeekSrv(zSA, 5000, 1001, 0)},
			history: "^h", state: "OTH", origIsClient: true,
		},
		{
			name:    "SH: SYN then FIN, no reply",
			segs:    []zeekSeg{zeekCli(zSYN, 1000, 0, 0), zeekCli(tcp.FIN, 1001, 0, 0)},
			history: "SF", state: "SH", origIsClient: true,
		},
		{
			// Baseline core.checksums_ignore_nets/conn-failed.log (zeek -b):
			// the client's packets all have bad checksums, so the server's
			// SYN-ACK starts the connection and stays orig: HcADF SH,
			// orig_bytes 432, resp_bytes 0.
			name: "SH: SYN-ACK first, client unreadable, server closes",
			hint: zeekHintBare,
			segs: []zeekSeg{
				zeekSrv(zSA, 5000, 1001, 0), zeekCli(zA, 1001, 5001, 0).withBadChecksum(),
				zeekSrv(zA, 5001, 1001, 0), zeekSrv(zPA, 5001, 1001, 432), zeekSrv(zFA, 5433, 1001, 0),
			},
			history: "HcADF", state: "SH", origIsClient: false, bytes: &bytes{432, 0},
		},
		{
			name:    "SHR: SYN-ACK then FIN, no SYN",
			segs:    []zeekSeg{zeekSrv(zSA, 5000, 1001, 0), zeekSrv(zFA, 5001, 1001, 0)},
			history: "^hf", state: "SHR", origIsClient: true,
		},
		{
			name:    "S2: client closes, server silent",
			segs:    append(slices.Clone(zeekHandshake), zeekCli(zFA, 1001, 5001, 0)),
			history: "ShAF", state: "S2", origIsClient: true,
		},
		{
			name:    "S3: server closes, client silent",
			segs:    append(slices.Clone(zeekHandshake), zeekSrv(zFA, 5001, 1001, 0)),
			history: "ShAf", state: "S3", origIsClient: true,
		},
		{
			name:    "RSTRH: SYN-ACK then RST, no SYN",
			segs:    []zeekSeg{zeekSrv(zSA, 5000, 1001, 0), zeekSrv(zR, 5001, 0, 0)},
			history: "^hr", state: "RSTRH", origIsClient: true,
		},
		{
			// Published Zeek output shows Cr RSTRH for a port answered by a
			// RST where the SYN's checksum was bad (offloading).
			name: "RSTRH: unreadable SYN answered by RST",
			segs: []zeekSeg{
				zeekCli(zSYN, 1000, 0, 0).withBadChecksum(), zeekSrv(zRA, 0, 1001, 0),
			},
			history: "Cr", state: "RSTRH", origIsClient: true,
		},

		// ---- orientation ('^') ----
		{
			// Baselines core.tcp.missing-syn and core.history-flip:
			// ^hADdFaf SF, orig_bytes 98, resp_bytes 9417.
			name: "flip: SYN missed, SYN-ACK first",
			segs: []zeekSeg{
				zeekSrv(zSA, 5000, 1001, 0), zeekCli(zA, 1001, 5001, 0),
				zeekCli(zPA, 1001, 5001, 98), zeekSrv(zPA, 5001, 1099, 9417),
				zeekCli(zFA, 1099, 14418, 0), zeekSrv(zA, 14418, 1100, 0),
				zeekSrv(zFA, 14418, 1100, 0), zeekCli(zA, 1100, 14419, 0),
			},
			history: "^hADdFaf", state: "SF", origIsClient: true, bytes: &bytes{98, 9417},
		},
		{
			// Baseline core.tcp.flip-without-syn: ^hADadFf SF, 136/5007.
			name: "flip: SYN missed, responder ACKs before its data",
			segs: []zeekSeg{
				zeekSrv(zSA, 5000, 1001, 0), zeekCli(zA, 1001, 5001, 0),
				zeekCli(zPA, 1001, 5001, 136), zeekSrv(zA, 5001, 1137, 0),
				zeekSrv(zPA, 5001, 1137, 5007), zeekCli(zFA, 1137, 10008, 0),
				zeekSrv(zFA, 10008, 1138, 0), zeekCli(zA, 1138, 10009, 0),
			},
			history: "^hADadFf", state: "SF", origIsClient: true, bytes: &bytes{136, 5007},
		},
		{
			// With no likely ports the SYN-ACK's sender stays orig; the
			// late SYN (its number is the SYN-ACK's ACK - 1) flips the
			// roles: the letter s is written before the flip's '^'.
			name: "flip: SYN-ACK captured before its SYN",
			hint: zeekHintBare,
			segs: []zeekSeg{
				zeekSrv(zSA, 5000, 1001, 0), zeekCli(zSYN, 1000, 0, 0), zeekCli(zA, 1001, 5001, 0),
			},
			history: "Hs^A", state: "S1", origIsClient: true,
		},
		{
			name:    "no flip: bare SYN first even from the server",
			segs:    []zeekSeg{zeekSrv(zSYN, 5000, 0, 0)},
			history: "S", state: "S0", origIsClient: false,
		},

		// ---- letters recorded once per direction ----
		{
			name: "A and D once per direction",
			segs: append(slices.Clone(zeekHandshake),
				zeekCli(zPA, 1001, 5001, 10), zeekCli(zPA, 1011, 5001, 10),
				zeekSrv(zA, 5001, 1021, 0), zeekSrv(zA, 5001, 1021, 0),
				zeekSrv(zPA, 5001, 1021, 10), zeekSrv(zPA, 5011, 1021, 10),
				zeekCli(zA, 1021, 5021, 0)),
			history: "ShADad", state: "S1", origIsClient: true,
		},
		{
			// FIN+RST is inconsistent: I, once; no F or R letter for it.
			name: "I: FIN+RST once per direction",
			segs: append(slices.Clone(zeekHandshake),
				zeekCli(tcp.FIN|tcp.RST|tcp.ACK, 1001, 5001, 0), zeekCli(tcp.FIN|tcp.RST, 1002, 0, 0)),
			history: "ShAI", state: "RSTO", origIsClient: true,
		},
		{
			// SYN+FIN: Q, and the state machine still sees both flags.
			name:    "Q: SYN+FIN",
			segs:    zeekRepeat(2, zeekCli(tcp.SYN|tcp.FIN, 1000, 0, 0)),
			history: "Q", state: "SH", origIsClient: true,
		},
		{
			// SYN+RST: Q; RSTOS0 needs an S, so this is OTH.
			name:    "Q: SYN+RST",
			segs:    []zeekSeg{zeekCli(tcp.SYN|tcp.RST, 1000, 0, 0)},
			history: "Q", state: "OTH", origIsClient: true,
		},

		// ---- letters repeated when the sequence number changes ----
		{
			// After its FIN the server's SYN-ACKs are no longer re-based: the
			// same ISN repeats nothing, a new one repeats h.
			name: "h repeats only with a new sequence number",
			segs: append(slices.Clone(zeekHandshake),
				zeekCli(zFA, 1001, 5001, 0), zeekSrv(zFA, 5001, 1002, 0),
				zeekSrv(zSA, 5000, 1001, 0), zeekSrv(zSA, 7000, 1001, 0), zeekSrv(zSA, 7000, 1001, 0)),
			history: "ShAFfh", state: "SF", origIsClient: true,
		},
		{
			// For a FIN the number is the one after its payload.
			name: "F repeats only with a new end",
			segs: append(slices.Clone(zeekHandshake),
				zeekCli(zFA, 1001, 5001, 0), zeekCli(zFA, 1001, 5001, 0), zeekCli(zFA, 1001, 5001, 10)),
			history: "ShAFF", state: "S2", origIsClient: true,
		},
		{
			name: "R repeats only with a new sequence number",
			segs: append(slices.Clone(zeekHandshake),
				zeekCli(zR, 1001, 0, 0), zeekCli(zR, 1001, 0, 0), zeekCli(zR, 1500, 0, 0)),
			history: "ShARR", state: "RSTO", origIsClient: true,
		},

		{
			// update_last_seq trusts nothing after a side's RST: its later
			// data neither counts as bytes nor as a retransmission.
			name: "data after RST is not trusted",
			segs: append(slices.Clone(zeekHandshake),
				zeekCli(zPA, 1001, 5001, 100), zeekCli(zR, 1101, 0, 0),
				zeekCli(zPA, 1101, 5001, 50), zeekCli(zPA, 1001, 5001, 100)),
			history: "ShADR", state: "RSTO", origIsClient: true, bytes: &bytes{100, 0},
		},

		// ---- logarithmic letters: 1st, 10th, 100th event ----
		{
			name: "T: 9 retransmissions",
			segs: slices.Concat(zeekHandshake, []zeekSeg{zeekCli(zPA, 1001, 5001, 100)},
				zeekRepeat(9, zeekCli(zPA, 1001, 5001, 100))),
			history: "ShADT", state: "S1", origIsClient: true,
		},
		{
			name: "T: 10 retransmissions",
			segs: slices.Concat(zeekHandshake, []zeekSeg{zeekCli(zPA, 1001, 5001, 100)},
				zeekRepeat(10, zeekCli(zPA, 1001, 5001, 100))),
			history: "ShADTT", state: "S1", origIsClient: true,
		},
		{
			// Payload that ends before the highest number seen counts as a
			// retransmission even if it was merely reordered.
			name: "t: 100 out-of-order segments",
			segs: slices.Concat(zeekHandshake, []zeekSeg{zeekSrv(zPA, 5101, 1001, 100)},
				zeekRepeat(100, zeekSrv(zPA, 5001, 1001, 100))),
			history: "ShAdttt", state: "S1", origIsClient: true,
		},
		{
			name:    "w: zero windows 1 and 10",
			segs:    slices.Concat(zeekHandshake, zeekRepeat(10, zeekSrv(zA, 5001, 1001, 0).withWindow(0))),
			history: "ShAaww", state: "S1", origIsClient: true,
		},
		{
			// Not counted: with a RST, or once the peer has sent its FIN.
			// Counted: from a side that has itself sent a FIN.
			name: "W: zero windows that do and do not count",
			segs: append(slices.Clone(zeekHandshake),
				zeekCli(zFA, 1001, 5001, 0), zeekSrv(zA, 5001, 1002, 0).withWindow(0),
				zeekCli(zA, 1002, 5001, 0).withWindow(0), zeekSrv(zRA, 5001, 1002, 0).withWindow(0)),
			history: "ShAFaWr", state: "RSTR", origIsClient: true,
		},
		{
			name:    "C: 10 bad checksums",
			segs:    zeekRepeat(10, zeekCli(zSYN, 1000, 0, 0).withBadChecksum()),
			history: "CC", state: "OTH", origIsClient: true,
		},
		{
			name: "g: 10 gaps in the server's data",
			segs: slices.Concat(zeekHandshake, []zeekSeg{zeekSrv(zPA, 5001, 1001, 10)},
				zeekRepeat(10, zeekCli(zA, 1001, 6000, 0).withGap())),
			history: "ShAdgg", state: "S1", origIsClient: true,
		},
		{
			// Gaps are not charged unless both sides are established (or
			// closing from established), nor seen without an ACK.
			name: "g: not in a partial connection or without ACK",
			segs: []zeekSeg{
				zeekCli(zPA, 1001, 5001, 10), zeekSrv(zPA, 5001, 1011, 10),
				zeekCli(zA, 1011, 6000, 0).withGap(), zeekCli(tcp.PSH, 1011, 0, 5).withGap(),
			},
			history: "DdA", state: "OTH", origIsClient: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var z zeekConn
			if tt.hint == zeekHintBare {
				z.setServerPortHint(50000, 80, false, false)
			}
			z.feed(tt.segs)
			if got := z.history(); got != tt.history {
				t.Errorf("history = %q, want %q", got, tt.history)
			}
			if got := z.connState(); got != tt.state {
				t.Errorf("conn_state = %s, want %s", got, tt.state)
			}
			if got := z.origIsClient(); got != tt.origIsClient {
				t.Errorf("origIsClient = %v, want %v", got, tt.origIsClient)
			}
			if tt.bytes != nil {
				if o, r := z.bytes(); o != tt.bytes.orig || r != tt.bytes.resp {
					t.Errorf("orig_bytes, resp_bytes = %d, %d, want %d, %d", o, r, tt.bytes.orig, tt.bytes.resp)
				}
			}
		})
	}
}

// TestZeekFlipHeuristic covers WantConnection's port rule for a first
// packet that is not a bare SYN.
func TestZeekFlipHeuristic(t *testing.T) {
	tests := []struct {
		name                       string
		clientPort, serverPort     uint16
		clientLikely, serverLikely bool
		first                      zeekSeg
		history                    string
		origIsClient               bool
	}{
		{"server port likely, server speaks first", 50000, 80, false, true, zeekSrv(zPA, 5001, 1001, 10), "^d", true},
		{"server port likely, client speaks first", 50000, 80, false, true, zeekCli(zPA, 1001, 5001, 10), "D", true},
		{"neither likely, server speaks first", 50000, 8000, false, false, zeekSrv(zPA, 5001, 1001, 10), "D", false},
		{"only the client's port likely", 80, 8000, true, false, zeekCli(zPA, 1001, 5001, 10), "^d", false},
		{"both likely, data from the lower port", 25, 80, true, true, zeekCli(zPA, 1001, 5001, 10), "^d", false},
		{"both likely, data from the higher port", 25, 80, true, true, zeekSrv(zPA, 5001, 1001, 10), "D", false},
		{"both likely, SYN-ACK from the lower port", 80, 443, true, true, zeekCli(zSA, 1000, 5001, 0), "H", true},
		{"server port likely, bare SYN from it", 50000, 80, false, true, zeekSrv(zSYN, 5000, 0, 0), "S", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var z zeekConn
			z.setServerPortHint(tt.clientPort, tt.serverPort, tt.clientLikely, tt.serverLikely)
			z.feed([]zeekSeg{tt.first})
			if got := z.history(); got != tt.history {
				t.Errorf("history = %q, want %q", got, tt.history)
			}
			if got := z.origIsClient(); got != tt.origIsClient {
				t.Errorf("origIsClient = %v, want %v", got, tt.origIsClient)
			}
		})
	}
}

// TestZeekStartsNewConnection covers IsReuse: which SYNs make Zeek log the
// connection and start another on the same 4-tuple.
func TestZeekStartsNewConnection(t *testing.T) {
	tests := []struct {
		name  string
		hint  zeekHint
		segs  []zeekSeg
		next  zeekSeg
		reuse bool
	}{
		{"first packet", zeekHintDefault, nil, zeekCli(zSYN, 1000, 0, 0), false},
		{"not a SYN", zeekHintDefault, zeekHandshake, zeekCli(zPA, 1001, 5001, 10), false},
		{"SYN retransmitted", zeekHintDefault, zeekHandshake[:1], zeekCli(zSYN, 1000, 0, 0), false},
		{"SYN with a new ISN", zeekHintDefault, zeekHandshake, zeekCli(zSYN, 9000, 0, 0), true},
		{"SYN-ACK retransmitted", zeekHintDefault, zeekHandshake, zeekSrv(zSA, 5000, 1001, 0), false},
		{"SYN-ACK with a new ISN while open", zeekHintDefault, zeekHandshake, zeekSrv(zSA, 7000, 1001, 0), false},
		{"SYN after a reset", zeekHintDefault, []zeekSeg{zeekCli(zSYN, 1000, 0, 0), zeekSrv(zRA, 0, 1001, 0)}, zeekCli(zSYN, 1000, 0, 0), true},
		{"SYN after a FIN", zeekHintDefault, append(slices.Clone(zeekHandshake), zeekCli(zFA, 1001, 5001, 0)), zeekCli(zSYN, 1000, 0, 0), true},
		{
			// core.checksums_ignore_nets/conn-failed.log: the SYN-ACK after
			// an unreadable SYN starts a second connection.
			"SYN-ACK before the originator sent anything readable", zeekHintBare,
			[]zeekSeg{zeekCli(zSYN, 1000, 0, 0).withBadChecksum()}, zeekSrv(zSA, 5000, 1001, 0), true,
		},
		{"SYN answering an originator's SYN-ACK", zeekHintBare, []zeekSeg{zeekSrv(zSA, 5000, 1001, 0)}, zeekCli(zSYN, 1000, 0, 0), false},
		{"SYN answering a SYN-ACK with another number", zeekHintBare, []zeekSeg{zeekSrv(zSA, 5000, 1001, 0)}, zeekCli(zSYN, 3000, 0, 0), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var z zeekConn
			if tt.hint == zeekHintBare {
				z.setServerPortHint(50000, 80, false, false)
			}
			z.feed(tt.segs)
			if got := z.startsNewConnection(tt.next.flags, tt.next.seq); got != tt.reuse {
				t.Errorf("startsNewConnection = %v, want %v", got, tt.reuse)
			}
		})
	}
}

// TestZeekLargeTransfer checks the 64-bit byte counts across several wraps
// of the 32-bit sequence space, and that advancing data is never taken for a
// retransmission when its numbers wrap.
func TestZeekLargeTransfer(t *testing.T) {
	const segment, count = 60000, 90000 // 5.4 GB, more than four wraps
	var z zeekConn
	z.feed([]zeekSeg{
		zeekCli(zSYN, 0xffffff00, 0, 0),
		zeekSrv(zSA, 0xfffff000, 0xffffff01, 0),
		zeekCli(zA, 0xffffff01, 0xfffff001, 0),
	})
	seq := tcp.Seq(0xfffff001)
	for range count {
		z.packet(false, zPA, seq, 0xffffff01, segment, 8192, false)
		seq = seq.Add(segment)
	}
	z.feed([]zeekSeg{
		zeekSrv(zFA, seq, 0xffffff01, 0),
		zeekCli(zFA, 0xffffff01, seq.Add(1), 0),
		zeekSrv(zA, seq.Add(1), 0xffffff02, 0),
	})
	if got, want := z.history(), "ShAdfFa"; got != want {
		t.Errorf("history = %q, want %q", got, want)
	}
	if got := z.connState(); got != "SF" {
		t.Errorf("conn_state = %s, want SF", got)
	}
	if o, r := z.bytes(); o != 0 || r != segment*count {
		t.Errorf("orig_bytes, resp_bytes = %d, %d, want 0, %d", o, r, segment*count)
	}
}

// TestZeekAnalysisLimited: X is upper case whoever triggers it, and once.
func TestZeekAnalysisLimited(t *testing.T) {
	var z zeekConn
	z.feed(zeekHandshake)
	z.analysisLimited()
	z.feed([]zeekSeg{zeekSrv(zPA, 5001, 1001, 10)})
	z.analysisLimited()
	if got, want := z.history(), "ShAXd"; got != want {
		t.Errorf("history = %q, want %q", got, want)
	}
}

// TestZeekHistoryCap: RSTs with ever new numbers repeat R without a brake;
// the stored history stops at the cap and counts what it dropped.
func TestZeekHistoryCap(t *testing.T) {
	var z zeekConn
	z.feed(zeekHandshake)
	const resets = 60
	for i := range resets {
		z.packet(true, zR, tcp.Seq(1001+i), 0, 0, 8192, false)
	}
	want := "ShA" + strings.Repeat("R", zeekHistoryCap-3)
	if got := z.history(); got != want {
		t.Errorf("history = %q, want %q", got, want)
	}
	if got, want := z.historyDropped(), 3+resets-zeekHistoryCap; got != want {
		t.Errorf("historyDropped = %d, want %d", got, want)
	}
	if got := z.connState(); got != "RSTO" {
		t.Errorf("conn_state = %s, want RSTO", got)
	}
}

func TestZeekSYNThenRST(t *testing.T) {
	tests := []struct {
		history string
		match   bool
	}{
		{"SR", true},
		{"^SR", true},
		{"SaR", true},
		{"SdrR", true}, // responder letters do not count
		{"SRF", true},  // anything may follow the R
		{"SaFR", false},
		{"ShAR", false},
		{"SQR", false},
		{"R", false},
		{"S", false},
		{"^^SR", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := zeekSYNThenRST(tt.history); got != tt.match {
			t.Errorf("zeekSYNThenRST(%q) = %v, want %v", tt.history, got, tt.match)
		}
	}
}
