package decrypt

import (
	"errors"
	"fmt"
	"io"

	"github.com/richardlehane/mscfb"

	"github.com/fhi/sysvak-import/validate"
)

// oleNames lists the names of the entries of an OLE compound file (stream and storage names).
func oleNames(r io.ReaderAt, size int64) (names map[string]int64, err error) {
	defer func() {
		if p := recover(); p != nil {
			names, err = nil, newErr(validate.FileCorrupt, "the OLE compound file could not be parsed", errors.New("panic in CFB parser"))
		}
	}()
	if err := checkOLEDirectory(r, size); err != nil {
		return nil, err
	}
	doc, err := mscfb.New(io.NewSectionReader(r, 0, size))
	if err != nil {
		return nil, newErr(validate.FileCorrupt, "the OLE compound file (Office container) is damaged or truncated", err)
	}
	names = map[string]int64{}
	for i := 0; ; i++ {
		e, err := doc.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, newErr(validate.FileCorrupt, "the OLE directory is damaged", err)
		}
		if i > 10000 {
			return nil, newErr(validate.FileCorrupt, "the OLE directory has too many entries", nil)
		}
		names[e.Name] = e.Size
	}
	return names, nil
}

// oleStreams reads the EncryptionInfo and EncryptedPackage streams of an encrypted Office file.
// A stream whose declared size exceeds the file size (or max) is refused before it is read.
func oleStreams(r io.ReaderAt, size, max int64) (info, pkg []byte, err error) {
	defer func() {
		if p := recover(); p != nil {
			info, pkg, err = nil, nil, newErr(validate.FileCorrupt, "the OLE compound file could not be parsed", errors.New("panic in CFB parser"))
		}
	}()
	if err := checkOLEDirectory(r, size); err != nil {
		return nil, nil, err
	}
	doc, err := mscfb.New(io.NewSectionReader(r, 0, size))
	if err != nil {
		return nil, nil, newErr(validate.FileCorrupt, "the OLE compound file (Office container) is damaged or truncated", err)
	}
	for i := 0; ; i++ {
		e, err := doc.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, nil, newErr(validate.FileCorrupt, "the OLE directory is damaged", err)
		}
		if i > 10000 {
			return nil, nil, newErr(validate.FileCorrupt, "the OLE directory has too many entries", nil)
		}
		if e.Name != "EncryptionInfo" && e.Name != "EncryptedPackage" {
			continue
		}
		if e.Size < 0 || e.Size > size || e.Size > max {
			return nil, nil, newErr(validate.FileCorrupt, fmt.Sprintf("the %s stream declares %d bytes, more than the file holds", e.Name, e.Size), nil)
		}
		buf := make([]byte, e.Size)
		if err := readStream(e, buf); err != nil {
			return nil, nil, newErr(validate.FileCorrupt, "the "+e.Name+" stream is truncated", err)
		}
		if e.Name == "EncryptionInfo" {
			info = buf
		} else {
			pkg = buf
		}
	}
	if info == nil || pkg == nil {
		return nil, nil, newErr(validate.FileCorrupt, "the encrypted Office file lacks its EncryptionInfo or EncryptedPackage stream", nil)
	}
	return info, pkg, nil
}

// readStream fills buf from a CFB stream in 64 KiB steps: mscfb merges the sector list of each
// Read with a quadratic loop, which costs seconds for one 10 MB read but nothing for small ones.
func readStream(r io.Reader, buf []byte) error {
	const step = 64 << 10
	for off := 0; off < len(buf); {
		n, err := r.Read(buf[off:min(off+step, len(buf))])
		off += n
		if err != nil && !(errors.Is(err, io.EOF) && off == len(buf)) {
			return err
		}
		if n == 0 && err == nil {
			return io.ErrNoProgress
		}
	}
	return nil
}
