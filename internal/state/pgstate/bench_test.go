package pgstate

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/fhi/sysvak-import/internal/pgtest"
	"github.com/fhi/sysvak-import/internal/state"
	"github.com/fhi/sysvak-import/internal/state/folder"
)

// BenchmarkStateImport measures what the state costs an import, for both backends: per file
// AddFiles (the bytes), ClaimFile, a ledger view with one Get per row, RecordOutcome (ledger
// changes, records, report) and SetWritten. "500x10" is 500 small files of 10 rows, "1x100k" one
// file of 100,000 rows. PostgreSQL runs with fsync on, as in production.
func BenchmarkStateImport(b *testing.B) {
	var cluster *pgtest.Cluster // one for the whole benchmark, removed at its end
	pgCluster := func() *pgtest.Cluster {
		if cluster == nil {
			cluster = pgtest.New(b, pgtest.Options{Durable: true})
		}
		return cluster
	}
	backends := []struct {
		name string
		open func(b *testing.B) state.Store
	}{
		{"folder", func(b *testing.B) state.Store {
			st, err := folder.Open(context.Background(), b.TempDir(), folder.Options{})
			if err != nil {
				b.Fatal(err)
			}
			return st
		}},
		{"postgres", func(b *testing.B) state.Store {
			name, err := pgCluster().CreateDatabase(context.Background(), "bench")
			if err != nil {
				b.Fatal(err)
			}
			st, err := Open(context.Background(), pgCluster().DSN(name), Options{TempDir: b.TempDir(), PasswordDir: b.TempDir()})
			if err != nil {
				b.Fatal(err)
			}
			return st
		}},
	}
	pgCluster()
	for _, shape := range []struct {
		name        string
		files, rows int
	}{{"500x10", 500, 10}, {"1x100k", 1, 100000}} {
		for _, be := range backends {
			b.Run(shape.name+"/"+be.name, func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					b.StopTimer()
					st := be.open(b)
					dir := b.TempDir()
					b.StartTimer()
					for f := 0; f < shape.files; f++ {
						importOne(b, st, dir, i, f, shape.rows)
					}
					b.StopTimer()
					st.Close()
					b.StartTimer()
				}
				b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/op")
			})
		}
	}
}

func importOne(b *testing.B, st state.Store, dir string, iter, n, rows int) {
	ctx := context.Background()
	content := bytes.Repeat([]byte(fmt.Sprintf("file %d/%d ", iter, n)), 400) // ~5 KB, like a small encrypted workbook
	sum := sha256.Sum256(content)
	in := filepath.Join(st.TempDir(), fmt.Sprintf("in-%d", n))
	if err := os.WriteFile(in, content, 0o600); err != nil {
		b.Fatal(err)
	}
	res, err := st.AddFiles(ctx, []state.Incoming{{TempPath: in, SHA256: hex.EncodeToString(sum[:]), Size: int64(len(content)), FileName: "v.xlsx"}},
		state.Arrival{Mailbox: "INBOX", UIDValidity: 1, UID: uint32(n + 1), MessageID: fmt.Sprintf("<%d@x>", n)}, nil)
	if err != nil {
		b.Fatal(err)
	}
	id := res.New[0].ID
	_, c, err := st.ClaimFile(ctx, id, "bench", time.Minute)
	if err != nil {
		b.Fatal(err)
	}
	view, err := st.LedgerView(ctx)
	if err != nil {
		b.Fatal(err)
	}
	changes := make([]state.LedgerChange, rows)
	var recs bytes.Buffer
	for r := 0; r < rows; r++ {
		var k state.LedgerKey
		copy(k[:8], id)
		binary.BigEndian.PutUint64(k[8:], uint64(r))
		view.Get(k)
		changes[r] = state.LedgerChange{Key: k, Row: r + 2}
		fmt.Fprintf(&recs, `{"file_id":%q,"row":%d,"person_id":"01010112345","vaccination_date":"2026-01-01","sysvak_code":"COV03","action":"register"}`+"\n", id, r+2)
	}
	view.Close()
	rp := filepath.Join(dir, id+".jsonl")
	if err := os.WriteFile(rp, recs.Bytes(), 0o600); err != nil {
		b.Fatal(err)
	}
	err = st.RecordOutcome(ctx, id, state.Outcome{Claim: c, Status: state.StatusProcessed, Changes: changes, RecordsPath: rp,
		Summary: state.Summary{ReportStatus: "accepted", Rows: rows, Registered: rows}, Report: []byte(`{"status":"accepted"}`)})
	if err != nil {
		b.Fatal(err)
	}
	if err := st.SetWritten(ctx, id, true); err != nil {
		b.Fatal(err)
	}
}
