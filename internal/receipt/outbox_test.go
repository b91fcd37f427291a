package receipt

import (
	"context"
	"errors"
	"sort"
	"sync"
	"testing"
	"time"
)

// memOutbox is an outbox held in memory for the worker's tests; the state backends implement the
// same interface and are tested by the state's conformance suite.
type memOutbox struct {
	mu    sync.Mutex
	items map[string]*memItem
	// crashOnSent makes MarkSent fail once, as a process killed after the server accepted the
	// message and before the state recorded it.
	crashOnSent bool
}

type memItem struct {
	Item
	status string // queued, sent, failed
	reason string
}

var errCrash = errors.New("killed before the state recorded the send")

func newMemOutbox() *memOutbox { return &memOutbox{items: map[string]*memItem{}} }

// queue adds a receipt once: a second queue of the same id is a no-op (one receipt per message
// and outcome).
func (o *memOutbox) queue(m Message, now time.Time) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if _, ok := o.items[m.ID]; !ok {
		o.items[m.ID] = &memItem{Item: ItemOf(m, now), status: "queued"}
	}
}

func (o *memOutbox) Due(_ context.Context, now time.Time, limit int) ([]Item, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []Item
	for _, it := range o.items {
		if it.status == "queued" && !it.NextAttempt.After(now) {
			out = append(out, it.Item)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		return out[i].Queued.Before(out[j].Queued) || out[i].Queued.Equal(out[j].Queued) && out[i].ID < out[j].ID
	})
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

func (o *memOutbox) MarkSent(_ context.Context, id string, _ time.Time) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.crashOnSent {
		o.crashOnSent = false
		return errCrash
	}
	o.items[id].status = "sent"
	return nil
}

func (o *memOutbox) MarkRetry(_ context.Context, id string, attempts int, next time.Time, lastErr string) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	it := o.items[id]
	it.Attempts, it.NextAttempt, it.LastError = attempts, next, lastErr
	return nil
}

func (o *memOutbox) GiveUp(_ context.Context, id string, _ time.Time, reason string) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.items[id].status, o.items[id].reason = "failed", reason
	return nil
}

func (o *memOutbox) get(id string) memItem {
	o.mu.Lock()
	defer o.mu.Unlock()
	return *o.items[id]
}

func (o *memOutbox) count(status string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	n := 0
	for _, it := range o.items {
		if it.status == status {
			n++
		}
	}
	return n
}

// fakeSubmitter fails with err for the first fails calls.
type fakeSubmitter struct {
	err   error
	fails int
	sent  []string
}

func (f *fakeSubmitter) Send(_ context.Context, _, _ string, data []byte) error {
	if f.fails > 0 {
		f.fails--
		return f.err
	}
	f.sent = append(f.sent, string(data))
	return nil
}

func TestBackoffDoublesUpToTheCap(t *testing.T) {
	w := &Worker{BackoffMin: time.Second, BackoffMax: 10 * time.Second}
	for n, want := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 3: 4 * time.Second, 4: 8 * time.Second, 5: 10 * time.Second, 40: 10 * time.Second} {
		if got := w.Backoff(n); got != want {
			t.Errorf("Backoff(%d) = %s, want %s", n, got, want)
		}
	}
}

func TestQueueingTwiceIsOneReceipt(t *testing.T) {
	ob := newMemOutbox()
	now := testDate
	for i := 0; i < 3; i++ {
		m, err := Render(receiptCases(t)[0].in)
		if err != nil {
			t.Fatal(err)
		}
		ob.queue(m, now)
	}
	sub := &fakeSubmitter{}
	w := &Worker{Outbox: ob, Sender: sub, Now: func() time.Time { return now }}
	res, err := w.SendDue(context.Background())
	if err != nil || res.Sent != 1 || len(sub.sent) != 1 {
		t.Fatalf("sent %d (%+v, %v), want one receipt", len(sub.sent), res, err)
	}
}

func TestConnectionFailureStopsThePassAndLeavesTheRestDue(t *testing.T) {
	ob := newMemOutbox()
	now := testDate
	cases := receiptCases(t)
	for _, c := range []receiptCase{cases[0], cases[2], cases[3]} {
		m, err := Render(c.in)
		if err != nil {
			t.Fatal(err)
		}
		ob.queue(m, now)
	}
	sub := &fakeSubmitter{err: errors.New("connect: connection refused"), fails: 1}
	w := &Worker{Outbox: ob, Sender: sub, BackoffMin: time.Minute, Now: func() time.Time { return now }}
	res, err := w.SendDue(context.Background())
	if err != nil || !res.Unreachable || res.Retry != 1 || res.Sent != 0 {
		t.Fatalf("pass = %+v, %v; want one retry and a stop", res, err)
	}
	res, err = w.SendDue(context.Background()) // the other two are still due, the first waits
	if err != nil || res.Sent != 2 {
		t.Fatalf("second pass = %+v, %v", res, err)
	}
	now = now.Add(time.Minute)
	if res, _ := w.SendDue(context.Background()); res.Sent != 1 {
		t.Fatalf("after the backoff = %+v", res)
	}
}
