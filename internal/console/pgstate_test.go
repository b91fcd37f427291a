package console

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/fhi/sysvak-import/internal/pgtest"
	"github.com/fhi/sysvak-import/internal/state"
	"github.com/fhi/sysvak-import/internal/state/pgstate"
)

var pg pgtest.Shared

func TestMain(m *testing.M) { os.Exit(pg.Run(m)) }

// TestTwoConsolesSharePostgres: two consoles (two processes in production) on one PostgreSQL
// state see the same operators, count failed logins together (the lockout holds across them),
// and write to one audit table.
func TestTwoConsolesSharePostgres(t *testing.T) {
	ctx := context.Background()
	dsn := pg.Database(t)
	open := func() *pgstate.Store {
		st, err := pgstate.Open(ctx, dsn, pgstate.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}
	a, b := open(), open()
	hash, err := HashPassword([]byte(opPassword), DefaultParams)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.AddOperator(ctx, state.Operator{Name: opName, Hash: hash, Created: time.Now()}); err != nil {
		t.Fatal(err)
	}
	clk := &clock{t: time.Now()}
	console := func(st *pgstate.Store) *client {
		srv, err := New(Config{Files: StateFiles{State: st}, Unlocker: noUnlock{}, Operators: st, Audit: st, Now: clk.Now})
		if err != nil {
			t.Fatal(err)
		}
		e := &env{srv: srv}
		return e.start(t)
	}
	ca, cb := console(a), console(b)
	for i := range 5 {
		c := ca
		if i%2 == 1 {
			c = cb
		}
		if r := c.login(opName, "feil passord nummer x"); r.code != 401 {
			t.Fatalf("failure %d: %d", i, r.code)
		}
	}
	if r := cb.login(opName, opPassword); r.code != 401 {
		t.Fatalf("the lockout from failures on both consoles does not hold: %d", r.code)
	}
	clk.Add(16 * time.Minute)
	if r := ca.login(opName, opPassword); r.code != 303 {
		t.Fatalf("after the lockout: %d", r.code)
	}
	if l := ca.get("/"); l.code != 200 || !strings.Contains(l.body, "Ingen filer ennå") {
		t.Fatalf("list over PostgreSQL: %d", l.code)
	}
	entries, err := b.ListAudit(ctx, state.AuditQuery{})
	if err != nil {
		t.Fatal(err)
	}
	var outcomes []string
	for _, e := range entries {
		outcomes = append(outcomes, e.Detail)
	}
	if got := strings.Join(outcomes, " "); got != "wrong_password wrong_password wrong_password wrong_password locked_now locked ok" {
		t.Fatalf("audit over PostgreSQL: %s", got)
	}
}
