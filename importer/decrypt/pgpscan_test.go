package decrypt

import (
	"testing"

	"github.com/fhi/sysvak-import/validate"
)

func TestPreScan(t *testing.T) {
	lim := DefaultLimits()
	argonV4 := readFixture(t, "gocrypto_argon2_v4.gpg")
	// m=18 (256 MiB) is at the default limit; m=19 is above it. Offset 23: header(2) + ver,
	// cipher, S2K type, salt[16], t, p -> m (RFC 9580 §3.7.1.4).
	withM := func(m byte) []byte {
		b := append([]byte(nil), argonV4...)
		b[23] = m
		return b
	}
	nocomp := readFixture(t, "gpg_nocomp.gpg")
	tests := []struct {
		name string
		b    []byte
		code validate.Code
	}{
		{"gpg default", readFixture(t, "gpg_default.gpg"), ""},
		{"gpg compressed (partial lengths)", readFixture(t, "gpg_compressed.gpg"), ""},
		{"aead v6", readFixture(t, "gocrypto_aead_argon2.gpg"), ""},
		{"argon2 64 MiB", argonV4, ""},
		{"argon2 256 MiB", withM(18), ""},
		{"argon2 512 MiB", withM(19), validate.FileTooLarge},
		{"argon2 2 TiB v4", readFixture(t, "bomb_argon2_v4.gpg"), validate.FileTooLarge},
		{"argon2 2 TiB v6", readFixture(t, "bomb_argon2_v6.gpg"), validate.FileTooLarge},
		{"argon2 exponent 32", withM(32), validate.FileCorrupt},
		{"no MDC", readFixture(t, "gpg_rfc2440_nomdc.gpg"), validate.FileIntegrity},
		{"truncated by one", nocomp[:len(nocomp)-1], validate.FileCorrupt},
		{"truncated in header", nocomp[:16], validate.FileCorrupt},
		{"only the SKESK", nocomp[:15], validate.FileCorrupt},
		{"trailing garbage", append(append([]byte(nil), nocomp...), 0x00), validate.FileCorrupt},
		{"literal only", []byte{0xcb, 0x06, 'b', 0, 0, 0, 0, 0}, validate.FileUnsupportedFormat},
		{"pkesk only", []byte{0xc1, 0x02, 0x03, 0x00, 0xd2, 0x02, 0x01, 0x00}, validate.FileUnsupportedFormat},
		{"empty", nil, validate.FileCorrupt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := preScan(tt.b, lim)
			if tt.code == "" {
				if err != nil {
					t.Fatalf("preScan: %v", err)
				}
				return
			}
			assertCode(t, err, tt.code)
		})
	}
}

func TestPreScanManySKESK(t *testing.T) {
	b := readFixture(t, "gpg_nocomp.gpg")
	skesk := b[:15]
	var many []byte
	for i := 0; i <= maxSKESK; i++ {
		many = append(many, skesk...)
	}
	many = append(many, b[15:]...)
	_, err := preScan(many, DefaultLimits())
	assertCode(t, err, validate.FileTooLarge)
}

func FuzzPreScan(f *testing.F) {
	for _, name := range []string{"gpg_default.gpg", "gpg_compressed.gpg", "gocrypto_aead_argon2.gpg", "gocrypto_argon2_v4.gpg", "bomb_argon2_v6.gpg", "gpg_rfc2440_nomdc.gpg"} {
		f.Add(readFixture(f, name))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		lim := DefaultLimits()
		s, err := preScan(b, lim)
		if err != nil {
			if CodeOf(err) == "" {
				t.Fatalf("not a *decrypt.Error: %v", err)
			}
			return
		}
		// Whatever passes the pre-scan has only S2K parameters within the limits, and at most
		// one derivation's worth of Argon2 work in total.
		var work uint64
		for _, p := range s.skesk {
			cost, err := checkSKESK(p.body(b, -1), lim)
			if err != nil {
				t.Fatalf("accepted a packet the check refuses: %v", err)
			}
			work += cost
		}
		if work > uint64(lim.MaxArgon2MemoryKiB)*uint64(lim.MaxArgon2Passes) {
			t.Fatalf("accepted %d KiB×passes of Argon2 work", work)
		}
		if !s.complete || s.data.end > len(b) {
			t.Fatal("accepted an incomplete message")
		}
	})
}
