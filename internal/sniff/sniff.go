// Package sniff holds the magic bytes that say what a file is, shared by the mailbox's attachment
// sniffer (mailbox/mime.MagicSniffer, which must not import importer or validate) and the
// pipeline's container sniffer (importer/decrypt.Sniff, which names the file for the sender). It
// is a leaf package: each caller keeps its own verdicts; only the signatures live here.
package sniff

// File signatures (leading bytes).
const (
	ZIP        = "PK\x03\x04" // local file header: .xlsx, .ods, any zip
	ZIPEmpty   = "PK\x05\x06" // end of central directory first: an empty zip
	ZIPSpanned = "PK\x07\x08" // spanned/split zip marker
	OLE        = "\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1"
	PDF        = "%PDF-"
	PNG        = "\x89PNG\r\n\x1a\n"
	JPEG       = "\xFF\xD8\xFF"
	RAR        = "Rar!\x1a\x07"
	SevenZip   = "7z\xBC\xAF\x27\x1C"
	Gzip       = "\x1f\x8b"
	RTF        = "{\\rtf"
	UTF8BOM    = "\xEF\xBB\xBF"

	// PGPMessage begins an ASCII-armored OpenPGP message (after optional BOM and white space).
	PGPMessage = "-----BEGIN PGP MESSAGE-----"
)
