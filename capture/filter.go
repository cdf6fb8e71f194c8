package capture

import "fmt"

// filterSnapLen is the capture length filters are compiled for: libpcap's
// maximum, so a match returns a non-zero length for any packet.
const filterSnapLen = 262144

// matcher decides whether a packet passes a compiled filter.
type matcher interface {
	match(data []byte, wireLen int) bool
}

// filterSet holds one compiled program per link type: BPF offsets depend on
// the link header, so a pcapng file with Ethernet and Linux SLL interfaces
// needs two programs for one expression.
type filterSet struct {
	expr     string
	programs []linkProgram
	last     int // index of the program used last: consecutive packets share a link type
}

type linkProgram struct {
	link LinkType
	m    matcher
}

// FilterError is a filter expression libpcap could not compile for a link
// type (or a build without libpcap).
type FilterError struct {
	Expr string
	Link LinkType
	Err  error
}

func (e *FilterError) Error() string {
	return fmt.Sprintf("filter %q on link type %s: %v", e.Expr, e.Link, e.Err)
}

func (e *FilterError) Unwrap() error { return e.Err }

// forLink returns the program for a link type, compiling it on first use.
func (f *filterSet) forLink(lt LinkType) (matcher, error) {
	if f.last < len(f.programs) && f.programs[f.last].link == lt {
		return f.programs[f.last].m, nil
	}
	for i := range f.programs {
		if f.programs[i].link == lt {
			f.last = i
			return f.programs[i].m, nil
		}
	}
	m, err := compileFilter(lt, f.expr)
	if err != nil {
		return nil, &FilterError{Expr: f.expr, Link: lt, Err: err}
	}
	f.programs = append(f.programs, linkProgram{link: lt, m: m})
	f.last = len(f.programs) - 1
	return m, nil
}

// libpcapDLT maps a file's link type to the DLT_ value pcap_open_dead
// expects. The raw-IP variants all compile as Linux's DLT_RAW (12); the
// rest share their numbers.
func libpcapDLT(lt LinkType) int {
	switch lt {
	case LinkRaw, LinkRawDLT14:
		return int(LinkRawDLT12)
	}
	return int(lt)
}
