package console

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fhi/sysvak-import/importer/report"
)

func TestHealthzNeedsNoLogin(t *testing.T) {
	c := newEnv(t, fixtureFiles(t)).start(t)
	r := c.get("/healthz")
	if r.code != 200 || strings.TrimSpace(r.body) != "ok" {
		t.Fatalf("healthz: %d %q", r.code, r.body)
	}
}

func TestMetrics(t *testing.T) {
	e := newEnv(t, fixtureFiles(t))
	c := e.start(t)
	r := c.get("/metrics")
	if r.code != 200 {
		t.Fatalf("metrics: %d", r.code)
	}
	for _, want := range []string{
		`sysvak_files{status="waiting_password"} 1`,
		`sysvak_files{status="rejected"} 1`,
		`sysvak_files{status="processed"} 3`,
		`sysvak_rows{outcome="read"}`,
		`sysvak_last_successful_poll_timestamp_seconds 1.79`,
		`sysvak_receipts_waiting 3`,
	} {
		if !strings.Contains(r.body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	off := newEnv(t, fixtureFiles(t), func(c *Config) { c.Metrics = false }).start(t)
	if r := off.get("/metrics"); r.code != http.StatusNotFound {
		t.Errorf("metrics on a non-loopback console: %d, want 404", r.code)
	}
}

func TestPagesNeedLogin(t *testing.T) {
	c := newEnv(t, fixtureFiles(t)).start(t)
	for _, p := range []string{"/", "/files/" + idClean, "/files/" + idClean + "/report.json",
		"/files/" + idClean + "/report.txt", "/?lang=en"} {
		r := c.get(p)
		if r.code != http.StatusSeeOther || !strings.HasPrefix(r.header.Get("Location"), "/login") {
			t.Errorf("GET %s without login: %d %s", p, r.code, r.header.Get("Location"))
		}
	}
	if r := c.get("/?lang=en"); r.header.Get("Location") != "/login?lang=en" {
		t.Errorf("the language is lost on the way to the login page: %s", r.header.Get("Location"))
	}
	for _, p := range []string{"/logout", "/files/" + idWaiting + "/unlock"} {
		if r := c.post(p, url.Values{"csrf_token": {"x"}, "password": {waitingPW}}); r.code != http.StatusForbidden {
			t.Errorf("POST %s without login: %d, want 403", p, r.code)
		}
	}
}

func TestLoginCSRF(t *testing.T) {
	e := newEnv(t, fixtureFiles(t))
	c := e.start(t)
	form := url.Values{"username": {opName}, "password": {opPassword}}
	if r := c.post("/login", form); r.code != http.StatusForbidden {
		t.Errorf("login without pre-session cookie or token: %d, want 403", r.code)
	}
	page := c.get("/login")
	if r := c.post("/login", form); r.code != http.StatusForbidden {
		t.Errorf("login without token: %d, want 403", r.code)
	}
	form.Set("csrf_token", csrf(t, page.body)+"x")
	if r := c.post("/login", form); r.code != http.StatusForbidden {
		t.Errorf("login with a wrong token: %d, want 403", r.code)
	}
	// A token from another browser (another pre-session cookie) is refused too.
	other := e.start(t)
	form.Set("csrf_token", csrf(t, other.get("/login").body))
	if r := c.post("/login", form); r.code != http.StatusForbidden {
		t.Errorf("login with another browser's token: %d, want 403", r.code)
	}
	if n := len(e.audit.find(AuditLogin)); n != 0 {
		t.Errorf("refused CSRF posts reached the login: %d audit entries", n)
	}
}

func TestLoginSuccessCookieAndAudit(t *testing.T) {
	e := newEnv(t, fixtureFiles(t))
	c := e.start(t)
	r := c.login(opName, opPassword)
	if r.code != http.StatusSeeOther || r.header.Get("Location") != "/" {
		t.Fatalf("login: %d %s", r.code, r.header.Get("Location"))
	}
	var sess *http.Cookie
	for _, ck := range r.cookie {
		if ck.Name == "sysvak_session" {
			sess = ck
		}
	}
	if sess == nil || !sess.HttpOnly || sess.SameSite != http.SameSiteStrictMode || sess.Secure || sess.Path != "/" {
		t.Fatalf("session cookie: %+v", sess)
	}
	a := e.audit.find(AuditLogin)
	if len(a) != 1 || a[0].Actor != opName || a[0].Detail != "ok" || a[0].Remote != "127.0.0.1" || a[0].Time.IsZero() {
		t.Fatalf("audit: %+v", a)
	}
	if l := c.get("/"); l.code != 200 || !strings.Contains(l.body, opName) {
		t.Fatalf("list after login: %d", l.code)
	}
	// The login page of a signed-in operator goes to the list.
	if r := c.get("/login"); r.code != http.StatusSeeOther {
		t.Errorf("GET /login when signed in: %d", r.code)
	}
}

func TestTLSCookies(t *testing.T) {
	e := newEnv(t, fixtureFiles(t), func(c *Config) { c.TLS = true })
	rec := serve(e.srv, http.MethodGet, "/login", nil, nil)
	cks := rec.Result().Cookies()
	if len(cks) != 1 || cks[0].Name != "__Host-sysvak_login" || !cks[0].Secure || !cks[0].HttpOnly ||
		cks[0].SameSite != http.SameSiteStrictMode || cks[0].Path != "/" || cks[0].Domain != "" {
		t.Fatalf("pre-session cookie under TLS: %+v", cks)
	}
	if rec.Header().Get("Strict-Transport-Security") == "" {
		t.Error("no HSTS under TLS")
	}
	form := url.Values{"username": {opName}, "password": {opPassword}, "csrf_token": {csrf(t, rec.Body.String())}}
	rec = serve(e.srv, http.MethodPost, "/login", form, cks)
	var sess *http.Cookie
	for _, ck := range rec.Result().Cookies() {
		if ck.Name == "__Host-sysvak_session" {
			sess = ck
		}
	}
	if rec.Code != http.StatusSeeOther || sess == nil || !sess.Secure || !sess.HttpOnly || sess.SameSite != http.SameSiteStrictMode {
		t.Fatalf("TLS login: %d, session cookie %+v", rec.Code, sess)
	}
}

func TestWrongPasswordAndLockout(t *testing.T) {
	e := newEnv(t, fixtureFiles(t))
	c := e.start(t)
	for i := 1; i <= 4; i++ {
		r := c.login(opName, "wrong password "+string(rune('a'+i)))
		if r.code != http.StatusUnauthorized || !strings.Contains(r.body, `id="login-error"`) {
			t.Fatalf("attempt %d: %d", i, r.code)
		}
	}
	if r := c.login(opName, "wrong password again"); r.code != http.StatusUnauthorized {
		t.Fatalf("5th failure: %d", r.code)
	}
	// Locked now: even the right password does not sign in, with the same message.
	r := c.login(opName, opPassword)
	if r.code != http.StatusUnauthorized || !strings.Contains(r.body, `id="login-error"`) {
		t.Fatalf("right password on a locked account: %d", r.code)
	}
	var outcomes []string
	for _, a := range e.audit.find(AuditLogin) {
		outcomes = append(outcomes, a.Detail)
		if a.Actor != opName {
			t.Errorf("audit user %q", a.Actor)
		}
	}
	want := "wrong_password wrong_password wrong_password wrong_password locked_now locked"
	if strings.Join(outcomes, " ") != want {
		t.Fatalf("audit outcomes %v, want %s", outcomes, want)
	}
	e.clock.Add(14 * time.Minute)
	if r := c.login(opName, opPassword); r.code != http.StatusUnauthorized {
		t.Fatalf("after 14 minutes: %d, still locked expected", r.code)
	}
	e.clock.Add(2 * time.Minute)
	if r := c.login(opName, opPassword); r.code != http.StatusSeeOther {
		t.Fatalf("after 16 minutes: %d, want a sign-in", r.code)
	}
}

func TestFailuresOutsideWindowDoNotLock(t *testing.T) {
	e := newEnv(t, fixtureFiles(t))
	c := e.start(t)
	for i := 0; i < 8; i++ {
		c.login(opName, "not the password")
		e.clock.Add(4 * time.Minute) // at most 4 failures in any 15 minutes
	}
	if r := c.login(opName, opPassword); r.code != http.StatusSeeOther {
		t.Fatalf("spread-out failures locked the account: %d", r.code)
	}
}

func TestUnknownUserIsNotRecordedByName(t *testing.T) {
	e := newEnv(t, fixtureFiles(t))
	c := e.start(t)
	typed := "korrekt hest batteri stift" // a password typed into the user field
	if r := c.login(typed, "x"); r.code != http.StatusUnauthorized {
		t.Fatalf("unknown user: %d", r.code)
	}
	a := e.audit.find(AuditLogin)
	if len(a) != 1 || a[0].Actor != "" || a[0].Detail != "unknown_user" {
		t.Fatalf("audit: %+v", a)
	}
	b, _ := json.Marshal(e.audit.all())
	if strings.Contains(string(b), typed) {
		t.Fatal("the typed user name reached the audit log")
	}
}

func TestAddressThrottle(t *testing.T) {
	e := newEnv(t, fixtureFiles(t))
	c := e.start(t)
	var last resp
	for i := 0; i <= ipAttempts; i++ {
		last = c.login("nobody", "x")
	}
	if last.code != http.StatusTooManyRequests || last.header.Get("Retry-After") == "" {
		t.Fatalf("attempt %d: %d, want 429", ipAttempts+1, last.code)
	}
	if a := e.audit.find(AuditLogin); a[len(a)-1].Detail != "throttled" {
		t.Fatalf("last audit %+v", a[len(a)-1])
	}
}

func TestSessionIdleTimeout(t *testing.T) {
	e := newEnv(t, fixtureFiles(t))
	c := e.start(t)
	c.mustLogin()
	e.clock.Add(29 * time.Minute)
	if r := c.get("/"); r.code != 200 {
		t.Fatalf("after 29 idle minutes: %d", r.code)
	}
	e.clock.Add(31 * time.Minute)
	r := c.get("/")
	if r.code != http.StatusSeeOther || r.header.Get("Location") != "/login?expired=1" {
		t.Fatalf("after 31 idle minutes: %d %s", r.code, r.header.Get("Location"))
	}
	if p := c.get("/login?expired=1"); !strings.Contains(p.body, "Økten er utløpt") {
		t.Error("the login page does not say the session ended")
	}
}

func TestLogout(t *testing.T) {
	e := newEnv(t, fixtureFiles(t))
	c := e.start(t)
	list := c.mustLogin()
	if r := c.post("/logout", nil); r.code != http.StatusForbidden {
		t.Fatalf("logout without CSRF token: %d", r.code)
	}
	if r := c.get("/"); r.code != 200 {
		t.Fatal("a refused logout ended the session")
	}
	r := c.post("/logout", url.Values{"csrf_token": {csrf(t, list.body)}})
	if r.code != http.StatusSeeOther || r.header.Get("Location") != "/login" {
		t.Fatalf("logout: %d %s", r.code, r.header.Get("Location"))
	}
	if r := c.get("/"); r.code != http.StatusSeeOther {
		t.Fatalf("GET / after logout: %d", r.code)
	}
	if a := e.audit.find(AuditLogout); len(a) != 1 || a[0].Actor != opName {
		t.Fatalf("logout audit %+v", a)
	}
	c.mustLogin()
	if r := c.get("/logout"); r.code == http.StatusOK || r.code == http.StatusSeeOther {
		t.Errorf("GET /logout: %d, want a refusal", r.code)
	}
	if r := c.get("/"); r.code != http.StatusOK {
		t.Error("GET /logout ended the session")
	}
}

func TestSecurityHeadersOnEveryRoute(t *testing.T) {
	e := newEnv(t, fixtureFiles(t))
	c := e.start(t)
	list := c.mustLogin()
	tok := csrf(t, list.body)
	type req struct {
		method, path string
		form         url.Values
		cache        string
	}
	reqs := []req{
		{"GET", "/login", nil, "no-store"}, {"GET", "/", nil, "no-store"}, {"GET", "/?status=waiting_password", nil, "no-store"},
		{"GET", "/files/" + idRowErrors, nil, "no-store"}, {"GET", "/files/" + idRowErrors + "/report.json", nil, "no-store"},
		{"GET", "/files/" + idRowErrors + "/report.txt", nil, "no-store"}, {"GET", "/healthz", nil, "no-store"},
		{"GET", "/metrics", nil, "no-store"}, {"GET", "/nope", nil, "no-store"}, {"GET", "/static/console.css", nil, "public, max-age=3600"},
		{"GET", "/static/console.js", nil, "public, max-age=3600"},
		{"POST", "/files/" + idWaiting + "/unlock", url.Values{"csrf_token": {tok}, "password": {"wrong one"}}, "no-store"},
	}
	for _, q := range reqs {
		var r resp
		if q.method == "GET" {
			r = c.get(q.path)
		} else {
			r = c.post(q.path, q.form)
		}
		h := r.header
		csp := h.Get("Content-Security-Policy")
		if !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") ||
			!strings.Contains(csp, "frame-ancestors 'none'") || !strings.Contains(csp, "default-src 'none'") {
			t.Errorf("%s %s: CSP %q", q.method, q.path, csp)
		}
		if h.Get("X-Frame-Options") != "DENY" || h.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s %s: XFO %q XCTO %q", q.method, q.path, h.Get("X-Frame-Options"), h.Get("X-Content-Type-Options"))
		}
		if h.Get("Cache-Control") != q.cache {
			t.Errorf("%s %s: Cache-Control %q, want %q", q.method, q.path, h.Get("Cache-Control"), q.cache)
		}
		if strings.Contains(r.body, "<script>") || strings.Contains(r.body, " style=") || strings.Contains(r.body, "onclick") {
			t.Errorf("%s %s: inline script or style", q.method, q.path)
		}
	}
}

func TestFileListOrderFilterCounts(t *testing.T) {
	e := newEnv(t, fixtureFiles(t))
	c := e.start(t)
	l := c.mustLogin()
	// Newest first: waiting (12:00), resent (11:00), no-header (10:00), row-errors (09:00), clean (08:00).
	order := []string{idWaiting, idResent, idNoHeader, idRowErrors, idClean}
	pos := -1
	for _, id := range order {
		i := strings.Index(l.body, `href="/files/`+id+`"`)
		if i < 0 || i < pos {
			t.Fatalf("file %s missing or out of order", id)
		}
		pos = i
	}
	for _, want := range []string{"octool_agile.xlsx", "helsestasjon@kommune.example", "venter på passord",
		`Alle <span class="count">5</span>`, `avvist <span class="count">1</span>`, `behandlet <span class="count">3</span>`, "filen avvist", "noen rader avvist", "e-post (INBOX)", "Side 1 av 1 (5 filer)"} {
		if !strings.Contains(l.body, want) {
			t.Errorf("list lacks %q", want)
		}
	}
	w := c.get("/?status=waiting_password")
	if !strings.Contains(w.body, idWaiting) || strings.Contains(w.body, idClean) || !strings.Contains(w.body, `aria-current="page">venter på passord`) {
		t.Errorf("status filter: waiting file shown=%v, clean file shown=%v", strings.Contains(w.body, idWaiting), strings.Contains(w.body, idClean))
	}
	if bad := c.get("/?status=bogus"); bad.code != 200 || !strings.Contains(bad.body, idClean) {
		t.Errorf("an unknown status lists every file: %d", bad.code)
	}
	en := c.get("/?lang=en")
	for _, want := range []string{`lang="en"`, "Files", "waiting for its password", `href="/files/` + idWaiting + `?lang=en"`, "Sign out"} {
		if !strings.Contains(en.body, want) {
			t.Errorf("English list lacks %q", want)
		}
	}
}

func TestFileListPagination(t *testing.T) {
	files := manyFiles(120)
	e := newEnv(t, files, func(c *Config) { c.PageSize = 50 })
	c := e.start(t)
	p1 := c.mustLogin()
	if n := strings.Count(p1.body, `class="fid"`); n != 50 {
		t.Fatalf("page 1 has %d files", n)
	}
	if !strings.Contains(p1.body, `href="/?page=2" rel="next"`) || strings.Contains(p1.body, `rel="prev"`) {
		t.Error("page 1 links")
	}
	p3 := c.get("/?page=3")
	if n := strings.Count(p3.body, `class="fid"`); n != 20 || !strings.Contains(p3.body, "Side 3 av 3 (120 filer)") ||
		!strings.Contains(p3.body, `href="/?page=2" rel="prev"`) {
		t.Errorf("page 3: %d files", n)
	}
	// The oldest file is last on the last page.
	if !strings.Contains(p3.body, fakeID(0)) || strings.Contains(p1.body, fakeID(0)) {
		t.Error("oldest file not on the last page")
	}
}

func TestEmptyState(t *testing.T) {
	e := newEnv(t, newMemFiles())
	c := e.start(t)
	l := c.mustLogin()
	if !strings.Contains(l.body, `id="empty"`) || !strings.Contains(l.body, "sysvak-import serve") ||
		!strings.Contains(l.body, "sysvak-import import FIL") || strings.Contains(l.body, "<table") {
		t.Fatalf("empty state:\n%s", l.body)
	}
	e2 := newEnv(t, fixtureFiles(t))
	files := e2.files
	files.mu.Lock()
	for id, f := range files.files {
		if f.Stage == StageProcessed {
			delete(files.files, id)
		}
	}
	files.mu.Unlock()
	c2 := e2.start(t)
	c2.mustLogin()
	f := c2.get("/?status=processed")
	if !strings.Contains(f.body, "Ingen filer har denne statusen") || !strings.Contains(f.body, "Vis alle filer") {
		t.Fatalf("empty filter:\n%s", f.body)
	}
}

func TestFilePage(t *testing.T) {
	e := newEnv(t, fixtureFiles(t))
	c := e.start(t)
	c.mustLogin()
	r := c.get("/files/" + idRowErrors)
	if r.code != 200 {
		t.Fatalf("file page: %d", r.code)
	}
	d, _ := e.files.FileDetail(context.Background(), idRowErrors)
	for _, want := range []string{
		"row-errors.xlsx", `id="tot-rows">` + strconv.Itoa(d.Report.Stats.Rows), `id="tot-rejected">` + strconv.Itoa(d.Report.Stats.Rejected),
		"<code>id.checksum</code>", "<code>header.unknown_column</code>", "Funn per kode", "report.txt", "report.json", "Slik retter du",
	} {
		if !strings.Contains(r.body, want) {
			t.Errorf("file page lacks %q", want)
		}
	}
	if strings.Contains(r.body, `id="unlock-submit"`) {
		t.Error("a processed file shows the unlock form")
	}
	nh := c.get("/files/" + idNoHeader)
	if !strings.Contains(nh.body, "Feil i filen som helhet") || !strings.Contains(nh.body, "file.header_not_found") {
		t.Error("file-level findings missing")
	}
	rs := c.get("/files/" + idResent + "?lang=en")
	if !strings.Contains(rs.body, "Arrivals") || strings.Count(rs.body, "sent again") != 2 || !strings.Contains(rs.body, "Findings by code") {
		t.Errorf("resent file page lacks its arrivals")
	}
	cl := c.get("/files/" + idClean)
	if !strings.Contains(cl.body, "Ingen funn.") || strings.Contains(cl.body, "Mottak</h2>") {
		t.Error("clean file page")
	}
	for _, p := range []string{"/files/ffffffffffffffff", "/files/NOT-AN-ID", "/files/" + idClean + "x", "/files/../etc/passwd"} {
		if r := c.get(p); r.code != http.StatusNotFound && r.code != http.StatusTemporaryRedirect {
			t.Errorf("GET %s: %d, want 404", p, r.code)
		}
	}
}

func TestGroupFindingsRowList(t *testing.T) {
	if got := rowList([]int{2, 3, 4, 5, 9, 11, 12, 20}, 60, "more"); got != "2–5, 9, 11, 12, 20" {
		t.Errorf("rowList = %q", got)
	}
	if got := rowList([]int{1, 3, 5, 7}, 2, "flere"); got != "1, 3 … (+2 flere)" {
		t.Errorf("rowList capped = %q", got)
	}
}

func TestUnlock(t *testing.T) {
	e := newEnv(t, fixtureFiles(t))
	c := e.start(t)
	c.mustLogin()
	page := c.get("/files/" + idWaiting)
	if !strings.Contains(page.body, `id="unlock-submit"`) || !strings.Contains(page.body, `action="/files/`+idWaiting+`/unlock"`) {
		t.Fatalf("waiting file has no unlock form")
	}
	tok := csrf(t, page.body)
	if r := c.post("/files/"+idWaiting+"/unlock", url.Values{"password": {waitingPW}}); r.code != http.StatusForbidden {
		t.Fatalf("unlock without CSRF: %d", r.code)
	}
	if r := c.post("/files/"+idWaiting+"/unlock", url.Values{"password": {waitingPW}, "csrf_token": {tok + "x"}}); r.code != http.StatusForbidden {
		t.Fatalf("unlock with a wrong CSRF token: %d", r.code)
	}
	r := c.post("/files/"+idWaiting+"/unlock", url.Values{"password": {"Vinter-Vaksine-2024"}, "csrf_token": {tok}})
	if r.code != http.StatusSeeOther || r.header.Get("Location") != "/files/"+idWaiting {
		t.Fatalf("wrong password: %d %s", r.code, r.header.Get("Location"))
	}
	after := c.get("/files/" + idWaiting)
	if !strings.Contains(after.body, "Feil passord") || !strings.Contains(after.body, `id="unlock-submit"`) {
		t.Fatalf("wrong-password outcome not shown:\n%s", after.body)
	}
	if r := c.post("/files/"+idWaiting+"/unlock", url.Values{"password": {""}, "csrf_token": {tok}}); r.code != http.StatusSeeOther {
		t.Fatalf("empty password: %d", r.code)
	}
	if p := c.get("/files/" + idWaiting); !strings.Contains(p.body, "Skriv inn passordet") {
		t.Error("empty password not explained")
	}
	r = c.post("/files/"+idWaiting+"/unlock?lang=en", url.Values{"password": {waitingPW}, "csrf_token": {tok}})
	if r.code != http.StatusSeeOther || r.header.Get("Location") != "/files/"+idWaiting+"?lang=en" {
		t.Fatalf("right password: %d %s", r.code, r.header.Get("Location"))
	}
	done := c.get("/files/" + idWaiting + "?lang=en")
	if !strings.Contains(done.body, "The file was unlocked and processed") || strings.Contains(done.body, `id="unlock-submit"`) ||
		!strings.Contains(done.body, `id="tot-rows">`) {
		t.Fatalf("unlocked file page:\n%s", done.body)
	}
	again := c.post("/files/"+idWaiting+"/unlock", url.Values{"password": {waitingPW}, "csrf_token": {tok}})
	if again.code != http.StatusSeeOther || !strings.Contains(c.get("/files/"+idWaiting).body, "Filen venter ikke på passord") {
		t.Error("unlocking a processed file is not explained")
	}
	var outcomes []string
	for _, a := range e.audit.find(AuditUnlock) {
		outcomes = append(outcomes, a.Detail)
		if a.FileID != idWaiting || a.Actor != opName {
			t.Errorf("unlock audit %+v", a)
		}
	}
	if got := strings.Join(outcomes, " "); !strings.HasPrefix(got, "wrong_password rejected_rows") || !strings.HasSuffix(got, "not_waiting") {
		t.Errorf("unlock audit outcomes %q", got)
	}
	if r := c.post("/files/ffffffffffffffff/unlock", url.Values{"password": {"x"}, "csrf_token": {tok}}); r.code != http.StatusNotFound {
		t.Errorf("unlock of an unknown file: %d", r.code)
	}
}

func TestDownloads(t *testing.T) {
	e := newEnv(t, fixtureFiles(t))
	c := e.start(t)
	c.mustLogin()
	j := c.get("/files/" + idRowErrors + "/report.json")
	if j.code != 200 || j.header.Get("Content-Type") != "application/json" ||
		j.header.Get("Content-Disposition") != `attachment; filename="`+idRowErrors+`-report.json"` {
		t.Fatalf("report.json: %d %v", j.code, j.header)
	}
	var rep report.Report
	if err := json.Unmarshal([]byte(j.body), &rep); err != nil || rep.FileID != idRowErrors || len(rep.Findings) == 0 {
		t.Fatalf("report.json body: %v %+v", err, rep.Stats)
	}
	txt := c.get("/files/" + idRowErrors + "/report.txt?lang=en")
	if txt.code != 200 || !strings.HasPrefix(txt.header.Get("Content-Type"), "text/plain") || !strings.Contains(txt.body, "Vaccination file report") {
		t.Fatalf("report.txt: %d %q", txt.code, txt.body[:min(len(txt.body), 200)])
	}
	if r := c.get("/files/" + idWaiting + "/report.json"); r.code != http.StatusNotFound {
		t.Errorf("download of a file without report: %d", r.code)
	}
	a := e.audit.find(AuditDownload)
	if len(a) != 2 || a[0].FileID != idRowErrors || a[0].Detail != "report.json" || a[1].Detail != "report.txt" {
		t.Fatalf("download audit %+v", a)
	}
	e.audit.mu.Lock()
	e.audit.fail = true
	e.audit.mu.Unlock()
	if r := c.get("/files/" + idRowErrors + "/report.json"); r.code != http.StatusInternalServerError || strings.Contains(r.body, "findings") {
		t.Errorf("a download that cannot be audited was served: %d", r.code)
	}
}

func TestLanguageSwitchKeepsPage(t *testing.T) {
	e := newEnv(t, fixtureFiles(t))
	c := e.start(t)
	c.mustLogin()
	nb := c.get("/files/" + idClean)
	if !strings.Contains(nb.body, `href="/files/`+idClean+`?lang=en" hreflang="en">English`) {
		t.Error("no link to the English page")
	}
	en := c.get("/files/" + idClean + "?lang=en")
	if !strings.Contains(en.body, `href="/files/`+idClean+`" hreflang="nb">Norsk`) {
		t.Error("no link back to the Norwegian page")
	}
}

func TestNewRequiresParts(t *testing.T) {
	if _, err := New(Config{}); err == nil {
		t.Fatal("New without parts succeeded")
	}
}
