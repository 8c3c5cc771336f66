package sqlite

import (
	"crypto/rand"
	"encoding/hex"
	"sync"
	"time"
)

// idGen makes app user ids: UUIDs in the version 7 layout (RFC 9562): a
// millisecond timestamp, a 12-bit counter that keeps ids made in the same
// millisecond in order, and 62 random bits. Ids made later sort later, so
// inserting many users appends to the id indexes instead of scattering.
type idGen struct {
	mu  sync.Mutex
	ms  int64
	seq uint16
}

func (g *idGen) next() string {
	g.mu.Lock()
	if ms := time.Now().UnixMilli(); ms > g.ms {
		g.ms, g.seq = ms, 0
	} else if g.seq++; g.seq == 1<<12 { // counter exhausted (or the clock went back): borrow the next millisecond
		g.ms, g.seq = g.ms+1, 0
	}
	ms, seq := g.ms, g.seq
	g.mu.Unlock()

	var b [16]byte
	for i := range 6 {
		b[i] = byte(ms >> (40 - 8*i))
	}
	b[6] = 0x70 | byte(seq>>8)
	b[7] = byte(seq)
	rand.Read(b[8:])
	b[8] = b[8]&0x3f | 0x80 // the RFC 9562 variant

	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:], b[10:])
	return string(s[:])
}
