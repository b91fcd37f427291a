package receipt

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/fhi/sysvak-import/importer/report"
	"github.com/fhi/sysvak-import/internal/pgtest"
	"github.com/fhi/sysvak-import/internal/smtptest"
	"github.com/fhi/sysvak-import/internal/state"
	"github.com/fhi/sysvak-import/internal/state/pgstate"
)

// TestTwoSendersOnPostgreSQLSendEachReceiptOnce: two workers (as two `serve` or `poll` processes
// would) share one PostgreSQL state and one SMTP server; the outbox's claims let each receipt go
// out exactly once.
func TestTwoSendersOnPostgreSQLSendEachReceiptOnce(t *testing.T) {
	cl := pgtest.New(t, pgtest.Options{})
	ctx := context.Background()
	db, err := cl.CreateDatabase(ctx, "receipts")
	if err != nil {
		t.Fatal(err)
	}
	st, err := pgstate.Open(ctx, cl.DSN(db), pgstate.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	b := &Builder{From: testFrom, Mode: ModeSummary}
	var rs []state.Receipt
	for i := 0; i < 30; i++ {
		id := fmt.Sprintf("%016x", 0xa1b2c3d4e5f60000+uint64(i))
		rs = append(rs, b.ForFile(mailedFile(id, state.StatusWaiting, uint32(i+1)), &report.Report{Status: report.StatusWaitingPassword})...)
	}
	if err := st.EnqueueReceipts(ctx, rs); err != nil || len(rs) != 30 {
		t.Fatalf("enqueue %d: %v", len(rs), err)
	}
	srv := smtptest.Start(t, smtptest.Options{TLS: smtptest.TLSImplicit})
	var wg sync.WaitGroup
	for i := 0; i < 2; i++ {
		wg.Add(1)
		go func(owner string) {
			defer wg.Done()
			w := &Worker{Outbox: &StateOutbox{St: st, Owner: owner, From: testFrom}, Sender: tlsSender(t, srv), Batch: 3}
			for {
				res, err := w.SendDue(ctx)
				if err != nil {
					t.Error(err)
					return
				}
				if res.Sent+res.Retry+res.GaveUp == 0 {
					return
				}
			}
		}(fmt.Sprintf("sender-%d", i))
	}
	wg.Wait()
	got := srv.WaitMessages(30, 10*time.Second)
	seen := map[string]bool{}
	for _, g := range got {
		id := g.Header.Get("Message-Id")
		if seen[id] {
			t.Errorf("receipt %s sent twice", id)
		}
		seen[id] = true
	}
	if len(got) != 30 {
		t.Errorf("%d delivered, want 30", len(got))
	}
	if sent, _ := st.ListReceipts(ctx, state.ReceiptSent); len(sent) != 30 {
		t.Errorf("%d recorded as sent", len(sent))
	}
}
