package decrypt

import (
	"context"
	"crypto"
	"crypto/rand"
	"errors"
	"fmt"
	"io"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	"github.com/ProtonMail/go-crypto/openpgp/s2k"
	"github.com/xuri/excelize/v2"

	"github.com/fhi/sysvak-import/internal/ctxio"
	"github.com/fhi/sysvak-import/internal/secret"
	"github.com/fhi/sysvak-import/validate"
)

// maxEncryptInput bounds the workbook EncryptOffice reads into memory.
const maxEncryptInput = 1 << 30

// EncryptOffice writes the plain workbook in (size bytes) to w with ECMA-376 standard password
// encryption (AES-128, SHA-1 x 50,000), as excelize writes it (libraries.md §1.3); Excel,
// LibreOffice and msoffcrypto-tool open it. The workbook's bytes are encrypted unchanged.
// excelize takes the password as a Go string, which cannot be wiped afterwards.
func EncryptOffice(ctx context.Context, in io.ReaderAt, size int64, pw secret.Secret, w io.Writer) error {
	if pw.Empty() {
		return secret.ErrEmpty
	}
	f, err := Detect(ctx, in, size)
	if err != nil {
		return err
	}
	if f.Kind != PlainWorkbook {
		return formatErr(validate.FileUnsupportedFormat, "only a plain .xlsx workbook can be encrypted; this is "+f.What, f)
	}
	if size > maxEncryptInput {
		return newErr(validate.FileTooLarge, "the workbook is too large to encrypt", nil)
	}
	raw := make([]byte, size)
	if _, err := in.ReadAt(raw, 0); err != nil && !(errors.Is(err, io.EOF)) {
		return fmt.Errorf("decrypt: read workbook: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	out, err := excelize.Encrypt(raw, &excelize.Options{Password: string(pw.Bytes())})
	if err != nil {
		return fmt.Errorf("decrypt: encrypt workbook: %w", err)
	}
	if _, err := w.Write(out); err != nil {
		return fmt.Errorf("decrypt: write: %w", err)
	}
	return nil
}

// EncryptPGP writes in to w as an OpenPGP passphrase-encrypted message, as `gpg --symmetric`
// would: SKESK v4 with iterated-and-salted S2K (SHA-256, maximum count), AES-256, SEIPD v1
// with MDC and no compression (a workbook is a zip already). SEIPD v1 rather than v2 (AEAD)
// because gpg 2.2, still common on recipients' machines, cannot read v2 (libraries.md §2.3).
// The literal data is marked binary so that no line endings are converted. armor selects
// ASCII armor (.asc).
func EncryptPGP(ctx context.Context, in io.Reader, pw secret.Secret, w io.Writer, armored bool) (err error) {
	if pw.Empty() {
		return secret.ErrEmpty
	}
	out := w
	var aw io.WriteCloser
	if armored {
		if aw, err = armor.Encode(w, "PGP MESSAGE", nil); err != nil {
			return fmt.Errorf("decrypt: armor: %w", err)
		}
		out = aw
	}
	cfg := &packet.Config{
		DefaultCipher:          packet.CipherAES256,
		DefaultCompressionAlgo: packet.CompressionNone,
		S2KConfig:              &s2k.Config{S2KMode: s2k.IteratedSaltedS2K, Hash: crypto.SHA256, S2KCount: 65011712},
	}
	pt, err := openpgp.SymmetricallyEncrypt(out, pw.Bytes(), &openpgp.FileHints{IsBinary: true}, cfg)
	if err != nil {
		return fmt.Errorf("decrypt: openpgp encrypt: %w", err)
	}
	if _, err := io.Copy(pt, ctxio.NewReader(ctx, in)); err != nil {
		pt.Close()
		return fmt.Errorf("decrypt: openpgp encrypt: %w", err)
	}
	if err := pt.Close(); err != nil {
		return fmt.Errorf("decrypt: openpgp encrypt: %w", err)
	}
	if aw != nil {
		if err := aw.Close(); err != nil {
			return fmt.Errorf("decrypt: armor: %w", err)
		}
	}
	return nil
}

// PasswordAlphabet is the alphabet of GeneratePassword: letters and digits without the
// look-alikes 0/O, 1/l/I (57 symbols, 5.8 bits each).
const PasswordAlphabet = "23456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"

// GeneratedPasswordLen is the length of GeneratePassword's passwords: 16 symbols, about 93 bits.
const GeneratedPasswordLen = 16

// GeneratePassword returns a random password for `encrypt`, GeneratedPasswordLen symbols of
// PasswordAlphabet drawn uniformly from crypto/rand (rejection sampling, no modulo bias). It is
// short enough to type from an SMS.
func GeneratePassword() (secret.Secret, error) {
	return generatePassword(rand.Reader)
}

func generatePassword(src io.Reader) (secret.Secret, error) {
	const n = len(PasswordAlphabet)
	const limit = 256 / n * n // accept bytes below the largest multiple of n
	out := make([]byte, 0, GeneratedPasswordLen)
	var buf [32]byte
	for len(out) < GeneratedPasswordLen {
		if _, err := io.ReadFull(src, buf[:]); err != nil {
			return secret.Secret{}, fmt.Errorf("decrypt: random: %w", err)
		}
		for _, b := range buf {
			if int(b) < limit && len(out) < GeneratedPasswordLen {
				out = append(out, PasswordAlphabet[int(b)%n])
			}
		}
	}
	s := secret.New(out)
	wipe(out)
	wipe(buf[:])
	return s, nil
}
