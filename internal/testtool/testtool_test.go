package testtool

import (
	"fmt"
	"strings"
	"testing"
)

type fakeTB struct{ skipped, failed string }

func (f *fakeTB) Helper()                           {}
func (f *fakeTB) Skipf(format string, args ...any)  { f.skipped = fmt.Sprintf(format, args...) }
func (f *fakeTB) Fatalf(format string, args ...any) { f.failed = fmt.Sprintf(format, args...) }

func TestMissing(t *testing.T) {
	for _, tc := range []struct {
		ci       string
		wantFail bool
	}{{"true", true}, {"1", true}, {"", false}, {"false", false}} {
		t.Run("CI="+tc.ci, func(t *testing.T) {
			t.Setenv("CI", tc.ci)
			f := &fakeTB{}
			Missing(f, "dovecot", "apt-get install -y dovecot-imapd")
			if tc.wantFail && (f.failed == "" || f.skipped != "") {
				t.Fatalf("CI=%q: want a failure, got skip=%q fail=%q", tc.ci, f.skipped, f.failed)
			}
			if !tc.wantFail && (f.skipped == "" || f.failed != "") {
				t.Fatalf("CI=%q: want a skip, got skip=%q fail=%q", tc.ci, f.skipped, f.failed)
			}
			msg := f.failed + f.skipped
			if want := "apt-get install -y dovecot-imapd"; !strings.Contains(msg, want) {
				t.Fatalf("message %q does not say how to install (%q)", msg, want)
			}
		})
	}
}
