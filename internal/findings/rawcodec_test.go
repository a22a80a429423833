package findings

import (
	"bytes"
	"encoding/json"
	"testing"
)

// Raw OCSF is compressed, and reads back byte for byte whether it was
// stored compressed or, by an older version, as text.
func TestRawCodec(t *testing.T) {
	raw := json.RawMessage(`{"class_uid":2004,"finding_info":{"uid":"` + string(bytes.Repeat([]byte("x"), 4000)) + `"}}`)
	packed := packRaw(raw)
	if !bytes.HasPrefix(packed, rawMagic) || len(packed) >= len(raw)/4 {
		t.Fatalf("%d bytes packed from %d", len(packed), len(raw))
	}
	if _, ok := rawValue(packed).([]byte); !ok {
		t.Fatal("the stored value is not bytes (BLOB, bytea)")
	}
	for _, stored := range [][]byte{packed, raw} {
		got, err := unpackRaw(stored)
		if err != nil || !bytes.Equal(got, raw) {
			t.Fatalf("round trip: %v", err)
		}
	}
	if _, err := unpackRaw(append(append([]byte{}, rawMagic...), 0xff, 0xff, 0xff)); err == nil {
		t.Fatal("a corrupt value decoded")
	}
}
