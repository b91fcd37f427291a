package console

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"sort"
	"strconv"

	"github.com/fhi/sysvak-import/importer/report"
	"github.com/fhi/sysvak-import/internal/secret"
	"github.com/fhi/sysvak-import/validate"
)

type filterLink struct {
	Label   string
	Count   int
	Href    string
	Current bool
}

type listView struct {
	Files        []FileSummary
	Received     []string // Files[i].Received, formatted
	Filters      []filterLink
	Page, Pages  int
	Total        int
	Prev, Next   string
	NoFiles      bool // the state holds no file at all
	NoneInFilter bool
	AllHref      string
}

func validStage(s Stage) bool {
	_, ok := stageText[s]
	return ok
}

// fileList shows one page of files, newest first, with the status filter and its counts.
func (s *Server) fileList(w http.ResponseWriter, r *http.Request, q request) {
	query := r.URL.Query()
	status := Stage(query.Get("status"))
	if status != "" && !validStage(status) {
		status = ""
	}
	pageNo, _ := strconv.Atoi(query.Get("page"))
	pageNo = max(pageNo, 1)
	size := s.cfg.PageSize
	list, err := s.cfg.Files.ListFiles(r.Context(), ListQuery{Stage: status, Offset: (pageNo - 1) * size, Limit: size})
	if err != nil {
		s.internalError(w, r, err, "list files")
		return
	}
	v := listView{Files: list.Files, Page: pageNo, Total: list.Total, AllHref: href(q.lang, "/")}
	v.Pages = max((list.Total+size-1)/size, 1)
	all := 0
	for _, st := range stageOrder {
		all += list.Counts[st]
	}
	v.NoFiles = all == 0
	v.NoneInFilter = !v.NoFiles && len(list.Files) == 0
	v.Filters = append(v.Filters, filterLink{Label: tr(q.lang, "all"), Count: all, Href: href(q.lang, "/"), Current: status == ""})
	for _, st := range stageOrder {
		if list.Counts[st] == 0 && (st == StageArrived || st == StageProcessing) && status != st {
			continue // transient stages appear in the filter only while files are in them
		}
		v.Filters = append(v.Filters, filterLink{Label: stageName(q.lang, st), Count: list.Counts[st],
			Href: href(q.lang, "/", "status", string(st)), Current: status == st})
	}
	if pageNo > 1 {
		v.Prev = href(q.lang, "/", "status", string(status), "page", pageParam(pageNo-1))
	}
	if pageNo < v.Pages {
		v.Next = href(q.lang, "/", "status", string(status), "page", strconv.Itoa(pageNo+1))
	}
	for _, f := range list.Files {
		v.Received = append(v.Received, s.formatTime(f.Received))
	}
	s.render(w, r, http.StatusOK, "list", page{Lang: q.lang, Title: tr(q.lang, "files"), User: q.sess.User,
		CSRF: q.sess.CSRF, Flash: s.sessions.takeFlash(q.token), Data: v})
}

func pageParam(n int) string {
	if n <= 1 {
		return ""
	}
	return strconv.Itoa(n)
}

type findingGroup struct {
	Code, Column, Severity, Message, Hint, Rows string
	Count                                       int
}

type arrivalView struct {
	Arrival
	When  string
	First bool
}

type fileView struct {
	File         FileDetail
	Received     string
	Arrivals     []arrivalView
	Report       *report.Report
	Groups       []findingGroup
	FileFindings []findingGroup
	Waiting      bool
	WrongBefore  bool
	UnlockAction string
	JSONHref     string
	TextHref     string
}

// filePage shows the report as people read it: totals, findings grouped by code with their row
// numbers, file-level findings, the arrivals, and the unlock form for a waiting file.
func (s *Server) filePage(w http.ResponseWriter, r *http.Request, q request) {
	id := r.PathValue("id")
	d, ok := s.detail(w, r, id)
	if !ok {
		return
	}
	v := fileView{File: d, Received: s.formatTime(d.Received), Report: d.Report,
		Waiting:      d.Stage == StageWaiting,
		WrongBefore:  d.LastError == string(validate.FileWrongPassword),
		UnlockAction: href(q.lang, "/files/"+id+"/unlock"),
		JSONHref:     href(q.lang, "/files/"+id+"/report.json"),
		TextHref:     href(q.lang, "/files/"+id+"/report.txt")}
	for i, a := range d.Arrivals {
		v.Arrivals = append(v.Arrivals, arrivalView{Arrival: a, When: s.formatTime(a.Received), First: i == 0})
	}
	if d.Report != nil {
		v.Groups, v.FileFindings = groupFindings(q.lang, d.Report.Findings)
	}
	s.render(w, r, http.StatusOK, "file", page{Lang: q.lang, Title: tr(q.lang, "file.title") + " " + id,
		User: q.sess.User, CSRF: q.sess.CSRF, Flash: s.sessions.takeFlash(q.token), Data: v})
}

// detail fetches a file for a handler, answering 404 for a malformed or unknown id.
func (s *Server) detail(w http.ResponseWriter, r *http.Request, id string) (FileDetail, bool) {
	if !validFileID(id) {
		s.notFound(w, r)
		return FileDetail{}, false
	}
	d, err := s.cfg.Files.FileDetail(r.Context(), id)
	if errors.Is(err, ErrNotFound) {
		s.notFound(w, r)
		return FileDetail{}, false
	}
	if err != nil {
		s.internalError(w, r, err, "file detail")
		return FileDetail{}, false
	}
	return d, true
}

// validFileID: a file id is 16 lower-case hex digits (SPEC 5).
func validFileID(id string) bool {
	if len(id) != 16 {
		return false
	}
	for _, c := range id {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// groupFindings groups row findings by code and column (errors first, then by first row) and
// lists file-level findings. Values are never shown: the message says what is wrong.
func groupFindings(lang string, fs []validate.Finding) (rows, file []findingGroup) {
	type key struct{ code, column string }
	idx := map[key]int{}
	var rowNums [][]int
	for _, f := range fs {
		if f.Row == 0 {
			file = append(file, findingGroup{Code: string(f.Code), Severity: string(f.Severity),
				Message: f.Message, Hint: validate.Hint(lang, f.Code), Count: 1})
			continue
		}
		k := key{string(f.Code), f.Column}
		i, ok := idx[k]
		if !ok {
			i = len(rows)
			idx[k] = i
			rows = append(rows, findingGroup{Code: k.code, Column: k.column, Severity: string(f.Severity),
				Message: f.Message, Hint: validate.Hint(lang, f.Code)})
			rowNums = append(rowNums, nil)
		}
		rowNums[i] = append(rowNums[i], f.Row)
	}
	for i := range rows {
		sort.Ints(rowNums[i])
		rows[i].Count = len(rowNums[i])
		rows[i].Rows = rowList(rowNums[i], 60, tr(lang, "f.more"))
	}
	order := make([]int, len(rows))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool {
		ga, gb := rows[order[a]], rows[order[b]]
		if ga.Severity != gb.Severity {
			return ga.Severity == string(validate.SeverityError)
		}
		return rowNums[order[a]][0] < rowNums[order[b]][0]
	})
	sorted := make([]findingGroup, len(rows))
	for i, o := range order {
		sorted[i] = rows[o]
	}
	return sorted, file
}

// unlock takes the password from the form, has the intake service process the file at once, and
// shows the outcome on the file page.
func (s *Server) unlock(w http.ResponseWriter, r *http.Request, q request) {
	id := r.PathValue("id")
	if _, ok := s.detail(w, r, id); !ok {
		return
	}
	pw := secret.New([]byte(r.PostForm.Get("password")))
	defer pw.Wipe()
	r.PostForm.Del("password")
	r.Form.Del("password")
	back := href(q.lang, "/files/"+id)
	if pw.Empty() {
		s.sessions.setFlash(q.token, flash{Key: "unlock.empty", Kind: "error"})
		http.Redirect(w, r, back, http.StatusSeeOther)
		return
	}
	out, err := s.cfg.Unlocker.Unlock(r.Context(), id, pw)
	var f flash
	outcome := ""
	switch {
	case errors.Is(err, ErrNotWaiting):
		f, outcome = flash{Key: "unlock.notwait", Kind: "error"}, "not_waiting"
	case errors.Is(err, ErrNotFound):
		s.notFound(w, r)
		return
	case err != nil:
		_ = s.audit(r.Context(), r, q.sess.User, AuditUnlock, id, "error")
		s.internalError(w, r, err, "unlock")
		return
	case out.WrongPassword:
		f, outcome = flash{Key: "unlock.wrong", Kind: "error"}, "wrong_password"
	default:
		f, outcome = flash{Key: "unlock.done", Arg: statusName(q.lang, out.Status), Kind: "ok"}, string(out.Status)
	}
	s.metrics.unlocks.WithLabelValues(outcome).Inc()
	_ = s.audit(r.Context(), r, q.sess.User, AuditUnlock, id, outcome)
	s.sessions.setFlash(q.token, f)
	http.Redirect(w, r, back, http.StatusSeeOther)
}

func (s *Server) downloadJSON(w http.ResponseWriter, r *http.Request, q request) {
	s.download(w, r, q, "json")
}

func (s *Server) downloadText(w http.ResponseWriter, r *http.Request, q request) {
	s.download(w, r, q, "txt")
}

// download serves report.json or report.txt; it is audited before a byte is sent.
func (s *Server) download(w http.ResponseWriter, r *http.Request, q request, kind string) {
	id := r.PathValue("id")
	d, ok := s.detail(w, r, id)
	if !ok {
		return
	}
	if d.Report == nil {
		s.notFound(w, r)
		return
	}
	var buf bytes.Buffer
	ctype := "application/json"
	rep := scrubbed(d.Report)
	if kind == "json" {
		enc := json.NewEncoder(&buf)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			s.internalError(w, r, err, "encode report")
			return
		}
	} else {
		ctype = "text/plain; charset=utf-8"
		if err := rep.WriteText(&buf, q.lang); err != nil {
			s.internalError(w, r, err, "write report")
			return
		}
	}
	if err := s.audit(r.Context(), r, q.sess.User, AuditDownload, id, "report."+kind); err != nil {
		s.internalError(w, r, err, "audit download")
		return
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Content-Disposition", `attachment; filename="`+id+`-report.`+kind+`"`)
	_, _ = w.Write(buf.Bytes())
}

// scrubbed returns a copy of a report whose findings carry no value for the ID, name and comment
// columns (SPEC 5: a value never holds an ID number or any part of one, and free text carries no
// value), whatever the stored report holds: the console does not pass on what it must not show.
func scrubbed(r *report.Report) *report.Report {
	c := *r
	c.Findings = make([]validate.Finding, len(r.Findings))
	for i, f := range r.Findings {
		switch f.Column {
		case validate.ColPersonID.Key(), validate.ColName.Key(), validate.ColComment.Key():
			f.Value = ""
		}
		c.Findings[i] = f
	}
	return &c
}
