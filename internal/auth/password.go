// Package auth is the seed's auth_service: password hashing and verification
// (verify_password_secure), login with lockout (authenticate_user,
// MAX_FAILED_LOGIN_ATTEMPTS), sessions (SessionStorage), API tokens, TOTP
// multi-factor authentication, and the HTTP middleware that turns a cookie or
// bearer token into a Principal and enforces each route's permission.
package auth

import (
	"context"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The seed's PBKDF2_ITERATIONS. New hashes use PBKDF2Iterations (OWASP's
// 2023 figure for PBKDF2-HMAC-SHA256); hashes made with the legacy count
// still verify and are rewritten at the hardened count on the next login.
const (
	PBKDF2Iterations       = 600_000
	PBKDF2LegacyIterations = 100_000
)

const (
	hashAlgorithm = "pbkdf2_sha256"
	saltBytes     = 16
	keyBytes      = 32
	// maxIterations refuses hashes that would pin a CPU for minutes: an
	// imported or tampered hash must not be a denial of service.
	maxIterations = 10_000_000
)

// ErrMalformedHash means a stored hash is not in the pbkdf2_sha256$… form.
var ErrMalformedHash = errors.New("malformed password hash")

// HashPassword returns password hashed at PBKDF2Iterations in the
// self-describing form pbkdf2_sha256$<iterations>$<salt>$<base64 hash>, the
// form Django uses, so hashes move between the systems unchanged.
func HashPassword(password string) (string, error) {
	return hashWithIterations(password, PBKDF2Iterations)
}

func hashWithIterations(password string, iterations int) (string, error) {
	salt := make([]byte, saltBytes)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	// A URL-safe base64 salt without padding avoids '$', the separator.
	saltText := base64.RawURLEncoding.EncodeToString(salt)
	key, err := pbkdf2.Key(sha256.New, password, []byte(saltText), iterations, keyBytes)
	if err != nil {
		return "", err
	}
	return encodeHash(iterations, saltText, key), nil
}

// encodeHash is the stored form of a hash.
func encodeHash(iterations int, saltText string, key []byte) string {
	return fmt.Sprintf("%s$%d$%s$%s", hashAlgorithm, iterations, saltText, base64.StdEncoding.EncodeToString(key))
}

// unverifiableHash returns a hash in HashPassword's form, at the given
// iteration count, that no password matches: its key is random rather than
// derived. Verifying a password against it costs exactly what verifying
// against a real hash of that count costs, and making it costs nothing, where
// hashing a random password took 0.1 s of a core at every start of the
// server and of every CLI command.
func unverifiableHash(iterations int) (string, error) {
	salt := make([]byte, saltBytes)
	key := make([]byte, keyBytes)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	if _, err := rand.Read(key); err != nil {
		return "", err
	}
	return encodeHash(iterations, base64.RawURLEncoding.EncodeToString(salt), key), nil
}

type parsedHash struct {
	iterations int
	salt       string
	key        []byte
}

func parseHash(encoded string) (parsedHash, error) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 4 || parts[0] != hashAlgorithm {
		return parsedHash{}, ErrMalformedHash
	}
	it, err := strconv.Atoi(parts[1])
	if err != nil || it < 1 || it > maxIterations {
		return parsedHash{}, ErrMalformedHash
	}
	key, err := base64.StdEncoding.DecodeString(parts[3])
	if err != nil || len(key) == 0 || parts[2] == "" {
		return parsedHash{}, ErrMalformedHash
	}
	return parsedHash{iterations: it, salt: parts[2], key: key}, nil
}

// The weakest hash an import accepts: Django 1.4's 10,000 iterations and a
// 16-byte key. Below that a stolen hash is nearly the password itself; such
// users need a reset, not an import. (The salt only has to differ between
// users, which its length does not tell.)
const (
	MinImportIterations = 10_000
	minImportKeyBytes   = 16
)

// ValidateHash checks that encoded is a hash this package can verify, and
// strong enough to keep, for imports from other systems.
func ValidateHash(encoded string) error {
	h, err := parseHash(encoded)
	if err != nil {
		return err
	}
	switch {
	case h.iterations < MinImportIterations:
		return fmt.Errorf("%w: %d iterations, fewer than %d; reset this user's password instead", ErrWeakHash, h.iterations, MinImportIterations)
	case len(h.key) < minImportKeyBytes:
		return fmt.Errorf("%w: a %d-byte key, shorter than %d", ErrWeakHash, len(h.key), minImportKeyBytes)
	}
	return nil
}

// ErrWeakHash means an imported hash is too weak to keep.
var ErrWeakHash = errors.New("password hash too weak to import")

// VerifyPasswordSecure is the seed's verify_password_secure: it reports
// whether password matches encoded, in constant time, and whether the hash
// should be rewritten because it is weaker than HashPassword's: fewer than
// PBKDF2Iterations, or a key shorter than 32 bytes (an imported hash may
// have 600,000 iterations and a short key).
func VerifyPasswordSecure(password, encoded string) (ok, needsRehash bool, err error) {
	h, err := parseHash(encoded)
	if err != nil {
		return false, false, err
	}
	key, err := pbkdf2.Key(sha256.New, password, []byte(h.salt), h.iterations, len(h.key))
	if err != nil {
		return false, false, err
	}
	ok = subtle.ConstantTimeCompare(key, h.key) == 1
	return ok, ok && (h.iterations < PBKDF2Iterations || len(h.key) < keyBytes), nil
}

// Hasher runs PBKDF2 in a bounded pool. A hash costs about 0.1 s of one
// core; without a bound, a flood of logins would take every core and starve
// the rest of the API. Callers wait for a slot, or give up when their
// context ends.
type Hasher struct {
	slots   chan struct{} // nil means unbounded
	maxWait time.Duration
}

// maxHashWait bounds how long a request queues for a hashing slot before it
// is told the server is busy (503 with Retry-After), so that a flood turns
// into fast refusals rather than a growing queue of open connections.
const maxHashWait = 10 * time.Second

// NewHasher returns a pool running at most concurrency hashes at once; 0 means unbounded.
func NewHasher(concurrency int) *Hasher {
	if concurrency <= 0 {
		return &Hasher{}
	}
	return &Hasher{slots: make(chan struct{}, concurrency), maxWait: maxHashWait}
}

// ErrBusy means no hashing slot came free before the caller's context ended.
var ErrBusy = errors.New("password hashing is saturated; try again")

func (h *Hasher) acquire(ctx context.Context) error {
	if h.slots == nil {
		return nil
	}
	timer := time.NewTimer(h.maxWait)
	defer timer.Stop()
	select {
	case h.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ErrBusy
	case <-timer.C:
		return ErrBusy
	}
}

func (h *Hasher) release() {
	if h.slots != nil {
		<-h.slots
	}
}

// Hash hashes a new password in the pool.
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	defer h.release()
	return HashPassword(password)
}

// Verify verifies a password in the pool.
func (h *Hasher) Verify(ctx context.Context, password, encoded string) (ok, needsRehash bool, err error) {
	if err := h.acquire(ctx); err != nil {
		return false, false, err
	}
	defer h.release()
	return VerifyPasswordSecure(password, encoded)
}
