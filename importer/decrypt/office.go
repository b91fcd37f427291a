package decrypt

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"encoding/xml"
	"errors"
	"fmt"
	"hash"
	"strings"

	"github.com/fhi/sysvak-import/internal/officekdf"
	"github.com/fhi/sysvak-import/validate"
)

// ECMA-376 document encryption ([MS-OFFCRYPTO] 2.3.4). excelize decrypts both variants but does
// not check the password verifier nor the agile HMAC (libraries.md §1.2), so that a wrong
// password and a damaged file look alike. This file therefore implements the key derivation, the
// verifier check, the data-integrity HMAC and the package decryption itself; the tests prove
// that its output equals excelize.Decrypt's on every fixture.

// Block keys of [MS-OFFCRYPTO] 2.3.4.13 and 2.3.4.14.
var (
	bkVerifierInput = []byte{0xfe, 0xa7, 0xd2, 0x76, 0x3b, 0x4b, 0x9e, 0x79}
	bkVerifierValue = []byte{0xd7, 0xaa, 0x0f, 0x6d, 0x30, 0x61, 0x34, 0x4e}
	bkKeyValue      = []byte{0x14, 0x6e, 0x0b, 0xe7, 0xab, 0xac, 0xd0, 0xd6}
	bkHmacKey       = []byte{0x5f, 0xb2, 0xad, 0x01, 0x0c, 0xb9, 0xe1, 0xf6}
	bkHmacValue     = []byte{0xa0, 0x67, 0x7f, 0x02, 0xb2, 0x2c, 0x84, 0x33}
)

const (
	layerOfficeAgile    = "office-agile"
	layerOfficeStandard = "office-standard"
	officeChunk         = 4096
	maxEncryptionInfo   = 1 << 20
)

// officeScheme is a parsed EncryptionInfo stream, ready to try passwords on.
type officeScheme interface {
	layer() string
	// packageKey derives the key from the password and checks it against the verifier. It
	// returns errWrongPassword when the verifier does not match.
	packageKey(ctx context.Context, pw []byte) ([]byte, error)
	// decryptPackage checks integrity (where the format has it) and decrypts the
	// EncryptedPackage stream.
	decryptPackage(key, pkg []byte, lim Limits) ([]byte, error)
}

var errWrongPassword = errors.New("the password does not match the file's verifier")

func parseOfficeScheme(info []byte, lim Limits) (officeScheme, error) {
	if len(info) < 8 || len(info) > maxEncryptionInfo {
		return nil, newErr(validate.FileCorrupt, "the EncryptionInfo stream has an impossible size", nil)
	}
	major, minor := binary.LittleEndian.Uint16(info[0:2]), binary.LittleEndian.Uint16(info[2:4])
	switch {
	case major == 4 && minor == 4:
		return parseAgile(info[8:], lim)
	case major >= 2 && major <= 4 && minor == 2:
		return parseStandard(info)
	case (major == 3 || major == 4) && minor == 3:
		return nil, newErr(validate.FileUnsupportedFormat, "an Office file with extensible encryption (a third-party encryption module); save it with Excel's own password encryption", nil)
	}
	return nil, newErr(validate.FileUnsupportedFormat, fmt.Sprintf("an Office file with an unknown encryption version %d.%d", major, minor), nil)
}

// utf16le encodes the password as Office does (UTF-16LE, no terminator).
func wipe(b []byte) {
	for i := range b {
		b[i] = 0
	}
}

func hashFunc(name string) (func() hash.Hash, bool) {
	switch strings.ToUpper(strings.ReplaceAll(name, "-", "")) {
	case "SHA1":
		return sha1.New, true
	case "SHA256":
		return sha256.New, true
	case "SHA384":
		return sha512.New384, true
	case "SHA512":
		return sha512.New, true
	case "MD5":
		return md5.New, true
	}
	return nil, false
}

// fixLen truncates b or pads it with 0x36 to n bytes ([MS-OFFCRYPTO] 2.3.4.11/12).
func fixLen(b []byte, n int) []byte {
	if len(b) >= n {
		return b[:n]
	}
	return append(b, bytes.Repeat([]byte{0x36}, n-len(b))...)
}

// ---- agile ------------------------------------------------------------------------------

type agileKeyData struct {
	SaltSize        int    `xml:"saltSize,attr"`
	BlockSize       int    `xml:"blockSize,attr"`
	KeyBits         int    `xml:"keyBits,attr"`
	HashSize        int    `xml:"hashSize,attr"`
	CipherAlgorithm string `xml:"cipherAlgorithm,attr"`
	CipherChaining  string `xml:"cipherChaining,attr"`
	HashAlgorithm   string `xml:"hashAlgorithm,attr"`
	SaltValue       string `xml:"saltValue,attr"`
}

type agileXML struct {
	KeyData       agileKeyData `xml:"keyData"`
	DataIntegrity struct {
		EncryptedHmacKey   string `xml:"encryptedHmacKey,attr"`
		EncryptedHmacValue string `xml:"encryptedHmacValue,attr"`
	} `xml:"dataIntegrity"`
	KeyEncryptors struct {
		KeyEncryptor []struct {
			URI          string `xml:"uri,attr"`
			EncryptedKey struct {
				agileKeyData
				SpinCount                  int    `xml:"spinCount,attr"`
				EncryptedVerifierHashInput string `xml:"encryptedVerifierHashInput,attr"`
				EncryptedVerifierHashValue string `xml:"encryptedVerifierHashValue,attr"`
				EncryptedKeyValue          string `xml:"encryptedKeyValue,attr"`
			} `xml:"encryptedKey"`
		} `xml:"keyEncryptor"`
	} `xml:"keyEncryptors"`
}

type agileParams struct {
	hash      func() hash.Hash
	hashSize  int
	keyBytes  int
	blockSize int
	salt      []byte
}

type agile struct {
	data agileParams // keyData: the package key's parameters
	pw   agileParams // the password key encryptor's parameters
	spin int

	encVerifierInput, encVerifierValue, encKeyValue []byte
	encHmacKey, encHmacValue                        []byte
}

func (a *agile) layer() string { return layerOfficeAgile }

func agileParamsOf(k agileKeyData, what string) (agileParams, error) {
	corrupt := func(d string) (agileParams, error) {
		return agileParams{}, newErr(validate.FileCorrupt, "agile EncryptionInfo: "+what+" "+d, nil)
	}
	if !strings.EqualFold(k.CipherAlgorithm, "AES") {
		return agileParams{}, newErr(validate.FileUnsupportedFormat, "an Office file encrypted with cipher "+printable(k.CipherAlgorithm)+" (only AES is supported)", nil)
	}
	if k.CipherChaining != "" && !strings.EqualFold(k.CipherChaining, "ChainingModeCBC") {
		return agileParams{}, newErr(validate.FileUnsupportedFormat, "an Office file with cipher chaining "+printable(k.CipherChaining)+" (only CBC is supported)", nil)
	}
	h, ok := hashFunc(k.HashAlgorithm)
	if !ok {
		return agileParams{}, newErr(validate.FileUnsupportedFormat, "an Office file with hash algorithm "+printable(k.HashAlgorithm)+" (SHA-1/256/384/512 and MD5 are supported)", nil)
	}
	if k.KeyBits != 128 && k.KeyBits != 192 && k.KeyBits != 256 {
		return corrupt("has an invalid key size")
	}
	if k.BlockSize != aes.BlockSize {
		return corrupt("has an invalid block size")
	}
	hs := h().Size()
	if k.HashSize != 0 && k.HashSize != hs {
		return corrupt("has a hash size that does not match its algorithm")
	}
	salt, err := base64.StdEncoding.DecodeString(k.SaltValue)
	if err != nil || len(salt) < 1 || len(salt) > 64 {
		return corrupt("has an invalid salt")
	}
	return agileParams{hash: h, hashSize: hs, keyBytes: k.KeyBits / 8, blockSize: k.BlockSize, salt: salt}, nil
}

func parseAgile(x []byte, lim Limits) (*agile, error) {
	var doc agileXML
	if err := xml.Unmarshal(x, &doc); err != nil {
		return nil, newErr(validate.FileCorrupt, "the agile EncryptionInfo XML is damaged", err)
	}
	data, err := agileParamsOf(doc.KeyData, "keyData")
	if err != nil {
		return nil, err
	}
	a := &agile{data: data}
	found := false
	for _, ke := range doc.KeyEncryptors.KeyEncryptor {
		if ke.URI != "" && ke.URI != "http://schemas.microsoft.com/office/2006/keyEncryptor/password" {
			continue // certificate key encryptors cannot be used with a password
		}
		ek := ke.EncryptedKey
		if a.pw, err = agileParamsOf(ek.agileKeyData, "password key encryptor"); err != nil {
			return nil, err
		}
		if ek.SpinCount < 0 {
			return nil, newErr(validate.FileCorrupt, "agile EncryptionInfo: negative spin count", nil)
		}
		if ek.SpinCount > lim.MaxSpinCount {
			return nil, newErr(validate.FileTooLarge, fmt.Sprintf("the Office key derivation asks for %d hash rounds, above the limit of %d", ek.SpinCount, lim.MaxSpinCount), nil)
		}
		a.spin = ek.SpinCount
		for _, f := range []struct {
			dst *[]byte
			src string
		}{{&a.encVerifierInput, ek.EncryptedVerifierHashInput}, {&a.encVerifierValue, ek.EncryptedVerifierHashValue}, {&a.encKeyValue, ek.EncryptedKeyValue}} {
			b, err := base64.StdEncoding.DecodeString(f.src)
			if err != nil || len(b) == 0 || len(b)%aes.BlockSize != 0 || len(b) > 1024 {
				return nil, newErr(validate.FileCorrupt, "agile EncryptionInfo: an encrypted verifier or key is malformed", err)
			}
			*f.dst = b
		}
		found = true
		break
	}
	if !found {
		return nil, newErr(validate.FileUnsupportedFormat, "an Office file encrypted to a certificate, not with a password", nil)
	}
	if doc.DataIntegrity.EncryptedHmacKey != "" || doc.DataIntegrity.EncryptedHmacValue != "" {
		k, err1 := base64.StdEncoding.DecodeString(doc.DataIntegrity.EncryptedHmacKey)
		v, err2 := base64.StdEncoding.DecodeString(doc.DataIntegrity.EncryptedHmacValue)
		if err1 != nil || err2 != nil || len(k)%aes.BlockSize != 0 || len(v)%aes.BlockSize != 0 ||
			len(k) < a.data.hashSize || len(v) < a.data.hashSize || len(k) > 1024 || len(v) > 1024 {
			return nil, newErr(validate.FileCorrupt, "agile EncryptionInfo: the data-integrity fields are malformed", nil)
		}
		a.encHmacKey, a.encHmacValue = k, v
	}
	if len(a.encKeyValue) < a.data.keyBytes || len(a.encVerifierValue) < a.pw.hashSize {
		return nil, newErr(validate.FileCorrupt, "agile EncryptionInfo: encrypted key or verifier too short", nil)
	}
	return a, nil
}

func cbcDecrypt(key, iv, in []byte) ([]byte, error) {
	blk, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	if len(in)%aes.BlockSize != 0 {
		return nil, errors.New("ciphertext is not a whole number of blocks")
	}
	out := make([]byte, len(in))
	cipher.NewCBCDecrypter(blk, fixLen(append([]byte(nil), iv...), aes.BlockSize)).CryptBlocks(out, in)
	return out, nil
}

func (a *agile) packageKey(ctx context.Context, pw []byte) ([]byte, error) {
	p := a.pw
	h := p.hash()
	hv, err := officekdf.SpinHash(ctx, h, p.salt, pw, a.spin)
	if err != nil {
		return nil, err
	}
	derive := func(bk []byte) []byte {
		h.Reset()
		h.Write(hv)
		h.Write(bk)
		return fixLen(h.Sum(nil), p.keyBytes)
	}
	k1, k2, k3 := derive(bkVerifierInput), derive(bkVerifierValue), derive(bkKeyValue)
	defer wipe(k1)
	defer wipe(k2)
	defer wipe(k3)
	wipe(hv)
	vin, err := cbcDecrypt(k1, p.salt, a.encVerifierInput)
	if err != nil {
		return nil, newErr(validate.FileCorrupt, "agile verifier cannot be decrypted", err)
	}
	vval, err := cbcDecrypt(k2, p.salt, a.encVerifierValue)
	if err != nil {
		return nil, newErr(validate.FileCorrupt, "agile verifier cannot be decrypted", err)
	}
	if p.hashSize > len(vval) || len(vin) < min(len(p.salt), len(vin)) {
		return nil, newErr(validate.FileCorrupt, "agile verifier too short", nil)
	}
	// The verifier input has saltSize bytes (16 in practice) followed by padding.
	n := len(p.salt)
	if n > len(vin) {
		n = len(vin)
	}
	h.Reset()
	h.Write(vin[:n])
	if subtle.ConstantTimeCompare(h.Sum(nil), vval[:p.hashSize]) != 1 {
		return nil, errWrongPassword
	}
	kv, err := cbcDecrypt(k3, p.salt, a.encKeyValue)
	if err != nil {
		return nil, newErr(validate.FileCorrupt, "agile key cannot be decrypted", err)
	}
	return kv[:a.data.keyBytes], nil
}

func (a *agile) iv(bk []byte) []byte {
	h := a.data.hash()
	h.Write(a.data.salt)
	h.Write(bk)
	return fixLen(h.Sum(nil), a.data.blockSize)
}

func (a *agile) decryptPackage(key, pkg []byte, lim Limits) ([]byte, error) {
	if a.encHmacKey != nil {
		hk, err := cbcDecrypt(key, a.iv(bkHmacKey), a.encHmacKey)
		if err != nil {
			return nil, newErr(validate.FileCorrupt, "the data-integrity key cannot be decrypted", err)
		}
		hv, err := cbcDecrypt(key, a.iv(bkHmacValue), a.encHmacValue)
		if err != nil {
			return nil, newErr(validate.FileCorrupt, "the data-integrity value cannot be decrypted", err)
		}
		m := hmac.New(a.data.hash, hk[:a.data.hashSize])
		m.Write(pkg)
		if !hmac.Equal(m.Sum(nil), hv[:a.data.hashSize]) {
			return nil, newErr(validate.FileCorrupt, "the password is right but the encrypted workbook fails its integrity check (HMAC): it was damaged or modified", nil)
		}
	}
	size, body, err := packageBody(pkg, lim)
	if err != nil {
		return nil, err
	}
	out := make([]byte, len(body))
	blk, err := aes.NewCipher(key)
	if err != nil {
		return nil, newErr(validate.FileCorrupt, "invalid package key", err)
	}
	var idx [4]byte
	for i, off := 0, 0; off < len(body); i, off = i+1, off+officeChunk {
		end := min(off+officeChunk, len(body))
		binary.LittleEndian.PutUint32(idx[:], uint32(i))
		cipher.NewCBCDecrypter(blk, a.iv(idx[:])).CryptBlocks(out[off:end], body[off:end])
	}
	return out[:size], nil
}

// packageBody validates the EncryptedPackage stream: an 8-byte little-endian plaintext size,
// then whole AES blocks. It returns the declared size and the blocks that cover it.
func packageBody(pkg []byte, lim Limits) (int, []byte, error) {
	if len(pkg) < 8 {
		return 0, nil, newErr(validate.FileCorrupt, "the EncryptedPackage stream is truncated", nil)
	}
	size := binary.LittleEndian.Uint64(pkg[:8])
	body := pkg[8:]
	if size > uint64(lim.MaxPlainSize) {
		return 0, nil, newErr(validate.FileTooLarge, fmt.Sprintf("the encrypted workbook declares %d bytes, above the limit of %d", size, lim.MaxPlainSize), nil)
	}
	need := (int(size) + aes.BlockSize - 1) / aes.BlockSize * aes.BlockSize
	if need > len(body) {
		return 0, nil, newErr(validate.FileCorrupt, "the encrypted workbook is truncated (the package is shorter than its declared size)", nil)
	}
	return int(size), body[:need], nil
}

// ---- standard ---------------------------------------------------------------------------

type standard struct {
	keyBytes              int
	salt                  []byte
	encVerifier           []byte
	encVerifierHash       []byte
	verifierHashSize      int
	headerAlg, headerHash uint32
}

func (s *standard) layer() string { return layerOfficeStandard }

func parseStandard(info []byte) (*standard, error) {
	corrupt := func(d string) (*standard, error) {
		return nil, newErr(validate.FileCorrupt, "standard EncryptionInfo: "+d, nil)
	}
	if len(info) < 12 {
		return corrupt("truncated")
	}
	hsize := binary.LittleEndian.Uint32(info[8:12])
	if hsize < 32 || uint64(hsize) > uint64(len(info)-12) {
		return corrupt("invalid header size")
	}
	hdr := info[12 : 12+hsize]
	alg := binary.LittleEndian.Uint32(hdr[8:12])
	algHash := binary.LittleEndian.Uint32(hdr[12:16])
	keyBits := binary.LittleEndian.Uint32(hdr[16:20])
	switch alg {
	case 0x660E, 0x660F, 0x6610:
	case 0x6801:
		return nil, newErr(validate.FileUnsupportedFormat, "an Office file with RC4 CryptoAPI encryption (Office 97-2003 style); save it with AES encryption", nil)
	default:
		return nil, newErr(validate.FileUnsupportedFormat, fmt.Sprintf("an Office file with unknown standard-encryption algorithm 0x%x", alg), nil)
	}
	if algHash != 0 && algHash != 0x8004 {
		return nil, newErr(validate.FileUnsupportedFormat, "an Office file with a standard-encryption hash other than SHA-1", nil)
	}
	if keyBits != 128 && keyBits != 192 && keyBits != 256 {
		return corrupt("invalid key size")
	}
	v := info[12+hsize:]
	if len(v) < 4+16+16+4+32 {
		return corrupt("the verifier is truncated")
	}
	if binary.LittleEndian.Uint32(v[0:4]) != 16 {
		return corrupt("invalid salt size")
	}
	return &standard{
		keyBytes:         int(keyBits / 8),
		salt:             v[4:20],
		encVerifier:      v[20:36],
		verifierHashSize: int(binary.LittleEndian.Uint32(v[36:40])),
		encVerifierHash:  v[40:72],
		headerAlg:        alg, headerHash: algHash,
	}, nil
}

func (s *standard) packageKey(ctx context.Context, pw []byte) ([]byte, error) {
	h := sha1.New()
	hv, err := officekdf.SpinHash(ctx, h, s.salt, pw, 50000)
	if err != nil {
		return nil, err
	}
	h.Reset()
	h.Write(hv)
	h.Write([]byte{0, 0, 0, 0})
	final := h.Sum(nil)
	x := func(c byte) []byte {
		buf := bytes.Repeat([]byte{c}, 64)
		for i := range final {
			buf[i] ^= final[i]
		}
		d := sha1.Sum(buf)
		return d[:]
	}
	key := append(x(0x36), x(0x5c)...)[:s.keyBytes]
	wipe(hv)
	wipe(final)
	blk, err := aes.NewCipher(key)
	if err != nil {
		return nil, newErr(validate.FileCorrupt, "invalid standard-encryption key", err)
	}
	verifier := make([]byte, 16)
	blk.Decrypt(verifier, s.encVerifier)
	vh := make([]byte, 32)
	blk.Decrypt(vh[:16], s.encVerifierHash[:16])
	blk.Decrypt(vh[16:], s.encVerifierHash[16:32])
	want := sha1.Sum(verifier)
	if subtle.ConstantTimeCompare(want[:], vh[:sha1.Size]) != 1 {
		wipe(key)
		return nil, errWrongPassword
	}
	return key, nil
}

func (s *standard) decryptPackage(key, pkg []byte, lim Limits) ([]byte, error) {
	size, body, err := packageBody(pkg, lim)
	if err != nil {
		return nil, err
	}
	blk, err := aes.NewCipher(key)
	if err != nil {
		return nil, newErr(validate.FileCorrupt, "invalid package key", err)
	}
	out := make([]byte, len(body))
	for off := 0; off < len(body); off += aes.BlockSize { // ECB, as the standard prescribes
		blk.Decrypt(out[off:off+aes.BlockSize], body[off:off+aes.BlockSize])
	}
	return out[:size], nil
}

// openOffice tries the passwords in order on an encrypted Office file and returns the decrypted
// package (a zip, checked by the caller) and the index of the password that opened it.
func openOffice(ctx context.Context, info, pkg []byte, passwords [][]byte, lim Limits) ([]byte, string, int, error) {
	scheme, err := parseOfficeScheme(info, lim)
	if err != nil {
		return nil, "", -1, err
	}
	if len(passwords) == 0 {
		return nil, scheme.layer(), -1, newErr(validate.FilePasswordNeeded, "the workbook is password-encrypted and no password is known for it", nil)
	}
	for i, pw := range passwords {
		key, err := scheme.packageKey(ctx, pw)
		if errors.Is(err, errWrongPassword) {
			continue
		}
		if err != nil {
			return nil, scheme.layer(), -1, err
		}
		out, err := scheme.decryptPackage(key, pkg, lim)
		wipe(key)
		if err != nil {
			return nil, scheme.layer(), -1, err
		}
		return out, scheme.layer(), i, nil
	}
	detail := "the password does not open the encrypted workbook (checked against the file's password verifier)"
	if len(passwords) > 1 {
		detail = fmt.Sprintf("none of the %d passwords opens the encrypted workbook (checked against the file's password verifier)", len(passwords))
	}
	return nil, scheme.layer(), -1, newErr(validate.FileWrongPassword, detail, nil)
}
