package console

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// BenchmarkFileList renders the first page of the file list (50 files) of a state with 10,000
// files, through the whole handler (session check, listing, template), as an operator's browser
// asks for it. Target: under 100 ms.
func BenchmarkFileList(b *testing.B) {
	e := newEnv(b, manyFiles(10000))
	cookies := benchLogin(b, e.srv)
	for _, c := range []struct{ name, path string }{{"first-page", "/"}, {"waiting-page-20", "/?status=waiting_password&page=20"}} {
		path := c.path
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				rec := serve(e.srv, http.MethodGet, path, nil, cookies)
				if rec.Code != http.StatusOK || strings.Count(rec.Body.String(), `class="fid"`) != 50 {
					b.Fatalf("GET %s: %d", path, rec.Code)
				}
			}
		})
	}
}

func benchLogin(b *testing.B, h http.Handler) []*http.Cookie {
	b.Helper()
	rec := serve(h, http.MethodGet, "/login", nil, nil)
	pre := rec.Result().Cookies()
	form := url.Values{"username": {opName}, "password": {opPassword}, "csrf_token": {csrf(b, rec.Body.String())}}
	rec = serve(h, http.MethodPost, "/login", form, pre)
	if rec.Code != http.StatusSeeOther {
		b.Fatalf("login: %d", rec.Code)
	}
	return rec.Result().Cookies()
}
