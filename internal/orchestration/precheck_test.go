package orchestration_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/offloadsecurity/cspm/internal/cloud"
	"github.com/offloadsecurity/cspm/internal/db"
	"github.com/offloadsecurity/cspm/internal/db/dbtest"
	"github.com/offloadsecurity/cspm/internal/orchestration"
	"github.com/offloadsecurity/cspm/internal/scanner"
	"github.com/offloadsecurity/cspm/internal/scanner/scannertest"
)

// A process that runs the workers refuses, before anything is queued, a
// scan whose tool it cannot find, and says which setting names it and how
// to install it; a cloud scan of an account whose connection test failed
// is refused too. A process without workers queues the scan unchecked.
func TestScanRefusedBeforeQueueing(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, reg *db.Registry) {
		b := setup(t, reg)
		ctx := context.Background()
		b.svc.CheckTools = true
		b.svc.Tools.NmapBin = filepath.Join(t.TempDir(), "no-nmap")
		_, err := b.svc.InitiateScan(ctx, teamA, orchestration.ScanParams{ScanType: "network", Tools: []string{"nmap"}, Targets: []string{"127.0.0.1"}})
		var missing *orchestration.ToolMissingError
		if !errors.Is(err, orchestration.ErrInvalid) || !errors.As(err, &missing) || missing.Tool.Name != "nmap" {
			t.Fatalf("a scan with a missing nmap: %v", err)
		}
		for _, want := range []string{"Nmap is not installed", "nmap_bin", "CSPM_NMAP_BIN", "apt-get install nmap", "does not exist"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("the refusal does not say %q: %v", want, err)
			}
		}
		if _, total, _ := b.svc.ScanRunList(ctx, orchestration.ListParams{TeamID: teamA}); total != 0 {
			t.Fatalf("a refused scan left %d runs", total)
		}

		// Installed, the same scan is queued and runs.
		b.tool(t, "nmap", scannertest.Behaviour{Sample: scannertest.Sample(t, "nmap/nmap_multiple_port.xml")})
		run, err := b.svc.InitiateScan(ctx, teamA, orchestration.ScanParams{ScanType: "network", Tools: []string{"nmap"}, Targets: []string{"127.0.0.1"}})
		if err != nil {
			t.Fatal(err)
		}
		if done := b.waitDone(t, teamA, run.ID); done.Status != "completed" {
			t.Fatalf("run %+v", done)
		}

		// Without workers in the process, nothing is checked here.
		b.svc.CheckTools = false
		b.svc.Tools.TrivyBin = filepath.Join(t.TempDir(), "no-trivy")
		run, err = b.svc.InitiateScan(ctx, teamA, orchestration.ScanParams{ScanType: "container", Tools: []string{"trivy"}, Targets: []string{"alpine:3.19"}})
		if err != nil {
			t.Fatalf("an API-only process refused a scan: %v", err)
		}
		done := b.waitDone(t, teamA, run.ID)
		if done.Status != "failed" || done.SubJobs[0].Attempts != 1 || !strings.Contains(done.SubJobs[0].Error, "permanent failure (not retried)") ||
			!strings.Contains(done.SubJobs[0].Error, "trivy_bin") {
			t.Fatalf("a missing trivy on the worker: %+v", done.SubJobs[0])
		}
		if !strings.Contains(b.logs.String(), "runs no workers") {
			t.Error("no warning that scans are queued unchecked")
		}

		// A cloud account whose connection test failed is not scanned.
		b.svc.CheckTools = true
		acct := b.awsAccount(t, teamA, "eu-west-1")
		if err := b.cloud.TestResultSet(ctx, teamA, acct.ID, cloud.TestResult{At: time.Now(), OK: false, Detail: "AWS refused the credentials"}); err != nil {
			t.Fatal(err)
		}
		_, err = b.svc.InitiateScan(ctx, teamA, orchestration.ScanParams{ScanType: "cloud", AccountID: acct.ID, Tools: []string{"prowler"}})
		if !errors.Is(err, orchestration.ErrInvalid) || !errors.Is(err, orchestration.ErrConnectionFailed) || !strings.Contains(err.Error(), "test the connection again") {
			t.Fatalf("a scan of an account whose test failed: %v", err)
		}
		if err := b.cloud.TestResultSet(ctx, teamA, acct.ID, cloud.TestResult{At: time.Now(), OK: true, Detail: "authenticated"}); err != nil {
			t.Fatal(err)
		}
		if _, err := b.svc.InitiateScan(ctx, teamA, orchestration.ScanParams{ScanType: "cloud", AccountID: acct.ID, Tools: []string{"prowler"}}); err != nil {
			t.Fatalf("a scan after a good test: %v", err)
		}
	})
}

// Failures are classed: permanent ones end the SubJob after one attempt,
// transient ones are retried up to scan_max_attempts (2 here); the
// SubJob's error names the class and the cause, and a DNS failure is never
// called refused credentials.
func TestFailureClassesDecideRetries(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, reg *db.Registry) {
		b := setup(t, reg)
		ctx := context.Background()
		cases := []struct {
			name     string
			beh      scannertest.Behaviour
			status   string
			attempts int
			want     []string
			not      []string
		}{
			{"dns", scannertest.Behaviour{ExitCode: 1, Stderr: "nmap: Could not resolve host scanme.example: Temporary failure in name resolution\nInvalidClientTokenId"},
				"failed", 2, []string{"failed after 2 attempts", "transient failure (retried with backoff)", "DNS"}, []string{"refused the credentials"}},
			{"connection refused, then fine", scannertest.Behaviour{Sample: scannertest.Sample(t, "nmap/nmap_multiple_port.xml"), FailTimes: 1,
				FailStderr: "connect: connection refused"}, "completed", 2, nil, nil},
			{"output file", scannertest.Behaviour{ExitCode: 1, Stderr: "Failed to open XML output file data/scan-work/x/nmap-x.xml for writing"},
				"failed", 1, []string{"permanent failure (not retried)", "report file", "scan_work_dir"}, nil},
			{"credentials", scannertest.Behaviour{ExitCode: 1, Stderr: "An error occurred (InvalidClientTokenId) when calling the GetCallerIdentity operation"},
				"failed", 1, []string{"permanent failure (not retried)", "refused the credentials"}, nil},
			{"unexplained", scannertest.Behaviour{ExitCode: 1, Stderr: "Segmentation fault"},
				"failed", 2, []string{"transient failure", "failed after 2 attempts"}, nil},
		}
		for _, c := range cases {
			c.beh.Record = filepath.Join(t.TempDir(), "runs.jsonl")
			b.tool(t, "nmap", c.beh)
			run, err := b.svc.InitiateScan(ctx, teamA, orchestration.ScanParams{ScanType: "network", Tools: []string{"nmap"}, Targets: []string{"127.0.0.1"}})
			if err != nil {
				t.Fatal(err)
			}
			done := b.waitDone(t, teamA, run.ID)
			sj := done.SubJobs[0]
			if done.Status != c.status || sj.Status != c.status || sj.Attempts != c.attempts || len(scannertest.Runs(t, c.beh.Record)) != c.attempts {
				t.Errorf("%s: run %s, SubJob %s after %d attempts (%d runs): %s", c.name, done.Status, sj.Status, sj.Attempts,
					len(scannertest.Runs(t, c.beh.Record)), sj.Error)
			}
			for _, w := range c.want {
				if !strings.Contains(sj.Error, w) {
					t.Errorf("%s: the error does not say %q: %s", c.name, w, sj.Error)
				}
			}
			for _, w := range c.not {
				if strings.Contains(sj.Error, w) {
					t.Errorf("%s: the error says %q: %s", c.name, w, sj.Error)
				}
			}
		}

		// The executable is missing on the worker: one attempt, and the
		// error says how to install it.
		b.svc.Tools.NmapBin = filepath.Join(t.TempDir(), "no-nmap")
		run, err := b.svc.InitiateScan(ctx, teamA, orchestration.ScanParams{ScanType: "network", Tools: []string{"nmap"}, Targets: []string{"127.0.0.1"}})
		if err != nil {
			t.Fatal(err)
		}
		sj := b.waitDone(t, teamA, run.ID).SubJobs[0]
		if sj.Status != "failed" || sj.Attempts != 1 || !strings.Contains(sj.Error, "executable was not found") || !strings.Contains(sj.Error, "apt-get install nmap") {
			t.Fatalf("missing nmap: %s after %d attempts: %s", sj.Status, sj.Attempts, sj.Error)
		}
	})
}

// An API process without workers checks a scan's tools against what the
// workers reported in the database: a tool no recent worker has is
// refused; when no worker reported lately, the scan is queued unchecked.
func TestAPIProcessChecksWhatWorkersReported(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, reg *db.Registry) {
		b := setup(t, reg)
		ctx := context.Background()
		b.tool(t, "nmap", scannertest.Behaviour{Sample: scannertest.Sample(t, "nmap/nmap_multiple_port.xml")})
		b.svc.CheckTools = false
		worker := orchestration.New(reg)
		worker.WorkerID = "host-1"
		worker.Tools = scanner.Config{NmapBin: b.svc.Tools.NmapBin, TrivyBin: filepath.Join(t.TempDir(), "no-trivy")}
		if err := worker.ReportTools(ctx); err != nil {
			t.Fatal(err)
		}
		_, err := b.svc.InitiateScan(ctx, teamA, orchestration.ScanParams{ScanType: "container", Tools: []string{"trivy"}, Targets: []string{"alpine:3.19"}})
		var missing *orchestration.ToolMissingError
		if !errors.As(err, &missing) || !strings.Contains(err.Error(), "none of the 1 workers") || !strings.Contains(err.Error(), "trivy_bin") {
			t.Fatalf("trivy, which no worker has: %v", err)
		}
		if _, err := b.svc.InitiateScan(ctx, teamA, orchestration.ScanParams{ScanType: "network", Tools: []string{"nmap"}, Targets: []string{"127.0.0.1"}}); err != nil {
			t.Fatalf("nmap, which the worker has: %v", err)
		}
		// A second worker with trivy makes it available.
		other := orchestration.New(reg)
		other.WorkerID, other.Tools = "host-2", scanner.Config{TrivyBin: b.svc.Tools.NmapBin}
		if err := other.ReportTools(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := b.svc.InitiateScan(ctx, teamA, orchestration.ScanParams{ScanType: "container", Tools: []string{"trivy"}, Targets: []string{"alpine:3.19"}}); err != nil {
			t.Fatalf("trivy, which the second worker has: %v", err)
		}
		if _, err := b.svc.InitiateScan(ctx, teamA, orchestration.ScanParams{ScanType: "container", Tools: []string{"grype"}, Targets: []string{"alpine:3.19"}}); !errors.As(err, &missing) {
			t.Fatalf("grype, which no worker has: %v", err)
		}
		// The status page lists each worker's report.
		reports, err := b.svc.WorkerReports(ctx)
		if err != nil || len(reports) != 2 || reports[0].WorkerID != "host-1" || reports[1].WorkerID != "host-2" {
			t.Fatalf("worker reports %+v, %v", reports, err)
		}
		has := func(r scanner.WorkerReport, tool string) bool {
			for _, wt := range r.Tools {
				if wt.Name == tool {
					return wt.Found
				}
			}
			t.Fatalf("%s's report has no %s: %+v", r.WorkerID, tool, r.Tools)
			return false
		}
		if !has(reports[0], "nmap") || has(reports[0], "trivy") || !has(reports[1], "trivy") || reports[0].ReportedAt.IsZero() {
			t.Errorf("worker reports %+v", reports)
		}
		// Reports older than a few minutes are workers that are gone: unchecked.
		b.svc.SetClock(func() time.Time { return time.Now().Add(orchestration.ToolReportStale + time.Minute) })
		if _, err := b.svc.InitiateScan(ctx, teamA, orchestration.ScanParams{ScanType: "container", Tools: []string{"grype"}, Targets: []string{"alpine:3.19"}}); err != nil {
			t.Fatalf("with only stale reports, a scan is queued unchecked: %v", err)
		}
		if reports, err := b.svc.WorkerReports(ctx); err != nil || len(reports) != 0 {
			t.Errorf("stale reports listed: %+v, %v", reports, err)
		}
	})
}
