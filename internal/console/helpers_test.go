package console

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"time"

	"github.com/fhi/sysvak-import/importer/report"
)

// serve runs one request through the handler directly (httptest.NewRecorder).
func serve(h http.Handler, method, path string, form url.Values, cookies []*http.Cookie) *httptest.ResponseRecorder {
	var req *http.Request
	if form != nil {
		req = httptest.NewRequest(method, path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	} else {
		req = httptest.NewRequest(method, path, nil)
	}
	for _, c := range cookies {
		req.AddCookie(c)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func fakeID(i int) string { return fmt.Sprintf("%016x", 0xa000000000000000+uint64(i)) }

// manyFiles makes n processed files, one minute apart (file 0 the oldest), for pagination and the
// benchmark.
func manyFiles(n int) *memFiles {
	m := newMemFiles()
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	statuses := []report.Status{report.StatusAccepted, report.StatusAcceptedWithWarnings, report.StatusRejectedRows,
		report.StatusFileRejected, report.StatusWaitingPassword}
	for i := range n {
		st := statuses[i%len(statuses)]
		m.put(FileDetail{FileSummary: FileSummary{ID: fakeID(i), Name: fmt.Sprintf("vaksiner-%05d.xlsx", i),
			Received: base.Add(time.Duration(i) * time.Minute), Sender: "avsender@example.no", Source: "mailbox",
			Mailbox: "INBOX", Stage: stageOf(st), Status: st, Rows: 100 + i%50, Registered: 90, Rejected: i % 7}})
	}
	return m
}
