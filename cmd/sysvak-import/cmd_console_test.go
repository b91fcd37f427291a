package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

const opPW = "korrekt hest batteri stift"

func TestOperatorAddListRemove(t *testing.T) {
	st := filepath.Join(t.TempDir(), "state")
	pwFile := filepath.Join(t.TempDir(), "pw")
	os.WriteFile(pwFile, []byte(opPW+"\n"), 0o600)
	if r := runCLI(t, nil, "operator", "add", "kari", "--state", st, "--password-file", pwFile); r.code != exitOK {
		t.Fatalf("add: %d %s", r.code, r.stderr)
	}
	if r := runCLI(t, map[string]string{"SYSVAK_OPERATOR_PASSWORD": "et annet langt passord"}, "operator", "add", "ola", "--state", st); r.code != exitOK {
		t.Fatalf("add from the environment: %d %s", r.code, r.stderr)
	}
	for _, c := range []struct {
		env  map[string]string
		args []string
		want string
	}{
		{nil, []string{"operator", "add", "kari", "--password-file", pwFile}, "exists already"},
		{map[string]string{"SYSVAK_OPERATOR_PASSWORD": "kort"}, []string{"operator", "add", "per"}, "at least 12"},
		{nil, []string{"operator", "add", "per"}, "terminal"}, // no prompt without a terminal
		{nil, []string{"operator", "add", "bad name!", "--password-file", pwFile}, "operator name"},
		{nil, []string{"operator", "remove", "nobody"}, "no operator is named nobody"},
		{nil, []string{"operator", "frob"}, "operator add NAME"},
		{nil, []string{"operator"}, "operator add NAME"},
	} {
		r := runCLI(t, c.env, append(c.args, "--state", st)...)
		if r.code != exitUsage || !strings.Contains(r.stderr, c.want) {
			t.Errorf("%v: %d %q, want exit 3 and %q", c.args, r.code, r.stderr, c.want)
		}
	}
	l := runCLI(t, nil, "operator", "list", "--state", st)
	if l.code != exitOK || !strings.Contains(l.stdout, "kari") || !strings.Contains(l.stdout, "ola") {
		t.Fatalf("list: %d %s", l.code, l.stdout)
	}
	j := runCLI(t, nil, "operator", "list", "--state", st, "--format", "json")
	if strings.Contains(j.stdout+l.stdout, "argon2") || strings.Count(j.stdout, "\n") != 2 {
		t.Fatalf("list shows hashes or not one line per operator: %s", j.stdout)
	}
	if r := runCLI(t, nil, "operator", "remove", "ola", "--state", st); r.code != exitOK {
		t.Fatalf("remove: %d %s", r.code, r.stderr)
	}
	a := runCLI(t, nil, "audit", "--state", st)
	if a.code != exitOK || strings.Count(a.stdout, "operator_add") != 2 || strings.Count(a.stdout, "operator_remove") != 1 {
		t.Fatalf("audit: %d\n%s", a.code, a.stdout)
	}
	for _, out := range []string{a.stdout, l.stdout, j.stdout} {
		if strings.Contains(out, opPW) || strings.Contains(out, "et annet langt passord") {
			t.Fatal("a password reached the output")
		}
	}
	if r := runCLI(t, nil, "audit", "--state", st, "--format", "json", "--limit", "1"); r.code != exitOK || strings.Count(r.stdout, "\n") != 1 ||
		!strings.Contains(r.stdout, `"action":"operator_remove"`) {
		t.Fatalf("audit --limit 1 --format json: %s", r.stdout)
	}
	if r := runCLI(t, nil, "audit", "--state", st, "--since", "yesterday"); r.code != exitUsage {
		t.Errorf("bad --since: %d", r.code)
	}
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestServe starts `serve` on a loopback port of a fresh state, signs in with an operator added
// by `operator add`, reads the list, and stops it with the context (a signal).
func TestServe(t *testing.T) {
	st := filepath.Join(t.TempDir(), "state")
	vars := map[string]string{"SYSVAK_OPERATOR_PASSWORD": opPW}
	if r := runCLI(t, vars, "operator", "add", "kari", "--state", st); r.code != exitOK {
		t.Fatalf("add: %s", r.stderr)
	}
	if r := runCLI(t, nil, "serve", "--state", st, "--listen", "0.0.0.0:0"); r.code != exitUsage || !strings.Contains(r.stderr, "--tls-cert") {
		t.Fatalf("plain serve on every interface: %d %s", r.code, r.stderr)
	}
	var stderr lockedBuffer
	ctx, cancel := context.WithCancel(context.Background())
	e := &env{stdin: strings.NewReader(""), stdout: io.Discard, stderr: &stderr, getenv: func(string) string { return "" }, now: time.Now}
	done := make(chan int, 1)
	go func() {
		done <- runMain(ctx, e, []string{"serve", "--state", st, "--out", filepath.Join(t.TempDir(), "out"), "--listen", "127.0.0.1:0", "--log-format", "json"})
	}()
	urlRe := regexp.MustCompile(`the console is at (http://\S+)/`)
	var base string
	for deadline := time.Now().Add(20 * time.Second); base == "" && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if m := urlRe.FindStringSubmatch(stderr.String()); m != nil {
			base = m[1]
		}
	}
	if base == "" {
		cancel()
		t.Fatalf("serve did not start: %s", stderr.String())
	}
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	get := func(p string) string {
		r, err := hc.Get(base + p)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Body.Close()
		b, _ := io.ReadAll(r.Body)
		return string(b)
	}
	if h := get("/healthz"); h != "ok\n" {
		t.Fatalf("healthz %q", h)
	}
	tok := regexp.MustCompile(`name="csrf_token" value="([^"]+)"`).FindStringSubmatch(get("/login"))
	r, err := hc.PostForm(base+"/login", url.Values{"username": {"kari"}, "password": {opPW}, "csrf_token": {tok[1]}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(r.Body)
	r.Body.Close()
	if !strings.Contains(string(b), "Ingen filer ennå") {
		t.Fatalf("after sign-in: %d %s", r.StatusCode, b)
	}
	cancel()
	if code := <-done; code != exitOK {
		t.Fatalf("serve exit %d: %s", code, stderr.String())
	}
	if strings.Contains(stderr.String(), opPW) {
		t.Fatal("the password reached the log")
	}
	a := runCLI(t, nil, "audit", "--state", st)
	if !regexp.MustCompile(`kari +login +- +127\.0\.0\.1 +ok`).MatchString(a.stdout) {
		t.Fatalf("audit after serve: %s", a.stdout)
	}
}
