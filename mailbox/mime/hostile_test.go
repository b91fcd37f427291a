package mime

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fhi/sysvak-import/fixtures/hostile"
	"github.com/fhi/sysvak-import/validate"

	"github.com/fhi/sysvak-import/internal/heapwatch"
)

// Hostile e-mails (issue 7, fixtures/hostile): each message ends within seconds and bounded
// memory with the reason its corpus case names, the attachments it does take are written only
// into the temp folder under safe names, and nothing else is left there.

const (
	mailTime = 20 * time.Second
	mailHeap = 256 << 20 // heap growth while one message is extracted
)

// reasonFor maps the mailbox's report code of a case to the extractor's reason.
var reasonFor = map[validate.Code]Reason{
	validate.MailTooManyParts:      ReasonTooManyParts,
	validate.MailTooDeep:           ReasonTooDeep,
	validate.MailUnreadable:        ReasonUnreadable,
	validate.FileTooLarge:          ReasonTooLarge,
	validate.FileUnsupportedFormat: ReasonUnsupported,
}

func TestHostileMails(t *testing.T) {
	// The limits the poller uses: SPEC 1.1's 50 MiB per file, the package defaults otherwise.
	lim := Limits{MaxAttachmentSize: 50 << 20}.WithDefaults()
	for _, c := range hostile.Mails() {
		t.Run(c.Name, func(t *testing.T) {
			if c.Heavy && testing.Short() {
				t.Skip("heavy case; skipped with -short")
			}
			path := c.Path(t)
			root := t.TempDir()
			tmp := filepath.Join(root, "tmp")
			if err := os.Mkdir(tmp, 0o700); err != nil {
				t.Fatal(err)
			}
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			peak := heapwatch.Start()
			start := time.Now()
			atts, skipped, err := Extract(context.Background(), f, lim, MagicSniffer, tmp)
			took := time.Since(start)
			grew := peak()
			t.Logf("%s: %d taken, %d skipped in %.2fs, heap +%d MiB", c.Name, len(atts), len(skipped), took.Seconds(), grew>>20)
			if err != nil {
				t.Fatalf("a malformed message must not be an error (it is not the source failing): %v", err)
			}
			if took > mailTime {
				t.Errorf("took %v", took)
			}
			if grew > mailHeap {
				t.Errorf("heap grew by %d MiB", grew>>20)
			}
			if c.Want != "" {
				want := reasonFor[c.Want]
				found := false
				for _, s := range skipped {
					found = found || s.Reason == want
				}
				if !found {
					t.Errorf("no part skipped as %s (%s); skipped: %+v", want, c.Want, skipped)
				}
			}
			if len(skipped) > lim.MaxParts+1 {
				t.Errorf("%d skipped entries: the list must stay bounded", len(skipped))
			}
			for _, a := range atts {
				if filepath.Dir(a.Path) != tmp {
					t.Errorf("attachment written outside the temp folder: %s", a.Path)
				}
				if a.FileName == "" || strings.ContainsAny(a.FileName, "/\\\x00\r\n") || len(a.FileName) > MaxFileNameBytes ||
					strings.HasPrefix(a.FileName, ".") {
					t.Errorf("unsafe file name %q", a.FileName)
				}
				b, err := os.ReadFile(a.Path)
				if err != nil || int64(len(b)) != a.Size || hexSHA(b) != a.SHA256 {
					t.Errorf("attachment %q inconsistent with its file (%v)", a.FileName, err)
				}
				if fi, err := os.Stat(a.Path); err == nil && fi.Mode().Perm() != 0o600 {
					t.Errorf("attachment file mode %v", fi.Mode().Perm())
				}
			}
			if c.Name == "mail-name-injection.eml" {
				if len(atts) != len(hostile.HostileNames) {
					t.Errorf("%d attachments taken, want %d (one per hostile name)", len(atts), len(hostile.HostileNames))
				}
				for _, a := range atts {
					t.Logf("name %q", a.FileName)
				}
			}
			// Only the taken attachments are in the temp folder, and nothing beside it.
			ents, _ := os.ReadDir(tmp)
			if len(ents) != len(atts) {
				t.Errorf("%d files in the temp folder, %d attachments", len(ents), len(atts))
			}
			if ents, _ := os.ReadDir(root); len(ents) != 1 {
				t.Errorf("%d entries beside the temp folder", len(ents)-1)
			}
			for _, a := range atts {
				if err := a.Remove(); err != nil {
					t.Error(err)
				}
			}
		})
	}
}

// TestHostileMailsSourceDrop: the same messages cut off by the source half-way are an
// ErrSource error (retry later), and leave nothing behind.
func TestHostileMailsSourceDrop(t *testing.T) {
	for _, c := range hostile.Mails() {
		if c.Heavy && testing.Short() {
			continue
		}
		path := c.Path(t)
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		tmp := t.TempDir()
		// Cut early: several cases stop reading long before their end (part, depth and header
		// limits), and the rest of the message is never read.
		src := &dropAfter{r: f, left: min(fi.Size()/2, 256)}
		_, _, err = Extract(context.Background(), src, Limits{MaxAttachmentSize: 50 << 20}, MagicSniffer, tmp)
		f.Close()
		if !errors.Is(err, ErrSource) || !strings.Contains(err.Error(), "connection reset") {
			t.Errorf("%s: cut source: err %v, want ErrSource", c.Name, err)
		}
		if ents, _ := os.ReadDir(tmp); len(ents) != 0 {
			t.Errorf("%s: %d files left after the source failed", c.Name, len(ents))
		}
	}
}

type dropAfter struct {
	r    io.Reader
	left int64
}

func (d *dropAfter) Read(p []byte) (int, error) {
	if d.left <= 0 {
		return 0, &os.SyscallError{Syscall: "read", Err: errConnReset}
	}
	if int64(len(p)) > d.left {
		p = p[:d.left]
	}
	n, err := d.r.Read(p)
	d.left -= int64(n)
	return n, err
}

type connReset struct{}

func (connReset) Error() string { return "connection reset by peer" }

var errConnReset = connReset{}

func hexSHA(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }
