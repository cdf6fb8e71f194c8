//go:build !cgo

package capture

import "errors"

// compileFilter cannot work without libpcap's compiler.
func compileFilter(LinkType, string) (matcher, error) {
	return nil, errors.New("filters need tcptrace built with cgo and libpcap")
}
