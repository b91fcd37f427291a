package ledger

// Secret returns a copy of the 32-byte HMAC key under which this ledger's keys are computed (the
// state interface hands it to the pipeline, internal/state.Ledger.LedgerSecret).
func (l *Ledger) Secret() []byte { return append([]byte(nil), l.mac...) }
