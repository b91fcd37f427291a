package decrypt

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/fhi/sysvak-import/internal/sniff"
	"github.com/fhi/sysvak-import/validate"
)

// Kind is what a received file is, as far as this stage cares.
type Kind int

const (
	// Unsupported is anything that is not one of the kinds below (Format.What says what it is).
	Unsupported Kind = iota
	// PlainWorkbook is an unencrypted Office Open XML workbook (.xlsx, .xlsm): a zip with
	// xl/workbook.xml.
	PlainWorkbook
	// OfficeEncrypted is an ECMA-376 password-encrypted Office file: an OLE compound file with
	// an EncryptionInfo stream.
	OfficeEncrypted
	// LegacyXLS is an OLE compound file without EncryptionInfo: an Excel 97-2003 .xls
	// (file.legacy_xls).
	LegacyXLS
	// OpenPGP is an OpenPGP message, binary or ASCII-armored.
	OpenPGP
)

func (k Kind) String() string {
	switch k {
	case PlainWorkbook:
		return "plain-workbook"
	case OfficeEncrypted:
		return "office-encrypted"
	case LegacyXLS:
		return "legacy-xls"
	case OpenPGP:
		return "openpgp"
	}
	return "unsupported"
}

// Format is the verdict of Sniff or Detect: the Kind, a short English description of what the
// file looks like ("a PDF document", "an OpenDocument spreadsheet (.ods)") for logs and details,
// and its Type, a stable key ("pdf", "ods", "csv", "empty", ...) that the file-level finding
// carries (validate.Args "what") and validate.FileTypeName names in the reader's language.
type Format struct {
	Kind Kind
	What string
	Type string
}

// Code returns the file-level code to report for a format that cannot be processed
// (file.legacy_xls, file.unsupported_format), or "" for the kinds Unwrap accepts.
func (f Format) Code() validate.Code {
	switch f.Kind {
	case LegacyXLS:
		return validate.FileLegacyXLS
	case Unsupported:
		return validate.FileUnsupportedFormat
	}
	return ""
}

var (
	magicZip      = []byte(sniff.ZIP)
	magicZipEmpty = []byte(sniff.ZIPEmpty)
	magicOLE      = []byte(sniff.OLE)
	armorMessage  = []byte(sniff.PGPMessage)
	armorAny      = []byte("-----BEGIN PGP ")
)

// SniffLen is how many leading bytes Sniff looks at; give it at least this many when the file
// is that long.
const SniffLen = 4096

// Sniff guesses the format from the first bytes of a file (SniffLen is enough). It cannot tell an
// .xlsx from another zip unless the first entry gives it away, nor always an encrypted OLE file
// from a .xls: Detect, which reads the zip central directory or the OLE directory, is
// authoritative.
func Sniff(head []byte) Format {
	if len(head) == 0 {
		return Format{Unsupported, "an empty file", "empty"}
	}
	switch {
	case bytes.HasPrefix(head, magicZip):
		return sniffZipHead(head)
	case bytes.HasPrefix(head, magicZipEmpty):
		return Format{Unsupported, "an empty ZIP archive", "zip-empty"}
	case bytes.HasPrefix(head, magicOLE):
		return sniffOLEHead(head)
	}
	if looksLikePGPBinary(head) {
		return Format{OpenPGP, "an OpenPGP message", "openpgp"}
	}
	if f, ok := sniffMagic(head); ok {
		return f
	}
	return sniffText(head)
}

func sniffMagic(head []byte) (Format, bool) {
	table := []struct {
		magic, what, typ string
	}{
		{sniff.PDF, "a PDF document", "pdf"},
		{sniff.PNG, "a PNG image", "image"},
		{sniff.JPEG, "a JPEG image", "image"},
		{"GIF87a", "a GIF image", "image"},
		{"GIF89a", "a GIF image", "image"},
		{"II*\x00", "a TIFF image", "image"},
		{"MM\x00*", "a TIFF image", "image"},
		{"BM", "", ""}, // too short to trust alone; see below
		{sniff.Gzip, "a gzip-compressed file", "archive"},
		{sniff.SevenZip, "a 7-Zip archive", "archive"},
		{sniff.RAR, "a RAR archive", "archive"},
		{sniff.RTF, "an RTF document", "rtf"},
		{"\x00\x00\x02\x00\x06\x04\x06\x00", "a Lotus 1-2-3 spreadsheet", "lotus"},
		{"\x09\x08\x10\x00\x00\x06\x05\x00", "an Excel 2.x-4.x worksheet (BIFF): ask for .xlsx", "biff"},
	}
	for _, m := range table {
		if m.what != "" && bytes.HasPrefix(head, []byte(m.magic)) {
			return Format{Unsupported, m.what, m.typ}, true
		}
	}
	return Format{}, false
}

// sniffZipHead looks at the first local file header: OpenDocument files start with an
// uncompressed "mimetype" entry.
func sniffZipHead(head []byte) Format {
	if len(head) >= 30 {
		nameLen := int(head[26]) | int(head[27])<<8
		extraLen := int(head[28]) | int(head[29])<<8
		if 30+nameLen <= len(head) {
			name := string(head[30 : 30+nameLen])
			if name == "mimetype" && head[8] == 0 && head[9] == 0 { // stored
				start := 30 + nameLen + extraLen
				size := int(head[18]) | int(head[19])<<8 | int(head[20])<<16 | int(head[21])<<24
				if start < len(head) {
					c := head[start:min(len(head), start+200)]
					if size > 0 && size < len(c) {
						c = c[:size]
					} else if i := bytes.Index(c, []byte("PK")); i >= 0 { // size in a data descriptor
						c = c[:i]
					}
					return describeMimetype(string(c))
				}
			}
		}
	}
	return Format{PlainWorkbook, "a ZIP container (probably an .xlsx workbook)", "xlsx"}
}

func describeMimetype(mt string) Format {
	mt = strings.TrimSpace(mt)
	switch {
	case mt == "application/vnd.oasis.opendocument.spreadsheet":
		return Format{Unsupported, "an OpenDocument spreadsheet (.ods, zip with mimetype " + mt + "): save it as .xlsx", "ods"}
	case mt == "application/vnd.oasis.opendocument.text":
		return Format{Unsupported, "an OpenDocument text document (.odt)", "odt"}
	case strings.HasPrefix(mt, "application/vnd.oasis.opendocument."):
		return Format{Unsupported, "an OpenDocument file (" + printable(mt) + ")", "opendocument"}
	case mt == "application/epub+zip":
		return Format{Unsupported, "an EPUB e-book", "epub"}
	}
	return Format{Unsupported, "a ZIP archive with mimetype " + printable(mt) + " (not a workbook)", "zip"}
}

// printable keeps a short, safe excerpt of file-controlled text for a description.
func printable(s string) string {
	var b strings.Builder
	for _, r := range s {
		if b.Len() >= 60 {
			b.WriteString("...")
			break
		}
		if r < 0x20 || r == 0x7f || r == utf8.RuneError {
			r = '?'
		}
		b.WriteRune(r)
	}
	return b.String()
}

// utf16Name encodes an OLE directory entry name as it appears on disk.
func utf16Name(s string) []byte {
	b := make([]byte, 0, 2*len(s))
	for i := 0; i < len(s); i++ {
		b = append(b, s[i], 0)
	}
	return b
}

func sniffOLEHead(head []byte) Format {
	switch {
	case bytes.Contains(head, utf16Name("EncryptionInfo")):
		return Format{OfficeEncrypted, "a password-encrypted Office file", "office-encrypted"}
	case bytes.Contains(head, utf16Name("WordDocument")):
		return Format{Unsupported, "a Word 97-2003 document (.doc)", "doc"}
	case bytes.Contains(head, utf16Name("Workbook")), bytes.Contains(head, utf16Name("Book\x00")):
		return Format{LegacyXLS, "an Excel 97-2003 workbook (.xls): save it as .xlsx", "xls"}
	}
	// The directory is not in the head. Most OLE files sent here are encrypted workbooks, and
	// taking one for a .xls would reject it, so lean that way; Detect reads the directory.
	return Format{OfficeEncrypted, "an OLE compound file (an encrypted Office file or an Excel 97-2003 .xls)", "office-encrypted"}
}

func sniffText(head []byte) Format {
	switch {
	case bytes.HasPrefix(head, []byte{0xFF, 0xFE}), bytes.HasPrefix(head, []byte{0xFE, 0xFF}):
		return Format{Unsupported, "UTF-16 text (perhaps a CSV or tab-separated export): save it as .xlsx", "utf16-text"}
	}
	t := bytes.TrimPrefix(head, []byte(sniff.UTF8BOM))
	t = bytes.TrimLeft(t, " \t\r\n\f\v")
	if bytes.HasPrefix(t, armorMessage) {
		return Format{OpenPGP, "an ASCII-armored OpenPGP message", "openpgp"}
	}
	if bytes.HasPrefix(t, armorAny) {
		return Format{Unsupported, "an OpenPGP key or signature (not an encrypted message)", "pgp-key"}
	}
	lower := bytes.ToLower(t[:min(len(t), 512)])
	switch {
	case bytes.HasPrefix(lower, []byte("<!doctype html")), bytes.HasPrefix(lower, []byte("<html")):
		return Format{Unsupported, "an HTML page (perhaps an Excel \"web page\" export): save it as .xlsx", "html"}
	case bytes.HasPrefix(lower, []byte("<?xml")):
		if bytes.Contains(head, []byte("urn:schemas-microsoft-com:office:spreadsheet")) {
			return Format{Unsupported, "an Excel 2003 XML spreadsheet: save it as .xlsx", "excel-xml"}
		}
		return Format{Unsupported, "an XML document", "xml"}
	}
	if !isMostlyText(head) {
		return Format{Unsupported, "an unrecognised binary file", "binary"}
	}
	if len(t) == 0 {
		return Format{Unsupported, "a text file with only blank space", "blank-text"}
	}
	first := t
	if i := bytes.IndexByte(first, '\n'); i >= 0 {
		first = first[:i]
	}
	if bytes.ContainsAny(first, ";,\t") {
		return Format{Unsupported, "a CSV or other delimited text file: save it as .xlsx", "csv"}
	}
	return Format{Unsupported, "a text file", "text"}
}

// isMostlyText reports whether the sample has no control characters other than white space. It
// accepts UTF-8 and single-byte encodings alike (Latin-1 CSV exports are common).
func isMostlyText(b []byte) bool {
	for _, c := range b[:min(len(b), 1024)] {
		if c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != '\f' {
			return false
		}
	}
	return true
}

// looksLikePGPBinary checks the first packet header and the first body bytes of a binary
// OpenPGP message.
func looksLikePGPBinary(b []byte) bool {
	h, ok := parsePacketHeader(b, 0)
	if !ok || h.bodyStart >= len(b) {
		return false
	}
	v := b[h.bodyStart]
	switch h.tag {
	case tagPKESK:
		return v == 3 || v == 6
	case tagSKESK:
		return v == 4 || v == 5 || v == 6
	case tagSEIPD:
		return v == 1 || v == 2
	case tagCompressed:
		return v <= 3
	case tagLiteral:
		return bytes.IndexByte([]byte("btu1lm"), v) >= 0
	case tagSED, tagAEADEncrypted:
		return h.tag == tagSED && h.bodyLen >= 18 || h.tag == tagAEADEncrypted && v == 1
	}
	return false
}

// Detect reads as much of the file as it needs (the head, the zip central directory or the OLE
// directory) to say what it is. It returns a *Error only when the container is damaged
// (file.corrupt) or cannot be read; an unsupported but intact file is a Format with Kind
// Unsupported and a nil error.
func Detect(ctx context.Context, r io.ReaderAt, size int64) (f Format, err error) {
	defer func() {
		if p := recover(); p != nil {
			f, err = Format{}, newErr(validate.FileCorrupt, "the container could not be parsed", errors.New("panic in container parser"))
		}
	}()
	if err := ctx.Err(); err != nil {
		return Format{}, err
	}
	head := make([]byte, min(size, SniffLen))
	if _, err := r.ReadAt(head, 0); err != nil && !errors.Is(err, io.EOF) {
		return Format{}, fmt.Errorf("decrypt: read head: %w", err)
	}
	f = Sniff(head)
	switch {
	case bytes.HasPrefix(head, magicZip):
		if f.Kind == Unsupported { // OpenDocument found from the head
			return f, nil
		}
		return detectZip(r, size)
	case bytes.HasPrefix(head, magicOLE):
		return detectOLE(r, size)
	}
	return f, nil
}

func detectZip(r io.ReaderAt, size int64) (Format, error) {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return Format{}, newErr(validate.FileCorrupt, "the file starts like a ZIP/.xlsx but its directory is damaged or truncated", err)
	}
	names := make(map[string]*zip.File, len(zr.File))
	nested := 0
	for _, zf := range zr.File {
		n := strings.ToLower(zf.Name)
		names[n] = zf
		if strings.HasSuffix(n, ".xlsx") || strings.HasSuffix(n, ".xlsm") || strings.HasSuffix(n, ".xls") {
			nested++
		}
	}
	switch {
	case names["xl/workbook.xml"] != nil:
		return Format{PlainWorkbook, "an Office Open XML workbook", "xlsx"}, nil
	case names["mimetype"] != nil:
		mt, err := readSmall(names["mimetype"], 200)
		if err != nil {
			return Format{}, newErr(validate.FileCorrupt, "the ZIP entry mimetype cannot be read", err)
		}
		return describeMimetype(mt), nil
	case names["xl/workbook.bin"] != nil:
		return Format{Unsupported, "an Excel binary workbook (.xlsb): save it as .xlsx", "xlsb"}, nil
	case names["word/document.xml"] != nil:
		return Format{Unsupported, "a Word document (.docx), not a workbook", "docx"}, nil
	case names["ppt/presentation.xml"] != nil:
		return Format{Unsupported, "a PowerPoint presentation (.pptx), not a workbook", "pptx"}, nil
	case names["[content_types].xml"] != nil:
		return Format{Unsupported, "an Office Open XML package that is not a workbook", "ooxml"}, nil
	case nested > 0:
		return Format{Unsupported, fmt.Sprintf("a ZIP archive of %d files with a workbook inside: send the workbook itself", len(zr.File)), "zip-workbook"}, nil
	}
	return Format{Unsupported, fmt.Sprintf("a ZIP archive of %d files (not a workbook)", len(zr.File)), "zip"}, nil
}

func readSmall(zf *zip.File, n int64) (string, error) {
	rc, err := zf.Open()
	if err != nil {
		return "", err
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, n))
	return string(b), err
}

func detectOLE(r io.ReaderAt, size int64) (Format, error) {
	names, err := oleNames(r, size)
	if err != nil {
		return Format{}, err
	}
	has := func(n string) bool { _, ok := names[n]; return ok }
	switch {
	case has("EncryptionInfo") && has("EncryptedPackage"):
		return Format{OfficeEncrypted, "a password-encrypted Office file", "office-encrypted"}, nil
	case has("EncryptionInfo"):
		return Format{OfficeEncrypted, "a password-encrypted Office file without its encrypted package", "office-encrypted"}, nil
	case has("WordDocument"):
		return Format{Unsupported, "a Word 97-2003 document (.doc)", "doc"}, nil
	case has("PowerPoint Document"):
		return Format{Unsupported, "a PowerPoint 97-2003 presentation (.ppt)", "ppt"}, nil
	case has("Workbook"), has("Book"):
		return Format{LegacyXLS, "an Excel 97-2003 workbook (.xls): save it as .xlsx", "xls"}, nil
	}
	// Neither a workbook stream nor an encrypted package: calling it an .xls would send the
	// sender looking for the wrong fix.
	return Format{Unsupported, fmt.Sprintf("an OLE compound file with %d entries and no Excel workbook or encrypted package in it", len(names)), "ole"}, nil
}
