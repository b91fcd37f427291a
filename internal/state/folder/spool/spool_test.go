package spool

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"testing"
	"time"
)

func tempFile(t *testing.T, s *Store, data []byte) Incoming {
	t.Helper()
	f, err := os.CreateTemp(s.TempDir(), "att-*")
	if err != nil {
		t.Fatal(err)
	}
	f.Write(data)
	f.Close()
	sum := sha256.Sum256(data)
	return Incoming{TempPath: f.Name(), SHA256: hex.EncodeToString(sum[:]), Size: int64(len(data)), FileName: "f.xlsx", Kind: "zip"}
}

func open(t *testing.T, dir string) *Store {
	t.Helper()
	s, err := Open(context.Background(), dir, Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestCommitNewResentAndSameDelivery(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	defer s.Close()
	ctx := context.Background()
	a1 := Arrival{Mailbox: "INBOX", UIDValidity: 7, UID: 1, MessageID: "m1@x", Sender: "a@b.example"}
	msg := &MessageRecord{Mailbox: "INBOX", UIDValidity: 7, UID: 1, MessageID: "m1@x", Folder: "Processed"}
	in := tempFile(t, s, []byte("PK\x03\x04one"))
	res, err := s.Commit(ctx, []Incoming{in, tempFile(t, s, []byte("PK\x03\x04one"))}, a1, msg) // same content twice in one message
	if err != nil {
		t.Fatal(err)
	}
	id := FileID(in.SHA256)
	if len(res.New) != 1 || res.New[0].FileID != id || len(msg.FileIDs) != 1 {
		t.Fatalf("commit: %+v %+v", res, msg)
	}
	p, _ := s.Path(id)
	if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("spool file: %v %v", fi, err)
	}
	// Same delivery seen again (e.g. after UIDVALIDITY changed): no arrival.
	a1b := a1
	a1b.UIDValidity, a1b.UID = 8, 5
	if _, err := s.Commit(ctx, []Incoming{tempFile(t, s, []byte("PK\x03\x04one"))}, a1b, nil); err != nil {
		t.Fatal(err)
	}
	// A real resend: new arrival.
	a2 := Arrival{Mailbox: "INBOX", UIDValidity: 7, UID: 2, MessageID: "m2@x"}
	r2, err := s.Commit(ctx, []Incoming{tempFile(t, s, []byte("PK\x03\x04one"))}, a2, nil)
	if err != nil || len(r2.Resent) != 1 {
		t.Fatal(err, r2)
	}
	e, ok, err := s.Get(id)
	if err != nil || !ok || len(e.Arrivals) != 1 || e.Arrivals[0].UID != 2 || e.Source.Sender != "a@b.example" {
		t.Fatalf("entry %+v", e)
	}
	if ents, _ := os.ReadDir(s.TempDir()); len(ents) != 0 {
		t.Fatalf("%d temp files left", len(ents))
	}
	// message ledger
	m, ok, _ := s.Message("INBOX", 7, 1)
	if !ok || m.Moved || m.Folder != "Processed" {
		t.Fatalf("ledger %+v", m)
	}
	pend, _ := s.PendingMoves("INBOX", 7)
	if len(pend) != 1 {
		t.Fatalf("pending %d", len(pend))
	}
	if err := s.MarkMoved("INBOX", 7, 1); err != nil {
		t.Fatal(err)
	}
	if pend, _ := s.PendingMoves("INBOX", 7); len(pend) != 0 {
		t.Fatal("still pending")
	}
	seen, _ := s.SeenMessageID("m1@x")
	if len(seen) != 1 || seen[0].UID != 1 {
		t.Fatalf("SeenMessageID %+v", seen)
	}
	st, _ := s.MailboxState("INBOX")
	if st.UIDValidity != 7 || st.LastUID != 1 {
		t.Fatalf("mailbox state %+v", st)
	}
}

func TestStatusAndClaim(t *testing.T) {
	s := open(t, t.TempDir())
	defer s.Close()
	in := tempFile(t, s, []byte("\xD0\xCF\x11\xE0x"))
	if _, err := s.Commit(context.Background(), []Incoming{in}, Arrival{Path: "/tmp/x"}, nil); err != nil {
		t.Fatal(err)
	}
	id := FileID(in.SHA256)
	if _, ok, _ := s.Claim(id); !ok {
		t.Fatal("claim new")
	}
	if _, ok, _ := s.Claim(id); ok {
		t.Fatal("claimed twice")
	}
	if err := s.SetStatus(id, StatusWaitingPassword, "file.password_needed"); err != nil {
		t.Fatal(err)
	}
	l, _ := s.List(StatusWaitingPassword)
	if len(l) != 1 || l[0].LastError != "file.password_needed" {
		t.Fatalf("list %+v", l)
	}
	if l, _ := s.List(StatusProcessed); len(l) != 0 {
		t.Fatal("filter")
	}
	if err := s.SetStatus("0123456789abcdef", StatusProcessed, ""); !errors.Is(err, ErrNotFound) {
		t.Fatal(err)
	}
	if _, err := s.Path("../../etc/passwd"); !errors.Is(err, ErrBadFileID) {
		t.Fatal(err)
	}
}

func TestLock(t *testing.T) {
	dir := t.TempDir()
	l1, err := Lock(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Lock(dir); !errors.Is(err, ErrLocked) {
		t.Fatalf("second lock: %v", err)
	}
	l1.Unlock()
	l2, err := Lock(dir)
	if err != nil {
		t.Fatal(err)
	}
	l2.Unlock()
}
