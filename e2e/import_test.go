package e2e

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// cspm import through the real binary: counts as JSON, the same file again
// creates nothing, bad input fails with one clear line and leaves nothing.
func TestCLIImport(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	env := []string{"CSPM_DATA_DIR=" + dir}
	if code, _, stderr := run(t, env, "team", "create", "Red"); code != 0 {
		t.Fatal(stderr)
	}
	sample, err := filepath.Abs("../internal/ingest/testdata/samples/trivy/scheme_2_many_vulns.json")
	if err != nil {
		t.Fatal(err)
	}
	type result struct {
		ScanID            string `json:"scan_id"`
		Format            string `json:"format"`
		ItemsRead         int    `json:"items_read"`
		FindingsCreated   int    `json:"findings_created"`
		FindingsUnchanged int    `json:"findings_unchanged"`
	}
	importJSON := func() result {
		code, out, stderr := run(t, env, "import", "--team", "Red", "--json", sample)
		if code != 0 {
			t.Fatalf("import = %d %s", code, stderr)
		}
		var r result
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		return r
	}
	first := importJSON()
	if first.Format != "trivy" || first.ItemsRead != 5 || first.FindingsCreated != 5 || first.ScanID == "" {
		t.Fatalf("first import = %+v", first)
	}
	if again := importJSON(); again.FindingsCreated != 0 || again.FindingsUnchanged != 5 {
		t.Fatalf("second import = %+v", again)
	}
	// The raw report is kept as an artifact of its scan, byte for byte.
	matches, _ := filepath.Glob(filepath.Join(dir, "artifacts", "*", first.ScanID, "report"))
	if len(matches) != 1 {
		t.Fatalf("artifact of scan %s not found", first.ScanID)
	}
	if kept, _ := os.ReadFile(matches[0]); !bytes.Equal(kept, mustRead(t, sample)) {
		t.Fatalf("artifact holds %d bytes that are not the report", len(kept))
	}

	data, _ := os.ReadFile(sample)
	cut := filepath.Join(dir, "cut.json")
	_ = os.WriteFile(cut, data[:len(data)/2], 0o600)
	textFile := filepath.Join(dir, "notes.txt")
	_ = os.WriteFile(textFile, []byte("not a report\n"), 0o600)
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"import", "--team", "Red", cut}, 1, "trivy report is malformed at offset"},
		{[]string{"import", "--team", "Red", textFile}, 1, "unrecognized report format"},
		{[]string{"import", "--team", "Red", "--format", "nessus", sample}, 2, `unknown format "nessus"`},
		{[]string{"import", "--team", "Nobody", sample}, 1, `no team named "Nobody"`},
		{[]string{"import", "--team", "Red", "--format", "grype", sample}, 1, "this looks like a trivy report; --format grype expects"},
		{[]string{"import", "--team", "Red", "--scope", "region=eu-west-1", sample}, 2, `scope "region=eu-west-1"`},
		{[]string{"import", "--team", "Red", "--import-max-bytes", "2048", sample}, 1, "over the 2048-byte limit"},
	} {
		code, _, stderr := run(t, env, c.args...)
		lines := strings.Split(strings.TrimSpace(stderr), "\n")
		if code != c.code || len(lines) != 1 || !strings.Contains(lines[0], c.want) {
			t.Errorf("%v = %d %q, want %d and %q", c.args, code, stderr, c.code, c.want)
		}
	}
	// Nothing of the failed imports became a finding: a third good import still finds 5 unchanged.
	if r := importJSON(); r.FindingsUnchanged != 5 || r.FindingsCreated != 0 {
		t.Fatalf("after failures = %+v", r)
	}
	// A clean scan of the image, as an empty Nuclei-style file with the
	// scan's scope named, records a scan and resolves the image's findings.
	empty := filepath.Join(dir, "clean-trivy.json")
	_ = os.WriteFile(empty, nil, 0o600)
	code, out, stderr := run(t, env, "import", "--team", "Red", "--format", "trivy", "--scope", "target=teamdojo:latest", empty)
	if code != 0 || !strings.Contains(out, "0 items read") || !strings.Contains(out, "5 resolved") {
		t.Fatalf("empty report with a scope = %d %q %q", code, out, stderr)
	}
}

// With an S3 bucket configured, cspm import keeps the raw report there,
// where the server reads artifacts, not in the local data directory.
func TestCLIImportKeepsTheReportInTheConfiguredBucket(t *testing.T) {
	t.Parallel()
	backend := s3mem.New()
	if err := backend.CreateBucket("evidence"); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gofakes3.New(backend).Server())
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	env := []string{"CSPM_DATA_DIR=" + dir, "CSPM_ARTIFACT_S3_ENDPOINT=" + srv.URL, "CSPM_ARTIFACT_S3_REGION=us-east-1",
		"CSPM_ARTIFACT_S3_BUCKET=evidence", "CSPM_ARTIFACT_S3_PREFIX=cspm", "CSPM_ARTIFACT_S3_ACCESS_KEY=minio",
		"CSPM_ARTIFACT_S3_SECRET_KEY=minio-secret"}
	if code, _, stderr := run(t, env, "team", "create", "Blue"); code != 0 {
		t.Fatal(stderr)
	}
	sample, err := filepath.Abs("../internal/ingest/testdata/samples/trivy/scheme_2_many_vulns.json")
	if err != nil {
		t.Fatal(err)
	}
	code, out, stderr := run(t, env, "import", "--team", "Blue", "--json", sample)
	if code != 0 {
		t.Fatalf("import = %d %s", code, stderr)
	}
	var r struct {
		ScanID string `json:"scan_id"`
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil || r.ScanID == "" {
		t.Fatalf("%v: %s", err, out)
	}
	want, _ := os.ReadFile(sample)
	list, err := backend.ListBucket("evidence", &gofakes3.Prefix{}, gofakes3.ListBucketPage{})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, c := range list.Contents {
		keys = append(keys, c.Key)
	}
	if len(keys) != 1 || !strings.HasPrefix(keys[0], "cspm/") || !strings.HasSuffix(keys[0], "/"+r.ScanID+"/report") {
		t.Fatalf("bucket holds %q, want the report of scan %s", keys, r.ScanID)
	}
	obj, err := backend.GetObject("evidence", keys[0], nil)
	if err != nil {
		t.Fatal(err)
	}
	defer obj.Contents.Close()
	got, _ := io.ReadAll(obj.Contents)
	if string(got) != string(want) {
		t.Fatalf("stored report is %d bytes, the file %d", len(got), len(want))
	}
	if matches, _ := filepath.Glob(filepath.Join(dir, "artifacts", "*", r.ScanID, "report")); len(matches) != 0 {
		t.Fatalf("report also written to the data directory: %v", matches)
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A report can come through a pipe (cspm import --team T <(prowler ...)):
// read once, imported and kept whole.
func TestCLIImportFromAPipe(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	env := []string{"CSPM_DATA_DIR=" + dir}
	if code, _, stderr := run(t, env, "team", "create", "Green"); code != 0 {
		t.Fatal(stderr)
	}
	sample := mustRead(t, "../internal/ingest/testdata/samples/trivy/scheme_2_many_vulns.json")
	fifo := filepath.Join(dir, "report.fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("no FIFOs here: %v", err)
	}
	go func() {
		w, err := os.OpenFile(fifo, os.O_WRONLY, 0)
		if err != nil {
			return
		}
		_, _ = w.Write(sample)
		_ = w.Close()
	}()
	code, out, stderr := run(t, env, "import", "--team", "Green", "--json", fifo)
	if code != 0 {
		t.Fatalf("import = %d %s", code, stderr)
	}
	var r struct {
		ScanID          string `json:"scan_id"`
		FindingsCreated int    `json:"findings_created"`
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil || r.FindingsCreated != 5 {
		t.Fatalf("%v: %s", err, out)
	}
	matches, _ := filepath.Glob(filepath.Join(dir, "artifacts", "*", r.ScanID, "report"))
	if len(matches) != 1 {
		t.Fatalf("artifact of scan %s not found", r.ScanID)
	}
	if kept, _ := os.ReadFile(matches[0]); !bytes.Equal(kept, sample) {
		t.Fatalf("artifact holds %d bytes that are not the report's %d", len(kept), len(sample))
	}
}
