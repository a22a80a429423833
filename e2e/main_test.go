// Package e2e runs the real cspm binary: its command line, its start and
// shutdown, PostgreSQL and worker scale-out, and the web UI in Chromium.
package e2e

import (
	"bufio"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/offloadsecurity/cspm/internal/db/dbtest"
	"github.com/offloadsecurity/cspm/internal/testenv"
)

// testVersion is linked into the binary under test, so tests can tell that
// the UI shows what the API answers rather than a constant.
const testVersion = "v0.0.0-e2e"

var binary string

func TestMain(m *testing.M) {
	testenv.NoCloudMetadata()
	dir, err := os.MkdirTemp("", "cspm-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "cspm")
	build := exec.Command("go", "build", "-o", binary,
		"-ldflags", "-X github.com/offloadsecurity/cspm/internal/version.Version="+testVersion, "../cmd/cspm")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build cspm:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// proc is a running cspm process.
type proc struct {
	t      *testing.T
	cmd    *exec.Cmd
	stdout *lockedBuffer
	stderr *lockedBuffer
	url    string
	done   chan struct{}
	err    error
}

type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// start runs cspm with args and env (added to a clean environment). For
// `serve`, it waits for the URL line and returns once the server answers.
func start(t *testing.T, env []string, args ...string) *proc {
	t.Helper()
	return startWith(t, append(baseEnv(), env...), t.TempDir(), args...)
}

// startWith is start with the whole environment and the working directory given.
func startWith(t *testing.T, env []string, dir string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = env
	cmd.Dir = dir
	p := &proc{t: t, cmd: cmd, stderr: &lockedBuffer{}, stdout: &lockedBuffer{}, done: make(chan struct{})}
	cmd.Stderr = p.stderr
	pr, pw := io.Pipe()
	cmd.Stdout = pw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	urlCh := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			line := sc.Text()
			p.stdout.Write([]byte(line + "\n"))
			if i := strings.Index(line, "serving on "); i >= 0 {
				select {
				case urlCh <- strings.TrimSpace(line[i+len("serving on "):]):
				default:
				}
			}
		}
	}()
	go func() {
		p.err = cmd.Wait()
		pw.Close()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("cspm %v stderr:\n%s", args, tail(p.stderr.String(), 4000))
		}
	})
	if len(args) > 0 && args[0] == "serve" {
		select {
		case p.url = <-urlCh:
		case <-p.done:
			t.Fatalf("cspm serve exited: %v\n%s", p.err, p.stderr.String())
		case <-time.After(60 * time.Second):
			t.Fatal("cspm serve printed no URL in 60s")
		}
	}
	return p
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

// withoutCSPM is the test process's environment less every CSPM_* variable.
// It also keeps cspm and its tools off the cloud metadata addresses.
func withoutCSPM() []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CSPM_") {
			out = append(out, kv)
		}
	}
	for k, v := range testenv.Env() {
		out = append(out, k+"="+v)
	}
	return out
}

// baseEnv is a minimal environment: no CSPM_* settings leak in from the
// developer's shell.
func baseEnv() []string {
	// Tests never reach the internet: no KEV download from CISA.
	return append(withoutCSPM(), "CSPM_LOG_FORMAT=json", "CSPM_KEV_URL=")
}

// stop sends sig and waits for the exit status.
func (p *proc) stop(sig syscall.Signal, within time.Duration) int {
	p.t.Helper()
	_ = p.cmd.Process.Signal(sig)
	return p.wait(within)
}

func (p *proc) wait(within time.Duration) int {
	p.t.Helper()
	select {
	case <-p.done:
	case <-time.After(within):
		p.t.Fatalf("process did not exit within %s", within)
	}
	if p.err == nil {
		return 0
	}
	var ee *exec.ExitError
	if errors.As(p.err, &ee) {
		return ee.ExitCode()
	}
	p.t.Fatalf("wait: %v", p.err)
	return -1
}

// run runs cspm to completion and returns its exit code, stdout and stderr.
func run(t *testing.T, env []string, args ...string) (int, string, string) {
	t.Helper()
	return runStdin(t, env, "", args...)
}

// runStdin is run with stdin as the command's standard input.
func runStdin(t *testing.T, env []string, stdin string, args ...string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Env = append(baseEnv(), env...)
	cmd.Dir = t.TempDir()
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.Stdin = strings.NewReader(stdin)
	err := cmd.Run()
	code := 0
	if err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			t.Fatalf("run %v: %v", args, err)
		}
		code = ee.ExitCode()
	}
	return code, stdout.String(), stderr.String()
}

func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// freshPostgresDatabase creates an empty PostgreSQL database for one test and
// returns its URL; the test is skipped when no test PostgreSQL is configured
// (and fails under CI, see dbtest.PostgresURL).
func freshPostgresDatabase(t *testing.T) string {
	t.Helper()
	base := dbtest.PostgresURL(t)
	if base == "" {
		t.Skip("CSPM_TEST_POSTGRES_URL not set")
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Close() })
	name := "cspm_e2e_" + strings.TrimSuffix(dbtest.RandomPrefix(), "_")
	if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := admin.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)"); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
	})
	return replaceDatabase(t, base, name)
}

func replaceDatabase(t *testing.T, rawURL, name string) string {
	t.Helper()
	i := strings.Index(rawURL, "://")
	rest := rawURL[i+3:]
	slash := strings.Index(rest, "/")
	query := ""
	if q := strings.Index(rest, "?"); q >= 0 {
		query = rest[q:]
		rest = rest[:q]
	}
	if slash >= 0 {
		rest = rest[:slash]
	}
	return rawURL[:i+3] + rest + "/" + name + query
}

// eachEngine runs scenario as a parallel subtest on SQLite and, when a test
// PostgreSQL is configured (always under CI), on PostgreSQL.
func eachEngine(t *testing.T, scenario func(t *testing.T, engine string)) {
	t.Helper()
	engines := []string{"sqlite"}
	if os.Getenv("CSPM_TEST_POSTGRES_URL") != "" || os.Getenv("CI") == "true" {
		engines = append(engines, "postgres")
	}
	for _, engine := range engines {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			scenario(t, engine)
		})
	}
}

// webTarget serves a page on a loopback port for a scanner to find, and
// returns the port. A Server header lets Nmap's service detection match at
// its first probe.
func webTarget(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Server", "nginx/1.25.3")
		fmt.Fprint(w, "hello")
	}), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().(*net.TCPAddr).Port
}
