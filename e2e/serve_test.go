package e2e

import (
	"database/sql"
	"encoding/json"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

type statusBody struct {
	Version struct {
		Version string `json:"version"`
	} `json:"version"`
	Engine    string `json:"engine"`
	Databases []struct {
		Name          string `json:"name"`
		SchemaVersion int    `json:"schema_version"`
	} `json:"databases"`
	Queue struct {
		Jobs map[string]int `json:"jobs"`
	} `json:"queue"`
}

func getStatus(t *testing.T, base string) statusBody {
	t.Helper()
	code, body := httpGet(t, base+"/api/v1/system/status")
	if code != 200 {
		t.Fatalf("status %d: %s", code, body)
	}
	var st statusBody
	if err := json.Unmarshal([]byte(body), &st); err != nil {
		t.Fatal(err)
	}
	return st
}

// With no configuration at all, serve creates ./data, migrates, serves and
// stops cleanly on SIGTERM, letting a running job finish first.
func TestServeZeroConfigAndGracefulShutdown(t *testing.T) {
	t.Parallel()
	dataDir := t.TempDir() + "/data"
	env := []string{"CSPM_DATA_DIR=" + dataDir, "CSPM_ADDR=127.0.0.1:0"}
	p := start(t, env, "serve")
	if code, body := httpGet(t, p.url+"/readyz"); code != 200 {
		t.Fatalf("readyz %d: %s", code, body)
	}
	st := getStatus(t, p.url)
	if st.Engine != "sqlite" || st.Version.Version != testVersion {
		t.Fatalf("status = %+v", st)
	}

	// A probe that holds its worker for 2 s, started before the signal,
	// must complete: shutdown waits for running jobs.
	probe := start(t, env, "queue", "probe", "-n", "1", "--hold", "2s", "--timeout", "30s")
	deadline := time.Now().Add(20 * time.Second)
	for getStatus(t, p.url).Queue.Jobs["running"] != 1 {
		if time.Now().After(deadline) {
			t.Fatal("probe job never started running")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if code := p.stop(syscall.SIGTERM, 30*time.Second); code != 0 {
		t.Fatalf("serve exited %d after SIGTERM, want 0", code)
	}
	if code := probe.wait(30 * time.Second); code != 0 {
		t.Fatalf("probe exited %d: the running job did not finish during shutdown\n%s", code, probe.stderr.String())
	}
	if !strings.Contains(probe.stdout.String(), "all 1 probes worked") {
		t.Fatalf("probe output: %s", probe.stdout.String())
	}
	logs := p.stderr.String()
	for _, want := range []string{`"msg":"shutting down"`, `"msg":"stopped"`} {
		if !strings.Contains(logs, want) {
			t.Errorf("serve log lacks %s", want)
		}
	}
	if strings.Contains(logs, "cancelling") {
		t.Error("the running job was cancelled instead of finishing")
	}
}

func TestServeOnPostgres(t *testing.T) {
	t.Parallel()
	url := freshPostgresDatabase(t)
	p := start(t, []string{"CSPM_DATABASE_URL=" + url, "CSPM_ADDR=127.0.0.1:0"}, "serve")
	if code, body := httpGet(t, p.url+"/readyz"); code != 200 {
		t.Fatalf("readyz %d: %s", code, body)
	}
	st := getStatus(t, p.url)
	if st.Engine != "postgres" {
		t.Fatalf("engine %q", st.Engine)
	}
	code, out, stderr := run(t, []string{"CSPM_DATABASE_URL=" + url}, "migrate", "status")
	if code != 0 {
		t.Fatal(stderr)
	}
	if strings.Contains(out, "pending") || !regexp.MustCompile(`(?m)^cspm_platform\s+postgres\s`).MatchString(out) {
		t.Fatalf("migrate status:\n%s", out)
	}
	// One schema per logical database.
	conn, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var n int
	if err := conn.QueryRow(`SELECT count(*) FROM information_schema.schemata
		WHERE schema_name IN ('cspm_platform','orchestration','vulnerability','native_scans','knowledge_base')`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 5 {
		t.Fatalf("%d schemas, want 5", n)
	}
	if code := p.stop(syscall.SIGINT, 30*time.Second); code != 0 {
		t.Fatalf("exit %d after SIGINT", code)
	}
}

// Two worker processes on one PostgreSQL share the queue: every job is worked
// exactly once, and both take part.
func TestTwoWorkersShareTheQueue(t *testing.T) {
	t.Parallel()
	url := freshPostgresDatabase(t)
	env := []string{"CSPM_DATABASE_URL=" + url, "CSPM_WORKER_CONCURRENCY=2"}
	if code, _, stderr := run(t, env, "migrate", "up"); code != 0 {
		t.Fatal(stderr)
	}
	w1 := start(t, env, "worker")
	w2 := start(t, env, "worker")

	const jobs = 200
	code, out, stderr := run(t, env, "queue", "probe", "-n", "200", "--hold", "20ms", "--timeout", "90s")
	if code != 0 {
		t.Fatalf("probe exit %d: %s\n%s", code, out, stderr)
	}
	if !strings.Contains(out, "by 2 workers") {
		t.Fatalf("work did not spread over both workers:\n%s", out)
	}

	conn, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var probes, distinct, workers int
	if err := conn.QueryRow(`SELECT count(*), count(DISTINCT job_id), count(DISTINCT worker_id) FROM orchestration.queue_probes`).
		Scan(&probes, &distinct, &workers); err != nil {
		t.Fatal(err)
	}
	if probes != jobs || distinct != jobs || workers != 2 {
		t.Fatalf("queue_probes: %d rows, %d distinct jobs, %d workers; want %d, %d, 2", probes, distinct, workers, jobs, jobs)
	}
	// River records completions in batches; stopping the workers flushes them.
	for _, w := range []*proc{w1, w2} {
		if code := w.stop(syscall.SIGTERM, 30*time.Second); code != 0 {
			t.Errorf("worker exit %d", code)
		}
	}
	var completed, retried int
	if err := conn.QueryRow(`SELECT count(*) FILTER (WHERE state = 'completed'), count(*) FILTER (WHERE attempt <> 1 OR cardinality(attempted_by) <> 1)
		FROM orchestration.river_job WHERE kind = 'queue_probe'`).Scan(&completed, &retried); err != nil {
		t.Fatal(err)
	}
	if completed != jobs || retried != 0 {
		t.Fatalf("river_job: %d completed, %d attempted more than once", completed, retried)
	}
}
