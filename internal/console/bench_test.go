package console

import (
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"testing"
	"time"
)

// BenchmarkFileList renders the first page of the file list (50 files) of a state with 10,000
// files, through the whole handler (session check, listing, template), as an operator's browser
// asks for it. Target: under 100 ms. "folder-state" reads a real folder state (bbolt); "memory"
// measures the console alone over an in-memory listing.
func BenchmarkFileList(b *testing.B) {
	st, _ := folderState(b, 10000, 100)
	backends := []struct {
		name  string
		files Files
	}{{"folder-state", StateFiles{State: st}}, {"memory", manyFiles(10000)}}
	for _, be := range backends {
		e := newEnv(b, nil, func(c *Config) { c.Files = be.files })
		cookies := benchLogin(b, e.srv)
		for _, c := range []struct{ name, path string }{{"first-page", "/"}, {"page-100", "/?page=100"}} {
			b.Run(be.name+"/"+c.name, func(b *testing.B) {
				cpu0 := cpuTime()
				for b.Loop() {
					rec := serve(e.srv, http.MethodGet, c.path, nil, cookies)
					if rec.Code != http.StatusOK || strings.Count(rec.Body.String(), `class="fid"`) != 50 {
						b.Fatalf("GET %s: %d", c.path, rec.Code)
					}
				}
				// CPU time per page as well as wall time: on a shared machine the wall time also
				// counts the time other processes had the cores.
				b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N)/1e6, "cpu-ms/op")
			})
		}
	}
}

// cpuTime is the process's user+system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
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
