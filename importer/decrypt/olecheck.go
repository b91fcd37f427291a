package decrypt

import (
	"encoding/binary"
	"errors"
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
	err := checkOLE(r, size)
	if err == errOLELeave {
		return nil
	}
	return err
}

// errOLELeave is returned inside the check for a structure it cannot follow, which mscfb
// then reports; checkOLEDirectory turns it into nil.
var errOLELeave = errors.New("left to mscfb")

// oleCorrupt is the file.corrupt error for a directory fault described by detail.
func oleCorrupt(detail string) error {
	return newErr(validate.FileCorrupt, "the OLE compound file's directory "+detail, nil)
}

// oleFile is what the check needs of a compound file: its sectors and its FAT sector numbers.
type oleFile struct {
	r        io.ReaderAt
	sec      int64 // sector size
	nSectors int64 // an upper bound on the sectors the file holds
	perFAT   int64 // FAT entries per FAT sector
	fat      []uint32
	buf      []byte // one sector
}

// oleDirEntry is the tree links of a directory entry.
type oleDirEntry struct{ left, right, child uint32 }

// checkOLE is checkOLEDirectory, with errOLELeave for what it leaves to mscfb: the header
// gives the sector size, then the FAT, the directory chain and the tree are checked in turn.
func checkOLE(r io.ReaderAt, size int64) error {
	var hdr [512]byte
	if size < 512 {
		return errOLELeave
	}
	if _, err := r.ReadAt(hdr[:], 0); err != nil {
		return errOLELeave
	}
	shift := binary.LittleEndian.Uint16(hdr[30:32])
	if shift != 9 && shift != 12 {
		return errOLELeave
	}
	sec := int64(1) << shift
	f := &oleFile{r: r, sec: sec, nSectors: size/sec + 1, perFAT: sec / 4, buf: make([]byte, sec)}
	if err := f.readFAT(&hdr); err != nil {
		return err
	}
	ents, err := f.readDirectory(binary.LittleEndian.Uint32(hdr[48:52]))
	if err != nil {
		return err
	}
	if len(ents) == 0 {
		return errOLELeave
	}
	return checkOLETree(ents)
}

// readFAT collects the FAT sector numbers: 109 in the header, the rest in the DIFAT chain.
func (f *oleFile) readFAT(hdr *[512]byte) error {
	le := binary.LittleEndian
	numFAT := int64(le.Uint32(hdr[44:48]))
	if numFAT > f.nSectors {
		return oleCorrupt("declares more FAT sectors than the file holds")
	}
	f.fat = make([]uint32, 0, min(numFAT, 109))
	for i := 0; i < 109 && int64(len(f.fat)) < numFAT; i++ {
		f.fat = append(f.fat, le.Uint32(hdr[76+4*i:]))
	}
	difat := le.Uint32(hdr[68:72])
	for steps := int64(0); int64(len(f.fat)) < numFAT && difat <= oleMaxRegSect; steps++ {
		if steps > f.nSectors {
			return oleCorrupt("has a cyclic DIFAT")
		}
		if _, err := f.r.ReadAt(f.buf, (int64(difat)+1)*f.sec); err != nil {
			return errOLELeave
		}
		for i := int64(0); i < f.perFAT-1 && int64(len(f.fat)) < numFAT; i++ {
			f.fat = append(f.fat, le.Uint32(f.buf[4*i:]))
		}
		difat = le.Uint32(f.buf[f.sec-4:])
	}
	return nil
}

// next is the sector after s in its FAT chain; false if the FAT does not say.
func (f *oleFile) next(s uint32) (uint32, bool) {
	idx := int64(s) / f.perFAT
	if idx >= int64(len(f.fat)) || f.fat[idx] > oleMaxRegSect {
		return 0, false
	}
	var b [4]byte
	if _, err := f.r.ReadAt(b[:], (int64(f.fat[idx])+1)*f.sec+(int64(s)%f.perFAT)*4); err != nil {
		return 0, false
	}
	return binary.LittleEndian.Uint32(b[:]), true
}

// readDirectory reads the directory's chain of sectors from start, each holding sec/128
// entries, refusing a chain or an entry count over the limits.
func (f *oleFile) readDirectory(start uint32) ([]oleDirEntry, error) {
	le := binary.LittleEndian
	var ents []oleDirEntry
	allocated := 0
	for s, n := start, 0; s != oleEndOfChain; n++ {
		if s > oleMaxRegSect {
			return nil, errOLELeave // mscfb reports a bad chain
		}
		if n >= maxOLEDirSectors || int64(n) > f.nSectors {
			return nil, oleCorrupt(fmt.Sprintf("has more than %d sectors (or a cyclic chain)", min(int64(maxOLEDirSectors), f.nSectors)))
		}
		if _, err := f.r.ReadAt(f.buf, (int64(s)+1)*f.sec); err != nil {
			return nil, errOLELeave
		}
		for off := int64(0); off+128 <= f.sec; off += 128 {
			e := f.buf[off : off+128]
			if e[66] != 0 {
				allocated++
			}
			ents = append(ents, oleDirEntry{le.Uint32(e[68:72]), le.Uint32(e[72:76]), le.Uint32(e[76:80])})
		}
		if allocated > maxOLEEntries {
			return nil, oleCorrupt(fmt.Sprintf("has more than %d entries", maxOLEEntries))
		}
		var ok bool
		if s, ok = f.next(s); !ok {
			return nil, errOLELeave
		}
	}
	return ents, nil
}

// checkOLETree walks the tree from the root entry (siblings at the same depth, a child one
// level deeper), refusing a link to a missing entry, a cycle or too deep a nesting.
func checkOLETree(ents []oleDirEntry) error {
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
			return oleCorrupt("links to an entry that does not exist")
		}
		if seen[it.id] {
			return oleCorrupt("is cyclic")
		}
		seen[it.id] = true
		if it.depth > maxOLEDepth {
			return oleCorrupt(fmt.Sprintf("nests storages more than %d levels deep", maxOLEDepth))
		}
		e := ents[it.id]
		stack = append(stack, item{e.left, it.depth}, item{e.right, it.depth}, item{e.child, it.depth + 1})
	}
	return nil
}
