package auth

import (
	_ "embed"
	"errors"
	"strings"
	"unicode/utf8"
)

// MinPasswordLength follows NIST SP 800-63B's advice for memorized secrets
// chosen by the user, raised to 12 as the platform guards audit evidence.
const MinPasswordLength = 12

// maxPasswordLength bounds the work PBKDF2 does per attempt.
const maxPasswordLength = 256

// commonPasswords are passwords of 12 or more characters seen again and
// again in breach corpora; they are refused whatever their length.
//
//go:embed common_passwords.txt
var commonPasswordsText string

var commonPasswords = func() map[string]bool {
	m := map[string]bool{}
	for _, line := range strings.Split(commonPasswordsText, "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			m[strings.ToLower(line)] = true
		}
	}
	return m
}()

// ErrWeakPassword is wrapped by every policy refusal.
var ErrWeakPassword = errors.New("password refused")

type policyError struct{ reason string }

func (e policyError) Error() string { return "password refused: " + e.reason }
func (e policyError) Unwrap() error { return ErrWeakPassword }

// CheckPasswordPolicy refuses passwords that are short, long beyond reason,
// the email (or its name part), one repeated character, or common.
func CheckPasswordPolicy(password, email string) error {
	n := utf8.RuneCountInString(password)
	switch {
	case n < MinPasswordLength:
		return policyError{"it must be at least 12 characters"}
	case len(password) > maxPasswordLength:
		return policyError{"it must be at most 256 bytes"}
	}
	lower := strings.ToLower(password)
	email = NormalizeEmail(email)
	local, _, _ := strings.Cut(email, "@")
	localRunes := utf8.RuneCountInString(local)
	if email != "" && (lower == email || (localRunes >= 4 && strings.Contains(lower, local) && n-localRunes < 6)) {
		return policyError{"it must not be the email address"}
	}
	// Counted in characters: "éééééééééééé" is one repeated character,
	// though each é is two bytes.
	if strings.Count(lower, string([]rune(lower)[0])) == utf8.RuneCountInString(lower) {
		return policyError{"it must not be one repeated character"}
	}
	if commonPasswords[lower] {
		return policyError{"it is on a list of commonly used passwords"}
	}
	return nil
}
