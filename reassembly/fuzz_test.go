package reassembly

import (
	"encoding/binary"
	"testing"

	"github.com/tcptrace/tcptrace/tcp"
)

// segmentsFromBytes turns fuzz input into a plausible-looking segment
// sequence: each side keeps a cursor near which most sequence and ACK
// numbers fall (so retransmissions, gaps, probes and duplicate ACKs all
// occur), with occasional far jumps, copies and SACK blocks.
//
// The first 8 bytes are the two ISNs (so the 2^32 wrap is reached); then
// every 8 bytes are one segment:
//
//	0     side (bit 0), flag combination (bits 1-3), IP ID reuse (bit 4),
//	      SACK block (bit 5), far jump (bit 6), window scale in SYN (bit 7)
//	1-2   signed offset of seq from the sender's cursor
//	3-4   payload length (mod 3000)
//	5     signed offset of ack from the peer's cursor (×16)
//	6     window: 0, small or large
//	7     time step
func segmentsFromBytes(data []byte, yield func(from int, seg *tcp.Segment)) {
	if len(data) < 8 {
		return
	}
	cursor := [2]uint32{binary.BigEndian.Uint32(data), binary.BigEndian.Uint32(data[4:])}
	data = data[8:]
	flagSets := [...]tcp.Flags{tcp.ACK, tcp.ACK | tcp.PSH, tcp.SYN, tcp.SYN | tcp.ACK, tcp.FIN | tcp.ACK, tcp.RST, tcp.RST | tcp.ACK, tcp.ACK}
	var ipid [2]uint16
	now := int64(1_700_000_000_000_000_000)
	var pkt uint64
	for ; len(data) >= 8; data = data[8:] {
		from := int(data[0] & 1)
		flags := flagSets[data[0]>>1&7]
		off := int32(int16(binary.BigEndian.Uint16(data[1:])))
		n := uint32(binary.BigEndian.Uint16(data[3:])) % 3000
		if flags&tcp.SYN != 0 || flags&tcp.RST != 0 {
			n %= 3
		}
		seq := cursor[from] + uint32(off)
		if data[0]&0x40 != 0 {
			seq += 1 << 31
		}
		ack := cursor[from^1] + uint32(int32(int8(data[5]))*16)
		now += int64(data[7]) * int64(data[7]) * 1000
		if data[0]&0x10 == 0 {
			ipid[from]++
		}
		pkt++
		seg := tcp.Segment{
			Time:       now,
			Packet:     pkt,
			Seq:        tcp.Seq(seq),
			Ack:        tcp.Seq(ack),
			Flags:      flags,
			Window:     [...]uint16{0, 3, 512, 65535}[data[6]&3],
			PayloadLen: n,
			IPID:       ipid[from],
		}
		if flags&tcp.SYN != 0 {
			seg.Options = tcp.Options{MSS: 1460, SACKPermitted: true, WScale: data[6] >> 4, HasWScale: data[0]&0x80 != 0}
		}
		if data[0]&0x20 != 0 {
			l := cursor[from^1] + uint32(int32(int8(data[6]))*64)
			seg.Options.NumSACK = 1
			seg.Options.SACK[0] = tcp.SACKBlock{Left: tcp.Seq(l), Right: tcp.Seq(l + n + 1)}
		}
		if end := seq + n; int32(end-cursor[from]) > 0 && data[0]&0x40 == 0 {
			cursor[from] = end
		}
		yield(from, &seg)
	}
}

// checkInvariants checks what must hold after any segment sequence.
func checkInvariants(t *testing.T, st *Stats, fed [2]uint64, payload [2]uint64, returned [2][numClasses]uint64) {
	t.Helper()
	for side := range 2 {
		d := &st.Dir[side]
		if d.Packets != fed[side] {
			t.Fatalf("side %d: Packets %d, fed %d", side, d.Packets, fed[side])
		}
		if d.PayloadBytes != payload[side] {
			t.Fatalf("side %d: PayloadBytes %d, fed %d", side, d.PayloadBytes, payload[side])
		}
		if d.UniqueBytes > d.PayloadBytes {
			t.Fatalf("side %d: UniqueBytes %d > PayloadBytes %d", side, d.UniqueBytes, d.PayloadBytes)
		}
		if d.RetransmittedBytes > d.PayloadBytes {
			t.Fatalf("side %d: RetransmittedBytes %d > PayloadBytes %d", side, d.RetransmittedBytes, d.PayloadBytes)
		}
		if d.RetransmittedPackets != d.Count(Retransmission) {
			t.Fatalf("side %d: RetransmittedPackets %d, retransmission count %d", side, d.RetransmittedPackets, d.Count(Retransmission))
		}
		if d.Count(FastRetransmission)+d.Count(SpuriousRetransmission) > d.Count(Retransmission) {
			t.Fatalf("side %d: fast %d + spurious %d > retransmissions %d", side,
				d.Count(FastRetransmission), d.Count(SpuriousRetransmission), d.Count(Retransmission))
		}
		if d.MissedBytes > 1<<62 {
			t.Fatalf("side %d: MissedBytes underflowed: %d", side, d.MissedBytes)
		}
		for i := range numClasses {
			c := ClassAt(i)
			if d.Count(c) != returned[side][i] {
				t.Fatalf("side %d: %v counted %d, returned %d times", side, c, d.Count(c), returned[side][i])
			}
			if (d.Count(c) > 0) != (d.First(c) > 0) {
				t.Fatalf("side %d: %v count %d but first packet %d", side, c, d.Count(c), d.First(c))
			}
		}
		if d.RTTSamples > 0 && !(d.RTTMin <= d.RTTAvg() && d.RTTAvg() <= d.RTTMax) {
			t.Fatalf("side %d: RTT min %v avg %v max %v", side, d.RTTMin, d.RTTAvg(), d.RTTMax)
		}
		if d.WindowSeen && d.WindowMin > d.WindowMax {
			t.Fatalf("side %d: window min %d > max %d", side, d.WindowMin, d.WindowMax)
		}
		cs := &st.colds()[side]
		var inHoles int64
		for i, h := range cs.holes[:cs.nHoles] {
			if h.lo >= h.hi || i > 0 && cs.holes[i-1].hi > h.lo {
				t.Fatalf("side %d: gaps out of order or empty: %+v", side, cs.holes[:cs.nHoles])
			}
			inHoles += h.hi - h.lo
		}
		if uint64(inHoles) > d.MissedBytes {
			t.Fatalf("side %d: %d bytes in gaps but MissedBytes %d", side, inHoles, d.MissedBytes)
		}
	}
}

func FuzzSegments(f *testing.F) {
	f.Add([]byte("\xff\xff\xff\x00\x00\x00\x00\x10" +
		"\x04\x00\x00\x00\x00\x00\x02\x01" + // client SYN
		"\x07\x00\x00\x00\x00\x01\x02\x01" + // server SYN-ACK
		"\x00\x00\x01\x05\xdc\x00\x02\x01" + // client data
		"\x01\x00\x00\x00\x00\x00\x02\x01" + // server ACK
		"\x00\x00\x01\x05\xdc\x00\x02\x01" + // client data again
		"\x21\x00\x00\x00\x00\x00\x02\x01")) // server ACK with SACK
	f.Add(make([]byte, 8+8*20))
	f.Add([]byte("\x00\x00\x00\x01\x80\x00\x00\x00" +
		"\x40\x7f\xff\x00\x10\x80\x00\xff" +
		"\x51\x80\x00\x0b\xb8\x7f\x01\x00" +
		"\x51\x80\x00\x0b\xb8\x7f\x01\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var c Conn
		var st Stats
		var fed, payload [2]uint64
		var returned [2][numClasses]uint64
		segmentsFromBytes(data, func(from int, seg *tcp.Segment) {
			cls := c.Segment(from, seg, &st)
			fed[from]++
			payload[from] += uint64(seg.PayloadLen)
			if cls >= 1<<numClasses {
				t.Fatalf("unknown class bits %#x", uint32(cls))
			}
			if cls.Has(HardwareDuplicate) && cls != HardwareDuplicate {
				t.Fatalf("hardware duplicate with other classes: %v", cls)
			}
			for x := range cls.All() {
				returned[from][x.index()]++
			}
		})
		checkInvariants(t, &st, fed, payload, returned)
	})
}

// BenchmarkSegment feeds a bulk transfer with losses, duplicate ACKs,
// SACK and retransmissions; one op is one segment.
func BenchmarkSegment(b *testing.B) {
	segs := bulkTransfer(20000)
	b.ReportAllocs()
	var c Conn
	var st Stats
	b.ResetTimer()
	for i := range b.N {
		k := i % len(segs)
		if k == 0 {
			c, st = Conn{}, Stats{}
		}
		s := &segs[k]
		c.Segment(int(s.from), &s.seg, &st)
	}
}

type sideSeg struct {
	from uint8
	seg  tcp.Segment
}

// bulkTransfer builds n data segments from the client, each acked by the
// server; every 50th is lost after the capture point and fast-retransmitted
// after three duplicate ACKs carrying SACK.
func bulkTransfer(n int) []sideSeg {
	const mss = 1448
	cISN, sISN := uint32(0xFFF00000), uint32(77)
	now := int64(1_700_000_000_000_000_000)
	var out []sideSeg
	var ipid [2]uint16
	add := func(from uint8, f tcp.Flags, seq, ack, l uint32, o tcp.Options) {
		now += 20_000
		ipid[from]++
		out = append(out, sideSeg{from, tcp.Segment{Time: now, Packet: uint64(len(out) + 1), Seq: tcp.Seq(seq), Ack: tcp.Seq(ack),
			Flags: f, Window: 1000, PayloadLen: l, IPID: ipid[from], Options: o}})
	}
	add(0, tcp.SYN, cISN, 0, 0, synOpts)
	add(1, tcp.SYN|tcp.ACK, sISN, cISN+1, 0, synOpts)
	add(0, tcp.ACK, cISN+1, sISN+1, 0, tcp.Options{})
	seq := cISN + 1
	for i := 0; i < n; i++ {
		add(0, tcp.ACK|tcp.PSH, seq, sISN+1, mss, tcp.Options{})
		if i%50 == 49 {
			lost := seq
			for k := 1; k <= 3; k++ {
				add(0, tcp.ACK|tcp.PSH, seq+uint32(k)*mss, sISN+1, mss, tcp.Options{})
				o := tcp.Options{NumSACK: 1}
				o.SACK[0] = tcp.SACKBlock{Left: tcp.Seq(lost + mss), Right: tcp.Seq(lost + uint32(k+1)*mss)}
				add(1, tcp.ACK, sISN+1, lost, 0, o)
			}
			add(0, tcp.ACK|tcp.PSH, lost, sISN+1, mss, tcp.Options{})
			seq += 4 * mss
			add(1, tcp.ACK, sISN+1, seq, 0, tcp.Options{})
			continue
		}
		seq += mss
		if i%2 == 1 {
			add(1, tcp.ACK, sISN+1, seq, 0, tcp.Options{})
		}
	}
	return out
}

// TestBulkTransfer checks the benchmark's input is classified as built, so
// the benchmark measures the paths it claims to.
func TestBulkTransfer(t *testing.T) {
	segs := bulkTransfer(1000)
	var c Conn
	var st Stats
	for i := range segs {
		c.Segment(int(segs[i].from), &segs[i].seg, &st)
	}
	cl, sv := &st.Dir[0], &st.Dir[1]
	eq(t, "fast retransmissions", cl.Count(FastRetransmission), 20)
	eq(t, "retransmissions", cl.Count(Retransmission), 20)
	eq(t, "duplicate ACKs", sv.Count(DuplicateAck), 40) // the first of each three repeats a new ACK
	eq(t, "unique", cl.UniqueBytes, uint64((1000+3*20)*1448))
	eq(t, "missed", cl.MissedBytes, 0)
	if cl.RTTSamples == 0 {
		t.Error("no RTT samples")
	}
	if n := testing.AllocsPerRun(10, func() {
		var c Conn
		var st Stats
		for i := range segs {
			c.Segment(int(segs[i].from), &segs[i].seg, &st)
		}
	}); n > 1 {
		// One allocation per connection: the in-flight state, on first use.
		t.Errorf("Segment allocates: %v allocations per connection, want at most 1", n)
	}
}
