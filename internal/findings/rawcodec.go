package findings

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/klauspost/compress/zstd"

	"github.com/offloadsecurity/cspm/internal/db"
)

// On SQLite the raw OCSF of each finding (4-8 KB of JSON) is stored
// zstd-compressed: written uncompressed it was most of an import's bytes,
// written twice (WAL, then checkpoint). PostgreSQL compresses it itself
// (lz4 TOAST), so there it stays JSON text. Reading tells the two apart by
// zstd's magic number, so a database holding both reads fine.
var (
	zstdMagic = []byte{0x28, 0xb5, 0x2f, 0xfd}
	rawZ, _   = zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1))
	rawUnZ, _ = zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(64<<20))
)

// packRaw returns what is stored for raw on the dialect.
func packRaw(d db.Dialect, raw json.RawMessage) json.RawMessage {
	if d != db.SQLite || len(raw) == 0 {
		return raw
	}
	return rawZ.EncodeAll(raw, make([]byte, 0, len(raw)/4))
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
	if !bytes.HasPrefix(stored, zstdMagic) {
		return stored, nil
	}
	out, err := rawUnZ.DecodeAll(stored, nil)
	if err != nil {
		return nil, fmt.Errorf("stored OCSF: %w", err)
	}
	return out, nil
}
