package auth

import (
	"context"
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strconv"
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

// An import keeps only hashes worth keeping, and a strong count with a
// short key still asks for a rehash at the first sign-in.
func TestWeakHashesAreRefusedOrRehashed(t *testing.T) {
	mk := func(iterations, keyLen int, salt string) string {
		key, _ := pbkdf2.Key(sha256.New, "hunter2hunter2", []byte(salt), iterations, keyLen)
		return "pbkdf2_sha256$" + strconv.Itoa(iterations) + "$" + salt + "$" + base64.StdEncoding.EncodeToString(key)
	}
	for name, h := range map[string]string{
		"one iteration": mk(1, 32, "saltsaltsalt"),
		"9,999":         mk(9_999, 32, "saltsaltsalt"),
		"an 8-byte key": mk(600_000, 8, "saltsaltsalt"),
	} {
		if err := ValidateHash(h); !errors.Is(err, ErrWeakHash) {
			t.Errorf("%s: ValidateHash = %v, want ErrWeakHash", name, err)
		}
	}
	if err := ValidateHash(mk(10_000, 32, "saltsaltsalt")); err != nil {
		t.Errorf("Django 1.4's count refused: %v", err)
	}
	short := mk(600_000, 16, "saltsaltsalt")
	if err := ValidateHash(short); err != nil {
		t.Fatal(err)
	}
	if ok, rehash, err := VerifyPasswordSecure("hunter2hunter2", short); !ok || !rehash || err != nil {
		t.Fatalf("600,000 iterations with a 16-byte key: ok %v, rehash %v, %v; want a rehash", ok, rehash, err)
	}
	full := mk(600_000, 32, "saltsaltsalt")
	if ok, rehash, _ := VerifyPasswordSecure("hunter2hunter2", full); !ok || rehash {
		t.Fatalf("a hash as strong as ours: ok %v, rehash %v", ok, rehash)
	}
}

func TestRepeatedMultibyteCharacterIsRefused(t *testing.T) {
	for _, pw := range []string{strings.Repeat("é", 12), strings.Repeat("密", 13), strings.Repeat("🔒", 12), strings.Repeat("A", 12)} {
		if err := CheckPasswordPolicy(pw, "user@example.com"); !errors.Is(err, ErrWeakPassword) || !strings.Contains(err.Error(), "repeated") {
			t.Errorf("%q: %v, want refused as one repeated character", pw, err)
		}
	}
	if err := CheckPasswordPolicy("ééééééééééée", "user@example.com"); err != nil {
		t.Errorf("two distinct characters refused: %v", err)
	}
}
