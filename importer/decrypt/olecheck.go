package decrypt

import (
	"encoding/binary"
	"fmt"
	"io"

	"github.com/fhi/sysvak-import/validate"
)

// The OLE directory is checked before mscfb sees it. mscfb's traverse gives every storage
// entry a fresh copy of its parent's path, so a chain of n storages nested in each other costs
// n²/2 path elements: 20,000 nested storages in a 2.5 MB file take over 3 GB and 20 s (issue 7,
// fixtures/hostile ole-dir-deep). Real files nest three levels (Root, \x06DataSpaces,
// TransformInfo) and have a few dozen entries.
const (
	maxOLEDirSectors = 4096   // 16,384 entries of 128 bytes with 512-byte sectors
	maxOLEEntries    = 10_000 // allocated (non-empty) directory entries
	maxOLEDepth      = 32     // storages nested in storages
)

const (
	oleEndOfChain = 0xFFFFFFFE
	oleNoStream   = 0xFFFFFFFF
	oleMaxRegSect = 0xFFFFFFFA
)

// checkOLEDirectory walks the FAT chain of the directory and the directory tree, and refuses,
// as file.corrupt, a directory that is cyclic, too large or nested too deeply. Structures it
// cannot follow (a bad sector size, a FAT that does not cover the directory) are left to mscfb,
// which reports them.
func checkOLEDirectory(r io.ReaderAt, size int64) error {
	corrupt := func(detail string) error {
		return newErr(validate.FileCorrupt, "the OLE compound file's directory "+detail, nil)
	}
	var hdr [512]byte
	if size < 512 {
		return nil
	}
	if _, err := r.ReadAt(hdr[:], 0); err != nil {
		return nil
	}
	le := binary.LittleEndian
	shift := le.Uint16(hdr[30:32])
	if shift != 9 && shift != 12 {
		return nil
	}
	sec := int64(1) << shift
	nSectors := size/sec + 1
	perFAT := sec / 4

	// FAT sector numbers: 109 in the header, the rest in the DIFAT chain.
	numFAT := int64(le.Uint32(hdr[44:48]))
	if numFAT > nSectors {
		return corrupt("declares more FAT sectors than the file holds")
	}
	fat := make([]uint32, 0, min(numFAT, 109))
	for i := 0; i < 109 && int64(len(fat)) < numFAT; i++ {
		fat = append(fat, le.Uint32(hdr[76+4*i:]))
	}
	difat := le.Uint32(hdr[68:72])
	buf := make([]byte, sec)
	for steps := int64(0); int64(len(fat)) < numFAT && difat <= oleMaxRegSect; steps++ {
		if steps > nSectors {
			return corrupt("has a cyclic DIFAT")
		}
		if _, err := r.ReadAt(buf, (int64(difat)+1)*sec); err != nil {
			return nil
		}
		for i := int64(0); i < perFAT-1 && int64(len(fat)) < numFAT; i++ {
			fat = append(fat, le.Uint32(buf[4*i:]))
		}
		difat = le.Uint32(buf[sec-4:])
	}
	next := func(s uint32) (uint32, bool) {
		idx := int64(s) / perFAT
		if idx >= int64(len(fat)) || fat[idx] > oleMaxRegSect {
			return 0, false
		}
		var b [4]byte
		if _, err := r.ReadAt(b[:], (int64(fat[idx])+1)*sec+(int64(s)%perFAT)*4); err != nil {
			return 0, false
		}
		return le.Uint32(b[:]), true
	}

	// The directory: its chain of sectors, each holding sec/128 entries.
	type entry struct{ left, right, child uint32 }
	var ents []entry
	allocated := 0
	for s, n := le.Uint32(hdr[48:52]), 0; s != oleEndOfChain; n++ {
		if s > oleMaxRegSect {
			return nil // mscfb reports a bad chain
		}
		if n >= maxOLEDirSectors || int64(n) > nSectors {
			return corrupt(fmt.Sprintf("has more than %d sectors (or a cyclic chain)", min(int64(maxOLEDirSectors), nSectors)))
		}
		if _, err := r.ReadAt(buf, (int64(s)+1)*sec); err != nil {
			return nil
		}
		for off := int64(0); off+128 <= sec; off += 128 {
			e := buf[off : off+128]
			if e[66] != 0 {
				allocated++
			}
			ents = append(ents, entry{le.Uint32(e[68:72]), le.Uint32(e[72:76]), le.Uint32(e[76:80])})
		}
		if allocated > maxOLEEntries {
			return corrupt(fmt.Sprintf("has more than %d entries", maxOLEEntries))
		}
		var ok bool
		if s, ok = next(s); !ok {
			return nil
		}
	}
	if len(ents) == 0 {
		return nil
	}

	// The tree from the root entry: siblings at the same depth, a child one level deeper.
	type item struct {
		id    uint32
		depth int
	}
	seen := make([]bool, len(ents))
	stack := []item{{0, 0}}
	for len(stack) > 0 {
		it := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if it.id == oleNoStream {
			continue
		}
		if int64(it.id) >= int64(len(ents)) {
			return corrupt("links to an entry that does not exist")
		}
		if seen[it.id] {
			return corrupt("is cyclic")
		}
		seen[it.id] = true
		if it.depth > maxOLEDepth {
			return corrupt(fmt.Sprintf("nests storages more than %d levels deep", maxOLEDepth))
		}
		e := ents[it.id]
		stack = append(stack, item{e.left, it.depth}, item{e.right, it.depth}, item{e.child, it.depth + 1})
	}
	return nil
}
