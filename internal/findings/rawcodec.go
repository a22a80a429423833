package findings

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/klauspost/compress/s2"
)

// The raw OCSF of each finding (4-8 KB of JSON) is stored compressed:
// written as text it was most of an import's bytes, written twice (WAL,
// then checkpoint on SQLite; TOAST and WAL on PostgreSQL, whose own lz4
// compression ran on the server's cores during the import). It is packed on
// the import's parse goroutine. S2, not zstd: it compresses less, but at a
// fraction of the CPU, and the parse goroutine is half of an import
// (measured, 100,000 findings on SQLite: zstd 11.6 s, S2 9.6-10.5 s; on
// PostgreSQL S2 took an import from 7.6 to 6.7 s). A packed value starts
// with a NUL, which no JSON text does, so rows stored as text read fine.
var rawMagic = []byte{0x00, 's', '2', 0x01}

// packRaw returns what is stored for raw (on either dialect).
func packRaw(raw json.RawMessage) json.RawMessage {
	if len(raw) == 0 {
		return raw
	}
	buf := make([]byte, len(rawMagic)+s2.MaxEncodedLen(len(raw)))
	copy(buf, rawMagic)
	enc := s2.Encode(buf[len(rawMagic):], raw)
	return buf[:len(rawMagic)+len(enc)]
}

// rawValue is the SQL argument for a packed raw value: bytes (a BLOB on
// SQLite, bytea on PostgreSQL).
func rawValue(packed json.RawMessage) any { return []byte(packed) }

// unpackRaw reads a stored raw value back as JSON.
func unpackRaw(stored []byte) (json.RawMessage, error) {
	body, ok := bytes.CutPrefix(stored, rawMagic)
	if !ok {
		return stored, nil
	}
	n, err := s2.DecodedLen(body)
	if err != nil {
		return nil, fmt.Errorf("stored OCSF: %w", err)
	}
	if n > 64<<20 {
		return nil, fmt.Errorf("stored OCSF: %d bytes unpacked, over 64 MiB", n)
	}
	out, err := s2.Decode(make([]byte, n), body)
	if err != nil {
		return nil, fmt.Errorf("stored OCSF: %w", err)
	}
	return out, nil
}
