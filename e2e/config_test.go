package e2e

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Bad configuration ends with one line naming the problem and a non-zero
// exit, never a stack trace, and never echoes a password.
func TestBadConfigurationIsOneClearLine(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	plainFile := filepath.Join(dir, "plain-file")
	if err := os.WriteFile(plainFile, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	badYAML := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(badYAML, []byte("addr: [unclosed\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	unknownKey := filepath.Join(dir, "unknown.yaml")
	if err := os.WriteFile(unknownKey, []byte("addr: 127.0.0.1:0\nlisten_port: 9\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	// Cleanup, not defer: the parallel subtests run after this function returns.
	t.Cleanup(func() { busy.Close() })

	cases := []struct {
		name     string
		env      []string
		args     []string
		wantCode int
		want     string
	}{
		{"unknown database scheme", []string{"CSPM_DATABASE_URL=mysql://root:hunter2@localhost/cspm"}, []string{"serve"}, 1,
			`CSPM_DATABASE_URL: unsupported database scheme "mysql"`},
		{"unreachable PostgreSQL", []string{"CSPM_DATABASE_URL=postgres://cspm:hunter2@127.0.0.1:1/cspm?sslmode=disable"}, []string{"serve", "--addr", "127.0.0.1:0"}, 1,
			"cannot connect to PostgreSQL at 127.0.0.1:1/cspm (database cspm_platform): connection refused"},
		{"unwritable data directory", nil, []string{"serve", "--addr", "127.0.0.1:0", "--data-dir", plainFile + "/data"}, 1,
			"data directory " + plainFile + "/data cannot be created: not a directory"},
		{"port in use", []string{"CSPM_DATA_DIR=" + dir + "/d1"}, []string{"serve", "--addr", busy.Addr().String()}, 1,
			"cannot listen on " + busy.Addr().String() + ": address already in use"},
		{"malformed config file", nil, []string{"serve", "--config", badYAML}, 1,
			"config file " + badYAML + ":"},
		{"unknown setting in config file", nil, []string{"config", "--config", unknownKey}, 1,
			`unknown setting "listen_port"`},
		{"missing config file", []string{"CSPM_CONFIG=" + dir + "/nope.yaml"}, []string{"config"}, 1,
			"no such file or directory"},
		{"bad log level", []string{"CSPM_LOG_LEVEL=loud"}, []string{"serve"}, 1,
			`CSPM_LOG_LEVEL: unknown log level "loud"`},
		{"bad duration flag", nil, []string{"worker", "--shutdown-timeout", "soon"}, 1,
			`--shutdown-timeout: want a positive duration`},
		{"unknown flag", nil, []string{"serve", "--colour"}, 2, "flag provided but not defined: -colour"},
		{"unknown command", nil, []string{"launch"}, 2, `unknown command "launch"`},
		{"migrate without subcommand", nil, []string{"migrate"}, 2, "migrate: want a subcommand"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			code, _, stderr := run(t, c.env, c.args...)
			if code != c.wantCode {
				t.Errorf("exit code %d, want %d", code, c.wantCode)
			}
			lines := strings.Split(strings.TrimRight(stderr, "\n"), "\n")
			last := lines[len(lines)-1]
			if !strings.HasPrefix(last, "cspm: ") || !strings.Contains(last, c.want) {
				t.Errorf("last stderr line %q, want it to contain %q", last, c.want)
			}
			// flag's own usage text may precede a flag error; anything else is one line.
			if c.wantCode != 2 && len(lines) != 1 {
				t.Errorf("stderr has %d lines, want 1:\n%s", len(lines), stderr)
			}
			for _, bad := range []string{"goroutine ", "panic", "hunter2"} {
				if strings.Contains(stderr, bad) {
					t.Errorf("stderr contains %q:\n%s", bad, stderr)
				}
			}
		})
	}
}

func TestConfigCommandRedactsAndShowsSources(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "cspm.yaml")
	if err := os.WriteFile(file, []byte("log_level: debug\nworker_concurrency: 4\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, stderr := run(t,
		[]string{"CSPM_DATABASE_URL=postgres://cspm:hunter2@db.internal:5432/cspm", "CSPM_WORKER_CONCURRENCY=6"},
		"config", "--config", file, "--addr", "0.0.0.0:9000")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if strings.Contains(out, "hunter2") {
		t.Fatalf("password printed:\n%s", out)
	}
	for _, want := range []string{
		"postgres://cspm:REDACTED@db.internal:5432/cspm",
		"log_level",
		"debug",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	fields := func(key string) []string {
		for _, line := range strings.Split(out, "\n") {
			f := strings.Fields(line)
			if len(f) > 0 && f[0] == key {
				return f
			}
		}
		t.Fatalf("no line for %s in:\n%s", key, out)
		return nil
	}
	// Precedence: default < file < env < flag.
	if f := fields("log_level"); f[1] != "debug" || f[2] != "file" {
		t.Errorf("log_level line %v", f)
	}
	if f := fields("worker_concurrency"); f[1] != "6" || f[2] != "env" {
		t.Errorf("worker_concurrency line %v", f)
	}
	if f := fields("addr"); f[1] != "0.0.0.0:9000" || f[2] != "flag" {
		t.Errorf("addr line %v", f)
	}
	if f := fields("shutdown_timeout"); f[1] != "30s" || f[2] != "default" {
		t.Errorf("shutdown_timeout line %v", f)
	}
}

// docs/configuration.md carries the table the settings generate.
func TestConfigurationDocIsCurrent(t *testing.T) {
	t.Parallel()
	code, table, stderr := run(t, nil, "config", "--markdown")
	if code != 0 {
		t.Fatal(stderr)
	}
	doc, err := os.ReadFile("../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(doc), table) {
		t.Fatal("docs/configuration.md does not contain the current settings table: paste the output of 'cspm config --markdown'")
	}
}
