package synth

import (
	"bufio"
	"fmt"
	"io"
	"net/netip"
	"time"
)

// FloodConfig describes a SYN flood: every SYN comes from its own spoofed
// source address, so each is a distinct 4-tuple, and none is ever completed.
type FloodConfig struct {
	Seed        int64
	Packets     int            // packets to write, SYNs and replies together
	Target      netip.AddrPort // IPv4; zero means 198.18.0.1:80
	RSTShare    float64        // share of SYNs the target answers with RST,ACK (a closed port)
	Rate        int            // SYNs per second of capture time; 0 means 1,000,000
	Nanoseconds bool           // nanosecond pcap timestamps instead of microseconds
}

// WriteSYNFlood writes a SYN flood as a classic Ethernet pcap. Sources are
// all distinct for the first 3.5 billion SYNs: address i is a bijective
// scramble of i, skipping addresses that cannot be sources (0/8, 10/8,
// 127/8, multicast and above, the target). It streams like WriteMix and is
// just as reproducible.
func WriteSYNFlood(w io.Writer, cfg FloodConfig) (Stats, error) {
	var st Stats
	if cfg.Packets < 0 || cfg.Rate < 0 {
		return st, fmt.Errorf("synth: flood of %d packets at %d SYN/s", cfg.Packets, cfg.Rate)
	}
	target := cfg.Target
	if !target.IsValid() {
		target = netip.MustParseAddrPort("198.18.0.1:80")
	}
	if !target.Addr().Unmap().Is4() {
		return st, fmt.Errorf("synth: flood target %v is not IPv4", target)
	}
	rate := cfg.Rate
	if rate == 0 {
		rate = 1_000_000
	}
	meanGap := int(max(1e9/int64(rate), 1))

	bw := bufio.NewWriterSize(w, 1<<20)
	fw := newFrameWriter(bw, cfg.Nanoseconds, &st)
	if err := fw.writeFileHeader(); err != nil {
		return st, err
	}
	r := newRNG(cfg.Seed, 2)
	rst := share(cfg.RSTShare)
	var ta [16]byte
	t4 := target.Addr().Unmap().As4()
	copy(ta[:], t4[:])
	victim := newHost(ta, false)
	const victimTTL = 64
	victimID := uint16(r.u32())

	// Replies come 5-50 µs after their SYN, while later SYNs keep
	// arriving: pending replies wait in a min-heap by time.
	var pending replyHeap
	var synTime, last int64
	var index uint32
	for st.Packets < int64(cfg.Packets) {
		if len(pending) > 0 && pending[0].t <= synTime {
			p := pending.pop()
			reply := frame{
				t: p.t, src: &victim, dst: &p.src, sport: target.Port(), dport: p.sport,
				ipID: victimID, ttl: victimTTL, flags: fRST | fACK, ack: p.isn + 1,
			}
			victimID++
			if err := fw.write(&reply); err != nil {
				return st, err
			}
			last = p.t
			continue
		}
		h := newHost(floodSource(&index, t4), false)
		isn := r.u32()
		syn := frame{
			t: synTime, src: &h, dst: &victim, sport: uint16(r.between(1024, 65535)), dport: target.Port(),
			ipID: uint16(r.u32()), ttl: uint8(r.between(32, 128)), flags: fSYN, seq: isn,
			window: uint16(r.between(512, 65535)),
		}
		if err := fw.write(&syn); err != nil {
			return st, err
		}
		st.Probes++
		last = synTime
		if r.chance(rst) {
			pending.push(floodReply{t: synTime + int64(r.between(5_000, 50_000)), src: h, sport: syn.sport, isn: isn})
		}
		// Gaps uniform in [0, 2*mean): integers only, mean 1/rate.
		synTime += int64(r.intn(2 * meanGap))
	}
	st.Duration = time.Duration(last)
	return st, bw.Flush()
}

type floodReply struct {
	t     int64
	src   host
	sport uint16
	isn   uint32
}

// replyHeap is a min-heap of pending replies by time. A reply due at the
// same time as the next SYN goes first.
type replyHeap []floodReply

func (h *replyHeap) push(r floodReply) {
	*h = append(*h, r)
	a := *h
	for i := len(a) - 1; i > 0; {
		p := (i - 1) / 2
		if a[p].t <= a[i].t {
			break
		}
		a[p], a[i] = a[i], a[p]
		i = p
	}
}

func (h *replyHeap) pop() floodReply {
	a := *h
	top := a[0]
	n := len(a) - 1
	a[0] = a[n]
	a = a[:n]
	for i := 0; ; {
		l, m := 2*i+1, i
		if l < n && a[l].t < a[m].t {
			m = l
		}
		if l+1 < n && a[l+1].t < a[m].t {
			m = l + 1
		}
		if m == i {
			break
		}
		a[i], a[m] = a[m], a[i]
		i = m
	}
	*h = a
	return top
}

// floodSource returns the next spoofed source address. scramble is a
// bijection on 32 bits, so distinct indexes give distinct addresses.
func floodSource(index *uint32, target [4]byte) [16]byte {
	for {
		x := scramble(*index)
		*index++
		a := [4]byte{byte(x >> 24), byte(x >> 16), byte(x >> 8), byte(x)}
		if a[0] == 0 || a[0] == 10 || a[0] == 127 || a[0] >= 224 || a == target {
			continue
		}
		var out [16]byte
		copy(out[:], a[:])
		return out
	}
}

// scramble is an invertible mix of 32 bits (xor-shifts and odd multipliers
// are each invertible modulo 2^32).
func scramble(x uint32) uint32 {
	x ^= x >> 16
	x *= 0x7feb352d
	x ^= x >> 15
	x *= 0x846ca68b
	x ^= x >> 16
	return x
}
