package scanner_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/offloadsecurity/cspm/internal/cloud"
	"github.com/offloadsecurity/cspm/internal/scanner"
	"github.com/offloadsecurity/cspm/internal/scanner/scannertest"
)

const secretKey = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"

func awsJob(t *testing.T, tool string) scanner.Job {
	return scanner.Job{Tool: tool, Provider: cloud.AWS, AccountUID: "111122223333", Region: "eu-west-1", WorkDir: t.TempDir(), Name: "run1",
		Credentials: cloud.Credentials{Type: cloud.CredAccessKeys, AccessKeyID: "AKIAIOSFODNN7EXAMPLE", SecretAccessKey: secretKey}}
}

func envValue(env []string, key string) (string, bool) {
	for _, kv := range env {
		if k, v, _ := strings.Cut(kv, "="); k == key {
			return v, true
		}
	}
	return "", false
}

// Prowler: the argument vector the seed's UnifiedProwlerService uses, the
// credentials in the environment only, and exit code 3 (failing checks
// found) counted as a run that worked.
func TestProwlerRunner(t *testing.T) {
	t.Setenv("CSPM_SECRET_KEY", "must-not-reach-the-tool")
	t.Setenv("CSPM_DATABASE_URL", "postgres://user:pw@db/cspm")
	bin := t.TempDir()
	record := filepath.Join(t.TempDir(), "runs.jsonl")
	prowler := scannertest.Tool(t, bin, "prowler", scannertest.Behaviour{Sample: scannertest.Sample(t, "prowler/example_output_aws.ocsf.json"), ExitCode: 3, Record: record})
	cfg := scanner.Config{ProwlerBin: prowler}
	job := awsJob(t, scanner.Prowler)
	cmd, err := cfg.Build(job)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"aws", "--region", "eu-west-1", "-M", "json-ocsf", "-o", job.WorkDir, "-F", "run1", "--no-banner"}
	if !slices.Equal(cmd.Args, want) {
		t.Fatalf("args %q, want %q", cmd.Args, want)
	}
	if strings.Contains(strings.Join(cmd.Args, " "), secretKey) {
		t.Fatal("the secret key is in the argument vector")
	}
	res, err := scanner.Run(context.Background(), cmd, scanner.RunOptions{Timeout: time.Minute})
	if err != nil {
		t.Fatalf("exit code %d: %v", res.ExitCode, err)
	}
	if res.ExitCode != 3 || cmd.Output != filepath.Join(job.WorkDir, "run1.ocsf.json") || cmd.Format != "prowler-ocsf" {
		t.Fatalf("exit %d, output %s, format %s", res.ExitCode, cmd.Output, cmd.Format)
	}
	runs := scannertest.Runs(t, record)
	if len(runs) != 1 {
		t.Fatalf("%d runs", len(runs))
	}
	env := runs[0].Env
	if v, _ := envValue(env, "AWS_SECRET_ACCESS_KEY"); v != secretKey {
		t.Error("the secret key did not reach the tool's environment")
	}
	for _, leak := range []string{"CSPM_SECRET_KEY", "CSPM_DATABASE_URL"} {
		if _, ok := envValue(env, leak); ok {
			t.Errorf("the worker's %s reached the tool", leak)
		}
	}
	if _, ok := envValue(env, "PATH"); !ok {
		t.Error("PATH did not reach the tool")
	}

	// Any other non-zero exit is a failure, and the tool's last words are kept, credentials redacted.
	scannertest.Tool(t, bin, "prowler", scannertest.Behaviour{ExitCode: 1, Stderr: "botocore error: key " + secretKey + " InvalidClientTokenId"})
	res, err = scanner.Run(context.Background(), cmd, scanner.RunOptions{Timeout: time.Minute, Redact: job.Credentials.Secrets()})
	if !errors.Is(err, scanner.ErrExitCode) || res.ExitCode != 1 {
		t.Fatalf("exit 1: %v (%d)", err, res.ExitCode)
	}
	if strings.Contains(res.StderrTail, secretKey) || !strings.Contains(res.StderrTail, "[redacted]") {
		t.Fatalf("stderr tail not redacted: %q", res.StderrTail)
	}
	if !scanner.IsCredentialError(res.StderrTail) {
		t.Error("InvalidClientTokenId not recognised as a credential error")
	}
}

func TestProwlerProvidersAndRoles(t *testing.T) {
	cfg := scanner.Config{ProwlerBin: "/x/prowler"}
	j := awsJob(t, scanner.Prowler)
	j.Credentials = cloud.Credentials{Type: cloud.CredAssumeRole, RoleARN: "arn:aws:iam::111122223333:role/Audit", ExternalID: "ext-123"}
	cmd, err := cfg.Build(j)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(cmd.Args, "--role") || !slices.Contains(cmd.Args, "arn:aws:iam::111122223333:role/Audit") || !slices.Contains(cmd.Args, "ext-123") {
		t.Fatalf("assume role args %q", cmd.Args)
	}
	if _, ok := envValue(cmd.Env, "AWS_SECRET_ACCESS_KEY"); ok {
		t.Fatal("assume role passed access keys")
	}

	sa := `{"type":"service_account","client_email":"scan@p.iam.gserviceaccount.com","private_key":"-----BEGIN PRIVATE KEY-----\nMIIEv\n-----END PRIVATE KEY-----\n"}`
	g := scanner.Job{Tool: scanner.Prowler, Provider: cloud.GCP, AccountUID: "my-project-1", Region: "my-project-1", WorkDir: t.TempDir(), Name: "g",
		Credentials: cloud.Credentials{Type: cloud.CredServiceAccount, ServiceAccountJSON: sa}}
	cmd, err = cfg.Build(g)
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(g.WorkDir, "gcp-credentials.json")
	if !slices.Equal(cmd.Args[:5], []string{"gcp", "--project-id", "my-project-1", "--credentials-file", keyFile}) {
		t.Fatalf("gcp args %q", cmd.Args)
	}
	if st, err := os.Stat(keyFile); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", st, err)
	}

	az := scanner.Job{Tool: scanner.Prowler, Provider: cloud.Azure, AccountUID: "8f1c7c2e-2f4b-4c39-9a4e-0d5c1c1b2a3d", WorkDir: t.TempDir(), Name: "a",
		Credentials: cloud.Credentials{Type: cloud.CredClientSecret, TenantID: "0d5c1c1b-2a3d-4c39-9a4e-8f1c7c2e2f4b", ClientID: "2f4b0d5c-1c1b-4c39-9a4e-8f1c7c2e2a3d", ClientSecret: "s3cr3t-value"}}
	cmd, err = cfg.Build(az)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cmd.Args[:4], []string{"azure", "--sp-env-auth", "--subscription-ids", az.AccountUID}) {
		t.Fatalf("azure args %q", cmd.Args)
	}
	if v, _ := envValue(cmd.Env, "AZURE_CLIENT_SECRET"); v != "s3cr3t-value" || strings.Contains(strings.Join(cmd.Args, " "), "s3cr3t") {
		t.Fatal("azure secret not in the environment only")
	}
}

// The Docker path: the SubJob's directory is mounted where the Docker host
// sees it (PROWLER_HOST_OUTPUT_DIR), and credentials go by name only.
func TestProwlerDockerArgumentVector(t *testing.T) {
	root := t.TempDir()
	cfg := scanner.Config{ProwlerDockerImage: "prowlercloud/prowler:5.7.0", DockerBin: "/usr/bin/docker", WorkRoot: root,
		ProwlerHostOutputDir: "/srv/cspm/scan-work"}
	j := awsJob(t, scanner.Prowler)
	j.WorkDir = filepath.Join(root, "sub123")
	if err := os.MkdirAll(j.WorkDir, 0o700); err != nil {
		t.Fatal(err)
	}
	cmd, err := cfg.Build(j)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"run", "--rm", "--volume", "/srv/cspm/scan-work/sub123:/home/prowler/output",
		"--env", "AWS_ACCESS_KEY_ID", "--env", "AWS_SECRET_ACCESS_KEY", "prowlercloud/prowler:5.7.0",
		"aws", "--region", "eu-west-1", "-M", "json-ocsf", "-o", "/home/prowler/output", "-F", "run1", "--no-banner"}
	if cmd.Path != "/usr/bin/docker" || !slices.Equal(cmd.Args, want) {
		t.Fatalf("docker %s %q\nwant %q", cmd.Path, cmd.Args, want)
	}
	if cmd.Output != filepath.Join(j.WorkDir, "run1.ocsf.json") {
		t.Fatalf("the worker reads %s", cmd.Output)
	}
	if v, _ := envValue(cmd.Env, "AWS_SECRET_ACCESS_KEY"); v != secretKey {
		t.Fatal("docker's own environment must carry the value it forwards")
	}

	// Run through a stand-in docker: the report lands where the worker reads it.
	cfg.ProwlerHostOutputDir = ""
	bin := t.TempDir()
	cfg.DockerBin = scannertest.Tool(t, bin, "docker", scannertest.Behaviour{Sample: scannertest.Sample(t, "prowler/example_output_aws.ocsf.json")})
	if cmd, err = cfg.Build(j); err != nil {
		t.Fatal(err)
	}
	if _, err := scanner.Run(context.Background(), cmd, scanner.RunOptions{Timeout: time.Minute}); err != nil {
		t.Fatal(err)
	}
}

func TestOtherRunners(t *testing.T) {
	cfg := scanner.Config{}
	cases := []struct {
		job    scanner.Job
		args   []string
		format string
	}{
		{scanner.Job{Tool: scanner.Nmap, Target: "10.0.0.0/24", Ports: "22,443"}, []string{"-sT", "-Pn", "-sV", "--open", "-oX", "{out}", "-p", "22,443", "--", "10.0.0.0/24"}, "nmap"},
		{scanner.Job{Tool: scanner.Trivy, Target: "registry.example/app:1.2"}, []string{"image", "--format", "json", "--output", "{out}", "--quiet", "--scanners", "vuln,misconfig,secret", "--", "registry.example/app:1.2"}, "trivy"},
		{scanner.Job{Tool: scanner.Grype, Target: "alpine:3.19"}, []string{"alpine:3.19", "--output", "json", "--file", "{out}", "--quiet"}, "grype"},
	}
	for _, c := range cases {
		c.job.WorkDir, c.job.Name = t.TempDir(), "r"
		cmd, err := cfg.Build(c.job)
		if err != nil {
			t.Fatal(err)
		}
		want := slices.Clone(c.args)
		for i, a := range want {
			if a == "{out}" {
				want[i] = cmd.Output
			}
		}
		if !slices.Equal(cmd.Args, want) || cmd.Format != c.format {
			t.Errorf("%s: %q (%s), want %q", c.job.Tool, cmd.Args, cmd.Format, want)
		}
	}
	w, err := scanner.Config{WapitiModules: "http_headers", WapitiMaxScanTime: 60}.Build(scanner.Job{Tool: scanner.Wapiti, Target: "http://127.0.0.1:8080/app/", WorkDir: t.TempDir(), Name: "w"})
	if err != nil || w.Args[0] != "--url" || w.Args[1] != "http://127.0.0.1:8080/app/" || !slices.Contains(w.Args, "http_headers") || w.Format != "wapiti" {
		t.Fatalf("wapiti %q %v", w.Args, err)
	}
	sp, err := cfg.Build(scanner.Job{Tool: scanner.Steampipe, Provider: cloud.AWS, AccountUID: "111122223333", Region: "us-east-1", WorkDir: t.TempDir(), Name: "s"})
	if err != nil || !slices.Equal(sp.Args[:3], []string{"benchmark", "run", "aws_compliance.benchmark.cis_v400"}) || sp.Format != "powerpipe" || !slices.Contains(sp.OKExitCodes, 1) {
		t.Fatalf("powerpipe %q %v", sp.Args, err)
	}
	if v, _ := envValue(sp.Env, "AWS_REGION"); v != "us-east-1" {
		t.Fatal("powerpipe gets its region from AWS_REGION")
	}
}

// Nothing a user types can pass for an option or reach a shell.
func TestTargetsCannotInjectOptions(t *testing.T) {
	bad := map[string][]string{
		"network":   {"-oX /etc/passwd", "--script=exploit", "10.0.0.1; rm -rf /", "$(id)", "10.0.0.0/8", "a b", ""},
		"web":       {"-x", "file:///etc/passwd", "javascript:alert(1)", "http://user:pw@host/", "http://host/ --cookie x", "ftp://h/"},
		"container": {"--input=/etc/shadow", "Alpine:3", "img;id", "img name", "img$(id)"},
	}
	for typ, targets := range bad {
		for _, tg := range targets {
			if err := scanner.ValidateTarget(typ, tg); err == nil {
				t.Errorf("%s target %q accepted", typ, tg)
			}
		}
	}
	for typ, tg := range map[string]string{"network": "scanme.example.org", "web": "https://app.example/login", "container": "ghcr.io/org/app@sha256:abcd"} {
		if err := scanner.ValidateTarget(typ, tg); err != nil {
			t.Errorf("%s target %q refused: %v", typ, tg, err)
		}
	}
	if err := scanner.ValidatePorts("22,-sC"); err == nil {
		t.Error("ports with an option accepted")
	}
	if _, err := (scanner.Config{}).Build(scanner.Job{Tool: scanner.Nmap, Target: "-iL/etc/passwd", WorkDir: t.TempDir(), Name: "n"}); !errors.Is(err, scanner.ErrPermanent) {
		t.Errorf("runner built a command for an option-like target: %v", err)
	}
	if _, err := (scanner.Config{}).Build(scanner.Job{Tool: scanner.Prowler, Provider: cloud.AWS, AccountUID: "111122223333", Region: "--list-checks", WorkDir: t.TempDir(), Name: "p"}); err == nil {
		t.Error("an option-like region reached prowler")
	}
}

func alive(pid int) bool { return syscall.Kill(pid, 0) == nil }

// A timeout and a cancellation kill the tool's whole process group,
// grandchildren included.
func TestTimeoutAndCancelKillTheProcessGroup(t *testing.T) {
	for _, how := range []string{"timeout", "cancel"} {
		t.Run(how, func(t *testing.T) {
			bin, rec := t.TempDir(), filepath.Join(t.TempDir(), "runs.jsonl")
			started := filepath.Join(t.TempDir(), "started")
			nm := scannertest.Tool(t, bin, "nmap", scannertest.Behaviour{SleepMS: 60000, Chatter: true, Grandchild: true, Record: rec, StartedFile: started})
			cmd, err := scanner.Config{NmapBin: nm}.Build(scanner.Job{Tool: scanner.Nmap, Target: "127.0.0.1", WorkDir: t.TempDir(), Name: "n"})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			opts := scanner.RunOptions{Timeout: time.Minute}
			if how == "timeout" {
				opts.Timeout = 700 * time.Millisecond
			} else {
				go func() {
					for {
						if _, err := os.Stat(started); err == nil {
							cancel()
							return
						}
						time.Sleep(20 * time.Millisecond)
					}
				}()
			}
			start := time.Now()
			_, err = scanner.Run(ctx, cmd, opts)
			if how == "timeout" && !errors.Is(err, scanner.ErrTimeout) || how == "cancel" && !errors.Is(err, context.Canceled) {
				t.Fatalf("err %v", err)
			}
			if time.Since(start) > 20*time.Second {
				t.Fatalf("took %s", time.Since(start))
			}
			runs := scannertest.Runs(t, rec)
			raw, err := os.ReadFile(rec + ".grandchild")
			if err != nil || len(runs) != 1 {
				t.Fatalf("runs %d, grandchild %v", len(runs), err)
			}
			gc, _ := strconv.Atoi(string(raw))
			if runs[0].PGID != runs[0].PID {
				t.Fatalf("the tool is not a process group leader (pid %d, pgid %d)", runs[0].PID, runs[0].PGID)
			}
			deadline := time.Now().Add(5 * time.Second)
			for (alive(runs[0].PID) || alive(gc)) && time.Now().Before(deadline) {
				time.Sleep(50 * time.Millisecond)
			}
			if alive(runs[0].PID) || alive(gc) {
				t.Fatalf("tool %v or grandchild %v still alive", alive(runs[0].PID), alive(gc))
			}
		})
	}
}

// A tool that writes nothing for the stall timeout is stopped with a clear reason.
func TestStalledToolIsStopped(t *testing.T) {
	bin := t.TempDir()
	tr := scannertest.Tool(t, bin, "trivy", scannertest.Behaviour{SleepMS: 60000})
	cmd, err := scanner.Config{TrivyBin: tr}.Build(scanner.Job{Tool: scanner.Trivy, Target: "alpine:3.19", WorkDir: t.TempDir(), Name: "t"})
	if err != nil {
		t.Fatal(err)
	}
	ticks := 0
	_, err = scanner.Run(context.Background(), cmd, scanner.RunOptions{Timeout: time.Minute, StallTimeout: 600 * time.Millisecond, Tick: func() { ticks++ }})
	if !errors.Is(err, scanner.ErrStalled) || !strings.Contains(err.Error(), "no output for 600ms") {
		t.Fatalf("err %v", err)
	}
	if ticks == 0 {
		t.Error("no heartbeat while the tool ran")
	}
	// A chatty tool is not stalled, and a tool that exits 0 without a report is an error.
	scannertest.Tool(t, bin, "trivy", scannertest.Behaviour{SleepMS: 1200, Chatter: true})
	if _, err := scanner.Run(context.Background(), cmd, scanner.RunOptions{Timeout: time.Minute, StallTimeout: 600 * time.Millisecond}); !errors.Is(err, scanner.ErrNoReport) {
		t.Fatalf("chatty tool without a report: %v", err)
	}
	// A missing executable is permanent.
	cmd.Path = filepath.Join(bin, "nope")
	if _, err := scanner.Run(context.Background(), cmd, scanner.RunOptions{}); !errors.Is(err, scanner.ErrPermanent) {
		t.Fatalf("missing tool: %v", err)
	}
}
