package config

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/offloadsecurity/cspm/internal/db"
)

func load(t *testing.T, env map[string]string, args ...string) (*Config, error) {
	t.Helper()
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	l := Bind(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return l.Load(func(k string) string { return env[k] })
}

func writeConfig(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "cspm.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDefaults(t *testing.T) {
	c := Defaults()
	if c.Addr != "127.0.0.1:8080" || c.DataDir != "./data" || !c.Workers || c.WorkerConcurrency != 10 || c.DatabaseURL != "" {
		t.Fatalf("defaults = %+v", c)
	}
	for _, n := range db.Names {
		if c.URLFor(n) != "" {
			t.Errorf("%s defaults to %q, want SQLite", n, c.URLFor(n))
		}
	}
}

func TestPrecedenceFileEnvFlag(t *testing.T) {
	file := writeConfig(t, "addr: 10.0.0.1:1\nlog_level: warn\nworker_concurrency: 3\n")
	c, err := load(t, map[string]string{"CSPM_CONFIG": file, "CSPM_ADDR": "127.0.0.1:2", "CSPM_WORKER_CONCURRENCY": ""},
		"--addr", "127.0.0.1:3", "--no-workers")
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:3" {
		t.Errorf("addr %q: flag must beat env and file", c.Addr)
	}
	if c.LogLevel.String() != "WARN" {
		t.Errorf("log level %v: file must beat default", c.LogLevel)
	}
	if c.WorkerConcurrency != 3 {
		t.Errorf("concurrency %d: an empty variable must not override the file", c.WorkerConcurrency)
	}
	if c.Workers {
		t.Error("--no-workers did not turn workers off")
	}
	src := map[string]Source{}
	for _, e := range c.Effective() {
		src[e.Key] = e.Source
	}
	if src["addr"] != SourceFlag || src["log_level"] != SourceFile || src["data_dir"] != SourceDefault || src["workers"] != SourceFlag {
		t.Errorf("sources = %v", src)
	}
}

func TestPerDatabaseOverride(t *testing.T) {
	c, err := load(t, map[string]string{
		"CSPM_DATABASE_URL":               "postgres://a@h1/cspm",
		"CSPM_DATABASE_URL_VULNERABILITY": "postgres://a@h2/vuln",
	})
	if err != nil {
		t.Fatal(err)
	}
	if c.URLFor(db.Vulnerability) != "postgres://a@h2/vuln" || c.URLFor(db.Platform) != "postgres://a@h1/cspm" {
		t.Fatalf("URLFor: %q %q", c.URLFor(db.Vulnerability), c.URLFor(db.Platform))
	}
}

func TestFileErrors(t *testing.T) {
	cases := map[string]string{
		"addr: [1, 2]\n":                   "want a single value",
		"- addr\n":                         "want a mapping",
		"addr: 127.0.0.1:1\naddr: x:2\n":   "set twice",
		"colour: blue\n":                   `unknown setting "colour"`,
		"addr: \"unterminated\n":           "config file",
		"worker_concurrency: lots\n":       "worker_concurrency: want a whole number",
		"database_url: sqlite:///tmp/x\n":  `unsupported database scheme "sqlite"`,
		"shutdown_timeout: -5s\n":          "want a positive duration",
		"log_format: xml\n":                `unknown log format "xml"`,
		"database_url: localhost:5432/x\n": "", // any error: no scheme
	}
	for body, want := range cases {
		_, err := load(t, nil, "--config", writeConfig(t, body))
		if err == nil {
			t.Errorf("%q: no error", body)
			continue
		}
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %q lacks %q", body, err, want)
		}
	}
}

func TestEmptyFileChangesNothing(t *testing.T) {
	c, err := load(t, nil, "--config", writeConfig(t, "# nothing yet\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:8080" {
		t.Fatalf("addr %q", c.Addr)
	}
}

func TestSecretsRedacted(t *testing.T) {
	c, err := load(t, map[string]string{
		"CSPM_DATABASE_URL":               "postgres://cspm:hunter2@db:5432/cspm",
		"CSPM_DATABASE_URL_ORCHESTRATION": "postgres://db/cspm?user=cspm&password=hunter3",
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range c.Effective() {
		if strings.Contains(e.Value, "hunter") {
			t.Errorf("%s printed as %q", e.Key, e.Value)
		}
	}
	if got := redact("postgres://cspm:hunter2@db:5432/cspm"); got != "postgres://cspm:REDACTED@db:5432/cspm" {
		t.Errorf("redact = %q", got)
	}
}

func TestInvalidURLDoesNotEchoIt(t *testing.T) {
	_, err := load(t, map[string]string{"CSPM_DATABASE_URL": "postgres://u:hunter2@h:bad port/x"})
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("error %v", err)
	}
}

func TestMarkdownListsEverySetting(t *testing.T) {
	md := Markdown()
	for _, s := range Settings() {
		if !strings.Contains(md, "`"+s.Env+"`") || s.Usage == "" {
			t.Errorf("%s missing from the reference or undocumented", s.Key)
		}
	}
}
