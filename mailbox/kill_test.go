package mailbox

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"

	"github.com/rs/zerolog"

	"github.com/fhi/sysvak-import/fixtures/mail/mailgen"
)

// TestKillHelper is the child process of TestKillPoller: it polls once and SIGKILLs itself at the
// KILL_AT-th crash point (fetched / recorded / moved of any message).
func TestKillHelper(t *testing.T) {
	if os.Getenv("MAILBOX_KILL_CHILD") != "1" {
		t.Skip("helper process for TestKillPoller")
	}
	killAt, _ := strconv.Atoi(os.Getenv("KILL_AT"))
	p, err := New(withState(Config{Addr: os.Getenv("ADDR"), TLS: TLSInsecure, User: os.Getenv("IMAP_USER"), Password: secretOf("secret")}, os.Getenv("STATE")), zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	p.hook = func(string, uint32) error {
		n++
		if n == killAt {
			syscall.Kill(os.Getpid(), syscall.SIGKILL)
			select {}
		}
		return nil
	}
	if _, err := p.PollOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestKillPoller kills the poller with SIGKILL at every crash point in turn (a fresh process
// each time, continuing the same run) and checks the end state: every attachment spooled once,
// every message moved, no arrival registered twice (issue 4 "kill test").
func TestKillPoller(t *testing.T) {
	e := newEnv(t, newMemServer)
	var msgs []mailgen.Message // message 5 has no attachment
	for i := 0; i < 8; i++ {
		m := mailgen.Message{Subject: fmt.Sprint("k", i), Attachments: []mailgen.Attachment{{Name: "f.xlsx", Data: mailgen.Content("ole", uint64(i%6), 2000)}}}
		if i == 5 {
			m.Attachments = nil
		}
		msgs = append(msgs, m)
		e.append("INBOX", m.Bytes())
	}
	kills := 0
	for k := 1; ; k++ {
		cmd := exec.Command(os.Args[0], "-test.run=^TestKillHelper$", "-test.count=1")
		cmd.Env = append(os.Environ(), "MAILBOX_KILL_CHILD=1", "KILL_AT="+strconv.Itoa(k), "ADDR="+e.h.Addr(), "IMAP_USER="+e.user, "STATE="+e.state)
		// Child k dies at its k-th crash point: each child gets one step further than the last.
		out, err := cmd.CombinedOutput()
		if err == nil {
			break
		}
		if ee, ok := err.(*exec.ExitError); !ok || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
			t.Fatalf("child failed without being killed: %v\n%s", err, out)
		}
		kills++
		if kills > 100 {
			t.Fatal("the run does not advance across kills")
		}
	}
	t.Logf("%d SIGKILLs", kills)
	if kills < 3 {
		t.Errorf("only %d kills", kills)
	}
	if e.count("INBOX") != 0 || e.count("Processed") != 7 || e.count("Rejected") != 1 {
		t.Fatalf("INBOX %d Processed %d Rejected %d", e.count("INBOX"), e.count("Processed"), e.count("Rejected"))
	}
	ents := e.entries()
	if len(ents) != 5 { // seeds 0..4 (message 5 has none; 6 and 7 repeat seeds 0 and 1)
		t.Fatalf("%d entries, want 5", len(ents))
	}
	arrivals := 0
	for _, en := range ents {
		arrivals += len(en.Arrivals)
		path := e.state + "/spool/" + en.ID
		data, err := os.ReadFile(path)
		if err != nil || hexSum(data) != en.SHA256 {
			t.Errorf("spool file %s: %v", en.ID, err)
		}
	}
	// Contents are seeded i%6, and message 5 has none: messages 6 and 7 resend the contents of 0
	// and 1, two real arrivals; any more would be a delivery registered twice.
	if arrivals != 2 {
		t.Fatalf("%d arrivals, want 2", arrivals)
	}
}
