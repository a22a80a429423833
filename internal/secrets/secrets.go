// Package secrets seals values that the platform must read back (TOTP
// secrets now; cloud credentials later) with AES-256-GCM under one key from
// CSPM_SECRET_KEY or a key file.
package secrets

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/offloadsecurity/cspm/internal/db"
)

// KeySize is the AES-256 key length in bytes.
const KeySize = 32

const sealedPrefix = "v1:"

// Box seals and opens values.
type Box struct{ aead cipher.AEAD }

// ErrOpen means a sealed value could not be opened: wrong key, or tampered.
var ErrOpen = errors.New("secrets: cannot open sealed value (wrong key or tampered data)")

// NewBox returns a Box for a 32-byte key.
func NewBox(key []byte) (*Box, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("secret key must be %d bytes, got %d", KeySize, len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Box{aead: aead}, nil
}

// Seal encrypts plaintext, binding it to context (for example "totp:<user id>")
// so that a sealed value copied to another row does not open there.
func (b *Box) Seal(plaintext, context string) string {
	nonce := make([]byte, b.aead.NonceSize())
	_, _ = rand.Read(nonce)
	ct := b.aead.Seal(nonce, nonce, []byte(plaintext), []byte(context))
	return sealedPrefix + base64.RawStdEncoding.EncodeToString(ct)
}

// Open decrypts a value made by Seal with the same context.
func (b *Box) Open(sealed, context string) (string, error) {
	raw, ok := strings.CutPrefix(sealed, sealedPrefix)
	if !ok {
		return "", ErrOpen
	}
	ct, err := base64.RawStdEncoding.DecodeString(raw)
	if err != nil || len(ct) < b.aead.NonceSize() {
		return "", ErrOpen
	}
	pt, err := b.aead.Open(nil, ct[:b.aead.NonceSize()], ct[b.aead.NonceSize():], []byte(context))
	if err != nil {
		return "", ErrOpen
	}
	return string(pt), nil
}

// LoadKey returns the key from encoded (base64 of 32 bytes) when set, or else
// from keyFile, creating the file with a fresh random key (mode 0600) when it
// does not exist. Every process of one install must use the same key.
func LoadKey(encoded, keyFile string) ([]byte, error) {
	if encoded != "" {
		key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(encoded))
		if err != nil || len(key) != KeySize {
			return nil, fmt.Errorf("CSPM_SECRET_KEY must be %d random bytes in base64 (openssl rand -base64 32)", KeySize)
		}
		return key, nil
	}
	b, err := os.ReadFile(keyFile)
	if err == nil {
		key, derr := base64.StdEncoding.DecodeString(strings.TrimSpace(string(b)))
		if derr != nil || len(key) != KeySize {
			return nil, fmt.Errorf("secret key file %s does not hold %d bytes in base64", keyFile, KeySize)
		}
		return key, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("secret key file: %w", err)
	}
	key := make([]byte, KeySize)
	_, _ = rand.Read(key)
	if err := os.MkdirAll(filepath.Dir(keyFile), 0o700); err != nil {
		return nil, fmt.Errorf("secret key file: %w", err)
	}
	// O_EXCL: if another process created it meanwhile, use theirs.
	f, err := os.OpenFile(keyFile, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if errors.Is(err, os.ErrExist) {
		return LoadKey("", keyFile)
	}
	if err != nil {
		return nil, fmt.Errorf("secret key file: %w", err)
	}
	defer f.Close()
	if _, err := f.WriteString(base64.StdEncoding.EncodeToString(key) + "\n"); err != nil {
		return nil, fmt.Errorf("secret key file: %w", err)
	}
	return key, nil
}

// Reseal opens every non-empty sealed value in table.column with from and
// seals it again with to, with q (one transaction, so a key rotation moves
// all values or none). bind names the context a row's value is bound to,
// from its idColumn. It returns how many values it resealed; one that does
// not open stops it.
func Reseal(ctx context.Context, q db.Querier, table, idColumn, column string, bind func(id string) string, from, to *Box) (int, error) {
	type row struct{ id, sealed string }
	var all []row
	if err := func() error {
		rows, err := q.QueryContext(ctx, fmt.Sprintf("SELECT %s, %s FROM %s WHERE %s IS NOT NULL AND %s <> ''", idColumn, column, table, column, column))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var r row
			if err := rows.Scan(&r.id, &r.sealed); err != nil {
				return err
			}
			all = append(all, r)
		}
		return rows.Err()
	}(); err != nil {
		return 0, err
	}
	for _, r := range all {
		plain, err := from.Open(r.sealed, bind(r.id))
		if err != nil {
			return 0, fmt.Errorf("%s %s: %w", table, r.id, err)
		}
		if _, err := q.ExecContext(ctx, fmt.Sprintf("UPDATE %s SET %s = $1 WHERE %s = $2", table, column, idColumn), to.Seal(plain, bind(r.id)), r.id); err != nil {
			return 0, err
		}
	}
	return len(all), nil
}
