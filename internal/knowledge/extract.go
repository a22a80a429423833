package knowledge

import (
	"archive/zip"
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"path"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/ledongthuc/pdf"
	"golang.org/x/net/html"
)

// Content types the knowledge base reads.
const (
	TypeMarkdown = "markdown"
	TypeText     = "text"
	TypeHTML     = "html"
	TypePDF      = "pdf"
	TypeDOCX     = "docx"
)

// ErrUnsupported means a file is of no type the knowledge base reads, or is
// malformed for the type it claims.
var ErrUnsupported = errors.New("unsupported document")

// Block is one unit of extracted text: a heading (Level 1-6) or a
// paragraph (Level 0), with the PDF page it came from (0 elsewhere).
type Block struct {
	Level int
	Text  string
	Page  int
}

// DetectType names the content type of a file from its content first (PDF
// and DOCX announce themselves) and its name second.
func DetectType(name string, b []byte) (string, error) {
	ext := strings.ToLower(path.Ext(name))
	switch {
	case bytes.HasPrefix(b, []byte("%PDF-")):
		return TypePDF, nil
	case bytes.HasPrefix(b, []byte("PK\x03\x04")):
		if ext == ".docx" {
			return TypeDOCX, nil
		}
		return "", fmt.Errorf("%w: %s is a zip archive that is not a .docx", ErrUnsupported, name)
	case ext == ".pdf", ext == ".docx":
		return "", fmt.Errorf("%w: %s does not have the content of a %s file", ErrUnsupported, name, ext)
	}
	if !utf8.Valid(b) || bytes.IndexByte(b, 0) >= 0 {
		return "", fmt.Errorf("%w: %s is neither UTF-8 text nor PDF or DOCX", ErrUnsupported, name)
	}
	switch ext {
	case ".md", ".markdown":
		return TypeMarkdown, nil
	case ".html", ".htm":
		return TypeHTML, nil
	case ".txt", ".text", "":
		head := strings.ToLower(string(b[:min(len(b), 512)]))
		if strings.Contains(head, "<html") || strings.Contains(head, "<!doctype html") {
			return TypeHTML, nil
		}
		return TypeText, nil
	}
	return "", fmt.Errorf("%w: %s: want .md, .txt, .html, .pdf or .docx", ErrUnsupported, name)
}

// Extract reads a file's text as blocks. A file that yields no text is an
// error: a scanned PDF without a text layer, for example.
func Extract(contentType string, b []byte) (blocks []Block, err error) {
	switch contentType {
	case TypeMarkdown:
		blocks = extractMarkdown(string(b))
	case TypeText:
		blocks = paragraphs(string(b), 0)
	case TypeHTML:
		blocks, err = extractHTML(b)
	case TypeDOCX:
		blocks, err = extractDOCX(b)
	case TypePDF:
		blocks, err = extractPDF(b)
	default:
		return nil, fmt.Errorf("%w: content type %q", ErrUnsupported, contentType)
	}
	if err != nil {
		return nil, err
	}
	for _, bl := range blocks {
		if bl.Level == 0 && strings.TrimSpace(bl.Text) != "" {
			return blocks, nil
		}
	}
	return nil, fmt.Errorf("%w: no text found in the %s file", ErrUnsupported, contentType)
}

// paragraphs splits text on blank lines.
func paragraphs(s string, page int) []Block {
	var out []Block
	for _, p := range splitBlank(s) {
		out = append(out, Block{Text: p, Page: page})
	}
	return out
}

func splitBlank(s string) []string {
	var out []string
	var cur []string
	flush := func() {
		if t := strings.TrimSpace(strings.Join(cur, "\n")); t != "" {
			out = append(out, t)
		}
		cur = cur[:0]
	}
	for _, line := range strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n") {
		if strings.TrimSpace(line) == "" {
			flush()
			continue
		}
		cur = append(cur, strings.TrimRight(line, " \t"))
	}
	flush()
	return out
}

// extractMarkdown keeps ATX headings (# to ######) as headings and the
// rest as paragraphs; fenced code stays one paragraph.
func extractMarkdown(s string) []Block {
	var out []Block
	var cur []string
	inFence := false
	flush := func() {
		if t := strings.TrimSpace(strings.Join(cur, "\n")); t != "" {
			out = append(out, Block{Text: t})
		}
		cur = cur[:0]
	}
	for _, line := range strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n") {
		trim := strings.TrimSpace(line)
		if strings.HasPrefix(trim, "```") || strings.HasPrefix(trim, "~~~") {
			inFence = !inFence
			cur = append(cur, line)
			continue
		}
		if inFence {
			cur = append(cur, line)
			continue
		}
		if lvl := headingLevel(trim); lvl > 0 {
			flush()
			text := strings.TrimSpace(strings.TrimRight(strings.TrimSpace(trim[lvl:]), "#"))
			if text != "" {
				out = append(out, Block{Level: lvl, Text: text})
			}
			continue
		}
		if trim == "" {
			flush()
			continue
		}
		cur = append(cur, strings.TrimRight(line, " \t"))
	}
	flush()
	return out
}

func headingLevel(line string) int {
	n := 0
	for n < len(line) && line[n] == '#' {
		n++
	}
	if n == 0 || n > 6 || (n < len(line) && line[n] != ' ' && line[n] != '\t') {
		return 0
	}
	return n
}

// blockTags end a paragraph in HTML; skipTags hold no document text.
var (
	blockTags = map[string]bool{"p": true, "div": true, "li": true, "tr": true, "td": true, "th": true, "pre": true,
		"blockquote": true, "dt": true, "dd": true, "section": true, "article": true, "br": true, "table": true,
		"ul": true, "ol": true, "header": true, "footer": true, "main": true}
	skipTags = map[string]bool{"script": true, "style": true, "noscript": true, "template": true, "head": true,
		"nav": true, "svg": true, "iframe": true}
)

func extractHTML(b []byte) ([]Block, error) {
	root, err := html.Parse(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("%w: HTML: %v", ErrUnsupported, err) //nolint:errorlint // the parser's error is told, not wrapped
	}
	var out []Block
	var buf strings.Builder
	flush := func() {
		if t := strings.Join(strings.Fields(buf.String()), " "); t != "" {
			out = append(out, Block{Text: t})
		}
		buf.Reset()
	}
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			buf.WriteString(n.Data)
			return
		}
		if n.Type == html.ElementNode {
			if skipTags[n.Data] {
				return
			}
			if len(n.Data) == 2 && n.Data[0] == 'h' && n.Data[1] >= '1' && n.Data[1] <= '6' {
				flush()
				var hb strings.Builder
				textOf(n, &hb)
				if t := strings.Join(strings.Fields(hb.String()), " "); t != "" {
					out = append(out, Block{Level: int(n.Data[1] - '0'), Text: t})
				}
				return
			}
			if blockTags[n.Data] {
				flush()
				defer flush()
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(root)
	flush()
	return out, nil
}

func textOf(n *html.Node, b *strings.Builder) {
	if n.Type == html.TextNode {
		b.WriteString(n.Data)
		b.WriteByte(' ')
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		textOf(c, b)
	}
}

// maxDOCXXML bounds the uncompressed document.xml: a zip bomb stops here.
const maxDOCXXML = 64 << 20

// extractDOCX reads word/document.xml: paragraphs, with those styled
// Title or HeadingN (or given an outline level) as headings.
func extractDOCX(b []byte) ([]Block, error) {
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		return nil, fmt.Errorf("%w: DOCX: %v", ErrUnsupported, err) //nolint:errorlint // the reader's error is told, not wrapped
	}
	var f *zip.File
	for _, zf := range zr.File {
		if zf.Name == "word/document.xml" {
			f = zf
		}
	}
	if f == nil {
		return nil, fmt.Errorf("%w: DOCX without word/document.xml", ErrUnsupported)
	}
	rc, err := f.Open()
	if err != nil {
		return nil, fmt.Errorf("%w: DOCX: %v", ErrUnsupported, err) //nolint:errorlint // the reader's error is told, not wrapped
	}
	defer rc.Close()
	dec := xml.NewDecoder(io.LimitReader(rc, maxDOCXXML))
	var (
		out   []Block
		text  strings.Builder
		level int
		inT   bool
	)
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: DOCX: %v", ErrUnsupported, err) //nolint:errorlint // the reader's error is told, not wrapped
		}
		switch t := tok.(type) {
		case xml.StartElement:
			switch t.Name.Local {
			case "p":
				text.Reset()
				level = 0
			case "pStyle":
				level = max(level, styleLevel(attr(t, "val")))
			case "outlineLvl":
				if n, err := strconv.Atoi(attr(t, "val")); err == nil && n < 6 {
					level = max(level, n+1)
				}
			case "t":
				inT = true
			case "tab":
				text.WriteByte('\t')
			case "br", "cr":
				text.WriteByte('\n')
			}
		case xml.EndElement:
			switch t.Name.Local {
			case "t":
				inT = false
			case "p":
				if s := strings.TrimSpace(text.String()); s != "" {
					out = append(out, Block{Level: level, Text: s})
				}
				text.Reset()
			}
		case xml.CharData:
			if inT {
				text.Write(t)
			}
		}
	}
	return out, nil
}

func attr(e xml.StartElement, local string) string {
	for _, a := range e.Attr {
		if a.Name.Local == local {
			return a.Value
		}
	}
	return ""
}

func styleLevel(style string) int {
	s := strings.ToLower(style)
	if s == "title" {
		return 1
	}
	if n, ok := strings.CutPrefix(s, "heading"); ok {
		if lvl, err := strconv.Atoi(strings.TrimSpace(n)); err == nil && lvl >= 1 && lvl <= 6 {
			return lvl
		}
	}
	return 0
}

// extractPDF reads the text layer page by page (github.com/ledongthuc/pdf).
// The reader panics on some malformed files; that is an error here.
func extractPDF(b []byte) (out []Block, err error) {
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, fmt.Errorf("%w: malformed PDF (%v)", ErrUnsupported, r)
		}
	}()
	r, err := pdf.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		return nil, fmt.Errorf("%w: malformed PDF: %v", ErrUnsupported, err) //nolint:errorlint // the cause is told, not wrapped
	}
	for i := 1; i <= r.NumPage(); i++ {
		p := r.Page(i)
		if p.V.IsNull() {
			continue
		}
		text, err := p.GetPlainText(nil)
		if err != nil {
			return nil, fmt.Errorf("%w: PDF page %d: %v", ErrUnsupported, i, err) //nolint:errorlint // the cause is told, not wrapped
		}
		out = append(out, paragraphs(text, i)...)
	}
	return out, nil
}
