package tracker

import (
	"encoding/binary"
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"
	"unsafe"
)

// TestFlowTable checks the table against Go's map through random inserts,
// replacements, deletions and lookups, with hashes forced into few slots so
// that probing and the backward shift of deletion meet long runs and the
// table's wrap-around.
func TestFlowTable(t *testing.T) {
	for _, hashBits := range []uint{3, 64} {
		rng := rand.New(rand.NewPCG(1, uint64(hashBits)))
		hash := func(k *flowKey) uint64 {
			h := hashKey(k)
			if hashBits < 64 {
				h = h&(1<<hashBits-1) | 1<<63 - 64 // a few home slots, near the end of the table
			}
			return h
		}
		var tab flowTable[*Conn]
		ref := map[flowKey]*Conn{}
		for op := 0; op < 200_000; op++ {
			k := flowKey{ports: uint64(rng.IntN(3000))}
			h := hash(&k)
			switch rng.IntN(3) {
			case 0:
				c := &Conn{key: k, ID: uint64(op)}
				tab.set(c, h)
				ref[k] = c
			case 1:
				tab.del(&k, h)
				delete(ref, k)
			}
			if got, want := tab.get(&k, h), ref[k]; got != want {
				t.Fatalf("hash bits %d, op %d: key %d gives %p, want %p", hashBits, op, k.ports, got, want)
			}
			if tab.len() != len(ref) {
				t.Fatalf("hash bits %d, op %d: %d entries, want %d", hashBits, op, tab.len(), len(ref))
			}
		}
		for k, want := range ref {
			if got := tab.get(&k, hash(&k)); got != want {
				t.Fatalf("hash bits %d: key %d lost", hashBits, k.ports)
			}
		}
	}
}

// TestHalves: the IPv4 shortcut gives the halves of As16.
func TestHalves(t *testing.T) {
	for _, s := range []string{"0.0.0.0", "10.1.2.3", "255.255.255.255", "::", "::ffff:10.1.2.3", "2001:db8::1", "fe80::1%eth0"} {
		a := netip.MustParseAddr(s)
		b := a.As16()
		hi, lo := halves(a)
		if hi != binary.BigEndian.Uint64(b[:8]) || lo != binary.BigEndian.Uint64(b[8:]) {
			t.Errorf("%s: halves %#x %#x, As16 %x", s, hi, lo, b)
		}
	}
}

// TestConnSize: a Conn fits the allocator's 1,536-byte size class; the next
// is 1,792, a sixth more memory for every connection held through
// TIME_WAIT. Growing past it should be a decision, not an accident.
func TestConnSize(t *testing.T) {
	if n := unsafe.Sizeof(Conn{}); n > 1536 {
		t.Errorf("Conn is %d bytes, over the 1,536-byte size class", n)
	}
}

// TestHashSpread: keys that differ in one field only (a client's ports, a
// scan's addresses) spread over a table's slots as random ones would.
func TestHashSpread(t *testing.T) {
	const n, buckets = 1 << 16, 1 << 14
	for name, key := range map[string]func(i int) flowKey{
		"ports":     func(i int) flowKey { return flowKey{0, 0xffff0a000001, 0, 0xffffc6336414, uint64(i)<<16 | 443} },
		"addresses": func(i int) flowKey { return flowKey{0, 0xffff0a000000 + uint64(i), 0, 0xffffc6336414, 40000<<16 | 80} },
		"ipv6": func(i int) flowKey {
			return flowKey{0x20010db800000000, uint64(i) << 32, 0x20010db8ffff0000, 1, 40000<<16 | 80}
		},
	} {
		var load [buckets]int
		for i := range n {
			k := key(i)
			load[hashKey(&k)&(buckets-1)]++
		}
		// n/buckets = 4 per bucket; a random hash makes the fullest ~15.
		if most := slices.Max(load[:]); most > 20 {
			t.Errorf("%s: %d keys in one of %d slots", name, most, buckets)
		}
	}
}
