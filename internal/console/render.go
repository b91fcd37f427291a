package console

import (
	"bytes"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// pageTemplate is one page: the shared layout plus the page's own "content".
type pageTemplate = *template.Template

// page is what every template gets: the common frame and the page's own Data.
type page struct {
	Lang      string
	Title     string
	User      string // empty on the login and error pages before sign-in
	CSRF      string
	Flash     *flash
	OtherLang string // href of this page in the other language
	Data      any
}

var pageNames = []string{"login", "list", "file", "error"}

func parsePages() (map[string]pageTemplate, error) {
	funcs := template.FuncMap{
		"t":     tr,
		"tf":    func(lang, key string, a ...any) string { return fmt.Sprintf(tr(lang, key), a...) },
		"label": fileLabel,
		"badge": fileBadge,
		"href":  href,
		"add":   func(a, b int) int { return a + b },
	}
	out := map[string]pageTemplate{}
	for _, name := range pageNames {
		t, err := template.New(name).Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("console: template %s: %w", name, err)
		}
		out[name] = t
	}
	return out, nil
}

// href builds a local link: path, then key/value pairs (empty values left out), then lang=en for
// English pages.
func href(lang, path string, kv ...string) string {
	q := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] != "" {
			q.Set(kv[i], kv[i+1])
		}
	}
	if lang == langEN {
		q.Set("lang", langEN)
	}
	if len(q) == 0 {
		return path
	}
	return path + "?" + q.Encode()
}

// otherLang is the current page's address in the other language.
func otherLang(r *http.Request, lang string) string {
	q := r.URL.Query()
	if lang == langEN {
		q.Del("lang")
	} else {
		q.Set("lang", langEN)
	}
	if len(q) == 0 {
		return r.URL.Path
	}
	return r.URL.Path + "?" + q.Encode()
}

// render executes a page into a buffer first, so that a template error becomes a clean 500.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name string, p page) {
	if p.OtherLang == "" {
		p.OtherLang = otherLang(r, p.Lang)
	}
	var buf bytes.Buffer
	if err := s.pages[name].ExecuteTemplate(&buf, "layout", p); err != nil {
		s.cfg.Log.Error().Err(err).Str("page", name).Msg("console: render failed")
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// errorPage renders a page that says what went wrong, in words, without details.
func (s *Server) errorPage(w http.ResponseWriter, r *http.Request, status int, key string) {
	lang := langOf(r.URL.Query())
	s.render(w, r, status, "error", page{Lang: lang, Title: tr(lang, "err.title"), Data: tr(lang, key)})
}

func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	s.errorPage(w, r, http.StatusNotFound, "err.notfound")
}

func (s *Server) internalError(w http.ResponseWriter, r *http.Request, err error, what string) {
	s.cfg.Log.Error().Err(err).Str("route", r.Pattern).Msg("console: " + what)
	s.errorPage(w, r, http.StatusInternalServerError, "err.internal")
}

// formatTime shows a time in the console's zone, to the minute.
func (s *Server) formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(s.cfg.Location).Format("2006-01-02 15:04")
}

// rowList writes row numbers compactly: consecutive runs as ranges (3–7), at most limit items.
func rowList(rows []int, limit int, more string) string {
	var b strings.Builder
	items := 0
	for i := 0; i < len(rows); {
		j := i
		for j+1 < len(rows) && rows[j+1] == rows[j]+1 {
			j++
		}
		if items == limit {
			fmt.Fprintf(&b, " … (+%d %s)", len(rows)-i, more)
			break
		}
		if items > 0 {
			b.WriteString(", ")
		}
		if j > i+1 {
			fmt.Fprintf(&b, "%d–%d", rows[i], rows[j])
		} else if j == i+1 {
			fmt.Fprintf(&b, "%d, %d", rows[i], rows[j])
		} else {
			fmt.Fprintf(&b, "%d", rows[i])
		}
		items++
		i = j + 1
	}
	return b.String()
}
