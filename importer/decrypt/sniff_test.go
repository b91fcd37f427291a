package decrypt

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/fhi/sysvak-import/validate"
)

func TestDetectFixtures(t *testing.T) {
	tests := []struct {
		file string
		kind Kind
		what string // substring of Format.What
	}{
		{"source.xlsx", PlainWorkbook, "workbook"},
		{"excel_agile_sha1.xlsx", OfficeEncrypted, "encrypted"},
		{"excel_standard.xlsx", OfficeEncrypted, "encrypted"},
		{"octool_agile.xlsx", OfficeEncrypted, "encrypted"},
		{"excelize_standard.xlsx", OfficeEncrypted, "encrypted"},
		{"gpg_default.gpg", OpenPGP, "OpenPGP"},
		{"gpg_armor.asc", OpenPGP, "armored"},
		{"gpg_rfc2440_nomdc.gpg", OpenPGP, "OpenPGP"},
		{"gocrypto_aead_argon2.gpg", OpenPGP, "OpenPGP"},
		{"bomb_argon2_v4.gpg", OpenPGP, "OpenPGP"},
		{"legacy.xls", LegacyXLS, ".xls"},
		{"sample.pdf", Unsupported, "PDF"},
		{"sample.csv", Unsupported, "CSV"},
		{"sample.ods", Unsupported, "OpenDocument spreadsheet"},
		{"archive.zip", Unsupported, "ZIP archive of 2 files"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			b := readFixture(t, tt.file)
			f, err := Detect(context.Background(), bytes.NewReader(b), int64(len(b)))
			if err != nil {
				t.Fatal(err)
			}
			if f.Kind != tt.kind || !strings.Contains(f.What, tt.what) {
				t.Fatalf("Detect = %v %q, want %v ~%q", f.Kind, f.What, tt.kind, tt.what)
			}
			// Sniff agrees on the kind for everything but what needs the directory.
			s := Sniff(b[:min(len(b), SniffLen)])
			if s.Kind != tt.kind && tt.file != "archive.zip" {
				t.Errorf("Sniff = %v %q, want %v", s.Kind, s.What, tt.kind)
			}
		})
	}
}

func TestSniffHeads(t *testing.T) {
	tests := []struct {
		name string
		head string
		kind Kind
		what string
	}{
		{"empty", "", Unsupported, "empty file"},
		{"pdf", "%PDF-1.7\n", Unsupported, "PDF"},
		{"png", "\x89PNG\r\n\x1a\n\x00\x00", Unsupported, "PNG"},
		{"jpeg", "\xFF\xD8\xFF\xE0\x00\x10JFIF", Unsupported, "JPEG"},
		{"gif", "GIF89a\x01\x00", Unsupported, "GIF"},
		{"html", "\xEF\xBB\xBF  <!DOCTYPE html><html>", Unsupported, "HTML"},
		{"html2", "<HTML><body>", Unsupported, "HTML"},
		{"xml2003", "<?xml version=\"1.0\"?><Workbook xmlns=\"urn:schemas-microsoft-com:office:spreadsheet\">", Unsupported, "Excel 2003 XML"},
		{"csv", "Fnr;Dato;Kode\n1;2;3\n", Unsupported, "CSV"},
		{"tsv", "Fnr\tDato\n", Unsupported, "CSV"},
		{"latin1 csv", "F\xf8dselsnummer;Navn\n", Unsupported, "CSV"},
		{"text", "hello there\n", Unsupported, "text file"},
		{"utf16", "\xFF\xFEa\x00", Unsupported, "UTF-16"},
		{"binary", "\x00\x01\x02\x03\x04", Unsupported, "binary"},
		{"armored", "\r\n  -----BEGIN PGP MESSAGE-----\n\njA0E", OpenPGP, "armored"},
		{"pgp key", "-----BEGIN PGP PUBLIC KEY BLOCK-----\n", Unsupported, "key or signature"},
		{"skesk old", "\x8c\x0d\x04\x09\x03\x02", OpenPGP, "OpenPGP"},
		{"skesk new", "\xc3\x1e\x04\x09\x04", OpenPGP, "OpenPGP"},
		{"skesk bad version", "\x8c\x0d\x09\x09", Unsupported, ""},
		{"empty zip", "PK\x05\x06\x00\x00", Unsupported, "empty ZIP"},
		{"zip", "PK\x03\x04\x14\x00", PlainWorkbook, "ZIP"},
		{"ole encrypted", "\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1....E\x00n\x00c\x00r\x00y\x00p\x00t\x00i\x00o\x00n\x00I\x00n\x00f\x00o\x00", OfficeEncrypted, "encrypted"},
		{"ole doc", "\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1....W\x00o\x00r\x00d\x00D\x00o\x00c\x00u\x00m\x00e\x00n\x00t\x00", Unsupported, "Word"},
		{"ole", "\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1", OfficeEncrypted, "OLE"},
		{"ole xls", "\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1..W\x00o\x00r\x00k\x00b\x00o\x00o\x00k\x00", LegacyXLS, ".xls"},
		{"gzip", "\x1f\x8b\x08\x00", Unsupported, "gzip"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := Sniff([]byte(tt.head))
			if f.Kind != tt.kind || !strings.Contains(f.What, tt.what) {
				t.Fatalf("Sniff = %v %q, want %v ~%q", f.Kind, f.What, tt.kind, tt.what)
			}
			if f.What == "" {
				t.Error("empty description")
			}
		})
	}
}

func TestFormatCode(t *testing.T) {
	if (Format{Kind: LegacyXLS}).Code() != validate.FileLegacyXLS ||
		(Format{Kind: Unsupported}).Code() != validate.FileUnsupportedFormat ||
		(Format{Kind: OpenPGP}).Code() != "" {
		t.Fatal("Format.Code mapping")
	}
}

func TestDetectDamagedZip(t *testing.T) {
	b := readFixture(t, "source.xlsx")
	cut := b[:len(b)-30] // the end-of-central-directory record is gone
	_, err := Detect(context.Background(), bytes.NewReader(cut), int64(len(cut)))
	assertCode(t, err, validate.FileCorrupt)
	p, err := unwrapBytes(t, cut, nil)
	if err == nil {
		p.Close()
	}
	assertCode(t, err, validate.FileCorrupt)
}

func FuzzDetect(f *testing.F) {
	for _, name := range []string{"source.xlsx", "legacy.xls", "sample.ods", "archive.zip", "gpg_armor.asc", "gpg_default.gpg", "sample.csv"} {
		f.Add(readFixture(f, name))
	}
	f.Add([]byte("PK\x03\x04"))
	f.Add([]byte("\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1"))
	f.Fuzz(func(t *testing.T, b []byte) {
		s := Sniff(b)
		if s.What == "" {
			t.Fatal("Sniff gave no description")
		}
		d, err := Detect(context.Background(), bytes.NewReader(b), int64(len(b)))
		if err != nil {
			if CodeOf(err) == "" {
				t.Fatalf("Detect error is not a *decrypt.Error: %v", err)
			}
			return
		}
		if d.What == "" {
			t.Fatal("Detect gave no description")
		}
	})
}
