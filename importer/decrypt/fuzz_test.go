package decrypt

import (
	"bytes"
	"context"
	"crypto"
	"errors"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	"github.com/ProtonMail/go-crypto/openpgp/s2k"

	"github.com/fhi/sysvak-import/internal/secret"
)

// cheapPGP encrypts plain with a low S2K count so that the fuzzer is not stuck in key
// derivation (gpg's fixtures use the maximum count, ~0.2 s per attempt).
func cheapPGP(t testing.TB, plain []byte, aead, armored bool) []byte {
	var buf bytes.Buffer
	var w = any(&buf).(interface{ Write([]byte) (int, error) })
	var aw interface {
		Write([]byte) (int, error)
		Close() error
	}
	if armored {
		var err error
		if aw, err = armor.Encode(&buf, "PGP MESSAGE", nil); err != nil {
			t.Fatal(err)
		}
		w = aw
	}
	cfg := &packet.Config{S2KConfig: &s2k.Config{S2KMode: s2k.IteratedSaltedS2K, Hash: crypto.SHA256, S2KCount: 1024}}
	if aead {
		cfg.AEADConfig = &packet.AEADConfig{DefaultMode: packet.AEADModeGCM}
	}
	pt, err := openpgp.SymmetricallyEncrypt(w, []byte(pwMain), &openpgp.FileHints{IsBinary: true}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	pt.Write(plain)
	pt.Close()
	if aw != nil {
		aw.Close()
	}
	return buf.Bytes()
}

// FuzzUnwrap: no input panics, and every failure is a *decrypt.Error with a code.
func FuzzUnwrap(f *testing.F) {
	for _, name := range []string{"source.xlsx", "excelize_standard.xlsx", "legacy.xls", "sample.ods", "bomb_argon2_v6.gpg", "gpg_rfc2440_nomdc.gpg"} {
		f.Add(readFixture(f, name))
	}
	src := readFixture(f, "source.xlsx")
	f.Add(cheapPGP(f, src, false, false))
	f.Add(cheapPGP(f, src, true, false))
	f.Add(cheapPGP(f, src, false, true))
	pw := []secret.Secret{secret.New([]byte(pwMain))}
	f.Fuzz(func(t *testing.T, b []byte) {
		lim := Limits{MaxArgon2MemoryKiB: 1 << 10, MaxSpinCount: 1000, MaxPlainSize: 1 << 20}
		if expensiveS2K(b, lim) {
			return // a mutated iteration count: up to 0.2 s per input, and nothing new to find
		}
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

// expensiveS2K reports whether a binary OpenPGP message has a passphrase packet with an
// iterated S2K count above 2^16 (the format allows 65 million; the limits do not cap it because
// gpg uses such counts). The fuzzer skips those inputs to stay at thousands of inputs a second.
func expensiveS2K(b []byte, lim Limits) bool {
	if !looksLikePGPBinary(b) {
		if bin, err := dearmor(b); err == nil {
			b = bin
		}
	}
	s, err := preScan(b, lim)
	if err != nil {
		return false
	}
	for _, p := range s.skesk {
		body := p.body(b, -1)
		i := 2 // version 4: version, cipher
		switch {
		case len(body) > 0 && body[0] == 5:
			i = 3
		case len(body) > 0 && body[0] == 6:
			i = 5
		}
		// S2K type 3: type, hash, salt[8], count
		if i+11 < len(body) && body[i] == 3 {
			c := int(body[i+10])
			if (16+c&15)<<((c>>4)+6) > 1<<16 {
				return true
			}
		}
	}
	return false
}
