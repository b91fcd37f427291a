package receipt

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/fhi/sysvak-import/internal/smtptest"
)

// clock is a settable test clock.
type clock struct{ t time.Time }

func (c *clock) now() time.Time      { return c.t }
func (c *clock) add(d time.Duration) { c.t = c.t.Add(d) }
func newClock() *clock               { return &clock{t: testDate} }
func tlsSender(t *testing.T, srv *smtptest.Server) *Sender {
	return senderFor(t, srv, TLSImplicit, "", "", "")
}

// TestServerDownThenBackDeliversEachOnce: with the server stopped, receipts stay queued and are
// retried with backoff; once it is back every one is delivered, exactly once.
func TestServerDownThenBackDeliversEachOnce(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Options{TLS: smtptest.TLSImplicit})
	ob := newMemOutbox()
	clk := newClock()
	w := &Worker{Outbox: ob, Sender: tlsSender(t, srv), BackoffMin: time.Minute, BackoffMax: 8 * time.Minute, Now: clk.now}
	cases := receiptCases(t)
	for _, c := range []receiptCase{cases[0], cases[2]} {
		m, err := Render(c.in)
		if err != nil {
			t.Fatal(err)
		}
		ob.queue(m, clk.now())
	}
	if res, err := w.SendDue(context.Background()); err != nil || res.Sent != 2 {
		t.Fatalf("before the outage: %+v, %v", res, err)
	}
	srv.Stop()
	ms := queueAll(t, ob, clk.now()) // the two sent ones are not queued again
	for i := 0; i < 4; i++ {
		res, err := w.SendDue(context.Background())
		if err != nil || res.Sent != 0 || !res.Unreachable {
			t.Fatalf("outage pass %d: %+v, %v", i, res, err)
		}
		clk.add(time.Minute)
	}
	if n := ob.count("queued"); n != len(ms)-2 {
		t.Fatalf("%d queued during the outage, want %d", n, len(ms)-2)
	}
	srv.Restart()
	for i := 0; ob.count("queued") > 0; i++ {
		if i > 20 {
			t.Fatalf("%d receipts still queued after the server came back", ob.count("queued"))
		}
		if _, err := w.SendDue(context.Background()); err != nil {
			t.Fatal(err)
		}
		clk.add(8 * time.Minute)
	}
	checkDelivered(t, srv.Messages(), ms, true, false)
}

// TestRunKeepsSendingWhileTheServerComesAndGoes runs the worker's loop for real (short backoff)
// while the server is stopped mid-run and started again: everything arrives, each exactly once.
func TestRunKeepsSendingWhileTheServerComesAndGoes(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Options{TLS: smtptest.TLSImplicit})
	ob := newMemOutbox()
	w := &Worker{Outbox: ob, Sender: tlsSender(t, srv), BackoffMin: 20 * time.Millisecond, BackoffMax: 100 * time.Millisecond, Interval: 50 * time.Millisecond}
	ctx, cancel := context.WithCancel(context.Background())
	wake := make(chan struct{}, 1)
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx, wake) }()
	cases := receiptCases(t)
	var ms []Message
	for i, c := range cases {
		if i == 3 {
			srv.Stop()
		}
		if i == 7 {
			srv.Restart()
		}
		m, err := Render(c.in)
		if err != nil {
			t.Fatal(err)
		}
		ob.queue(m, time.Now())
		if !slices.ContainsFunc(ms, func(x Message) bool { return x.ID == m.ID }) {
			ms = append(ms, m)
		}
		select {
		case wake <- struct{}{}:
		default:
		}
		time.Sleep(30 * time.Millisecond)
	}
	srv.WaitMessages(len(ms), 30*time.Second)
	for ob.count("sent") < len(ms) {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Run = %v", err)
	}
	checkDelivered(t, srv.Messages(), ms, true, false)
}

// TestCrashBetweenSentAndRecordedResendsOnceWithTheSameID: the process dies after the server took
// the receipt and before the state recorded it; the next run sends it once more, byte for byte
// with the same Message-ID (so the recipient's mail system can recognise it), and never again.
func TestCrashBetweenSentAndRecordedResendsOnceWithTheSameID(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Options{TLS: smtptest.TLSImplicit})
	ob := newMemOutbox()
	m, err := Render(receiptCases(t)[2].in)
	if err != nil {
		t.Fatal(err)
	}
	ob.queue(m, testDate)
	ob.crashOnSent = true
	crashed := &Worker{Outbox: ob, Sender: tlsSender(t, srv), Now: func() time.Time { return testDate }}
	if _, err := crashed.SendDue(context.Background()); !errors.Is(err, errCrash) {
		t.Fatalf("first run: %v, want the crash", err)
	}
	restarted := &Worker{Outbox: ob, Sender: tlsSender(t, srv), Now: func() time.Time { return testDate }}
	for i := 0; i < 3; i++ {
		if _, err := restarted.SendDue(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	got := srv.Messages()
	if len(got) != 2 {
		t.Fatalf("%d deliveries, want 2 (the one before the crash and one resend)", len(got))
	}
	for _, g := range got {
		if g.Header.Get("Message-Id") != m.ID || string(g.Raw) != string(got[0].Raw) {
			t.Errorf("the resend differs: Message-ID %q", g.Header.Get("Message-Id"))
		}
	}
	if ob.get(m.ID).status != "sent" {
		t.Errorf("status %q after the resend", ob.get(m.ID).status)
	}
}

// TestTemporaryRefusalIsRetriedWithBackoff: 451 answers are retried, the delay doubling, until
// the server takes the message.
func TestTemporaryRefusalIsRetriedWithBackoff(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Options{TLS: smtptest.TLSImplicit})
	srv.Respond("451 4.3.0 Try again later")
	ob := newMemOutbox()
	clk := newClock()
	m, err := Render(receiptCases(t)[0].in)
	if err != nil {
		t.Fatal(err)
	}
	ob.queue(m, clk.now())
	w := &Worker{Outbox: ob, Sender: tlsSender(t, srv), BackoffMin: time.Minute, BackoffMax: time.Hour, Now: clk.now}
	for attempt, wait := range []time.Duration{time.Minute, 2 * time.Minute, 4 * time.Minute} {
		res, err := w.SendDue(context.Background())
		if err != nil || res.Retry != 1 || res.Unreachable {
			t.Fatalf("attempt %d: %+v, %v", attempt+1, res, err)
		}
		it := ob.get(m.ID)
		if it.Attempts != attempt+1 || !it.NextAttempt.Equal(clk.now().Add(wait)) || it.LastError == "" {
			t.Fatalf("after attempt %d: attempts %d, next in %s, error %q", attempt+1, it.Attempts, it.NextAttempt.Sub(clk.now()), it.LastError)
		}
		if res, _ := w.SendDue(context.Background()); res.Retry+res.Sent != 0 {
			t.Fatalf("retried before its time: %+v", res)
		}
		clk.add(wait)
	}
	srv.Respond("")
	if res, err := w.SendDue(context.Background()); err != nil || res.Sent != 1 {
		t.Fatalf("after the server recovered: %+v, %v", res, err)
	}
	checkDelivered(t, srv.Messages(), []Message{m}, true, false)
}

// TestPermanentRefusalGivesUpVisibly: a 5xx answer ends the receipt with a status and a reason
// (codes only), and it is never tried again.
func TestPermanentRefusalGivesUpVisibly(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Options{TLS: smtptest.TLSImplicit})
	srv.Respond("554 5.7.1 Message refused for vaksinator@legekontor.example")
	ob := newMemOutbox()
	m, err := Render(receiptCases(t)[0].in)
	if err != nil {
		t.Fatal(err)
	}
	ob.queue(m, testDate)
	w := &Worker{Outbox: ob, Sender: tlsSender(t, srv), Now: func() time.Time { return testDate }}
	res, err := w.SendDue(context.Background())
	if err != nil || res.GaveUp != 1 {
		t.Fatalf("pass = %+v, %v", res, err)
	}
	it := ob.get(m.ID)
	if it.status != "failed" || it.reason != "receipt: the SMTP server answered 554 5.7.1 to end of DATA" {
		t.Errorf("status %q, reason %q", it.status, it.reason)
	}
	srv.Respond("")
	if res, _ := w.SendDue(context.Background()); res.Sent != 0 {
		t.Error("a given-up receipt was sent")
	}
	if len(srv.Messages()) != 0 {
		t.Error("the server stored a refused message")
	}
}

// TestOldReceiptIsGivenUp: a receipt that could not be delivered within GiveUpAfter is given up.
func TestOldReceiptIsGivenUp(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Options{TLS: smtptest.TLSImplicit})
	srv.Stop()
	ob := newMemOutbox()
	clk := newClock()
	m, err := Render(receiptCases(t)[0].in)
	if err != nil {
		t.Fatal(err)
	}
	ob.queue(m, clk.now())
	w := &Worker{Outbox: ob, Sender: tlsSender(t, srv), BackoffMin: time.Hour, BackoffMax: time.Hour, GiveUpAfter: 3 * time.Hour, Now: clk.now}
	for i := 0; i < 5; i++ {
		if _, err := w.SendDue(context.Background()); err != nil {
			t.Fatal(err)
		}
		clk.add(time.Hour)
	}
	it := ob.get(m.ID)
	if it.status != "failed" || it.Attempts != 4 {
		t.Fatalf("status %q after %d attempts, reason %q", it.status, it.Attempts, it.reason)
	}
}
