//go:build !cgo

package capture

import (
	"encoding/binary"
	"strings"
	"testing"
)

func TestFilterNeedsCgo(t *testing.T) {
	path := writeTemp(t, "f.pcap", pcapBytes(binary.LittleEndian, false, LinkEthernet, 65535))
	_, err := Files([]string{path}, Options{Filter: "tcp"})
	if err == nil || !strings.Contains(err.Error(), "filters need tcptrace built with cgo and libpcap") {
		t.Errorf("error %v", err)
	}
	r, err := Files([]string{path}, Options{})
	if err != nil {
		t.Fatalf("without a filter: %v", err)
	}
	r.Close()
}
