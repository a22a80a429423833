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
	if code, _, stderr := run(t, env, "kb", "import", "--team", "nobody", access); code == 0 || !strings.Contains(stderr, `no team named "nobody"`) {
		t.Fatalf("unknown team: exit %d, %q", code, stderr)
	}
}
