package findings

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/klauspost/compress/s2"
)

// The raw OCSF of each finding (4-8 KB of JSON) is stored compressed, in
// blocks: the findings one import batch writes are packed together
// (blockPacker), because findings of one check repeat each other's metadata
// and one packed value per finding could not see that (measured on 20,000
// generated Prowler findings: 1,970 bytes a finding packed one by one, 815
// packed 500 at a time, at the same CPU). S2, not zstd: zstd packs 25%
// smaller at twice the CPU, and the import's CPU is the scarce part
// (100,000 findings on SQLite: zstd 11.6 s, S2 9.6-10.5 s when values were
// packed one by one).
//
// A block is blockMagic, then S2 of: a uvarint count n, n uvarint lengths,
// and the n values one after the other.
var blockMagic = []byte{0x00, 's', '2', 'b', 0x01}

// rawMagic starts a value packed on its own, as finding_raw rows were
// stored before blocks. It starts with a NUL, which no JSON text does, so
// rows stored as text read fine too.
var rawMagic = []byte{0x00, 's', '2', 0x01}

// maxUnpacked bounds what reading a stored value may allocate.
const maxUnpacked = 64 << 20

// blockPacker packs blocks, keeping its scratch space from one to the next:
// the values one after the other, and S2's output at its worst-case size
// (together about 5 MB for a batch of 500 findings). Made anew for every
// block, they were a gigabyte of zeroed allocations per 100,000 findings.
// One goroutine uses a packer at a time.
type blockPacker struct{ payload, encoded []byte }

// pack packs values into one block.
func (p *blockPacker) pack(values []json.RawMessage) []byte {
	size := binary.MaxVarintLen64 * (len(values) + 1)
	for _, v := range values {
		size += len(v)
	}
	if cap(p.payload) < size {
		p.payload = make([]byte, 0, size)
	}
	payload := binary.AppendUvarint(p.payload[:0], uint64(len(values)))
	for _, v := range values {
		payload = binary.AppendUvarint(payload, uint64(len(v)))
	}
	for _, v := range values {
		payload = append(payload, v...)
	}
	if need := s2.MaxEncodedLen(len(payload)); cap(p.encoded) < need {
		p.encoded = make([]byte, need)
	}
	enc := s2.Encode(p.encoded[:cap(p.encoded)], payload)
	// A copy of its exact size: the block waits for the database, and only
	// that much of it needs to stay.
	return append(blockMagic[:len(blockMagic):len(blockMagic)], enc...)
}

var errCorruptBlock = errors.New("stored OCSF block: corrupt")

// rawFromBlock returns value index of a stored block.
func rawFromBlock(stored []byte, index int) (json.RawMessage, error) {
	values, err := blockValues(stored)
	if err != nil {
		return nil, err
	}
	if index < 0 || index >= len(values) {
		return nil, errCorruptBlock
	}
	return values[index], nil
}

// blockValues unpacks a stored block into its values.
func blockValues(stored []byte) ([]json.RawMessage, error) {
	body, ok := bytes.CutPrefix(stored, blockMagic)
	if !ok {
		return nil, errCorruptBlock
	}
	payload, err := s2Unpack(body)
	if err != nil {
		return nil, fmt.Errorf("stored OCSF block: %w", err)
	}
	n, k := binary.Uvarint(payload)
	// Each value takes at least the byte of its length.
	if k <= 0 || n > uint64(len(payload)) {
		return nil, errCorruptBlock
	}
	payload = payload[k:]
	lengths := make([]uint64, n)
	for i := range lengths {
		if lengths[i], k = binary.Uvarint(payload); k <= 0 {
			return nil, errCorruptBlock
		}
		payload = payload[k:]
	}
	values := make([]json.RawMessage, n)
	for i, l := range lengths {
		if l > uint64(len(payload)) {
			return nil, errCorruptBlock
		}
		values[i] = json.RawMessage(payload[:l])
		payload = payload[l:]
	}
	return values, nil
}

// unpackRaw reads a finding_raw value back as JSON: packed on its own, or
// plain text as the first versions stored it.
func unpackRaw(stored []byte) (json.RawMessage, error) {
	body, ok := bytes.CutPrefix(stored, rawMagic)
	if !ok {
		return stored, nil
	}
	out, err := s2Unpack(body)
	if err != nil {
		return nil, fmt.Errorf("stored OCSF: %w", err)
	}
	return out, nil
}

func s2Unpack(body []byte) ([]byte, error) {
	n, err := s2.DecodedLen(body)
	if err != nil {
		return nil, err
	}
	if n > maxUnpacked {
		return nil, fmt.Errorf("%d bytes unpacked, over 64 MiB", n)
	}
	return s2.Decode(make([]byte, n), body)
}
