package ingest

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func numbered(n int) string {
	var b strings.Builder
	b.WriteString("[")
	for i := range n {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `{"n":%d}`, i)
	}
	b.WriteString("]")
	return b.String()
}

func decodeNumbered(raw json.RawMessage) (*Finding, error) {
	var v struct{ N int }
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, err
	}
	if v.N < 0 {
		return nil, errors.New("negative")
	}
	return &Finding{Title: fmt.Sprint(v.N), Raw: raw}, nil
}

// Elements decoded on several goroutines come out in report order, each
// with its own copy of its JSON; an element that does not decode stops the
// parse with its offset after every element before it was emitted, as does
// a malformed document; an error from emit stops it too.
func TestDecodeElementsInOrder(t *testing.T) {
	const n = elementsPerChunk*7 + 5
	for _, tc := range []struct {
		doc  string
		slow bool // an emitter slower than decoding: the reader decodes alone
	}{{numbered(n), false}, {strings.ReplaceAll(strings.Trim(numbered(n), "[]"), "},{", "}\n{"), false}, {numbered(n), true}} {
		var got []string
		if err := decodeElements(strings.NewReader(tc.doc), "test", decodeNumbered, func(f *Finding) error {
			if tc.slow {
				time.Sleep(20 * time.Microsecond)
			}
			got = append(got, f.Title)
			if string(f.Raw) != fmt.Sprintf(`{"n":%s}`, f.Title) {
				return fmt.Errorf("raw %s for %s", f.Raw, f.Title)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if len(got) != n {
			t.Fatalf("%d elements, want %d", len(got), n)
		}
		for i, g := range got {
			if g != fmt.Sprint(i) {
				t.Fatalf("element %d came out as %s", i, g)
			}
		}
	}

	bad := strings.Replace(numbered(n), `{"n":300}`, `{"n":-1}`, 1)
	var emitted int
	err := decodeElements(strings.NewReader(bad), "test", decodeNumbered, func(*Finding) error { emitted++; return nil })
	var pe *ParseError
	if !errors.As(err, &pe) || emitted != 300 || pe.Where != fmt.Sprintf("offset %d", strings.Index(bad, `{"n":-1}`)+len(`{"n":-1}`)) {
		t.Fatalf("bad element: %v after %d emitted", err, emitted)
	}

	truncated := numbered(n)[:len(numbered(n))/2]
	emitted = 0
	err = decodeElements(strings.NewReader(truncated), "test", decodeNumbered, func(*Finding) error { emitted++; return nil })
	if !errors.As(err, &pe) || emitted == 0 || emitted >= n {
		t.Fatalf("truncated: %v after %d emitted", err, emitted)
	}

	stop := errors.New("enough")
	emitted = 0
	err = decodeElements(strings.NewReader(numbered(n)), "test", decodeNumbered, func(*Finding) error {
		emitted++
		if emitted == 100 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || emitted != 100 {
		t.Fatalf("stopped by emit: %v after %d", err, emitted)
	}
}
