// Package officekdf is the ECMA-376 password hash that Office document encryption derives its
// keys from ([MS-OFFCRYPTO] 2.3.4.7 standard, 2.3.4.11 agile). It is a leaf package so that the
// decryptor (importer/decrypt) and the fixture generator (fixtures/hostile, which
// importer/decrypt's tests import) share one copy.
package officekdf

import (
	"context"
	"encoding/binary"
	"hash"
	"unicode/utf16"
)

// UTF16LE is password (UTF-8) as UTF-16LE, as the key derivation hashes it.
func UTF16LE(password []byte) []byte {
	u := utf16.Encode([]rune(string(password)))
	b := make([]byte, 2*len(u))
	for i, c := range u {
		binary.LittleEndian.PutUint16(b[2*i:], c)
	}
	return b
}

// SpinHash is H0 = H(salt + password as UTF-16LE), then Hn = H(iterator as little-endian uint32 +
// Hn-1) for n in 0..spinCount-1; it returns the last hash. h is reset and used (the caller may
// go on using it after a Reset). It stops with ctx's error when ctx ends, checked every 16384
// rounds. The UTF-16 copy of the password is wiped; the caller wipes the result.
func SpinHash(ctx context.Context, h hash.Hash, salt, password []byte, spinCount int) ([]byte, error) {
	u := UTF16LE(password)
	defer wipe(u)
	h.Reset()
	h.Write(salt)
	h.Write(u)
	hv := h.Sum(nil)
	var it [4]byte
	for i := 0; i < spinCount; i++ {
		if i&0x3fff == 0 {
			if err := ctx.Err(); err != nil {
				wipe(hv)
				return nil, err
			}
		}
		binary.LittleEndian.PutUint32(it[:], uint32(i))
		h.Reset()
		h.Write(it[:])
		h.Write(hv)
		hv = h.Sum(hv[:0])
	}
	return hv, nil
}

func wipe(b []byte) {
	for i := range b {
		b[i] = 0
	}
}
