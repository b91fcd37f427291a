// Package testtool decides what a test does when a tool or server it needs (Dovecot, PostgreSQL,
// Chromium, LibreOffice, openpyxl, gpg, an SMTP server, node) is not on the machine: locally it
// skips with a message that says what to install; under CI (CI=true) it fails, so that a missing
// install can never turn into a green run that tested nothing.
package testtool

import (
	"os"
	"os/exec"
	"strconv"
)

// TB is the part of testing.TB that Missing needs.
type TB interface {
	Helper()
	Skipf(format string, args ...any)
	Fatalf(format string, args ...any)
}

// InCI reports whether the test runs under CI (the environment variable CI is true).
func InCI() bool {
	v, err := strconv.ParseBool(os.Getenv("CI"))
	return err == nil && v
}

// Missing ends the test because what it needs is not there: Fatalf under CI, Skipf otherwise. what
// names the tool, install says how to get it (for example "apt-get install -y dovecot-imapd").
func Missing(tb TB, what, install string, args ...any) {
	tb.Helper()
	msg := what + " is not available"
	if len(args) > 0 {
		msg += " (" + stringify(args) + ")"
	}
	if install != "" {
		msg += "; install it with: " + install
	}
	if InCI() {
		tb.Fatalf("%s (CI=true: a missing tool fails the run)", msg)
		return
	}
	tb.Skipf("%s; skipping", msg)
}

// LookPath returns the path of the named program, or ends the test through Missing.
func LookPath(tb TB, name, install string) string {
	tb.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		Missing(tb, name, install)
		return ""
	}
	return p
}

func stringify(args []any) string {
	s := ""
	for i, a := range args {
		if i > 0 {
			s += " "
		}
		switch v := a.(type) {
		case error:
			s += v.Error()
		case string:
			s += v
		default:
			s += "?"
		}
	}
	return s
}
