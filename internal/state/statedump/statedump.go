// Package statedump moves a state from one backend to another (SPEC 8: `state export` and
// `state import`, a folder state into PostgreSQL): Export writes any state as JSON lines, one
// item a line (the ledger's secret, ledger keys, files with their spooled bytes and reports,
// records from the --out folder, messages, mailbox states, receipts, operators, audit entries);
// pgstate's Import reads it back. A dump holds ID numbers (records) and the ledger secret: it is
// written 0600 and belongs where the state itself belongs.
package statedump

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"

	"github.com/fhi/sysvak-import/internal/state"
)

// Version is the dump format's version.
const Version = 1

// Item is one line of a dump. Kind says which field is set.
type Item struct {
	Kind string `json:"kind"` // header, ledger, file, record, message, mailbox, receipt, operator, audit

	Version      int    `json:"version,omitempty"`
	LedgerSecret []byte `json:"ledger_secret,omitempty"`

	Key   []byte             `json:"key,omitempty"`
	Entry *state.LedgerEntry `json:"entry,omitempty"`

	File   *state.File     `json:"file,omitempty"`
	Data   []byte          `json:"data,omitempty"`   // spooled bytes of a file
	Report json.RawMessage `json:"report,omitempty"` // its report.json

	FileID string          `json:"file_id,omitempty"`
	Row    int             `json:"row,omitempty"`
	Record json.RawMessage `json:"record,omitempty"`

	Message  *state.Message      `json:"message,omitempty"`
	Mailbox  string              `json:"mailbox,omitempty"`
	MboxSt   *state.MailboxState `json:"mailbox_state,omitempty"`
	Receipt  *state.Receipt      `json:"receipt,omitempty"`
	Operator *state.Operator     `json:"operator,omitempty"`
	Audit    *state.AuditEntry   `json:"audit,omitempty"`
}

// LedgerLister is a state that can list its ledger (both backends).
type LedgerLister interface {
	ForEachLedgerKey(ctx context.Context, fn func(state.LedgerKey, state.LedgerEntry) error) error
}

// MessageLister is a state that can list all its messages (both backends).
type MessageLister interface {
	AllMessages(ctx context.Context) ([]state.Message, error)
}

// Stats counts what a dump holds.
type Stats struct {
	LedgerKeys, Files, Records, Messages, Receipts, Operators, Audit int
}

func (s Stats) String() string {
	return fmt.Sprintf("%d ledger keys, %d files, %d records, %d messages, %d receipts, %d operators, %d audit entries",
		s.LedgerKeys, s.Files, s.Records, s.Messages, s.Receipts, s.Operators, s.Audit)
}

// Export writes st as a dump to w. outDir (may be empty) is the --out folder whose
// OUT/<file-id>/records.jsonl are included as records, unless the state stores records itself.
func Export(ctx context.Context, st state.Store, outDir string, w io.Writer) (Stats, error) {
	var stats Stats
	ll, ok1 := st.(LedgerLister)
	ml, ok2 := st.(MessageLister)
	if !ok1 || !ok2 {
		return stats, errors.New("statedump: this state cannot list its ledger and messages")
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	enc := json.NewEncoder(bw)
	secret, err := st.LedgerSecret(ctx)
	if err != nil {
		return stats, err
	}
	if err := enc.Encode(Item{Kind: "header", Version: Version, LedgerSecret: secret}); err != nil {
		return stats, err
	}
	owners := map[string]bool{} // files that own ledger keys: their records are exported too
	err = ll.ForEachLedgerKey(ctx, func(k state.LedgerKey, e state.LedgerEntry) error {
		stats.LedgerKeys++
		owners[e.FileID] = true
		return enc.Encode(Item{Kind: "ledger", Key: k[:], Entry: &e})
	})
	if err != nil {
		return stats, fmt.Errorf("statedump: ledger: %w", err)
	}
	if _, own := st.(RecordLister); own {
		outDir = ""
	}
	if err := exportFiles(ctx, st, outDir, owners, enc, &stats); err != nil {
		return stats, err
	}
	if rl, ok := st.(RecordLister); ok {
		err := rl.ForEachRecord(ctx, func(id string, row int, rec []byte) error {
			stats.Records++
			return enc.Encode(Item{Kind: "record", FileID: id, Row: row, Record: json.RawMessage(rec)})
		})
		if err != nil {
			return stats, fmt.Errorf("statedump: records: %w", err)
		}
	}
	if err := exportMessages(ctx, st, ml, enc, &stats); err != nil {
		return stats, err
	}
	if err := exportRest(ctx, st, enc, &stats); err != nil {
		return stats, err
	}
	return stats, bw.Flush()
}

func exportFiles(ctx context.Context, st state.Store, outDir string, owners map[string]bool, enc *json.Encoder, stats *Stats) error {
	page, err := st.ListFiles(ctx, state.FileQuery{})
	if err != nil {
		return fmt.Errorf("statedump: files: %w", err)
	}
	files := page.Files
	sort.Slice(files, func(i, j int) bool { return files[i].ID < files[j].ID })
	for _, f := range files {
		it := Item{Kind: "file", File: &f}
		if f.Spooled {
			sp, err := st.OpenSpooled(ctx, f.ID)
			if err != nil {
				return fmt.Errorf("statedump: spooled bytes of %s: %w", f.ID, err)
			}
			it.Data, err = os.ReadFile(sp.Path)
			sp.Close()
			if err != nil {
				return fmt.Errorf("statedump: spooled bytes of %s: %w", f.ID, err)
			}
		}
		rep, err := st.Report(ctx, f.ID)
		if err != nil && !errors.Is(err, state.ErrNotFound) {
			return fmt.Errorf("statedump: report of %s: %w", f.ID, err)
		}
		if json.Valid(rep) {
			it.Report = rep
		}
		if err := enc.Encode(it); err != nil {
			return err
		}
		stats.Files++
		if f.Status == state.StatusProcessed {
			owners[f.ID] = true
		}
	}
	if outDir == "" {
		return nil
	}
	// Records of processed files and of files that own ledger keys (a state whose files were
	// imported from local paths before the intake recorded them knows them by their keys only).
	ids := make([]string, 0, len(owners))
	for id := range owners {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		if !state.ValidFileID(id) {
			continue
		}
		if err := exportRecords(filepath.Join(outDir, id, "records.jsonl"), id, enc, stats); err != nil {
			return err
		}
	}
	return nil
}

// exportRecords copies a file's records.jsonl (a missing one is no error: outputs may have been
// moved away; `state check` on the new state then says what is missing).
func exportRecords(path, id string, enc *json.Encoder, stats *Stats) error {
	rf, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("statedump: records of %s: %w", id, err)
	}
	defer rf.Close()
	sc := bufio.NewScanner(rf)
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	for sc.Scan() {
		var head struct {
			Row int `json:"row"`
		}
		if err := json.Unmarshal(sc.Bytes(), &head); err != nil {
			return fmt.Errorf("statedump: records of %s: %w", id, err)
		}
		if err := enc.Encode(Item{Kind: "record", FileID: id, Row: head.Row, Record: json.RawMessage(sc.Bytes())}); err != nil {
			return err
		}
		stats.Records++
	}
	return sc.Err()
}

func exportMessages(ctx context.Context, st state.Store, ml MessageLister, enc *json.Encoder, stats *Stats) error {
	msgs, err := ml.AllMessages(ctx)
	if err != nil {
		return fmt.Errorf("statedump: messages: %w", err)
	}
	mailboxes := map[string]bool{}
	for _, m := range msgs {
		mailboxes[m.Mailbox] = true
		if err := enc.Encode(Item{Kind: "message", Message: &m}); err != nil {
			return err
		}
		stats.Messages++
	}
	names := make([]string, 0, len(mailboxes))
	for n := range mailboxes {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		ms, err := st.MailboxState(ctx, n)
		if err != nil {
			return fmt.Errorf("statedump: mailbox state: %w", err)
		}
		if err := enc.Encode(Item{Kind: "mailbox", Mailbox: n, MboxSt: &ms}); err != nil {
			return err
		}
	}
	return nil
}

func exportRest(ctx context.Context, st state.Store, enc *json.Encoder, stats *Stats) error {
	rs, err := st.ListReceipts(ctx)
	if err != nil {
		return fmt.Errorf("statedump: receipts: %w", err)
	}
	for _, r := range rs {
		if err := enc.Encode(Item{Kind: "receipt", Receipt: &r}); err != nil {
			return err
		}
		stats.Receipts++
	}
	ops, err := st.ListOperators(ctx)
	if err != nil {
		return fmt.Errorf("statedump: operators: %w", err)
	}
	for _, op := range ops {
		if err := enc.Encode(Item{Kind: "operator", Operator: &op}); err != nil {
			return err
		}
		stats.Operators++
	}
	es, err := st.ListAudit(ctx, state.AuditQuery{})
	if err != nil {
		return fmt.Errorf("statedump: audit: %w", err)
	}
	for _, e := range es {
		if err := enc.Encode(Item{Kind: "audit", Audit: &e}); err != nil {
			return err
		}
		stats.Audit++
	}
	return nil
}

// Read calls fn for each item of a dump, checking the header first.
func Read(r io.Reader, fn func(Item) error) error {
	dec := json.NewDecoder(bufio.NewReaderSize(r, 1<<20))
	first := true
	for {
		var it Item
		err := dec.Decode(&it)
		if errors.Is(err, io.EOF) {
			if first {
				return errors.New("statedump: empty dump")
			}
			return nil
		}
		if err != nil {
			return fmt.Errorf("statedump: malformed dump: %w", err)
		}
		if first {
			if it.Kind != "header" || it.Version != Version || len(it.LedgerSecret) != 32 {
				return fmt.Errorf("statedump: not a sysvak-import state dump of version %d", Version)
			}
			first = false
		}
		if err := fn(it); err != nil {
			return err
		}
	}
}
