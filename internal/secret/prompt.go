package secret

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/term"
)

// ErrNotTerminal is returned by Prompt when its input is not a terminal: the caller should ask
// for --password-file instead (a password is never read from a pipe without being told to).
var ErrNotTerminal = errors.New("secret: standard input is not a terminal; use --password-file")

// Terminal is what Prompt reads from: os.Stdin in the CLI.
type Terminal interface {
	io.Reader
	Fd() uintptr
}

// Prompt writes label to out (normally os.Stderr) and reads one line from the terminal tty
// without echo (golang.org/x/term). It returns ErrNotTerminal when tty is not a terminal and
// ErrEmpty for an empty line. If ctx ends first, Prompt returns ctx.Err(); the terminal read
// itself cannot be interrupted and ends with the next line typed.
func Prompt(ctx context.Context, tty Terminal, out io.Writer, label string) (Secret, error) {
	fd := int(tty.Fd())
	if !term.IsTerminal(fd) {
		return Secret{}, ErrNotTerminal
	}
	if _, err := io.WriteString(out, label); err != nil {
		return Secret{}, fmt.Errorf("secret: prompt: %w", err)
	}
	type result struct {
		b   []byte
		err error
	}
	ch := make(chan result, 1)
	go func() {
		b, err := term.ReadPassword(fd)
		ch <- result{b, err}
	}()
	select {
	case <-ctx.Done():
		_, _ = io.WriteString(out, "\n")
		return Secret{}, ctx.Err()
	case r := <-ch:
		_, _ = io.WriteString(out, "\n")
		if r.err != nil {
			return Secret{}, fmt.Errorf("secret: read password: %w", r.err)
		}
		defer wipeBytes(r.b)
		if len(r.b) == 0 {
			return Secret{}, ErrEmpty
		}
		if len(r.b) > maxLen {
			return Secret{}, fmt.Errorf("secret: password longer than %d bytes", maxLen)
		}
		return New(r.b), nil
	}
}

func wipeBytes(b []byte) {
	for i := range b {
		b[i] = 0
	}
}

var _ Terminal = (*os.File)(nil)
