package capture

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/tcptrace/tcptrace/tcp"
)

// FuzzDecode feeds arbitrary bytes to Decode for a link type. Seeds (one
// per supported link type and per decoder test case) are committed in
// testdata/fuzz/FuzzDecode.
func FuzzDecode(f *testing.F) {
	f.Fuzz(func(t *testing.T, link uint16, data []byte, extra uint16) {
		wire := len(data) + int(extra)
		orig := append([]byte(nil), data...)
		seg := tcp.Segment{Time: 5, Packet: 6}
		kind := Decode(LinkType(link), data, wire, &seg)
		if !bytes.Equal(orig, data) {
			t.Fatal("Decode changed the packet bytes")
		}
		if int(kind) >= NumKinds || kind == KindFiltered {
			t.Fatalf("kind %d", kind)
		}
		if seg.Time != 5 || seg.Packet != 6 {
			t.Fatalf("Decode changed Time or Packet: %+v", seg)
		}
		if seg.Options.NumSACK > 4 {
			t.Fatalf("%d SACK blocks", seg.Options.NumSACK)
		}
		if kind != KindTCP {
			if seg.Src.Port() != 0 || seg.Seq != 0 || seg.PayloadLen != 0 || seg.Truncated {
				t.Fatalf("%v with TCP fields set: %+v", kind, seg)
			}
			return
		}
		if seg.IPLen > uint32(wire) || seg.PayloadLen+20 > seg.IPLen {
			t.Fatalf("lengths out of bounds: wire %d, %+v", wire, seg)
		}
		if seg.Truncated && extra == 0 {
			t.Fatalf("truncated without a cut: %+v", seg)
		}
		if !seg.Src.IsValid() || !seg.Dst.IsValid() {
			t.Fatalf("tcp without addresses: %+v", seg)
		}
	})
}

// FuzzReader feeds whole files to the reader: it must end in io.EOF or a
// *FileError, never panic, never loop. Seeds (pcap and pcapng in both byte
// orders, gzip, damaged files) are committed in testdata/fuzz/FuzzReader.
func FuzzReader(f *testing.F) {
	f.Fuzz(func(t *testing.T, file []byte) {
		s, err := newSource("fuzz", bytes.NewReader(file), nil, 0)
		if err != nil {
			var fe *FileError
			if !errors.As(err, &fe) {
				t.Fatalf("open: %v is not a *FileError", err)
			}
			return
		}
		r := &Reader{sources: []*source{s}}
		if err := r.start(Options{}); err != nil {
			t.Fatal(err)
		}
		gzipped := r.Stats().Files[0].Gzip
		var seg tcp.Segment
		for n := 0; ; n++ {
			if !gzipped && n > len(file)/12 {
				// Every packet record or block is at least 12 bytes.
				t.Fatalf("%d packets from %d bytes", n, len(file))
			}
			_, err := r.Next(&seg)
			if err == io.EOF {
				break
			}
			if err != nil {
				var fe *FileError
				if !errors.As(err, &fe) {
					t.Fatalf("error %v is not a *FileError", err)
				}
				if fe.Offset < 0 || (!gzipped && fe.Offset > int64(len(file))) {
					t.Fatalf("offset %d outside a %d-byte file", fe.Offset, len(file))
				}
				break
			}
			if seg.Packet != uint64(n+1) {
				t.Fatalf("packet number %d, want %d", seg.Packet, n+1)
			}
		}
		st := r.Stats()
		var sum uint64
		for _, c := range st.ByKind {
			sum += c
		}
		if sum != st.Packets {
			t.Fatalf("kinds add up to %d of %d packets", sum, st.Packets)
		}
	})
}
