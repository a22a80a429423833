package findings

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/klauspost/compress/s2"
)

// A block packs many values, each reads back byte for byte by its index,
// and repetition between values is what it saves.
func TestRawBlockCodec(t *testing.T) {
	var values []json.RawMessage
	total := 0
	for i := range 50 {
		v := json.RawMessage(fmt.Sprintf(`{"class_uid":2004,"finding_info":{"uid":"f-%d","desc":%q}}`, i, bytes.Repeat([]byte("same metadata "), 100)))
		values = append(values, v)
		total += len(v)
	}
	values = append(values, json.RawMessage{}) // an empty value keeps its place
	block := new(blockPacker).pack(values)
	if !bytes.HasPrefix(block, blockMagic) || len(block) >= total/20 {
		t.Fatalf("%d bytes packed from %d", len(block), total)
	}
	for i, want := range values {
		got, err := rawFromBlock(block, i)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("value %d: %v %.60s", i, err, got)
		}
	}
	for _, bad := range []struct {
		name  string
		block []byte
		index int
	}{
		{"index past the end", block, len(values)},
		{"negative index", block, -1},
		{"no magic", block[1:], 0},
		{"corrupt S2", append(append([]byte{}, blockMagic...), 0xff, 0xff, 0xff), 0},
		{"lengths past the data", append(append([]byte{}, blockMagic...), s2.Encode(nil, []byte{2, 10, 10, 'x'})...), 1},
		{"count without lengths", append(append([]byte{}, blockMagic...), s2.Encode(nil, []byte{5, 1})...), 0},
	} {
		if _, err := rawFromBlock(bad.block, bad.index); err == nil {
			t.Errorf("%s: read without an error", bad.name)
		}
	}
}

// finding_raw rows written before blocks read back, packed on their own or
// as text.
func TestLegacyRawValues(t *testing.T) {
	raw := json.RawMessage(`{"class_uid":2004,"finding_info":{"uid":"` + string(bytes.Repeat([]byte("x"), 4000)) + `"}}`)
	packed := append(append([]byte{}, rawMagic...), s2.Encode(nil, raw)...)
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

// Fuzz: whatever a block holds, reading it fails cleanly or returns a slice
// of what it unpacked; it never panics.
func FuzzRawFromBlock(f *testing.F) {
	f.Add(new(blockPacker).pack([]json.RawMessage{json.RawMessage(`{"a":1}`), json.RawMessage(`{"b":2}`)}), 1)
	f.Add(append(append([]byte{}, blockMagic...), s2.Encode(nil, []byte{3, 1, 1})...), 2)
	f.Fuzz(func(t *testing.T, block []byte, index int) {
		_, _ = rawFromBlock(block, index)
	})
}

// benchBlockValues is a full block's values: 500 findings of about 4.5 KB.
func benchBlockValues() []json.RawMessage {
	var values []json.RawMessage
	for i := range 500 {
		values = append(values, json.RawMessage(fmt.Sprintf(`{"class_uid":2004,"finding_info":{"uid":"f-%d","desc":%q}}`, i,
			bytes.Repeat([]byte(fmt.Sprintf("metadata %d ", i%37)), 400))))
	}
	return values
}

// BenchmarkPackBlock packs a full block, as an import does for every batch
// it writes.
func BenchmarkPackBlock(b *testing.B) {
	values := benchBlockValues()
	var p blockPacker
	b.ReportAllocs()
	for b.Loop() {
		p.pack(values)
	}
}

// BenchmarkRawFromBlock reads one finding's raw OCSF out of a full block
// (500 findings of about 4.5 KB): what GET /api/v1/findings/{id} adds.
func BenchmarkRawFromBlock(b *testing.B) {
	block := new(blockPacker).pack(benchBlockValues())
	b.SetBytes(int64(len(block)))
	for b.Loop() {
		if _, err := rawFromBlock(block, 499); err != nil {
			b.Fatal(err)
		}
	}
}
