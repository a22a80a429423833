package orchestration_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/riverqueue/river"

	"github.com/offloadsecurity/cspm/internal/artifact"
	"github.com/offloadsecurity/cspm/internal/audit"
	"github.com/offloadsecurity/cspm/internal/cloud"
	"github.com/offloadsecurity/cspm/internal/db"
	"github.com/offloadsecurity/cspm/internal/db/dbtest"
	"github.com/offloadsecurity/cspm/internal/findings"
	"github.com/offloadsecurity/cspm/internal/nativescans"
	"github.com/offloadsecurity/cspm/internal/orchestration"
	"github.com/offloadsecurity/cspm/internal/queue"
	"github.com/offloadsecurity/cspm/internal/scanner"
	"github.com/offloadsecurity/cspm/internal/scanner/scannertest"
	"github.com/offloadsecurity/cspm/internal/secrets"
)

const (
	teamA     = "team-a"
	teamB     = "team-b"
	secretKey = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzzSECRETzz"
)

// syncBuffer is a log sink the workers write to while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type bundle struct {
	reg      *db.Registry
	svc      *orchestration.Service
	cloud    *cloud.Service
	findings *findings.Store
	history  *nativescans.Service
	bin      string
	record   string
	logs     *syncBuffer
	dataDir  string
}

// tool installs a stand-in and points the runners at it.
func (b *bundle) tool(t *testing.T, name string, beh scannertest.Behaviour) {
	t.Helper()
	if beh.Record == "" {
		beh.Record = b.record
	}
	p := scannertest.Tool(t, b.bin, name, beh)
	switch name {
	case "prowler":
		b.svc.Tools.ProwlerBin = p
	case "powerpipe":
		b.svc.Tools.SteampipeBin = p
	case "nmap":
		b.svc.Tools.NmapBin = p
	case "trivy":
		b.svc.Tools.TrivyBin = p
	case "grype":
		b.svc.Tools.GrypeBin = p
	case "wapiti":
		b.svc.Tools.WapitiBin = p
	case "checkov":
		b.svc.Tools.CheckovBin = p
	case "osv-scanner":
		b.svc.Tools.OSVBin = p
	}
}

// setup builds the orchestrator on reg with a running River client.
func setup(t *testing.T, reg *db.Registry) *bundle {
	t.Helper()
	key := make([]byte, secrets.KeySize)
	_, _ = rand.Read(key)
	box, err := secrets.NewBox(key)
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	logger := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	dataDir := t.TempDir()
	arts, err := artifact.NewLocal(filepath.Join(dataDir, "artifacts"))
	if err != nil {
		t.Fatal(err)
	}
	b := &bundle{reg: reg, cloud: cloud.New(reg, box), findings: findings.NewStore(reg), history: nativescans.New(reg), bin: t.TempDir(),
		record: filepath.Join(t.TempDir(), "runs.jsonl"), logs: logs, dataDir: dataDir}
	al := audit.New(reg, logger)
	b.cloud.Audit = al
	b.findings.Logger = logger
	svc := orchestration.New(reg)
	svc.Cloud, svc.Findings, svc.Artifacts, svc.Logger, svc.Audit = b.cloud, b.findings, arts, logger, al
	svc.WorkRoot, svc.WorkerID = filepath.Join(dataDir, "work"), "test-worker"
	svc.Limits.Timeout, svc.Limits.StallTimeout, svc.Limits.MaxAttempts, svc.Limits.WaitPoll = time.Minute, 20*time.Second, 2, 200*time.Millisecond
	b.svc = svc

	b.startWorkers(t)
	b.tool(t, "prowler", scannertest.Behaviour{Sample: scannertest.Sample(t, "prowler/example_output_aws.ocsf.json"), ExitCode: 3})
	pp, _ := filepath.Abs("testdata/powerpipe_aws.json")
	b.tool(t, "powerpipe", scannertest.Behaviour{Sample: pp, ExitCode: 1})
	return b
}

// startWorkers starts a River client with the scan workers, as a worker
// process would, and makes it the service's queue.
func (b *bundle) startWorkers(t *testing.T) *queue.Client {
	t.Helper()
	w := river.NewWorkers()
	river.AddWorker(w, &orchestration.ExecuteCloudScanWorker{Service: b.svc})
	river.AddWorker(w, &orchestration.ExecuteScanWorker{Service: b.svc})
	queues := map[string]int{}
	for _, tool := range scanner.AllTools {
		queues[orchestration.ToolQueue(tool)] = 2
	}
	client, err := queue.New(b.reg, queue.Options{Workers: w, Queues: queues, Logger: b.svc.Logger, Concurrency: 2})
	if err != nil {
		t.Fatal(err)
	}
	b.svc.Queue = client
	if err := client.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = client.StopAndCancel(ctx)
	})
	return client
}

func (b *bundle) awsAccount(t *testing.T, teamID string, regions ...string) cloud.Account {
	t.Helper()
	a, err := b.cloud.AccountCreate(context.Background(), teamID, "admin@example.com", cloud.AccountParams{Provider: "aws", AccountUID: "111122223333",
		Alias: "prod", Regions: regions, Credentials: &cloud.Credentials{Type: cloud.CredAccessKeys, AccessKeyID: "AKIAIOSFODNN7EXAMPLE", SecretAccessKey: secretKey}})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// wait polls a run until cond holds.
func (b *bundle) wait(t *testing.T, teamID, runID string, what string, cond func(orchestration.ScanRun) bool) orchestration.ScanRun {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		run, err := b.svc.ScanRunGet(context.Background(), teamID, runID)
		if err != nil {
			t.Fatal(err)
		}
		if cond(run) {
			return run
		}
		if time.Now().After(deadline) {
			t.Fatalf("run never %s: %+v", what, run)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitDone polls a run until it is final and the unified history says so
// too: a run is mirrored there just after the transaction that finished it.
func (b *bundle) waitDone(t *testing.T, teamID, runID string) orchestration.ScanRun {
	t.Helper()
	return b.wait(t, teamID, runID, "finished", func(r orchestration.ScanRun) bool {
		if !orchestration.Terminal(r.Status) {
			return false
		}
		rec, err := b.history.ScanResultGet(context.Background(), teamID, runID)
		return err == nil && rec.Status == r.Status
	})
}

func findingsOf(t *testing.T, b *bundle, teamID, scanID string) findings.ListResult {
	t.Helper()
	l, err := b.findings.FindingList(context.Background(), findings.ListParams{TeamID: teamID, Scan: scanID, Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// The seed's lifecycle: InitiateScan plans one SubJob per region and tool,
// the workers run the tools, keep their reports, import them, and the run
// completes in the unified history with the findings of every SubJob.
func TestCloudScanLifecycle(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, reg *db.Registry) {
		b := setup(t, reg)
		ctx := context.Background()
		acct := b.awsAccount(t, teamA, "eu-west-1", "us-east-1")
		run, err := b.svc.InitiateScan(ctx, teamA, orchestration.ScanParams{ScanType: "cloud", AccountID: acct.ID,
			Tools: []string{"prowler", "steampipe"}, CreatedBy: "analyst@example.com"})
		if err != nil {
			t.Fatal(err)
		}
		if run.Status != "queued" || run.SubJobsTotal != 4 || len(run.SubJobs) != 4 || !slices.Equal(run.Regions, []string{"eu-west-1", "us-east-1"}) {
			t.Fatalf("planned %+v", run)
		}
		for _, sj := range run.SubJobs {
			if sj.RiverJobID == 0 {
				t.Fatal("a SubJob without its River job")
			}
		}
		done := b.waitDone(t, teamA, run.ID)
		if done.Status != "completed" || done.SubJobsDone != 4 || done.Progress != 1 || done.StartedAt == nil || done.FinishedAt == nil {
			t.Fatalf("finished %+v", done)
		}
		byTool := map[string]int{}
		for _, sj := range done.SubJobs {
			if sj.Status != "completed" || !sj.HasArtifact || sj.Attempts != 1 || sj.ExitCode == nil {
				t.Fatalf("sub job %+v", sj)
			}
			byTool[sj.Tool] += sj.ItemsRead
		}
		// Each region's Prowler run read the whole sample; the same findings
		// in two SubJobs of one run are one finding each.
		list := findingsOf(t, b, teamA, run.ID)
		if byTool["prowler"] == 0 || byTool["steampipe"] != 6 || list.Total == 0 {
			t.Fatalf("items %v, findings %d", byTool, list.Total)
		}
		distinct := map[string]bool{}
		for _, f := range list.Findings {
			distinct[f.Fingerprint] = true
		}
		if len(distinct) != list.Total || list.Total != byTool["prowler"]/2+3 {
			t.Fatalf("%d findings (%d distinct), prowler items %d", list.Total, len(distinct), byTool["prowler"])
		}
		// The unified history holds one record for the run.
		rec, err := b.history.ScanResultGet(ctx, teamA, run.ID)
		if err != nil {
			t.Fatal(err)
		}
		if rec.Status != "completed" || rec.Source != "scan" || rec.ScanType != "cloud" || rec.AccountUID != "111122223333" ||
			rec.FindingsCreated != list.Total || rec.Tool != "prowler+steampipe" {
			t.Fatalf("history %+v (findings %d)", rec, list.Total)
		}
		// The tools got their regions and the credentials through the environment.
		runs := scannertest.Runs(t, b.record)
		regions := map[string]bool{}
		for _, r := range runs {
			if r.Tool == "prowler" {
				regions[r.Args[2]] = true
			}
			if !slices.Contains(r.Env, "AWS_SECRET_ACCESS_KEY="+secretKey) || strings.Contains(strings.Join(r.Args, " "), secretKey) {
				t.Fatalf("%s: credentials not (only) in the environment", r.Tool)
			}
		}
		if len(runs) != 4 || !regions["eu-west-1"] || !regions["us-east-1"] {
			t.Fatalf("runs %d, prowler regions %v", len(runs), regions)
		}
		// The reports are kept and readable; the SubJobs' work directories are gone.
		rc, name, err := b.svc.ArtifactOpen(ctx, teamA, run.ID, done.SubJobs[0].ID)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(rc)
		rc.Close()
		if len(raw) == 0 || !strings.HasSuffix(name, ".json") {
			t.Fatalf("artifact %s: %d bytes", name, len(raw))
		}
		if _, _, err := b.svc.ArtifactOpen(ctx, teamB, run.ID, done.SubJobs[0].ID); !errors.Is(err, db.ErrNotFound) {
			t.Fatalf("team B opened team A's artifact: %v", err)
		}
		// The last SubJob removes its directory just after it finishes.
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			left, _ := os.ReadDir(filepath.Join(b.dataDir, "work"))
			if len(left) == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("work directories left: %d", len(left))
			}
		}
		// Scanning again finds the same findings: nothing new, nothing duplicated.
		again, err := b.svc.InitiateScan(ctx, teamA, orchestration.ScanParams{ScanType: "cloud", AccountID: acct.ID, Tools: []string{"prowler", "steampipe"}})
		if err != nil {
			t.Fatal(err)
		}
		b.waitDone(t, teamA, again.ID)
		rec2, _ := b.history.ScanResultGet(ctx, teamA, again.ID)
		if rec2.FindingsCreated != 0 || rec2.FindingsUnchanged == 0 || findingsOf(t, b, teamA, again.ID).Total != list.Total {
			t.Fatalf("second run %+v", rec2)
		}
	})
}

// Planning refuses what cannot run, and an account of another team is no account.
func TestInitiateScanValidation(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, reg *db.Registry) {
		b := setup(t, reg)
		ctx := context.Background()
		acct := b.awsAccount(t, teamA, "eu-west-1")
		bad := []orchestration.ScanParams{
			{ScanType: "cloud", AccountID: acct.ID},
			{ScanType: "cloud", AccountID: acct.ID, Tools: []string{"nmap"}},
			{ScanType: "cloud", AccountID: acct.ID, Tools: []string{"prowler"}, Regions: []string{"us-west-2"}}, // not allowed for the account
			{ScanType: "cloud", AccountID: acct.ID, Tools: []string{"prowler"}, Regions: []string{"--help"}},
			{ScanType: "network", Tools: []string{"nmap"}, Targets: []string{"-iL /etc/passwd"}},
			{ScanType: "network", Tools: []string{"nmap"}, Targets: []string{"10.0.0.1"}, Ports: "1-2,-sC"},
			{ScanType: "web", Tools: []string{"wapiti"}, Targets: []string{"file:///etc/passwd"}},
			{ScanType: "container", Tools: []string{"trivy"}},
		}
		for _, p := range bad {
			if _, err := b.svc.InitiateScan(ctx, teamA, p); !errors.Is(err, orchestration.ErrInvalid) {
				t.Errorf("%+v: %v", p, err)
			}
		}
		if _, err := b.svc.InitiateScan(ctx, teamB, orchestration.ScanParams{ScanType: "cloud", AccountID: acct.ID, Tools: []string{"prowler"}}); !errors.Is(err, db.ErrNotFound) {
			t.Errorf("team B scanned team A's account: %v", err)
		}
		runs, total, err := b.svc.ScanRunList(ctx, orchestration.ListParams{TeamID: teamA})
		if err != nil || total != 0 || len(runs) != 0 {
			t.Fatalf("refused requests left runs: %d %v", total, err)
		}
	})
}

// A transient failure is retried; bad credentials are not; a run with a
// failed SubJob is partial and says why.
func TestRetriesAndFailures(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, reg *db.Registry) {
		b := setup(t, reg)
		ctx := context.Background()
		acct := b.awsAccount(t, teamA, "eu-west-1")
		b.tool(t, "prowler", scannertest.Behaviour{Sample: scannertest.Sample(t, "prowler/example_output_aws.ocsf.json"), ExitCode: 3, FailTimes: 1,
			Record: filepath.Join(t.TempDir(), "prowler.jsonl")})
		b.tool(t, "powerpipe", scannertest.Behaviour{ExitCode: 41, Stderr: "Error: InvalidClientTokenId: The security token included in the request is invalid. key=" + secretKey})
		run, err := b.svc.InitiateScan(ctx, teamA, orchestration.ScanParams{ScanType: "cloud", AccountID: acct.ID, Tools: []string{"prowler", "steampipe"}})
		if err != nil {
			t.Fatal(err)
		}
		done := b.waitDone(t, teamA, run.ID)
		if done.Status != "partial" || done.SubJobsFailed != 1 || !strings.Contains(done.StatusDetail, "steampipe eu-west-1") {
			t.Fatalf("run %+v", done)
		}
		for _, sj := range done.SubJobs {
			switch sj.Tool {
			case "prowler":
				if sj.Status != "completed" || sj.Attempts != 2 {
					t.Errorf("prowler: %s after %d attempts (%s)", sj.Status, sj.Attempts, sj.Error)
				}
			case "steampipe":
				if sj.Status != "failed" || sj.Attempts != 1 || !strings.Contains(sj.Error, "exit code 41") || !strings.Contains(sj.Error, "InvalidClientTokenId") {
					t.Errorf("steampipe: %s after %d attempts: %s", sj.Status, sj.Attempts, sj.Error)
				}
				if strings.Contains(sj.Error, secretKey) {
					t.Error("the secret key is in the SubJob's error")
				}
			}
		}
		rec, _ := b.history.ScanResultGet(ctx, teamA, run.ID)
		if rec.Status != "partial" || rec.Error == "" {
			t.Fatalf("history %+v", rec)
		}
		if strings.Contains(b.logs.String(), secretKey) {
			t.Fatal("the secret key is in the logs")
		}
	})
}

// Cancelling stops queued SubJobs at once and kills running tools.
func TestCancel(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, reg *db.Registry) {
		b := setup(t, reg)
		ctx := context.Background()
		started := filepath.Join(t.TempDir(), "started")
		b.tool(t, "nmap", scannertest.Behaviour{SleepMS: 120000, Chatter: true, StartedFile: started})
		b.svc.Limits.StallTimeout = 2 * time.Second // heartbeats every half second
		targets := []string{"10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5"}
		run, err := b.svc.InitiateScan(ctx, teamA, orchestration.ScanParams{ScanType: "network", Tools: []string{"nmap"}, Targets: targets})
		if err != nil {
			t.Fatal(err)
		}
		b.wait(t, teamA, run.ID, "running", func(r orchestration.ScanRun) bool { return r.Status == "running" })
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			if _, err := os.Stat(started); err == nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the tool never started")
			}
		}
		if _, err := b.svc.ScanRunCancel(ctx, teamB, run.ID, "x"); !errors.Is(err, db.ErrNotFound) {
			t.Fatalf("team B cancelled team A's run: %v", err)
		}
		start := time.Now()
		if _, err := b.svc.ScanRunCancel(ctx, teamA, run.ID, "analyst@example.com"); err != nil {
			t.Fatal(err)
		}
		done := b.waitDone(t, teamA, run.ID)
		if done.Status != "cancelled" || time.Since(start) > 20*time.Second {
			t.Fatalf("run %s after %s", done.Status, time.Since(start))
		}
		for _, sj := range done.SubJobs {
			if sj.Status != "cancelled" {
				t.Errorf("sub job %s: %s", sj.Target, sj.Status)
			}
		}
		if n := len(scannertest.Runs(t, b.record)); n == 0 || n > 2 {
			t.Fatalf("%d tools started (concurrency 2)", n)
		}
		// A job that read its SubJob as queued just before the run was
		// cancelled must not mark it running again: River cancelled that
		// job, and the SubJob would wait for it forever.
		last := done.SubJobs[len(done.SubJobs)-1]
		if started, err := b.svc.MarkRunning(ctx, last, 1); err != nil || started {
			t.Fatalf("a cancelled SubJob marked running: %v %v", started, err)
		}
		if after, err := b.svc.ScanRunGet(ctx, teamA, run.ID); err != nil || after.Status != "cancelled" ||
			after.SubJobs[len(after.SubJobs)-1].Status != "cancelled" {
			t.Fatalf("after a late start: %v %+v", err, after)
		}
	})
}

// One running ScanRun per account: a later run waits, visibly queued.
func TestOneRunningScanPerAccount(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, reg *db.Registry) {
		b := setup(t, reg)
		ctx := context.Background()
		b.tool(t, "prowler", scannertest.Behaviour{Sample: scannertest.Sample(t, "prowler/example_output_aws.ocsf.json"), ExitCode: 3, SleepMS: 1500, Chatter: true})
		acct := b.awsAccount(t, teamA, "eu-west-1")
		first, err := b.svc.InitiateScan(ctx, teamA, orchestration.ScanParams{ScanType: "cloud", AccountID: acct.ID, Tools: []string{"prowler"}})
		if err != nil {
			t.Fatal(err)
		}
		second, err := b.svc.InitiateScan(ctx, teamA, orchestration.ScanParams{ScanType: "cloud", AccountID: acct.ID, Tools: []string{"prowler"}})
		if err != nil {
			t.Fatal(err)
		}
		waiting := b.wait(t, teamA, second.ID, "waiting", func(r orchestration.ScanRun) bool {
			return strings.HasPrefix(r.StatusDetail, "waiting for scan "+first.ID)
		})
		if waiting.Status != "queued" {
			t.Fatalf("waiting run is %s", waiting.Status)
		}
		f := b.waitDone(t, teamA, first.ID)
		s := b.waitDone(t, teamA, second.ID)
		if f.Status != "completed" || s.Status != "completed" || s.StatusDetail != "" || s.StartedAt.Before(*f.FinishedAt) {
			t.Fatalf("first %s (finished %v), second %s (started %v) %q", f.Status, f.FinishedAt, s.Status, s.StartedAt, s.StatusDetail)
		}
	})
}

// A worker that died after its import committed: the re-run records the
// part it finds instead of importing it again.
func TestRerunAfterCommittedImportDoesNotDuplicate(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, reg *db.Registry) {
		b := setup(t, reg)
		ctx := context.Background()
		b.tool(t, "trivy", scannertest.Behaviour{Sample: scannertest.Sample(t, "trivy/scheme_2_many_vulns.json")})
		run, err := b.svc.InitiateScan(ctx, teamA, orchestration.ScanParams{ScanType: "container", Tools: []string{"trivy"}, Targets: []string{"registry.example/app:1"}})
		if err != nil {
			t.Fatal(err)
		}
		done := b.waitDone(t, teamA, run.ID)
		first := findingsOf(t, b, teamA, run.ID).Total
		if done.Status != "completed" || first == 0 {
			t.Fatalf("run %s with %d findings", done.Status, first)
		}
		sj := done.SubJobs[0]
		part, ok, err := b.findings.ImportPartGet(ctx, teamA, sj.ID)
		if err != nil || !ok || part.FindingsCreated != first || part.BySeverity == nil {
			t.Fatalf("part %+v %v %v", part, ok, err)
		}
		// The worker "dies" after the import committed: the SubJob is still
		// running when River hands its job to another worker.
		if err := reg.Get(db.Orchestration).InTeam(ctx, teamA, func(q db.Querier) error {
			if _, err := q.ExecContext(ctx, "UPDATE sub_jobs SET status = 'running', finished_at = NULL, findings_created = 0 WHERE id = $1", sj.ID); err != nil {
				return err
			}
			_, err := q.ExecContext(ctx, "UPDATE scan_runs SET status = 'running', finished_at = NULL, items_read = 0, findings_created = 0, by_severity = '{}' WHERE id = $1", run.ID)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		b.tool(t, "trivy", scannertest.Behaviour{ExitCode: 1, Stderr: "must not run"})
		before := len(scannertest.Runs(t, b.record))
		if _, err := b.svc.Queue.Insert(ctx, orchestration.ExecuteScanArgs{SubJobArgs: orchestration.SubJobArgs{TeamID: teamA, ScanRunID: run.ID,
			SubJobID: sj.ID, Tool: "trivy"}}, &river.InsertOpts{Queue: orchestration.ToolQueue("trivy")}); err != nil {
			t.Fatal(err)
		}
		again := b.waitDone(t, teamA, run.ID)
		if again.Status != "completed" || again.SubJobs[0].FindingsCreated != first || again.FindingsCreated != first || len(scannertest.Runs(t, b.record)) != before {
			t.Fatalf("re-run: %s, created %d (want %d), tool runs %d -> %d", again.Status, again.SubJobs[0].FindingsCreated, first, before, len(scannertest.Runs(t, b.record)))
		}
		if n := findingsOf(t, b, teamA, run.ID).Total; n != first {
			t.Fatalf("%d findings after the re-run, %d before", n, first)
		}
	})
}

// Credentials are sealed: no database file, log line or error holds them.
func TestNoSecretAtRest(t *testing.T) {
	t.Parallel()
	b := setup(t, dbtest.Open(t, dbtest.Engine{Name: "sqlite"}))
	ctx := context.Background()
	acct := b.awsAccount(t, teamA, "eu-west-1")
	run, err := b.svc.InitiateScan(ctx, teamA, orchestration.ScanParams{ScanType: "cloud", AccountID: acct.ID, Tools: []string{"prowler"}})
	if err != nil {
		t.Fatal(err)
	}
	b.waitDone(t, teamA, run.ID)
	_, creds, err := b.cloud.CredentialsOpen(ctx, teamA, acct.ID)
	if err != nil || creds.SecretAccessKey != secretKey {
		t.Fatalf("open: %v", err)
	}
	found := 0
	for _, n := range db.Names {
		loc := reg(b).Get(n).Location()
		for _, suffix := range []string{"", "-wal"} {
			raw, err := os.ReadFile(loc + suffix)
			if err != nil {
				continue
			}
			found++
			if bytes.Contains(raw, []byte(secretKey)) || bytes.Contains(raw, []byte("AKIAIOSFODNN7EXAMPLE")) {
				t.Errorf("%s%s holds the credentials in plain text", loc, suffix)
			}
		}
	}
	if found < len(db.Names) {
		t.Fatalf("read %d database files", found)
	}
	if strings.Contains(b.logs.String(), secretKey) {
		t.Fatal("the secret key is in the logs")
	}
}

func reg(b *bundle) *db.Registry { return b.reg }

func TestNextRun(t *testing.T) {
	t.Parallel()
	at := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	cases := []struct {
		freq          string
		weekday, hour int
		now, want     string
	}{
		{"daily", 0, 3, "2026-11-28T02:59:00Z", "2026-11-28T03:00:00Z"},
		{"daily", 0, 3, "2026-11-28T03:00:00Z", "2026-11-29T03:00:00Z"}, // not the same instant again
		{"daily", 0, 0, "2026-12-31T23:30:00Z", "2027-01-01T00:00:00Z"},
		{"weekly", 1, 6, "2026-11-28T10:00:00Z", "2026-11-30T06:00:00Z"}, // Saturday -> Monday
		{"weekly", 6, 6, "2026-11-28T05:00:00Z", "2026-11-28T06:00:00Z"}, // later today
		{"weekly", 6, 6, "2026-11-28T07:00:00Z", "2026-12-05T06:00:00Z"}, // a week on
	}
	for _, c := range cases {
		if got := orchestration.NextRun(c.freq, c.weekday, c.hour, at(c.now)); !got.Equal(at(c.want)) {
			t.Errorf("%s %d %d from %s: %s, want %s", c.freq, c.weekday, c.hour, c.now, got, c.want)
		}
	}
}

// Schedules start runs when due, once, and survive in the database.
func TestSchedules(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, reg *db.Registry) {
		b := setup(t, reg)
		ctx := context.Background()
		acct := b.awsAccount(t, teamA, "eu-west-1", "us-east-1")
		if _, err := b.svc.ScheduleCreate(ctx, teamA, "a", orchestration.ScheduleParams{AccountID: acct.ID, Tools: []string{"prowler"}, Frequency: "hourly"}); !errors.Is(err, orchestration.ErrInvalid) {
			t.Fatalf("bad frequency: %v", err)
		}
		if _, err := b.svc.ScheduleCreate(ctx, teamB, "b", orchestration.ScheduleParams{AccountID: acct.ID, Tools: []string{"prowler"}, Frequency: "daily"}); !errors.Is(err, db.ErrNotFound) {
			t.Fatalf("team B scheduled team A's account: %v", err)
		}
		sc, err := b.svc.ScheduleCreate(ctx, teamA, "admin@example.com", orchestration.ScheduleParams{AccountID: acct.ID, Tools: []string{"prowler"},
			Regions: []string{"eu-west-1"}, Frequency: "daily", Hour: 4})
		if err != nil {
			t.Fatal(err)
		}
		if !sc.NextRunAt.After(time.Now()) || sc.NextRunAt.Hour() != 4 || !sc.Enabled {
			t.Fatalf("schedule %+v", sc)
		}
		// Before it is due: nothing.
		if n, err := b.svc.RunDueSchedules(ctx); err != nil || n != 0 {
			t.Fatalf("early: %d %v", n, err)
		}
		// A process that comes up after the hour starts it once.
		later := sc.NextRunAt.Add(10 * time.Minute)
		b.svc.SetClock(func() time.Time { return later })
		if n, err := b.svc.RunDueSchedules(ctx); err != nil || n != 1 {
			t.Fatalf("due: %d %v", n, err)
		}
		if n, _ := b.svc.RunDueSchedules(ctx); n != 0 {
			t.Fatalf("started %d more", n)
		}
		got, err := b.svc.ScheduleGet(ctx, teamA, sc.ID)
		if err != nil || got.LastScanRunID == "" || !got.NextRunAt.Equal(sc.NextRunAt.Add(24*time.Hour)) || got.LastError != "" {
			t.Fatalf("after the run %+v %v", got, err)
		}
		run := b.waitDone(t, teamA, got.LastScanRunID)
		if run.ScheduleID != sc.ID || run.SubJobsTotal != 1 || run.Status != "completed" {
			t.Fatalf("scheduled run %+v", run)
		}
		// A schedule whose account is gone keeps the reason and moves on.
		if err := b.cloud.AccountDelete(ctx, teamA, acct.ID); err != nil {
			t.Fatal(err)
		}
		muchLater := got.NextRunAt.Add(time.Minute)
		b.svc.SetClock(func() time.Time { return muchLater })
		if n, err := b.svc.RunDueSchedules(ctx); err != nil || n != 0 {
			t.Fatalf("orphaned schedule: %d %v", n, err)
		}
		if got, _ = b.svc.ScheduleGet(ctx, teamA, sc.ID); got.LastError == "" || !got.NextRunAt.After(muchLater) {
			t.Fatalf("orphaned schedule %+v", got)
		}
		if _, err := b.svc.ScheduleGet(ctx, teamB, sc.ID); !errors.Is(err, db.ErrNotFound) {
			t.Fatal("team B read team A's schedule")
		}
		if err := b.svc.ScheduleDelete(ctx, teamA, sc.ID); err != nil {
			t.Fatal(err)
		}
	})
}

// Reports older than the retention period are deleted; the run stays.
func TestArtifactRetention(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, reg *db.Registry) {
		b := setup(t, reg)
		ctx := context.Background()
		b.tool(t, "grype", scannertest.Behaviour{Sample: scannertest.Sample(t, "grype/check_all_fields.json")})
		run, err := b.svc.InitiateScan(ctx, teamA, orchestration.ScanParams{ScanType: "container", Tools: []string{"grype"}, Targets: []string{"a:1", "b:2"}})
		if err != nil {
			t.Fatal(err)
		}
		done := b.waitDone(t, teamA, run.ID)
		if n, err := b.svc.ExpireArtifacts(ctx, time.Now().Add(-time.Hour)); err != nil || n != 0 {
			t.Fatalf("young artifacts expired: %d %v", n, err)
		}
		if n, err := b.svc.ExpireArtifacts(ctx, time.Now().Add(time.Hour)); err != nil || n != 2 {
			t.Fatalf("expired %d %v", n, err)
		}
		if _, _, err := b.svc.ArtifactOpen(ctx, teamA, run.ID, done.SubJobs[0].ID); !errors.Is(err, db.ErrNotFound) {
			t.Fatalf("expired artifact opens: %v", err)
		}
		after, _ := b.svc.ScanRunGet(ctx, teamA, run.ID)
		if after.Status != "completed" || after.SubJobs[0].HasArtifact || after.SubJobs[0].ItemsRead == 0 {
			t.Fatalf("after expiry %+v", after.SubJobs[0])
		}
	})
}

// Two teams register the same AWS account and scan it: each sees its own
// run and findings, created fresh for each, and nothing of the other's.
func TestSameAccountInTwoTeams(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, reg *db.Registry) {
		b := setup(t, reg)
		ctx := context.Background()
		runs := map[string]string{}
		for _, team := range []string{teamA, teamB} {
			acct := b.awsAccount(t, team, "eu-west-1")
			run, err := b.svc.InitiateScan(ctx, team, orchestration.ScanParams{ScanType: "cloud", AccountID: acct.ID, Tools: []string{"prowler"}})
			if err != nil {
				t.Fatal(err)
			}
			runs[team] = run.ID
		}
		a, bb := b.waitDone(t, teamA, runs[teamA]), b.waitDone(t, teamB, runs[teamB])
		if a.Status != "completed" || bb.Status != "completed" || a.FindingsCreated == 0 || a.FindingsCreated != bb.FindingsCreated {
			t.Fatalf("team A %s (%d new), team B %s (%d new)", a.Status, a.FindingsCreated, bb.Status, bb.FindingsCreated)
		}
		for team, other := range map[string]string{teamA: teamB, teamB: teamA} {
			if n := findingsOf(t, b, team, runs[team]).Total; n != a.FindingsCreated {
				t.Errorf("%s sees %d findings of its run, want %d", team, n, a.FindingsCreated)
			}
			if n := findingsOf(t, b, team, runs[other]).Total; n != 0 {
				t.Errorf("%s sees %d findings of the other team's run", team, n)
			}
			if _, err := b.svc.ScanRunGet(ctx, team, runs[other]); !errors.Is(err, db.ErrNotFound) {
				t.Errorf("%s reads the other team's run: %v", team, err)
			}
		}
	})
}

// With the S3 store (an in-process S3 server), reports go to the bucket and
// come back through the download.
func TestScanReportsInS3(t *testing.T) {
	t.Parallel()
	b := setup(t, dbtest.Open(t, dbtest.Engine{Name: "sqlite"}))
	backend := s3mem.New()
	if err := backend.CreateBucket("reports"); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gofakes3.New(backend).Server())
	t.Cleanup(srv.Close)
	store, err := artifact.NewS3(context.Background(), artifact.S3Config{Endpoint: srv.URL, Region: "us-east-1", Bucket: "reports",
		AccessKey: "k", SecretKey: "s"})
	if err != nil {
		t.Fatal(err)
	}
	b.svc.Artifacts = store
	b.tool(t, "grype", scannertest.Behaviour{Sample: scannertest.Sample(t, "grype/check_all_fields.json")})
	ctx := context.Background()
	run, err := b.svc.InitiateScan(ctx, teamA, orchestration.ScanParams{ScanType: "container", Tools: []string{"grype"}, Targets: []string{"alpine:3.19"}})
	if err != nil {
		t.Fatal(err)
	}
	done := b.waitDone(t, teamA, run.ID)
	if done.Status != "completed" || done.ItemsRead != 6 {
		t.Fatalf("run %+v", done)
	}
	key := teamA + "/scans/" + run.ID + "/" + done.SubJobs[0].ID + "-grype.json"
	if _, err := backend.HeadObject("reports", key); err != nil {
		t.Fatalf("report not in the bucket under %s: %v", key, err)
	}
	rc, _, err := b.svc.ArtifactOpen(ctx, teamA, run.ID, done.SubJobs[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(rc)
	rc.Close()
	want, _ := os.ReadFile(scannertest.Sample(t, "grype/check_all_fields.json"))
	if !bytes.Equal(got, want) {
		t.Fatalf("downloaded %d bytes, the tool wrote %d", len(got), len(want))
	}
}

// A worker that shuts down mid-SubJob puts it back in the queue without
// spending an attempt; the next worker runs it to the end.
func TestShutdownRequeuesTheSubJob(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, reg *db.Registry) {
		b := setup(t, reg)
		ctx := context.Background()
		started := filepath.Join(t.TempDir(), "started")
		b.tool(t, "trivy", scannertest.Behaviour{Sample: scannertest.Sample(t, "trivy/scheme_2_many_vulns.json"), SleepMS: 30000, Chatter: true, StartedFile: started})
		run, err := b.svc.InitiateScan(ctx, teamA, orchestration.ScanParams{ScanType: "container", Tools: []string{"trivy"}, Targets: []string{"app:1"}})
		if err != nil {
			t.Fatal(err)
		}
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			if _, err := os.Stat(started); err == nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the tool never started")
			}
		}
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if err := b.svc.Queue.StopAndCancel(sctx); err != nil {
			t.Fatal(err)
		}
		mid, err := b.svc.ScanRunGet(ctx, teamA, run.ID)
		if err != nil {
			t.Fatal(err)
		}
		if mid.SubJobs[0].Status != "queued" || !strings.Contains(mid.SubJobs[0].Error, "interrupted") || mid.Status == "failed" {
			t.Fatalf("after shutdown: run %s, sub job %+v", mid.Status, mid.SubJobs[0])
		}
		b.tool(t, "trivy", scannertest.Behaviour{Sample: scannertest.Sample(t, "trivy/scheme_2_many_vulns.json")})
		b.startWorkers(t)
		done := b.waitDone(t, teamA, run.ID)
		if done.Status != "completed" || done.SubJobs[0].Attempts != 1 || done.SubJobs[0].Error != "" {
			t.Fatalf("after restart: %s, sub job %+v", done.Status, done.SubJobs[0])
		}
	})
}

// A SubJob that records findings queues a compliance sync of their checks,
// in the transaction that records them.
func TestSubJobQueuesAComplianceSync(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, reg *db.Registry) {
		b := setup(t, reg)
		ctx := context.Background()
		var (
			mu    sync.Mutex
			calls [][]string
		)
		b.svc.ComplianceSync = func(_ context.Context, tx *sql.Tx, teamID string, checks []string) error {
			if tx == nil || teamID != teamA {
				t.Errorf("sync queued with tx %v for team %s", tx, teamID)
			}
			mu.Lock()
			calls = append(calls, checks)
			mu.Unlock()
			return nil
		}
		b.tool(t, "trivy", scannertest.Behaviour{Sample: scannertest.Sample(t, "trivy/scheme_2_many_vulns.json")})
		run, err := b.svc.InitiateScan(ctx, teamA, orchestration.ScanParams{ScanType: "container", Tools: []string{"trivy"}, Targets: []string{"registry.example/app:2"}})
		if err != nil {
			t.Fatal(err)
		}
		if done := b.waitDone(t, teamA, run.ID); done.Status != "completed" {
			t.Fatalf("run %s", done.Status)
		}
		mu.Lock()
		defer mu.Unlock()
		if len(calls) != 1 || len(calls[0]) == 0 || !slices.IsSorted(calls[0]) {
			t.Fatalf("compliance syncs queued: %v", calls)
		}
	})
}

// A code scan: Checkov and OSV-Scanner over a checkout under the code scan
// root, one SubJob each, their findings imported under the checkout's path;
// a path outside the root is refused before anything is queued.
func TestCodeScan(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, reg *db.Registry) {
		b := setup(t, reg)
		ctx := context.Background()
		root := t.TempDir()
		repo := filepath.Join(root, "shop")
		if err := os.MkdirAll(repo, 0o755); err != nil {
			t.Fatal(err)
		}
		b.svc.Tools.CodeRoots = []string{root}
		b.tool(t, "checkov", scannertest.Behaviour{Sample: scannertest.Sample(t, "checkov/checkov-report-many-vuln.json"), ExitCode: 1})
		// The real OSV report, its lockfile moved into the checkout.
		osvReport, err := os.ReadFile(scannertest.Sample(t, "osv/some_findings.json"))
		if err != nil {
			t.Fatal(err)
		}
		osvSample := filepath.Join(t.TempDir(), "osv.json")
		_ = os.WriteFile(osvSample, []byte(strings.ReplaceAll(string(osvReport), "/tmp/components/yarn.lock", repo+"/yarn.lock")), 0o600)
		b.tool(t, "osv-scanner", scannertest.Behaviour{Sample: osvSample, ExitCode: 1})
		if _, err := b.svc.InitiateScan(ctx, teamA, orchestration.ScanParams{ScanType: "code", Tools: []string{"checkov"},
			Targets: []string{t.TempDir()}}); err == nil {
			t.Fatal("a code scan outside the roots was accepted")
		}
		run, err := b.svc.InitiateScan(ctx, teamA, orchestration.ScanParams{ScanType: "code", Tools: []string{"checkov", "osv-scanner"},
			Targets: []string{repo}})
		if err != nil {
			t.Fatal(err)
		}
		done := b.waitDone(t, teamA, run.ID)
		if done.Status != "completed" || len(done.SubJobs) != 2 {
			t.Fatalf("code scan %s with %d SubJobs", done.Status, len(done.SubJobs))
		}
		for _, sj := range done.SubJobs {
			if sj.Status != "completed" || sj.FindingsCreated == 0 {
				t.Errorf("%s SubJob: %s, %d findings", sj.Tool, sj.Status, sj.FindingsCreated)
			}
		}
		if n := findingsOf(t, b, teamA, run.ID).Total; n == 0 {
			t.Fatal("no findings from the code scan")
		}
		// The lockfile was fixed: OSV-Scanner finds no packages to report
		// (exit 128, no report), and the directory's scan resolves the
		// lockfile's findings.
		b.tool(t, "osv-scanner", scannertest.Behaviour{ExitCode: 128})
		again, err := b.svc.InitiateScan(ctx, teamA, orchestration.ScanParams{ScanType: "code", Tools: []string{"osv-scanner"},
			Targets: []string{repo}})
		if err != nil {
			t.Fatal(err)
		}
		done = b.waitDone(t, teamA, again.ID)
		if done.Status != "completed" || done.SubJobs[0].FindingsResolved == 0 {
			t.Fatalf("clean OSV scan: %s, %+v", done.Status, done.SubJobs[0])
		}
	})
}

// SubJobFinished hears, in the transaction that records a SubJob's end,
// the findings it opened and, once, the run's failure (the app queues
// notifications there).
func TestSubJobFinishedHearsFindingsAndFailures(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, reg *db.Registry) {
		b := setup(t, reg)
		ctx := context.Background()
		var (
			mu     sync.Mutex
			opened = map[string]int{}
			ended  = map[string]string{}
		)
		b.svc.SubJobFinished = func(_ context.Context, tx *sql.Tx, run orchestration.ScanRun, subJobID string, part *findings.PartResult) error {
			if tx == nil || subJobID == "" {
				t.Errorf("hook without tx or SubJob: %v %q", tx, subJobID)
			}
			mu.Lock()
			defer mu.Unlock()
			if part != nil {
				opened[run.ID] += part.OpenedBySeverity["critical"] + part.OpenedBySeverity["high"]
			}
			if orchestration.Terminal(run.Status) {
				ended[run.ID] = run.Status
			}
			return nil
		}
		b.tool(t, "trivy", scannertest.Behaviour{Sample: scannertest.Sample(t, "trivy/scheme_2_many_vulns.json")})
		ok, err := b.svc.InitiateScan(ctx, teamA, orchestration.ScanParams{ScanType: "container", Tools: []string{"trivy"}, Targets: []string{"registry.example/app:3"}})
		if err != nil {
			t.Fatal(err)
		}
		if done := b.waitDone(t, teamA, ok.ID); done.Status != "completed" {
			t.Fatalf("run %s", done.Status)
		}
		b.tool(t, "trivy", scannertest.Behaviour{ExitCode: 1, Stderr: "FATAL unable to find the specified image"})
		bad, err := b.svc.InitiateScan(ctx, teamA, orchestration.ScanParams{ScanType: "container", Tools: []string{"trivy"}, Targets: []string{"registry.example/gone:1"}})
		if err != nil {
			t.Fatal(err)
		}
		if done := b.waitDone(t, teamA, bad.ID); done.Status != "failed" {
			t.Fatalf("failing run %s", done.Status)
		}
		mu.Lock()
		defer mu.Unlock()
		if opened[ok.ID] == 0 || ended[ok.ID] != "completed" {
			t.Errorf("completed run: opened %d, ended %q", opened[ok.ID], ended[ok.ID])
		}
		if opened[bad.ID] != 0 || ended[bad.ID] != "failed" {
			t.Errorf("failed run: opened %d, ended %q", opened[bad.ID], ended[bad.ID])
		}
	})
}
