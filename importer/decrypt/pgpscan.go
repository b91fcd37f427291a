package decrypt

import (
	"fmt"

	"github.com/fhi/sysvak-import/validate"
)

// OpenPGP packet tags (RFC 9580 §5).
const (
	tagPKESK          = 1
	tagSKESK          = 3
	tagCompressed     = 8
	tagSED            = 9
	tagMarker         = 10
	tagLiteral        = 11
	tagSEIPD          = 18
	tagAEADEncrypted  = 20
	tagPadding        = 21
	maxSKESK          = 8
	maxPacketsScanned = 64
)

type pktHeader struct {
	tag       int
	bodyStart int   // offset of the first body byte (after the first length field)
	bodyLen   int64 // length of the first chunk (or of the whole body when !partial)
	partial   bool  // new-format partial body length: more chunks follow
	toEOF     bool  // old-format indeterminate length: the body runs to the end of the data
}

// parsePacketHeader parses the packet header at b[off:]. It reports false when the bytes are not
// a packet header or the header itself is cut short.
func parsePacketHeader(b []byte, off int) (pktHeader, bool) {
	if off >= len(b) || b[off]&0x80 == 0 {
		return pktHeader{}, false
	}
	c := b[off]
	if c&0x40 != 0 { // new format
		h := pktHeader{tag: int(c & 0x3f)}
		l, n, partial, ok := newLength(b, off+1)
		if !ok {
			return pktHeader{}, false
		}
		h.bodyStart, h.bodyLen, h.partial = off+1+n, l, partial
		return h, true
	}
	h := pktHeader{tag: int(c>>2) & 0x0f}
	switch c & 3 {
	case 0:
		if off+2 > len(b) {
			return pktHeader{}, false
		}
		h.bodyStart, h.bodyLen = off+2, int64(b[off+1])
	case 1:
		if off+3 > len(b) {
			return pktHeader{}, false
		}
		h.bodyStart, h.bodyLen = off+3, int64(b[off+1])<<8|int64(b[off+2])
	case 2:
		if off+5 > len(b) {
			return pktHeader{}, false
		}
		h.bodyStart = off + 5
		h.bodyLen = int64(b[off+1])<<24 | int64(b[off+2])<<16 | int64(b[off+3])<<8 | int64(b[off+4])
	case 3:
		h.bodyStart, h.toEOF = off+1, true
		h.bodyLen = int64(len(b) - off - 1)
	}
	return h, true
}

// newLength decodes a new-format length at b[off:]: (length, bytes used, partial, ok).
func newLength(b []byte, off int) (int64, int, bool, bool) {
	if off >= len(b) {
		return 0, 0, false, false
	}
	c := b[off]
	switch {
	case c < 192:
		return int64(c), 1, false, true
	case c < 224:
		if off+2 > len(b) {
			return 0, 0, false, false
		}
		return (int64(c)-192)<<8 + int64(b[off+1]) + 192, 2, false, true
	case c == 255:
		if off+5 > len(b) {
			return 0, 0, false, false
		}
		return int64(b[off+1])<<24 | int64(b[off+2])<<16 | int64(b[off+3])<<8 | int64(b[off+4]), 5, false, true
	}
	return int64(1) << (c & 0x1f), 1, true, true
}

// rawPacket is one packet of the outer sequence: its header and body as byte ranges of the
// message.
type rawPacket struct {
	tag    int
	start  int      // offset of the header
	end    int      // offset after the last body byte
	chunks [][2]int // body ranges [from, to)
}

// body returns up to n leading body bytes (all of them when n < 0).
func (p rawPacket) body(b []byte, n int) []byte {
	var out []byte
	for _, c := range p.chunks {
		out = append(out, b[c[0]:c[1]]...)
		if n >= 0 && len(out) >= n {
			return out[:n]
		}
	}
	return out
}

// pgpScan is the outcome of the pre-scan of a binary OpenPGP message.
type pgpScan struct {
	skesk    []rawPacket
	data     rawPacket // the encrypted data packet
	dataVer  int       // SEIPD version (1 or 2), 0 for other packets
	complete bool      // every length is consistent and the packets end exactly at the end of the data
}

// preScan walks the outer packets of a binary OpenPGP message without decrypting anything.
// It runs before go-crypto sees the message and refuses, with their own codes:
//   - a packet stream that is cut short or has impossible lengths (file.corrupt);
//   - data that is not integrity-protected, the RFC 2440 SED packet (file.integrity);
//   - S2K parameters beyond the limits, above all an Argon2 memory size that go-crypto v1.5.2
//     would allocate without a cap, up to 2 TiB, which the Go runtime cannot survive
//     (libraries.md §2.4) (file.too_large);
//   - messages that are not passphrase-encrypted (file.unsupported_format).
func preScan(b []byte, lim Limits) (*pgpScan, error) {
	s := &pgpScan{}
	var pkesk int
	var argon2Work uint64 // KiB × passes over all Argon2 passphrase packets
	off := 0
	for n := 0; off < len(b); n++ {
		if n >= maxPacketsScanned {
			return nil, newErr(validate.FileCorrupt, "the OpenPGP message has too many packets before its encrypted data", nil)
		}
		p, err := walkPacket(b, off)
		if err != nil {
			return nil, err
		}
		off = p.end
		switch p.tag {
		case tagMarker, tagPadding:
		case tagPKESK:
			pkesk++
		case tagSKESK:
			if len(s.skesk) >= maxSKESK {
				return nil, newErr(validate.FileTooLarge, fmt.Sprintf("the OpenPGP message has more than %d passphrase packets", maxSKESK), nil)
			}
			cost, err := checkSKESK(p.body(b, -1), lim)
			if err != nil {
				return nil, err
			}
			// Each passphrase packet is one key derivation per password tried (two when the
			// password is checked again after a failure). Together they may cost at most one
			// derivation at the limits, so that eight packets at the limit cannot take eight
			// times as long.
			argon2Work += cost
			if budget := uint64(lim.MaxArgon2MemoryKiB) * uint64(lim.MaxArgon2Passes); argon2Work > budget {
				return nil, newErr(validate.FileTooLarge, fmt.Sprintf("the OpenPGP message's passphrase packets together ask for %d MiB×passes of Argon2 work, above the limit of %d",
					argon2Work>>10, budget>>10), nil)
			}
			s.skesk = append(s.skesk, p)
		case tagSED:
			return nil, newErr(validate.FileIntegrity, "the OpenPGP message is not integrity-protected (old RFC 2440 format without MDC); encrypt it again with a current gpg", nil)
		case tagSEIPD, tagAEADEncrypted:
			s.data = p
			v := p.body(b, 1)
			if len(v) == 1 && p.tag == tagSEIPD {
				s.dataVer = int(v[0])
			}
			if p.tag == tagSEIPD && s.dataVer != 1 && s.dataVer != 2 {
				return nil, newErr(validate.FileUnsupportedFormat, fmt.Sprintf("an OpenPGP message with unknown encrypted-data version %d", s.dataVer), nil)
			}
			// Only padding may follow the encrypted data.
			for off < len(b) {
				q, err := walkPacket(b, off)
				if err != nil {
					return nil, err
				}
				if q.tag != tagPadding && q.tag != tagMarker {
					return nil, newErr(validate.FileCorrupt, "unexpected data after the OpenPGP encrypted data", nil)
				}
				off = q.end
			}
			s.complete = true
		case tagCompressed, tagLiteral, 4 /* one-pass signature */, 2 /* signature */ :
			return nil, newErr(validate.FileUnsupportedFormat, "an OpenPGP message that is not encrypted", nil)
		default:
			return nil, newErr(validate.FileCorrupt, fmt.Sprintf("unexpected OpenPGP packet (tag %d) before the encrypted data", p.tag), nil)
		}
		if s.complete {
			break
		}
	}
	if !s.complete {
		return nil, newErr(validate.FileCorrupt, "the OpenPGP message ends before its encrypted data (truncated)", nil)
	}
	if len(s.skesk) == 0 {
		if pkesk > 0 {
			return nil, newErr(validate.FileUnsupportedFormat, "an OpenPGP message encrypted to a public key; send it encrypted with a passphrase (gpg --symmetric)", nil)
		}
		return nil, newErr(validate.FileCorrupt, "the OpenPGP message has encrypted data but no passphrase packet", nil)
	}
	return s, nil
}

// walkPacket follows one packet (all its partial-length chunks) and checks it lies within b.
func walkPacket(b []byte, off int) (rawPacket, error) {
	truncated := newErr(validate.FileCorrupt, "the OpenPGP message is truncated or its packet lengths are inconsistent", nil)
	h, ok := parsePacketHeader(b, off)
	if !ok {
		if off < len(b) && b[off]&0x80 == 0 {
			return rawPacket{}, newErr(validate.FileCorrupt, "the OpenPGP message contains bytes that are not a packet", nil)
		}
		return rawPacket{}, truncated
	}
	p := rawPacket{tag: h.tag, start: off}
	pos, l, partial := h.bodyStart, h.bodyLen, h.partial
	for chunks := 0; ; chunks++ {
		if chunks > 1<<20 {
			return rawPacket{}, truncated
		}
		if l < 0 || int64(pos)+l > int64(len(b)) {
			return rawPacket{}, truncated
		}
		p.chunks = append(p.chunks, [2]int{pos, pos + int(l)})
		pos += int(l)
		if !partial {
			break
		}
		var n int
		l, n, partial, ok = newLength(b, pos)
		if !ok {
			return rawPacket{}, truncated
		}
		pos += n
	}
	p.end = pos
	return p, nil
}

// checkSKESK checks the S2K parameters of a symmetric-key encrypted session key packet body
// (RFC 9580 §5.3, §3.7.1) against the limits. It returns the Argon2 work of the packet (memory
// in KiB × passes; 0 for the other S2K types, whose cost is bounded by their format).
func checkSKESK(body []byte, lim Limits) (uint64, error) {
	bad := newErr(validate.FileCorrupt, "the OpenPGP passphrase packet is malformed", nil)
	if len(body) < 1 {
		return 0, bad
	}
	ver := body[0]
	i := 1
	switch ver {
	case 4:
		i++ // cipher
	case 5:
		i += 2 // cipher, AEAD mode
	case 6:
		i += 4 // count, cipher, AEAD mode, S2K length
	default:
		return 0, newErr(validate.FileUnsupportedFormat, fmt.Sprintf("an OpenPGP message with passphrase packet version %d", ver), nil)
	}
	if i >= len(body) {
		return 0, bad
	}
	switch body[i] {
	case 0, 1, 3: // simple, salted, iterated and salted: bounded cost (count ≤ 65,011,712)
		return 0, nil
	case 4: // Argon2: salt[16], passes, parallelism, memory exponent
		if i+1+16+3 > len(body) {
			return 0, bad
		}
		t, p, m := body[i+17], body[i+18], body[i+19]
		if t == 0 || p == 0 || m > 31 {
			return 0, bad
		}
		kib := uint64(1) << m
		if kib > uint64(lim.MaxArgon2MemoryKiB) {
			return 0, newErr(validate.FileTooLarge, fmt.Sprintf("the OpenPGP passphrase uses Argon2 with %d MiB of memory, above the limit of %d MiB", kib>>10, lim.MaxArgon2MemoryKiB>>10), nil)
		}
		if t > lim.MaxArgon2Passes {
			return 0, newErr(validate.FileTooLarge, fmt.Sprintf("the OpenPGP passphrase uses Argon2 with %d passes, above the limit of %d", t, lim.MaxArgon2Passes), nil)
		}
		return kib * uint64(t), nil
	case 101:
		return 0, newErr(validate.FileUnsupportedFormat, "an OpenPGP message with a GNU-dummy S2K (no passphrase)", nil)
	}
	return 0, newErr(validate.FileUnsupportedFormat, fmt.Sprintf("an OpenPGP message with unknown S2K type %d", body[i]), nil)
}
