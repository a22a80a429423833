package scanner_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/offloadsecurity/cspm/internal/scanner"
	"github.com/offloadsecurity/cspm/internal/scanner/scannertest"
)

func statusOf(t *testing.T, list []scanner.ToolStatus, name string) scanner.ToolStatus {
	t.Helper()
	for _, s := range list {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("%s is not in the inventory: %+v", name, list)
	return scanner.ToolStatus{}
}

// The inventory finds a configured tool, reads its version with its own
// --version, names the setting of each tool and says how to install one
// that is missing, whether the setting names a missing file or the tool is
// not on PATH.
func TestInventory(t *testing.T) {
	bin := t.TempDir()
	record := filepath.Join(t.TempDir(), "runs.jsonl")
	nmap := scannertest.Tool(t, bin, "nmap", scannertest.Behaviour{Version: "Nmap version 7.94SVN ( https://nmap.org )\nPlatform: x86_64", Record: record})
	broken := scannertest.Tool(t, bin, "trivy", scannertest.Behaviour{VersionExitCode: 2, Version: "fatal: no cache"})
	t.Setenv("PATH", t.TempDir()) // nothing on PATH (once the stand-in is built)
	cfg := scanner.Config{NmapBin: nmap, TrivyBin: broken, GrypeBin: filepath.Join(bin, "no-such-grype")}
	inv := scanner.NewInventory()
	list := inv.Check(context.Background(), cfg)
	if len(list) != len(scanner.AllTools) {
		t.Fatalf("%d tools listed, want %d (no docker without prowler_docker_image)", len(list), len(scanner.AllTools))
	}

	n := statusOf(t, list, "nmap")
	if !n.Found || n.Path != nmap || n.Version != "Nmap version 7.94SVN ( https://nmap.org )" || n.Problem != "" ||
		n.Setting != "nmap_bin" || n.Env != "CSPM_NMAP_BIN" || n.Configured != nmap || n.ScanTypes[0] != "network" {
		t.Fatalf("nmap %+v", n)
	}
	if runs := scannertest.Runs(t, record); len(runs) != 0 {
		t.Fatalf("the version check was recorded as a scan: %+v", runs)
	}
	tr := statusOf(t, list, "trivy")
	if !tr.Found || tr.Version != "" || !strings.Contains(tr.Problem, "version check failed") || !strings.Contains(tr.Problem, "fatal: no cache") {
		t.Fatalf("a trivy whose --version fails: %+v", tr)
	}
	g := statusOf(t, list, "grype")
	if g.Found || g.Path != "" || !strings.Contains(g.Problem, "grype_bin") || !strings.Contains(g.Problem, "does not exist") || !strings.Contains(g.Install, "install.sh") {
		t.Fatalf("a grype_bin that names no file: %+v", g)
	}
	w := statusOf(t, list, "wapiti")
	if w.Found || !strings.Contains(w.Problem, "not on PATH") || !strings.Contains(w.Problem, "wapiti_bin") || !strings.Contains(w.Install, "apt-get install wapiti") {
		t.Fatalf("a wapiti on no PATH: %+v", w)
	}
	if s := statusOf(t, list, "steampipe"); s.Executable != "powerpipe" || s.Setting != "steampipe_bin" {
		t.Fatalf("steampipe %+v", s)
	}

	// The version is remembered: the same executable is not run again
	// within the TTL, a new inventory runs it.
	scannertest.Tool(t, bin, "nmap", scannertest.Behaviour{Version: "Nmap version 7.95"})
	if v := inv.Tool(context.Background(), cfg, "nmap").Version; v != "Nmap version 7.94SVN ( https://nmap.org )" {
		t.Fatalf("version read again within the TTL: %q", v)
	}
	if v := scanner.NewInventory().Tool(context.Background(), cfg, "nmap").Version; v != "Nmap version 7.95" {
		t.Fatalf("a new inventory read %q", v)
	}
	// A tool installed on PATH is seen at once, by the same inventory.
	t.Setenv("PATH", bin)
	if c := inv.Tool(context.Background(), scanner.Config{}, "trivy"); !c.Found || c.Path != broken {
		t.Fatalf("trivy on PATH: %+v", c)
	}
}

// With prowler_docker_image, docker is listed, and Prowler is found when docker is.
func TestInventoryProwlerInDocker(t *testing.T) {
	bin := t.TempDir()
	docker := scannertest.Tool(t, bin, "docker", scannertest.Behaviour{Version: "Docker version 27.3.1, build ce12230"})
	cfg := scanner.Config{ProwlerDockerImage: "prowlercloud/prowler:stable", DockerBin: docker}
	list := scanner.NewInventory().Check(context.Background(), cfg)
	d := statusOf(t, list, "docker")
	if !d.Found || d.Version != "Docker version 27.3.1, build ce12230" || d.Setting != "docker_bin" {
		t.Fatalf("docker %+v", d)
	}
	p := statusOf(t, list, "prowler")
	if !p.Found || p.Via != "prowlercloud/prowler:stable" || p.Path != docker {
		t.Fatalf("prowler in docker %+v", p)
	}
	cfg.DockerBin = filepath.Join(bin, "missing-docker")
	p = scanner.NewInventory().Tool(context.Background(), cfg, "prowler")
	if p.Found || !strings.Contains(p.Problem, "through docker") || !strings.Contains(p.Install, "docker") {
		t.Fatalf("prowler without docker %+v", p)
	}
}

// Each kind of failure a tool reports is classed: permanent ones are not
// retried, transient ones are; a DNS failure is never taken for refused
// credentials, even when the tool goes on to print an authentication error.
func TestFailureClasses(t *testing.T) {
	bin := t.TempDir()
	cases := []struct {
		stderr string
		class  scanner.Class
		kind   string
	}{
		{"botocore.exceptions.EndpointConnectionError: Could not connect to the endpoint URL: \"https://sts.amazonaws.com/\"", scanner.Transient, "dns"},
		{"dial tcp: lookup sts.amazonaws.com on 127.0.0.53:53: no such host\nInvalidClientTokenId: could not validate", scanner.Transient, "dns"},
		{"curl: (6) Could not resolve host: registry.example", scanner.Transient, "dns"},
		{"socket.gaierror: [Errno -2] Name or service not known", scanner.Transient, "dns"},
		{"dial tcp 10.0.0.1:443: connect: connection refused", scanner.Transient, "connection"},
		{"read tcp: connection reset by peer", scanner.Transient, "connection"},
		{"An error occurred (ThrottlingException) when calling the DescribeInstances operation: Rate exceeded", scanner.Transient, "throttled"},
		{"An error occurred (ServiceUnavailable) when calling the GetBucketPolicy operation", scanner.Transient, "server error"},
		{"StatusCode: 503, RequestID: abc", scanner.Transient, "server error"},
		{"An error occurred (InvalidClientTokenId) when calling the GetCallerIdentity operation: The security token included in the request is invalid.", scanner.Permanent, "credentials refused"},
		{"AADSTS7000215: Invalid client secret provided.", scanner.Permanent, "credentials refused"},
		{"Failed to open XML output file data/scan-work/x/nmap-x.xml for writing", scanner.Permanent, "output file"},
		{"FATAL image scan error: could not parse reference: Not An Image", scanner.Permanent, "invalid target"},
		{"Segmentation fault", scanner.Transient, "unexplained"},
	}
	for _, c := range cases {
		nmap := scannertest.Tool(t, bin, "nmap", scannertest.Behaviour{ExitCode: 1, Stderr: c.stderr})
		cmd, err := scanner.Config{NmapBin: nmap}.Build(scanner.Job{Tool: scanner.Nmap, Target: "10.0.0.1", WorkDir: t.TempDir(), Name: "n"})
		if err != nil {
			t.Fatal(err)
		}
		res, err := scanner.Run(context.Background(), cmd, scanner.RunOptions{Timeout: time.Minute})
		if !errors.Is(err, scanner.ErrExitCode) {
			t.Fatalf("%q: %v", c.stderr, err)
		}
		f := scanner.Classify(scanner.Nmap, err, res.StderrTail)
		if f.Class != c.class || f.Kind != c.kind || f.Cause == "" {
			t.Errorf("%q: classed %+v, want %s %s", c.stderr, f, c.class, c.kind)
		}
		if f.Retry() != (c.class == scanner.Transient) {
			t.Errorf("%q: retry %v", c.stderr, f.Retry())
		}
		if got := scanner.IsCredentialError(res.StderrTail); got != (c.kind == "credentials refused") {
			t.Errorf("%q: IsCredentialError %v", c.stderr, got)
		}
	}

	// The executable is missing: permanent, and the cause names the
	// setting and how to install the tool.
	cmd, _ := scanner.Config{NmapBin: filepath.Join(bin, "no-nmap")}.Build(scanner.Job{Tool: scanner.Nmap, Target: "10.0.0.1", WorkDir: t.TempDir(), Name: "n"})
	_, err := scanner.Run(context.Background(), cmd, scanner.RunOptions{Timeout: time.Minute})
	f := scanner.Classify(scanner.Nmap, err, "")
	if f.Class != scanner.Permanent || f.Kind != "executable not found" || !strings.Contains(f.Cause, "nmap_bin") ||
		!strings.Contains(f.Cause, "apt-get install nmap") || !strings.HasPrefix(f.Label(), "permanent failure (not retried): ") {
		t.Fatalf("missing executable: %+v", f)
	}

	// The report file cannot be opened (its directory is gone): permanent.
	checkov := scannertest.Tool(t, bin, "checkov", scannertest.Behaviour{})
	cmd = scanner.Command{Path: checkov, Dir: t.TempDir(), Output: filepath.Join(t.TempDir(), "gone", "report.json"), ReportOnStdout: true}
	_, err = scanner.Run(context.Background(), cmd, scanner.RunOptions{Timeout: time.Minute})
	if f := scanner.Classify(scanner.Checkov, err, ""); f.Class != scanner.Permanent || f.Kind != "output file" {
		t.Fatalf("unwritable report: %v: %+v", err, f)
	}
	// So can the SubJob's directory not be entered.
	cmd = scanner.Command{Path: checkov, Dir: filepath.Join(bin, "no-dir"), Output: filepath.Join(bin, "r.json")}
	_, err = scanner.Run(context.Background(), cmd, scanner.RunOptions{Timeout: time.Minute})
	if f := scanner.Classify(scanner.Checkov, err, ""); f.Class != scanner.Permanent || f.Kind != "output file" {
		t.Fatalf("missing work directory: %v: %+v", err, f)
	}
	// A timeout is transient.
	if f := scanner.Classify(scanner.Nmap, scanner.ErrTimeout, ""); f.Class != scanner.Transient || f.Kind != "timeout" {
		t.Fatalf("timeout %+v", f)
	}
}
