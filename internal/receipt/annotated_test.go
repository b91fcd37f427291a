package receipt

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/fhi/sysvak-import/importer/annotate"
	"github.com/fhi/sysvak-import/importer/decrypt"
	"github.com/fhi/sysvak-import/internal/secret"
	"github.com/fhi/sysvak-import/internal/smtptest"
)

// TestAnnotatedReceiptCarriesTheEncryptedMarkedCopy: under --receipts annotated a processed file
// with findings gets its annotated workbook attached, agile-encrypted under the file's password;
// the mail as delivered by a real SMTP server opens with that password (and only with it), shows
// the Funn sheet, and the receipt's text still carries no personal data.
func TestAnnotatedReceiptCarriesTheEncryptedMarkedCopy(t *testing.T) {
	rep := fixtureReport(t, "row-errors.xlsx")
	plain, err := os.ReadFile(filepath.Join("..", "..", "fixtures", "files", "row-errors.xlsx"))
	if err != nil {
		t.Fatal(err)
	}
	pw := secret.New([]byte("SMS-passord-77"))
	ann, err := AnnotatedFor(context.Background(), bytes.NewReader(plain), int64(len(plain)), rep.Findings, pw)
	if err != nil || ann == nil {
		t.Fatalf("AnnotatedFor: %v", err)
	}
	if none, err := AnnotatedFor(context.Background(), bytes.NewReader(plain), int64(len(plain)), rep.Findings, secret.Secret{}); none != nil || err != nil {
		t.Fatal("a file without a password got an attachment")
	}
	in := receiptCases(t)[2].in
	in.Annotated = ann
	m, err := Render(in)
	if err != nil {
		t.Fatal(err)
	}
	srv := smtptest.Start(t, smtptest.Options{TLS: smtptest.TLSImplicit})
	if err := tlsSender(t, srv).Send(context.Background(), m.From, m.To, m.Data); err != nil {
		t.Fatal(err)
	}
	got := srv.Messages()[0]
	checkPrivacy(t, got.Raw)
	att := attachmentOf(t, got.Raw)
	if f := decrypt.Sniff(att); f.Kind != decrypt.OfficeEncrypted {
		t.Fatalf("attachment is %v, want an encrypted workbook", f)
	}
	p, err := decrypt.Unwrap(context.Background(), bytes.NewReader(att), int64(len(att)), []secret.Secret{pw}, decrypt.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if strings.Join(p.Layers, ",") != "office-agile" {
		t.Errorf("layers %v, want office-agile", p.Layers)
	}
	f, err := excelize.OpenReader(bytes.NewReader(att), excelize.Options{Password: "SMS-passord-77"})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if f.GetSheetList()[0] != annotate.SheetFindings {
		t.Errorf("sheets %v, want %s first", f.GetSheetList(), annotate.SheetFindings)
	}
	if _, err := decrypt.Unwrap(context.Background(), bytes.NewReader(att), int64(len(att)), []secret.Secret{secret.New([]byte("wrong"))}, decrypt.DefaultLimits()); err == nil {
		t.Error("the attachment opened with a wrong password")
	}
}

func attachmentOf(t *testing.T, raw []byte) []byte {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	_, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		t.Fatal(err)
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := mr.NextRawPart()
		if err != nil {
			t.Fatal("no attachment")
		}
		if p.FileName() != "" {
			b, err := io.ReadAll(base64.NewDecoder(base64.StdEncoding, p))
			if err != nil {
				t.Fatal(err)
			}
			return b
		}
	}
}
