package capture

import (
	"bufio"
	"encoding/binary"
	"io"
	"os"
	"testing"

	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/tcptrace/tcptrace/tcp"
)

// smallPackets writes a pcap file of n minimum-size Ethernet TCP frames
// (pure ACKs with timestamps, 66 bytes), the worst case for per-packet cost.
func smallPackets(t testing.TB, n int, gzipped bool) (string, int) {
	frame := serialize(t, ethernet(layers.EthernetTypeIPv4), ipv4Layer(), dataTCP())
	pkts := make([]testPacket, n)
	for i := range pkts {
		pkts[i] = testPacket{time: 1e18 + int64(i)*1000, data: frame}
	}
	file := pcapBytes(binary.LittleEndian, false, LinkEthernet, 65535, pkts...)
	if gzipped {
		file = gzipBytes(t, file)
	}
	return writeTemp(t, "small.pcap", file), len(file)
}

func TestDecodeDoesNotAllocate(t *testing.T) {
	cases := decodeCases(t)
	var seg tcp.Segment
	allocs := testing.AllocsPerRun(100, func() {
		for _, tc := range cases {
			Decode(tc.link, tc.data, len(tc.data), &seg)
		}
	})
	if allocs != 0 {
		t.Errorf("Decode allocates %.1f times per %d packets", allocs, len(cases))
	}
}

func TestNextDoesNotAllocate(t *testing.T) {
	for _, gzipped := range []bool{false, true} {
		path, _ := smallPackets(t, 60000, gzipped)
		r, err := Files([]string{path, path}, Options{}) // two files: the merge too
		if err != nil {
			t.Fatal(err)
		}
		var seg tcp.Segment
		for range 1000 { // warm up the buffers
			if _, err := r.Next(&seg); err != nil {
				t.Fatal(err)
			}
		}
		allocs := testing.AllocsPerRun(50000, func() {
			if kind, err := r.Next(&seg); err != nil || kind != KindTCP {
				t.Fatalf("%v %v", kind, err)
			}
		})
		r.Close()
		// gzip's decompressor allocates nothing per block once running, but
		// allow for a rare buffer growth over 50,000 packets.
		if allocs > 0.001 {
			t.Errorf("gzip %v: Next allocates %.4f times per packet", gzipped, allocs)
		}
	}
}

func BenchmarkDecode(b *testing.B) {
	frame := serialize(b, ethernet(layers.EthernetTypeIPv4), ipv4Layer(), dataTCP(), payload(100))
	var seg tcp.Segment
	b.SetBytes(int64(len(frame)))
	b.ReportAllocs()
	for b.Loop() {
		if Decode(LinkEthernet, frame, len(frame), &seg) != KindTCP {
			b.Fatal("not tcp")
		}
	}
}

// BenchmarkReadPcap reads and decodes small packets from a file; the
// packets/s metric is the one the speed goal (> 5M/s on one core) is about.
func BenchmarkReadPcap(b *testing.B) {
	for _, bc := range []struct {
		name    string
		gzipped bool
	}{{"plain", false}, {"gzip", true}} {
		b.Run(bc.name, func(b *testing.B) {
			const perFile = 200000
			path, size := smallPackets(b, perFile, bc.gzipped)
			var seg tcp.Segment
			var r *Reader
			packets := 0
			b.SetBytes(int64(size) / perFile)
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if r == nil {
					var err error
					if r, err = Files([]string{path}, Options{}); err != nil {
						b.Fatal(err)
					}
				}
				if _, err := r.Next(&seg); err == io.EOF {
					r.Close()
					r = nil
				} else if err != nil {
					b.Fatal(err)
				}
				packets++
			}
			b.StopTimer()
			if r != nil {
				r.Close()
			}
			b.ReportMetric(float64(packets)/b.Elapsed().Seconds(), "packets/s")
		})
	}
	// The same file through pcapgo's zero-copy reader and Decode, for
	// comparison.
	b.Run("pcapgo", func(b *testing.B) {
		const perFile = 200000
		path, size := smallPackets(b, perFile, false)
		var seg tcp.Segment
		var f *os.File
		var r *pcapgo.Reader
		packets := 0
		b.SetBytes(int64(size) / perFile)
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			if r == nil {
				var err error
				if f, err = os.Open(path); err != nil {
					b.Fatal(err)
				}
				if r, err = pcapgo.NewReader(bufio.NewReaderSize(f, readBufferSize)); err != nil {
					b.Fatal(err)
				}
			}
			data, ci, err := r.ZeroCopyReadPacketData()
			if err == io.EOF {
				f.Close()
				r = nil
				continue
			} else if err != nil {
				b.Fatal(err)
			}
			seg.Time = ci.Timestamp.UnixNano()
			Decode(LinkType(r.LinkType()), data, ci.Length, &seg)
			packets++
		}
		b.StopTimer()
		if f != nil {
			f.Close()
		}
		b.ReportMetric(float64(packets)/b.Elapsed().Seconds(), "packets/s")
	})
}
