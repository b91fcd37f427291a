package receipt

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
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
	"github.com/fhi/sysvak-import/internal/state"
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

// TestForOutcomeAttachesTheCopyOfASpooledFile: under --receipts annotated the receipt of a file
// spooled from a mailbox (Office-encrypted) carries the annotated copy under the password, of
// those tried, that opened it; in summary mode, or for a file with no password, there is none.
func TestForOutcomeAttachesTheCopyOfASpooledFile(t *testing.T) {
	ctx := context.Background()
	clk := &stateClock{t: testDate}
	st := openFolderState(t, clk)
	plain, err := os.ReadFile(filepath.Join("..", "..", "fixtures", "files", "row-errors.xlsx"))
	if err != nil {
		t.Fatal(err)
	}
	pw := secret.New([]byte("Riktig-SMS-9"))
	var enc bytes.Buffer
	if err := decrypt.EncryptOffice(ctx, bytes.NewReader(plain), int64(len(plain)), pw, &enc); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(enc.Bytes())
	tmp := filepath.Join(st.TempDir(), "in")
	if err := os.WriteFile(tmp, enc.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	arr := state.Arrival{Received: testDate, Mailbox: "INBOX", UIDValidity: 1, UID: 1, MessageID: "<s@legekontor.example>", Sender: testSender}
	msg := &state.Message{Mailbox: "INBOX", UIDValidity: 1, UID: 1, MessageID: arr.MessageID, From: testSender, Folder: "Processed"}
	res, err := st.AddFiles(ctx, []state.Incoming{{TempPath: tmp, SHA256: hex.EncodeToString(sum[:]), Size: int64(enc.Len()), FileName: "Kari.xlsx"}}, arr, msg)
	if err != nil || len(res.New) != 1 {
		t.Fatalf("AddFiles: %v %v", res, err)
	}
	f := res.New[0]
	f.Status = state.StatusProcessed
	rep := fixtureReport(t, "row-errors.xlsx")
	passwords := []secret.Secret{secret.New([]byte("operatorens")), pw}
	b := &Builder{From: testFrom, Mode: ModeAnnotated, Messages: st, Now: clk.now}
	rs := b.ForOutcome(ctx, st, f, rep, passwords)
	if len(rs) != 1 {
		t.Fatalf("%d receipts", len(rs))
	}
	att := attachmentOf(t, rs[0].Payload)
	if _, err := decrypt.Unwrap(ctx, bytes.NewReader(att), int64(len(att)), []secret.Secret{pw}, decrypt.DefaultLimits()); err != nil {
		t.Fatalf("the copy does not open with the file's password: %v", err)
	}
	checkPrivacy(t, rs[0].Payload, "Kari")
	b.Mode = ModeSummary
	if rs := b.ForOutcome(ctx, st, f, rep, passwords); len(rs) != 1 || bytes.Contains(rs[0].Payload, []byte("multipart/mixed")) {
		t.Error("summary mode attached something")
	}
}
