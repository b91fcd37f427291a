package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime/quotedprintable"
	"net/mail"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/fhi/sysvak-import/fixtures/fixturegen"
	"github.com/fhi/sysvak-import/fixtures/mail/mailgen"
	"github.com/fhi/sysvak-import/internal/imaptest"
	"github.com/fhi/sysvak-import/internal/secret"
	"github.com/fhi/sysvak-import/internal/smtptest"
)

const receiptFrom = "kvittering@fhi.example"

// receiptsBy groups the receipts the SMTP server holds by the message they answer.
func receiptsBy(t *testing.T, msgs []smtptest.Message) map[string][]smtptest.Message {
	t.Helper()
	by := map[string][]smtptest.Message{}
	for _, m := range msgs {
		by[strings.Trim(m.Header.Get("In-Reply-To"), "<>")] = append(by[strings.Trim(m.Header.Get("In-Reply-To"), "<>")], m)
	}
	return by
}

// receiptText is the decoded text of a receipt.
func receiptText(t *testing.T, m smtptest.Message) string {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(m.Raw))
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(quotedprintable.NewReader(msg.Body))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestPollDovecotReceipts: the Dovecot mailbox suite with receipts on. Every taken message gets its
// receipts through a real SMTP server (aiosmtpd): one per file it carried (waiting for the SMS
// password, or processed), one per resent file, one for a rejected message; a second pass sends
// nothing again; the SMS passwords arriving bring the processed receipts of the waiting files;
// and no receipt carries an ID number, a name, a file name or a subject.
func TestPollDovecotReceipts(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	srv := imaptest.NewDovecot(t)
	sink := smtptest.Start(t, smtptest.Options{})
	c := buildPollCorpus(t, 60)
	w := newPollWorld(t, srv, false)
	w.pollArgs = append(w.pollArgs, "--smtp-addr", sink.Addr(), "--smtp-tls", "insecure", "--receipt-from", receiptFrom)
	appendAll(t, w.admin, c.msgs)
	w.poll(exitFileFailed)
	want := c.receipts()
	got := sink.Messages()
	if len(got) != want {
		subj := map[string]bool{}
		for _, g := range got {
			subj[g.Header.Get("Subject")] = true
		}
		for id, f := range c.files {
			found := false
			for sj := range subj {
				if strings.Contains(sj, id) {
					found = true
				}
			}
			if !found {
				t.Logf("no receipt for file %s (uid %d, status %s, fail %q)", id, f.uid, f.status, f.failCode)
			}
		}
		t.Fatalf("%d receipts after the first pass, want %d (%d files, %d rejected messages, the rest resends)", len(got), want, len(c.files), c.rejected)
	}
	by := receiptsBy(t, got)
	for i, id := range c.msgIDs {
		if len(by[strings.Trim(id, "<>")]) == 0 {
			t.Errorf("message %d (%s) got no receipt", i+1, id)
		}
	}
	for _, id := range c.sms {
		f := c.files[id]
		rs := by[strings.Trim(f.msgID, "<>")]
		found := false
		for _, r := range rs {
			if strings.Contains(r.Header.Get("Subject"), id) && strings.Contains(receiptText(t, r), "venter på passordet") {
				found = true
			}
		}
		if !found {
			t.Errorf("file %s (waiting for its SMS password) got no waiting receipt", id)
		}
	}
	for _, r := range got {
		if r.Header.Get("Auto-Submitted") != "auto-replied" || len(r.RcptTo) != 1 || !strings.HasSuffix(r.RcptTo[0], "@kommune.example") {
			t.Errorf("receipt %s: Auto-Submitted %q, to %v", r.Header.Get("Message-Id"), r.Header.Get("Auto-Submitted"), r.RcptTo)
		}
	}

	w.poll(exitOK) // nothing new: no receipt again
	if n := len(sink.Messages()); n != want {
		t.Fatalf("the second pass sent %d more receipts", n-want)
	}

	drops := filepath.Join(w.state, "passwords")
	for _, id := range c.sms {
		if err := os.WriteFile(filepath.Join(drops, id), []byte(c.files[id].sms+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	w.poll(exitOK)
	got = sink.Messages()
	if len(got) != want+len(c.sms) {
		t.Fatalf("%d receipts after the SMS passwords, want %d", len(got), want+len(c.sms))
	}
	for _, r := range got[want:] {
		if !strings.Contains(receiptText(t, r), "er behandlet") {
			t.Errorf("receipt after the SMS password is not a processed receipt: %.300q", receiptText(t, r))
		}
	}
	secrets := append(fixturegen.ValidIDs(), "Ålesund", "veiledning", knownPW)
	for _, r := range got {
		if strings.Contains(r.Header.Get("Subject"), "Vaksinasjoner") {
			t.Errorf("receipt subject %q quotes the original subject", r.Header.Get("Subject"))
		}
		text := string(r.Raw) + receiptText(t, r)
		for _, s := range secrets {
			if strings.Contains(text, s) {
				t.Errorf("receipt %s contains %q", r.Header.Get("Message-Id"), s)
			}
		}
		hashless := regexp.MustCompile(`[0-9a-f]{16,}`).ReplaceAllString(text, "#") // file and receipt ids are hashes
		for _, id := range fixturegen.ValidIDs() {
			for k := 0; k+6 <= len(id); k++ {
				if strings.Contains(hashless, id[k:k+6]) {
					t.Errorf("receipt %s contains six digits of an ID number", r.Header.Get("Message-Id"))
				}
			}
		}
	}
}

// TestPollReceiptsWaitForTheSMTPServer: with the SMTP server down, poll still processes every
// file (exit codes as without receipts) and the receipts wait in the outbox, which `pending
// --receipts` lists; once the server is back, the next poll delivers each exactly once and
// nothing waits any more.
func TestPollReceiptsWaitForTheSMTPServer(t *testing.T) {
	sink := smtptest.Start(t, smtptest.Options{})
	sink.Stop()
	c := buildPollCorpus(t, 12)
	w := newPollWorld(t, imaptest.NewMem(t), true)
	w.pollArgs = append(w.pollArgs, "--smtp-addr", sink.Addr(), "--smtp-tls", "insecure", "--receipt-from", receiptFrom, "--receipt-retry", "1s")
	appendAll(t, w.admin, c.msgs)
	w.poll(exitFileFailed)
	want := c.receipts()
	r := w.run("pending", "--state", w.state, "--receipts", "--format", "json")
	var items []receiptItem
	if err := json.Unmarshal([]byte(r.stdout), &items); err != nil || r.code != exitOK {
		t.Fatalf("pending --receipts: exit %d, %v: %q", r.code, err, r.stdout)
	}
	if len(items) != want {
		t.Fatalf("pending lists %d receipts, want %d", len(items), want)
	}

	for _, it := range items {
		if it.Status != "queued" || it.To == "" || it.Kind == "" {
			t.Errorf("waiting receipt %+v", it)
		}
	}
	if r := w.run("pending", "--state", w.state); !strings.Contains(r.stdout, "kvittering(er) venter på å bli sendt") {
		t.Errorf("pending does not mention the waiting receipts: %q", r.stdout)
	}
	sink.Restart()
	time.Sleep(1100 * time.Millisecond) // the one receipt tried during the outage waits out its backoff
	w.poll(exitOK)
	got := sink.Messages()
	if len(got) != want {
		t.Fatalf("%d receipts delivered once the server was back, want %d", len(got), want)
	}
	seen := map[string]bool{}
	for _, g := range got {
		if id := g.Header.Get("Message-Id"); seen[id] {
			t.Errorf("receipt %s delivered twice", id)
		} else {
			seen[id] = true
		}
	}
	r = w.run("pending", "--state", w.state, "--receipts", "--format", "json")
	if err := json.Unmarshal([]byte(r.stdout), &items); err != nil || len(items) != 0 {
		t.Errorf("receipts still waiting after delivery: %q", r.stdout)
	}
}

// checkReceiptsPrivate is the privacy check over receipts the SMTP server received: no ID number
// or six digits of one (file and receipt ids, which are hashes, aside), no name, nothing of extra
// (passwords, the file name, the original subject) in the raw message or its decoded text, and a
// subject that names the file id only.
func checkReceiptsPrivate(t *testing.T, msgs []smtptest.Message, ids, extra []string) {
	t.Helper()
	if len(ids) == 0 {
		t.Fatal("privacy check without ID numbers to look for")
	}
	for _, r := range msgs {
		text := string(r.Raw) + receiptText(t, r)
		for _, s := range append(append([]string{}, ids...), extra...) {
			if strings.Contains(text, s) {
				t.Errorf("receipt %s contains %q", r.Header.Get("Message-Id"), s)
			}
		}
		hashless := regexp.MustCompile(`[0-9a-f]{16,}`).ReplaceAllString(text, "#")
		for _, id := range ids {
			for k := 0; k+6 <= len(id); k++ {
				if strings.Contains(hashless, id[k:k+6]) {
					t.Errorf("receipt %s contains six digits of an ID number", r.Header.Get("Message-Id"))
				}
			}
		}
		if subj := r.Header.Get("Subject"); strings.ContainsAny(regexp.MustCompile(`\b[0-9a-f]{16}\b`).ReplaceAllString(subj, ""), "0123456789") {
			t.Errorf("receipt subject %q names more than the file id", r.Header.Get("Subject"))
		}
	}
}

// mailedWaitingFile puts one message into the mailbox whose attachment (row-errors.xlsx, Office
// encrypted) waits for a password that comes by SMS; it returns the file id and the Message-ID.
func mailedWaitingFile(t *testing.T, admin *imaptest.Client, smsPW string) (id, msgID string) {
	t.Helper()
	plain, err := os.ReadFile(fixtures + "row-errors.xlsx")
	if err != nil {
		t.Fatal(err)
	}
	enc, err := officeEncrypt(plain, secret.New([]byte(smsPW)))
	if err != nil {
		t.Fatal(err)
	}
	msgID = "vaksiner-uke-47@kommune.example"
	if err := admin.Append("INBOX", mailgen.Message{Subject: "Vaksinasjoner Ålesund uke 47", From: "Helsesykepleier <helsestasjon@kommune.example>",
		MessageID: msgID, Attachments: []mailgen.Attachment{{Name: "Kari Nordmann vaksiner.xlsx", Data: enc}}}.Bytes()); err != nil {
		t.Fatal(err)
	}
	return fileID(enc), msgID
}

// TestUnlockQueuesTheReceipt: a mailed file waits for its SMS password (poll sends the waiting
// receipt); `unlock` with the config file poll uses processes it and queues its processed receipt
// in the outbox, says so, and sends nothing itself; `pending` shows the receipt waiting; the next
// poll delivers it to a real SMTP server (aiosmtpd) with the expected headers and texts, once.
func TestUnlockQueuesTheReceipt(t *testing.T) {
	sink := smtptest.Start(t, smtptest.Options{})
	w := newPollWorld(t, imaptest.NewMem(t), true)
	const smsPW = "Host-Vaksine-SMS-2026"
	id, msgID := mailedWaitingFile(t, w.admin, smsPW)
	cfg := w.write("sysvak.toml", fmt.Sprintf("smtp-addr = %q\nsmtp-tls = \"insecure\"\nreceipt-from = %q\nreceipts = \"summary\"\n", sink.Addr(), receiptFrom))
	w.pollArgs = append(w.pollArgs, "--config", cfg)
	w.poll(exitOK) // the file waits for its password
	if got := sink.Messages(); len(got) != 1 || !strings.Contains(receiptText(t, got[0]), "venter på passordet") {
		t.Fatalf("after the first poll: %d receipts, want the waiting one", len(got))
	}

	r := w.run(append([]string{"unlock", id, "--config", cfg, "--password-file", w.write("sms.txt", smsPW)}, w.common...)...)
	if r.code != exitRowsRejects {
		t.Fatalf("unlock: exit %d, want %d\n%s", r.code, exitRowsRejects, r.stderr)
	}
	if !strings.Contains(r.stderr, "1 kvittering(er) til avsender venter i utboksen") {
		t.Errorf("unlock does not say that the receipt waits in the outbox: %q", r.stderr)
	}
	if n := len(sink.Messages()); n != 1 {
		t.Fatalf("unlock sent %d receipts itself; poll and serve send them", n-1)
	}
	p := w.run("pending", "--state", w.state, "--receipts", "--format", "json")
	var items []receiptItem
	if err := json.Unmarshal([]byte(p.stdout), &items); err != nil || p.code != exitOK {
		t.Fatalf("pending --receipts: exit %d, %v: %q", p.code, err, p.stdout)
	}
	if len(items) != 1 || items[0].FileID != id || items[0].Kind != "processed" || items[0].Status != "queued" || items[0].To != "helsestasjon@kommune.example" {
		t.Fatalf("pending --receipts after unlock: %+v", items)
	}
	if p := w.run("pending", "--state", w.state, "--lang", "en"); !strings.Contains(p.stdout, "1 receipt(s) wait to be sent, 0 given up") {
		t.Errorf("pending does not mention the waiting receipt: %q", p.stdout)
	}

	w.poll(exitOK) // nothing new in the mailbox: the worker sends what unlock queued
	w.poll(exitOK) // and nothing again
	got := sink.Messages()
	if len(got) != 2 {
		t.Fatalf("%d receipts delivered, want 2 (waiting, processed)", len(got))
	}
	rc := got[1]
	h := rc.Header
	text := receiptText(t, rc)
	switch {
	case h.Get("Message-Id") != items[0].ID, h.Get("In-Reply-To") != "<"+msgID+">", h.Get("References") != "<"+msgID+">":
		t.Errorf("ids: Message-Id %q (queued %q), In-Reply-To %q, References %q", h.Get("Message-Id"), items[0].ID, h.Get("In-Reply-To"), h.Get("References"))
	case h.Get("Auto-Submitted") != "auto-replied" || !strings.HasPrefix(h.Get("Content-Type"), "text/plain; charset=utf-8") ||
		h.Get("Content-Transfer-Encoding") != "quoted-printable":
		t.Errorf("headers: %v", h)
	case !strings.Contains(h.Get("Subject"), id) || len(rc.RcptTo) != 1 || rc.RcptTo[0] != "helsestasjon@kommune.example" || rc.MailFrom != receiptFrom:
		t.Errorf("subject %q, envelope %s -> %v", h.Get("Subject"), rc.MailFrom, rc.RcptTo)
	case !strings.Contains(text, "Filen med id "+id+" er behandlet") || !strings.Contains(text, "The file with id "+id+" has been processed"):
		t.Errorf("processed receipt text:\n%s", text)
	}
	ids, names := workbookSecrets(t)
	checkReceiptsPrivate(t, got, ids, append(names, smsPW, knownPW, "Kari Nordmann", "Ålesund", "uke 47"))
	if p := w.run("pending", "--state", w.state, "--receipts", "--format", "json"); strings.TrimSpace(p.stdout) != "[]" {
		t.Errorf("receipts still waiting after delivery: %q", p.stdout)
	}
}

// TestUnlockWithoutReceipts: without receipt settings unlock queues nothing and says nothing of
// receipts; --receipts without --smtp-addr is a usage error (exit 3), as for poll.
func TestUnlockWithoutReceipts(t *testing.T) {
	w := newPollWorld(t, imaptest.NewMem(t), true)
	const smsPW = "Host-Vaksine-SMS-2026"
	id, _ := mailedWaitingFile(t, w.admin, smsPW)
	w.poll(exitOK)
	sms := w.write("sms.txt", smsPW)
	if r := w.run(append([]string{"unlock", id, "--receipts", "summary", "--password-file", sms}, w.common...)...); r.code != exitUsage {
		t.Fatalf("unlock --receipts summary without --smtp-addr: exit %d, want 3", r.code)
	}
	r := w.run(append([]string{"unlock", id, "--password-file", sms}, w.common...)...)
	if r.code != exitRowsRejects || strings.Contains(r.stderr, "kvittering") {
		t.Fatalf("unlock: exit %d\n%s", r.code, r.stderr)
	}
	if p := w.run("pending", "--state", w.state, "--receipts", "--format", "json"); strings.TrimSpace(p.stdout) != "[]" {
		t.Errorf("receipts queued with receipts off: %q", p.stdout)
	}
}

// TestSharedConfigWithReceipts: a config file (or SYSVAK_RECEIPTS) shared by poll, serve and unlock
// with `receipts = "annotated"` does not break `pending`, whose --receipts is a switch; on the
// command line a bad value for the switch is still a usage error.
func TestSharedConfigWithReceipts(t *testing.T) {
	dir := t.TempDir()
	st := filepath.Join(dir, "state")
	if r := runCLI(t, nil, "import", "--state", st, "--out", filepath.Join(dir, "out"), "--as-of", "2026-11-23", fixtures+"clean.xlsx"); r.code != exitOK {
		t.Fatalf("import: exit %d\n%s", r.code, r.stderr)
	}
	cfg := filepath.Join(dir, "sysvak.toml")
	if err := os.WriteFile(cfg, []byte("smtp-addr = \"127.0.0.1:25\"\nsmtp-tls = \"insecure\"\nreceipt-from = \"kvittering@fhi.example\"\nreceipts = \"annotated\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if r := runCLI(t, nil, "pending", "--config", cfg, "--state", st); r.code != exitOK {
		t.Errorf("pending with the shared config: exit %d\n%s", r.code, r.stderr)
	}
	if r := runCLI(t, nil, "pending", "--config", cfg, "--state", st, "--receipts"); r.code != exitOK || !strings.Contains(r.stdout, "ingen kvittering venter") {
		t.Errorf("pending --receipts with the shared config: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := runCLI(t, map[string]string{"SYSVAK_RECEIPTS": "summary"}, "pending", "--state", st); r.code != exitOK {
		t.Errorf("pending with SYSVAK_RECEIPTS=summary: exit %d\n%s", r.code, r.stderr)
	}
	if r := runCLI(t, nil, "pending", "--state", st, "--receipts=summary"); r.code != exitUsage {
		t.Errorf("pending --receipts=summary: exit %d, want 3", r.code)
	}
}

// TestImportOfAMailedFileAnswersItsSender: the bytes of a mailed file that waits for its password,
// imported from a local path with the password and poll's config file, are that file: its outcome
// queues the processed receipt to the mailer, which the next poll delivers. A file that only ever
// came from a path gets no receipt.
func TestImportOfAMailedFileAnswersItsSender(t *testing.T) {
	sink := smtptest.Start(t, smtptest.Options{})
	w := newPollWorld(t, imaptest.NewMem(t), true)
	const smsPW = "Host-Vaksine-SMS-2026"
	id, msgID := mailedWaitingFile(t, w.admin, smsPW)
	cfg := w.write("sysvak.toml", fmt.Sprintf("smtp-addr = %q\nsmtp-tls = \"insecure\"\nreceipt-from = %q\n", sink.Addr(), receiptFrom))
	w.pollArgs = append(w.pollArgs, "--config", cfg)
	w.poll(exitOK)
	if n := len(sink.Messages()); n != 1 {
		t.Fatalf("%d receipts after the first poll, want the waiting one", n)
	}
	spooled := filepath.Join(w.state, "spool", id) // the attachment's bytes, as an operator might have saved them
	local := filepath.Join(w.dir, "lagret-vedlegg.xlsx")
	raw, err := os.ReadFile(spooled)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(local, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	sms := w.write("sms.txt", smsPW)
	if r := w.run(append([]string{"import", "--config", cfg, "--password-file", sms, local, fixtures + "clean.xlsx"}, w.common...)...); r.code != exitRowsRejects {
		t.Fatalf("import: exit %d\n%s", r.code, r.stderr)
	}
	p := w.run("pending", "--state", w.state, "--receipts", "--format", "json")
	var items []receiptItem
	if err := json.Unmarshal([]byte(p.stdout), &items); err != nil || len(items) != 1 || items[0].FileID != id || items[0].Kind != "processed" {
		t.Fatalf("receipts after import: %v %q", err, p.stdout)
	}
	w.poll(exitOK)
	got := sink.Messages()
	if len(got) != 2 || got[1].Header.Get("In-Reply-To") != "<"+msgID+">" || !strings.Contains(receiptText(t, got[1]), "Filen med id "+id+" er behandlet") {
		t.Fatalf("%d receipts; the last: %v", len(got), got[len(got)-1].Header)
	}
	ids, names := workbookSecrets(t)
	checkReceiptsPrivate(t, got, ids, append(names, smsPW, "lagret-vedlegg"))
}
