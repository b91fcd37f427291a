package mailbox

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/fhi/sysvak-import/internal/imaptest"
	"github.com/fhi/sysvak-import/internal/secret"
	"github.com/fhi/sysvak-import/internal/state/folder"
)

// The servers of the conformance suite live in internal/imaptest (shared with the CLI tests and
// the demo): go-imap's in-memory server and a real, unprivileged Dovecot.
type serverHandle = imaptest.Server

func newMemServer(tb testing.TB) serverHandle { return imaptest.NewMem(tb) }

// newDovecot skips the test when Dovecot is not installed.
func newDovecot(tb testing.TB) serverHandle { return imaptest.NewDovecot(tb) }

func newDropProxy(tb testing.TB, target string) *imaptest.DropProxy {
	return imaptest.NewDropProxy(tb, target)
}

func benchAdmin(tb testing.TB, addr, u, pw string) *imapclient.Client {
	return imaptest.Login(tb, addr, u, pw).Client
}

func secretOf(s string) secret.Secret { return secret.New([]byte(s)) }

type syncBuf struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuf) Write(p []byte) (int, error) { s.mu.Lock(); defer s.mu.Unlock(); return s.b.Write(p) }
func (s *syncBuf) String() string              { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func contains(s, sub string) bool { return strings.Contains(s, sub) }

// withState gives a config the folder state dir (and its poll lock).
func withState(c Config, dir string) Config {
	c.Open = func(ctx context.Context) (Store, error) { return folder.Open(ctx, dir, folder.Options{}) }
	c.Lock = func() (func() error, error) { return folder.LockPoll(dir) }
	return c
}
