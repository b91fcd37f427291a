package decrypt

import (
	"bytes"
	"context"
	"testing"

	"github.com/fhi/sysvak-import/fixtures/hostile"
	"github.com/fhi/sysvak-import/internal/secret"
	"github.com/fhi/sysvak-import/validate"
)

// The OLE directory check and the OpenPGP work budget against the hostile corpus
// (fixtures/hostile): each case ends with its code, and the real fixtures still pass.
func TestHostileContainers(t *testing.T) {
	for _, name := range []string{
		"ole-no-stream.xlsx", "ole-info-only.xlsx", "ole-dir-cycle.xlsx", "ole-dir-deep.xlsx", "ole-dir-huge.xlsx",
		"enc-spin-2147483647.xlsx", "enc-keybits-1048576.xlsx", "enc-salt-64kib.xlsx", "enc-standard-keybits.xlsx",
		"enc-package-declares-2^62.xlsx", "pgp-length-4gib.gpg", "pgp-argon2-2tib.gpg", "pgp-argon2-v6-2tib.gpg",
		"pgp-argon2-255-passes.gpg", "pgp-9-skesk.gpg", "pgp-100-markers.gpg", "pgp-literal-only.gpg",
	} {
		c, err := hostile.ByName(name)
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := c.Write(&buf); err != nil {
			t.Fatal(err)
		}
		var pws []secret.Secret
		for _, p := range c.Passwords {
			pws = append(pws, secret.New([]byte(p)))
		}
		b := buf.Bytes()
		p, err := Unwrap(context.Background(), bytes.NewReader(b), int64(len(b)), pws, DefaultLimits())
		if err == nil {
			p.Close()
		}
		if got := CodeOf(err); got != c.Want {
			t.Errorf("%s: %v (code %q), want %s", name, err, got, c.Want)
		}
	}
}

func TestCheckOLEDirectoryFixtures(t *testing.T) {
	for _, name := range []string{"legacy.xls", "excel_agile_sha512.xlsx", "excel_standard.xlsx", "octool_agile.xlsx", "excelize_standard.xlsx"} {
		b := readFixture(t, name)
		if err := checkOLEDirectory(bytes.NewReader(b), int64(len(b))); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	// Cut short or not an OLE file: nothing to say (mscfb reports it).
	b := readFixture(t, "excel_agile_sha512.xlsx")
	for _, n := range []int{0, 100, 511, 513, 2000} {
		if err := checkOLEDirectory(bytes.NewReader(b[:n]), int64(n)); err != nil {
			t.Errorf("truncated to %d: %v", n, err)
		}
	}
}

// Argon2 work adds up over the passphrase packets (one derivation at the limits in total).
func TestPreScanArgon2Budget(t *testing.T) {
	lim := DefaultLimits()
	skesk := func(t, p, m byte) []byte {
		body := append([]byte{4, 9, 4}, make([]byte, 16)...)
		body = append(body, t, p, m)
		return append([]byte{0xC3, byte(len(body))}, body...)
	}
	data := append([]byte{0xD2, 21, 1}, make([]byte, 20)...) // SEIPD v1
	tests := []struct {
		name  string
		pkts  [][]byte
		wantE validate.Code
	}{
		{"one at the limit", [][]byte{skesk(8, 4, 18)}, ""},
		{"two at gpg's default (64 MiB, 3 passes)", [][]byte{skesk(3, 4, 16), skesk(3, 4, 16)}, ""},
		{"two at the limit", [][]byte{skesk(8, 4, 18), skesk(8, 4, 18)}, validate.FileTooLarge},
		{"eight small ones", [][]byte{skesk(1, 1, 18), skesk(1, 1, 18), skesk(1, 1, 18), skesk(1, 1, 18), skesk(1, 1, 18), skesk(1, 1, 18), skesk(1, 1, 18), skesk(1, 1, 18)}, ""},
		{"over on the ninth pass", [][]byte{skesk(8, 1, 17), skesk(8, 1, 17), skesk(1, 1, 17)}, validate.FileTooLarge},
	}
	for _, tt := range tests {
		var msg []byte
		for _, p := range tt.pkts {
			msg = append(msg, p...)
		}
		msg = append(msg, data...)
		_, err := preScan(msg, lim)
		if got := CodeOf(err); got != tt.wantE {
			t.Errorf("%s: %v, want %q", tt.name, err, tt.wantE)
		}
	}
}
