package secrets

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSealOpen(t *testing.T) {
	key := bytes.Repeat([]byte{7}, KeySize)
	b, err := NewBox(key)
	if err != nil {
		t.Fatal(err)
	}
	s := b.Seal("JBSWY3DPEHPK3PXP", "totp:u1")
	if strings.Contains(s, "JBSWY3DP") {
		t.Fatal("sealed value contains the plaintext")
	}
	if got, err := b.Open(s, "totp:u1"); err != nil || got != "JBSWY3DPEHPK3PXP" {
		t.Fatalf("Open = %q %v", got, err)
	}
	if _, err := b.Open(s, "totp:u2"); !errors.Is(err, ErrOpen) {
		t.Fatal("a value opened under another context")
	}
	other, _ := NewBox(bytes.Repeat([]byte{8}, KeySize))
	if _, err := other.Open(s, "totp:u1"); !errors.Is(err, ErrOpen) {
		t.Fatal("a value opened under another key")
	}
	if _, err := b.Open(s[:len(s)-2], "totp:u1"); !errors.Is(err, ErrOpen) {
		t.Fatal("a truncated value opened")
	}
	if _, err := NewBox([]byte("short")); err == nil {
		t.Fatal("short key accepted")
	}
}

func TestLoadKeyCreatesOnceOwnerOnly(t *testing.T) {
	file := filepath.Join(t.TempDir(), "sub", "secret.key")
	k1, err := LoadKey("", file)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(file)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v %v", st.Mode(), err)
	}
	k2, err := LoadKey("", file)
	if err != nil || !bytes.Equal(k1, k2) {
		t.Fatal("second load returned another key")
	}
	if _, err := LoadKey("bm90IDMyIGJ5dGVz", file); err == nil {
		t.Fatal("a short CSPM_SECRET_KEY was accepted")
	}
	if err := os.WriteFile(file, []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadKey("", file); err == nil {
		t.Fatal("a corrupt key file was accepted")
	}
}
