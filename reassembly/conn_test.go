package reassembly

import (
	"reflect"
	"testing"
	"time"
	"unsafe"

	"github.com/tcptrace/tcptrace/tcp"
)

// step is one hand-built segment and the classes it must get.
type step struct {
	from     int
	at       time.Duration // capture time from the start of the case
	flags    tcp.Flags
	seq, ack uint32
	n        uint32 // payload length
	win      uint16
	ipid     uint16 // 0: the runner numbers each side's packets
	ipv6     bool   // no IP ID at all
	opts     tcp.Options
	want     Class
}

const (
	ms = time.Millisecond
	us = time.Microsecond

	// Defaults of the hand-built connections: ISNs, the window in SYNs, and
	// the window later segments advertise (scaled by 2^7 when both SYNs
	// offer window scale 7).
	ci, si = 1000, 5000
	synWin = 64240
	win    = 501
)

func mk(from int, at time.Duration, flags tcp.Flags, seq, ack, n uint32, w uint16) step {
	return step{from: from, at: at, flags: flags, seq: seq, ack: ack, n: n, win: w}
}

// Client and server data, ACKs and FINs with the default window.
func cdata(at time.Duration, seq, ack, n uint32) step {
	return mk(0, at, tcp.ACK|tcp.PSH, seq, ack, n, win)
}
func sdata(at time.Duration, seq, ack, n uint32) step {
	return mk(1, at, tcp.ACK|tcp.PSH, seq, ack, n, win)
}
func cack(at time.Duration, seq, ack uint32) step { return mk(0, at, tcp.ACK, seq, ack, 0, win) }
func sack(at time.Duration, seq, ack uint32) step { return mk(1, at, tcp.ACK, seq, ack, 0, win) }

func (s step) is(c Class) step             { s.want = c; return s }
func (s step) withWin(w uint16) step       { s.win = w; return s }
func (s step) withIPID(id uint16) step     { s.ipid = id; return s }
func (s step) v6() step                    { s.ipv6 = true; return s }
func (s step) withOpts(o tcp.Options) step { s.opts = o; return s }
func (s step) withSACK(b ...tcp.SACKBlock) step {
	s.opts.NumSACK = uint8(copy(s.opts.SACK[:], b))
	return s
}

func blk(l, r uint32) tcp.SACKBlock { return tcp.SACKBlock{Left: tcp.Seq(l), Right: tcp.Seq(r)} }

var synOpts = tcp.Options{MSS: 1460, WScale: 7, HasWScale: true, SACKPermitted: true, HasTimestamps: true}

// handshake returns a SYN at 0, a SYN-ACK at 10 ms and the ACK at 20 ms,
// both SYNs with synOpts unless opts says otherwise.
func handshake(cISN, sISN uint32, opts ...tcp.Options) []step {
	co, so := synOpts, synOpts
	if len(opts) == 2 {
		co, so = opts[0], opts[1]
	}
	return []step{
		mk(0, 0, tcp.SYN, cISN, 0, 0, synWin).withOpts(co),
		mk(1, 10*ms, tcp.SYN|tcp.ACK, sISN, cISN+1, 0, synWin).withOpts(so),
		cack(20*ms, cISN+1, sISN+1),
	}
}

// run feeds the steps to a fresh Conn and checks every step's classes.
func run(t *testing.T, steps []step) (*Conn, *Stats) {
	t.Helper()
	var c Conn
	var st Stats
	var ipid [2]uint16
	const epoch = int64(1_700_000_000) * int64(time.Second)
	for i, s := range steps {
		ipid[s.from]++
		seg := tcp.Segment{
			Time:       epoch + int64(s.at),
			Packet:     uint64(i + 1),
			Seq:        tcp.Seq(s.seq),
			Ack:        tcp.Seq(s.ack),
			Flags:      s.flags,
			Window:     s.win,
			PayloadLen: s.n,
			IPID:       ipid[s.from]*7 + 1,
			Options:    s.opts,
		}
		if s.ipid != 0 {
			seg.IPID = s.ipid
		}
		if s.ipv6 {
			seg.IPID = 0
		}
		if got := c.Segment(s.from, &seg, &st); got != s.want {
			t.Errorf("packet %d (side %d %v seq %d ack %d len %d win %d): got %v, want %v",
				i+1, s.from, s.flags, s.seq, s.ack, s.n, s.win, got, s.want)
		}
	}
	return &c, &st
}

func cat(parts ...[]step) []step {
	var all []step
	for _, p := range parts {
		all = append(all, p...)
	}
	return all
}

func TestSegmentClasses(t *testing.T) {
	hs := handshake(ci, si)
	c1, s1 := uint32(ci+1), uint32(si+1) // first data byte of each side
	tests := []struct {
		name  string
		steps []step
		check func(*testing.T, *Conn, *Stats)
	}{
		{
			name: "normal exchange and close has no classes",
			steps: cat(hs, []step{
				cdata(21*ms, c1, s1, 120),
				sdata(31*ms, s1, c1+120, 1400),
				cack(41*ms, c1+120, s1+1400),
				mk(0, 50*ms, tcp.FIN|tcp.ACK, c1+120, s1+1400, 0, win),
				mk(1, 60*ms, tcp.FIN|tcp.ACK, s1+1400, c1+121, 0, win),
				cack(70*ms, c1+121, s1+1401),
			}),
			check: func(t *testing.T, c *Conn, st *Stats) {
				cl, sv := &st.Dir[0], &st.Dir[1]
				eq(t, "client packets", cl.Packets, 6)
				eq(t, "client payload", cl.PayloadBytes, 120)
				eq(t, "client unique", cl.UniqueBytes, 120)
				eq(t, "server unique", sv.UniqueBytes, 1400)
				eq(t, "client RTT samples", cl.RTTSamples, 1)
				eq(t, "client RTT", cl.RTTMin, 10*ms)
				eq(t, "server RTT", sv.RTTAvg(), 10*ms)
				eq(t, "syn_to_synack", st.Handshake.SYNToSYNACK, 10*ms)
				eq(t, "synack_to_ack", st.Handshake.SYNACKToACK, 10*ms)
				eq(t, "client ISN known", cl.ISNKnown, true)
				eq(t, "client ISN", cl.ISN, tcp.Seq(ci))
				eq(t, "server MSS", sv.SYN.MSS, 1460)
				eq(t, "server SACK permitted", sv.SYN.SACKPermitted, true)
				eq(t, "client window max (SYN, unscaled)", cl.WindowMax, synWin)
				eq(t, "client window min (scaled)", cl.WindowMin, win<<7)
				eq(t, "client window scaled", cl.WindowScaled, true)
				eq(t, "client max idle", cl.MaxIdle, 20*ms)
				eq(t, "server first payload", sv.FirstPayloadTime-cl.FirstPayloadTime, int64(10*ms))
				if r, ok := c.Rel(0, tcp.Seq(c1+121)); !ok || r != 122 {
					t.Errorf("client Rel after FIN = %d, %v; want 122", r, ok)
				}
			},
		},
		{
			name: "retransmission after a timeout, Karn's rule",
			steps: cat(hs, []step{
				cdata(21*ms, c1, s1, 100),
				cdata(22*ms, c1+100, s1, 100),
				cdata(300*ms, c1, s1, 100).is(Retransmission),
				sack(310*ms, s1, c1+200),
			}),
			check: func(t *testing.T, _ *Conn, st *Stats) {
				cl := &st.Dir[0]
				eq(t, "retransmitted packets", cl.RetransmittedPackets, 1)
				eq(t, "retransmitted bytes", cl.RetransmittedBytes, 100)
				eq(t, "unique", cl.UniqueBytes, 200)
				eq(t, "payload", cl.PayloadBytes, 300)
				eq(t, "RTT samples (both segments were behind the retransmission)", cl.RTTSamples, 0)
				eq(t, "first retransmission", cl.First(Retransmission), 6)
			},
		},
		{
			name: "fast retransmission after three duplicate ACKs",
			steps: cat(hs, []step{
				cdata(21*ms, c1, s1, 100),
				cdata(21*ms+10*us, c1+100, s1, 100),
				cdata(21*ms+20*us, c1+200, s1, 100),
				cdata(21*ms+30*us, c1+300, s1, 100),
				cdata(21*ms+40*us, c1+400, s1, 100),
				sack(31*ms, s1, c1+100),
				sack(31*ms+10*us, s1, c1+100).is(DuplicateAck),
				sack(31*ms+20*us, s1, c1+100).is(DuplicateAck),
				sack(31*ms+30*us, s1, c1+100).is(DuplicateAck),
				cdata(31*ms+40*us, c1+100, s1, 100).is(Retransmission | FastRetransmission),
				sack(41*ms, s1, c1+500),
			}),
			check: func(t *testing.T, _ *Conn, st *Stats) {
				eq(t, "triple duplicate ACK runs", st.Dir[1].TripleDuplicateAcks, 1)
				eq(t, "duplicate ACKs", st.Dir[1].Count(DuplicateAck), 3)
				eq(t, "first duplicate ACK", st.Dir[1].First(DuplicateAck), 10)
				eq(t, "retransmissions", st.Dir[0].Count(Retransmission), 1)
				eq(t, "fast retransmissions", st.Dir[0].Count(FastRetransmission), 1)
			},
		},
		{
			name: "retransmission long after duplicate ACKs is not fast",
			steps: cat(hs, []step{
				cdata(21*ms, c1, s1, 100),
				cdata(21*ms, c1+100, s1, 100),
				cdata(21*ms, c1+200, s1, 100),
				sack(31*ms, s1, c1+100),
				sack(31*ms, s1, c1+100).is(DuplicateAck),
				sack(31*ms, s1, c1+100).is(DuplicateAck),
				cdata(500*ms, c1+100, s1, 100).is(Retransmission),
			}),
		},
		{
			name: "spurious retransmission of acknowledged data",
			steps: cat(hs, []step{
				cdata(21*ms, c1, s1, 100),
				sack(31*ms, s1, c1+100),
				cdata(250*ms, c1, s1, 100).is(Retransmission | SpuriousRetransmission),
			}),
			check: func(t *testing.T, _ *Conn, st *Stats) {
				eq(t, "retransmitted packets", st.Dir[0].RetransmittedPackets, 1)
				eq(t, "spurious", st.Dir[0].Count(SpuriousRetransmission), 1)
			},
		},
		{
			name: "SACK: data already selectively acknowledged is spurious, the hole is not",
			steps: cat(hs, []step{
				cdata(21*ms, c1, s1, 100),
				cdata(21*ms, c1+100, s1, 100),
				cdata(21*ms, c1+200, s1, 100),
				sack(31*ms, s1, c1+100).withSACK(blk(c1+200, c1+300)),
				cdata(300*ms, c1+200, s1, 100).is(Retransmission | SpuriousRetransmission),
				cdata(301*ms, c1+100, s1, 100).is(Retransmission),
				sack(311*ms, s1, c1+300),
			}),
			check: func(t *testing.T, _ *Conn, st *Stats) {
				eq(t, "missed (every byte was seen)", st.Dir[0].MissedBytes, 0)
				eq(t, "ack_unseen_segment", st.Dir[1].Count(AckUnseenSegment), 0)
			},
		},
		{
			name: "out of order within the handshake round trip",
			steps: cat(hs, []step{
				cdata(21*ms, c1+100, s1, 100).is(LostSegment),
				cdata(21*ms+100*us, c1, s1, 100).is(OutOfOrder),
				sack(31*ms, s1, c1+200),
			}),
			check: func(t *testing.T, _ *Conn, st *Stats) {
				cl := &st.Dir[0]
				eq(t, "missed after the gap was filled", cl.MissedBytes, 0)
				eq(t, "unique", cl.UniqueBytes, 200)
				eq(t, "retransmitted", cl.RetransmittedPackets, 0)
				eq(t, "out-of-order packets", cl.Count(OutOfOrder), 1)
			},
		},
		{
			name: "lost segment: gap never filled, counted as missed bytes",
			steps: cat(hs, []step{
				cdata(21*ms, c1, s1, 100),
				cdata(22*ms, c1+300, s1, 50).is(LostSegment),
				sack(31*ms, s1, c1+100),
			}),
			check: func(t *testing.T, _ *Conn, st *Stats) {
				eq(t, "missed", st.Dir[0].MissedBytes, 200)
				eq(t, "unique", st.Dir[0].UniqueBytes, 150)
				eq(t, "first lost_segment", st.Dir[0].First(LostSegment), 5)
			},
		},
		{
			name: "gap filled long after it opened: lost before the capture point",
			steps: cat(hs, []step{
				cdata(21*ms, c1, s1, 100),
				cdata(22*ms, c1+200, s1, 100).is(LostSegment),
				sack(31*ms, s1, c1+100).withSACK(blk(c1+200, c1+300)),
				cdata(250*ms, c1+100, s1, 100).is(Retransmission),
				sack(260*ms, s1, c1+300),
			}),
			check: func(t *testing.T, _ *Conn, st *Stats) {
				cl := &st.Dir[0]
				eq(t, "missed", cl.MissedBytes, 0)
				eq(t, "unique", cl.UniqueBytes, 300)
				eq(t, "retransmitted bytes", cl.RetransmittedBytes, 100)
			},
		},
		{
			name: "receiver-side capture: a gap filled by a fast retransmission",
			steps: cat(hs, []step{
				cdata(21*ms, c1, s1, 100),
				sack(21*ms+10*us, s1, c1+100),
				cdata(22*ms, c1+200, s1, 100).is(LostSegment),
				sack(22*ms+10*us, s1, c1+100).withSACK(blk(c1+200, c1+300)).is(DuplicateAck),
				cdata(23*ms, c1+300, s1, 100),
				sack(23*ms+10*us, s1, c1+100).withSACK(blk(c1+200, c1+400)).is(DuplicateAck),
				cdata(43*ms, c1+100, s1, 100).is(Retransmission | FastRetransmission),
				sack(43*ms+10*us, s1, c1+400),
			}),
			check: func(t *testing.T, _ *Conn, st *Stats) {
				eq(t, "missed", st.Dir[0].MissedBytes, 0)
				eq(t, "unique", st.Dir[0].UniqueBytes, 400)
			},
		},
		{
			name: "a constant IP ID proves nothing: copies are retransmissions",
			steps: cat([]step{hs[0].withIPID(9), hs[1], hs[2].withIPID(9)}, []step{
				cdata(21*ms, c1, s1, 100).withIPID(9),
				cdata(22*ms, c1+100, s1, 100).withIPID(9),
				cdata(22*ms+3*us, c1+100, s1, 100).withIPID(9).is(Retransmission),
			}),
		},
		{
			name: "ACK of a segment the capture missed, reported once",
			steps: cat(hs, []step{
				cdata(21*ms, c1, s1, 100),
				// c1+100..c1+300 was sent but not captured.
				sack(31*ms, s1, c1+300).is(AckUnseenSegment),
				cdata(32*ms, c1+300, s1, 100),
				sack(42*ms, s1, c1+400),
			}),
			check: func(t *testing.T, _ *Conn, st *Stats) {
				eq(t, "client missed", st.Dir[0].MissedBytes, 200)
				eq(t, "client lost_segment", st.Dir[0].Count(LostSegment), 0)
				eq(t, "server ack_unseen_segment", st.Dir[1].Count(AckUnseenSegment), 1)
			},
		},
		{
			name: "ACK across a gap: the capture missed the gap",
			steps: cat(hs, []step{
				cdata(21*ms, c1, s1, 100),
				cdata(22*ms, c1+200, s1, 100).is(LostSegment),
				sack(31*ms, s1, c1+300).is(AckUnseenSegment),
				cdata(250*ms, c1+100, s1, 100).is(Retransmission | SpuriousRetransmission),
			}),
			check: func(t *testing.T, _ *Conn, st *Stats) {
				eq(t, "missed", st.Dir[0].MissedBytes, 100)
				eq(t, "unique", st.Dir[0].UniqueBytes, 200)
			},
		},
		{
			name: "SACK block beyond everything captured",
			steps: cat(hs, []step{
				cdata(21*ms, c1, s1, 100),
				sack(31*ms, s1, c1+100).withSACK(blk(c1+200, c1+300)).is(AckUnseenSegment),
				cdata(32*ms, c1+300, s1, 100),
				cdata(300*ms, c1+100, s1, 100).is(Retransmission),
				sack(310*ms, s1, c1+400),
			}),
			check: func(t *testing.T, _ *Conn, st *Stats) {
				eq(t, "missed (the SACKed block; the gap before it was filled)", st.Dir[0].MissedBytes, 100)
				eq(t, "unique", st.Dir[0].UniqueBytes, 300)
			},
		},
		{
			name: "duplicate ACK needs data outstanding (BSD rule)",
			steps: cat(hs, []step{
				cdata(21*ms, c1, s1, 100),
				sack(31*ms, s1, c1+100),
				sack(32*ms, s1, c1+100),
				cdata(40*ms, c1+100, s1, 100),
				sack(41*ms, s1, c1+100).is(DuplicateAck),
				sack(42*ms, s1, c1+100).withWin(win + 1).is(WindowUpdate),
				sack(43*ms, s1, c1+100).withWin(win + 1).is(DuplicateAck),
			}),
		},
		{
			name: "zero window, Linux persist probes, window update, keep-alive",
			steps: cat(hs, []step{
				cdata(21*ms, c1, s1, 100),
				sack(31*ms, s1, c1+100).withWin(0).is(ZeroWindow),
				// Linux probes a closed window with seq = SND.UNA−1 and no data.
				cack(250*ms, c1+99, s1).is(ZeroWindowProbe),
				sack(251*ms, s1, c1+100).withWin(0).is(ZeroWindow | ZeroWindowProbeAck),
				cack(700*ms, c1+99, s1).is(ZeroWindowProbe),
				sack(701*ms, s1, c1+100).withWin(0).is(ZeroWindow | ZeroWindowProbeAck),
				sack(900*ms, s1, c1+100).is(WindowUpdate),
				cdata(901*ms, c1+100, s1, 100),
				sack(911*ms, s1, c1+200),
				// The same probe while the window is open is a keep-alive.
				cack(60*time.Second, c1+199, s1).is(KeepAlive),
				sack(60*time.Second+10*ms, s1, c1+200).is(KeepAliveAck),
			}),
			check: func(t *testing.T, _ *Conn, st *Stats) {
				sv := &st.Dir[1]
				eq(t, "zero-window advertisements", sv.Count(ZeroWindow), 3)
				eq(t, "server window min", sv.WindowMin, 0)
				eq(t, "probes", st.Dir[0].Count(ZeroWindowProbe), 2)
				eq(t, "keep-alives", st.Dir[0].Count(KeepAlive), 1)
				eq(t, "retransmissions", st.Dir[0].Count(Retransmission), 0)
				eq(t, "client max idle", st.Dir[0].MaxIdle, 60*time.Second-911*ms+10*ms)
			},
		},
		{
			name: "one-byte zero-window probe, taken by the receiver",
			steps: cat(hs, []step{
				cdata(21*ms, c1, s1, 100),
				sack(31*ms, s1, c1+100).withWin(0).is(ZeroWindow),
				cdata(250*ms, c1+100, s1, 1).is(ZeroWindowProbe),
				sack(251*ms, s1, c1+100).withWin(0).is(ZeroWindow | ZeroWindowProbeAck),
				cdata(700*ms, c1+100, s1, 1).is(ZeroWindowProbe),
				sack(701*ms, s1, c1+101).withWin(10),
				cdata(702*ms, c1+101, s1, 100),
			}),
			check: func(t *testing.T, _ *Conn, st *Stats) {
				eq(t, "unique (the probe byte once)", st.Dir[0].UniqueBytes, 201)
				eq(t, "ack_unseen_segment", st.Dir[1].Count(AckUnseenSegment), 0)
				eq(t, "missed", st.Dir[0].MissedBytes, 0)
			},
		},
		{
			name: "BSD keep-alive with one garbage byte is not a retransmission",
			steps: cat(hs, []step{
				cdata(21*ms, c1, s1, 100),
				sack(31*ms, s1, c1+100),
				cdata(2*time.Hour, c1+99, s1, 1).is(KeepAlive),
				sack(2*time.Hour+ms, s1, c1+100).is(KeepAliveAck),
			}),
		},
		{
			name: "window full with scaled window",
			steps: cat(hs, []step{
				// The server's window is 2×128 bytes past its ACK.
				sack(21*ms, s1, c1).withWin(2),
				cdata(22*ms, c1, s1, 128),
				cdata(23*ms, c1+128, s1, 128).is(WindowFull),
			}),
		},
		{
			name: "window full without scaling (one SYN had no window scale)",
			steps: cat(handshake(ci, si, synOpts, tcp.Options{MSS: 1460}), []step{
				sack(21*ms, s1, c1).withWin(300),
				cdata(22*ms, c1, s1, 200),
				cdata(23*ms, c1+200, s1, 100).is(WindowFull),
			}),
			check: func(t *testing.T, _ *Conn, st *Stats) {
				eq(t, "server window min", st.Dir[1].WindowMin, 300)
				eq(t, "scaled (scale known to be 0)", st.Dir[1].WindowScaled, true)
			},
		},
		{
			name: "hardware duplicate is not a retransmission",
			steps: cat(hs, []step{
				cdata(21*ms, c1, s1, 100).withIPID(4242),
				cdata(21*ms+3*us, c1, s1, 100).withIPID(4242).is(HardwareDuplicate),
				sack(31*ms, s1, c1+100).withIPID(777),
				sack(31*ms+3*us, s1, c1+100).withIPID(777).is(HardwareDuplicate),
				cdata(32*ms, c1+100, s1, 100),
			}),
			check: func(t *testing.T, _ *Conn, st *Stats) {
				cl := &st.Dir[0]
				eq(t, "packets (duplicates included)", cl.Packets, 5)
				eq(t, "payload (duplicates included)", cl.PayloadBytes, 300)
				eq(t, "unique", cl.UniqueBytes, 200)
				eq(t, "retransmitted", cl.RetransmittedPackets, 0)
				eq(t, "server duplicate ACKs", st.Dir[1].Count(DuplicateAck), 0)
			},
		},
		{
			name: "same segment with a new IP ID is a retransmission",
			steps: cat(hs, []step{
				cdata(21*ms, c1, s1, 100).withIPID(4242),
				cdata(21*ms+3*us, c1, s1, 100).withIPID(4243).is(Retransmission),
			}),
		},
		{
			name: "IPv6 has no IP ID: a copy counts as a retransmission",
			steps: cat(hs, []step{
				cdata(21*ms, c1, s1, 100).v6(),
				cdata(21*ms+3*us, c1, s1, 100).v6().is(Retransmission),
			}),
		},
		{
			name: "simultaneous open: no retransmissions, no duplicate ACKs",
			steps: []step{
				mk(0, 0, tcp.SYN, ci, 0, 0, synWin).withOpts(synOpts),
				mk(1, 100*us, tcp.SYN, si, 0, 0, synWin).withOpts(synOpts),
				mk(0, 200*us, tcp.SYN|tcp.ACK, ci, si+1, 0, synWin).withOpts(synOpts),
				mk(1, 300*us, tcp.SYN|tcp.ACK, si, ci+1, 0, synWin).withOpts(synOpts),
				cack(400*us, c1, s1),
				sack(500*us, s1, c1),
				cack(600*us, c1, s1),
				sack(700*us, s1, c1),
				cdata(800*us, c1, s1, 10),
				sack(900*us, s1, c1+10),
			},
			check: func(t *testing.T, _ *Conn, st *Stats) {
				eq(t, "SYN retransmissions", st.Handshake.SYNRetransmissions, 0)
				eq(t, "SYN-ACK retransmissions", st.Handshake.SYNACKRetransmissions, 0)
				eq(t, "server ISN known", st.Dir[1].ISNKnown, true)
			},
		},
		{
			name: "SYN retransmissions; handshake timed from the last SYN",
			steps: []step{
				mk(0, 0, tcp.SYN, ci, 0, 0, synWin).withOpts(synOpts),
				mk(0, time.Second, tcp.SYN, ci, 0, 0, synWin).withOpts(synOpts).is(Retransmission),
				mk(0, 3*time.Second, tcp.SYN, ci, 0, 0, synWin).withOpts(synOpts).is(Retransmission),
				mk(1, 3*time.Second+ms, tcp.SYN|tcp.ACK, si, ci+1, 0, synWin).withOpts(synOpts),
				cack(3*time.Second+3*ms, c1, s1),
			},
			check: func(t *testing.T, _ *Conn, st *Stats) {
				eq(t, "SYN retransmissions", st.Handshake.SYNRetransmissions, 2)
				eq(t, "client retransmitted packets", st.Dir[0].RetransmittedPackets, 2)
				eq(t, "syn_to_synack", st.Handshake.SYNToSYNACK, ms)
				eq(t, "synack_to_ack", st.Handshake.SYNACKToACK, 2*ms)
			},
		},
		{
			name: "SYN-ACK sent again after its ACK was captured: spurious",
			steps: cat(hs, []step{
				mk(1, time.Second, tcp.SYN|tcp.ACK, si, c1, 0, synWin).withOpts(synOpts).is(Retransmission | SpuriousRetransmission),
			}),
			check: func(t *testing.T, _ *Conn, st *Stats) {
				eq(t, "SYN-ACK retransmissions", st.Handshake.SYNACKRetransmissions, 1)
			},
		},
		{
			name: "FIN retransmission; after its ACK it is spurious",
			steps: cat(hs, []step{
				mk(0, 21*ms, tcp.FIN|tcp.ACK, c1, s1, 0, win),
				mk(0, 250*ms, tcp.FIN|tcp.ACK, c1, s1, 0, win).is(Retransmission),
				sack(260*ms, s1, c1+1),
				mk(0, 700*ms, tcp.FIN|tcp.ACK, c1, s1, 0, win).is(Retransmission | SpuriousRetransmission),
			}),
		},
		{
			name: "window update after a zero window",
			steps: cat(hs, []step{
				sack(21*ms, s1, c1).withWin(0).is(ZeroWindow),
				sack(50*ms, s1, c1).withWin(100).is(WindowUpdate),
			}),
		},
		{
			name: "midstream: no invented anomalies, windows unscaled",
			steps: []step{
				cdata(0, 7000, 9000, 300),
				sdata(ms, 9000, 7300, 1400),
				sdata(ms+10*us, 10400, 7300, 600),
				cack(2*ms, 7300, 11000),
				mk(0, 3*ms, tcp.FIN|tcp.ACK, 7300, 11000, 0, win),
				mk(1, 4*ms, tcp.FIN|tcp.ACK, 11000, 7301, 0, win),
				cack(5*ms, 7301, 11001),
			},
			check: func(t *testing.T, c *Conn, st *Stats) {
				eq(t, "client ISN known", st.Dir[0].ISNKnown, false)
				eq(t, "server unique", st.Dir[1].UniqueBytes, 2000)
				eq(t, "window scaled", st.Dir[1].WindowScaled, false)
				eq(t, "server window max", st.Dir[1].WindowMax, win)
				eq(t, "handshake measured", st.Handshake.HasSYNToSYNACK || st.Handshake.HasSYNACKToACK, false)
				if r, _ := c.Rel(0, 7000); r != 1 {
					t.Errorf("midstream Rel of the first sequence number = %d, want 1", r)
				}
			},
		},
		{
			name: "midstream: data from before the capture started is not classified",
			steps: []step{
				cdata(0, 7000, 9000, 300),
				cdata(ms, 6700, 9000, 300),
			},
		},
		{
			name: "RST and far-away sequence numbers are ignored",
			steps: cat(hs, []step{
				cdata(21*ms, c1, s1, 100),
				mk(1, 22*ms, tcp.RST, s1+1<<30+5, 0, 0, 0),
				mk(1, 23*ms, tcp.ACK, s1+1<<31, c1+100, 0, win),
				mk(1, 24*ms, tcp.ACK, s1, c1+1<<31, 0, win),
				sack(31*ms, s1, c1+100),
				cdata(32*ms, c1+100, s1, 100),
			}),
			check: func(t *testing.T, _ *Conn, st *Stats) {
				eq(t, "server packets", st.Dir[1].Packets, 5)
				eq(t, "client missed", st.Dir[0].MissedBytes, 0)
			},
		},
		{
			name: "RTT: the ACK of a segment's last byte times it",
			steps: cat(hs, []step{
				cdata(100*ms, c1, s1, 100),
				cdata(101*ms, c1+100, s1, 100),
				cdata(102*ms, c1+200, s1, 100),
				sack(105*ms, s1, c1+200), // delayed ACK of two: times the second
				sack(109*ms, s1, c1+300),
			}),
			check: func(t *testing.T, _ *Conn, st *Stats) {
				cl := &st.Dir[0]
				eq(t, "samples", cl.RTTSamples, 2)
				eq(t, "min", cl.RTTMin, 4*ms)
				eq(t, "max", cl.RTTMax, 7*ms)
				eq(t, "avg", cl.RTTAvg(), 5500*us)
			},
		},
		{
			name: "a new ISN restarts the direction without anomalies",
			steps: cat(hs, []step{
				cdata(21*ms, c1, s1, 100),
				mk(0, 5*time.Second, tcp.SYN, 900000, 0, 0, synWin).withOpts(synOpts),
				mk(1, 5*time.Second+ms, tcp.SYN|tcp.ACK, 777000, 900001, 0, synWin).withOpts(synOpts),
				cack(5*time.Second+2*ms, 900001, 777001),
				cdata(5*time.Second+3*ms, 900001, 777001, 50),
			}),
			check: func(t *testing.T, _ *Conn, st *Stats) {
				eq(t, "client ISN", st.Dir[0].ISN, tcp.Seq(900000))
				eq(t, "client unique", st.Dir[0].UniqueBytes, 150)
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, st := run(t, tc.steps)
			if tc.check != nil {
				tc.check(t, c, st)
			}
		})
	}
}

// TestSequenceWrap runs connections whose ISNs sit just below 2^32, so data,
// gaps, retransmissions and FINs cross the wrap.
func TestSequenceWrap(t *testing.T) {
	const cw, sw = 0xFFFFFF00, 0xFFFFFFF0
	c1, s1 := uint32(cw+1), uint32(sw+1)
	steps := cat(handshake(cw, sw), []step{
		cdata(21*ms, c1, s1, 0x100),                      // ends at 0x00000001
		cdata(22*ms, c1+0x200, s1, 0x80).is(LostSegment), // skips 0x100 across nothing
		cdata(22*ms+100*us, c1+0x100, s1, 0x100).is(OutOfOrder),
		sdata(30*ms, s1, c1+0x280, 0x100), // server crosses the wrap
		cack(40*ms, c1+0x280, s1+0x100),
		cdata(300*ms, c1+0x180, s1, 0x100).is(Retransmission | SpuriousRetransmission),
		mk(0, 301*ms, tcp.FIN|tcp.ACK, c1+0x280, s1+0x100, 0, win),
		mk(1, 302*ms, tcp.FIN|tcp.ACK, s1+0x100, c1+0x281, 0, win),
		mk(0, 303*ms, tcp.FIN|tcp.ACK, c1+0x280, s1+0x101, 0, win).is(Retransmission | SpuriousRetransmission),
	})
	c, st := run(t, steps)
	eq(t, "client unique", st.Dir[0].UniqueBytes, 0x280)
	eq(t, "client missed", st.Dir[0].MissedBytes, 0)
	eq(t, "server unique", st.Dir[1].UniqueBytes, 0x100)
	if r, _ := c.Rel(0, tcp.Seq(c1+0x280)); r != 0x281 {
		t.Errorf("client Rel of its FIN = %#x, want 0x281", r)
	}
}

// TestBeyondFourGiB sends more than 2^32 bytes one way: relative sequence
// numbers keep growing past 2^32 and nothing is misclassified.
func TestBeyondFourGiB(t *testing.T) {
	var c Conn
	var st Stats
	const seg = 65000
	feed := func(from int, at int64, f tcp.Flags, seq, ack uint32, n uint32, w uint16) Class {
		s := tcp.Segment{Time: at, Seq: tcp.Seq(seq), Ack: tcp.Seq(ack), Flags: f, PayloadLen: n, Window: w, Options: synOpts}
		if f&tcp.SYN == 0 {
			s.Options = tcp.Options{}
		}
		return c.Segment(from, &s, &st)
	}
	const cISN, sISN = 0xFFFF0000, 42
	feed(0, 1, tcp.SYN, cISN, 0, 0, synWin)
	feed(1, 2, tcp.SYN|tcp.ACK, sISN, cISN+1, 0, synWin)
	feed(0, 3, tcp.ACK, cISN+1, sISN+1, 0, win)
	seq := uint32(cISN + 1)
	var sent uint64
	now := int64(10)
	for sent < 1<<32+5*seg {
		if cls := feed(0, now, tcp.ACK, seq, sISN+1, seg, win); cls != 0 {
			t.Fatalf("data segment at relative %d: %v", sent+1, cls)
		}
		seq += seg
		sent += seg
		if cls := feed(1, now+1, tcp.ACK, sISN+1, seq, 0, 0xFFFF); cls != 0 {
			t.Fatalf("ACK of relative %d: %v", sent+1, cls)
		}
		now += 2
	}
	eq(t, "unique", st.Dir[0].UniqueBytes, sent)
	if r, _ := c.Rel(0, tcp.Seq(seq)); uint64(r) != sent+1 {
		t.Errorf("Rel of the next sequence number = %d, want %d", r, sent+1)
	}
	eq(t, "RTT samples", st.Dir[0].RTTSamples, sent/seg)
}

func TestClassNames(t *testing.T) {
	seen := map[string]bool{}
	for i := range NumClasses {
		c := ClassAt(i)
		name := c.String()
		if seen[name] || name == "" || name == "none" {
			t.Errorf("class %d has name %q (duplicate or empty)", i, name)
		}
		seen[name] = true
		if back, ok := ParseClass(name); !ok || back != c {
			t.Errorf("ParseClass(%q) = %v, %v", name, back, ok)
		}
	}
	if got := (Retransmission | FastRetransmission).String(); got != "retransmission,fast_retransmission" {
		t.Errorf("set String = %q", got)
	}
	if got := Class(0).String(); got != "none" {
		t.Errorf("empty String = %q", got)
	}
	if ClassAt(NumClasses) != 0 || ClassAt(-1) != 0 {
		t.Error("ClassAt out of range is not 0")
	}
	var st DirStats
	st.add(ZeroWindow|DuplicateAck, 9)
	if st.Count(ZeroWindow|DuplicateAck) != 0 || st.Count(DuplicateAck) != 1 || st.First(ZeroWindow) != 9 {
		t.Error("Count/First of a set or a single class is wrong")
	}
}

func eq[T comparable](t *testing.T, what string, got, want T) {
	t.Helper()
	if got != want {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

// TestSizes keeps the hot state within what a flow-table entry can carry
// and the documented sizes honest.
func TestSizes(t *testing.T) {
	if n := unsafe.Sizeof(Conn{}); n > 96 {
		t.Errorf("Conn is %d bytes, documented as 96", n)
	}
	if n := unsafe.Sizeof(Stats{}); n > 1400 {
		t.Errorf("Stats is %d bytes, documented as about 1.4 KB", n)
	}
	if n := 2*unsafe.Sizeof(DirStats{}) + unsafe.Sizeof(Handshake{}); n > 800 {
		t.Errorf("Dir and Handshake are %d bytes, documented as about 800", n)
	}
}

// TestInFlightImage: the in-flight state is plain data, whole words, that
// InFlightImage and SetInFlightImage carry over unchanged.
func TestInFlightImage(t *testing.T) {
	typ := reflect.TypeFor[[2]coldDir]()
	var walk func(reflect.Type) bool
	walk = func(t reflect.Type) bool {
		switch t.Kind() {
		case reflect.Struct:
			for i := range t.NumField() {
				if !walk(t.Field(i).Type) {
					return false
				}
			}
			return true
		case reflect.Array:
			return walk(t.Elem())
		case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
			reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
			return true
		}
		return false
	}
	if !walk(typ) || typ.Size()%8 != 0 {
		t.Fatalf("the in-flight state (%d bytes) is not plain words", typ.Size())
	}
	var st Stats
	if st.InFlightImage() != nil {
		t.Fatal("an image without in-flight state")
	}
	c := st.colds()
	c[1].holes[2] = hole{lo: 5, hi: 9, at: 77}
	c[0].nSACK = 3
	img := *st.InFlightImage()
	var back Stats
	back.SetInFlightImage(&img)
	if *back.cold != *st.cold || back.cold == st.cold {
		t.Fatal("the in-flight state changed on its way through an image")
	}
}
