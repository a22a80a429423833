package ingest

import (
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/offloadsecurity/cspm/internal/ocsf"
)

// Every text field of a Finding comes out of makeStorable without NUL
// characters or invalid UTF-8, whichever field a parser fills: the test
// walks the struct, so a field added later is covered or fails here.
func TestMakeStorableCleansEveryTextField(t *testing.T) {
	const bad = "a\x00b\xffc"
	f := &Finding{CVSS: &ocsf.CVSS{}}
	var set func(v reflect.Value)
	set = func(v reflect.Value) {
		switch v.Kind() {
		case reflect.String:
			v.SetString(bad)
		case reflect.Slice:
			if v.Type().Elem().Kind() == reflect.String {
				v.Set(reflect.ValueOf([]string{bad, "fine"}).Convert(v.Type()))
			}
		case reflect.Pointer:
			if !v.IsNil() {
				set(v.Elem())
			}
		case reflect.Struct:
			for i := range v.NumField() {
				set(v.Field(i))
			}
		}
	}
	set(reflect.ValueOf(f).Elem())
	f.makeStorable()
	var check func(path string, v reflect.Value)
	check = func(path string, v reflect.Value) {
		switch v.Kind() {
		case reflect.String:
			if s := v.String(); strings.IndexByte(s, 0) >= 0 || !utf8.ValidString(s) {
				t.Errorf("%s = %q", path, s)
			} else if s != "fine" && s != "a\uFFFDb\uFFFDc" {
				t.Errorf("%s = %q, want each bad byte replaced", path, s)
			}
		case reflect.Slice:
			for i := range v.Len() {
				check(path+"[]", v.Index(i))
			}
		case reflect.Pointer:
			if !v.IsNil() {
				check(path, v.Elem())
			}
		case reflect.Struct:
			for i := range v.NumField() {
				check(path+"."+v.Type().Field(i).Name, v.Field(i))
			}
		}
	}
	check("Finding", reflect.ValueOf(f).Elem())
}

// Text without NUL and invalid UTF-8 is returned as it is.
func TestStorableTextKeepsCleanText(t *testing.T) {
	for _, s := range []string{"", "plain", "ünïcode ✓", `\u0000 spelled out`} {
		if got := storableText(s); got != s {
			t.Errorf("storableText(%q) = %q", s, got)
		}
	}
}

// A title or text past its cap is cut at a character boundary and says so,
// within the cap; text under it is left alone.
func TestLongTextIsCutAndMarked(t *testing.T) {
	f := &Finding{Title: strings.Repeat("é", 10<<20), Description: strings.Repeat("d", MaxTextBytes+1), Remediation: "short"}
	f.makeStorable()
	if len(f.Title) > MaxTitleBytes || !utf8.ValidString(f.Title) || !strings.Contains(f.Title, "[cut: ") || !strings.HasPrefix(f.Title, "éé") {
		t.Fatalf("title: %d bytes, valid %v, %q…", len(f.Title), utf8.ValidString(f.Title), f.Title[len(f.Title)-80:])
	}
	if len(f.Description) > MaxTextBytes || !strings.Contains(f.Description, "1 more bytes") {
		t.Fatalf("description: %d bytes, ends %q", len(f.Description), f.Description[len(f.Description)-70:])
	}
	if f.Remediation != "short" {
		t.Fatalf("remediation changed: %q", f.Remediation)
	}
}
