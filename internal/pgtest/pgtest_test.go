package pgtest

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

var shared Shared

func TestMain(m *testing.M) { os.Exit(shared.Run(m)) }

func queryOne(t *testing.T, dsn, q string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var s string
	if err := conn.QueryRow(ctx, q).Scan(&s); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSharedDatabasesAreSeparate(t *testing.T) {
	a := shared.Database(t)
	b := shared.Database(t)
	if a == b {
		t.Fatalf("two databases with one DSN %q", a)
	}
	if got := queryOne(t, a, "SELECT current_database()"); !strings.HasPrefix(got, "testshareddatabasesareseparate_") {
		t.Fatalf("database name %q", got)
	}
	v := queryOne(t, a, "SHOW server_version_num")
	if v < "150000" {
		t.Fatalf("server version %s, want 15+", v)
	}
	if got := queryOne(t, a, "SELECT current_setting('listen_addresses')"); got != "127.0.0.1" {
		t.Fatalf("listen_addresses %q", got)
	}
}

// The superuser's password is required over TCP, and the libpq environment carries it.
func TestPasswordRequiredAndEnvWorks(t *testing.T) {
	c := shared.Cluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if conn, err := pgx.Connect(ctx, c.URL("postgres")+"&password=wrong"); err == nil {
		conn.Close(ctx)
		t.Fatal("a wrong password was accepted")
	}
	for _, kv := range c.Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	conn, err := pgx.Connect(ctx, c.URL("postgres"))
	if err != nil {
		t.Fatalf("connect with PGPASSWORD: %v", err)
	}
	conn.Close(ctx)
}

// A private cluster stops, starts and restarts on the same port, runs as a non-root user, and is
// removed by Close.
func TestPrivateClusterLifecycle(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c := New(t, Options{})
	dsn := c.DSN("postgres")
	if u := queryOne(t, dsn, "SELECT current_user"); u != Superuser {
		t.Fatalf("user %q", u)
	}
	if err := c.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if conn, err := pgx.Connect(ctx, dsn); err == nil {
		conn.Close(ctx)
		t.Fatal("connected to a stopped cluster")
	}
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	queryOne(t, dsn, "SELECT 1::text")
	out, err := exec.Command("ps", "-o", "user=", "-C", "postgres").Output()
	if err == nil && strings.Contains(string(out), "root") {
		t.Fatalf("postgres runs as root: %s", out)
	}
	dir := c.dir
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("cluster folder %s still there: %v", dir, err)
	}
}
