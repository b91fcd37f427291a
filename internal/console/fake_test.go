package console

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fhi/sysvak-import/importer"
	"github.com/fhi/sysvak-import/importer/report"
	"github.com/fhi/sysvak-import/internal/secret"
	"github.com/fhi/sysvak-import/validate"
)

// The fakes below stand in for the state and the intake service: memory maps behind the
// interfaces the console declares. The reports in them are real: importer.Validate runs on the
// project's fixture workbooks, and the unlocker decrypts a real encrypted fixture.

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type memFiles struct {
	mu    sync.Mutex
	files map[string]*FileDetail
	paths map[string]string // waiting files: where the encrypted bytes are
}

func newMemFiles() *memFiles {
	return &memFiles{files: map[string]*FileDetail{}, paths: map[string]string{}}
}

func (m *memFiles) put(d FileDetail) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.files[d.ID] = &d
}

func (m *memFiles) sorted() []*FileDetail {
	out := make([]*FileDetail, 0, len(m.files))
	for _, f := range m.files {
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Received.Equal(out[j].Received) {
			return out[i].Received.After(out[j].Received)
		}
		return out[i].ID < out[j].ID
	})
	return out
}

func (m *memFiles) ListFiles(_ context.Context, q ListQuery) (FileList, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	l := FileList{Counts: map[Stage]int{}}
	for _, f := range m.sorted() {
		l.Counts[f.Stage]++
		if q.Stage != "" && f.Stage != q.Stage {
			continue
		}
		if l.Total >= q.Offset && len(l.Files) < q.Limit {
			l.Files = append(l.Files, f.FileSummary)
		}
		l.Total++
	}
	return l, nil
}

func (m *memFiles) FileDetail(_ context.Context, id string) (FileDetail, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	f, ok := m.files[id]
	if !ok {
		return FileDetail{}, fmt.Errorf("file %s: %w", id, ErrNotFound)
	}
	return *f, nil
}

func (m *memFiles) Totals(_ context.Context) (Totals, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	t := Totals{ByStage: map[Stage]int{}}
	for _, f := range m.files {
		t.ByStage[f.Stage]++
		t.Rows += f.Rows
		t.Registered += f.Registered
		t.Rejected += f.Rejected
	}
	return t, nil
}

// Unlock decrypts the waiting file's real encrypted bytes with the password given.
func (m *memFiles) Unlock(ctx context.Context, id string, pw secret.Secret) (UnlockOutcome, error) {
	m.mu.Lock()
	f, ok := m.files[id]
	path := m.paths[id]
	m.mu.Unlock()
	if !ok {
		return UnlockOutcome{}, ErrNotFound
	}
	if f.Stage != StageWaiting {
		return UnlockOutcome{}, ErrNotWaiting
	}
	rep, err := validateFixture(ctx, path, f.Received, pw)
	if err != nil {
		return UnlockOutcome{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if rep.Status == report.StatusWaitingPassword {
		f.LastError = string(validate.FileWrongPassword)
		return UnlockOutcome{WrongPassword: true, Status: rep.Status}, nil
	}
	f.LastError = ""
	setReport(f, rep)
	return UnlockOutcome{Status: rep.Status}, nil
}

func setReport(f *FileDetail, rep *report.Report) {
	rep.FileID = f.ID
	f.Report = rep
	f.Status = rep.Status
	f.Stage = stageOf(rep.Status)
	f.Rows, f.Registered, f.Rejected = rep.Stats.Rows, rep.Stats.Registered, rep.Stats.Rejected
}

func stageOf(s report.Status) Stage {
	switch s {
	case report.StatusWaitingPassword:
		return StageWaiting
	case report.StatusFileRejected:
		return StageRejected
	}
	return StageProcessed
}

var asOf = validate.Date{Year: 2026, Month: time.November, Day: 23}

func validateFixture(ctx context.Context, path string, received time.Time, pws ...secret.Secret) (*report.Report, error) {
	in := importer.Input{Path: path, Name: filepath.Base(path), Passwords: pws,
		Source: report.Source{Kind: "mailbox", Mailbox: "INBOX", UID: 7, Received: received}}
	opts := importer.Options{Lang: "nb", Check: validate.Options{AsOf: asOf}, Limits: importer.DefaultLimits()}
	rep, err := importer.Validate(ctx, in, opts)
	if err != nil {
		return nil, err
	}
	rep.Localize("nb")
	return rep, nil
}

type memOperators struct {
	mu  sync.Mutex
	ops map[string]Operator
}

func newMemOperators() *memOperators { return &memOperators{ops: map[string]Operator{}} }

func (m *memOperators) Operator(_ context.Context, name string) (Operator, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	op, ok := m.ops[name]
	if !ok {
		return Operator{}, ErrNotFound
	}
	return op, nil
}

func (m *memOperators) AddOperator(_ context.Context, op Operator) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.ops[op.Name]; ok {
		return errors.New("exists")
	}
	m.ops[op.Name] = op
	return nil
}

func (m *memOperators) UpdateOperator(_ context.Context, name string, f func(*Operator) error) (Operator, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	op, ok := m.ops[name]
	if !ok {
		return Operator{}, ErrNotFound
	}
	if err := f(&op); err != nil {
		return Operator{}, err
	}
	m.ops[name] = op
	return op, nil
}

func (m *memOperators) RemoveOperator(_ context.Context, name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.ops, name)
	return nil
}

func (m *memOperators) ListOperators(_ context.Context) ([]Operator, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Operator
	for _, op := range m.ops {
		out = append(out, op)
	}
	return out, nil
}

type memAudit struct {
	mu      sync.Mutex
	entries []AuditEntry
	fail    bool
}

func (m *memAudit) AppendAudit(_ context.Context, e AuditEntry) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail {
		return errors.New("audit: disk full")
	}
	m.entries = append(m.entries, e)
	return nil
}

func (m *memAudit) all() []AuditEntry {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.entries)
}

// find returns the audit entries of one action.
func (m *memAudit) find(action string) []AuditEntry {
	var out []AuditEntry
	for _, e := range m.all() {
		if e.Action == action {
			out = append(out, e)
		}
	}
	return out
}

type fakePoll struct{ last time.Time }

func (p fakePoll) LastSuccessfulPoll() time.Time                { return p.last }
func (p fakePoll) ReceiptsWaiting(context.Context) (int, error) { return 3, nil }

// Fixture file ids: made up, 16 hex digits, fixed so that tests can name them.
const (
	idClean     = "0c1ea4a0c1ea4a01"
	idRowErrors = "e44e44e44e44e401"
	idWaiting   = "7a1717a1717a1701"
	idNoHeader  = "40ead0040ead0001"
	idResent    = "2e5e472e5e472e01"
	waitingPW   = "Sommer-Vaksine-2025"
	opName      = "kari.operator"
	opPassword  = "korrekt hest batteri stift"
)

func repoPath(parts ...string) string {
	return filepath.Join(append([]string{"..", ".."}, parts...)...)
}

// fixtureFiles fills a memFiles with real reports of fixture workbooks, one waiting file and one
// resent file.
func fixtureFiles(t testing.TB) *memFiles {
	t.Helper()
	ctx := context.Background()
	m := newMemFiles()
	base := time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)
	add := func(id, file string, at time.Duration, arrivals int) {
		recv := base.Add(at)
		rep, err := validateFixture(ctx, repoPath("fixtures", "files", file), recv)
		if err != nil {
			t.Fatalf("validate %s: %v", file, err)
		}
		d := FileDetail{FileSummary: FileSummary{ID: id, Name: file, Received: recv,
			Sender: "vaksine@legekontor.example", Source: "mailbox", Mailbox: "INBOX"}}
		for i := range arrivals {
			d.Arrivals = append(d.Arrivals, Arrival{Received: recv.Add(time.Duration(i) * time.Hour), Source: "mailbox",
				Mailbox: "INBOX", Sender: "vaksine@legekontor.example", FileName: file})
		}
		setReport(&d, rep)
		m.put(d)
	}
	add(idClean, "clean.xlsx", 0, 1)
	add(idRowErrors, "row-errors.xlsx", time.Hour, 1)
	add(idNoHeader, "no-header.xlsx", 2*time.Hour, 1)
	add(idResent, "duplicates.xlsx", 3*time.Hour, 3)
	recv := base.Add(4 * time.Hour)
	m.put(FileDetail{FileSummary: FileSummary{ID: idWaiting, Name: "octool_agile.xlsx", Received: recv,
		Sender: "helsestasjon@kommune.example", Source: "mailbox", Mailbox: "INBOX", Stage: StageWaiting, Status: report.StatusWaitingPassword},
		Arrivals: []Arrival{{Received: recv, Source: "mailbox", Mailbox: "INBOX", Sender: "helsestasjon@kommune.example",
			FileName: "octool_agile.xlsx"}}})
	m.paths[idWaiting] = repoPath("fixtures", "encrypted", "octool_agile.xlsx")
	return m
}

// env is a console over the fakes, served by httptest.
type env struct {
	srv   *Server
	files *memFiles
	ops   *memOperators
	audit *memAudit
	clock *clock
}

func newEnv(t testing.TB, files *memFiles, mutate ...func(*Config)) *env {
	t.Helper()
	e := &env{files: files, ops: newMemOperators(), audit: &memAudit{},
		clock: &clock{t: time.Date(2026, 11, 23, 14, 0, 0, 0, time.UTC)}}
	hash, err := HashPassword([]byte(opPassword), DefaultParams)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.ops.AddOperator(context.Background(), Operator{Name: opName, Hash: hash, Created: e.clock.Now()}); err != nil {
		t.Fatal(err)
	}
	var fs Files
	var un Unlocker = noUnlock{}
	if files != nil {
		fs, un = files, files
	}
	cfg := Config{Files: fs, Unlocker: un, Operators: e.ops, Audit: e.audit, Metrics: true,
		Poll: fakePoll{last: e.clock.Now().Add(-time.Minute)}, Now: e.clock.Now, Location: time.UTC}
	for _, f := range mutate {
		f(&cfg)
	}
	e.srv, err = New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func containsAny(s string, needles []string) string {
	for _, n := range needles {
		if n != "" && strings.Contains(s, n) {
			return n
		}
	}
	return ""
}

type noUnlock struct{}

func (noUnlock) Unlock(context.Context, string, secret.Secret) (UnlockOutcome, error) {
	return UnlockOutcome{}, ErrNotWaiting
}
