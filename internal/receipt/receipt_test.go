package receipt

import (
	"bytes"
	"context"
	"flag"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fhi/sysvak-import/importer"
	"github.com/fhi/sysvak-import/importer/report"
	"github.com/fhi/sysvak-import/validate"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

const (
	testFrom   = "kvittering@fhi.example"
	testSender = "vaksinator@legekontor.example"
)

var testDate = time.Date(2026, 11, 30, 9, 15, 0, 0, time.UTC)

// testOrigin is a message from a vaccinator, with a subject and attachment name that carry
// personal data (they must not reach the receipt).
func testOrigin() Origin {
	return Origin{MessageID: "<CAF1234.5678@legekontor.example>", From: testSender}
}

// fixtureReport validates a workbook of fixtures/files the way the pipeline does.
func fixtureReport(t testing.TB, name string) *report.Report {
	t.Helper()
	path := filepath.Join("..", "..", "fixtures", "files", name)
	rep, err := importer.Validate(context.Background(), importer.Input{Path: path, Name: name}, importer.Options{
		Check: validate.Options{Codes: validate.DefaultCodes(), AsOf: validate.Date{Year: 2026, Month: time.November, Day: 30}},
	})
	if err != nil {
		t.Fatal(err)
	}
	rep.Localize(validate.LangNB)
	return rep
}

type receiptCase struct {
	name string
	in   Input
	file string // the fixture the receipt is about ("" for none)
}

func receiptCases(t testing.TB) []receiptCase {
	base := func(k Kind, fileID string) Input {
		o := testOrigin()
		return Input{Kind: k, FileID: fileID, Origin: o, From: testFrom, To: testSender, Date: testDate}
	}
	var cases []receiptCase
	w := base(KindWaiting, "a1b2c3d4e5f60718")
	cases = append(cases, receiptCase{name: "waiting", in: w})
	w.WrongPassword = true
	cases = append(cases, receiptCase{name: "waiting_wrong_password", in: w})
	for _, f := range []struct{ name, file string }{
		{"processed_row_errors", "row-errors.xlsx"},
		{"processed_clean", "clean.xlsx"},
		{"processed_duplicates", "duplicates.xlsx"},
		{"processed_missing_column", "missing-column.xlsx"},
		{"processed_not_a_workbook", "not-a-workbook.xlsx"},
	} {
		rep := fixtureReport(t, f.file)
		in := base(KindProcessed, rep.FileID)
		in.Report = rep
		cases = append(cases, receiptCase{name: f.name, in: in, file: f.file})
	}
	rej := base(KindRejected, "")
	rej.Reasons = []Reason{{Code: validate.MailNoAttachment, Args: validate.Args{"detail": "Ola Nordmann 01025450058"}}}
	cases = append(cases, receiptCase{name: "rejected_no_attachment", in: rej})
	rej2 := base(KindRejected, "")
	rej2.Reasons = []Reason{
		{Code: validate.FileUnsupportedFormat, Attachment: 1, Args: validate.Args{"what": "a PDF named Kari Nordmann.pdf"}},
		{Code: validate.FileTooLarge, Attachment: 2, Args: validate.Args{"limit": "50 MiB"}},
	}
	cases = append(cases, receiptCase{name: "rejected_attachments", in: rej2})
	ann := cases[2].in
	ann.Annotated = &Annotated{Encrypted: []byte("stand-in for the encrypted workbook")}
	cases = append(cases, receiptCase{name: "processed_annotated", in: ann, file: "row-errors.xlsx"})
	return cases
}

func TestReceiptsGolden(t *testing.T) {
	for _, c := range receiptCases(t) {
		t.Run(c.name, func(t *testing.T) {
			m, err := Render(c.in)
			if err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", c.name+".eml")
			if *update {
				if err := os.WriteFile(golden, m.Data, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if !bytes.Equal(m.Data, want) {
				t.Errorf("receipt differs from %s (go test ./internal/receipt -update, then review the diff)", golden)
			}
			checkHeaders(t, m, c.in)
			checkPrivacy(t, m.Data)
		})
	}
}

// checkHeaders parses the receipt as a mail reader would and checks what SPEC 10 and RFC 3834 ask.
func checkHeaders(t *testing.T, m Message, in Input) {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(m.Data))
	if err != nil {
		t.Fatal(err)
	}
	h := msg.Header
	want := map[string]string{
		"Auto-Submitted": "auto-replied", "Message-Id": m.ID, "In-Reply-To": in.Origin.MessageID,
		"References": in.Origin.MessageID, "Mime-Version": "1.0",
	}
	for k, v := range want {
		if got := h.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	if to, _ := mail.ParseAddress(h.Get("To")); to == nil || to.Address != in.To {
		t.Errorf("To = %q", h.Get("To"))
	}
	if in.Kind != KindRejected && !strings.Contains(h.Get("Subject"), in.FileID) {
		t.Errorf("subject %q lacks the file id", h.Get("Subject"))
	}
	text := bodyText(t, h, msg.Body)
	nb, en, ok := strings.Cut(text, "---- English ----")
	if !ok || !strings.Contains(nb, "automatisk svar") || !strings.Contains(en, "automatic reply") {
		t.Errorf("the text is not Norwegian, then English:\n%s", text)
	}
	if in.Kind != KindRejected && (!strings.Contains(nb, in.FileID) || !strings.Contains(en, in.FileID)) {
		t.Error("the text does not name the file id in both languages")
	}
}

// bodyText returns the decoded text/plain part, and checks the MIME form on the way.
func bodyText(t *testing.T, h mail.Header, body io.Reader) string {
	t.Helper()
	mt, params, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil {
		t.Fatal(err)
	}
	if mt == "multipart/mixed" {
		mr := multipart.NewReader(body, params["boundary"])
		p, err := mr.NextRawPart()
		if err != nil {
			t.Fatal(err)
		}
		text := decodeText(t, p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), p)
		a, err := mr.NextRawPart()
		if err != nil {
			t.Fatal(err)
		}
		if a.FileName() == "" || !strings.HasSuffix(a.FileName(), ".xlsx") {
			t.Errorf("attachment file name %q", a.FileName())
		}
		return text
	}
	return decodeText(t, h.Get("Content-Type"), h.Get("Content-Transfer-Encoding"), body)
}

func decodeText(t *testing.T, ct, cte string, r io.Reader) string {
	t.Helper()
	if ct != "text/plain; charset=utf-8" || cte != "quoted-printable" {
		t.Errorf("text part: Content-Type %q, Content-Transfer-Encoding %q", ct, cte)
	}
	b, err := io.ReadAll(quotedprintable.NewReader(r))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestIDIsStablePerMessageAndOutcome(t *testing.T) {
	o := testOrigin()
	a := ID(KindWaiting, "a1b2c3d4e5f60718", o, testFrom)
	if a != ID(KindWaiting, "a1b2c3d4e5f60718", o, testFrom) {
		t.Fatal("the same receipt got two ids")
	}
	other := o
	other.MessageID = "<other@legekontor.example>"
	for _, b := range []string{
		ID(KindProcessed, "a1b2c3d4e5f60718", o, testFrom),
		ID(KindWaiting, "fedcba9876543210", o, testFrom),
		ID(KindWaiting, "a1b2c3d4e5f60718", other, testFrom),
	} {
		if b == a {
			t.Errorf("different receipts share the id %s", a)
		}
	}
	if !strings.HasSuffix(a, "@fhi.example>") || !strings.HasPrefix(a, "<receipt.") {
		t.Errorf("id %q", a)
	}
	noID := Origin{Ref: "INBOX/7/42"}
	if ID(KindRejected, "", noID, testFrom) == ID(KindRejected, "", Origin{Ref: "INBOX/7/43"}, testFrom) {
		t.Error("messages without Message-ID share a receipt id")
	}
}

func TestRenderRefusesIncompleteInput(t *testing.T) {
	ok := Input{Kind: KindWaiting, FileID: "a1b2c3d4e5f60718", From: testFrom, To: testSender, Date: testDate}
	for name, mut := range map[string]func(*Input){
		"no recipient":         func(in *Input) { in.To = "" },
		"bad file id":          func(in *Input) { in.FileID = "Kari.xlsx" },
		"processed, no report": func(in *Input) { in.Kind = KindProcessed },
		"rejected, no reason":  func(in *Input) { in.Kind = KindRejected },
		"unknown kind":         func(in *Input) { in.Kind = "other" },
	} {
		in := ok
		mut(&in)
		if _, err := Render(in); err == nil {
			t.Errorf("%s: rendered", name)
		}
	}
	if _, err := Render(ok); err != nil {
		t.Fatal(err)
	}
}

func TestSafeMessageLeavesValuesOut(t *testing.T) {
	for _, f := range []validate.Finding{
		{Row: 4, Column: "vaccination_date", Code: validate.DateFormat, Value: "neste tirsdag"},
		{Row: 5, Column: "sysvak_code", Code: validate.CodeUnknown, Value: "ZZZ99"},
		{Row: 6, Column: "vaccination_date", Code: validate.DateBeforeBirth, Value: "01.06.2014", Args: validate.Args{"birth": "26.11.2015"}},
		{Row: 0, Column: "", Code: validate.HeaderUnknownColumn, Args: validate.Args{"column": "Kari Nordmanns notater"}},
		{Row: 0, Code: validate.FileColumnMissing, Args: validate.Args{"column": "Vaksinekode", "headers": "Navn, Ola"}},
	} {
		for _, lang := range []string{validate.LangNB, validate.LangEN} {
			s := SafeMessage(lang, f)
			for _, bad := range []string{"neste tirsdag", "ZZZ99", "01.06.2014", "26.11.2015", "261115", "Kari", "Ola", "«»", `""`, "  "} {
				if strings.Contains(s, bad) {
					t.Errorf("%s %s: %q contains %q", lang, f.Code, s, bad)
				}
			}
			if s == "" {
				t.Errorf("%s %s: empty message", lang, f.Code)
			}
		}
	}
	if s := SafeMessage(validate.LangNB, validate.Finding{Code: validate.FileColumnMissing, Args: validate.Args{"column": "Vaksinekode"}}); !strings.Contains(s, "Vaksinekode") {
		t.Errorf("a missing column of our own layout is not named: %q", s)
	}
}
