package ingest

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// Reports are read with the encoding/json/v2 prototype: its streaming
// decoder hands out each array element without a second scan, and its
// unmarshaler is about twice as fast as encoding/json's (measured with
// bench/parseonly). Tools do write duplicate keys and invalid UTF-8 now and
// then; both are tolerated, as encoding/json did.
var readOptions = jsonv2.JoinOptions(
	jsontext.AllowDuplicateNames(true),
	jsontext.AllowInvalidUTF8(true),
)

func unmarshal(raw []byte, v any) error { return jsonv2.Unmarshal(raw, v, readOptions) }

// jsonStream walks a JSON document token by token so that only one element
// of a large array is decoded at a time.
type jsonStream struct {
	dec    *jsontext.Decoder
	format string
}

func newJSONStream(r io.Reader, format string) *jsonStream {
	return &jsonStream{dec: jsontext.NewDecoder(r, readOptions), format: format}
}

func (s *jsonStream) fail(err error) error {
	var pe *ParseError
	if errors.As(err, &pe) {
		return err
	}
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return &ParseError{Format: s.format, Where: fmt.Sprintf("offset %d", s.dec.InputOffset()), Err: err}
}

func (s *jsonStream) expect(want jsontext.Kind) error {
	t, err := s.dec.ReadToken()
	if err != nil {
		return s.fail(err)
	}
	if t.Kind() != want {
		return s.fail(fmt.Errorf("expected %q, found %v", want.String(), t.Kind()))
	}
	return nil
}

// eachElement decodes every element of the array that starts at the next
// token. raw is valid only during fn: copy it to keep it.
func (s *jsonStream) eachElement(fn func(raw json.RawMessage) error) error {
	return s.eachElementAt(func(raw json.RawMessage, _ int64) error { return fn(raw) })
}

// eachElementAt is eachElement that also tells fn the input offset just
// after each element.
func (s *jsonStream) eachElementAt(fn func(raw json.RawMessage, end int64) error) error {
	if err := s.expect('['); err != nil {
		return err
	}
	for s.dec.PeekKind() != ']' {
		raw, err := s.dec.ReadValue()
		if err != nil {
			return s.fail(err)
		}
		if err := fn(json.RawMessage(raw), s.dec.InputOffset()); err != nil {
			return s.fail(err)
		}
	}
	return s.expect(']')
}

// eachKey walks the object that starts at the next token, calling fn with
// each key; fn must consume the value (with skip, decode or eachElement).
func (s *jsonStream) eachKey(fn func(key string) error) error {
	if err := s.expect('{'); err != nil {
		return err
	}
	for s.dec.PeekKind() != '}' {
		t, err := s.dec.ReadToken()
		if err != nil {
			return s.fail(err)
		}
		if t.Kind() != '"' {
			return s.fail(fmt.Errorf("expected an object key, found %v", t.Kind()))
		}
		if err := fn(t.String()); err != nil {
			return s.fail(err)
		}
	}
	return s.expect('}')
}

func (s *jsonStream) decode(v any) error {
	raw, err := s.dec.ReadValue()
	if err != nil {
		return s.fail(err)
	}
	if err := unmarshal(raw, v); err != nil {
		return s.fail(err)
	}
	return nil
}

func (s *jsonStream) skip() error {
	if err := s.dec.SkipValue(); err != nil {
		return s.fail(err)
	}
	return nil
}

// end checks that nothing but white space follows the document.
func (s *jsonStream) end() error {
	if _, err := s.dec.ReadToken(); !errors.Is(err, io.EOF) {
		if err == nil {
			err = errors.New("unexpected data after the end of the report")
		}
		return s.fail(err)
	}
	return nil
}

// arrayOrLines streams the elements of a top-level JSON array, or of a
// file of JSON lines (one object after another), whichever r holds.
func arrayOrLines(r io.Reader, format string, fn func(raw json.RawMessage) error) error {
	return arrayOrLinesAt(r, format, func(raw json.RawMessage, _ int64) error { return fn(raw) })
}

// arrayOrLinesAt is arrayOrLines that also tells fn the input offset just
// after each element.
func arrayOrLinesAt(r io.Reader, format string, fn func(raw json.RawMessage, end int64) error) error {
	br, ok := r.(*bufio.Reader)
	if !ok {
		br = bufio.NewReader(r)
	}
	first, err := firstNonSpace(br)
	if err != nil {
		return &ParseError{Format: format, Where: "offset 0", Err: err}
	}
	s := newJSONStream(br, format)
	if first == '[' {
		if err := s.eachElementAt(fn); err != nil {
			return err
		}
		return s.end()
	}
	for {
		raw, err := s.dec.ReadValue()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return s.fail(err)
		}
		if raw.Kind() != '{' {
			return s.fail(errors.New("expected a JSON object per line"))
		}
		if err := fn(json.RawMessage(raw), s.dec.InputOffset()); err != nil {
			return s.fail(err)
		}
	}
}

func firstNonSpace(br *bufio.Reader) (byte, error) {
	for {
		b, err := br.Peek(1)
		if err != nil {
			if errors.Is(err, io.EOF) {
				return 0, errors.New("the report is empty")
			}
			return 0, err
		}
		switch b[0] {
		case ' ', '\t', '\r', '\n':
			_, _ = br.ReadByte()
		case 0xEF: // UTF-8 byte order mark
			_, _ = br.Discard(3)
		default:
			return b[0], nil
		}
	}
}
