package statedump

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"sort"

	"github.com/fhi/sysvak-import/importer/ledger"
	"github.com/fhi/sysvak-import/internal/state"
)

// Problem is one inconsistency Check found. It names files, rows and counts, never an ID number.
type Problem struct {
	Code   string `json:"code"`
	FileID string `json:"file_id,omitempty"`
	Row    int    `json:"row,omitempty"`
	Detail string `json:"detail"`
}

// RecordLister is a state that stores records itself (PostgreSQL's records table).
type RecordLister interface {
	ForEachRecord(ctx context.Context, fn func(fileID string, row int, record []byte) error) error
}

type fileRow struct {
	file string
	row  int
}

// checker consumes a dump and collects what Check compares.
type checker struct {
	hasher   *ledger.Hasher
	owned    map[fileRow]ledger.Key // ledger: the (file, row) that owns each key
	inLedger map[ledger.Key]bool
	records  map[fileRow]bool
	perFile  map[string]int
	files    map[string]state.File
	messages []state.Message
	problems []Problem
}

// Check verifies a state (SPEC 8, `state check`): the ledger against the records (every ledger key
// is the key of its file's record at that row, every record's key is in the ledger, every
// processed file has its records), the spool against the files and messages (spooled bytes with
// the file's SHA-256; every file a message names exists) and that processed files have reports.
// Records come from the state when it stores them (PostgreSQL), else from outDir.
func Check(ctx context.Context, st state.Store, outDir string) ([]Problem, error) {
	c := &checker{owned: map[fileRow]ledger.Key{}, inLedger: map[ledger.Key]bool{}, records: map[fileRow]bool{},
		perFile: map[string]int{}, files: map[string]state.File{}}
	pr, pw := io.Pipe()
	go func() {
		_, err := Export(ctx, st, outDir, pw)
		pw.CloseWithError(err)
	}()
	if err := Read(pr, c.item); err != nil {
		pr.CloseWithError(err)
		return nil, err
	}
	c.finish()
	return c.problems, nil
}

func (c *checker) add(code, file string, row int, format string, a ...any) {
	c.problems = append(c.problems, Problem{Code: code, FileID: file, Row: row, Detail: fmt.Sprintf(format, a...)})
}

func (c *checker) item(it Item) error {
	switch it.Kind {
	case "header":
		c.hasher = ledger.NewHasher(it.LedgerSecret)
	case "ledger":
		k := ledger.Key(it.Key)
		c.owned[fileRow{it.Entry.FileID, it.Entry.Row}] = k
		c.inLedger[k] = true
	case "file":
		f := *it.File
		c.files[f.ID] = f
		if f.Spooled {
			sum := sha256.Sum256(it.Data)
			if it.Data == nil {
				c.add("spool_missing", f.ID, 0, "the file is marked spooled but its bytes are not in the spool")
			} else if hex.EncodeToString(sum[:]) != f.SHA256 {
				c.add("spool_sha256", f.ID, 0, "the spooled bytes do not match the file's SHA-256")
			}
		}
		if f.Status == state.StatusProcessed && it.Report == nil {
			c.add("report_missing", f.ID, 0, "a processed file has no report")
		}
	case "record":
		var r struct {
			PersonID string `json:"person_id"`
			Date     string `json:"vaccination_date"`
			Code     string `json:"sysvak_code"`
		}
		if err := json.Unmarshal(it.Record, &r); err != nil {
			c.add("record_malformed", it.FileID, it.Row, "a record is not valid JSON")
			return nil
		}
		fr := fileRow{it.FileID, it.Row}
		c.records[fr] = true
		c.perFile[it.FileID]++
		k := c.hasher.Key(r.PersonID, []byte(r.Date), r.Code)
		if !c.inLedger[k] {
			c.add("record_not_in_ledger", it.FileID, it.Row, "the record's key is not in the ledger")
		}
		if want, ok := c.owned[fr]; ok && want != k {
			c.add("ledger_record_mismatch", it.FileID, it.Row, "the ledger key of this row is not the record's key")
		}
	case "message":
		c.messages = append(c.messages, *it.Message)
	}
	return nil
}

func (c *checker) finish() {
	var missing []fileRow
	for fr := range c.owned {
		if !c.records[fr] {
			missing = append(missing, fr)
		}
	}
	sort.Slice(missing, func(i, j int) bool {
		return missing[i].file < missing[j].file || missing[i].file == missing[j].file && missing[i].row < missing[j].row
	})
	for _, fr := range missing {
		c.add("ledger_without_record", fr.file, fr.row, "a ledger key has no record")
	}
	ids := make([]string, 0, len(c.files))
	for id := range c.files {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		f := c.files[id]
		if f.Status == state.StatusProcessed && c.perFile[id] < f.Summary.Registered {
			c.add("records_missing", id, 0, "%d records for %d registered rows", c.perFile[id], f.Summary.Registered)
		}
	}
	for _, m := range c.messages {
		for _, id := range append(append([]string{}, m.FileIDs...), m.Resent...) {
			if _, ok := c.files[id]; !ok {
				c.add("message_file_missing", id, 0, "message UID %d (UIDVALIDITY %d) of %s names a file that is not in the state", m.UID, m.UIDValidity, m.Mailbox)
			}
		}
	}
}
