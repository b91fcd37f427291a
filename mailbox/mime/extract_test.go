package mime

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fhi/sysvak-import/fixtures/mail/mailgen"
)

// testSniffer is the local content sniffer of the brief: zip, OLE, OpenPGP packet tags or armor.
func testSniffer(head []byte) (bool, string) {
	switch {
	case bytes.HasPrefix(head, []byte("PK\x03\x04")):
		return true, "zip"
	case bytes.HasPrefix(head, []byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1}):
		return true, "ole"
	case len(head) > 0 && (head[0] == 0x8C || head[0] == 0xC3):
		return true, "openpgp"
	case bytes.HasPrefix(head, []byte("-----BEGIN PGP MESSAGE-----")):
		return true, "openpgp"
	}
	return false, Describe(head)
}

func sum(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

func extract(t *testing.T, raw []byte, lim Limits) ([]Attachment, []Skipped, string) {
	t.Helper()
	dir := t.TempDir()
	atts, sk, err := Extract(context.Background(), bytes.NewReader(raw), lim, testSniffer, dir)
	if err != nil {
		t.Fatalf("Extract: %v", err)
	}
	return atts, sk, dir
}

// TestCorpus runs the extractor over every committed fixtures/mail/*.eml (the mailgen corpus)
// and checks the exact bytes taken (by SHA-256, read back from the temp files) and the skips.
func TestCorpus(t *testing.T) {
	for _, c := range mailgen.Corpus() {
		t.Run(c.Name, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join("..", "..", "fixtures", "mail", c.Name+".eml"))
			if err != nil {
				t.Fatal(err)
			}
			atts, sk, _ := extract(t, raw, Limits{})
			if len(atts) != len(c.Want) {
				t.Fatalf("got %d attachments, want %d (skipped %+v)", len(atts), len(c.Want), sk)
			}
			for i, a := range atts {
				data, err := os.ReadFile(a.Path)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(data, c.Want[i]) || a.SHA256 != sum(c.Want[i]) || a.Size != int64(len(c.Want[i])) {
					t.Errorf("attachment %d: content/hash/size mismatch", i)
				}
				if a.FileID() != a.SHA256[:16] {
					t.Errorf("file id %q", a.FileID())
				}
				fi, err := os.Stat(a.Path)
				if err != nil || fi.Mode().Perm() != 0o600 {
					t.Errorf("temp file mode %v, %v", fi.Mode(), err)
				}
			}
			var reasons []string
			for _, s := range sk {
				reasons = append(reasons, string(s.Reason))
			}
			if strings.Join(reasons, ",") != strings.Join(c.WantSkipped, ",") {
				t.Errorf("skipped %v, want %v", reasons, c.WantSkipped)
			}
		})
	}
}

func TestFileNames(t *testing.T) {
	want := map[string][]string{
		"base64_xlsx":          {"vaksinasjoner.xlsx"},
		"inline_apple":         {"Vaksiner Ålesund.xlsx"}, // RFC 2231, Content-Disposition: inline
		"rfc2047_name":         {"Vaksiner Ålesund.xlsx"}, // RFC 2047 encoded word
		"ctype_name_only":      {"data.bin"},              // a workbook called data.bin is taken
		"several":              {"a.xlsx", "b.asc", "c.xlsx"},
		"forwarded":            {"vaksinasjoner.xlsx"},
		"hostile_name":         {"passwd"},
		"bare_single_part":     {"fil.gpg"},
		"octet_stream_gpg":     {"vaksiner.xlsx.gpg"},
		"alternative_in_mixed": {"fil.xlsx"},
	}
	for _, c := range mailgen.Corpus() {
		w, ok := want[c.Name]
		if !ok {
			continue
		}
		t.Run(c.Name, func(t *testing.T) {
			atts, _, _ := extract(t, c.Msg.Bytes(), Limits{})
			var got []string
			for _, a := range atts {
				got = append(got, a.FileName)
			}
			if strings.Join(got, "|") != strings.Join(w, "|") {
				t.Errorf("names %q, want %q", got, w)
			}
		})
	}
}

func TestSkippedDetails(t *testing.T) {
	var pdfCase mailgen.Case
	for _, c := range mailgen.Corpus() {
		if c.Name == "pdf_named_xlsx" {
			pdfCase = c
		}
	}
	_, sk, _ := extract(t, pdfCase.Msg.Bytes(), Limits{})
	if len(sk) != 1 || sk[0].Reason != ReasonUnsupported || sk[0].What != "pdf" || sk[0].FileName != "vaksiner.xlsx" || sk[0].Size != 900 {
		t.Fatalf("a PDF named .xlsx: got %+v", sk)
	}
}

func TestSizeLimit(t *testing.T) {
	big := mailgen.Content("zip", 7, 10000)
	small := mailgen.Content("ole", 8, 100)
	for _, tc := range []struct {
		name  string
		limit int64
		take  int
	}{
		{"both fit", 10000, 2},
		{"big over by one", 9999, 1},
		{"head alone over", 50, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			msg := mailgen.Message{Subject: "size", Attachments: []mailgen.Attachment{{Name: "big.xlsx", Data: big}, {Name: "small.xlsx", Data: small}}}
			atts, sk, dir := extract(t, msg.Bytes(), Limits{MaxAttachmentSize: tc.limit})
			if len(atts) != tc.take {
				t.Fatalf("took %d, want %d (%+v)", len(atts), tc.take, sk)
			}
			for _, s := range sk {
				if s.Reason != ReasonTooLarge || s.Size <= tc.limit {
					t.Errorf("skip %+v", s)
				}
			}
			ents, _ := os.ReadDir(dir)
			if len(ents) != len(atts) {
				t.Errorf("%d files left in the temp folder, want %d", len(ents), len(atts))
			}
		})
	}
}

func TestPartAndDepthLimits(t *testing.T) {
	x := mailgen.Content("zip", 9, 200)
	var atts []mailgen.Attachment
	for i := 0; i < 10; i++ {
		atts = append(atts, mailgen.Attachment{Name: "f.xlsx", Data: append([]byte(nil), append(x, byte(i))...)})
	}
	msg := mailgen.Message{Subject: "many", Attachments: atts}
	got, sk, _ := extract(t, msg.Bytes(), Limits{MaxParts: 5}) // root + text + 3 attachments
	if len(got) != 3 || len(sk) != 1 || sk[0].Reason != ReasonTooManyParts {
		t.Fatalf("MaxParts 5: %d taken, skipped %+v", len(got), sk)
	}
	// forwarded 4 deep
	inner := &mailgen.Message{Subject: "d0", Attachments: []mailgen.Attachment{{Name: "deep.xlsx", Data: x}}}
	for i := 1; i < 4; i++ {
		inner = &mailgen.Message{Subject: "fwd", Forward: inner}
	}
	raw := inner.Bytes()
	got, _, _ = extract(t, raw, Limits{})
	if len(got) != 1 {
		t.Fatalf("deep forward with default depth: %d taken", len(got))
	}
	got, sk, _ = extract(t, raw, Limits{MaxDepth: 3})
	if len(got) != 0 || len(sk) != 1 || sk[0].Reason != ReasonTooDeep {
		t.Fatalf("MaxDepth 3: %d taken, %+v", len(got), sk)
	}
}

func TestMalformed(t *testing.T) {
	x := mailgen.Content("zip", 10, 300)
	good := mailgen.Message{Subject: "ok", Attachments: []mailgen.Attachment{{Name: "a.xlsx", Data: x}}}.Bytes()
	for _, tc := range []struct {
		name string
		raw  []byte
		take int
		skip Reason
	}{
		{"empty", nil, 0, ""},
		{"not mime", []byte("\x00\x01garbage without header end"), 0, ""},
		{"truncated multipart", good[:len(good)-40], 0, ReasonUnreadable},
		{"bad base64", bytes.Replace(good, []byte("Content-Transfer-Encoding: base64\r\n\r\nUEsDB"), []byte("Content-Transfer-Encoding: base64\r\n\r\n!!!!!"), 1), 0, ReasonUnreadable},
		{"unknown encoding", bytes.Replace(good, []byte("Content-Transfer-Encoding: base64"), []byte("Content-Transfer-Encoding: x-uuencode"), 1), 0, ReasonUnreadable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			atts, sk, _ := extract(t, tc.raw, Limits{})
			if len(atts) != tc.take {
				t.Errorf("took %d", len(atts))
			}
			if tc.skip != "" {
				found := false
				for _, s := range sk {
					found = found || s.Reason == tc.skip
				}
				if !found {
					t.Errorf("skips %+v, want one %s", sk, tc.skip)
				}
			}
		})
	}
}

type failAfter struct {
	r io.Reader
	n int
}

var errNet = errors.New("connection reset")

func (f *failAfter) Read(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, errNet
	}
	if len(p) > f.n {
		p = p[:f.n]
	}
	n, err := f.r.Read(p)
	f.n -= n
	return n, err
}

// A dropped connection in the middle of a message is an error (retry), not a malformed message,
// and leaves no temp files behind.
func TestSourceError(t *testing.T) {
	msg := mailgen.Message{Subject: "x", Attachments: []mailgen.Attachment{
		{Name: "a.xlsx", Data: mailgen.Content("zip", 11, 2000)},
		{Name: "b.xlsx", Data: mailgen.Content("zip", 12, 20000)}}}.Bytes()
	dir := t.TempDir()
	atts, sk, err := Extract(context.Background(), &failAfter{r: bytes.NewReader(msg), n: len(msg) - 5000}, Limits{}, testSniffer, dir)
	if !errors.Is(err, ErrSource) || !errors.Is(err, errNet) || atts != nil || sk != nil {
		t.Fatalf("err %v atts %d", err, len(atts))
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Fatalf("%d temp files left", len(ents))
	}
}

func TestCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	msg := mailgen.Message{Subject: "x", Attachments: []mailgen.Attachment{{Name: "a.xlsx", Data: mailgen.Content("zip", 1, 100)}}}.Bytes()
	_, _, err := Extract(ctx, bytes.NewReader(msg), Limits{}, testSniffer, t.TempDir())
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v", err)
	}
}

func TestSanitizeFileName(t *testing.T) {
	long := strings.Repeat("å", 100) + ".xlsx"
	for _, tc := range []struct{ in, want string }{
		{"Vaksiner Ålesund.xlsx", "Vaksiner Ålesund.xlsx"},
		{"../../etc/passwd", "passwd"},
		{`C:\Users\ola\Desktop\fil.xlsx`, "fil.xlsx"},
		{"a\x00b\x1b[31m.xlsx", "ab[31m.xlsx"},
		{"gnp\u202Exlsx.exe", "gnpxlsx.exe"},
		{"..", "attachment"},
		{"", "attachment"},
		{"  .hidden  ", "hidden"},
		{"a\tb\nc.xlsx", "a b c.xlsx"},
		{"what?.xlsx", "what_.xlsx"},
		{"bad\xff\xfeutf8.xlsx", "badutf8.xlsx"},
	} {
		if got := SanitizeFileName(tc.in); got != tc.want {
			t.Errorf("SanitizeFileName(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	got := SanitizeFileName(long)
	if len(got) > MaxFileNameBytes || !strings.HasSuffix(got, ".xlsx") || !strings.HasPrefix(got, "å") {
		t.Errorf("long name: %q (%d bytes)", got, len(got))
	}
}

func TestExtension(t *testing.T) {
	for in, want := range map[string]string{"Kari Nordmann.XLSX": "xlsx", "a.tar.gz": "gz", "noext": "", "x.ÅÅ": "", "x.": "", "f.verylongextension": ""} {
		if got := Extension(in); got != want {
			t.Errorf("Extension(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestMagicSniffer(t *testing.T) {
	x, err := mailgen.XLSX(2)
	if err != nil {
		t.Fatal(err)
	}
	p, err := mailgen.OpenPGP(x, []byte("pw"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		head []byte
		ok   bool
		what string
	}{
		{"real xlsx", x, true, "zip"},
		{"real gpg --symmetric", p, true, "openpgp"},
		{"ole", mailgen.Content("ole", 1, 600), true, "ole"},
		{"armor with BOM", append([]byte("\xEF\xBB\xBF\r\n"), mailgen.Content("armor", 1, 100)...), true, "openpgp"},
		{"pdf", mailgen.Content("pdf", 1, 100), false, "pdf"},
		{"png", mailgen.Content("png", 1, 100), false, "png"},
		{"csv", []byte("a;b;c\n1;2;3\n"), false, "text"},
		{"html", []byte("<!DOCTYPE html><html>"), false, "html"},
		{"empty", nil, false, "empty"},
		{"high bit but not pgp", []byte{0x8C, 0x01, 0x99}, false, "unknown"},
		{"new-format SKESK v6", []byte{0xC3, 0x20, 0x06, 0x01}, true, "openpgp"},
	} {
		ok, what := MagicSniffer(tc.head)
		if ok != tc.ok || what != tc.what {
			t.Errorf("%s: got %v %q, want %v %q", tc.name, ok, what, tc.ok, tc.what)
		}
	}
}

// FuzzAttachments: no panic on any input, output bounded by the limits, every file reported is
// on disk with the reported size and hash, nothing else left in the temp folder.
func FuzzAttachments(f *testing.F) {
	for _, c := range mailgen.Corpus() {
		f.Add(c.Msg.Bytes())
	}
	f.Add([]byte("Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\nContent-Type: message/rfc822\r\n\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\n"))
	f.Add([]byte("Content-Type: text/plain; name*0*=utf-8''%C3; name*1*=%85.xlsx\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nPK=03=04=\r\n"))
	lim := Limits{MaxAttachmentSize: 1 << 16, MaxParts: 32, MaxDepth: 4}
	f.Fuzz(func(t *testing.T, raw []byte) {
		dir := t.TempDir()
		atts, sk, err := Extract(context.Background(), bytes.NewReader(raw), lim, MagicSniffer, dir)
		if err != nil {
			t.Fatalf("error on an in-memory source: %v", err)
		}
		if len(atts)+len(sk) > lim.MaxParts+1 {
			t.Fatalf("%d outputs over MaxParts", len(atts)+len(sk))
		}
		for _, a := range atts {
			data, err := os.ReadFile(a.Path)
			if err != nil || int64(len(data)) != a.Size || a.Size > lim.MaxAttachmentSize || sum(data) != a.SHA256 {
				t.Fatalf("attachment %+v inconsistent (%v)", a, err)
			}
			if strings.ContainsAny(a.FileName, "/\\\x00") || len(a.FileName) > MaxFileNameBytes {
				t.Fatalf("unsafe name %q", a.FileName)
			}
		}
		if ents, _ := os.ReadDir(dir); len(ents) != len(atts) {
			t.Fatalf("%d files in temp folder, %d attachments", len(ents), len(atts))
		}
	})
}
