package findings

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/klauspost/compress/s2"

	"github.com/offloadsecurity/cspm/internal/db"
)

// On SQLite the raw OCSF of each finding (4-8 KB of JSON) is stored
// compressed: written as text it was most of an import's bytes, written
// twice (WAL, then checkpoint). PostgreSQL compresses it itself (lz4 TOAST),
// so there it stays JSON text. S2, not zstd: it compresses less, but at a
// fraction of the CPU, and the parse goroutine that packs it is half of an
// import (measured, 100,000 findings: zstd 11.6 s, S2 9.6-10.5 s). A packed
// value starts with a NUL, which no JSON text does, so rows stored as text
// read fine.
var rawMagic = []byte{0x00, 's', '2', 0x01}

// packRaw returns what is stored for raw on the dialect.
func packRaw(d db.Dialect, raw json.RawMessage) json.RawMessage {
	if d != db.SQLite || len(raw) == 0 {
		return raw
	}
	buf := make([]byte, len(rawMagic)+s2.MaxEncodedLen(len(raw)))
	copy(buf, rawMagic)
	enc := s2.Encode(buf[len(rawMagic):], raw)
	return buf[:len(rawMagic)+len(enc)]
}

// rawValue is the SQL argument for a packed raw value: bytes on SQLite
// (a BLOB), text on PostgreSQL.
func rawValue(d db.Dialect, packed json.RawMessage) any {
	if d == db.SQLite {
		return []byte(packed)
	}
	return string(packed)
}

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
