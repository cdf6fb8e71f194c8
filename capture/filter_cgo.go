//go:build cgo

package capture

import (
	"errors"

	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcap"
	"golang.org/x/net/bpf"
)

// compileFilter compiles expr with libpcap for the link type and returns a
// pure-Go BPF program for it.
func compileFilter(lt LinkType, expr string) (matcher, error) {
	insns, err := pcap.CompileBPFFilter(layers.LinkType(libpcapDLT(lt)), filterSnapLen, expr)
	if err != nil {
		return nil, err
	}
	return newVMProgram(insns)
}

// vmProgram runs a libpcap program in golang.org/x/net/bpf's interpreter,
// which avoids a cgo call per packet.
type vmProgram struct{ vm *bpf.VM }

func newVMProgram(insns []pcap.BPFInstruction) (*vmProgram, error) {
	raw := make([]bpf.RawInstruction, len(insns))
	for i, in := range insns {
		raw[i] = bpf.RawInstruction{Op: in.Code, Jt: in.Jt, Jf: in.Jf, K: in.K}
	}
	prog, ok := bpf.Disassemble(raw)
	if !ok {
		return nil, errors.New("libpcap produced a BPF instruction the Go interpreter does not support")
	}
	vm, err := bpf.NewVM(prog)
	if err != nil {
		return nil, err
	}
	return &vmProgram{vm: vm}, nil
}

// match runs the program on the captured bytes; a non-zero return accepts.
// An interpreter error (which a libpcap program cannot cause) rejects.
func (p *vmProgram) match(data []byte, _ int) bool {
	n, err := p.vm.Run(data)
	return err == nil && n > 0
}
