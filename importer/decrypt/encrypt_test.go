package decrypt

import (
	"bytes"
	"context"
	"errors"
	"github.com/fhi/sysvak-import/internal/testtool"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/fhi/sysvak-import/internal/secret"
	"github.com/fhi/sysvak-import/validate"
)

func TestEncryptOfficeRoundTrip(t *testing.T) {
	src := readFixture(t, "source.xlsx")
	pw, err := GeneratePassword()
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := EncryptOffice(context.Background(), bytes.NewReader(src), int64(len(src)), pw, &out); err != nil {
		t.Fatal(err)
	}
	enc := out.Bytes()
	if f := Sniff(enc); f.Kind != OfficeEncrypted {
		t.Fatalf("output sniffs as %v", f)
	}
	p, err := unwrapBytes(t, enc, []secret.Secret{pw})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if !bytes.Equal(plainBytes(t, p), src) || !slices.Equal(p.Layers, []string{"office-standard"}) {
		t.Fatalf("round trip differs (layers %v)", p.Layers)
	}
	_, err = unwrapBytes(t, enc, pws("not-it"))
	assertCode(t, err, validate.FileWrongPassword)
}

func TestEncryptOfficeRefusesNonWorkbook(t *testing.T) {
	for _, name := range []string{"sample.pdf", "octool_agile.xlsx", "archive.zip"} {
		b := readFixture(t, name)
		err := EncryptOffice(context.Background(), bytes.NewReader(b), int64(len(b)), secret.New([]byte("x")), &bytes.Buffer{})
		assertCode(t, err, validate.FileUnsupportedFormat)
	}
	b := readFixture(t, "source.xlsx")
	if err := EncryptOffice(context.Background(), bytes.NewReader(b), int64(len(b)), secret.Secret{}, &bytes.Buffer{}); !errors.Is(err, secret.ErrEmpty) {
		t.Fatalf("empty password: %v", err)
	}
}

// TestEncryptOfficeMsoffcrypto checks the Office output with an independent reader, Debian's
// msoffcrypto-tool (python3-msoffcrypto-tool), as issue 3 asks.
func TestEncryptOfficeMsoffcrypto(t *testing.T) {
	tool := "/usr/bin/msoffcrypto-tool"
	if _, err := os.Stat(tool); err != nil {
		if tool, err = exec.LookPath("msoffcrypto-tool"); err != nil {
			testtool.Missing(t, "msoffcrypto-tool", "apt-get install -y python3-msoffcrypto-tool")
		}
	}
	src := readFixture(t, "source.xlsx")
	pw := secret.New([]byte("Msoff-Test-42"))
	var out bytes.Buffer
	if err := EncryptOffice(context.Background(), bytes.NewReader(src), int64(len(src)), pw, &out); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	in, dec := filepath.Join(dir, "enc.xlsx"), filepath.Join(dir, "dec.xlsx")
	if err := os.WriteFile(in, out.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(tool, "-p", "Msoff-Test-42", in, dec)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("msoffcrypto-tool: %v\n%s", err, b)
	}
	got, err := os.ReadFile(dec)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, src) {
		t.Fatalf("msoffcrypto-tool decrypted %d bytes, want source.xlsx (%d)", len(got), len(src))
	}
}

func TestEncryptPGPRoundTrip(t *testing.T) {
	src := readFixture(t, "source.xlsx")
	for _, armored := range []bool{false, true} {
		pw, err := GeneratePassword()
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		if err := EncryptPGP(context.Background(), bytes.NewReader(src), pw, &out, armored); err != nil {
			t.Fatal(err)
		}
		enc := out.Bytes()
		if armored != strings.HasPrefix(string(enc), "-----BEGIN PGP MESSAGE-----") {
			t.Fatalf("armor=%v but output starts %q", armored, enc[:min(len(enc), 20)])
		}
		s, err := scanOf(enc)
		if err != nil {
			t.Fatal(err)
		}
		if s.dataVer != 1 || len(s.skesk) != 1 {
			t.Fatalf("want SEIPD v1 + one SKESK (gpg 2.2 compatible), got v%d, %d SKESK", s.dataVer, len(s.skesk))
		}
		p, err := unwrapBytes(t, enc, []secret.Secret{pw})
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(plainBytes(t, p), src) {
			t.Fatal("round trip differs")
		}
		p.Close()
		_, err = unwrapBytes(t, enc, pws("not-it"))
		assertCode(t, err, validate.FileWrongPassword)
	}
}

// TestEncryptPGPReadableByGPG decrypts EncryptPGP's output with gpg when it is installed.
func TestEncryptPGPReadableByGPG(t *testing.T) {
	gpg, err := exec.LookPath("gpg")
	if err != nil {
		testtool.Missing(t, "gpg", "apt-get install -y gnupg")
	}
	src := readFixture(t, "source.xlsx")
	var out bytes.Buffer
	if err := EncryptPGP(context.Background(), bytes.NewReader(src), secret.New([]byte("Gpg-Test-42")), &out, false); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	home := filepath.Join(dir, "gnupg")
	if err := os.Mkdir(home, 0o700); err != nil {
		t.Fatal(err)
	}
	in, dec := filepath.Join(dir, "in.gpg"), filepath.Join(dir, "out.xlsx")
	if err := os.WriteFile(in, out.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(gpg, "--batch", "--quiet", "--pinentry-mode", "loopback", "--passphrase", "Gpg-Test-42", "-o", dec, "--decrypt", in)
	cmd.Env = append(os.Environ(), "GNUPGHOME="+home)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("gpg: %v\n%s", err, b)
	}
	got, _ := os.ReadFile(dec)
	if !bytes.Equal(got, src) {
		t.Fatal("gpg decrypted something else")
	}
}

func scanOf(b []byte) (*pgpScan, error) {
	bin := b
	if !looksLikePGPBinary(b) {
		var err error
		if bin, err = dearmor(b); err != nil {
			return nil, err
		}
	}
	return preScan(bin, DefaultLimits())
}

func TestGeneratePassword(t *testing.T) {
	seen := map[string]bool{}
	counts := map[rune]int{}
	const n = 2000
	for i := 0; i < n; i++ {
		s, err := GeneratePassword()
		if err != nil {
			t.Fatal(err)
		}
		p := string(s.Bytes())
		if len(p) != GeneratedPasswordLen || len(p) < 12 {
			t.Fatalf("length %d", len(p))
		}
		if strings.ContainsAny(p, "0O1lI") {
			t.Fatalf("ambiguous character in a generated password")
		}
		for _, r := range p {
			if !strings.ContainsRune(PasswordAlphabet, r) {
				t.Fatalf("character outside the alphabet")
			}
			counts[r]++
		}
		if seen[p] {
			t.Fatal("repeated password")
		}
		seen[p] = true
	}
	// Uniformity: each of the 57 symbols is expected 2000*16/57 ≈ 561 times; allow ±25 %.
	exp := float64(n*GeneratedPasswordLen) / float64(len(PasswordAlphabet))
	for _, r := range PasswordAlphabet {
		if c := float64(counts[r]); c < 0.75*exp || c > 1.25*exp {
			t.Errorf("symbol %q drawn %v times, expected about %.0f", r, c, exp)
		}
	}
}

// The rejection sampling never maps a byte >= 228 (= 4*57) to a symbol: feed only such bytes
// followed by zeros and check the result is all PasswordAlphabet[0].
func TestGeneratePasswordRejectsBiasedBytes(t *testing.T) {
	src := bytes.NewReader(append(bytes.Repeat([]byte{255, 250, 228}, 20), make([]byte, 64)...))
	s, err := generatePassword(src)
	if err != nil {
		t.Fatal(err)
	}
	if string(s.Bytes()) != strings.Repeat(PasswordAlphabet[:1], GeneratedPasswordLen) {
		t.Fatalf("biased bytes were used")
	}
	if _, err := generatePassword(bytes.NewReader(nil)); err == nil {
		t.Fatal("no error from an empty random source")
	}
}
