package decrypt

import (
	"encoding/binary"
	"errors"
	"sort"
	"strings"
	"unicode/utf16"
)

// A minimal writer of OLE compound files ([MS-CFB] version 3: 512-byte sectors, 64-byte mini
// sectors, streams under 4096 bytes in the mini stream), enough for an encrypted Office document:
// a root storage with a few streams, and no DIFAT (at most 109 FAT sectors, about 7 MB).

const (
	cfbSector     = 512
	cfbMini       = 64
	cfbCutoff     = 4096
	cfbPerSector  = cfbSector / 4 // FAT or mini FAT entries per sector
	cfbFree       = 0xFFFFFFFF
	cfbEndOfChain = 0xFFFFFFFE
	cfbFATSect    = 0xFFFFFFFD
	cfbNoStream   = 0xFFFFFFFF
	cfbMaxFAT     = 109
)

type cfbStream struct {
	name string
	data []byte
}

var errCFBTooLarge = errors.New("decrypt: compound file too large for this writer")

func sectorsFor(n, size int) int { return (n + size - 1) / size }

// writeCFB lays out the streams and returns the whole file.
func writeCFB(streams []cfbStream) ([]byte, error) {
	// Mini stream: the small streams, each starting on a mini sector.
	var mini []byte
	var miniFAT []uint32
	miniStart := make([]int, len(streams))
	var big []int // indexes of the streams in regular sectors
	for i, s := range streams {
		if len(s.data) >= cfbCutoff {
			big = append(big, i)
			continue
		}
		first := len(miniFAT)
		n := sectorsFor(len(s.data), cfbMini)
		miniStart[i] = first
		if n == 0 {
			miniStart[i] = cfbEndOfChain
		}
		for k := 0; k < n; k++ {
			next := uint32(first + k + 1)
			if k == n-1 {
				next = cfbEndOfChain
			}
			miniFAT = append(miniFAT, next)
		}
		mini = append(mini, s.data...)
		mini = append(mini, make([]byte, n*cfbMini-len(s.data))...)
	}
	nDir := sectorsFor(len(streams)+1, cfbSector/128)
	nMiniFAT := sectorsFor(len(miniFAT), cfbPerSector)
	nMiniStream := sectorsFor(len(mini), cfbSector)
	nBig := 0
	for _, i := range big {
		nBig += sectorsFor(len(streams[i].data), cfbSector)
	}
	content := nDir + nMiniFAT + nMiniStream + nBig
	nFAT := 1
	for sectorsFor(nFAT+content, cfbPerSector) > nFAT {
		nFAT++
	}
	if nFAT > cfbMaxFAT {
		return nil, errCFBTooLarge
	}
	fat := make([]uint32, nFAT*cfbPerSector)
	for i := range fat {
		fat[i] = cfbFree
	}
	next := 0
	chain := func(n int) int { // allocates n consecutive sectors, returns the first
		if n == 0 {
			return cfbEndOfChain
		}
		first := next
		for k := 0; k < n; k++ {
			fat[next] = uint32(next + 1)
			if k == n-1 {
				fat[next] = cfbEndOfChain
			}
			next++
		}
		return first
	}
	for k := 0; k < nFAT; k++ {
		fat[next] = cfbFATSect
		next++
	}
	dirStart := chain(nDir)
	miniFATStart := chain(nMiniFAT)
	miniStreamStart := chain(nMiniStream)
	bigStart := map[int]int{}
	for _, i := range big {
		bigStart[i] = chain(sectorsFor(len(streams[i].data), cfbSector))
	}

	out := make([]byte, cfbSector*(1+next))
	cfbHeader(out[:cfbSector], nFAT, dirStart, miniFATStart, nMiniFAT)
	body := out[cfbSector:]
	for i, v := range fat {
		binary.LittleEndian.PutUint32(body[4*i:], v)
	}
	cfbDirectory(body[dirStart*cfbSector:], streams, miniStart, bigStart, miniStreamStart, len(mini))
	mf := body[miniFATStart*cfbSector:]
	for i := 0; i < nMiniFAT*cfbPerSector && nMiniFAT > 0; i++ {
		v := uint32(cfbFree)
		if i < len(miniFAT) {
			v = miniFAT[i]
		}
		binary.LittleEndian.PutUint32(mf[4*i:], v)
	}
	if nMiniStream > 0 {
		copy(body[miniStreamStart*cfbSector:], mini)
	}
	for _, i := range big {
		copy(body[bigStart[i]*cfbSector:], streams[i].data)
	}
	return out, nil
}

func cfbHeader(h []byte, nFAT, dirStart, miniFATStart, nMiniFAT int) {
	copy(h, []byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1})
	le := binary.LittleEndian
	le.PutUint16(h[24:], 0x003E) // minor version
	le.PutUint16(h[26:], 0x0003) // major version 3
	le.PutUint16(h[28:], 0xFFFE) // byte order
	le.PutUint16(h[30:], 9)      // sector shift: 512
	le.PutUint16(h[32:], 6)      // mini sector shift: 64
	le.PutUint32(h[44:], uint32(nFAT))
	le.PutUint32(h[48:], uint32(dirStart))
	le.PutUint32(h[56:], cfbCutoff)
	if nMiniFAT == 0 {
		miniFATStart = cfbEndOfChain
	}
	le.PutUint32(h[60:], uint32(miniFATStart))
	le.PutUint32(h[64:], uint32(nMiniFAT))
	le.PutUint32(h[68:], cfbEndOfChain) // no DIFAT sectors
	le.PutUint32(h[72:], 0)
	for i := 0; i < cfbMaxFAT; i++ {
		v := uint32(cfbFree)
		if i < nFAT {
			v = uint32(i) // the FAT sectors are the first ones
		}
		le.PutUint32(h[76+4*i:], v)
	}
}

// cfbDirectory writes the root entry and one entry per stream. The streams form a chain of right
// siblings in the directory's order (shorter names first, then by upper-case name), all black.
func cfbDirectory(d []byte, streams []cfbStream, miniStart []int, bigStart map[int]int, miniStreamStart, miniLen int) {
	order := make([]int, len(streams))
	for i := range order {
		order[i] = i
	}
	sort.Slice(order, func(a, b int) bool {
		na, nb := streams[order[a]].name, streams[order[b]].name
		if len(na) != len(nb) {
			return len(na) < len(nb)
		}
		return strings.ToUpper(na) < strings.ToUpper(nb)
	})
	for i := 0; i < len(d)/128; i++ { // every slot empty first
		e := d[128*i : 128*(i+1)]
		binary.LittleEndian.PutUint32(e[68:], cfbNoStream)
		binary.LittleEndian.PutUint32(e[72:], cfbNoStream)
		binary.LittleEndian.PutUint32(e[76:], cfbNoStream)
	}
	rootStart := miniStreamStart
	if miniLen == 0 {
		rootStart = cfbEndOfChain
	}
	child := uint32(cfbNoStream)
	if len(order) > 0 {
		child = uint32(order[0] + 1)
	}
	cfbEntry(d[0:128], "Root Entry", 5, cfbNoStream, child, rootStart, miniLen)
	for pos, i := range order {
		right := uint32(cfbNoStream)
		if pos+1 < len(order) {
			right = uint32(order[pos+1] + 1)
		}
		start := miniStart[i]
		if b, ok := bigStart[i]; ok {
			start = b
		}
		cfbEntry(d[128*(i+1):128*(i+2)], streams[i].name, 2, right, cfbNoStream, start, len(streams[i].data))
	}
}

func cfbEntry(e []byte, name string, typ byte, right, child uint32, start, size int) {
	le := binary.LittleEndian
	u := utf16.Encode([]rune(name))
	for i, c := range u {
		le.PutUint16(e[2*i:], c)
	}
	le.PutUint16(e[64:], uint16(2*(len(u)+1)))
	e[66] = typ
	e[67] = 1 // black
	le.PutUint32(e[68:], cfbNoStream)
	le.PutUint32(e[72:], right)
	le.PutUint32(e[76:], child)
	le.PutUint32(e[116:], uint32(start))
	le.PutUint64(e[120:], uint64(size))
}
