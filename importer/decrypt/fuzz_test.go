package decrypt

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/fhi/sysvak-import/internal/secret"
)

// FuzzUnwrap: no input panics, and every failure is a *decrypt.Error with a code. The seeds are
// small fixtures (the Argon2 ones are left out: the fuzzer would spend its time in Argon2).
func FuzzUnwrap(f *testing.F) {
	for _, name := range []string{"source.xlsx", "excelize_standard.xlsx", "octool_agile.xlsx", "gpg_nocomp.gpg", "gpg_armor.asc", "gpg_rfc2440_nomdc.gpg", "legacy.xls", "sample.ods", "bomb_argon2_v6.gpg"} {
		f.Add(readFixture(f, name))
	}
	pw := []secret.Secret{secret.New([]byte(pwMain))}
	f.Fuzz(func(t *testing.T, b []byte) {
		lim := Limits{MaxArgon2MemoryKiB: 1 << 10, MaxSpinCount: 1000, MaxPlainSize: 1 << 20}
		p, err := Unwrap(context.Background(), bytes.NewReader(b), int64(len(b)), pw, lim)
		if err != nil {
			var de *Error
			if !errors.As(err, &de) || de.Code == "" {
				t.Fatalf("error is not a coded *decrypt.Error: %v", err)
			}
			return
		}
		if p.Size < 0 {
			t.Fatal("negative size")
		}
		p.Close()
	})
}
