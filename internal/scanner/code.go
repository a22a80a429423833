package scanner

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/offloadsecurity/cspm/internal/cloud"
)

// ValidateTarget checks a target of a scan type, with what this
// configuration allows: code scans read paths under CodeRoots only.
func (c Config) ValidateTarget(scanType, target string) error {
	if scanType != "code" {
		return ValidateTarget(scanType, target)
	}
	_, err := c.codePath(target)
	return err
}

// codePath resolves a code scan's target, a path on the worker, to the
// real path it names, which must be inside one of CodeRoots once symbolic
// links are followed (a link cannot lead a scan out of them).
func (c Config) codePath(target string) (string, error) {
	if len(c.CodeRoots) == 0 {
		return "", fmt.Errorf("%w: code scans are off: no code scan root is configured (code_scan_roots)", cloud.ErrInvalid)
	}
	if !filepath.IsAbs(target) || strings.ContainsRune(target, 0) {
		return "", fmt.Errorf("%w: a code scan target is an absolute path under %s", cloud.ErrInvalid, strings.Join(c.CodeRoots, ", "))
	}
	real, err := filepath.EvalSymlinks(filepath.Clean(target))
	if err != nil {
		return "", fmt.Errorf("%w: %s: no such file or directory on the worker", cloud.ErrInvalid, target)
	}
	for _, root := range c.CodeRoots {
		r, err := filepath.EvalSymlinks(root)
		if err != nil {
			continue
		}
		if rel, err := filepath.Rel(r, real); err == nil && rel != ".." && !strings.HasPrefix(rel, "../") {
			return real, nil
		}
	}
	return "", fmt.Errorf("%w: %s is outside the code scan roots (%s)", cloud.ErrInvalid, target, strings.Join(c.CodeRoots, ", "))
}

// code runs Checkov (infrastructure as code: a directory, or one file)
// or OSV-Scanner (dependencies: a directory, a lockfile or an SBOM) and
// writes its JSON report.
func (c Config) code(j Job) (Command, error) {
	path, err := c.codePath(j.Target)
	if err != nil {
		return Command{}, fmt.Errorf("%w: %w", ErrPermanent, err)
	}
	st, err := os.Stat(path)
	if err != nil {
		return Command{}, fmt.Errorf("%w: %w", ErrPermanent, err)
	}
	out := filepath.Join(j.WorkDir, j.Name+".json")
	if j.Tool == Checkov {
		// Checkov prints its report; exit code 1 means failed checks.
		args := []string{"--output", "json", "--quiet", "--compact", "--skip-download"}
		if st.IsDir() {
			args = append(args, "--directory", path)
		} else {
			args = append(args, "--file", path)
		}
		return Command{Path: binary(c.CheckovBin, "checkov"), Args: args, Env: baseEnv(), Dir: j.WorkDir, Output: out,
			ReportOnStdout: true, Format: "checkov", OKExitCodes: []int{1}}, nil
	}
	// OSV-Scanner 2: exit code 1 means vulnerabilities were found, 128 that
	// there were no packages to scan (an empty report, a clean scan).
	args := []string{"scan", "source", "--format", "json", "--output", out}
	if st.IsDir() {
		args = append(args, "--recursive", path)
	} else {
		args = append(args, "--lockfile", path)
	}
	return Command{Path: binary(c.OSVBin, "osv-scanner"), Args: args, Env: baseEnv(), Dir: j.WorkDir, Output: out,
		Format: "osv", OKExitCodes: []int{1}, NothingToScanCodes: []int{128}}, nil
}
