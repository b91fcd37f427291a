package secret

import (
	"bytes"
	"context"
	"errors"
	"os"
	"testing"
)

// A pipe is not a terminal: Prompt must refuse rather than read a password that echoes.
func TestPromptRefusesNonTerminal(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	if _, err := w.WriteString("secret-from-pipe\n"); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	s, err := Prompt(context.Background(), r, &out, "Passord: ")
	if !errors.Is(err, ErrNotTerminal) {
		t.Fatalf("err = %v, want ErrNotTerminal", err)
	}
	if !s.Empty() || out.Len() != 0 {
		t.Fatalf("read %d bytes / printed %q from a non-terminal", len(s.Bytes()), out.String())
	}
}

func TestReadFileStdinAndFile(t *testing.T) {
	dir := t.TempDir()
	p := dir + "/pw"
	if err := os.WriteFile(p, []byte("fra-fil\nignored\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := ReadFile(context.Background(), p, nil)
	if err != nil || string(s.Bytes()) != "fra-fil" {
		t.Fatalf("ReadFile = %q, %v", s.Bytes(), err)
	}
	s, err = ReadFile(context.Background(), "-", bytes.NewBufferString("fra-stdin\n"))
	if err != nil || string(s.Bytes()) != "fra-stdin" {
		t.Fatalf("ReadFile(-) = %q, %v", s.Bytes(), err)
	}
	if _, err := ReadFile(context.Background(), dir+"/missing", nil); err == nil {
		t.Fatal("missing file accepted")
	}
}
