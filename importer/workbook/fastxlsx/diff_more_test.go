package fastxlsx

import (
	"bytes"
	"context"
	"crypto/sha256"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/fhi/sysvak-import/fixtures/fixturegen"
	"github.com/fhi/sysvak-import/importer/decrypt"
	"github.com/fhi/sysvak-import/internal/secret"
)

// TestDifferentialDecrypted decrypts the encrypted fixtures (fixtures/encrypted/passwords.txt:
// Excel's own agile and standard files, officecrypto-tool, excelize, gpg and go-crypto layers)
// with importer/decrypt, as the pipeline does, and feeds each distinct plain workbook to both
// readers.
func TestDifferentialDecrypted(t *testing.T) {
	const dir = "../../../fixtures/encrypted"
	cases := []struct {
		file string
		pws  []string
	}{
		{"source.xlsx", nil},
		{"excel_agile_sha1.xlsx", []string{"password"}},
		{"excel_agile_sha512.xlsx", []string{"password"}},
		{"excel_standard.xlsx", []string{"password"}},
		{"octool_standard.xlsx", []string{"Sommer-Vaksine-2025"}},
		{"gpg_armor.asc", []string{"Sommer-Vaksine-2025"}},
	}
	seen := map[[32]byte]string{}
	ok := 0
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			f, err := os.Open(filepath.Join(dir, c.file))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			st, err := f.Stat()
			if err != nil {
				t.Fatal(err)
			}
			var pws []secret.Secret
			for _, p := range c.pws {
				pws = append(pws, secret.New([]byte(p)))
			}
			plain, err := decrypt.Unwrap(context.Background(), f, st.Size(), pws, decrypt.DefaultLimits())
			if err != nil {
				t.Fatalf("passwords.txt says this opens: %v", err)
			}
			defer plain.Close()
			data, err := io.ReadAll(io.NewSectionReader(plain.ReaderAt, 0, plain.Size))
			if err != nil {
				t.Fatal(err)
			}
			sum := sha256.Sum256(data)
			if prev, dup := seen[sum]; dup {
				t.Logf("same plain workbook as %s", prev)
				return
			}
			seen[sum] = c.file
			res := compareBooks(t, c.file, data)
			t.Logf("%s (layers %v): %s", c.file, plain.Layers, res)
			if res == "ok" {
				ok++
			}
		})
	}
	if ok < 3 {
		t.Errorf("fastxlsx read only %d distinct decrypted workbooks itself", ok)
	}
}

// TestDifferentialBenchWorkbooks compares the readers on small bench workbooks of both forms
// (fixturegen.WriteBench: the excelize StreamWriter's inline strings, and the shared-strings
// layout Excel writes).
func TestDifferentialBenchWorkbooks(t *testing.T) {
	for _, form := range []fixturegen.BenchForm{fixturegen.BenchInline, fixturegen.BenchSST} {
		var buf bytes.Buffer
		if err := fixturegen.WriteBench(&buf, 3000, form); err != nil {
			t.Fatal(err)
		}
		if res := compareBooks(t, string(form), buf.Bytes()); res != "ok" {
			t.Errorf("%s: want the fast reader to read it, got %s", form, res)
		}
	}
}

// TestDifferentialLibreOffice compares the readers on fixtures re-saved by LibreOffice Calc
// (testdata/libreoffice, made by its make.sh).
func TestDifferentialLibreOffice(t *testing.T) {
	files, _ := filepath.Glob("testdata/libreoffice/*.xlsx")
	if len(files) == 0 {
		t.Fatal("no files in testdata/libreoffice (run its make.sh)")
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		name := "libreoffice/" + filepath.Base(f)
		if res := compareBooks(t, name, data); res != "ok" {
			t.Errorf("%s: want the fast reader to read LibreOffice's file, got %s", name, res)
		}
	}
}
