package capture

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/tcptrace/tcptrace/tcp"
)

// result is one packet as Next returned it.
type result struct {
	kind Kind
	seg  tcp.Segment
}

// readAll drains a reader, returning the packets and the final error.
func readAll(t testing.TB, r *Reader) ([]result, error) {
	t.Helper()
	var out []result
	for {
		var seg tcp.Segment
		kind, err := r.Next(&seg)
		if err != nil {
			return out, err
		}
		out = append(out, result{kind, seg})
		if len(out) > 1e6 {
			t.Fatal("reader does not stop")
		}
	}
}

// ethernetPackets are the Ethernet decode cases with times 1.5 ms apart.
func ethernetPackets(t *testing.T) ([]testPacket, []decodeCase) {
	var pkts []testPacket
	var cases []decodeCase
	base := time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC).UnixNano()
	for _, tc := range decodeCases(t) {
		if tc.link != LinkEthernet {
			continue
		}
		pkts = append(pkts, testPacket{time: base + int64(len(pkts))*1_500_123, data: tc.data, wire: tc.wireLen})
		cases = append(cases, tc)
	}
	return pkts, cases
}

// TestReaderAgainstPcapgo reads files pcapgo wrote and compares every packet
// with what pcapgo's own reader returns, decoded by Decode.
func TestReaderAgainstPcapgo(t *testing.T) {
	pkts, cases := ethernetPackets(t)
	write := func(nanos, ng bool) []byte {
		var b bytes.Buffer
		var ngw *pcapgo.NgWriter
		var w *pcapgo.Writer
		if ng {
			var err error
			if ngw, err = pcapgo.NewNgWriter(&b, layers.LinkTypeEthernet); err != nil {
				t.Fatal(err)
			}
		} else {
			w = pcapgo.NewWriter(&b)
			if nanos {
				w = pcapgo.NewWriterNanos(&b)
			}
			if err := w.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
				t.Fatal(err)
			}
		}
		for _, p := range pkts {
			ci := gopacket.CaptureInfo{Timestamp: time.Unix(0, p.time), CaptureLength: len(p.data), Length: p.wireLen()}
			var err error
			if ng {
				err = ngw.WritePacket(ci, p.data)
			} else {
				err = w.WritePacket(ci, p.data)
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		if ng {
			if err := ngw.Flush(); err != nil {
				t.Fatal(err)
			}
		}
		return b.Bytes()
	}
	for _, variant := range []struct {
		name      string
		nanos, ng bool
		gzip      bool
	}{
		{name: "pcap microseconds"},
		{name: "pcap nanoseconds", nanos: true},
		{name: "pcap gzip", nanos: true, gzip: true},
		{name: "pcapng", ng: true},
		{name: "pcapng gzip", ng: true, gzip: true},
	} {
		t.Run(variant.name, func(t *testing.T) {
			file := write(variant.nanos, variant.ng)
			if variant.gzip {
				file = gzipBytes(t, file)
			}
			// The extension lies on purpose: formats are told by magic.
			path := writeTemp(t, "capture.txt", file)
			r, err := Files([]string{path}, Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			got, err := readAll(t, r)
			if err != io.EOF {
				t.Fatalf("end: %v, want io.EOF", err)
			}
			want := referenceRead(t, file, variant.ng)
			if len(got) != len(want) || len(got) != len(cases) {
				t.Fatalf("read %d packets, pcapgo %d, wrote %d", len(got), len(want), len(cases))
			}
			for i := range got {
				if got[i] != want[i] {
					t.Errorf("packet %d (%s):\n got %+v\npcapgo %+v", i+1, cases[i].name, got[i], want[i])
				}
				if got[i].kind != cases[i].kind {
					t.Errorf("packet %d (%s): kind %v, want %v", i+1, cases[i].name, got[i].kind, cases[i].kind)
				}
			}
			st := r.Stats()
			f := st.Files[0]
			wantFormat := map[bool]string{false: "pcap", true: "pcapng"}[variant.ng]
			if f.Format != wantFormat || f.Gzip != variant.gzip || f.Packets != uint64(len(cases)) || st.Packets != uint64(len(cases)) {
				t.Errorf("stats %+v, want format %s gzip %v and %d packets", st, wantFormat, variant.gzip, len(cases))
			}
			var sum uint64
			for _, n := range st.ByKind {
				sum += n
			}
			if sum != st.Packets {
				t.Errorf("kinds add up to %d, want %d", sum, st.Packets)
			}
		})
	}
}

// referenceRead reads a file with pcapgo and decodes every packet.
func referenceRead(t *testing.T, file []byte, ng bool) []result {
	t.Helper()
	var out []result
	add := func(data []byte, ci gopacket.CaptureInfo, lt layers.LinkType) {
		seg := tcp.Segment{Time: ci.Timestamp.UnixNano(), Packet: uint64(len(out) + 1)}
		kind := Decode(LinkType(lt), data, ci.Length, &seg)
		out = append(out, result{kind, seg})
	}
	if ng {
		r, err := pcapgo.NewNgReader(bytes.NewReader(maybeGunzip(t, file)), pcapgo.DefaultNgReaderOptions)
		if err != nil {
			t.Fatal(err)
		}
		for {
			data, ci, err := r.ReadPacketData()
			if err == io.EOF {
				return out
			}
			if err != nil {
				t.Fatal(err)
			}
			intf, err := r.Interface(ci.InterfaceIndex)
			if err != nil {
				t.Fatal(err)
			}
			add(data, ci, intf.LinkType)
		}
	}
	r, err := pcapgo.NewReader(bytes.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	for {
		data, ci, err := r.ReadPacketData()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		add(data, ci, r.LinkType())
	}
}

func maybeGunzip(t *testing.T, b []byte) []byte {
	if len(b) < 2 || b[0] != 0x1f || b[1] != 0x8b {
		return b
	}
	var out bytes.Buffer
	r, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(&out, r); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// TestPcapngTwoInterfaces reads a pcapgo file whose interfaces have
// different link types.
func TestPcapngTwoInterfaces(t *testing.T) {
	var b bytes.Buffer
	w, err := pcapgo.NewNgWriter(&b, layers.LinkTypeEthernet)
	if err != nil {
		t.Fatal(err)
	}
	sll := pcapgo.DefaultNgInterface
	sll.LinkType = layers.LinkTypeLinuxSLL
	if _, err := w.AddInterface(sll); err != nil {
		t.Fatal(err)
	}
	eth := serialize(t, ethernet(layers.EthernetTypeIPv4), ipv4Layer(), dataTCP(), payload(100))
	cooked := concat(sllHeader(0x86dd), serialize(t, ipv6Layer(layers.IPProtocolTCP), dataTCP(), payload(100)))
	for i := range 10 {
		data := eth
		if i%2 == 1 {
			data = cooked
		}
		ci := gopacket.CaptureInfo{Timestamp: time.Unix(1700000000, int64(i)*1000), CaptureLength: len(data), Length: len(data), InterfaceIndex: i % 2}
		if err := w.WritePacket(ci, data); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	r, err := Files([]string{writeTemp(t, "two.pcapng", b.Bytes())}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	got, err := readAll(t, r)
	if err != io.EOF {
		t.Fatal(err)
	}
	if len(got) != 10 {
		t.Fatalf("%d packets, want 10", len(got))
	}
	for i, g := range got {
		want := wantData4(100)
		if i%2 == 1 {
			want = wantData6(100, 0)
		}
		want.Time, want.Packet = time.Unix(1700000000, int64(i)*1000).UnixNano(), uint64(i+1)
		if g.kind != KindTCP || g.seg != want {
			t.Errorf("packet %d: %v %+v\nwant %+v", i+1, g.kind, g.seg, want)
		}
	}
	if lts := r.Stats().Files[0].LinkTypes; len(lts) != 2 || lts[0] != LinkEthernet || lts[1] != LinkLinuxSLL {
		t.Errorf("link types %v, want [1 113]", lts)
	}
}

// TestHandmadeFiles covers what pcapgo cannot write: big-endian files,
// timestamp resolutions and offsets, sections restarting with another byte
// order, unknown blocks, simple and obsolete packet blocks, interfaces with
// unsupported link types.
func TestHandmadeFiles(t *testing.T) {
	ip4 := serialize(t, ipv4Layer(), dataTCP(), payload(100))
	eth := serialize(t, ethernet(layers.EthernetTypeIPv4), ipv4Layer(), dataTCP(), payload(100))
	const sec = int64(1e9)
	base := int64(1600000000) * sec

	ng := &ngBuilder{}
	ng.section(binary.BigEndian)
	ng.iface(LinkEthernet, 0, -1, 0)     // interface 0: microseconds
	ng.iface(LinkRaw, 0, 3, 0)           // interface 1: milliseconds
	ng.iface(105, 0, 9, 0)               // interface 2: 802.11, unsupported
	ng.iface(LinkIPv4, 0, 0x80|20, 1000) // interface 3: 2^-20 s, offset 1000 s
	ng.iface(LinkIPv4, 0, 12, 0)         // interface 4: picoseconds
	ng.epb(0, uint64(base/1000), eth, 0)
	ng.block(0x00000bad, []byte("custom block, skipped"))
	ng.epb(1, uint64(base/1e6+1), ip4, 0)
	ng.block(5, make([]byte, 20)) // interface statistics, skipped
	ng.epb(2, 5, []byte{0x88, 0x00, 1, 2, 3}, 0)
	ng.epb(2, 6, []byte{0x88, 0x00, 1, 2, 3}, 0)
	// 2.5 s after the epoch plus the offset, in 2^-20 s units.
	ng.epb(3, 5<<19, ip4, 0)
	ng.epb(4, 5e6*1e12+7000, ip4, 0) // picoseconds overflow 64 bits after 213 days
	// A new section in the other byte order forgets the interfaces.
	ng.section(binary.LittleEndian)
	ng.iface(LinkIPv4, 64, 9, 0)
	ng.spb(ip4[:64], len(ip4)) // no timestamp: takes the previous packet's
	ng.opb(0, uint64(base+42), ip4)
	ng.epb(0, uint64(base+43), ip4, 0)

	wantNg := []struct {
		time int64
		kind Kind
		cut  bool
	}{
		{base, KindTCP, false},
		{base + 1e6, KindTCP, false},
		{5, KindUndecodable, false},
		{6, KindUndecodable, false},
		{1000*sec + 2*sec + sec/2, KindTCP, false},
		{5e6*sec + 7, KindTCP, false},
		{5e6*sec + 7, KindTCP, true},
		{base + 42, KindTCP, false},
		{base + 43, KindTCP, false},
	}

	t.Run("pcapng", func(t *testing.T) {
		r, err := Files([]string{writeTemp(t, "hand.pcapng", ng.bytes())}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		got, err := readAll(t, r)
		if err != io.EOF {
			t.Fatal(err)
		}
		if len(got) != len(wantNg) {
			t.Fatalf("%d packets, want %d", len(got), len(wantNg))
		}
		for i, w := range wantNg {
			g := got[i]
			if g.kind != w.kind || g.seg.Time != w.time || g.seg.Truncated != w.cut || g.seg.Packet != uint64(i+1) {
				t.Errorf("packet %d: kind %v time %d truncated %v number %d; want %v %d %v %d",
					i+1, g.kind, g.seg.Time, g.seg.Truncated, g.seg.Packet, w.kind, w.time, w.cut, i+1)
			}
		}
		st := r.Stats()
		f := st.Files[0]
		if len(f.Unsupported) != 1 || f.Unsupported[0] != (LinkTypeCount{LinkType: 105, Packets: 2}) {
			t.Errorf("unsupported %+v, want 2 packets on 105", f.Unsupported)
		}
		if notes := f.Notes(); len(notes) != 1 || notes[0] != "packets on unsupported link type 105 (IEEE802_11): 2" {
			t.Errorf("notes %q", notes)
		}
		// Only packet 3 (5 ns after the epoch) is earlier than the one
		// before it.
		if f.TimeWentBack != 1 || st.TimeWentBack != 1 {
			t.Errorf("time went back %d/%d times, want 1", f.TimeWentBack, st.TimeWentBack)
		}
		if st.TruncatedTCP != 1 || st.ByKind[KindTCP] != 7 || st.ByKind[KindUndecodable] != 2 {
			t.Errorf("stats %+v", st)
		}
	})

	for _, order := range []binary.ByteOrder{binary.BigEndian, binary.LittleEndian} {
		for _, nanos := range []bool{false, true} {
			name := order.String() + map[bool]string{false: " microseconds", true: " nanoseconds"}[nanos]
			t.Run("pcap "+name, func(t *testing.T) {
				times := []int64{base + 123456789, base + 2*sec + 999999999, base + sec}
				var pkts []testPacket
				for _, tm := range times {
					pkts = append(pkts, testPacket{time: tm, data: eth})
				}
				// snaplen 64 is smaller than the records: tolerated.
				r, err := Files([]string{writeTemp(t, "f.pcap", pcapBytes(order, nanos, LinkEthernet, 64, pkts...))}, Options{})
				if err != nil {
					t.Fatal(err)
				}
				defer r.Close()
				got, err := readAll(t, r)
				if err != io.EOF || len(got) != len(times) {
					t.Fatalf("%d packets, %v", len(got), err)
				}
				for i, tm := range times {
					if !nanos {
						tm -= tm % 1000
					}
					if got[i].seg.Time != tm || got[i].kind != KindTCP {
						t.Errorf("packet %d: %v at %d, want tcp at %d", i+1, got[i].kind, got[i].seg.Time, tm)
					}
				}
				if st := r.Stats(); st.TimeWentBack != 1 {
					t.Errorf("time went back %d times, want 1", st.TimeWentBack)
				}
			})
		}
	}
}

// TestMerge checks the k-way merge: timestamp order across files, ties by
// file order, file order kept when a file goes back in time.
func TestMerge(t *testing.T) {
	ip4 := serialize(t, ipv4Layer(), dataTCP(), payload(100))
	// Each packet's IPID names it: file*16 + index.
	mk := func(file int, times ...int64) string {
		var pkts []testPacket
		for i, tm := range times {
			data := append([]byte(nil), ip4...)
			binary.BigEndian.PutUint16(data[4:], uint16(file*16+i))
			pkts = append(pkts, testPacket{time: tm * 1000, data: data})
		}
		return writeTemp(t, "f.pcap", pcapBytes(binary.LittleEndian, true, LinkRaw, 65535, pkts...))
	}
	a := mk(0, 10, 20, 30, 40)
	b := mk(1, 5, 20, 25, 15, 50) // goes back from 25 to 15
	c := mk(2)                    // empty
	r, err := Files([]string{a, b, c}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	got, err := readAll(t, r)
	if err != io.EOF {
		t.Fatal(err)
	}
	// Order: b0(5) a0(10) a1(20) b1(20, tie: file a first) b2(25) b3(15: b's
	// next, earlier than a's 30) a2(30) a3(40) b4(50)
	want := []uint16{16, 0, 1, 17, 18, 19, 2, 3, 20}
	if len(got) != len(want) {
		t.Fatalf("%d packets, want %d", len(got), len(want))
	}
	for i, w := range want {
		if got[i].seg.IPID != w || got[i].seg.Packet != uint64(i+1) {
			t.Errorf("packet %d: id %d number %d, want id %d", i+1, got[i].seg.IPID, got[i].seg.Packet, w)
		}
	}
	st := r.Stats()
	if st.TimeWentBack != 1 || st.Files[1].TimeWentBack != 1 || st.Files[0].TimeWentBack != 0 {
		t.Errorf("time went back: %d total, files %d %d", st.TimeWentBack, st.Files[0].TimeWentBack, st.Files[1].TimeWentBack)
	}
	if st.Files[0].Packets != 4 || st.Files[1].Packets != 5 || st.Files[2].Packets != 0 {
		t.Errorf("per-file packets %d %d %d", st.Files[0].Packets, st.Files[1].Packets, st.Files[2].Packets)
	}
}

func TestStdin(t *testing.T) {
	eth := serialize(t, ethernet(layers.EthernetTypeIPv4), ipv4Layer(), dataTCP(), payload(10))
	path := writeTemp(t, "in.pcap", gzipBytes(t, pcapBytes(binary.LittleEndian, false, LinkEthernet, 65535, testPacket{time: 1e9, data: eth})))
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	saved := os.Stdin
	os.Stdin = f
	defer func() { os.Stdin = saved }()
	r, err := Files([]string{"-"}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := readAll(t, r)
	if err != io.EOF || len(got) != 1 || got[0].kind != KindTCP {
		t.Fatalf("%+v, %v", got, err)
	}
	if name := r.Stats().Files[0].Name; name != "stdin" {
		t.Errorf("name %q", name)
	}
	r.Close()
	if _, err := Files([]string{"-", "-"}, Options{}); err == nil {
		t.Error("stdin twice: no error")
	}
}

// TestOpenErrors covers files Files must refuse.
func TestOpenErrors(t *testing.T) {
	eth := serialize(t, ethernet(layers.EthernetTypeIPv4), ipv4Layer(), dataTCP(), payload(10))
	for _, tc := range []struct {
		name string
		file []byte
		want string
	}{
		{"empty", nil, "f: empty file (byte offset 0)"},
		{"text", []byte("hello, this is not a capture"), "f: not a pcap or pcapng file (magic 0x6c6c6568) (byte offset 0)"},
		{"cut file header", pcapBytes(binary.LittleEndian, false, LinkEthernet, 65535)[:20], "f: truncated file header (byte offset 0)"},
		{"unsupported link type", pcapBytes(binary.BigEndian, false, 105, 65535, testPacket{data: eth}),
			"f: unsupported link type 105 (IEEE802_11) on interface 0; tcptrace reads Ethernet, Linux SLL/SLL2, raw IP and BSD loopback (byte offset 20)"},
		{"bad gzip", []byte{0x1f, 0x8b, 0, 0}, "f: bad gzip header: unexpected EOF (byte offset 0)"},
		{"cut section header", (func() []byte { n := &ngBuilder{}; n.section(binary.LittleEndian); return n.bytes()[:20] })(),
			"f: truncated record (byte offset 0)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := writeTemp(t, "f", tc.file)
			_, err := Files([]string{path}, Options{})
			var fe *FileError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v is not a *FileError", err)
			}
			if got := strings.ReplaceAll(err.Error(), path, "f"); got != tc.want {
				t.Errorf("error\n got %s\nwant %s", got, tc.want)
			}
		})
	}
	if _, err := Files([]string{"/nonexistent/file.pcap"}, Options{}); err == nil || !strings.Contains(err.Error(), "/nonexistent/file.pcap") {
		t.Errorf("missing file: %v", err)
	}
	if _, err := Files(nil, Options{}); err == nil {
		t.Error("no files: no error")
	}
}

// TestBufferBoundaries reads files of several MiB whose records of varied
// sizes straddle the read buffer's refills, in pcap and pcapng, and compares
// every packet with pcapgo's reading.
func TestBufferBoundaries(t *testing.T) {
	var pkts []testPacket
	size := 0
	for i := 0; size < 3*readBufferSize; i++ {
		frame := serialize(t, ethernet(layers.EthernetTypeIPv4), ipv4Layer(), dataTCP(), payload(i*7919%1400))
		pkts = append(pkts, testPacket{time: 1e18 + int64(i)*1001, data: frame})
		size += len(frame) + 16
	}
	var ngFile bytes.Buffer
	w, err := pcapgo.NewNgWriter(&ngFile, layers.LinkTypeEthernet)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pkts {
		if err := w.WritePacket(gopacket.CaptureInfo{Timestamp: time.Unix(0, p.time), CaptureLength: len(p.data), Length: len(p.data)}, p.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		file []byte
		ng   bool
	}{
		{"pcap", pcapBytes(binary.BigEndian, true, LinkEthernet, 65535, pkts...), false},
		{"pcapng", ngFile.Bytes(), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Files([]string{writeTemp(t, "big", tc.file)}, Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			got, err := readAll(t, r)
			if err != io.EOF {
				t.Fatal(err)
			}
			want := referenceRead(t, tc.file, tc.ng)
			if len(got) != len(want) || len(got) != len(pkts) {
				t.Fatalf("%d packets, pcapgo %d, wrote %d", len(got), len(want), len(pkts))
			}
			for i := range got {
				if got[i] != want[i] || got[i].seg.Time != pkts[i].time {
					t.Fatalf("packet %d:\n got %+v\nwant %+v", i+1, got[i], want[i])
				}
			}

			// Read in batches hands out the same packets as Next.
			r2, err := Files([]string{writeTemp(t, "big", tc.file)}, Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer r2.Close()
			segs, kinds := make([]tcp.Segment, 7), make([]Kind, 7)
			i := 0
			for {
				n, err := r2.Read(segs, kinds)
				for j := 0; j < n; j, i = j+1, i+1 {
					if kinds[j] != got[i].kind || segs[j] != got[i].seg {
						t.Fatalf("batch read, packet %d:\n got %v %+v\nwant %+v", i+1, kinds[j], segs[j], got[i])
					}
				}
				if err == io.EOF {
					break
				}
				if err != nil || n != len(segs) {
					t.Fatalf("batch read: %d of %d, %v", n, len(segs), err)
				}
			}
			if i != len(got) {
				t.Fatalf("batch read %d packets, want %d", i, len(got))
			}
		})
	}
}

// TestModifiedPcap reads the "modified" (Kuznetzov) pcap format, whose
// record headers carry 8 more bytes.
func TestModifiedPcap(t *testing.T) {
	ip4 := serialize(t, ipv4Layer(), dataTCP(), payload(100))
	file := make([]byte, 24)
	binary.LittleEndian.PutUint32(file, pcapMagicKuznetzov)
	binary.LittleEndian.PutUint32(file[16:], 65535)
	binary.LittleEndian.PutUint32(file[20:], uint32(LinkRaw))
	for i := range 3 {
		rec := make([]byte, 24)
		binary.LittleEndian.PutUint32(rec[0:], uint32(100+i))
		binary.LittleEndian.PutUint32(rec[4:], 5)
		binary.LittleEndian.PutUint32(rec[8:], uint32(len(ip4)))
		binary.LittleEndian.PutUint32(rec[12:], uint32(len(ip4)))
		binary.LittleEndian.PutUint32(rec[16:], 2) // ifindex; then protocol, packet type, padding
		file = append(append(file, rec...), ip4...)
	}
	r, err := Files([]string{writeTemp(t, "modified.pcap", file)}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	got, err := readAll(t, r)
	if err != io.EOF || len(got) != 3 {
		t.Fatalf("%d packets, %v", len(got), err)
	}
	for i, g := range got {
		want := wantData4(100)
		want.Time, want.Packet = int64(100+i)*1e9+5000, uint64(i+1)
		if g.kind != KindTCP || g.seg != want {
			t.Errorf("packet %d: %v %+v", i+1, g.kind, g.seg)
		}
	}
}

// TestTCPIterator: Reader.TCP yields exactly the TCP segments Next gives,
// in order, skipping the other packets; on damage it ends with the error.
func TestTCPIterator(t *testing.T) {
	pkts, _ := ethernetPackets(t)
	file := pcapBytes(binary.LittleEndian, false, LinkEthernet, 65535, pkts...)
	for _, damaged := range []bool{false, true} {
		data := file
		if damaged {
			data = append(append([]byte(nil), file...), "garbage"...)
		}
		path := writeTemp(t, "in", data)
		r, err := Files([]string{path}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		all, wantErr := readAll(t, r)
		r.Close()
		var want []tcp.Segment
		for _, res := range all {
			if res.kind == KindTCP {
				want = append(want, res.seg)
			}
		}
		if len(want) == 0 || len(want) == len(all) {
			t.Fatalf("%d TCP segments of %d packets: the test needs both kinds", len(want), len(all))
		}
		r, err = Files([]string{path}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		var got []tcp.Segment
		var gotErr error
		for seg, err := range r.TCP() {
			if err != nil {
				gotErr = err
				continue
			}
			got = append(got, *seg)
		}
		r.Close()
		if !slices.Equal(got, want) {
			t.Errorf("damaged %v: %d segments, want %d", damaged, len(got), len(want))
		}
		if damaged != (gotErr != nil) || damaged && gotErr.Error() != wantErr.Error() {
			t.Errorf("damaged %v: error %v, Next gave %v", damaged, gotErr, wantErr)
		}
	}
}
