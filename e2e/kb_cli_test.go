package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// cspm kb import loads policies in bulk: a bad file among them keeps every
// file out, good ones are chunked at once, and loading again changes nothing.
func TestKnowledgeImportCommand(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	env := []string{"CSPM_DATA_DIR=" + t.TempDir()}
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	access := write("access.md", "# Access Control Policy\n\n## 4.2 Remote access\n\nContractors use hardware keys.\n")
	ir := write("incident.txt", "Incidents are reported within one hour.\n")
	bad := write("broken.pdf", "%PDF-1.7 not really")
	if code, _, stderr := run(t, env, "team", "create", "acme"); code != 0 {
		t.Fatal(stderr)
	}
	code, _, stderr := run(t, env, "kb", "import", "--team", "acme", access, bad)
	if code == 0 || !strings.Contains(stderr, "broken.pdf") || !strings.Contains(stderr, "nothing was imported") {
		t.Fatalf("a malformed PDF: exit %d, %q", code, stderr)
	}
	code, stdout, stderr := run(t, env, "kb", "import", "--team", "acme", "--tags", "iso27001", access, ir)
	if code != 0 || !strings.Contains(stdout, "access.md: version 1, ready, 1 passages") || !strings.Contains(stdout, "incident.txt: version 1, ready, 1 passages") {
		t.Fatalf("import: exit %d, %q %q", code, stdout, stderr)
	}
	if code, stdout, _ := run(t, env, "kb", "import", "--team", "acme", access); code != 0 || !strings.Contains(stdout, "access.md: unchanged (version 1)") {
		t.Fatalf("again: exit %d, %q", code, stdout)
	}
	// A folder: each document by its path, the rest listed as skipped,
	// hidden folders passed over.
	lib := t.TempDir()
	for name, body := range map[string]string{
		"policies/hr/leave.md": "# Leave Policy\n\n## Requests\n\nLeave is requested two weeks ahead.\n",
		"images/logo.png":      "\x89PNG\r\n\x1a\n\x00",
		".git/config":          "[core]\n",
	} {
		p := filepath.Join(lib, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	code, stdout, stderr = run(t, env, "kb", "import", "--team", "acme", lib)
	if code != 0 || !strings.Contains(stdout, "policies/hr/leave.md: version 1, ready, 1 passages") ||
		!strings.Contains(stdout, "skipped images/logo.png") || strings.Contains(stdout, ".git") {
		t.Fatalf("folder import: exit %d, %q %q", code, stdout, stderr)
	}
	if code, _, stderr := run(t, env, "kb", "import", "--team", "nobody", access); code == 0 || !strings.Contains(stderr, `no team named "nobody"`) {
		t.Fatalf("unknown team: exit %d, %q", code, stderr)
	}
}
