package knowledge

import (
	"archive/zip"
	"bytes"
	"fmt"
	"strings"
	"testing"
)

// makePDF writes a small but real PDF: one page per text, Helvetica, with
// a correct cross-reference table.
func makePDF(t *testing.T, pages []string) []byte {
	t.Helper()
	var objs []string
	n := len(pages)
	kids := make([]string, n)
	for i := range pages {
		kids[i] = fmt.Sprintf("%d 0 R", 4+2*i)
	}
	objs = append(objs, "<< /Type /Catalog /Pages 2 0 R >>")
	objs = append(objs, fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count %d >>", strings.Join(kids, " "), n))
	objs = append(objs, "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
	for i, text := range pages {
		objs = append(objs, fmt.Sprintf("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>", 5+2*i))
		stream := fmt.Sprintf("BT /F1 12 Tf 72 720 Td (%s) Tj ET", text)
		objs = append(objs, fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(stream), stream))
	}
	var b bytes.Buffer
	b.WriteString("%PDF-1.4\n")
	offsets := make([]int, len(objs))
	for i, o := range objs {
		offsets[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objs)+1)
	for _, off := range offsets {
		fmt.Fprintf(&b, "%010d 00000 n \n", off)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objs)+1, xref)
	return b.Bytes()
}

// makeDOCX writes a minimal Word document: paragraphs with their styles.
func makeDOCX(t *testing.T, paras [][2]string) []byte {
	t.Helper()
	var body strings.Builder
	for _, p := range paras {
		style := ""
		if p[0] != "" {
			style = `<w:pPr><w:pStyle w:val="` + p[0] + `"/></w:pPr>`
		}
		body.WriteString(`<w:p>` + style + `<w:r><w:t>` + p[1] + `</w:t></w:r></w:p>`)
	}
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	files := map[string]string{
		"[Content_Types].xml": `<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>`,
		"word/document.xml": `<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>` +
			body.String() + `</w:body></w:document>`,
	}
	for name, content := range files {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = w.Write([]byte(content))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestExtractEachType(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		body []byte
		want []Block
	}{
		{"p.md", []byte("# Policy\n\nIntro.\n\n## 2 Scope\n\nAll staff.\n\n```\n# not a heading\n```\n"),
			[]Block{{Level: 1, Text: "Policy"}, {Text: "Intro."}, {Level: 2, Text: "2 Scope"}, {Text: "All staff."}, {Text: "```\n# not a heading\n```"}}},
		{"p.txt", []byte("First paragraph\nstill first.\n\nSecond."), []Block{{Text: "First paragraph\nstill first."}, {Text: "Second."}}},
		{"p.html", []byte(`<html><head><title>x</title><script>alert(1)</script></head><body><h1>Policy</h1><p>Intro <b>bold</b>.</p>` +
			`<h2>Scope</h2><ul><li>One</li><li>Two</li></ul></body></html>`),
			[]Block{{Level: 1, Text: "Policy"}, {Text: "Intro bold."}, {Level: 2, Text: "Scope"}, {Text: "One"}, {Text: "Two"}}},
		{"p.docx", makeDOCX(t, [][2]string{{"Title", "Policy"}, {"", "Intro."}, {"Heading2", "Scope"}, {"", "All staff."}}),
			[]Block{{Level: 1, Text: "Policy"}, {Text: "Intro."}, {Level: 2, Text: "Scope"}, {Text: "All staff."}}},
		{"p.pdf", makePDF(t, []string{"Page one text.", "Page two text."}),
			[]Block{{Text: "Page one text.", Page: 1}, {Text: "Page two text.", Page: 2}}},
	}
	for _, c := range cases {
		ct, err := DetectType(c.name, c.body)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		got, err := Extract(ct, c.body)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("%s:\n got %+v\nwant %+v", c.name, got, c.want)
		}
	}
}

func TestChunksKeepSectionPathAndOverlap(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("Remote sessions are logged and reviewed. ", 80) // about 3,300 characters
	blocks := []Block{{Level: 1, Text: "Access Control Policy"}, {Level: 2, Text: "4.2 Remote access"}, {Text: long},
		{Level: 2, Text: "4.3 Reviews"}, {Text: "Quarterly."}}
	pieces := ChunkBlocks(blocks, "fallback")
	if len(pieces) < 3 {
		t.Fatalf("%d pieces", len(pieces))
	}
	for i, p := range pieces[:len(pieces)-1] {
		if p.SectionPath != "Access Control Policy > 4.2 Remote access" {
			t.Errorf("piece %d path %q", i, p.SectionPath)
		}
		if len(p.Text) > MaxChars+OverlapChars {
			t.Errorf("piece %d has %d characters", i, len(p.Text))
		}
		if i > 0 && !strings.HasPrefix(p.Text, tail(pieces[i-1].Text, OverlapChars)) {
			t.Errorf("piece %d does not begin with the overlap of the one before", i)
		}
	}
	last := pieces[len(pieces)-1]
	if last.SectionPath != "Access Control Policy > 4.3 Reviews" || last.Text != "Quarterly." {
		t.Errorf("last piece %+v: a new section must start clean", last)
	}
	if p := ChunkBlocks([]Block{{Text: "No headings."}}, "notes"); p[0].SectionPath != "notes" {
		t.Errorf("fallback title: %+v", p)
	}
}
