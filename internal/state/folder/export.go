package folder

import (
	"context"

	"github.com/fhi/sysvak-import/importer/ledger"
	"github.com/fhi/sysvak-import/internal/state"
)

// ForEachLedgerKey calls fn for every ledger key (for `state export`).
func (s *Store) ForEachLedgerKey(ctx context.Context, fn func(state.LedgerKey, state.LedgerEntry) error) error {
	return s.led.ForEach(func(k ledger.Key, e ledger.Entry) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		return fn(state.LedgerKey(k), state.LedgerEntry{FileID: e.FileID, Row: e.Row, Deleted: e.Deleted})
	})
}

// AllMessages returns every recorded message (for `state export`).
func (s *Store) AllMessages(ctx context.Context) ([]state.Message, error) {
	recs, err := s.sp.Messages()
	if err != nil {
		return nil, err
	}
	out := make([]state.Message, len(recs))
	for i, r := range recs {
		out[i] = toMessage(r)
	}
	return out, ctx.Err()
}
