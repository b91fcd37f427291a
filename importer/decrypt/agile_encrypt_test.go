package decrypt

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	"github.com/richardlehane/mscfb"
	"github.com/xuri/excelize/v2"

	"github.com/fhi/sysvak-import/internal/secret"
	"github.com/fhi/sysvak-import/internal/testtool"
	"github.com/fhi/sysvak-import/validate"
)

// TestEncryptOfficeAgileRoundTrip: the agile output is an encrypted workbook that this package
// (verifier, HMAC and all), excelize and mscfb read back to the same bytes; a wrong password is
// told apart.
func TestEncryptOfficeAgileRoundTrip(t *testing.T) {
	src := readFixture(t, "source.xlsx")
	pw := secret.New([]byte("Agile-Ærlig-42"))
	var out bytes.Buffer
	if err := EncryptOfficeAgile(context.Background(), src, pw, &out); err != nil {
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
	if !bytes.Equal(plainBytes(t, p), src) || !slices.Equal(p.Layers, []string{"office-agile"}) {
		t.Fatalf("round trip differs (layers %v)", p.Layers)
	}
	_, err = unwrapBytes(t, enc, pws("not-it"))
	assertCode(t, err, validate.FileWrongPassword)

	f, err := excelize.OpenReader(bytes.NewReader(enc), excelize.Options{Password: "Agile-Ærlig-42"})
	if err != nil {
		t.Fatalf("excelize: %v", err)
	}
	if len(f.GetSheetList()) == 0 {
		t.Error("excelize sees no sheet")
	}
	_ = f.Close()

	doc, err := mscfb.New(bytes.NewReader(enc))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for e, err := doc.Next(); err == nil; e, err = doc.Next() {
		names = append(names, e.Name)
	}
	slices.Sort(names)
	if !slices.Equal(names, []string{"EncryptedPackage", "EncryptionInfo"}) {
		t.Errorf("streams %v", names)
	}
}

// TestEncryptOfficeAgileSizes: small and chunk-boundary packages (mini stream and regular sectors).
func TestEncryptOfficeAgileSizes(t *testing.T) {
	for _, n := range []int{1, 100, 4095, 4096, 4097, 8192, 70000, 600000} {
		plain := bytes.Repeat([]byte{byte(n)}, n)
		out, err := writeAndRead(t, plain)
		if err != nil {
			t.Fatalf("%d bytes: %v", n, err)
		}
		if !bytes.Equal(out, plain) {
			t.Fatalf("%d bytes: round trip differs", n)
		}
	}
	if err := EncryptOfficeAgile(context.Background(), make([]byte, MaxAgileEncryptInput+1), secret.New([]byte("x")), &bytes.Buffer{}); !errors.Is(err, ErrAgileTooLarge) {
		t.Errorf("too large: %v", err)
	}
}

// writeAndRead encrypts arbitrary bytes and decrypts them with the package's own agile reader
// (not through Unwrap, which wants a workbook inside).
func writeAndRead(t *testing.T, plain []byte) ([]byte, error) {
	info, pkg, err := agileEncrypt(context.Background(), plain, []byte("pw"), randReader{})
	if err != nil {
		return nil, err
	}
	file, err := writeCFB([]cfbStream{{name: "EncryptionInfo", data: info}, {name: "EncryptedPackage", data: pkg}})
	if err != nil {
		return nil, err
	}
	gotInfo, gotPkg, err := oleStreams(bytes.NewReader(file), int64(len(file)), 1<<30)
	if err != nil {
		return nil, err
	}
	scheme, err := parseOfficeScheme(gotInfo, DefaultLimits())
	if err != nil {
		return nil, err
	}
	key, err := scheme.packageKey(context.Background(), []byte("pw"))
	if err != nil {
		return nil, err
	}
	return scheme.decryptPackage(key, gotPkg, DefaultLimits())
}

type randReader struct{}

func (randReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(i * 7)
	}
	return len(p), nil
}

// TestEncryptOfficeAgileMsoffcrypto checks the agile output with an independent reader, Debian's
// msoffcrypto-tool.
func TestEncryptOfficeAgileMsoffcrypto(t *testing.T) {
	tool := "/usr/bin/msoffcrypto-tool"
	if _, err := os.Stat(tool); err != nil {
		if tool, err = exec.LookPath("msoffcrypto-tool"); err != nil {
			testtool.Missing(t, "msoffcrypto-tool", "apt-get install -y python3-msoffcrypto-tool")
		}
	}
	src := readFixture(t, "source.xlsx")
	var out bytes.Buffer
	if err := EncryptOfficeAgile(context.Background(), src, secret.New([]byte("Msoff-Agile-42")), &out); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	in, dec := filepath.Join(dir, "enc.xlsx"), filepath.Join(dir, "dec.xlsx")
	if err := os.WriteFile(in, out.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	if b, err := exec.Command(tool, "-p", "Msoff-Agile-42", in, dec).CombinedOutput(); err != nil {
		t.Fatalf("msoffcrypto-tool: %v\n%s", err, b)
	}
	got, err := os.ReadFile(dec)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, src) {
		t.Fatal("msoffcrypto-tool decrypted something else")
	}
	if b, err := exec.Command(tool, "-p", "wrong", in, filepath.Join(dir, "x.xlsx")).CombinedOutput(); err == nil {
		t.Fatalf("msoffcrypto-tool accepted a wrong password: %s", b)
	}
}
