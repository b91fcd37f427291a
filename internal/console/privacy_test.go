package console

import (
	"bytes"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/rs/zerolog"
	"github.com/xuri/excelize/v2"

	"github.com/fhi/sysvak-import/fixtures/fixturegen"
)

// canaries returns every ID number (and its six-digit birth-date part) and every person name in
// the fixture workbooks, read from the workbooks themselves, plus the test passwords.
func canaries(t *testing.T) []string {
	t.Helper()
	digits := regexp.MustCompile(`^[0-9]{10,12}$`)
	strip := strings.NewReplacer(" ", "", "-", "", ".", "", "\u00a0", "")
	seen := map[string]bool{}
	add := func(s string) {
		if len(s) >= 4 {
			seen[s] = true
		}
	}
	paths, _ := filepath.Glob(repoPath("fixtures", "files", "*.xlsx"))
	paths = append(paths, repoPath("fixtures", "encrypted", "source.xlsx"))
	for _, p := range paths {
		f, err := excelize.OpenFile(p)
		if err != nil {
			continue // not-a-workbook.xlsx, truncated.xlsx
		}
		for _, sheet := range f.GetSheetList() {
			rows, _ := f.GetRows(sheet, excelize.Options{RawCellValue: true})
			nameCol := -1
			for _, row := range rows {
				for i, cell := range row {
					if strings.EqualFold(strings.TrimSpace(cell), "navn") || strings.EqualFold(strings.TrimSpace(cell), "pasient") {
						nameCol = i
					}
					if d := strip.Replace(strings.TrimSpace(cell)); digits.MatchString(d) && !strings.HasPrefix(d, "974760673") {
						add(d)
						add(d[:6])
					}
					if i == nameCol && !strings.EqualFold(strings.TrimSpace(cell), "navn") {
						add(strings.TrimSpace(cell))
					}
				}
			}
		}
		f.Close()
	}
	for _, id := range fixturegen.ValidIDs() {
		add(id)
		add(id[:6])
	}
	for i := range 40 {
		add(fixturegen.PersonName(i))
	}
	add(opPassword)
	add(waitingPW)
	add(wrongPW)
	out := make([]string, 0, len(seen))
	for s := range seen {
		out = append(out, s)
	}
	if len(out) < 60 {
		t.Fatalf("only %d canaries found in the fixtures", len(out))
	}
	return out
}

const wrongPW = "Feil-Passord-Her-99"

var hrefRe = regexp.MustCompile(`href="(/[^"]*)"`)

// TestPrivacyCrawl signs in, crawls every page reachable by links in both languages, downloads
// every report, unlocks with a wrong and the right password, fails a login, and reads /metrics:
// no fixture ID number (or its birth-date part), no name and no password may appear in any page,
// download, log line or audit entry.
func TestPrivacyCrawl(t *testing.T) {
	can := canaries(t)
	var logs bytes.Buffer
	e := newEnv(t, fixtureFiles(t), func(c *Config) {
		c.Log = zerolog.New(&logs).Level(zerolog.DebugLevel)
	})
	c := e.start(t)
	check := func(what, body string) {
		t.Helper()
		if hit := containsAny(body, can); hit != "" {
			i := strings.Index(body, hit)
			t.Errorf("%s shows canary %q: …%s…", what, hit, body[max(0, i-80):min(len(body), i+80)])
		}
	}
	check("login failure page", c.login(opName, wrongPW).body)
	check("unknown user page", c.login(wrongPW, opPassword).body)
	list := c.mustLogin()
	tok := csrf(t, list.body)
	check("wrong unlock", c.post("/files/"+idWaiting+"/unlock", url.Values{"password": {wrongPW}, "csrf_token": {tok}}).body)
	check("file page after wrong unlock", c.get("/files/"+idWaiting).body)
	check("right unlock", c.post("/files/"+idWaiting+"/unlock", url.Values{"password": {waitingPW}, "csrf_token": {tok}}).body)

	seen := map[string]bool{}
	queue := []string{"/", "/?lang=en", "/metrics", "/healthz", "/nope", "/files/ffffffffffffffff"}
	for len(queue) > 0 && len(seen) < 500 {
		p := queue[0]
		queue = queue[1:]
		if seen[p] {
			continue
		}
		seen[p] = true
		r := c.get(strings.ReplaceAll(p, "&amp;", "&"))
		check("GET "+p, r.body)
		check("headers of GET "+p, headerText(r))
		for _, m := range hrefRe.FindAllStringSubmatch(r.body, -1) {
			if !strings.HasPrefix(m[1], "/static/") {
				queue = append(queue, m[1])
			}
		}
	}
	for _, id := range []string{idClean, idRowErrors, idNoHeader, idResent, idWaiting} {
		for _, suffix := range []string{"", "?lang=en", "/report.json", "/report.txt", "/report.txt?lang=en"} {
			if !seen["/files/"+id+suffix] {
				t.Errorf("the crawl did not reach /files/%s%s", id, suffix)
			}
		}
	}
	t.Logf("crawled %d pages with %d canaries", len(seen), len(can))
	check("log output", logs.String())
	b, _ := json.Marshal(e.audit.all())
	check("audit log", string(b))
	if logs.Len() == 0 || len(e.audit.all()) < 5 {
		t.Fatalf("nothing logged (%d bytes) or audited (%d)", logs.Len(), len(e.audit.all()))
	}
	if os.Getenv("CONSOLE_PRIVACY_DUMP") != "" {
		t.Log(logs.String())
	}
}

func headerText(r resp) string {
	var b strings.Builder
	for k, v := range r.header {
		b.WriteString(k + ": " + strings.Join(v, ",") + "\n")
	}
	return b.String()
}
