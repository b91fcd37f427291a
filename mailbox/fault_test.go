package mailbox

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fhi/sysvak-import/fixtures/hostile"
	"github.com/fhi/sysvak-import/fixtures/mail/mailgen"
	"github.com/fhi/sysvak-import/internal/state/folder/spool"

	"github.com/fhi/sysvak-import/internal/imaptest"
	"github.com/fhi/sysvak-import/internal/intake"
)

// Faults and hostile input at the poller level (issue 7): hostile messages are rejected (or,
// for hostile file names, taken under safe names) one after another in one pass that goes on to
// the next message; a connection that drops in the middle of a FETCH fails the pass with
// ErrIMAP, leaves nothing half-spooled, and the next pass takes the message exactly once.

func TestHostileMailsPoll(t *testing.T) {
	e := newEnv(t, newMemServer)
	var cases []hostile.Case
	for _, c := range hostile.Mails() {
		if c.Heavy && testing.Short() || c.Name == "mail-100mb-attachment.eml" {
			continue // the server refuses literals over 100 MiB; mailbox/mime extracts that one
		}
		cases = append(cases, c)
	}
	for _, c := range cases {
		raw, err := os.ReadFile(c.Path(t))
		if err != nil {
			t.Fatal(err)
		}
		e.append("INBOX", raw)
	}
	good := corpusCase("base64_xlsx")
	e.append("INBOX", good.Msg.Bytes())

	p := e.poller(func(c *Config) { c.Limits.MaxAttachmentSize = 50 << 20 })
	start := time.Now()
	res, err := p.PollOnce(context.Background())
	took := time.Since(start)
	if err != nil {
		t.Fatalf("PollOnce: %v", err)
	}
	t.Logf("%d hostile messages and one good one in %.2fs: %d processed, %d rejected", len(cases), took.Seconds(), len(res.Processed), len(res.Rejected))
	if took > time.Duration(len(cases)+1)*20*time.Second {
		t.Errorf("pass took %v", took)
	}
	if res.Messages != len(cases)+1 || res.Moved != len(cases)+1 {
		t.Fatalf("messages %d moved %d, want %d", res.Messages, res.Moved, len(cases)+1)
	}
	// UIDs are given in append order.
	byUID := map[uint32][]string{}
	for _, r := range res.Rejected {
		for _, s := range r.Reasons {
			byUID[r.UID] = append(byUID[r.UID], string(intake.Finding(s.Reason)))
		}
	}
	processed := map[uint32]ProcessedMessage{}
	for _, m := range res.Processed {
		processed[m.UID] = m
	}
	for i, c := range cases {
		uid := uint32(i + 1)
		if c.Want == "" {
			m, ok := processed[uid]
			if !ok || len(m.FileIDs) != len(hostile.HostileNames) {
				t.Errorf("%s: not processed with %d files: %+v", c.Name, len(hostile.HostileNames), m)
			}
			continue
		}
		if !contains(strings.Join(byUID[uid], " "), string(c.Want)) {
			t.Errorf("%s: rejected with %v, want %s", c.Name, byUID[uid], c.Want)
		}
	}
	if m, ok := processed[uint32(len(cases)+1)]; !ok || len(m.FileIDs) != 1 {
		t.Errorf("the good message after the hostile ones: %+v", m)
	}
	// The spool holds the taken files under their ids, with sanitised names, and no temp file.
	for _, ent := range e.entries() {
		if strings.ContainsAny(ent.Name, "/\\\x00\r\n") || strings.HasPrefix(ent.Name, ".") {
			t.Errorf("spool entry with unsafe name %q", ent.Name)
		}
	}
	assertSpoolClean(t, e.state)
	if n := e.count("INBOX"); n != 0 {
		t.Errorf("%d messages left in INBOX", n)
	}
}

// assertSpoolClean checks that the spool's temp folder is empty and that every file in the
// state folder is one the store knows (the database, the lock, spool files by id).
func assertSpoolClean(t *testing.T, state string) {
	t.Helper()
	tmp, _ := os.ReadDir(filepath.Join(state, spool.SpoolDir, spool.TempDirName))
	if len(tmp) != 0 {
		t.Errorf("%d files left in the spool's temp folder", len(tmp))
	}
	filepath.WalkDir(state, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(state, p)
		switch {
		case rel == spool.DBFileName, rel == spool.LockFileName, rel == "ledger.db", rel == "ledger.key":
		case strings.HasPrefix(rel, spool.SpoolDir+string(filepath.Separator)) && spool.ValidFileID(strings.TrimSuffix(filepath.Base(rel), filepath.Ext(rel))):
		default:
			t.Errorf("unexpected file in the state folder: %s", rel)
		}
		return nil
	})
}

func TestDropMidFetch(t *testing.T) {
	if raceDetector {
		// go-imap v2.0.0-beta.8 reads the rest of a literal cut by a dropped connection from the
		// consumer's goroutine while its reader goroutine reads on: an upstream data race on
		// the broken connection. `make test` runs this test in its pass without -race.
		t.Skip("upstream go-imap race on a dropped connection; run without -race (make test does)")
	}
	servers := map[string]func(testing.TB) serverHandle{"memserver": newMemServer, "dovecot": newDovecot}
	for name, newServer := range servers {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, newServer)
			data := mailgen.Content("zip", 77, 3<<20)
			raw := mailgen.Message{Subject: "stor fil", Attachments: []mailgen.Attachment{{Name: "stor.xlsx", Data: data}}}.Bytes()
			e.append("INBOX", raw)
			px := imaptest.NewFetchCutProxy(t, e.h.Addr(), 256<<10)
			p := e.poller(func(c *Config) { c.Addr = px.Addr() })

			_, err := p.PollOnce(context.Background())
			if !errors.Is(err, ErrIMAP) {
				t.Fatalf("PollOnce through a connection dropped mid-fetch: %v, want ErrIMAP", err)
			}
			if px.Cuts() != 1 {
				t.Fatalf("the proxy cut %d connections", px.Cuts())
			}
			t.Logf("first pass: %v", err)
			if n := len(e.entries()); n != 0 {
				t.Fatalf("%d spool entries after the failed fetch", n)
			}
			assertSpoolClean(t, e.state)
			if n := e.count("INBOX"); n != 1 {
				t.Fatalf("%d messages in INBOX after the failed fetch, want 1", n)
			}

			res, err := p.PollOnce(context.Background())
			if err != nil {
				t.Fatalf("second pass: %v", err)
			}
			if len(res.Spooled) != 1 || res.Spooled[0].SHA256 != hexSum(data) {
				t.Fatalf("second pass spooled %+v", res.Spooled)
			}
			if n := e.count("INBOX"); n != 0 {
				t.Fatalf("%d messages left in INBOX", n)
			}
			if n := len(e.entries()); n != 1 {
				t.Fatalf("%d spool entries, want 1", n)
			}
			assertSpoolClean(t, e.state)
		})
	}
}
