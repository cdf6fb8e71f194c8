package synth_test

import (
	"bytes"
	"fmt"
	"io"
	"net/netip"

	"github.com/tcptrace/tcptrace/synth"
	"github.com/tcptrace/tcptrace/tcp"
)

func Example() {
	c := synth.NewCapture(synth.Ethernet)
	k := c.Conn(netip.MustParseAddrPort("192.0.2.1:40000"), netip.MustParseAddrPort("198.51.100.1:80"), 1000, 5000)
	k.Handshake().Data(synth.Client, 100).Data(synth.Server, 1400).ACK(synth.Client)
	// The server sends the response again: an explicit sequence number
	// leaves the tracked sequence space alone.
	k.Data(synth.Server, 1400, synth.Seq(k.ISN(synth.Server)+1))
	// An RST far outside the window, then an orderly close.
	k.Send(synth.Server, tcp.RST, 0, synth.Seq(k.Next(synth.Server)+1<<30))
	k.Close(synth.Client)

	var buf bytes.Buffer
	if err := c.WritePcap(&buf, false); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(c.Len(), "packets,", buf.Len(), "bytes")
	fmt.Println("client next", k.Next(synth.Client), "server next", k.Next(synth.Server))
	// Output:
	// 12 packets, 3788 bytes
	// client next 1102 server next 6402
}

func ExampleWriteMix() {
	// 20000 packets over 1000 concurrent connections, 20% of them IPv6.
	st, err := synth.WriteMix(io.Discard, synth.DefaultMix(1, 20000))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(st.Packets, "packets,", st.IPv6Packets, "IPv6")
	fmt.Println(st.Connections[synth.KindNormal], "normal connections,", st.Connections[synth.KindScan], "scans,", st.Probes, "probes")
	// Output:
	// 20000 packets, 3672 IPv6
	// 624 normal connections, 2 scans, 14 probes
}
