// Package scannertest builds stand-in scanning tools for tests: one small Go
// program (standin/) copied under each tool's name, told what to do by a
// JSON file beside it. See standin/main.go.
package scannertest

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
)

// Behaviour tells a stand-in what to do; see standin.Behaviour.
type Behaviour struct {
	Sample      string `json:"sample"`
	ExitCode    int    `json:"exit_code"`
	SleepMS     int    `json:"sleep_ms"`
	Chatter     bool   `json:"chatter"`
	Stderr      string `json:"stderr"`
	Grandchild  bool   `json:"grandchild"`
	Record      string `json:"record"`
	StartedFile string `json:"started_file"`
	FailTimes   int    `json:"fail_times"`
	FailStderr  string `json:"fail_stderr"`
	// Version is what `--version` prints; VersionExitCode its exit code.
	Version         string `json:"version"`
	VersionExitCode int    `json:"version_exit_code"`
}

// Run is one recorded run of a stand-in.
type Run struct {
	Tool string   `json:"tool"`
	Args []string `json:"args"`
	Env  []string `json:"env"`
	PID  int      `json:"pid"`
	PGID int      `json:"pgid"`
}

var (
	buildOnce sync.Once
	built     string
	buildErr  error
)

// binary builds the stand-in once per test process.
func binary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "cspm-standin-")
		if err != nil {
			buildErr = err
			return
		}
		_, file, _, _ := runtime.Caller(0)
		built = filepath.Join(dir, "standin")
		out, err := exec.Command("go", "build", "-o", built, filepath.Join(filepath.Dir(file), "standin")).CombinedOutput()
		if err != nil {
			buildErr = &buildError{string(out), err}
		}
	})
	if buildErr != nil {
		t.Fatalf("build the stand-in: %v", buildErr)
	}
	return built
}

type buildError struct {
	out string
	err error
}

func (e *buildError) Error() string { return e.err.Error() + ": " + e.out }

// Tool installs a stand-in named name in dir with behaviour b and returns
// its path. Calling it again changes the behaviour.
func Tool(t testing.TB, dir, name string, b Behaviour) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if _, err := os.Stat(p); err != nil {
		src, err := os.ReadFile(binary(t))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, src, 0o755); err != nil { //nolint:gosec // G306: an executable must be executable
			t.Fatal(err)
		}
	}
	raw, _ := json.Marshal(b)
	if err := os.WriteFile(p+".json", raw, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// Runs reads a record file.
func Runs(t testing.TB, record string) []Run {
	t.Helper()
	f, err := os.Open(record)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []Run
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		var r Run
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}

// Sample is the path of a real tool output: the copies the ingest package
// keeps for its golden tests (from the shared sample set).
func Sample(t testing.TB, rel string) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	p, err := filepath.Abs(filepath.Join(filepath.Dir(file), "..", "..", "ingest", "testdata", "samples", rel))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("sample %s: %v", rel, err)
	}
	return p
}
