// Package synth synthesizes TCP captures with correct, reproducible bytes:
// for tests, the scenarios a kernel will not produce on demand (simultaneous
// open, invalid flag combinations, sequence wrap, out-of-window resets,
// captures that start mid-connection); for benchmarks, large realistic mixes
// and SYN floods.
//
// A Capture collects packets and writes pcap, pcapng or gzip. A Conn drives
// one connection on it, tracking both sides' sequence numbers so scenario
// code states only what happens:
//
//	c := synth.NewCapture(synth.Ethernet)
//	k := c.Conn(client, server, 1000, 5000)
//	k.Handshake().Data(synth.Client, 120).Data(synth.Server, 1400).ACK(synth.Client)
//	k.Send(synth.Server, tcp.RST, 0, synth.Seq(k.Next(synth.Server)+1<<30)) // far out of window
//	k.Close(synth.Client)
//	err := c.WriteFile("rst.pcap")
//
// Builder packets are serialized by gopacket with computed checksums.
// WriteMix and WriteSYNFlood build frames by hand into a reused buffer to
// stream millions of packets per second; a test proves those bytes equal
// gopacket's serialization. The committed captures in testdata/pcaps/synth
// are regenerated with
//
//	go test ./synth -run TestGenerateCaptures -update
package synth
