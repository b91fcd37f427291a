package main

import (
	"bytes"
	"encoding/json"
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
	"github.com/fhi/sysvak-import/internal/imaptest"
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
	for _, m := range c.msgs {
		if err := w.admin.Append("INBOX", m); err != nil {
			t.Fatal(err)
		}
	}
	w.poll(exitFileFailed)
	resends := 0
	for _, f := range c.files {
		resends += f.resends
	}
	want := len(c.files) + resends + c.rejected
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
		t.Fatalf("%d receipts after the first pass, want %d (%d files, %d resends, %d rejected messages)", len(got), want, len(c.files), resends, c.rejected)
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
	for _, m := range c.msgs {
		if err := w.admin.Append("INBOX", m); err != nil {
			t.Fatal(err)
		}
	}
	w.poll(exitFileFailed)
	resends := 0
	for _, f := range c.files {
		resends += f.resends
	}
	want := len(c.files) + resends + c.rejected
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
	if r := w.run("pending", "--state", w.state); !strings.Contains(r.stdout, "receipt(s) wait to be sent") {
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
