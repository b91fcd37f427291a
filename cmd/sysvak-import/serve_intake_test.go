package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/fhi/sysvak-import/fixtures/fixturegen"
	"github.com/fhi/sysvak-import/fixtures/mail/mailgen"
	"github.com/fhi/sysvak-import/importer/decrypt"
	"github.com/fhi/sysvak-import/internal/imaptest"
	"github.com/fhi/sysvak-import/internal/secret"
	"github.com/fhi/sysvak-import/internal/smtptest"
)

// TestServePollsAndUnlocks: `serve --imap-addr` polls a mailbox itself (a folder state has one
// owner); an encrypted attachment waits for its password, the operator unlocks it in the console
// with a wrong and then the right password, and /metrics reports the poll. With --smtp-addr, serve
// sends the receipts (to a real aiosmtpd): the waiting file's and a rejected message's after the
// poll, none more for the wrong password, and the processed receipt queued by the console's
// unlock, each once and without personal data.
func TestServePollsAndUnlocks(t *testing.T) {
	srv := imaptest.NewMem(t)
	sink := smtptest.Start(t, smtptest.Options{})
	u, p := srv.NewUser(t)
	admin := imaptest.Login(t, srv.Addr(), u, p)
	plain, err := fixturegen.CleanBook().Bytes()
	if err != nil {
		t.Fatal(err)
	}
	const smsPW = "Sommer-Vaksine-2025"
	var enc bytes.Buffer
	if err := decrypt.EncryptOffice(context.Background(), bytes.NewReader(plain), int64(len(plain)), secret.New([]byte(smsPW)), &enc); err != nil {
		t.Fatal(err)
	}
	if err := admin.Append("INBOX", mailgen.Message{Subject: "vaksiner", From: "helsestasjon@kommune.example",
		MessageID: "serve-1@kommune.example", Attachments: []mailgen.Attachment{{Name: "vaksiner.xlsx", Data: enc.Bytes()}}}.Bytes()); err != nil {
		t.Fatal(err)
	}
	if err := admin.Append("INBOX", mailgen.Message{Subject: "glemte vedlegget", From: "lege@kommune.example", MessageID: "serve-2@kommune.example"}.Bytes()); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	st := filepath.Join(dir, "state")
	if r := runCLI(t, map[string]string{"SYSVAK_OPERATOR_PASSWORD": opPW}, "operator", "add", "kari", "--state", st); r.code != exitOK {
		t.Fatal(r.stderr)
	}
	var stderr lockedBuffer
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	vars := map[string]string{"SYSVAK_IMAP_PASSWORD": p}
	e := &env{stdin: strings.NewReader(""), stdout: io.Discard, stderr: &stderr, getenv: func(k string) string { return vars[k] }, now: time.Now}
	done := make(chan int, 1)
	go func() {
		done <- runMain(ctx, e, []string{"serve", "--state", st, "--out", filepath.Join(dir, "out"), "--listen", "127.0.0.1:0",
			"--imap-addr", srv.Addr(), "--imap-tls", "insecure", "--imap-user", u, "--interval", "1h",
			"--as-of", "2026-11-23", "--log-format", "json",
			"--smtp-addr", sink.Addr(), "--smtp-tls", "insecure", "--receipt-from", receiptFrom})
	}()
	base := waitFor(t, func() string {
		if m := regexp.MustCompile(`the console is at (http://\S+)/`).FindStringSubmatch(stderr.String()); m != nil {
			return m[1]
		}
		return ""
	}, stderr.String)
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar, Timeout: time.Minute}
	body := func(r *http.Response, err error) string {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		defer r.Body.Close()
		b, _ := io.ReadAll(r.Body)
		return string(b)
	}
	csrfRe := regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)
	tok := csrfRe.FindStringSubmatch(body(hc.Get(base + "/login")))[1]
	body(hc.PostForm(base+"/login", url.Values{"username": {"kari"}, "password": {opPW}, "csrf_token": {tok}}))
	id := waitFor(t, func() string {
		m := regexp.MustCompile(`href="/files/([0-9a-f]{16})"`).FindStringSubmatch(body(hc.Get(base + "/?status=waiting_password")))
		if m == nil {
			return ""
		}
		return m[1]
	}, stderr.String)
	delivered := func(n int) []smtptest.Message {
		t.Helper()
		waitFor(t, func() string {
			if len(sink.Messages()) >= n {
				return "ok"
			}
			return ""
		}, stderr.String)
		return sink.Messages()
	}
	got := delivered(2)
	by := receiptsBy(t, got)
	if len(by["serve-1@kommune.example"]) != 1 || !strings.Contains(receiptText(t, by["serve-1@kommune.example"][0]), "venter på passordet") ||
		len(by["serve-2@kommune.example"]) != 1 || by["serve-2@kommune.example"][0].RcptTo[0] != "lege@kommune.example" {
		t.Fatalf("receipts after serve's poll: %v", by)
	}
	page := body(hc.Get(base + "/files/" + id))
	tok = csrfRe.FindStringSubmatch(page)[1]
	if !strings.Contains(page, `id="unlock-submit"`) || !strings.Contains(page, "helsestasjon@kommune.example") {
		t.Fatalf("waiting file page:\n%s", page)
	}
	if out := body(hc.PostForm(base+"/files/"+id+"/unlock", url.Values{"password": {"Vinter-Vaksine-2024"}, "csrf_token": {tok}})); !strings.Contains(out, "Feil passord") {
		t.Fatalf("wrong password:\n%s", out)
	}
	out := body(hc.PostForm(base+"/files/"+id+"/unlock", url.Values{"password": {smsPW}, "csrf_token": {tok}}))
	if !strings.Contains(out, "låst opp og behandlet") || !strings.Contains(out, `id="tot-registered">12<`) {
		t.Fatalf("right password:\n%s", out)
	}
	got = delivered(3)
	processed := got[2]
	if processed.Header.Get("In-Reply-To") != "<serve-1@kommune.example>" || !strings.Contains(processed.Header.Get("Subject"), id) ||
		!strings.Contains(receiptText(t, processed), "Filen med id "+id+" er behandlet") || processed.RcptTo[0] != "helsestasjon@kommune.example" {
		t.Fatalf("receipt of the console's unlock: %v\n%s", processed.Header, receiptText(t, processed))
	}
	metrics := body(hc.Get(base + "/metrics"))
	if !strings.Contains(metrics, `sysvak_files{status="processed"} 1`) || strings.Contains(metrics, "sysvak_last_successful_poll_timestamp_seconds 0\n") {
		t.Fatalf("metrics:\n%s", metrics)
	}
	cancel()
	if code := <-done; code != exitOK {
		t.Fatalf("serve exit %d: %s", code, stderr.String())
	}
	for _, secretText := range []string{smsPW, opPW, p} {
		if strings.Contains(stderr.String(), secretText) {
			t.Fatal("a password reached the log")
		}
	}
	if got := sink.Messages(); len(got) != 3 { // the wrong password brought no second waiting receipt
		t.Fatalf("%d receipts in all, want 3", len(got))
	}
	ids, names := workbookSecrets(t)
	checkReceiptsPrivate(t, sink.Messages(), ids, append(names, smsPW, "Vinter-Vaksine-2024", "vaksiner.xlsx", "glemte vedlegget"))
	a := runCLI(t, nil, "audit", "--state", st)
	if !regexp.MustCompile(`kari +unlock +`+id+` +127\.0\.0\.1 +wrong_password`).MatchString(a.stdout) ||
		!regexp.MustCompile(`kari +unlock +`+id+` +127\.0\.0\.1 +accepted`).MatchString(a.stdout) {
		t.Fatalf("audit:\n%s", a.stdout)
	}
}

// waitFor polls f until it returns something, for at most 30 seconds.
func waitFor(t *testing.T, f func() string, log func() string) string {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if v := f(); v != "" {
			return v
		}
	}
	t.Fatalf("timed out; log:\n%s", log())
	return ""
}
