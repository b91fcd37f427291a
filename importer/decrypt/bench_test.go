package decrypt

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/fhi/sysvak-import/internal/secret"
)

// bigWorkbook makes a ~10 MB .xlsx (random hex cells, so the zip stays large).
func bigWorkbook(b *testing.B) []byte {
	b.Helper()
	f := excelize.NewFile()
	defer f.Close()
	sw, err := f.NewStreamWriter("Sheet1")
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	buf := make([]byte, 10)
	row := make([]any, 8)
	for r := 1; ; r++ {
		for i := range row {
			for j := range buf {
				buf[j] = byte(rng.Uint32())
			}
			row[i] = hex.EncodeToString(buf)
		}
		cell, _ := excelize.CoordinatesToCellName(1, r)
		if err := sw.SetRow(cell, row); err != nil {
			b.Fatal(err)
		}
		if r == 80_000 {
			break
		}
	}
	if err := sw.Flush(); err != nil {
		b.Fatal(err)
	}
	var out bytes.Buffer
	if err := f.Write(&out); err != nil {
		b.Fatal(err)
	}
	return out.Bytes()
}

func benchUnwrap(b *testing.B, enc []byte, pw secret.Secret, plainLen int) {
	b.SetBytes(int64(len(enc)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p, err := Unwrap(context.Background(), bytes.NewReader(enc), int64(len(enc)), []secret.Secret{pw}, Limits{})
		if err != nil {
			b.Fatal(err)
		}
		if p.Size != int64(plainLen) {
			b.Fatalf("size %d", p.Size)
		}
		p.Close()
	}
	b.ReportMetric(float64(len(enc))/1e6, "MB-file")
}

// BenchmarkUnwrapStandard10MB: Unwrap of a ~10 MB workbook with excelize's standard encryption
// (EncryptOffice): CFB read + 50,000 SHA-1 rounds + AES-ECB + the zip CRC check.
func BenchmarkUnwrapStandard10MB(b *testing.B) {
	src := bigWorkbook(b)
	pw := secret.New([]byte(pwMain))
	var enc bytes.Buffer
	if err := EncryptOffice(context.Background(), bytes.NewReader(src), int64(len(src)), pw, &enc); err != nil {
		b.Fatal(err)
	}
	benchUnwrap(b, enc.Bytes(), pw, len(src))
}

// BenchmarkUnwrapPGP10MB: Unwrap of the same workbook as an EncryptPGP message (AES-256,
// iterated S2K at the maximum count, SEIPD v1 with MDC).
func BenchmarkUnwrapPGP10MB(b *testing.B) {
	src := bigWorkbook(b)
	pw := secret.New([]byte(pwMain))
	var enc bytes.Buffer
	if err := EncryptPGP(context.Background(), bytes.NewReader(src), pw, &enc, false); err != nil {
		b.Fatal(err)
	}
	benchUnwrap(b, enc.Bytes(), pw, len(src))
}

// BenchmarkUnwrapAgileSmall: full Unwrap of the committed officecrypto-tool agile file
// (AES-256, SHA-512, 100,000 spins): the fixed cost of agile, which is all key derivation.
func BenchmarkUnwrapAgileSmall(b *testing.B) {
	raw := readFixture(b, "octool_agile.xlsx")
	src := readFixture(b, "source.xlsx")
	benchUnwrap(b, raw, secret.New([]byte(pwMain)), len(src))
}

// BenchmarkUnwrapAgile10MB: agile decryption of a ~10 MB package. There is no agile encryptor
// in Go to build the CFB container, so this re-encrypts a 10 MB package under the package key of
// octool_agile.xlsx (with a fresh HMAC) and benchmarks openOffice + the zip check, i.e. all of
// Unwrap except reading the streams out of the CFB container.
func BenchmarkUnwrapAgile10MB(b *testing.B) {
	src := bigWorkbook(b)
	info, pkg := agileFixtureFor(b, src)
	lim := DefaultLimits()
	b.SetBytes(int64(len(pkg)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		out, layer, _, err := openOffice(context.Background(), info, pkg, [][]byte{[]byte(pwMain)}, lim)
		if err != nil {
			b.Fatal(err)
		}
		if err := checkZip(context.Background(), out, layer, lim); err != nil {
			b.Fatal(err)
		}
		if !bytes.Equal(out[:64], src[:64]) || len(out) != len(src) {
			b.Fatal("wrong plaintext")
		}
	}
	b.ReportMetric(float64(len(pkg))/1e6, "MB-file")
}

func agileFixtureFor(b *testing.B, plain []byte) (info, pkg []byte) {
	raw := readFixture(b, "octool_agile.xlsx")
	info, _, err := oleStreams(bytes.NewReader(raw), int64(len(raw)), 1<<20)
	if err != nil {
		b.Fatal(err)
	}
	sch, err := parseOfficeScheme(info, DefaultLimits())
	if err != nil {
		b.Fatal(err)
	}
	a := sch.(*agile)
	key, err := a.packageKey(context.Background(), []byte(pwMain))
	if err != nil {
		b.Fatal(err)
	}
	blk, _ := aes.NewCipher(key)
	padded := append(append([]byte(nil), plain...), make([]byte, (16-len(plain)%16)%16)...)
	pkg = make([]byte, 8+len(padded))
	binary.LittleEndian.PutUint64(pkg, uint64(len(plain)))
	var idx [4]byte
	for i, off := 0, 0; off < len(padded); i, off = i+1, off+officeChunk {
		end := min(off+officeChunk, len(padded))
		binary.LittleEndian.PutUint32(idx[:], uint32(i))
		cipher.NewCBCEncrypter(blk, a.iv(idx[:])).CryptBlocks(pkg[8+off:8+end], padded[off:end])
	}
	hk, _ := cbcDecrypt(key, a.iv(bkHmacKey), a.encHmacKey)
	m := hmac.New(a.data.hash, hk[:a.data.hashSize])
	m.Write(pkg)
	mac := m.Sum(nil)
	mac = append(mac, make([]byte, (16-len(mac)%16)%16)...)
	encMac := make([]byte, len(mac))
	cipher.NewCBCEncrypter(blk, a.iv(bkHmacValue)).CryptBlocks(encMac, mac)
	x := string(info)
	old := base64.StdEncoding.EncodeToString(a.encHmacValue)
	if !strings.Contains(x, old) {
		b.Fatal("HMAC value not found in EncryptionInfo")
	}
	x = strings.Replace(x, old, base64.StdEncoding.EncodeToString(encMac), 1)
	return []byte(x), pkg
}
