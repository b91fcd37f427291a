package receipt

import (
	"bytes"
	"encoding/csv"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/fhi/sysvak-import/validate"
)

// secrets is what no receipt may contain: every 6-digit run of every ID number in the fixtures
// and the reference test vectors, every name, and every other cell value of the fixtures' layout
// columns (five characters or more, so that "Nei" or a dose "1" do not count).
type secrets struct {
	digitRuns map[string]bool
	texts     map[string]bool
	fileNames []string
}

var (
	secretsOnce sync.Once
	secretsVal  *secrets
	secretsErr  error
)

func fixtureSecrets(t testing.TB) *secrets {
	t.Helper()
	secretsOnce.Do(func() { secretsVal, secretsErr = loadSecrets() })
	if secretsErr != nil {
		t.Fatal(secretsErr)
	}
	return secretsVal
}

func loadSecrets() (*secrets, error) {
	s := &secrets{digitRuns: map[string]bool{}, texts: map[string]bool{}}
	headers := map[string]validate.Column{}
	for _, c := range validate.Layout() {
		headers[c.Header] = c.Column
	}
	dir := filepath.Join("..", "..", "fixtures", "files")
	names, err := filepath.Glob(filepath.Join(dir, "*.xlsx"))
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		s.fileNames = append(s.fileNames, strings.TrimSuffix(filepath.Base(n), ".xlsx"))
		f, err := excelize.OpenFile(n)
		if err != nil {
			continue // not-a-workbook.xlsx, truncated.xlsx
		}
		for _, sheet := range f.GetSheetList() {
			rows, err := f.GetRows(sheet)
			if err != nil || len(rows) == 0 {
				continue
			}
			for _, row := range rows[1:] {
				for i, v := range row {
					if i >= len(rows[0]) {
						break
					}
					col, ok := headers[rows[0][i]]
					if !ok {
						continue
					}
					s.add(col, v)
				}
			}
		}
		_ = f.Close()
	}
	return s, s.addVectors(filepath.Join("..", "..", "..", "..", "shared", "reference", "id_vectors.csv"))
}

func (s *secrets) add(col validate.Column, v string) {
	v = strings.TrimSpace(v)
	switch {
	case col == validate.ColPersonID:
		s.addID(v)
	case col == validate.ColName && v != "":
		s.texts[v] = true
		for _, part := range strings.Fields(v) {
			if part != "Testperson" && len(part) >= 4 { // the fixtures' given names: "To", "Fire", ...
				s.texts[part] = true
			}
		}
	case col == validate.ColSysvakCode && knownCode(v):
		// a public vaccine code (the messages' own examples name some), not personal data
	case len([]rune(v)) >= 5:
		s.texts[v] = true
	}
}

func (s *secrets) addID(v string) {
	var digits []byte
	for i := 0; i < len(v); i++ {
		if v[i] >= '0' && v[i] <= '9' {
			digits = append(digits, v[i])
		}
	}
	for i := 0; i+6 <= len(digits); i++ {
		s.digitRuns[string(digits[i:i+6])] = true
	}
}

// addVectors adds the reference ID test vectors, when the shared reference folder is there.
func (s *secrets) addVectors(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return nil // not part of the repository; the fixtures' own IDs are checked regardless
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		return nil
	}
	for _, r := range recs {
		if len(r) > 0 {
			s.addID(r[0])
		}
	}
	return nil
}

// checkPrivacy checks one receipt, raw and decoded: no digit run of a fixture ID, no name, no cell
// value; and a subject that names no file and quotes no original subject.
func checkPrivacy(t testing.TB, data []byte, extra ...string) {
	t.Helper()
	s := fixtureSecrets(t)
	if len(s.digitRuns) == 0 || len(s.texts) == 0 {
		t.Fatal("privacy check has nothing to look for: the fixtures were not read")
	}
	texts := []string{string(data), decodedReceipt(t, data)}
	for _, text := range texts {
		// File ids and receipt ids are hex hashes: a run of six digits in one is chance, not data.
		hashless := hexHash.ReplaceAllString(text, "#")
		for i := 0; i+6 <= len(hashless); i++ {
			if run := hashless[i : i+6]; isDigits(run) && s.digitRuns[run] {
				t.Errorf("receipt contains %q, six digits of a fixture ID number", run)
			}
		}
		for v := range s.texts {
			if strings.Contains(text, v) {
				t.Errorf("receipt contains the cell value or name %q", v)
			}
		}
		for _, v := range extra {
			if strings.Contains(text, v) {
				t.Errorf("receipt contains %q", v)
			}
		}
	}
	msg, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	subj := strings.ToLower(msg.Header.Get("Subject"))
	for _, n := range s.fileNames {
		if strings.Contains(subj, strings.ToLower(n)) {
			t.Errorf("subject %q names the file %q", subj, n)
		}
	}
	if strings.Contains(subj, ".xlsx") || strings.Contains(subj, "re:") || strings.Contains(subj, "fwd") {
		t.Errorf("subject %q quotes a file name or the original subject", subj)
	}
}

var hexHash = regexp.MustCompile(`[0-9a-f]{16,}`)

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// decodedReceipt is the receipt's headers and decoded text parts (quoted-printable soft line
// breaks could otherwise hide a digit run).
func decodedReceipt(t testing.TB, data []byte) string {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for k, vs := range msg.Header {
		b.WriteString(k + ": " + strings.Join(vs, " ") + "\n")
	}
	mt, params, _ := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if mt != "multipart/mixed" {
		body, _ := io.ReadAll(quotedprintable.NewReader(msg.Body))
		return b.String() + string(body)
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := mr.NextRawPart()
		if err != nil {
			break
		}
		if strings.HasPrefix(p.Header.Get("Content-Type"), "text/") {
			body, _ := io.ReadAll(quotedprintable.NewReader(p))
			b.Write(body)
		}
		b.WriteString(p.FileName())
	}
	return b.String()
}

func knownCode(v string) bool {
	_, ok := validate.DefaultCodes().Lookup(v)
	return ok
}
