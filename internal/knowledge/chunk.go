package knowledge

import (
	"strings"
	"unicode"
)

// Chunk sizes, in characters (about four to a token of English text): a
// chunk aims at TargetChars, a paragraph longer than MaxChars is cut at
// sentence or word boundaries, and each chunk after the first of a section
// begins with up to OverlapChars of the text before it, so that a sentence
// cut by a chunk boundary is whole in one of the two. A heading always
// starts a new chunk: a passage never spans two sections.
const (
	TargetChars  = 1200
	MaxChars     = 1600
	OverlapChars = 200
)

// Piece is one chunk of a document: its text, the headings above it
// ("Access Control Policy > 4.2 Remote access") and its first PDF page.
type Piece struct {
	Seq         int
	SectionPath string
	Page        int
	Text        string
}

// ChunkBlocks cuts extracted blocks into pieces. title heads the section
// path of text that comes before any level-1 heading (a file without
// headings, say).
func ChunkBlocks(blocks []Block, title string) []Piece {
	var (
		out   []Piece
		stack [6]string
		cur   []string
		size  int
		page  int
		// carried is the overlap taken from the previous chunk of the section.
		carried string
	)
	path := func() string {
		var parts []string
		if stack[0] == "" && title != "" {
			parts = append(parts, title)
		}
		for _, h := range stack {
			if h != "" {
				parts = append(parts, h)
			}
		}
		return strings.Join(parts, " > ")
	}
	emit := func() {
		if len(cur) == 0 {
			return
		}
		text := strings.Join(cur, "\n\n")
		out = append(out, Piece{Seq: len(out), SectionPath: path(), Page: page, Text: text})
		carried = tail(text, OverlapChars)
		cur, size, page = nil, 0, 0
	}
	add := func(p string, pg int) {
		if size > 0 && size+len(p)+2 > TargetChars {
			emit()
		}
		if len(cur) == 0 {
			page = pg
			if carried != "" {
				cur = append(cur, carried)
				size = len(carried)
			}
		}
		cur = append(cur, p)
		size += len(p) + 2
	}
	for _, b := range blocks {
		if b.Level > 0 {
			emit()
			carried = ""
			stack[b.Level-1] = b.Text
			for i := b.Level; i < len(stack); i++ {
				stack[i] = ""
			}
			continue
		}
		for _, p := range split(b.Text, MaxChars, TargetChars) {
			add(p, b.Page)
		}
	}
	emit()
	return out
}

// split cuts text longer than limit into parts of about target characters,
// at sentence ends where it can, else at spaces.
func split(text string, limit, target int) []string {
	if len(text) <= limit {
		return []string{text}
	}
	var out []string
	for len(text) > limit {
		cut := lastBoundary(text[:target], true)
		if cut <= target/2 {
			cut = lastBoundary(text[:target], false)
		}
		if cut <= 0 {
			cut = target
			for cut < len(text) && !isRuneStart(text[cut]) {
				cut++
			}
		}
		out = append(out, strings.TrimSpace(text[:cut]))
		text = strings.TrimSpace(text[cut:])
	}
	if text != "" {
		out = append(out, text)
	}
	return out
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }

// lastBoundary is the index just after the last sentence end (". ", "! ",
// "? ") or, with sentence false, the last space of s; 0 when none.
func lastBoundary(s string, sentence bool) int {
	for i := len(s) - 1; i > 0; i-- {
		if !unicode.IsSpace(rune(s[i])) {
			continue
		}
		if !sentence {
			return i
		}
		if c := s[i-1]; c == '.' || c == '!' || c == '?' {
			return i
		}
	}
	return 0
}

// tail is the last n or fewer characters of s, starting at a word.
func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	t := s[len(s)-n:]
	if i := strings.IndexFunc(t, unicode.IsSpace); i >= 0 {
		t = t[i:]
	}
	return strings.TrimSpace(t)
}
