package tracker

import (
	"hash/maphash"
	"math/bits"
)

// flowTable maps flow keys to connections or embryos, which carry their own
// key. It is open addressing with linear probing over 16-byte slots — a
// 64-bit hash and the value — so a lookup reads one cache line of the table
// and then the value, which the caller reads anyway; Go's map also reads the
// 40-byte key from another line. With a quarter million connections in a
// table far larger than the CPU's caches, that line was a miss per packet.
// The hash is seeded at random, so no capture can be crafted to collide;
// what iterates the table (the sweep for idle connections) changes no
// output, so neither does the seed.
// Deletion shifts the entries after it back: no tombstones.
type flowTable[V interface {
	comparable
	flowKey() *flowKey
}] struct {
	slots []flowSlot[V] // a power of two long, at most half full
	n     int
}

type flowSlot[V comparable] struct {
	h uint64
	v V // the zero V marks an empty slot
}

// flowSeeds are drawn at random at start.
var flowSeeds = func() (s [5]uint64) {
	seed := maphash.MakeSeed()
	for i := range s {
		s[i] = maphash.Comparable(seed, i)
	}
	return s
}()

// hashKey is the hash every table uses for k: wyhash's multiply-and-fold
// over the key's five words, each mixed with a random seed — 3 ns where
// maphash.Comparable of the 40-byte key takes 34 (once per packet).
func hashKey(k *flowKey) uint64 {
	a := mulFold(k.loHi^flowSeeds[0], k.loLo^flowSeeds[1])
	b := mulFold(k.hiHi^flowSeeds[2], k.hiLo^flowSeeds[3])
	return mulFold(a^k.ports, b^flowSeeds[4])
}

// mulFold is the 128-bit product of a and b, its halves xored.
func mulFold(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	return hi ^ lo
}

func (c *Conn) flowKey() *flowKey   { return &c.key }
func (e *embryo) flowKey() *flowKey { return &e.key }

func (t *flowTable[V]) len() int { return t.n }

// get returns the value for k (hash h), or the zero V.
func (t *flowTable[V]) get(k *flowKey, h uint64) V {
	var zero V
	if t.n == 0 {
		return zero
	}
	mask := uint64(len(t.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		s := &t.slots[i]
		if s.v == zero {
			return zero
		}
		if s.h == h && *s.v.flowKey() == *k {
			return s.v
		}
	}
}

// set puts v (whose key hashes to h) in the table, replacing the value of
// the same key.
func (t *flowTable[V]) set(v V, h uint64) {
	if 2*(t.n+1) > len(t.slots) {
		t.grow()
	}
	var zero V
	k := v.flowKey()
	mask := uint64(len(t.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		s := &t.slots[i]
		if s.v == zero {
			*s = flowSlot[V]{h, v}
			t.n++
			return
		}
		if s.h == h && *s.v.flowKey() == *k {
			s.v = v
			return
		}
	}
}

// del removes the value for k (hash h), if any.
func (t *flowTable[V]) del(k *flowKey, h uint64) {
	var zero V
	if t.n == 0 {
		return
	}
	mask := uint64(len(t.slots) - 1)
	i := h & mask
	for {
		s := &t.slots[i]
		if s.v == zero {
			return
		}
		if s.h == h && *s.v.flowKey() == *k {
			break
		}
		i = (i + 1) & mask
	}
	// Close the gap: move back each following entry whose home slot is not
	// between the gap and itself (cyclically), until an empty slot.
	for j := (i + 1) & mask; t.slots[j].v != zero; j = (j + 1) & mask {
		home := t.slots[j].h & mask
		if (j-home)&mask >= (j-i)&mask {
			t.slots[i] = t.slots[j]
			i = j
		}
	}
	t.slots[i] = flowSlot[V]{}
	t.n--
}

func (t *flowTable[V]) grow() {
	old := t.slots
	t.slots = make([]flowSlot[V], max(64, 2*len(old)))
	t.n = 0
	var zero V
	for _, s := range old {
		if s.v != zero {
			t.set(s.v, s.h)
		}
	}
}
