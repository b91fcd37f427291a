package main

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	"github.com/ProtonMail/go-crypto/openpgp/s2k"

	"github.com/fhi/sysvak-import/fixtures/fixturegen"
	"github.com/fhi/sysvak-import/fixtures/mail/mailgen"
	"github.com/fhi/sysvak-import/importer/decrypt"
	"github.com/fhi/sysvak-import/importer/report"
	"github.com/fhi/sysvak-import/internal/imaptest"
	"github.com/fhi/sysvak-import/internal/secret"
	"github.com/fhi/sysvak-import/internal/state/folder/spool"
)

// The password the operator has in --password-file. The OpenPGP and officecrypto-tool fixtures
// of fixtures/encrypted use it too (fixtures/encrypted/passwords.txt).
const knownPW = "Sommer-Vaksine-2025"

// wantFile is what a spooled file must end as.
type wantFile struct {
	id       string
	uid      uint32 // first arrival
	msgID    string
	status   report.Status // final status once every password is known
	records  int           // -1: not fixed per file (the fixtures sharing rows)
	sms      string        // password that comes by SMS only ("" if --password-file opens it)
	failCode string        // spool LastError of a file-level rejection
	resends  int           // later arrivals
}

// pollCorpus is a mailbox of messages built the way real clients send them (mailgen), with
// encrypted attachments, and what the poller must make of it.
// appendAll delivers msgs to the mailbox, in order.
func appendAll(t *testing.T, admin *imaptest.Client, msgs [][]byte) {
	t.Helper()
	for _, m := range msgs {
		if err := admin.Append("INBOX", m); err != nil {
			t.Fatal(err)
		}
	}
}

// receipts is how many receipts the corpus's messages get once processed: one per file, one per
// later arrival of a file, one per rejected message.
func (c *pollCorpus) receipts() int {
	n := len(c.files) + c.rejected
	for _, f := range c.files {
		n += f.resends
	}
	return n
}

type pollCorpus struct {
	msgs     [][]byte
	msgIDs   []string // index i: message UID i+1
	files    map[string]*wantFile
	order    []string // file ids in first-arrival order
	sms      []string // file ids whose password comes by SMS
	rejected int      // messages without a usable attachment
	records  int      // records once every file is processed (the fixture pair counts 4)
	resendOf []byte   // a processed file, for a later resend
}

// buildPollCorpus makes n messages (UID i+1 is message i). Per message, first match wins:
//   - i%40 == 29: a byte-identical copy of message i-1 (same Message-ID) -> no second arrival
//   - i%20 == 19: no attachment at all                    -> Rejected, mail.no_attachment
//   - i%20 == 17: a PDF only                              -> Rejected, file.unsupported_format
//   - i%10 == 5:  the very same file as message i-5 again  -> recognised as a resend
//   - i%12 == 7:  OpenPGP with a password that comes by SMS -> waiting_password
//   - i%10 == 3:  a plain (unencrypted) workbook
//   - even: Office-encrypted (decrypt.EncryptOffice); odd: OpenPGP (go-crypto; messages 1 and
//     101 with decrypt.EncryptPGP, the second armored)
//
// i%7 == 4 adds a second workbook, i%30 == 11 puts a row with a bad code into the file, and
// message 0 also carries files made by other tools (gpg, officecrypto-tool) and a truncated one.
// Encodings and name styles rotate: base64 + RFC 2231, quoted-printable + octet-stream, inline
// + RFC 2047.
func buildPollCorpus(t testing.TB, n int) *pollCorpus {
	t.Helper()
	ctx := context.Background()
	c := &pollCorpus{files: map[string]*wantFile{}}
	known := secret.New([]byte(knownPW))
	fileNo := 0
	primary := map[int][]byte{}
	fixture := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join("../../fixtures/encrypted", name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	add := func(i int, data []byte, w wantFile) {
		id := fileID(data)
		if _, ok := c.files[id]; ok {
			t.Fatalf("corpus: file %s twice", id)
		}
		w.id, w.uid, w.msgID = id, uint32(i+1), c.msgIDs[i]
		c.files[id] = &w
		c.order = append(c.order, id)
		if w.sms != "" {
			c.sms = append(c.sms, id)
		}
		if w.records > 0 {
			c.records += w.records
		}
	}
	// workbook makes the next generated file: 3 rows with keys no other file has.
	workbook := func(badRow bool) ([]byte, int) {
		ids, codes := fixturegen.ValidIDs(), fixturegen.BenchCodes()
		rows := [][]any{anyRow(fixturegen.Headers())}
		for j := 0; j < 3; j++ {
			r := fixturegen.MakeBenchRow(3*fileNo+j, ids, codes)
			code := r.Code
			if badRow && j == 1 {
				code = "XX1"
			}
			rows = append(rows, []any{r.PersonID, r.Name, fixturegen.Date(r.Date), code, r.Dose, r.Batch, r.HPR,
				fixturegen.OrgNr, fixturegen.Municipality, "Nei", "R", ""})
		}
		fileNo++
		b, err := fixturegen.Book{Sheets: []fixturegen.Sheet{{Name: "Vaksinasjoner", Rows: rows}}}.Bytes()
		if err != nil {
			t.Fatal(err)
		}
		if badRow {
			return b, 2
		}
		return b, 3
	}
	for i := 0; i < n; i++ {
		if i%40 == 29 { // the very same message delivered twice: one arrival, not a resend
			c.msgIDs = append(c.msgIDs, c.msgIDs[i-1])
			c.msgs = append(c.msgs, c.msgs[i-1])
			continue
		}
		id := fmt.Sprintf("poll-%03d@kommune.example", i)
		c.msgIDs = append(c.msgIDs, id)
		m := mailgen.Message{Subject: fmt.Sprintf("Vaksinasjoner %d", i), MessageID: id,
			From: fmt.Sprintf("Helsestasjon %d <vaksine%d@kommune.example>", i%9, i%9)}
		style := func(a mailgen.Attachment) mailgen.Attachment {
			switch i % 3 {
			case 0:
				a.NameStyle = mailgen.NameRFC2231
			case 1:
				a.Encoding, a.ContentType = "quoted-printable", "application/octet-stream"
			case 2:
				a.Disposition, a.NameStyle = "inline", mailgen.NameRFC2047
			}
			return a
		}
		switch {
		case i%20 == 19:
			c.rejected++
		case i%20 == 17:
			m.Attachments = []mailgen.Attachment{{Name: "veiledning.pdf", ContentType: "application/pdf", Data: mailgen.Content("pdf", uint64(i), 1500)}}
			c.rejected++
		case i%10 == 5:
			m.Attachments = []mailgen.Attachment{style(mailgen.Attachment{Name: "Vaksiner på nytt.xlsx", Data: primary[i-5]})}
			c.files[fileID(primary[i-5])].resends++
		default:
			plain, recs := workbook(i%30 == 11)
			want := wantFile{status: report.StatusAccepted, records: recs}
			if recs < 3 {
				want.status = report.StatusRejectedRows
			}
			var data []byte
			var err error
			name := fmt.Sprintf("Vaksiner Ålesund %d.xlsx", i)
			switch {
			case i%12 == 7:
				want.sms = fmt.Sprintf("SMS-%d-Fjord", i)
				data, err = fastPGP(plain, want.sms)
				name += ".gpg"
			case i%10 == 3:
				data = plain
			case i%2 == 0:
				data, err = officeEncrypt(plain, known)
			case i == 1 || i == 101:
				var b bytes.Buffer
				err = decrypt.EncryptPGP(ctx, bytes.NewReader(plain), known, &b, i == 101)
				data = b.Bytes()
				name += ".asc"
			default:
				data, err = fastPGP(plain, knownPW)
				name += ".gpg"
			}
			if err != nil {
				t.Fatal(err)
			}
			primary[i] = data
			m.Attachments = []mailgen.Attachment{style(mailgen.Attachment{Name: name, Data: data})}
			add(i, data, want)
			if i%7 == 4 {
				extra, recs := workbook(false)
				if i%2 == 0 {
					if extra, err = officeEncrypt(extra, known); err != nil {
						t.Fatal(err)
					}
				}
				m.Attachments = append(m.Attachments, mailgen.Attachment{Name: "tillegg.xlsx", Data: extra})
				add(i, extra, wantFile{status: report.StatusAccepted, records: recs})
			}
			if i == 0 {
				// Made by other tools: gpg 2.2 and officecrypto-tool (the same five rows, one
				// with the bad code XX1: together they register 4 records), and a truncated file.
				for _, f := range []struct{ name, fixture string }{
					{"fra-gpg.xlsx.gpg", "gpg_default.gpg"}, {"fra-octool.xlsx", "octool_agile.xlsx"}} {
					data := fixture(f.fixture)
					m.Attachments = append(m.Attachments, mailgen.Attachment{Name: f.name, ContentType: "application/octet-stream", Data: data})
					add(i, data, wantFile{status: report.StatusRejectedRows, records: -1})
				}
				c.records += 4
				data := fixture("octool_agile_truncated.xlsx")
				m.Attachments = append(m.Attachments, mailgen.Attachment{Name: "avkuttet.xlsx", Data: data})
				add(i, data, wantFile{status: report.StatusFileRejected, failCode: "file.corrupt"})
			}
			if c.resendOf == nil && want.sms == "" && i%10 != 3 {
				c.resendOf = data
			}
		}
		c.msgs = append(c.msgs, m.Bytes())
	}
	return c
}

func anyRow(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

func fileID(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:8]) }

func officeEncrypt(plain []byte, pw secret.Secret) ([]byte, error) {
	var b bytes.Buffer
	err := decrypt.EncryptOffice(context.Background(), bytes.NewReader(plain), int64(len(plain)), pw, &b)
	return b.Bytes(), err
}

// fastPGP encrypts as gpg --symmetric does (SKESK v4, iterated+salted S2K, SEIPD v1 with MDC),
// but with a low S2K count, so that a test can decrypt hundreds of files in seconds.
// decrypt.EncryptPGP (the maximum count) is used for a few files of the corpus.
func fastPGP(plain []byte, pw string) ([]byte, error) {
	var b bytes.Buffer
	cfg := &packet.Config{DefaultCipher: packet.CipherAES256, DefaultCompressionAlgo: packet.CompressionNone,
		S2KConfig: &s2k.Config{S2KMode: s2k.IteratedSaltedS2K, Hash: crypto.SHA256, S2KCount: 65536}}
	w, err := openpgp.SymmetricallyEncrypt(&b, []byte(pw), &openpgp.FileHints{IsBinary: true}, cfg)
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(plain); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// pollWorld is one scenario's server user, state and out folders and the CLI arguments.
type pollWorld struct {
	t            *testing.T
	srv          imaptest.Server
	admin        *imaptest.Client
	user         string
	dir          string
	state, out   string
	env          map[string]string
	pollArgs     []string
	common       []string
	stderr       strings.Builder // every run's log, for the privacy check
	rightPW      map[string]string
	pollDuration time.Duration
}

func newPollWorld(t *testing.T, srv imaptest.Server, viaEnv bool) *pollWorld {
	u, p := srv.NewUser(t)
	w := &pollWorld{t: t, srv: srv, user: u, dir: t.TempDir(), env: map[string]string{}}
	w.admin = imaptest.Login(t, srv.Addr(), u, p)
	w.state, w.out = filepath.Join(w.dir, "state"), filepath.Join(w.dir, "out")
	pwFile := w.write("passord.txt", knownPW)
	w.common = []string{"--state", w.state, "--out", w.out, "--as-of", "2026-11-23", "--log-format", "json", "--log-level", "debug", "--fhir"}
	w.pollArgs = []string{"poll", "--once", "--imap-addr", srv.Addr(), "--imap-tls", "insecure", "--imap-user", u, "--password-file", pwFile}
	if viaEnv {
		w.env["SYSVAK_IMAP_PASSWORD"] = p
	} else {
		w.pollArgs = append(w.pollArgs, "--imap-password-file", w.write("imap.txt", p))
	}
	w.pollArgs = append(w.pollArgs, w.common...)
	return w
}

func (w *pollWorld) write(name, content string) string {
	p := filepath.Join(w.dir, name)
	if err := os.WriteFile(p, []byte(content+"\n"), 0o600); err != nil {
		w.t.Fatal(err)
	}
	return p
}

func (w *pollWorld) run(args ...string) result {
	w.t.Helper()
	r := runCLI(w.t, w.env, args...)
	w.stderr.WriteString(r.stderr)
	if strings.Contains(r.stderr, "panic") || strings.Contains(r.stderr, "goroutine ") {
		w.t.Fatalf("%v: stack trace: %s", args[:2], r.stderr)
	}
	return r
}

func (w *pollWorld) poll(wantCode int) result {
	w.t.Helper()
	t0 := time.Now()
	r := w.run(w.pollArgs...)
	w.pollDuration = time.Since(t0)
	if r.code != wantCode {
		w.t.Fatalf("poll --once: exit %d, want %d\nstderr: %.3000s", r.code, wantCode, r.stderr)
	}
	return r
}

func (w *pollWorld) folders(inbox, processed, rejected int) {
	w.t.Helper()
	for f, want := range map[string]int{"INBOX": inbox, "Processed": processed, "Rejected": rejected} {
		n, err := w.admin.Count(f)
		if err != nil || n != want {
			w.t.Fatalf("%s has %d messages (%v), want %d", f, n, err, want)
		}
	}
}

func (w *pollWorld) entries() map[string]spool.Entry {
	w.t.Helper()
	st, err := spool.Open(context.Background(), w.state, spool.Options{})
	if err != nil {
		w.t.Fatal(err)
	}
	defer st.Close()
	l, err := st.List()
	if err != nil {
		w.t.Fatal(err)
	}
	m := map[string]spool.Entry{}
	for _, e := range l {
		m[e.FileID] = e
	}
	return m
}

type reportJSON struct {
	FileID   string          `json:"file_id"`
	FileName string          `json:"file_name"`
	Status   report.Status   `json:"status"`
	Source   report.Source   `json:"source"`
	Resent   []report.Source `json:"resent"`
	Stats    report.Stats    `json:"stats"`
	Findings []struct {
		Code string `json:"code"`
	} `json:"findings"`
}

func (w *pollWorld) reports() map[string]reportJSON {
	w.t.Helper()
	m := map[string]reportJSON{}
	files, _ := filepath.Glob(filepath.Join(w.out, "*", "report.json"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			w.t.Fatal(err)
		}
		var r reportJSON
		if err := json.Unmarshal(b, &r); err != nil {
			w.t.Fatalf("%s: %v", f, err)
		}
		m[r.FileID] = r
	}
	return m
}

func (w *pollWorld) records() int {
	n := 0
	files := committedRecords(w.out)
	for _, f := range files {
		b, _ := os.ReadFile(f)
		n += bytes.Count(b, []byte("\n"))
	}
	return n
}

func (w *pollWorld) pending() []string {
	w.t.Helper()
	r := w.run("pending", "--state", w.state, "--format", "json")
	if r.code != exitOK {
		w.t.Fatalf("pending: exit %d: %s", r.code, r.stderr)
	}
	var items []struct {
		ID        string `json:"id"`
		Sender    string `json:"sender"`
		FileName  string `json:"file_name"`
		Size      int64  `json:"size"`
		LastError string `json:"last_error"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &items); err != nil {
		w.t.Fatalf("pending --format json: %v: %q", err, r.stdout)
	}
	var ids []string
	for _, it := range items {
		if it.Sender == "" || it.FileName == "" || it.Size == 0 || it.LastError != "file.wrong_password" {
			w.t.Errorf("pending item %+v lacks sender, name, size or the reason", it)
		}
		ids = append(ids, it.ID)
	}
	return ids
}

// checkAccounted checks that every file of the corpus is accounted for: spooled once, with the
// status it must have now (waiting ones listed in `waiting`), a report naming mailbox, UID and
// Message-ID, its resends listed; every rejected message has a report saying why.
func (w *pollWorld) checkAccounted(c *pollCorpus, waiting map[string]bool) {
	w.t.Helper()
	ents, reps := w.entries(), w.reports()
	if len(ents) != len(c.files) {
		w.t.Fatalf("%d spool entries, want %d", len(ents), len(c.files))
	}
	for _, id := range c.order {
		f := c.files[id]
		e, ok := ents[id]
		if !ok {
			w.t.Fatalf("file %s (message %d) not spooled", id, f.uid)
		}
		rep, ok := reps[id]
		if !ok {
			w.t.Fatalf("file %s (message %d, status %s) has no report", id, f.uid, e.Status)
		}
		wantStatus, wantSpool := f.status, spool.StatusProcessed
		switch {
		case waiting[id]:
			wantStatus, wantSpool = report.StatusWaitingPassword, spool.StatusWaitingPassword
		case f.status == report.StatusFileRejected:
			wantSpool = spool.StatusRejected
		}
		if rep.Status != wantStatus || e.Status != wantSpool {
			w.t.Errorf("file %s (message %d): report %s, spool %s; want %s, %s", id, f.uid, rep.Status, e.Status, wantStatus, wantSpool)
		}
		if waiting[id] && e.LastError != "file.wrong_password" {
			w.t.Errorf("waiting file %s: last error %q", id, e.LastError)
		}
		if f.failCode != "" && e.LastError != f.failCode {
			w.t.Errorf("rejected file %s: last error %q, want %s", id, e.LastError, f.failCode)
		}
		if f.records >= 0 && !waiting[id] && rep.Stats.Registered != f.records {
			w.t.Errorf("file %s: %d registered, want %d", id, rep.Stats.Registered, f.records)
		}
		// SPEC 5: source names the mailbox, UID and Message-ID of the first arrival.
		if s := rep.Source; s.Kind != "mailbox" || s.Mailbox != "INBOX" || s.UID != f.uid || s.MessageID != f.msgID || s.UIDValidity == 0 {
			w.t.Errorf("file %s: source %+v, want INBOX UID %d <%s>", id, s, f.uid, f.msgID)
		}
		if !waiting[id] && len(rep.Resent) != f.resends {
			w.t.Errorf("file %s: %d resent arrivals in its report, want %d", id, len(rep.Resent), f.resends)
		}
		for _, s := range rep.Resent {
			if s.Kind != "mailbox" || s.UID <= f.uid || s.MessageID == "" {
				w.t.Errorf("file %s: resent %+v", id, s)
			}
		}
	}
	msgReports := 0
	for id, r := range reps {
		if _, ok := c.files[id]; ok {
			continue
		}
		msgReports++
		if r.Status != report.StatusFileRejected || len(r.Findings) == 0 || r.Source.UID == 0 ||
			r.Source.MessageID != c.msgIDs[r.Source.UID-1] {
			w.t.Errorf("message report %s: %+v", id, r)
			continue
		}
		want := "mail.no_attachment"
		if r.Source.UID%20 == 18 { // message i%20 == 17 (UID i+1) carried a PDF
			want = "file.unsupported_format"
		}
		if r.Findings[0].Code != want {
			w.t.Errorf("message UID %d rejected with %s, want %s", r.Source.UID, r.Findings[0].Code, want)
		}
	}
	if msgReports != c.rejected {
		w.t.Errorf("%d message reports, want %d", msgReports, c.rejected)
	}
}

// runPollScenario is the whole operator story against one server: poll, nothing new, passwords
// by drop-box (one wrong), pending, unlock (wrong, then right), a later resend, nothing new.
func runPollScenario(t *testing.T, srv imaptest.Server, n int, viaEnv bool) {
	c := buildPollCorpus(t, n)
	if len(c.sms) < 3 {
		t.Fatalf("corpus has %d SMS files; the scenario needs 3", len(c.sms))
	}
	w := newPollWorld(t, srv, viaEnv)
	t0 := time.Now()
	appendAll(t, w.admin, c.msgs)
	t.Logf("%d messages appended in %v", n, time.Since(t0).Round(time.Millisecond))

	// Pass 1: every message taken; files with a known password processed, SMS ones waiting.
	r := w.poll(exitFileFailed) // messages were rejected
	waiting := map[string]bool{}
	for _, id := range c.sms {
		waiting[id] = true
	}
	t.Logf("poll --once over %d messages (%d files, %d rejected messages): %v", n, len(c.files), c.rejected, w.pollDuration.Round(time.Millisecond))
	w.folders(0, n-c.rejected, c.rejected)
	w.checkAccounted(c, waiting)
	wantRecords := c.records
	for _, id := range c.sms {
		wantRecords -= c.files[id].records
	}
	if got := w.records(); got != wantRecords {
		t.Fatalf("%d records after the first pass, want %d", got, wantRecords)
	}
	if got, want := strings.Count(r.stdout, "Rapport for vaksinasjonsfil"), len(c.files)+c.rejected; got != want {
		t.Errorf("first pass printed %d reports, want %d", got, want)
	}

	// Pass 2: nothing new.
	r = w.poll(exitOK)
	if r.stdout != "" || w.records() != wantRecords {
		t.Fatalf("second pass registered something: %d records, stdout %.500q", w.records(), r.stdout)
	}
	w.folders(0, n-c.rejected, c.rejected)

	// The SMS arrives: a wrong password for the first file, none yet for the second, the right
	// one for the rest, dropped into STATE/passwords/<file-id>.
	drops := filepath.Join(w.state, spool.PasswordDir)
	if err := os.WriteFile(filepath.Join(drops, c.sms[0]), []byte("Feil-Passord\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, id := range c.sms[2:] {
		if err := os.WriteFile(filepath.Join(drops, id), []byte(c.files[id].sms+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		delete(waiting, id)
		wantRecords += c.files[id].records
	}
	w.poll(exitOK)
	if left, _ := os.ReadDir(drops); len(left) != 0 {
		t.Errorf("%d drop-box files left after the poll", len(left))
	}
	w.checkAccounted(c, waiting)
	if got := w.records(); got != wantRecords {
		t.Fatalf("%d records after the drops, want %d", got, wantRecords)
	}
	if got := w.pending(); len(got) != 2 || !waiting[got[0]] || !waiting[got[1]] {
		t.Fatalf("pending lists %v, want %v", got, c.sms[:2])
	}

	// unlock: a wrong password leaves it waiting, the right one processes it.
	wrong := w.write("feil.txt", "Feil-Igjen")
	for _, id := range c.sms[:2] {
		r := w.run(append([]string{"unlock", id, "--password-file", wrong}, w.common...)...)
		if r.code != exitFileFailed || !strings.Contains(r.stdout, "file.wrong_password") {
			t.Fatalf("unlock with a wrong password: exit %d: %.500s", r.code, r.stdout)
		}
		right := w.write("sms-"+id, c.files[id].sms)
		r = w.run(append([]string{"unlock", id, "--password-file", right}, w.common...)...)
		if r.code != exitOK {
			t.Fatalf("unlock: exit %d: %s\n%s", r.code, r.stdout, r.stderr)
		}
		r = w.run(append([]string{"unlock", id, "--password-file", right}, w.common...)...)
		if r.code != exitUsage {
			t.Fatalf("unlock of a processed file: exit %d, want %d", r.code, exitUsage)
		}
		delete(waiting, id)
		wantRecords += c.files[id].records
	}
	if got := w.pending(); len(got) != 0 {
		t.Fatalf("pending after unlock: %v", got)
	}
	if got := w.records(); got != wantRecords || got != c.records {
		t.Fatalf("%d records after unlock, want %d (corpus %d)", got, wantRecords, c.records)
	}
	w.checkAccounted(c, nil)

	// A later message resends a processed file: recognised, listed in its report, nothing new.
	resent := mailgen.Message{Subject: "Sender igjen", MessageID: "igjen@kommune.example",
		Attachments: []mailgen.Attachment{{Name: "igjen.xlsx", Data: c.resendOf}}}
	if err := w.admin.Append("INBOX", resent.Bytes()); err != nil {
		t.Fatal(err)
	}
	r = w.poll(exitOK)
	if !strings.Contains(r.stdout, "Mottatt på nytt") || w.records() != c.records {
		t.Fatalf("resend: %d records, stdout %.800s", w.records(), r.stdout)
	}
	c.files[fileID(c.resendOf)].resends++
	c.msgIDs = append(c.msgIDs, "igjen@kommune.example")
	w.folders(0, n+1-c.rejected, c.rejected)
	w.checkAccounted(c, nil)
	checkFHIRSets(t, w.out) // poll, the drop-box and unlock all ran with --fhir

	// And then nothing new.
	if r := w.poll(exitOK); r.stdout != "" {
		t.Fatalf("last pass printed %.300q", r.stdout)
	}

	// Logs (debug level) carry no password, and no ID number of the files.
	logs := w.stderr.String()
	secrets := []string{knownPW, "Feil-Passord", "Feil-Igjen"}
	for _, id := range c.sms {
		secrets = append(secrets, c.files[id].sms)
	}
	secrets = append(secrets, fixturegen.ValidIDs()...)
	for _, s := range secrets {
		if strings.Contains(logs, s) {
			t.Errorf("the log contains %q", s)
		}
	}
}

// TestPollDovecot: issue 4 "Done when": 200 messages with encrypted attachments against a real
// Dovecot, every file accounted for, messages moved, a second pass registering nothing new.
func TestPollDovecot(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	srv := imaptest.NewDovecot(t) // skips with a message when Dovecot is not installed
	runPollScenario(t, srv, 200, false)
}

func TestPollMemServer(t *testing.T) {
	runPollScenario(t, imaptest.NewMem(t), 50, true)
}

// runCLICtx is runCLI with a context (for a long-running poll).
func runCLICtx(ctx context.Context, envVars map[string]string, args ...string) result {
	var out, errb bytes.Buffer
	e := &env{
		stdin: strings.NewReader(""), stdout: &out, stderr: &errb,
		getenv: func(k string) string { return envVars[k] },
		now:    func() time.Time { return time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC) },
	}
	code := runMain(ctx, e, args)
	return result{code, out.String(), errb.String()}
}

// A second poller on the same state folder is refused with exit 4 (SPEC 4: operational), while
// the first runs; once the first has stopped, polling works again.
func TestSecondPollerRefused(t *testing.T) {
	srv := imaptest.NewMem(t)
	u, p := srv.NewUser(t)
	admin := imaptest.Login(t, srv.Addr(), u, p)
	dir := t.TempDir()
	env := map[string]string{"SYSVAK_IMAP_PASSWORD": p}
	args := []string{"poll", "--imap-addr", srv.Addr(), "--imap-tls", "insecure", "--imap-user", u, "--interval", "1h",
		"--state", filepath.Join(dir, "state"), "--out", filepath.Join(dir, "out"), "--as-of", "2026-11-23", "--log-format", "json"}
	plain, err := fixturegen.CleanBook().Bytes()
	if err != nil {
		t.Fatal(err)
	}
	if err := admin.Append("INBOX", mailgen.Message{Subject: "a", Attachments: []mailgen.Attachment{{Name: "a.xlsx", Data: plain}}}.Bytes()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	first := make(chan result, 1)
	go func() { first <- runCLICtx(ctx, env, args...) }()
	// The first poller has made its pass when the message is in Processed and the file's
	// report is written.
	deadline := time.Now().Add(20 * time.Second)
	for {
		_, err := os.Stat(filepath.Join(dir, "out", fileID(plain), "report.json"))
		if n, _ := admin.Count("Processed"); n == 1 && err == nil {
			break
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("the first poller did not take the message: %+v", <-first)
		}
		time.Sleep(20 * time.Millisecond)
	}
	second := runCLICtx(context.Background(), env, append(args, "--once")...)
	if second.code != exitOperational || !strings.Contains(second.stderr, "another poller") {
		t.Fatalf("second poller: exit %d, stderr %q", second.code, second.stderr)
	}
	cancel()
	select {
	case r := <-first:
		if r.code != exitOK || !strings.Contains(r.stdout, "a.xlsx") {
			t.Fatalf("first poller: exit %d, stdout %.300q, stderr %.500q", r.code, r.stdout, r.stderr)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the first poller did not stop on cancel")
	}
	if r := runCLICtx(context.Background(), env, append(args, "--once")...); r.code != exitOK {
		t.Fatalf("poll after the first stopped: exit %d: %s", r.code, r.stderr)
	}
}

// Exit codes of poll for configuration and operational failures (SPEC 4: 3 and 4).
func TestPollExitCodes(t *testing.T) {
	srv := imaptest.NewMem(t)
	u, p := srv.NewUser(t)
	dir := t.TempDir()
	closed := "127.0.0.1:1" // nothing listens on port 1
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want int
	}{
		{"no server", map[string]string{"SYSVAK_IMAP_PASSWORD": p}, []string{"--imap-user", u}, exitUsage},
		{"no password", nil, []string{"--imap-addr", srv.Addr(), "--imap-user", u}, exitUsage},
		{"bad tls mode", map[string]string{"SYSVAK_IMAP_PASSWORD": p}, []string{"--imap-addr", srv.Addr(), "--imap-user", u, "--imap-tls", "ssl"}, exitUsage},
		{"insecure off loopback", map[string]string{"SYSVAK_IMAP_PASSWORD": p}, []string{"--imap-addr", "192.0.2.1:143", "--imap-user", u, "--imap-tls", "insecure"}, exitUsage},
		{"arguments", map[string]string{"SYSVAK_IMAP_PASSWORD": p}, []string{"--imap-addr", srv.Addr(), "--imap-user", u, "--imap-tls", "insecure", "extra"}, exitUsage},
		{"unreachable", map[string]string{"SYSVAK_IMAP_PASSWORD": p}, []string{"--imap-addr", closed, "--imap-user", u, "--imap-tls", "insecure"}, exitOperational},
		{"wrong IMAP password", map[string]string{"SYSVAK_IMAP_PASSWORD": "wrong"}, []string{"--imap-addr", srv.Addr(), "--imap-user", u, "--imap-tls", "insecure"}, exitOperational},
		{"empty mailbox", map[string]string{"SYSVAK_IMAP_PASSWORD": p}, []string{"--imap-addr", srv.Addr(), "--imap-user", u, "--imap-tls", "insecure"}, exitOK},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"poll", "--once", "--state", filepath.Join(dir, fmt.Sprint(i)), "--out", filepath.Join(dir, "out"), "--log-format", "json"}, tt.args...)
			r := runCLI(t, tt.env, args...)
			if r.code != tt.want {
				t.Fatalf("exit %d, want %d; stderr %q", r.code, tt.want, r.stderr)
			}
			if strings.Contains(r.stderr, p) && tt.want != exitOK {
				t.Fatalf("the IMAP password is in the output: %q", r.stderr)
			}
		})
	}
}

// A password file dropped for an id that is not spooled, or an empty one, does not stop the
// poller (SPEC 6: a wrong password never stops anything).
func TestPollBadDrops(t *testing.T) {
	srv := imaptest.NewMem(t)
	w := newPollWorld(t, srv, true)
	plain, err := fixturegen.CleanBook().Bytes()
	if err != nil {
		t.Fatal(err)
	}
	data, err := fastPGP(plain, "SMS-kode-1")
	if err != nil {
		t.Fatal(err)
	}
	if err := w.admin.Append("INBOX", mailgen.Message{Subject: "x", Attachments: []mailgen.Attachment{{Name: "x.xlsx.gpg", Data: data}}}.Bytes()); err != nil {
		t.Fatal(err)
	}
	w.poll(exitOK) // waiting does not count for poll
	id := fileID(data)
	drops := filepath.Join(w.state, spool.PasswordDir)
	os.WriteFile(filepath.Join(drops, id), []byte("\n"), 0o600)                  // empty
	os.WriteFile(filepath.Join(drops, "0123456789abcdef"), []byte("x\n"), 0o600) // unknown id
	w.poll(exitOK)
	if got := w.pending(); len(got) != 1 || got[0] != id {
		t.Fatalf("pending %v", got)
	}
	if _, err := os.Stat(filepath.Join(drops, id)); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("the empty drop file was not removed")
	}
	os.WriteFile(filepath.Join(drops, id), []byte("SMS-kode-1\n"), 0o600)
	w.poll(exitOK)
	if got := w.pending(); len(got) != 0 || w.records() != 12 {
		t.Fatalf("pending %v, %d records", got, w.records())
	}
}

// A file left in `processing` by a crash after its import was committed (before the spool status
// was updated) is finished on the next pass without a spurious resend or a second registration;
// one whose outputs are missing is imported again.
func TestPollResumesInterruptedFile(t *testing.T) {
	srv := imaptest.NewMem(t)
	w := newPollWorld(t, srv, true)
	var ids []string
	for i, rows := range [][][]any{fixturegen.CleanRows()[:4], fixturegen.CleanRows()[4:8]} {
		b, err := fixturegen.Book{Sheets: []fixturegen.Sheet{{Name: "Vaksinasjoner", Rows: append([][]any{anyRow(fixturegen.Headers())}, rows...)}}}.Bytes()
		if err != nil {
			t.Fatal(err)
		}
		data, err := officeEncrypt(b, secret.New([]byte(knownPW)))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, fileID(data))
		if err := w.admin.Append("INBOX", mailgen.Message{Subject: fmt.Sprint("r", i), Attachments: []mailgen.Attachment{{Name: "r.xlsx", Data: data}}}.Bytes()); err != nil {
			t.Fatal(err)
		}
	}
	w.poll(exitOK)
	if w.records() != 8 {
		t.Fatalf("%d records", w.records())
	}
	// Crash states: ids[0] imported but still `processing`; ids[1] `processing` with its output
	// set gone.
	st, err := spool.Open(context.Background(), w.state, spool.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		if err := st.SetStatus(id, spool.StatusProcessing, ""); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()
	if err := os.RemoveAll(filepath.Join(w.out, ids[1])); err != nil {
		t.Fatal(err)
	}
	r := w.poll(exitOK)
	if strings.Count(r.stdout, "Rapport for vaksinasjonsfil") != 2 {
		t.Fatalf("the resumed pass printed %q", r.stdout)
	}
	reps, ents := w.reports(), w.entries()
	for _, id := range ids {
		if len(reps[id].Resent) != 0 || ents[id].Status != spool.StatusProcessed {
			t.Errorf("file %s: resent %v, status %s", id, reps[id].Resent, ents[id].Status)
		}
	}
	// ids[1] is imported again under the same file id: the ledger is idempotent per file, so its
	// output set holds the same 4 records again and nothing is registered twice.
	if got := w.records(); got != 8 {
		t.Errorf("%d records after the resumed pass, want 8", got)
	}
	if st := reps[ids[1]].Stats; st.Registered != 4 || st.DuplicatesInLedger != 0 {
		t.Errorf("re-imported file: %+v", st)
	}
}
