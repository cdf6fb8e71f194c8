package capture

import (
	"encoding/binary"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/gopacket/gopacket/layers"
)

// TestDamagedFiles cuts and corrupts files and checks that every complete
// packet before the damage is returned, then a FileError naming the packet
// and the byte offset of the damaged record.
func TestDamagedFiles(t *testing.T) {
	eth := serialize(t, ethernet(layers.EthernetTypeIPv4), ipv4Layer(), dataTCP(), payload(10))
	pkts := []testPacket{{time: 1e9, data: eth}, {time: 2e9, data: eth}, {time: 3e9, data: eth}}
	good := pcapBytes(binary.LittleEndian, false, LinkEthernet, 65535, pkts...)
	rec := 16 + len(eth) // one pcap record
	rec3 := 24 + 2*rec   // offset of the third record
	end := 24 + 3*rec

	patch32 := func(b []byte, at int, v uint32) []byte {
		b = append([]byte(nil), b...)
		binary.LittleEndian.PutUint32(b[at:], v)
		return b
	}

	// A pcapng file: section, interface, three packets; offsets recorded.
	ng := &ngBuilder{}
	ng.section(binary.LittleEndian)
	ng.iface(LinkEthernet, 0, 9, 0)
	var ngOff []int
	for _, p := range pkts {
		ngOff = append(ngOff, ng.buf.Len())
		ng.epb(0, uint64(p.time), p.data, 0)
	}
	ngGood := ng.bytes()
	ngEnd := len(ngGood)

	tests := []struct {
		name   string
		file   []byte
		good   int    // complete packets before the damage
		packet uint64 // in the FileError
		offset int64
		what   string
	}{
		{"pcap cut inside a record header", good[:rec3+8], 2, 3, int64(rec3), "truncated record"},
		{"pcap cut inside a record", good[:rec3+16+30], 2, 3, int64(rec3), "truncated record"},
		{"pcap garbage after the data", append(append([]byte(nil), good...), "garbage"...), 3, 4, int64(end), "truncated record"},
		{"pcap garbage record header", append(append([]byte(nil), good...), strings.Repeat("\xff", 40)...), 3, 4, int64(end),
			"packet record length 4294967295 exceeds the 262144-byte limit"},
		{"pcap caplen 10 MiB", patch32(good, 24+rec+8, 10<<20), 1, 2, int64(24 + rec),
			"packet record length 10485760 exceeds the 262144-byte limit"},
		{"pcapng cut inside a block", ngGood[:ngOff[2]+40], 2, 3, int64(ngOff[2]), "truncated record"},
		{"pcapng cut inside a block header", ngGood[:ngOff[2]+5], 2, 3, int64(ngOff[2]), "truncated record"},
		{"pcapng bad block length", patch32(ngGood, ngOff[1]+4, 13), 1, 2, int64(ngOff[1]), "bad block length 13"},
		{"pcapng block length too short", patch32(ngGood, ngOff[1]+4, 8), 1, 2, int64(ngOff[1]), "bad block length 8"},
		{"pcapng trailer mismatch", patch32(ngGood, ngOff[1]-4, 1024), 0, 1, int64(ngOff[0]),
			"block length 120 does not match its trailer 1024"},
		{"pcapng caplen 10 MiB", patch32(ngGood, ngOff[1]+20, 10<<20), 1, 2, int64(ngOff[1]),
			"packet record length 10485760 exceeds the 262144-byte limit"},
		{"pcapng caplen past the block", patch32(ngGood, ngOff[1]+20, 200), 1, 2, int64(ngOff[1]),
			"captured length 200 does not fit in block length 120"},
		{"pcapng undeclared interface", patch32(ngGood, ngOff[2]+8, 3), 2, 3, int64(ngOff[2]),
			"packet on interface 3, but the section declares 1 interfaces"},
		{"pcapng huge unknown block", append(append([]byte(nil), ngGood...), 0xad, 0x0b, 0, 0, 0, 0, 0, 0x40, 1, 2, 3, 4), 3, 4, int64(ngEnd),
			"truncated record"},
		{"pcapng huge block length", patch32(ngGood, ngOff[1]+4, 1<<30), 1, 2, int64(ngOff[1]),
			"block length 1073741824 exceeds the 327680-byte limit"},
		{"pcapng garbage after the data", append(append([]byte(nil), ngGood...), "junk"...), 3, 4, int64(ngEnd), "truncated record"},
		{"pcapng bad byte-order magic in a later section", append(append([]byte(nil), ngGood...),
			0x0a, 0x0d, 0x0d, 0x0a, 28, 0, 0, 0, 1, 2, 3, 4), 3, 4, int64(ngEnd), "bad pcapng byte-order magic 0x04030201"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, compress := range []bool{false, true} {
				file := tc.file
				if compress {
					file = gzipBytes(t, file)
				}
				path := writeTemp(t, "damaged", file)
				r, err := Files([]string{path}, Options{})
				if err != nil {
					t.Fatal(err)
				}
				got, err := readAll(t, r)
				r.Close()
				if len(got) != tc.good {
					t.Errorf("gzip %v: %d packets before the error, want %d", compress, len(got), tc.good)
				}
				var fe *FileError
				if !errors.As(err, &fe) {
					t.Fatalf("gzip %v: error %v, want a *FileError", compress, err)
				}
				if fe.File != path || fe.Packet != tc.packet || fe.Offset != tc.offset || fe.Err.Error() != tc.what {
					t.Errorf("gzip %v: %+v, want packet %d offset %d %q", compress, fe, tc.packet, tc.offset, tc.what)
				}
				// Sticky: the caller may ask again.
				if _, again := r.Next(nil); again != err {
					t.Errorf("second call: %v", again)
				}
			}
		})
	}
}

func TestFileErrorMessage(t *testing.T) {
	err := &FileError{File: "x.pcap", Packet: 3, Offset: 208, Err: errTruncatedRecord}
	if got, want := err.Error(), "x.pcap: truncated record at packet 3 (byte offset 208)"; got != want {
		t.Errorf("%q, want %q", got, want)
	}
	if !errors.Is(err, errTruncatedRecord) {
		t.Error("FileError does not unwrap")
	}
}

// TestCorruptGzip: a gzip stream cut short ends in a FileError after the
// packets that decompressed.
func TestCorruptGzip(t *testing.T) {
	eth := serialize(t, ethernet(layers.EthernetTypeIPv4), ipv4Layer(), dataTCP(), payload(1000))
	var pkts []testPacket
	for i := range 2000 {
		pkts = append(pkts, testPacket{time: int64(i) * 1e6, data: eth})
	}
	z := gzipBytes(t, pcapBytes(binary.LittleEndian, false, LinkEthernet, 65535, pkts...))
	r, err := Files([]string{writeTemp(t, "cut.pcap.gz", z[:len(z)/2])}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	got, err := readAll(t, r)
	var fe *FileError
	if !errors.As(err, &fe) || err == io.EOF {
		t.Fatalf("error %v, want a *FileError", err)
	}
	if len(got) == 0 || len(got) >= len(pkts) {
		t.Errorf("%d packets before the damage", len(got))
	}
	if fe.Packet != uint64(len(got)+1) {
		t.Errorf("error at packet %d after %d packets", fe.Packet, len(got))
	}
}
