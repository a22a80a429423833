package imports

import "testing"

func TestCleanFilename(t *testing.T) {
	for in, want := range map[string]string{
		"prowler.ocsf.json":          "prowler.ocsf.json",
		"a\x00b.json":                "ab.json",
		`C:\reports\trivy scan.json`: "trivy scan.json",
		"../../etc/passwd":           "passwd",
		"\x00\x01":                   "report",
		"..":                         "report",
		"rapport d'audit é.json":     "rapport d'audit é.json",
		"bad\xffutf8.json":           "badutf8.json",
		"line\nbreak\r\ttab.json":    "linebreaktab.json",
		"":                           "report",
	} {
		if got := cleanFilename(in); got != want {
			t.Errorf("cleanFilename(%q) = %q, want %q", in, got, want)
		}
	}
	long := make([]rune, 300)
	for i := range long {
		long[i] = 'é'
	}
	if got := []rune(cleanFilename(string(long))); len(got) != 200 {
		t.Errorf("a 300-character name kept %d", len(got))
	}
}
