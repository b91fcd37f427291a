package imaptest

import (
	"fmt"
	"testing"

	"github.com/emersion/go-imap/v2"
)

func testServer(t *testing.T, s Server) {
	u1, p1 := s.NewUser(t)
	u2, _ := s.NewUser(t)
	if u1 == u2 {
		t.Fatalf("NewUser handed out %s twice", u1)
	}
	if _, err := Dial(s.Addr(), u1, p1+"-wrong"); err == nil {
		t.Fatal("login with a wrong password succeeded")
	}
	c := Login(t, s.Addr(), u1, p1)
	if n, err := c.Count("INBOX"); err != nil || n != 0 {
		t.Fatalf("fresh INBOX: %d %v", n, err)
	}
	for i := 0; i < 3; i++ {
		raw := fmt.Sprintf("From: a@example.no\r\nSubject: %d\r\nMessage-ID: <%d@t>\r\n\r\nbody %d\r\n", i, i, i)
		if err := c.Append("INBOX", []byte(raw)); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := c.Count("INBOX"); err != nil || n != 3 {
		t.Fatalf("after 3 appends: %d %v", n, err)
	}
	// MOVE is there (the poller needs it).
	if err := c.Create("Processed", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Move(imap.SeqSetNum(1), "Processed").Wait(); err != nil {
		t.Fatal(err)
	}
	if n, _ := c.Count("Processed"); n != 1 {
		t.Fatalf("Processed has %d after MOVE", n)
	}
	// Through the drop proxy, then dropped.
	px := NewDropProxy(t, s.Addr())
	pc := Login(t, px.Addr(), u1, p1)
	if n, err := pc.Count("INBOX"); err != nil || n != 2 {
		t.Fatalf("via proxy: %d %v", n, err)
	}
	if px.DropAll() != 1 {
		t.Fatal("proxy did not have one connection")
	}
	if _, err := pc.Count("INBOX"); err == nil {
		t.Fatal("connection survived DropAll")
	}
}

func TestMem(t *testing.T) { testServer(t, NewMem(t)) }

func TestDovecot(t *testing.T) { testServer(t, NewDovecot(t)) }

func TestMemAddUser(t *testing.T) {
	m := NewMem(t)
	if err := m.AddUser("sysvak@fhi.example", "pw"); err != nil {
		t.Fatal(err)
	}
	c := Login(t, m.Addr(), "sysvak@fhi.example", "pw")
	if n, err := c.Count("INBOX"); err != nil || n != 0 {
		t.Fatalf("%d %v", n, err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := Dial(m.Addr(), "sysvak@fhi.example", "pw"); err == nil {
		t.Fatal("server still answers after Close")
	}
}
