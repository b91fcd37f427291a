package mime

import (
	"bytes"
	"unicode/utf8"

	"github.com/fhi/sysvak-import/internal/sniff"
)

// Sniffer decides by content whether a part is taken. head holds the first bytes of the decoded
// part (up to HeadSize; fewer when the part is shorter). what names what the content looks like
// ("zip", "ole", "openpgp", "pdf", ...) for the entry or the rejection reason.
type Sniffer func(head []byte) (ok bool, what string)

// HeadSize is how many leading bytes a Sniffer is shown.
const HeadSize = 512

var (
	magicZIP   = []byte(sniff.ZIP)
	magicOLE   = []byte(sniff.OLE)
	armorPGP   = []byte(sniff.PGPMessage)
	magicPDF   = []byte(sniff.PDF)
	magicPNG   = []byte(sniff.PNG)
	magicJPEG  = []byte(sniff.JPEG)
	magicGIF   = []byte("GIF8")
	magicRAR   = []byte(sniff.RAR)
	magic7z    = []byte(sniff.SevenZip)
	magicGzip  = []byte(sniff.Gzip)
	utf8BOM    = []byte(sniff.UTF8BOM)
	emptyZIP   = []byte(sniff.ZIPEmpty)
	spannedZIP = []byte(sniff.ZIPSpanned)
)

// MagicSniffer takes what the pipeline can read: a ZIP container (an .xlsx, or something the
// decrypt stage will name and reject), an OLE compound file (an encrypted workbook, or legacy
// .xls which the pipeline rejects with its own code) and an OpenPGP message (binary packets
// starting with a session-key packet, or ASCII armor). The decrypt package's container sniffer
// is the authoritative one; this is the mailbox's default.
func MagicSniffer(head []byte) (bool, string) {
	what := Describe(head)
	switch what {
	case "zip", "ole", "openpgp":
		return true, what
	}
	return false, what
}

// Describe names what leading bytes look like, for reports ("pdf", "png", "text", ...).
func Describe(head []byte) string {
	switch {
	case len(head) == 0:
		return "empty"
	case bytes.HasPrefix(head, magicZIP), bytes.HasPrefix(head, emptyZIP), bytes.HasPrefix(head, spannedZIP):
		return "zip"
	case bytes.HasPrefix(head, magicOLE):
		return "ole"
	case isOpenPGPBinary(head):
		return "openpgp"
	case bytes.HasPrefix(bytes.TrimLeft(bytes.TrimPrefix(head, utf8BOM), " \t\r\n"), armorPGP):
		return "openpgp"
	case bytes.HasPrefix(head, magicPDF):
		return "pdf"
	case bytes.HasPrefix(head, magicPNG):
		return "png"
	case bytes.HasPrefix(head, magicJPEG):
		return "jpeg"
	case bytes.HasPrefix(head, magicGIF):
		return "gif"
	case bytes.HasPrefix(head, magicRAR):
		return "rar"
	case bytes.HasPrefix(head, magic7z):
		return "7z"
	case bytes.HasPrefix(head, magicGzip):
		return "gzip"
	}
	t := bytes.ToLower(bytes.TrimLeft(bytes.TrimPrefix(head, utf8BOM), " \t\r\n"))
	switch {
	case bytes.HasPrefix(t, []byte("<!doctype html")), bytes.HasPrefix(t, []byte("<html")):
		return "html"
	case bytes.HasPrefix(t, []byte("<?xml")):
		return "xml"
	case bytes.HasPrefix(t, []byte(sniff.RTF)):
		return "rtf"
	}
	if utf8.Valid(head) && bytes.IndexByte(head, 0) < 0 {
		return "text"
	}
	return "unknown"
}

// isOpenPGPBinary recognises the first packet of a binary OpenPGP message: a public-key (tag 1)
// or symmetric-key (tag 3) encrypted session key, in old or new packet format (RFC 9580 §4.2),
// followed by a plausible version byte.
func isOpenPGPBinary(h []byte) bool {
	if len(h) < 3 {
		return false
	}
	b := h[0]
	var tag byte
	var body []byte
	switch {
	case b&0xC0 == 0xC0: // new format
		tag = b & 0x3F
		switch l := h[1]; {
		case l < 192:
			body = h[2:]
		case l < 224:
			if len(h) < 4 {
				return false
			}
			body = h[3:]
		case l == 255:
			if len(h) < 7 {
				return false
			}
			body = h[6:]
		default:
			return false // partial lengths are not allowed for ESK packets
		}
	case b&0xC0 == 0x80: // old format
		tag = (b >> 2) & 0x0F
		switch b & 3 {
		case 0:
			body = h[2:]
		case 1:
			if len(h) < 4 {
				return false
			}
			body = h[3:]
		case 2:
			if len(h) < 6 {
				return false
			}
			body = h[5:]
		default:
			return false
		}
	default:
		return false
	}
	if len(body) == 0 {
		return false
	}
	switch tag {
	case 1: // PKESK v3 or v6
		return body[0] == 3 || body[0] == 6
	case 3: // SKESK v4, v5 or v6
		return body[0] == 4 || body[0] == 5 || body[0] == 6
	}
	return false
}
