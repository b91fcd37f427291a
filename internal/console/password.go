package console

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Params are Argon2id parameters. DefaultParams are OWASP's recommendation (Password Storage
// Cheat Sheet: m=19 MiB, t=2, p=1), with a 16-byte salt and a 32-byte key.
type Params struct {
	Memory  uint32 // KiB
	Time    uint32
	Threads uint8
	SaltLen int
	KeyLen  uint32
}

// DefaultParams is what HashPassword uses for new accounts.
var DefaultParams = Params{Memory: 19456, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}

// MinPasswordLen is the shortest operator password accepted (SPEC 9).
const MinPasswordLen = 12

// maxParams bound what VerifyPassword accepts from a stored hash, so that a tampered state cannot
// make a login allocate gigabytes.
const (
	maxMemory  = 1 << 20 // 1 GiB in KiB
	maxTime    = 16
	maxKeyLen  = 128
	maxSaltLen = 64
)

// ErrPasswordTooShort is returned for an operator password of fewer than MinPasswordLen characters.
var ErrPasswordTooShort = fmt.Errorf("console: an operator password has at least %d characters", MinPasswordLen)

// ErrBadHash is returned for a stored hash that is not an Argon2id PHC string this package accepts.
var ErrBadHash = errors.New("console: not an argon2id password hash")

// CheckPasswordPolicy reports whether pw may be an operator password.
func CheckPasswordPolicy(pw []byte) error {
	if len([]rune(string(pw))) < MinPasswordLen {
		return ErrPasswordTooShort
	}
	return nil
}

// HashPassword returns the Argon2id hash of pw in PHC string format:
// $argon2id$v=19$m=19456,t=2,p=1$<salt>$<key> (unpadded standard base64).
func HashPassword(pw []byte, p Params) (string, error) {
	salt := make([]byte, p.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("console: salt: %w", err)
	}
	key := argon2.IDKey(pw, salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.Memory, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// VerifyPassword reports whether pw matches the PHC hash, in constant time for a given hash.
func VerifyPassword(pw []byte, hash string) (bool, error) {
	p, salt, key, err := parseHash(hash)
	if err != nil {
		return false, err
	}
	got := argon2.IDKey(pw, salt, p.Time, p.Memory, p.Threads, uint32(len(key)))
	return subtle.ConstantTimeCompare(got, key) == 1, nil
}

func parseHash(hash string) (Params, []byte, []byte, error) {
	var p Params
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return p, nil, nil, ErrBadHash
	}
	var v int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return p, nil, nil, ErrBadHash
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &p.Threads); err != nil {
		return p, nil, nil, ErrBadHash
	}
	b64 := base64.RawStdEncoding
	salt, err1 := b64.DecodeString(parts[4])
	key, err2 := b64.DecodeString(parts[5])
	switch {
	case err1 != nil || err2 != nil,
		p.Memory < 8*uint32(p.Threads) || p.Memory > maxMemory,
		p.Time < 1 || p.Time > maxTime || p.Threads < 1,
		len(salt) < 8 || len(salt) > maxSaltLen, len(key) < 16 || len(key) > maxKeyLen:
		return p, nil, nil, ErrBadHash
	}
	p.SaltLen, p.KeyLen = len(salt), uint32(len(key))
	return p, salt, key, nil
}
