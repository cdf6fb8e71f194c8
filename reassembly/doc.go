// Package reassembly follows both directions' sequence spaces of one TCP
// connection, without keeping payload, and classifies every segment:
// retransmissions (fast, spurious), reordering, segments the capture missed,
// duplicate ACKs, zero windows and their probes, window updates, keep-alives
// and packets captured twice. It also measures what the classification
// needs anyway: unique and retransmitted bytes, missed bytes (Zeek's
// missed_bytes), advertised windows, idle times, round-trip times and the
// handshake.
//
// # Contract
//
// The caller (the tracker) owns, per connection, one Conn and one Stats and
// calls
//
//	cls := conn.Segment(side, seg, &stats)
//
// once for every segment of the connection in capture order, side 0 for
// the client (the SYN's sender, or the guessed client of a midstream
// connection) and 1 for the server. Both zero values are ready; neither
// holds a pointer, so both can live in flat tables the garbage collector
// does not scan. Segment never allocates, never panics on any segment
// content, and does bounded work. The returned Class tells the caller what
// the segment was (is this FIN new or sent again? was the SYN-ACK's ACK
// lost beyond the capture point? — a SpuriousRetransmission of a SYN-ACK or
// FIN says so); Stats.Dir and Stats.Handshake hold the totals.
//
// The definitions follow Wireshark's "TCP Analysis" (the user's guide, and
// tcp_analyze_sequence_number in epan/dissectors/packet-tcp.c); where they
// differ, and why, is in DIFFERENCES.md and at the rule in the code.
//
// # Hot and cold state
//
// Conn is the hot state Segment reads on every segment to classify it: per
// direction the next expected and highest acknowledged sequence numbers,
// the ISN, the last ACK and window, the last segment's time, IP ID and
// fingerprint, the duplicate-ACK run and a few flags — 48 bytes a
// direction, 96 bytes a connection, small enough for a flow-table entry.
// Stats (about 1.4 KB) is cold: counters Segment only adds to, the class
// counts with their first packet numbers, and the state only rare paths
// read (gaps, segments being timed, the last SACK blocks, handshake times).
// Keep it beside the connection's other records, not in the flow table.
// A renderer needs only Stats.Dir and Stats.Handshake (about 800 bytes),
// which can be copied out when the connection is done.
//
// # Sequence numbers
//
// Each direction's sequence numbers are kept relative to its ISN in 64
// bits (Conn.Rel shows them), so they never wrap, whatever the ISN and
// however much data flows; a 32-bit number from a segment is placed within
// ±2^31 of the direction's highest one. Without a SYN a direction starts at
// its first segment seen, relative 1, and nothing before it is reported.
// Sequence and ACK numbers more than 2^30 (the largest window) away are not
// part of the connection and are ignored; so are RST segments, whose
// sequence number may be anywhere in the window.
//
// # Bounds
//
// Per direction Stats remembers at most 4 gaps (sequence space skipped by a
// later segment and not seen since), 8 segments waiting for the ACK that
// times them, and the peer's last 4 SACK blocks. When the gaps overflow,
// the lowest is forgotten: its bytes stay in MissedBytes, and a segment
// filling it later counts as a retransmission, not as out-of-order. When
// the timing queue is full, new segments are not timed until ACKs free a
// slot: there are fewer RTT samples, not wrong ones.
package reassembly
