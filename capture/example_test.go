package capture_test

import (
	"fmt"
	"io"
	"log"

	"github.com/tcptrace/tcptrace/capture"
	"github.com/tcptrace/tcptrace/tcp"
)

// testdata/handshake.pcap holds a generated TCP handshake, a UDP packet and
// a first data segment.
func ExampleFiles() {
	r, err := capture.Files([]string{"testdata/handshake.pcap"}, capture.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close()
	var seg tcp.Segment // reused: Next overwrites every field
	for {
		kind, err := r.Next(&seg)
		if err == io.EOF {
			break
		}
		if err != nil {
			log.Fatal(err) // a *capture.FileError naming file, packet and offset
		}
		if kind != capture.KindTCP {
			fmt.Printf("%d %v\n", seg.Packet, kind)
			continue
		}
		fmt.Printf("%d %v > %v %v seq=%d ack=%d len=%d mss=%d\n",
			seg.Packet, seg.Src, seg.Dst, seg.Flags, seg.Seq, seg.Ack, seg.PayloadLen, seg.Options.MSS)
	}
	st := r.Stats()
	fmt.Println(st.Packets, "packets,", st.ByKind[capture.KindTCP], "tcp")
	// Output:
	// 1 10.0.0.1:40000 > 192.0.2.80:80 SYN seq=1000 ack=0 len=0 mss=1460
	// 2 192.0.2.80:80 > 10.0.0.1:40000 SYN,ACK seq=5000 ack=1001 len=0 mss=1460
	// 3 non_tcp
	// 4 10.0.0.1:40000 > 192.0.2.80:80 ACK seq=1001 ack=5001 len=0 mss=0
	// 5 10.0.0.1:40000 > 192.0.2.80:80 PSH,ACK seq=1001 ack=5001 len=100 mss=0
	// 5 packets, 4 tcp
}
