package decrypt

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	"github.com/xuri/excelize/v2"

	"github.com/fhi/sysvak-import/internal/secret"
	"github.com/fhi/sysvak-import/validate"
)

// Fixtures: fixtures/encrypted (made by make.sh; passwords in passwords.txt).
const fixtureDir = "../../fixtures/encrypted"

const (
	pwMain  = "Sommer-Vaksine-2025" // passwords.txt: every file made from source.xlsx
	pwInner = "Indre-Passord-7"     // passwords.txt: inner workbook of gpg_office_twopw.gpg
	pwExcel = "password"            // excelize crypt_test.go: Excel's own test files
)

func pws(p ...string) []secret.Secret {
	out := make([]secret.Secret, len(p))
	for i, s := range p {
		out[i] = secret.New([]byte(s))
	}
	return out
}

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtureDir, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func unwrapBytes(t testing.TB, b []byte, passwords []secret.Secret) (*Plain, error) {
	t.Helper()
	return Unwrap(context.Background(), bytes.NewReader(b), int64(len(b)), passwords, Limits{})
}

func plainBytes(t testing.TB, p *Plain) []byte {
	t.Helper()
	out := make([]byte, p.Size)
	if _, err := p.ReaderAt.ReadAt(out, 0); err != nil && !errors.Is(err, io.EOF) {
		t.Fatal(err)
	}
	return out
}

// sameAs: "source" means byte-identical to source.xlsx; "excel" means an Excel test file whose
// plaintext is compared with excelize.Decrypt's and opened with excelize.
type unwrapCase struct {
	file      string
	passwords []string
	code      validate.Code
	layers    []string
	sameAs    string
}

func unwrapCases() []unwrapCase {
	agile, std, pgp := []string{"office-agile"}, []string{"office-standard"}, []string{"openpgp"}
	return []unwrapCase{
		{file: "source.xlsx", code: "", sameAs: "source"},
		{file: "source.xlsx", passwords: []string{"ignored"}, sameAs: "source"},
		// Excel's own files (excelize test dir).
		{file: "excel_agile_sha1.xlsx", passwords: []string{pwExcel}, layers: agile, sameAs: "excel"},
		{file: "excel_agile_sha512.xlsx", passwords: []string{pwExcel}, layers: agile, sameAs: "excel"},
		{file: "excel_standard.xlsx", passwords: []string{pwExcel}, layers: std, sameAs: "excel"},
		{file: "excel_agile_sha512.xlsx", passwords: []string{"wrong", pwExcel}, layers: agile, sameAs: "excel"},
		// officecrypto-tool and excelize.
		{file: "octool_agile.xlsx", passwords: []string{pwMain}, layers: agile, sameAs: "source"},
		{file: "octool_standard.xlsx", passwords: []string{pwMain}, layers: std, sameAs: "source"},
		{file: "excelize_standard.xlsx", passwords: []string{pwMain}, layers: std, sameAs: "source"},
		// gpg 2.2 and go-crypto.
		{file: "gpg_default.gpg", passwords: []string{pwMain}, layers: pgp, sameAs: "source"},
		{file: "gpg_compressed.gpg", passwords: []string{pwMain}, layers: pgp, sameAs: "source"},
		{file: "gpg_armor.asc", passwords: []string{pwMain}, layers: pgp, sameAs: "source"},
		{file: "gpg_sha512.gpg", passwords: []string{pwMain}, layers: pgp, sameAs: "source"},
		{file: "gpg_nocomp.gpg", passwords: []string{pwMain}, layers: pgp, sameAs: "source"},
		{file: "gpg_default.gpg", passwords: []string{"wrong", pwMain}, layers: pgp, sameAs: "source"},
		{file: "gocrypto_aead_argon2.gpg", passwords: []string{pwMain}, layers: pgp, sameAs: "source"},
		{file: "gocrypto_argon2_v4.gpg", passwords: []string{pwMain}, layers: pgp, sameAs: "source"},
		{file: "gocrypto_aead_argon2.gpg", passwords: []string{"wrong", pwMain}, layers: pgp, sameAs: "source"},
		// Two layers.
		{file: "gpg_office_samepw.gpg", passwords: []string{pwMain}, layers: []string{"openpgp", "office-agile"}, sameAs: "source"},
		{file: "gpg_office_twopw.gpg", passwords: []string{pwMain, pwInner}, layers: []string{"openpgp", "office-agile"}, sameAs: "source"},
		{file: "gpg_office_twopw.gpg", passwords: []string{pwInner, pwMain}, layers: []string{"openpgp", "office-agile"}, sameAs: "source"},
		{file: "gpg_office_twopw.gpg", passwords: []string{pwMain}, code: validate.FileWrongPassword},
		// Refusals.
		{file: "gpg_rfc2440_nomdc.gpg", passwords: []string{pwMain}, code: validate.FileIntegrity},
		{file: "bomb_argon2_v4.gpg", passwords: []string{pwMain}, code: validate.FileTooLarge},
		{file: "bomb_argon2_v6.gpg", passwords: []string{pwMain}, code: validate.FileTooLarge},
		{file: "bomb_argon2_v6.gpg", code: validate.FileTooLarge}, // refused before asking for a password
		// Tampering.
		{file: "octool_agile_flipped.xlsx", passwords: []string{pwMain}, code: validate.FileCorrupt},
		{file: "excelize_standard_flipped.xlsx", passwords: []string{pwMain}, code: validate.FileCorrupt},
		{file: "gpg_compressed_flipped.gpg", passwords: []string{pwMain}, code: validate.FileIntegrity},
		{file: "gpg_nocomp_flipped.gpg", passwords: []string{pwMain}, code: validate.FileIntegrity},
		{file: "gocrypto_aead_flipped.gpg", passwords: []string{pwMain}, code: validate.FileIntegrity},
		// Truncation.
		{file: "octool_agile_truncated.xlsx", passwords: []string{pwMain}, code: validate.FileCorrupt},
		{file: "gpg_compressed_truncated.gpg", passwords: []string{pwMain}, code: validate.FileCorrupt},
		{file: "gpg_nocomp_truncated.gpg", passwords: []string{pwMain}, code: validate.FileCorrupt},
		{file: "gpg_armor_truncated.asc", passwords: []string{pwMain}, code: validate.FileCorrupt},
		// Not workbooks.
		{file: "legacy.xls", code: validate.FileLegacyXLS},
		{file: "sample.pdf", code: validate.FileUnsupportedFormat},
		{file: "sample.csv", code: validate.FileUnsupportedFormat},
		{file: "sample.ods", code: validate.FileUnsupportedFormat},
		{file: "archive.zip", code: validate.FileUnsupportedFormat},
	}
}

// encryptedFixtures are the files that open with a password; each must also give
// file.wrong_password and file.password_needed.
var encryptedFixtures = map[string]string{
	"excel_agile_sha1.xlsx": pwExcel, "excel_agile_sha512.xlsx": pwExcel, "excel_standard.xlsx": pwExcel,
	"octool_agile.xlsx": pwMain, "octool_standard.xlsx": pwMain, "excelize_standard.xlsx": pwMain,
	"gpg_default.gpg": pwMain, "gpg_compressed.gpg": pwMain, "gpg_armor.asc": pwMain, "gpg_sha512.gpg": pwMain,
	"gpg_nocomp.gpg": pwMain, "gocrypto_aead_argon2.gpg": pwMain, "gocrypto_argon2_v4.gpg": pwMain,
	"gpg_office_samepw.gpg": pwMain, "gpg_office_twopw.gpg": pwMain,
}

func TestUnwrapFixtures(t *testing.T) {
	source := readFixture(t, "source.xlsx")
	for _, tc := range unwrapCases() {
		t.Run(tc.file+"/"+strings.Join(tc.passwords, ","), func(t *testing.T) {
			t.Parallel()
			raw := readFixture(t, tc.file)
			p, err := unwrapBytes(t, raw, pws(tc.passwords...))
			if tc.code != "" {
				if err == nil {
					p.Close()
					t.Fatalf("Unwrap succeeded, want %s", tc.code)
				}
				assertCode(t, err, tc.code)
				return
			}
			if err != nil {
				t.Fatalf("Unwrap: %v", err)
			}
			defer p.Close()
			if !slices.Equal(p.Layers, tc.layers) {
				t.Errorf("layers %v, want %v", p.Layers, tc.layers)
			}
			got := plainBytes(t, p)
			switch tc.sameAs {
			case "source":
				if !bytes.Equal(got, source) {
					t.Fatalf("plaintext (%d bytes) differs from source.xlsx (%d bytes)", len(got), len(source))
				}
			case "excel":
				want, err := excelize.Decrypt(raw, &excelize.Options{Password: tc.passwords[len(tc.passwords)-1]})
				if err != nil {
					t.Fatal(err)
				}
				// excelize does not cut standard-encryption output to the declared size.
				if len(want) < len(got) || !bytes.Equal(want[:len(got)], got) {
					t.Fatalf("plaintext differs from excelize.Decrypt's")
				}
				f, err := excelize.OpenReader(bytes.NewReader(got))
				if err != nil {
					t.Fatalf("excelize cannot open the plaintext: %v", err)
				}
				if len(f.GetSheetList()) == 0 {
					t.Error("no sheets")
				}
				f.Close()
			}
			if _, err := zip.NewReader(p.ReaderAt, p.Size); err != nil {
				t.Errorf("plaintext is not a zip: %v", err)
			}
		})
	}
}

func assertCode(t *testing.T, err error, want validate.Code) {
	t.Helper()
	var de *Error
	if !errors.As(err, &de) {
		t.Fatalf("error %v (%T) is not a *decrypt.Error", err, err)
	}
	if de.Code != want {
		t.Fatalf("code %s (%v), want %s", de.Code, err, want)
	}
	if !errors.Is(err, &Error{Code: want}) {
		t.Errorf("errors.Is does not match the code")
	}
	// pwExcel ("password") and "wrong" are ordinary words of the messages; the distinctive
	// passwords must never appear.
	for _, pw := range []string{pwMain, pwInner, "Feil-Passord-123", "Wrong2"} {
		if strings.Contains(err.Error(), pw) {
			t.Errorf("error text contains a password: %q", err)
		}
	}
}

func TestUnwrapWrongAndMissingPassword(t *testing.T) {
	for name := range encryptedFixtures {
		raw := readFixture(t, name)
		t.Run(name+"/wrong", func(t *testing.T) {
			t.Parallel()
			_, err := unwrapBytes(t, raw, pws("Feil-Passord-123"))
			assertCode(t, err, validate.FileWrongPassword)
			if strings.Contains(err.Error(), "Feil-Passord-123") {
				t.Errorf("error text contains the password: %q", err)
			}
		})
		t.Run(name+"/two-wrong", func(t *testing.T) {
			t.Parallel()
			_, err := unwrapBytes(t, raw, pws("wrong", "Wrong2"))
			assertCode(t, err, validate.FileWrongPassword)
		})
		t.Run(name+"/none", func(t *testing.T) {
			_, err := unwrapBytes(t, raw, nil)
			assertCode(t, err, validate.FilePasswordNeeded)
			_, err = unwrapBytes(t, raw, pws(""))
			assertCode(t, err, validate.FilePasswordNeeded)
		})
	}
}

// TestArgon2BombRefusedBeforeReadMessage proves through the readMessage seam that the pre-scan
// refuses the bombs (Argon2 memory exponent 31 = 2 TiB, libraries.md §2.4) without go-crypto
// ever parsing the message, so no allocation can happen.
func TestArgon2BombRefusedBeforeReadMessage(t *testing.T) {
	for _, name := range []string{"bomb_argon2_v4.gpg", "bomb_argon2_v6.gpg"} {
		t.Run(name, func(t *testing.T) {
			calls := 0
			u := &unwrapper{readMessage: func(r io.Reader, k openpgp.KeyRing, p openpgp.PromptFunction, c *packet.Config) (*openpgp.MessageDetails, error) {
				calls++
				return nil, errors.New("must not be called")
			}}
			raw := readFixture(t, name)
			_, err := u.unwrap(context.Background(), bytes.NewReader(raw), int64(len(raw)), pws(pwMain), Limits{})
			assertCode(t, err, validate.FileTooLarge)
			if calls != 0 {
				t.Fatalf("ReadMessage was called %d times", calls)
			}
			if !strings.Contains(err.Error(), "Argon2") {
				t.Errorf("detail does not name Argon2: %v", err)
			}
		})
	}
	// The same seam with the real function opens the legitimate Argon2 file, and a tighter
	// limit refuses it (64 MiB > 32 MiB).
	raw := readFixture(t, "gocrypto_aead_argon2.gpg")
	calls := 0
	u := &unwrapper{readMessage: func(r io.Reader, k openpgp.KeyRing, p openpgp.PromptFunction, c *packet.Config) (*openpgp.MessageDetails, error) {
		calls++
		return openpgp.ReadMessage(r, k, p, c)
	}}
	p, err := u.unwrap(context.Background(), bytes.NewReader(raw), int64(len(raw)), pws(pwMain), Limits{})
	if err != nil || calls != 1 {
		t.Fatalf("legitimate Argon2: err %v, calls %d", err, calls)
	}
	p.Close()
	_, err = u.unwrap(context.Background(), bytes.NewReader(raw), int64(len(raw)), pws(pwMain), Limits{MaxArgon2MemoryKiB: 32 << 10})
	assertCode(t, err, validate.FileTooLarge)
	if calls != 1 {
		t.Fatalf("ReadMessage called despite the limit")
	}
}

func TestUnwrapLimits(t *testing.T) {
	raw := readFixture(t, "gpg_nocomp.gpg")
	_, err := Unwrap(context.Background(), bytes.NewReader(raw), int64(len(raw)), pws(pwMain), Limits{MaxFileSize: 1000})
	assertCode(t, err, validate.FileTooLarge)
	_, err = Unwrap(context.Background(), bytes.NewReader(raw), int64(len(raw)), pws(pwMain), Limits{MaxPlainSize: 1000})
	assertCode(t, err, validate.FileTooLarge)
	comp := readFixture(t, "gpg_compressed.gpg")
	_, err = Unwrap(context.Background(), bytes.NewReader(comp), int64(len(comp)), pws(pwMain), Limits{MaxPlainSize: 1000})
	assertCode(t, err, validate.FileTooLarge)
	agile := readFixture(t, "octool_agile.xlsx")
	_, err = Unwrap(context.Background(), bytes.NewReader(agile), int64(len(agile)), pws(pwMain), Limits{MaxSpinCount: 1000})
	assertCode(t, err, validate.FileTooLarge)
	_, err = Unwrap(context.Background(), bytes.NewReader(agile), int64(len(agile)), pws(pwMain), Limits{MaxPlainSize: 1000})
	assertCode(t, err, validate.FileTooLarge)
}

func TestUnwrapCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	raw := readFixture(t, "octool_agile.xlsx")
	_, err := Unwrap(ctx, bytes.NewReader(raw), int64(len(raw)), pws(pwMain), Limits{})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want context.Canceled", err)
	}
}

func TestPlainCloseWipes(t *testing.T) {
	raw := readFixture(t, "octool_agile.xlsx")
	p, err := unwrapBytes(t, raw, pws(pwMain))
	if err != nil {
		t.Fatal(err)
	}
	buf := p.buf
	p.Close()
	for _, c := range buf {
		if c != 0 {
			t.Fatal("plaintext buffer not wiped")
		}
	}
	if p.Size != 0 {
		t.Fatal("size not reset")
	}
}

// TestDiagnosisLimits pins down what can and cannot be told apart (see the package report):
// damage to the bytes the key is derived from or checked with looks like a wrong password,
// because no format carries a checksum over its own key-derivation parameters.
func TestDiagnosisLimits(t *testing.T) {
	flip := func(b []byte, off int) []byte {
		c := append([]byte(nil), b...)
		c[off] ^= 0x01
		return c
	}
	gpgFile := readFixture(t, "gpg_nocomp.gpg") // 8c 0d 04 09 03 02 salt[8] count: salt at 6
	tests := []struct {
		name string
		b    []byte
		code validate.Code
	}{
		{"S2K salt flipped", flip(gpgFile, 6), validate.FileWrongPassword},
		{"SEIPD prefix check bytes flipped", flip(gpgFile, 15+3+1+16), validate.FileWrongPassword},
		{"SEIPD length flipped", flip(gpgFile, 16), validate.FileCorrupt},
		{"SEIPD body flipped", flip(gpgFile, 15+3+1+40), validate.FileIntegrity},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := unwrapBytes(t, tt.b, pws(pwMain))
			if err == nil {
				p.Close()
				t.Fatal("accepted")
			}
			assertCode(t, err, tt.code)
		})
	}
}
