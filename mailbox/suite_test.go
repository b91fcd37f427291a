package mailbox

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/rs/zerolog"

	"github.com/fhi/sysvak-import/fixtures/mail/mailgen"
	"github.com/fhi/sysvak-import/internal/secret"
	"github.com/fhi/sysvak-import/internal/state"
)

// The scenario suite runs against both servers (go-imap's memory server, Dovecot) and both state
// backends (folder, PostgreSQL).
func TestMemServer(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) { runPollerSuite(t, newMemServer, b) })
}

func TestDovecot(t *testing.T) {
	h := newDovecot(t) // one Dovecot for all subtests, one user per subtest
	forEachBackend(t, func(t *testing.T, b backend) {
		runPollerSuite(t, func(testing.TB) serverHandle { return h }, b)
	})
}

// env is one subtest's world: a server user, an admin connection as that user, a state of its
// own.
type env struct {
	t     *testing.T
	h     serverHandle
	user  string
	pass  string
	admin *imapclient.Client
	sw    stateWorld
	state string // a folder state's folder ("" on PostgreSQL)
}

// newEnv is a world on a folder state.
func newEnv(t *testing.T, newServer func(testing.TB) serverHandle) *env {
	return newEnvOn(t, newServer, folderBackend)
}

func newEnvOn(t *testing.T, newServer func(testing.TB) serverHandle, b backend) *env {
	h := newServer(t)
	u, p := h.NewUser(t)
	c, err := imapclient.DialInsecure(h.Addr(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Login(u, p).Wait(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Logout().Wait(); c.Close() })
	sw := b.world(t)
	return &env{t: t, h: h, user: u, pass: p, admin: c, sw: sw, state: sw.dir}
}

func (e *env) config(mod ...func(*Config)) Config {
	cfg := Config{Addr: e.h.Addr(), TLS: TLSInsecure, User: e.user, Password: secret.New([]byte(e.pass)),
		Interval: time.Hour, BackoffMin: 20 * time.Millisecond, BackoffMax: 200 * time.Millisecond,
		Open: func(ctx context.Context) (Store, error) { return e.sw.open(ctx) }, Lock: e.sw.lock}
	for _, m := range mod {
		m(&cfg)
	}
	return cfg
}

func (e *env) poller(mod ...func(*Config)) *Poller {
	e.t.Helper()
	p, err := New(e.config(mod...), zerolog.New(zerolog.NewTestWriter(e.t)))
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { p.Close() })
	return p
}

func (e *env) append(mbox string, raw []byte) {
	e.t.Helper()
	cmd := e.admin.Append(mbox, int64(len(raw)), nil)
	if _, err := cmd.Write(raw); err != nil {
		e.t.Fatal(err)
	}
	if err := cmd.Close(); err != nil {
		e.t.Fatal(err)
	}
	if _, err := cmd.Wait(); err != nil {
		e.t.Fatalf("append to %s: %v", mbox, err)
	}
}

func (e *env) count(mbox string) int {
	e.t.Helper()
	sd, err := e.admin.Status(mbox, &imap.StatusOptions{NumMessages: true}).Wait()
	if err != nil {
		e.t.Fatalf("status %s: %v", mbox, err)
	}
	return int(*sd.NumMessages)
}

// flagsOf returns the flags of every message in mbox.
func (e *env) flagsOf(mbox string) [][]imap.Flag {
	e.t.Helper()
	if _, err := e.admin.Select(mbox, &imap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
		e.t.Fatalf("select %s: %v", mbox, err)
	}
	msgs, err := e.admin.Fetch(imap.SeqSet{imap.SeqRange{Start: 1, Stop: 0}}, &imap.FetchOptions{Flags: true}).Collect()
	if err != nil {
		e.t.Fatalf("fetch flags in %s: %v", mbox, err)
	}
	if err := e.admin.Unselect().Wait(); err != nil {
		e.t.Fatalf("unselect: %v", err)
	}
	var out [][]imap.Flag
	for _, m := range msgs {
		out = append(out, m.Flags)
	}
	return out
}

func hexSum(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

func mustPoll(t *testing.T, p *Poller) Result {
	t.Helper()
	res, err := p.PollOnce(context.Background())
	if err != nil {
		t.Fatalf("PollOnce: %v", err)
	}
	return res
}

func corpusCase(name string) mailgen.Case {
	for _, c := range mailgen.Corpus() {
		if c.Name == name {
			return c
		}
	}
	panic(name)
}

// runPollerSuite is the conformance suite, run against every server (as go-imap's own tests and
// restic's backend suite do).
func runPollerSuite(t *testing.T, newServer func(testing.TB) serverHandle, b backend) {
	t.Run("SpoolAndMoveCorpus", func(t *testing.T) {
		e := newEnvOn(t, newServer, b)
		corpus := mailgen.Corpus()
		for _, c := range corpus {
			e.append("INBOX", c.Msg.Bytes())
		}
		p := e.poller()
		res := mustPoll(t, p)

		// Expected, by walking the corpus in UID order.
		seen := map[string]bool{}
		var wantNew, wantResent, wantProcessed, wantRejected int
		for _, c := range corpus {
			if len(c.Want) == 0 {
				wantRejected++
				continue
			}
			wantProcessed++
			inMsg := map[string]bool{}
			for _, w := range c.Want {
				s := hexSum(w)
				if inMsg[s] {
					continue
				}
				inMsg[s] = true
				if seen[s] {
					wantResent++
				} else {
					seen[s] = true
					wantNew++
				}
			}
		}
		if res.Messages != len(corpus) || len(res.Spooled) != wantNew || len(res.Resent) != wantResent ||
			len(res.Processed) != wantProcessed || len(res.Rejected) != wantRejected || res.Moved != len(corpus) {
			t.Fatalf("result: messages %d spooled %d resent %d processed %d rejected %d moved %d; want %d %d %d %d %d %d",
				res.Messages, len(res.Spooled), len(res.Resent), len(res.Processed), len(res.Rejected), res.Moved,
				len(corpus), wantNew, wantResent, wantProcessed, wantRejected, len(corpus))
		}
		if n := e.count("INBOX"); n != 0 {
			t.Errorf("INBOX still has %d messages", n)
		}
		if n := e.count("Processed"); n != wantProcessed {
			t.Errorf("Processed has %d, want %d", n, wantProcessed)
		}
		if n := e.count("Rejected"); n != wantRejected {
			t.Errorf("Rejected has %d, want %d", n, wantRejected)
		}
		// Not marked read (BODY.PEEK[]).
		for _, mb := range []string{"Processed", "Rejected"} {
			for _, fl := range e.flagsOf(mb) {
				if slices.Contains(fl, imap.FlagSeen) {
					t.Errorf("a message in %s was marked \\Seen", mb)
				}
			}
		}
		// Rejection reasons.
		reasons := map[string]bool{}
		for _, r := range res.Rejected {
			for _, s := range r.Reasons {
				reasons[s.Reason+"/"+s.What] = true
			}
		}
		for _, want := range []string{ReasonNoAttachment + "/", ReasonUnsupported + "/pdf"} {
			if !reasons[want] {
				t.Errorf("rejection reasons %v lack %s", reasons, want)
			}
		}
		// Spool files: present, bytes as received (0600 in a folder state); entries carry the provenance.
		st := e.inspect()
		for _, en := range res.Spooled {
			data := e.spooledBytes(st, en.ID)
			if hexSum(data) != en.SHA256 || en.ID != en.SHA256[:16] || !seen[en.SHA256] {
				t.Errorf("spool file %s does not match its entry", en.ID)
			}
			if e.state != "" {
				if fi, err := os.Stat(e.state + "/spool/" + en.ID); err != nil || fi.Mode().Perm() != 0o600 {
					t.Errorf("spool file %s: mode %v %v", en.ID, fi.Mode(), err)
				}
			}
			if en.Status != state.StatusArrived || en.Source.Mailbox != "INBOX" || en.Source.UID == 0 ||
				en.Source.MessageID == "" || en.Source.Sender != "vaksine@kommune.example" || en.Source.UIDValidity != res.UIDValidity {
				t.Errorf("entry provenance %+v", en)
			}
		}
		st.Close()
		for _, d := range []string{e.state + "/spool", e.state + "/passwords", e.state} {
			if e.state == "" {
				break
			}
			if fi, err := os.Stat(d); err != nil || fi.Mode().Perm() != 0o700 {
				t.Errorf("%s mode %v %v", d, fi.Mode(), err)
			}
		}
		// A second pass finds nothing new.
		res2 := mustPoll(t, p)
		if res2.Messages != 0 || len(res2.Spooled) != 0 || res2.Moved != 0 {
			t.Errorf("second pass: %+v", res2)
		}
	})

	t.Run("FoldersCreatedAndCustomNames", func(t *testing.T) {
		e := newEnvOn(t, newServer, b)
		e.append("INBOX", corpusCase("none").Msg.Bytes())
		p := e.poller(func(c *Config) { c.ProcessedFolder, c.RejectedFolder = "Behandlet", "Avvist" })
		mustPoll(t, p)
		if e.count("Avvist") != 1 || e.count("Behandlet") != 0 {
			t.Fatal("custom folders not created/used")
		}
	})

	t.Run("ResendAcrossPasses", func(t *testing.T) {
		e := newEnvOn(t, newServer, b)
		e.append("INBOX", corpusCase("base64_xlsx").Msg.Bytes())
		p := e.poller()
		r1 := mustPoll(t, p)
		e.append("INBOX", corpusCase("duplicate_of_base64_xlsx").Msg.Bytes())
		r2 := mustPoll(t, p)
		if len(r1.Spooled) != 1 || len(r2.Spooled) != 0 || len(r2.Resent) != 1 || r2.Resent[0].ID != r1.Spooled[0].ID {
			t.Fatalf("pass1 %+v pass2 %+v", r1.Spooled, r2)
		}
		ents := e.entries()
		if len(ents) != 1 || len(ents[0].Arrivals) != 1 || ents[0].Arrivals[0].MessageID != "resend-1@mailgen.example" ||
			ents[0].Arrivals[0].FileName != "vaksinasjoner (2).xlsx" || ents[0].Arrivals[0].UID == ents[0].Source.UID {
			t.Fatalf("entries %+v", ents)
		}
		if e.count("Processed") != 2 {
			t.Fatal("resent message not moved to Processed")
		}
	})

	t.Run("MessageIDDedup", func(t *testing.T) {
		// The very same message (same Message-ID, same attachment) delivered twice is one arrival.
		e := newEnvOn(t, newServer, b)
		raw := corpusCase("qp_ole").Msg.Bytes()
		e.append("INBOX", raw)
		e.append("INBOX", raw)
		res := mustPoll(t, e.poller())
		if len(res.Spooled) != 1 || len(res.Resent) != 1 {
			t.Fatalf("spooled %d resent %d", len(res.Spooled), len(res.Resent))
		}
		if ents := e.entries(); len(ents) != 1 || len(ents[0].Arrivals) != 0 {
			t.Fatalf("a redelivery of the same Message-ID was registered as an arrival: %+v", ents)
		}
		if e.count("INBOX") != 0 || e.count("Processed") != 2 {
			t.Fatal("messages not moved")
		}
	})

	t.Run("CrashPoints", func(t *testing.T) {
		for _, point := range []string{"fetched", "recorded", "moved"} {
			t.Run(point, func(t *testing.T) {
				e := newEnvOn(t, newServer, b)
				for _, n := range []string{"base64_xlsx", "several", "none"} {
					e.append("INBOX", corpusCase(n).Msg.Bytes())
				}
				// Crash at `point` of the second message.
				p := e.poller()
				crash := errors.New("simulated crash")
				calls := 0
				p.hook = func(pt string, uid uint32) error {
					if pt == point {
						calls++
						if calls == 2 {
							return crash
						}
					}
					return nil
				}
				if _, err := p.PollOnce(context.Background()); !errors.Is(err, crash) {
					t.Fatalf("want the simulated crash, got %v", err)
				}
				p.Close() // the process died: lock released, connection gone
				p.disconnect()

				// A fresh poller completes the job.
				p2 := e.poller()
				res := mustPoll(t, p2)
				if e.count("INBOX") != 0 || e.count("Processed") != 2 || e.count("Rejected") != 1 {
					t.Fatalf("after restart: INBOX %d Processed %d Rejected %d", e.count("INBOX"), e.count("Processed"), e.count("Rejected"))
				}
				ents := e.entries()
				if len(ents) != 3 { // xl (base64_xlsx), then several: xl again (resend), armor, xl2 (+ a PDF skipped)
					t.Fatalf("%d entries, want 3", len(ents))
				}
				for _, en := range ents {
					want := 0
					if en.SHA256 == hexSum(mailgen.Content("zip", 1, 3000)) {
						want = 1 // the `several` message carried it again, under a different Message-ID
					}
					if len(en.Arrivals) != want {
						t.Errorf("entry %s has %d arrivals, want %d (registered twice?)", en.ID, len(en.Arrivals), want)
					}
				}
				st := e.inspect()
				for uid := uint32(1); uid <= 3; uid++ {
					m, err := st.Message(context.Background(), state.MessageKey{Mailbox: "INBOX", UIDValidity: res.UIDValidity, UID: uid})
					if err != nil || !m.Moved {
						t.Errorf("message %d: moved %v, %v", uid, m.Moved, err)
					}
				}
				if pm, err := st.PendingMoves(context.Background(), "INBOX", res.UIDValidity); err != nil || len(pm) != 0 {
					t.Errorf("pending moves %d, %v", len(pm), err)
				}
				st.Close()
				if ents, _ := os.ReadDir(e.state + "/spool/tmp"); e.state != "" && len(ents) != 0 {
					t.Errorf("%d temp files left", len(ents))
				}
			})
		}
	})

	t.Run("UIDValidityChange", func(t *testing.T) {
		e := newEnvOn(t, newServer, b)
		if err := e.admin.Create("Incoming", nil).Wait(); err != nil {
			t.Fatal(err)
		}
		m1 := corpusCase("base64_xlsx").Msg.Bytes()
		m2 := corpusCase("octet_stream_gpg").Msg.Bytes()
		m3 := corpusCase("qp_ole").Msg.Bytes()
		e.append("Incoming", m1)
		e.append("Incoming", m2)
		inc := func(c *Config) { c.Mailbox = "Incoming" }
		p := e.poller(inc)
		calls := 0
		p.hook = func(pt string, uid uint32) error { // m2 is recorded but never moved
			if pt == "recorded" {
				calls++
				if calls == 2 {
					return errors.New("crash")
				}
			}
			return nil
		}
		r1, _ := p.PollOnce(context.Background())
		p.Close()
		if len(r1.Spooled) != 2 {
			t.Fatalf("first pass spooled %d", len(r1.Spooled))
		}
		// The mailbox is re-created (new UIDVALIDITY) and restored with m1 (already processed),
		// m2 (recorded, not moved) and a new m3.
		if err := e.admin.Delete("Incoming").Wait(); err != nil {
			t.Fatal(err)
		}
		if err := e.admin.Create("Incoming", nil).Wait(); err != nil {
			t.Fatal(err)
		}
		e.append("Incoming", m1)
		e.append("Incoming", m2)
		e.append("Incoming", m3)
		p2 := e.poller(inc)
		r2 := mustPoll(t, p2)
		if !r2.UIDValidityChanged || r2.UIDValidity == r1.UIDValidity {
			t.Fatalf("UIDVALIDITY change not noticed: %d -> %d", r1.UIDValidity, r2.UIDValidity)
		}
		if len(r2.Spooled) != 1 || len(r2.Resent) != 2 || r2.Messages != 3 {
			t.Fatalf("rescan: spooled %d resent %d messages %d", len(r2.Spooled), len(r2.Resent), r2.Messages)
		}
		for _, en := range e.entries() {
			if len(en.Arrivals) != 0 {
				t.Errorf("entry %s got an arrival from the rescan: %+v", en.ID, en.Arrivals)
			}
		}
		if e.count("Incoming") != 0 || e.count("Processed") != 4 { // m1 from the first pass + 3
			t.Fatalf("Incoming %d Processed %d", e.count("Incoming"), e.count("Processed"))
		}
	})

	t.Run("SecondPoller", func(t *testing.T) { // refused on a folder state; PostgreSQL shares the work
		e := newEnvOn(t, newServer, b)
		e.poller()
		p, err := New(e.config(), zerolog.Nop())
		if e.sw.lock == nil {
			if err != nil {
				t.Fatalf("second poller on PostgreSQL: %v", err)
			}
			p.Close()
		} else if !errors.Is(err, state.ErrLocked) {
			t.Fatalf("second poller: %v", err)
		}
	})

	t.Run("IdleWakeUp", func(t *testing.T) {
		e := newEnvOn(t, newServer, b)
		p := e.poller() // Interval is an hour: only IDLE can wake it
		passes := make(chan Result, 10)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			done <- p.Run(ctx, func(_ context.Context, r Result) error { passes <- r; return nil })
		}()
		<-passes // the first, empty pass
		time.Sleep(100 * time.Millisecond)
		e.append("INBOX", corpusCase("rfc2047_name").Msg.Bytes())
		select {
		case r := <-passes:
			if len(r.Spooled) != 1 || r.Spooled[0].Name != "Vaksiner Ålesund.xlsx" {
				t.Fatalf("woken pass: %+v", r)
			}
		case <-time.After(15 * time.Second):
			t.Fatal("IDLE did not wake the poller")
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("Run after cancel: %v", err)
		}
	})

	t.Run("ReconnectAfterDrop", func(t *testing.T) {
		e := newEnvOn(t, newServer, b)
		px := newDropProxy(t, e.h.Addr())
		p := e.poller(func(c *Config) { c.Addr = px.Addr() })
		passes := make(chan Result, 10)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			done <- p.Run(ctx, func(_ context.Context, r Result) error { passes <- r; return nil })
		}()
		<-passes
		time.Sleep(100 * time.Millisecond)
		if n := px.DropAll(); n == 0 {
			t.Fatal("no connection to drop")
		}
		e.append("INBOX", corpusCase("base64_xlsx").Msg.Bytes())
		deadline := time.After(15 * time.Second)
		for got := false; !got; {
			select {
			case r := <-passes:
				got = len(r.Spooled) == 1
			case <-deadline:
				t.Fatal("no pass after the connection was dropped")
			}
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("Run: %v", err)
		}
		if e.count("INBOX") != 0 {
			t.Fatal("message not moved after reconnect")
		}
	})

	t.Run("SizeLimit", func(t *testing.T) {
		e := newEnvOn(t, newServer, b)
		e.append("INBOX", corpusCase("qp_ole").Msg.Bytes()) // 4096 bytes
		p := e.poller(func(c *Config) { c.Limits.MaxAttachmentSize = 4000 })
		res := mustPoll(t, p)
		if len(res.Rejected) != 1 || res.Rejected[0].Reasons[0].Reason != ReasonTooLarge {
			t.Fatalf("%+v", res.Rejected)
		}
	})

	t.Run("CancelStopsAfterCurrentMessage", func(t *testing.T) {
		e := newEnvOn(t, newServer, b)
		for i := 0; i < 3; i++ {
			e.append("INBOX", mailgen.Message{Subject: fmt.Sprint("c", i),
				Attachments: []mailgen.Attachment{{Name: "f.xlsx", Data: mailgen.Content("zip", uint64(100+i), 500)}}}.Bytes())
		}
		p := e.poller()
		ctx, cancel := context.WithCancel(context.Background())
		p.hook = func(pt string, uid uint32) error {
			if pt == "fetched" {
				cancel() // the stop arrives while the first message is being taken
			}
			return nil
		}
		res, err := p.PollOnce(ctx)
		if !errors.Is(err, context.Canceled) || res.Messages != 1 || res.Moved != 1 {
			t.Fatalf("err %v messages %d moved %d", err, res.Messages, res.Moved)
		}
		if e.count("INBOX") != 2 {
			t.Fatal("the other messages should wait in the mailbox")
		}
	})
}
