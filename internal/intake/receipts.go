package intake

import (
	"context"

	"github.com/fhi/sysvak-import/importer/report"
	"github.com/fhi/sysvak-import/internal/state"
)

// lateArrivalReceipts are the receipts of a processed file's outcome for the arrivals its
// outcome's receipts did not cover (those after the first f.Reported): a message that brought the
// file again while it was being processed was recorded before there was an outcome to answer
// with. A message recorded after the outcome got its receipt with it; queueing that one again
// changes nothing (a receipt's id is stable, and a known id is left as it is).
func (s *Service) lateArrivalReceipts(ctx context.Context, f state.File, rep *report.Report) []state.Receipt {
	if s.cfg.ReceiptsWith == nil || f.Reported >= len(f.Arrivals) {
		return nil
	}
	late := f
	late.Source = state.Arrival{} // answered with the outcome
	late.Arrivals = f.Arrivals[max(f.Reported, 0):]
	return s.cfg.ReceiptsWith(ctx, late, rep, nil)
}
