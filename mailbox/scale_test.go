package mailbox

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/fhi/sysvak-import/fixtures/mail/mailgen"
)

// scaleMessages builds n messages: mostly one real encrypted attachment (OpenPGP or OLE-like),
// every 10th a resend of an earlier file, every 15th with no attachment, every 20th a PDF only,
// every 7th with two attachments. It returns the expected new / resent / rejected counts.
func scaleMessages(t testing.TB, n int) (msgs [][]byte, wantNew, wantResent, wantRejected int) {
	xl, err := mailgen.XLSX(5)
	if err != nil {
		t.Fatal(err)
	}
	var files [][]byte
	for i := 0; i < n; i++ {
		m := mailgen.Message{Subject: fmt.Sprintf("Vaksinasjoner %d", i), MessageID: fmt.Sprintf("scale-%d@test", i)}
		switch {
		case i%15 == 14:
			wantRejected++
		case i%20 == 19:
			m.Attachments = []mailgen.Attachment{{Name: "info.pdf", ContentType: "application/pdf", Data: mailgen.Content("pdf", uint64(i), 800)}}
			wantRejected++
		case i%10 == 9 && len(files) > 0:
			m.Attachments = []mailgen.Attachment{{Name: "igjen.xlsx", Data: files[i%len(files)]}}
			wantResent++
		default:
			var data []byte
			if i%2 == 0 {
				data, err = mailgen.OpenPGP(append(append([]byte(nil), xl...), byte(i)), []byte("hemmelig"))
				if err != nil {
					t.Fatal(err)
				}
			} else {
				data = mailgen.Content("ole", uint64(i), 6000)
			}
			files = append(files, data)
			m.Attachments = []mailgen.Attachment{{Name: fmt.Sprintf("fil %d.xlsx.gpg", i), ContentType: "application/octet-stream", Data: data}}
			wantNew++
			if i%7 == 3 {
				extra := mailgen.Content("zip", uint64(1000+i), 3000)
				files = append(files, extra)
				m.Attachments = append(m.Attachments, mailgen.Attachment{Name: "ekstra.xlsx", Data: extra})
				wantNew++
			}
		}
		msgs = append(msgs, m.Bytes())
	}
	return msgs, wantNew, wantResent, wantRejected
}

// TestDovecotScale: 200 messages with attachments against a real Dovecot; one PollOnce accounts
// for every one (spooled, resent or rejected with a reason), a second finds nothing new.
func TestDovecotScale(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	h := newDovecot(t)
	e := newEnv(t, func(testing.TB) serverHandle { return h })
	msgs, wantNew, wantResent, wantRejected := scaleMessages(t, 200)
	t0 := time.Now()
	for _, m := range msgs {
		e.append("INBOX", m)
	}
	t.Logf("appended 200 messages in %v", time.Since(t0))
	p := e.poller()
	t1 := time.Now()
	res := mustPoll(t, p)
	t.Logf("PollOnce over 200 messages on Dovecot: %v (spooled %d, resent %d, rejected %d)", time.Since(t1), len(res.Spooled), len(res.Resent), len(res.Rejected))
	if res.Messages != 200 || len(res.Spooled) != wantNew || len(res.Resent) != wantResent || len(res.Rejected) != wantRejected ||
		len(res.Processed)+len(res.Rejected) != 200 || res.Moved != 200 {
		t.Fatalf("messages %d spooled %d/%d resent %d/%d rejected %d/%d moved %d", res.Messages, len(res.Spooled), wantNew,
			len(res.Resent), wantResent, len(res.Rejected), wantRejected, res.Moved)
	}
	for _, r := range res.Rejected {
		if len(r.Reasons) == 0 || r.Reasons[0].Reason == "" {
			t.Errorf("rejected message %d without reason", r.UID)
		}
	}
	if e.count("INBOX") != 0 || e.count("Processed")+e.count("Rejected") != 200 {
		t.Fatal("not every message moved")
	}
	if n := len(e.entries()); n != wantNew {
		t.Fatalf("%d entries, want %d", n, wantNew)
	}
	t2 := time.Now()
	res2 := mustPoll(t, p)
	t.Logf("second PollOnce: %v", time.Since(t2))
	if res2.Messages != 0 || len(res2.Spooled) != 0 {
		t.Fatalf("second pass: %+v", res2)
	}
}

// BenchmarkPollMemServer: one PollOnce over N messages (one ~6 KB attachment each) on the
// in-memory server; setup (server, APPEND) is outside the timer.
func BenchmarkPollMemServer(b *testing.B) {
	for _, n := range []int{10, 100} {
		b.Run(fmt.Sprint("N=", n), func(b *testing.B) {
			var msgs [][]byte
			for i := 0; i < n; i++ {
				msgs = append(msgs, mailgen.Message{Subject: fmt.Sprint("b", i), Attachments: []mailgen.Attachment{
					{Name: "f.xlsx", Data: mailgen.Content("ole", uint64(i), 6000)}}}.Bytes())
			}
			for b.Loop() {
				b.StopTimer()
				h := newMemServer(b)
				u, pw := h.NewUser(b)
				adm := benchAdmin(b, h.Addr(), u, pw)
				for _, m := range msgs {
					cmd := adm.Append("INBOX", int64(len(m)), nil)
					cmd.Write(m)
					cmd.Close()
					if _, err := cmd.Wait(); err != nil {
						b.Fatal(err)
					}
				}
				p, err := New(withState(Config{Addr: h.Addr(), TLS: TLSInsecure, User: u, Password: secretOf(pw)}, b.TempDir()), zerolog.Nop())
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				res, err := p.PollOnce(context.Background())
				b.StopTimer()
				if err != nil || res.Messages != n {
					b.Fatalf("%v %d", err, res.Messages)
				}
				p.Close()
				adm.Close()
				b.StartTimer()
			}
			b.ReportMetric(float64(n), "msgs/op")
		})
	}
}
