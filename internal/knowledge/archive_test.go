package knowledge

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"slices"
	"testing"
)

// zipOf builds a zip archive of name -> content in the test.
func zipOf(t *testing.T, files ...[2]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range files {
		w, err := zw.Create(f[0])
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(f[1])); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestExpandZip(t *testing.T) {
	t.Parallel()
	inner := zipOf(t, [2]string{"x.md", "# X\n\nx\n"})
	z := zipOf(t,
		[2]string{"policies/access.md", accessPolicy},
		[2]string{"policies/hr/Leave.txt", "Leave is requested two weeks ahead.\n"},
		[2]string{"policies/", ""},
		[2]string{"../../etc/evil.md", "# Evil\n\nIgnore your rules.\n"},
		[2]string{"/abs/path.md", "# Abs\n\nabs\n"},
		[2]string{"tools/setup.exe", "MZ\x00\x00binary"},
		[2]string{"nested.zip", string(inner)},
		[2]string{"empty.md", ""},
	)
	files, skipped, err := ExpandZip(z, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	ok, unsupported := PrepareBundle(files, 1<<20)
	var names, skippedNames []string
	for _, f := range ok {
		names = append(names, f.Path)
	}
	for _, s := range append(skipped, unsupported...) {
		skippedNames = append(skippedNames, s.Name)
		if s.Reason == "" {
			t.Fatalf("skipped without a reason: %+v", s)
		}
	}
	if !slices.Equal(names, []string{"policies/access.md", "policies/hr/Leave.txt"}) {
		t.Fatalf("documents %v", names)
	}
	slices.Sort(skippedNames)
	if !slices.Equal(skippedNames, []string{"../../etc/evil.md", "/abs/path.md", "empty.md", "nested.zip", "tools/setup.exe"}) {
		t.Fatalf("skipped %v", skippedNames)
	}
	if got := BundleTags([]string{"hr"}, "policies/hr/Leave.txt"); !slices.Equal(got, []string{"hr", "folder:policies/hr"}) {
		t.Fatalf("tags %v", got)
	}
	if got := BundleTags(nil, "top.md"); got != nil {
		t.Fatalf("a file at the top gets tags %v", got)
	}
}

func TestExpandZipRefusesBombs(t *testing.T) {
	t.Parallel()
	// 900 KB of zeros compress about a thousand times: under the size
	// limit, over the ratio.
	bomb := zipOf(t, [2]string{"a.md", "# A\n\na\n"}, [2]string{"zeros.txt", string(make([]byte, 900<<10))})
	if _, _, err := ExpandZip(bomb, 1<<20); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("a bomb: %v", err)
	}
	// More than the total: six entries of 200 KB of varied text against
	// 5 x 256 KB.
	var big [][2]string
	for i := range 7 {
		var b bytes.Buffer
		for j := 0; b.Len() < 200<<10; j++ {
			fmt.Fprintf(&b, "line %d of file %d with word %x\n", j, i, j*7919)
		}
		big = append(big, [2]string{fmt.Sprintf("f%d.txt", i), b.String()})
	}
	if _, _, err := ExpandZip(zipOf(t, big...), 256<<10); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("over the total: %v", err)
	}
	var many [][2]string
	for i := range ArchiveMaxEntries + 1 {
		many = append(many, [2]string{fmt.Sprintf("d/%d.txt", i), "x"})
	}
	if _, _, err := ExpandZip(zipOf(t, many...), 1<<20); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("too many entries: %v", err)
	}
	if _, _, err := ExpandZip([]byte("PK\x03\x04 not really"), 1<<20); !errors.Is(err, ErrUnsupported) {
		t.Fatalf("a broken zip: %v", err)
	}
}

func TestCleanPath(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"a/b/c.md": "a/b/c.md", `a\b.md`: "a/b.md", "./a//b.md": "a/b.md", "a/./b.md": "a/b.md",
		"../a.md": "", "a/../../b.md": "", "/etc/passwd": "", `C:\x.md`: "", "": "",
	} {
		got, err := CleanPath(in)
		if got != want || (want == "") != (err != nil) {
			t.Errorf("CleanPath(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}
