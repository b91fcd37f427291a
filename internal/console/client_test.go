package console

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// client is a cookie-keeping HTTP client that does not follow redirects, so tests see each answer.
type client struct {
	t    testing.TB
	base string
	c    *http.Client
}

func (e *env) start(t testing.TB) *client {
	t.Helper()
	ts := httptest.NewServer(e.srv)
	t.Cleanup(ts.Close)
	return newClient(t, ts.URL, ts.Client())
}

func newClient(t testing.TB, base string, hc *http.Client) *client {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Transport: hc.Transport,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return &client{t: t, base: base, c: c}
}

type resp struct {
	code   int
	header http.Header
	body   string
	cookie []*http.Cookie
}

func (c *client) do(req *http.Request) resp {
	c.t.Helper()
	r, err := c.c.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer r.Body.Close()
	b, err := io.ReadAll(r.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	return resp{code: r.StatusCode, header: r.Header, body: string(b), cookie: r.Cookies()}
}

func (c *client) get(path string) resp {
	c.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, c.base+path, nil)
	return c.do(req)
}

func (c *client) post(path string, form url.Values) resp {
	c.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, c.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return c.do(req)
}

var csrfRe = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// csrf returns the CSRF token of a page's form.
func csrf(t testing.TB, page string) string {
	t.Helper()
	m := csrfRe.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no csrf_token in page:\n%s", page)
	}
	return m[1]
}

// login signs in through the form and returns the token of the signed-in pages.
func (c *client) login(user, pw string) resp {
	c.t.Helper()
	p := c.get("/login")
	return c.post("/login", url.Values{"username": {user}, "password": {pw}, "csrf_token": {csrf(c.t, p.body)}})
}

// mustLogin signs in and returns the file list page.
func (c *client) mustLogin() resp {
	c.t.Helper()
	r := c.login(opName, opPassword)
	if r.code != http.StatusSeeOther || r.header.Get("Location") != "/" {
		c.t.Fatalf("login: %d %s\n%s", r.code, r.header.Get("Location"), r.body)
	}
	l := c.get("/")
	if l.code != http.StatusOK {
		c.t.Fatalf("GET / after login: %d", l.code)
	}
	return l
}
