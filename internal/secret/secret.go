// Package secret holds passwords and passphrases so that they cannot reach a log line, an error
// message or a JSON document by accident: every printing path of Secret renders "[REDACTED]".
// The bytes are reachable only through Bytes, and Wipe overwrites them when they are done with.
package secret

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
)

const redacted = "[REDACTED]"

// Secret is a password or passphrase. The zero value is empty.
type Secret struct {
	b []byte
}

// New copies p into a new Secret. The caller should wipe its own copy.
func New(p []byte) Secret {
	return Secret{b: append([]byte(nil), p...)}
}

// Bytes returns the secret's bytes. Do not convert them to a string that might be logged.
func (s Secret) Bytes() []byte { return s.b }

// Empty reports whether the secret holds no bytes.
func (s Secret) Empty() bool { return len(s.b) == 0 }

// Equal reports whether two secrets hold the same bytes.
func (s Secret) Equal(o Secret) bool { return bytes.Equal(s.b, o.b) }

// Wipe overwrites the bytes with zeros. The Secret is empty afterwards.
func (s *Secret) Wipe() {
	for i := range s.b {
		s.b[i] = 0
	}
	s.b = nil
}

// String implements fmt.Stringer.
func (Secret) String() string { return redacted }

// GoString implements fmt.GoStringer (%#v).
func (Secret) GoString() string { return redacted }

// Format implements fmt.Formatter so that every verb (%s, %v, %q, %x ...) prints "[REDACTED]".
func (Secret) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, redacted) }

// MarshalJSON implements json.Marshaler.
func (Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }

// MarshalText implements encoding.TextMarshaler (used by TOML and others).
func (Secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }

// ErrEmpty is returned when a password source yields an empty password.
var ErrEmpty = errors.New("secret: the password is empty")

// maxLen bounds how much of a password file is read.
const maxLen = 4096

// Read takes the first line of r as a secret (SPEC 4: "first line is the password"), without the
// line ending. It reads at most 4 KiB.
func Read(r io.Reader) (Secret, error) {
	br := bufio.NewReaderSize(io.LimitReader(r, maxLen), 512)
	line, err := br.ReadSlice('\n')
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return Secret{}, fmt.Errorf("secret: read: %w", err)
	}
	line = bytes.TrimRight(line, "\r\n")
	if len(line) == 0 {
		return Secret{}, ErrEmpty
	}
	s := New(line)
	for i := range line {
		line[i] = 0
	}
	return s, nil
}

// ReadFile reads a secret from the first line of a file; "-" means standard input.
func ReadFile(_ context.Context, path string, stdin io.Reader) (Secret, error) {
	if path == "-" {
		return Read(stdin)
	}
	f, err := os.Open(path)
	if err != nil {
		return Secret{}, fmt.Errorf("secret: open password file: %w", err)
	}
	defer f.Close()
	return Read(f)
}
