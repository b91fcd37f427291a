package decrypt

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha512"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/fhi/sysvak-import/internal/officekdf"
	"github.com/fhi/sysvak-import/internal/secret"
)

// Agile encryption parameters, as Excel 2010 and later write them: AES-256-CBC, SHA-512, 100,000
// spins ([MS-OFFCRYPTO] 2.3.4.10-15).
const (
	agileSpinCount = 100000
	agileKeyBytes  = 32
	agileSaltSize  = 16
	agileHashSize  = 64
)

// MaxAgileEncryptInput bounds the workbook EncryptOfficeAgile takes: its compound file has no
// DIFAT sectors (109 FAT sectors, about 7 MB).
const MaxAgileEncryptInput = 6 << 20

// ErrAgileTooLarge: the workbook is larger than MaxAgileEncryptInput.
var ErrAgileTooLarge = errors.New("decrypt: the workbook is too large for agile encryption here")

// EncryptOfficeAgile writes the plain workbook to w with ECMA-376 agile password encryption
// (AES-256, SHA-512, 100,000 spins, with the data-integrity HMAC), in an OLE compound file with
// the EncryptionInfo and EncryptedPackage streams, as Excel writes it. Excel, LibreOffice,
// msoffcrypto-tool, excelize and this package's Unwrap open it.
func EncryptOfficeAgile(ctx context.Context, plain []byte, pw secret.Secret, w io.Writer) error {
	if pw.Empty() {
		return secret.ErrEmpty
	}
	if len(plain) > MaxAgileEncryptInput {
		return ErrAgileTooLarge
	}
	info, pkg, err := agileEncrypt(ctx, plain, pw.Bytes(), rand.Reader)
	if err != nil {
		return err
	}
	out, err := writeCFB([]cfbStream{{name: "EncryptionInfo", data: info}, {name: "EncryptedPackage", data: pkg}})
	if err != nil {
		return err
	}
	if _, err := w.Write(out); err != nil {
		return fmt.Errorf("decrypt: write: %w", err)
	}
	return nil
}

func cbcEncrypt(key, iv, in []byte) ([]byte, error) {
	blk, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	n := (len(in) + aes.BlockSize - 1) / aes.BlockSize * aes.BlockSize
	buf := make([]byte, n)
	copy(buf, in)
	cipher.NewCBCEncrypter(blk, fixLen(append([]byte(nil), iv...), aes.BlockSize)).CryptBlocks(buf, buf)
	return buf, nil
}

// agileEncrypt returns the EncryptionInfo and EncryptedPackage streams.
func agileEncrypt(ctx context.Context, plain, pw []byte, rnd io.Reader) (info, pkg []byte, err error) {
	random := func(n int) []byte {
		b := make([]byte, n)
		if _, e := io.ReadFull(rnd, b); e != nil && err == nil {
			err = e
		}
		return b
	}
	keySalt, pwSalt := random(agileSaltSize), random(agileSaltSize)
	secretKey, verifier, hmacKey := random(agileKeyBytes), random(agileSaltSize), random(agileHashSize)
	if err != nil {
		return nil, nil, fmt.Errorf("decrypt: random: %w", err)
	}
	defer wipe(secretKey)
	// The package: its size, then 4096-byte segments, each with its own IV.
	pkg = make([]byte, 8, 8+len(plain)+aes.BlockSize)
	binary.LittleEndian.PutUint64(pkg, uint64(len(plain)))
	var idx [4]byte
	for i, off := 0, 0; off < len(plain); i, off = i+1, off+officeChunk {
		if i&63 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, nil, err
			}
		}
		binary.LittleEndian.PutUint32(idx[:], uint32(i))
		seg, err := cbcEncrypt(secretKey, hashOf(keySalt, idx[:])[:aes.BlockSize], plain[off:min(off+officeChunk, len(plain))])
		if err != nil {
			return nil, nil, err
		}
		pkg = append(pkg, seg...)
	}
	mac := hmac.New(sha512.New, hmacKey)
	mac.Write(pkg)
	encHmacKey, err := cbcEncrypt(secretKey, hashOf(keySalt, bkHmacKey)[:aes.BlockSize], hmacKey)
	if err != nil {
		return nil, nil, err
	}
	encHmacValue, err := cbcEncrypt(secretKey, hashOf(keySalt, bkHmacValue)[:aes.BlockSize], mac.Sum(nil))
	if err != nil {
		return nil, nil, err
	}
	keys, err := agilePasswordKeys(ctx, pw, pwSalt)
	if err != nil {
		return nil, nil, err
	}
	defer func() {
		for _, k := range keys {
			wipe(k)
		}
	}()
	encVerifierInput, err1 := cbcEncrypt(keys[0], pwSalt, verifier)
	encVerifierValue, err2 := cbcEncrypt(keys[1], pwSalt, hashOf(verifier))
	encKeyValue, err3 := cbcEncrypt(keys[2], pwSalt, secretKey)
	if err := errors.Join(err1, err2, err3); err != nil {
		return nil, nil, err
	}
	b64 := base64.StdEncoding.EncodeToString
	params := fmt.Sprintf(`saltSize="%d" blockSize="16" keyBits="%d" hashSize="%d" cipherAlgorithm="AES" cipherChaining="ChainingModeCBC" hashAlgorithm="SHA512"`,
		agileSaltSize, agileKeyBytes*8, agileHashSize)
	xmlText := `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>` + "\r\n" +
		`<encryption xmlns="http://schemas.microsoft.com/office/2006/encryption" xmlns:p="http://schemas.microsoft.com/office/2006/keyEncryptor/password" xmlns:c="http://schemas.microsoft.com/office/2006/keyEncryptor/certificate">` +
		`<keyData ` + params + ` saltValue="` + b64(keySalt) + `"/>` +
		`<dataIntegrity encryptedHmacKey="` + b64(encHmacKey) + `" encryptedHmacValue="` + b64(encHmacValue) + `"/>` +
		`<keyEncryptors><keyEncryptor uri="http://schemas.microsoft.com/office/2006/keyEncryptor/password">` +
		`<p:encryptedKey spinCount="` + fmt.Sprint(agileSpinCount) + `" ` + params + ` saltValue="` + b64(pwSalt) +
		`" encryptedVerifierHashInput="` + b64(encVerifierInput) + `" encryptedVerifierHashValue="` + b64(encVerifierValue) +
		`" encryptedKeyValue="` + b64(encKeyValue) + `"/></keyEncryptor></keyEncryptors></encryption>`
	info = make([]byte, 8, 8+len(xmlText))
	binary.LittleEndian.PutUint16(info[0:], 4)
	binary.LittleEndian.PutUint16(info[2:], 4)
	binary.LittleEndian.PutUint32(info[4:], 0x40)
	return append(info, xmlText...), pkg, nil
}

// hashOf is SHA-512 over the parts.
func hashOf(parts ...[]byte) []byte {
	h := sha512.New()
	for _, p := range parts {
		h.Write(p)
	}
	return h.Sum(nil)
}

// agilePasswordKeys derives the three keys of the password key encryptor (verifier input,
// verifier value, key value) from the password ([MS-OFFCRYPTO] 2.3.4.11).
func agilePasswordKeys(ctx context.Context, pw, salt []byte) ([3][]byte, error) {
	hv, err := officekdf.SpinHash(ctx, sha512.New(), salt, pw, agileSpinCount)
	if err != nil {
		return [3][]byte{}, err
	}
	defer wipe(hv)
	var keys [3][]byte
	for i, bk := range [][]byte{bkVerifierInput, bkVerifierValue, bkKeyValue} {
		keys[i] = fixLen(hashOf(hv, bk), agileKeyBytes)
	}
	return keys, nil
}
