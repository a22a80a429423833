package scanner_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/offloadsecurity/cspm/internal/scanner"
	"github.com/offloadsecurity/cspm/internal/scanner/scannertest"
)

// Code scans read paths under the configured roots only: no root, a
// relative path, a path outside, or a link out of a root is refused.
func TestCodeTargetsStayInTheirRoots(t *testing.T) {
	root, outside := t.TempDir(), t.TempDir()
	repo := filepath.Join(root, "repo")
	if err := os.MkdirAll(repo, 0o755); err != nil {
		t.Fatal(err)
	}
	lock := filepath.Join(repo, "package-lock.json")
	_ = os.WriteFile(lock, []byte("{}"), 0o600)
	if err := os.Symlink(outside, filepath.Join(root, "escape")); err != nil {
		t.Fatal(err)
	}
	if err := (scanner.Config{}).ValidateTarget("code", repo); err == nil {
		t.Error("a code scan without a configured root accepted")
	}
	cfg := scanner.Config{CodeRoots: []string{root}}
	for _, bad := range []string{"repo", outside, filepath.Join(root, "escape"), filepath.Join(root, "..", filepath.Base(outside)),
		filepath.Join(root, "missing"), "-d/etc", root + "-sibling"} {
		if err := cfg.ValidateTarget("code", bad); err == nil {
			t.Errorf("code target %q accepted", bad)
		}
	}
	for _, good := range []string{root, repo, lock} {
		if err := cfg.ValidateTarget("code", good); err != nil {
			t.Errorf("code target %q refused: %v", good, err)
		}
	}
	if _, err := cfg.Build(scanner.Job{Tool: scanner.Checkov, Target: outside, WorkDir: t.TempDir(), Name: "c"}); !errors.Is(err, scanner.ErrPermanent) {
		t.Errorf("runner built a command for a path outside the roots: %v", err)
	}
	// The other scan types are checked as before.
	if err := cfg.ValidateTarget("container", "alpine:3.19"); err != nil {
		t.Error(err)
	}
}

// Checkov and OSV-Scanner: a directory or a file, JSON out, and their exit
// codes for "found something" (1) and, for OSV-Scanner, "nothing to scan"
// (128: an empty report, a clean scan).
func TestCodeRunners(t *testing.T) {
	root := t.TempDir()
	lock := filepath.Join(root, "go.sum")
	_ = os.WriteFile(lock, nil, 0o600)
	cfg := scanner.Config{CodeRoots: []string{root}}
	ck, err := cfg.Build(scanner.Job{Tool: scanner.Checkov, Target: root, WorkDir: t.TempDir(), Name: "c"})
	if err != nil || !slices.Equal(ck.Args, []string{"--output", "json", "--quiet", "--compact", "--skip-download", "--directory", root}) ||
		!ck.ReportOnStdout || ck.Format != "checkov" || !slices.Contains(ck.OKExitCodes, 1) {
		t.Fatalf("checkov %q %+v %v", ck.Args, ck, err)
	}
	if f, _ := cfg.Build(scanner.Job{Tool: scanner.Checkov, Target: lock, WorkDir: t.TempDir(), Name: "c"}); !slices.Contains(f.Args, "--file") {
		t.Fatalf("checkov on a file %q", f.Args)
	}
	osv, err := cfg.Build(scanner.Job{Tool: scanner.OSV, Target: lock, WorkDir: t.TempDir(), Name: "o"})
	if err != nil || !slices.Equal(osv.Args, []string{"scan", "source", "--format", "json", "--output", osv.Output, "--lockfile", lock}) || osv.Format != "osv" {
		t.Fatalf("osv-scanner %q %v", osv.Args, err)
	}
	// A run that ends with "no packages" and no report leaves an empty one.
	bin := t.TempDir()
	osv.Path = scannertest.Tool(t, bin, "osv-scanner", scannertest.Behaviour{ExitCode: 128})
	if _, err := scanner.Run(context.Background(), osv, scanner.RunOptions{}); err != nil {
		t.Fatalf("nothing to scan: %v", err)
	}
	if st, err := os.Stat(osv.Output); err != nil || st.Size() != 0 {
		t.Fatalf("report after nothing to scan: %v %v", st, err)
	}
	// Checkov's report is what it prints.
	ck.Path = scannertest.Tool(t, bin, "checkov", scannertest.Behaviour{ExitCode: 1, Sample: scannertest.Sample(t, "checkov/checkov-report-many-vuln.json")})
	if _, err := scanner.Run(context.Background(), ck, scanner.RunOptions{}); err != nil {
		t.Fatalf("checkov with failed checks: %v", err)
	}
	if st, err := os.Stat(ck.Output); err != nil || st.Size() == 0 {
		t.Fatalf("checkov report: %v %v", st, err)
	}
}
