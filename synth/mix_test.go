package synth

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/netip"
	"runtime"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/tcptrace/tcptrace/tcp"
)

// everyKindMix gives rare kinds enough weight to all appear in a few
// thousand connections.
func everyKindMix(seed int64, packets int) MixConfig {
	return MixConfig{Seed: seed, Packets: packets, Connections: 200, IPv6Share: 0.3,
		Normal: 1, ServerCloses: 1, Bulk: 0.02, Retransmissions: 1, Reordering: 1,
		Resets: 1, HalfClosed: 1, UnansweredSYNs: 1, Scans: 0.05}
}

func writeMix(t testing.TB, cfg MixConfig) ([]byte, Stats) {
	t.Helper()
	var b bytes.Buffer
	st, err := WriteMix(&b, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return b.Bytes(), st
}

// TestMixMatchesGopacket decodes every hand-built frame with gopacket, checks
// its checksums independently, and serializes the decoded layers again with
// gopacket: the bytes must be identical, so the hand-built headers are
// exactly what gopacket would have written.
func TestMixMatchesGopacket(t *testing.T) {
	n := 60000
	if raceEnabled {
		n = 15000
	}
	layouts := map[string]int{}
	checkMixAgainstGopacket(t, everyKindMix(3, n), layouts)
	// Scans are rare in any mix; a scan-only one covers their layouts on
	// both IP versions.
	checkMixAgainstGopacket(t, MixConfig{Seed: 3, Packets: 3000, Connections: 20, IPv6Share: 0.5, Scans: 1}, layouts)
	// Every TCP option layout must have been checked on both IP versions.
	for _, v := range []string{"v4", "v6"} {
		for _, l := range []string{"none", "syn", "mss", "ts", "ts+sack"} {
			if layouts[v+"/"+l] == 0 {
				t.Errorf("no %s packet with options %s in %v", v, l, layouts)
			}
		}
	}
}

func checkMixAgainstGopacket(t *testing.T, cfg MixConfig, layouts map[string]int) {
	t.Helper()
	data, st := writeMix(t, cfg)
	got := readPcap(t, bytes.NewReader(data)) // checks IPv4 and TCP checksums
	if int64(len(got)) != st.Packets || st.Packets != int64(cfg.Packets) {
		t.Fatalf("read %d packets, stats say %d", len(got), st.Packets)
	}
	var bytesSeen, v6 int64
	for i, d := range got {
		frame := d.pkt.Data()
		bytesSeen += int64(len(frame))
		eth := *d.pkt.Layer(layers.LayerTypeEthernet).(*layers.Ethernet)
		tl := *d.pkt.Layer(layers.LayerTypeTCP).(*layers.TCP)
		var ip gopacket.SerializableLayer
		version := "v4"
		if l, ok := d.pkt.Layer(layers.LayerTypeIPv4).(*layers.IPv4); ok {
			ip4 := *l
			ip = &ip4
			_ = tl.SetNetworkLayerForChecksum(&ip4)
		} else {
			ip6 := *d.pkt.Layer(layers.LayerTypeIPv6).(*layers.IPv6)
			ip = &ip6
			_ = tl.SetNetworkLayerForChecksum(&ip6)
			version = "v6"
			v6++
		}
		layouts[version+"/"+tcpLayout(&tl)]++
		buf := gopacket.NewSerializeBuffer()
		if err := gopacket.SerializeLayers(buf, serializeOpts, &eth, ip, &tl, gopacket.Payload(tl.Payload)); err != nil {
			t.Fatalf("packet %d: %v", i+1, err)
		}
		again := buf.Bytes()
		if len(again) > len(frame) && len(again) == 60 { // gopacket pads to the Ethernet minimum
			again = again[:len(frame)]
		}
		if !bytes.Equal(again, frame) {
			t.Fatalf("packet %d differs from gopacket's serialization:\n got %x\nwant %x", i+1, frame, again)
		}
	}
	if bytesSeen != st.Bytes || v6 != st.IPv6Packets {
		t.Errorf("stats say %d bytes, %d IPv6; read %d, %d", st.Bytes, st.IPv6Packets, bytesSeen, v6)
	}
}

func tcpLayout(t *layers.TCP) string {
	var kinds []layers.TCPOptionKind
	for _, o := range t.Options {
		if o.OptionType != layers.TCPOptionKindNop {
			kinds = append(kinds, o.OptionType)
		}
	}
	switch len(kinds) {
	case 0:
		return "none"
	case 1:
		if kinds[0] == layers.TCPOptionKindMSS {
			return "mss"
		}
		return "ts"
	case 2:
		return "ts+sack"
	}
	return "syn"
}

// TestMixInvariants checks what a tracker may rely on in every mix: time
// never goes back, a SYN-ACK acks its SYN, and no ACK covers bytes the peer
// has not sent yet in capture order.
func TestMixInvariants(t *testing.T) {
	n := 80000
	if raceEnabled {
		n = 20000
	}
	data, st := writeMix(t, everyKindMix(5, n))
	got := readPcap(t, bytes.NewReader(data))
	type dirKey struct{ src, dst netip.AddrPort }
	sent := map[dirKey]tcp.Seq{} // end of the highest segment seen per direction
	synSeq := map[dirKey]tcp.Seq{}
	var acks, sacks int
	for i, d := range got {
		if i > 0 && d.time.Before(got[i-1].time) {
			t.Fatalf("packet %d: time goes back", i+1)
		}
		k, back := dirKey{d.src, d.dst}, dirKey{d.dst, d.src}
		end := tcp.Seq(d.seq).Add(uint32(len(d.payload)))
		if d.flags.Has(tcp.SYN) {
			end++
			if !d.flags.Has(tcp.ACK) {
				// A new connection, possibly on a reused 4-tuple.
				delete(sent, back)
				synSeq[k] = tcp.Seq(d.seq)
			} else if tcp.Seq(d.ack) != synSeq[back]+1 {
				t.Fatalf("packet %d: SYN-ACK acks %d, SYN was %d", i+1, d.ack, synSeq[back])
			}
		}
		if d.flags.Has(tcp.FIN) {
			end++
		}
		if prev, ok := sent[k]; !ok || prev.Less(end) {
			sent[k] = end
		}
		if d.flags.Has(tcp.ACK) && !d.flags.Has(tcp.SYN) {
			acks++
			peerEnd, ok := sent[back]
			if !ok {
				t.Fatalf("packet %d: %v acks %d before the peer sent anything", i+1, d.flags, d.ack)
			}
			if peerEnd.Less(tcp.Seq(d.ack)) {
				t.Fatalf("packet %d: ack %d beyond the peer's %d", i+1, d.ack, peerEnd)
			}
		}
		for _, o := range d.tcpOpts {
			if o.OptionType == layers.TCPOptionKindSACK {
				sacks++
			}
		}
	}
	for k, n := range st.Connections {
		if n == 0 {
			t.Errorf("no %v connection", Kind(k))
		}
	}
	if st.Probes == 0 || sacks == 0 || acks == 0 {
		t.Errorf("%d probes, %d SACKs, %d ACKs", st.Probes, sacks, acks)
	}
}

func TestMixDeterministic(t *testing.T) {
	a, _ := writeMix(t, everyKindMix(11, 20000))
	b, _ := writeMix(t, everyKindMix(11, 20000))
	c, _ := writeMix(t, everyKindMix(12, 20000))
	if !bytes.Equal(a, b) {
		t.Error("same seed, different bytes")
	}
	if bytes.Equal(a, c) {
		t.Error("different seeds, same bytes")
	}
	// The bytes must not change between Go releases or machines either;
	// change this only when the generator is changed on purpose.
	sum := sha256.Sum256(a)
	if got, want := hex.EncodeToString(sum[:]), mixGolden; got != want {
		t.Errorf("mix SHA-256 %s, want %s", got, want)
	}
}

const mixGolden = "b09239df9cc0251b52f0043b3ddec31c47dbdaf748141f737145812dc5fde09f"

func TestDefaultMixMeanFrame(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("2 M packets: not with -short or -race")
	}
	st, err := WriteMix(io.Discard, DefaultMix(1, 2_000_000))
	if err != nil {
		t.Fatal(err)
	}
	if m := st.MeanFrame(); m < 830 || m > 930 {
		t.Errorf("mean frame %.0f B, want about 880", m)
	}
	if share := float64(st.IPv6Packets) / float64(st.Packets); share < 0.1 || share > 0.3 {
		t.Errorf("IPv6 packet share %.2f, want about 0.2", share)
	}
}

// TestMixStreams checks that memory does not grow with the packet count.
func TestMixStreams(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("1 M packets: not with -short or -race")
	}
	alloc := func(packets int) uint64 {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		if _, err := WriteMix(io.Discard, DefaultMix(1, packets)); err != nil {
			t.Fatal(err)
		}
		runtime.ReadMemStats(&after)
		return after.TotalAlloc - before.TotalAlloc
	}
	small, large := alloc(10_000), alloc(1_000_000)
	if large > small+1<<20 {
		t.Errorf("10 k packets allocate %d B, 1 M packets %d B: memory grows with packets", small, large)
	}
}

func TestMixConfigErrors(t *testing.T) {
	for _, cfg := range []MixConfig{
		{Packets: -1},
		{Packets: 10, Connections: -5},
		{Packets: 10, Normal: -1},
	} {
		if _, err := WriteMix(io.Discard, cfg); err == nil {
			t.Errorf("%+v: no error", cfg)
		}
	}
	// All-zero weights fall back to the default mix.
	st, err := WriteMix(io.Discard, MixConfig{Seed: 1, Packets: 5000})
	if err != nil || st.Packets != 5000 || st.Connections[KindNormal] == 0 {
		t.Errorf("zero config: %v, %v", st, err)
	}
}

func BenchmarkWriteMix(b *testing.B) {
	b.ReportAllocs()
	st, err := WriteMix(io.Discard, DefaultMix(1, b.N))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(st.Packets)/b.Elapsed().Seconds(), "packets/s")
	b.ReportMetric(float64(st.Bytes)/float64(b.N), "B/packet")
}
