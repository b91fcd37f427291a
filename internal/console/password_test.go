package console

import (
	"strings"
	"testing"
)

func TestHashPasswordPHC(t *testing.T) {
	h, err := HashPassword([]byte("korrekt hest batteri stift"), DefaultParams)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") || strings.Count(h, "$") != 5 {
		t.Fatalf("not a PHC argon2id string with OWASP parameters: %s", h)
	}
	h2, _ := HashPassword([]byte("korrekt hest batteri stift"), DefaultParams)
	if h == h2 {
		t.Fatal("two hashes of one password are equal: no salt")
	}
	for _, c := range []struct {
		pw   string
		want bool
	}{{"korrekt hest batteri stift", true}, {"korrekt hest batteri stifT", false}, {"", false}} {
		ok, err := VerifyPassword([]byte(c.pw), h)
		if err != nil || ok != c.want {
			t.Errorf("verify %q: %v %v", c.pw, ok, err)
		}
	}
}

func TestVerifyKnownVector(t *testing.T) {
	// Made with the reference argon2 CLI: echo -n password | argon2 somesalt -id -t 2 -m 16 -p 1 -l 32 -e
	const h = "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc"
	ok, err := VerifyPassword([]byte("password"), h)
	if err != nil || !ok {
		t.Fatalf("reference vector: %v %v", ok, err)
	}
}

func TestVerifyRejectsBadHashes(t *testing.T) {
	for _, h := range []string{
		"", "plain", "$argon2i$v=19$m=19456,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
		"$argon2id$v=16$m=19456,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
		"$argon2id$v=19$m=99999999,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
		"$argon2id$v=19$m=19456,t=0,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
		"$argon2id$v=19$m=19456,t=2,p=1$!!$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
		"$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHQ$c2hvcnQ",
	} {
		if ok, err := VerifyPassword([]byte("password"), h); ok || err == nil {
			t.Errorf("accepted %q", h)
		}
	}
}

func TestPasswordPolicy(t *testing.T) {
	if err := CheckPasswordPolicy([]byte("elleve-tegn")); err == nil {
		t.Error("11 characters accepted")
	}
	if err := CheckPasswordPolicy([]byte("ææææææææææææ")); err != nil {
		t.Errorf("12 characters (24 bytes) refused: %v", err)
	}
}
