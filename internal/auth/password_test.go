package auth

import (
	"context"
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestHashFormatAndVerify(t *testing.T) {
	h, err := HashPassword("correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(h, "$")
	if len(parts) != 4 || parts[0] != "pbkdf2_sha256" || parts[1] != "600000" {
		t.Fatalf("hash %q not in pbkdf2_sha256$600000$salt$hash form", h)
	}
	ok, rehash, err := VerifyPasswordSecure("correct horse battery staple", h)
	if !ok || rehash || err != nil {
		t.Fatalf("verify = %v %v %v", ok, rehash, err)
	}
	ok, _, err = VerifyPasswordSecure("correct horse battery stapler", h)
	if ok || err != nil {
		t.Fatalf("wrong password verified: %v %v", ok, err)
	}
	h2, _ := HashPassword("correct horse battery staple")
	if h == h2 {
		t.Fatal("two hashes of one password are equal: salt is not random")
	}
}

// The hash unknown emails are checked against has a real hash's form and
// cost, a fresh salt and key each time, and matches no password: the
// empty one, the salt, or the text of its own parts.
func TestUnverifiableHashCostsWhatARealOneDoesAndMatchesNothing(t *testing.T) {
	h, err := unverifiableHash(PBKDF2Iterations)
	if err != nil {
		t.Fatal(err)
	}
	genuine, _ := HashPassword("x")
	ph, err := parseHash(h)
	if err != nil {
		t.Fatalf("parse %q: %v", h, err)
	}
	pr, _ := parseHash(genuine)
	if ph.iterations != pr.iterations || len(ph.key) != len(pr.key) || len(ph.salt) != len(pr.salt) {
		t.Fatalf("unverifiable hash %+v differs in cost or shape from a real one %+v", ph, pr)
	}
	parts := strings.Split(h, "$")
	for _, pw := range []string{"", "x", parts[2], parts[3], h} {
		if ok, _, err := VerifyPasswordSecure(pw, h); ok || err != nil {
			t.Fatalf("password %q verified against the unverifiable hash: %v %v", pw, ok, err)
		}
	}
	if h2, _ := unverifiableHash(PBKDF2Iterations); h2 == h || strings.Split(h2, "$")[2] == parts[2] {
		t.Fatal("two unverifiable hashes share a salt")
	}
}

// A hash made the way Django makes it (salt used as text) verifies, so users
// of the older system keep their passwords; at 100,000 iterations it asks for
// a rehash.
func TestLegacyDjangoHashVerifiesAndAsksForRehash(t *testing.T) {
	salt := "legacysalt123"
	key, _ := pbkdf2.Key(sha256.New, "hunter2hunter2", []byte(salt), PBKDF2LegacyIterations, 32)
	legacy := "pbkdf2_sha256$100000$" + salt + "$" + base64.StdEncoding.EncodeToString(key)
	ok, rehash, err := VerifyPasswordSecure("hunter2hunter2", legacy)
	if !ok || !rehash || err != nil {
		t.Fatalf("legacy verify = %v %v %v", ok, rehash, err)
	}
	ok, rehash, _ = VerifyPasswordSecure("wrong", legacy)
	if ok || rehash {
		t.Fatal("a wrong password must not ask for a rehash")
	}
}

func TestMalformedHashes(t *testing.T) {
	for _, h := range []string{
		"", "plain", "md5$1$salt$aGFzaA==", "pbkdf2_sha256$abc$salt$aGFzaA==",
		"pbkdf2_sha256$0$salt$aGFzaA==", "pbkdf2_sha256$999999999$salt$aGFzaA==",
		"pbkdf2_sha256$1000$salt$not base64!", "pbkdf2_sha256$1000$$aGFzaA==", "pbkdf2_sha256$1000$salt",
	} {
		if _, _, err := VerifyPasswordSecure("x", h); err == nil {
			t.Errorf("%q accepted", h)
		}
		if ValidateHash(h) == nil {
			t.Errorf("ValidateHash(%q) accepted", h)
		}
	}
}

func TestHasherBoundsConcurrency(t *testing.T) {
	h := NewHasher(1)
	h.maxWait = time.Hour // the context, not the timer, must end this wait
	h.slots <- struct{}{} // the only slot is taken
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, _, err := h.Verify(ctx, "x", "pbkdf2_sha256$1$s$aGFzaA=="); !errors.Is(err, ErrBusy) {
		t.Fatalf("Verify with no free slot = %v, want ErrBusy", err)
	}
	<-h.slots
	if ok, _, err := h.Verify(context.Background(), "x", "pbkdf2_sha256$1$s$aGFzaA=="); ok || err != nil {
		t.Fatalf("Verify = %v %v", ok, err)
	}
}

func TestPasswordPolicy(t *testing.T) {
	refused := map[string]string{
		"short1!":                      "12 characters",
		"alice.smith@EXAMPLE.com":      "email",
		"Alice.Smith@example.com":      "email",
		"alice.smith2026":              "email",
		"zzzzzzzzzzzzzzz":              "repeated",
		"Password1234":                 "common",
		"correct horse battery staple": "common",
		strings.Repeat("x", 300) + "y": "256 bytes",
	}
	for pw, want := range refused {
		err := CheckPasswordPolicy(pw, "alice.smith@example.com")
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want it to mention %q", pw, err, want)
		}
	}
	for _, pw := range []string{"tangerine-otter-basalt", "Gl4cier!Ridge#2026", "ŝtrange ünïcode pass"} {
		if err := CheckPasswordPolicy(pw, "alice.smith@example.com"); err != nil {
			t.Errorf("%q refused: %v", pw, err)
		}
	}
}
