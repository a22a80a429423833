// Package config builds the one typed, validated configuration of cspm from
// defaults, an optional YAML file, CSPM_* environment variables and command-line
// flags, in that order of precedence (later wins).
//
// Every setting is a row of the table in settings.go. The table drives the
// flags, the environment variables, the file keys, validation, redaction in
// `cspm config`, and the reference in docs/configuration.md, so none of them
// can drift from the others.
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/offloadsecurity/cspm/internal/db"
)

// Config is the effective configuration of one cspm process.
type Config struct {
	// Addr is the TCP address the HTTP server listens on.
	Addr string
	// DataDir holds the embedded SQLite databases and local artifacts.
	DataDir string
	// DatabaseURL, when set, puts every logical database on PostgreSQL.
	DatabaseURL string
	// DatabaseURLs overrides DatabaseURL for single logical databases.
	DatabaseURLs map[db.Name]string
	// LogLevel is the minimum level written to the log.
	LogLevel slog.Level
	// LogFormat is "auto" (text on a terminal, JSON otherwise), "text" or "json".
	LogFormat string
	// Workers runs River workers inside `cspm serve`.
	Workers bool
	// WorkerConcurrency is how many jobs one process works at once.
	WorkerConcurrency int
	// ShutdownTimeout bounds how long in-flight requests and jobs may take to
	// finish after SIGINT or SIGTERM.
	ShutdownTimeout time.Duration
	// RedisURL, when set, keeps sessions and login lockout counters in Redis.
	RedisURL string
	// SecretKey (base64) seals secrets at rest; empty means SecretKeyFile.
	SecretKey string
	// SecretKeyFile holds the key when SecretKey is empty; created if missing.
	SecretKeyFile string
	// CookieSecure marks the session cookie Secure (HTTPS only).
	CookieSecure bool
	// SessionIdleTimeout ends a session after this long without a request.
	SessionIdleTimeout time.Duration
	// SessionMaxAge ends a session this long after sign-in, whatever its activity.
	SessionMaxAge time.Duration
	// MaxFailedLoginAttempts within LoginFailureWindow lock an email for LoginLockout.
	MaxFailedLoginAttempts int
	// MaxFailedLoginsPerAddress is the same limit per source address; 0 is off.
	MaxFailedLoginsPerAddress int
	LoginFailureWindow        time.Duration
	LoginLockout              time.Duration
	// PasswordHashConcurrency bounds PBKDF2 work running at once; 0 is unbounded.
	PasswordHashConcurrency int
	// ImportMaxBytes bounds one uploaded or imported report.
	ImportMaxBytes int64
	// KBMaxBytes bounds one knowledge base document.
	KBMaxBytes int64
	// ArtifactDir holds raw reports; empty means data_dir/artifacts.
	ArtifactDir string
	// KEVURL is where the CISA KEV catalog is downloaded; empty turns the
	// periodic sync off.
	KEVURL string
	// KEVSyncInterval is how stale the stored catalog may get.
	KEVSyncInterval time.Duration
	// EPSSURL is where the daily EPSS CSV is downloaded; empty (the
	// default) means scores come only from `cspm epss import`.
	EPSSURL string
	// EPSSSyncInterval is how stale the stored scores may get.
	EPSSSyncInterval time.Duration
	// ArtifactS3 puts artifacts in an S3 or MinIO bucket when Endpoint is set.
	ArtifactS3Endpoint  string
	ArtifactS3Region    string
	ArtifactS3Bucket    string
	ArtifactS3Prefix    string
	ArtifactS3AccessKey string
	ArtifactS3SecretKey string
	// ArtifactRetention is how long scan reports are kept; 0 keeps them.
	ArtifactRetention time.Duration
	// PublicURL is the platform's address as users reach it: links in
	// notifications and tickets.
	PublicURL string
	// IntegrationsAllowInsecure lets notification channels and ticket
	// systems use http:// and loopback addresses.
	IntegrationsAllowInsecure bool
	// BIAReviewGrace is how long a business impact analysis may stay
	// overdue for review before the hourly job archives it.
	BIAReviewGrace time.Duration
	// Scans: how long a tool may run, how long it may stay silent, how
	// often a failing SubJob is tried, how many runs of each tool one
	// worker process works at once, and where SubJobs run.
	ScanTimeout      time.Duration
	ScanStallTimeout time.Duration
	ScanMaxAttempts  int
	ScanConcurrency  map[string]int
	ScanWorkDir      string
	// JobRescueAfter is how long a job may run before River hands it to
	// another worker, presuming its worker died; 0 derives it from ScanTimeout.
	JobRescueAfter time.Duration
	// Tools.
	ProwlerBin           string
	ProwlerDockerImage   string
	ProwlerHostOutputDir string
	DockerBin            string
	PowerpipeBin         string
	NmapBin              string
	WapitiBin            string
	TrivyBin             string
	GrypeBin             string
	CheckovBin           string
	OSVScannerBin        string
	// CodeScanRoots are the directories (comma-separated) under which code
	// scans may read paths on the worker; empty turns code scans off.
	CodeScanRoots     string
	WapitiMaxScanTime int
	WapitiModules     string
	// WorkerIdentityTeams names the teams that may use worker_identity.
	WorkerIdentityTeams string
	// Connection tests' endpoints.
	AWSEndpointURL     string
	AzureAuthorityHost string
	GCPTokenURL        string
	// ConfigFile is the file the configuration was read from, if any.
	ConfigFile string

	// sources records where each setting's value came from, for `cspm config`.
	sources map[string]Source
}

// Source says which layer supplied a setting's value.
type Source string

// Layers, from lowest to highest precedence.
const (
	SourceDefault Source = "default"
	SourceFile    Source = "file"
	SourceEnv     Source = "env"
	SourceFlag    Source = "flag"
)

// Loader binds the settings to a flag set and, once the flags are parsed,
// loads the configuration.
type Loader struct {
	fs       *flag.FlagSet
	flagVals map[string]*string
	negFlags map[string]*bool
	config   *string
}

// Bind registers a flag for every setting that has one, plus --config, on fs.
func Bind(fs *flag.FlagSet) *Loader {
	l := &Loader{fs: fs, flagVals: map[string]*string{}, negFlags: map[string]*bool{}}
	l.config = fs.String("config", "", "path to a YAML configuration file (env CSPM_CONFIG)")
	for _, s := range Settings() {
		if s.Flag != "" {
			l.flagVals[s.Key] = fs.String(s.Flag, "", s.Usage+" (env "+s.Env+")")
		}
		if s.NegFlag != "" {
			l.negFlags[s.Key] = fs.Bool(s.NegFlag, false, "set "+s.Key+" to false (env "+s.Env+"=false)")
		}
	}
	return l
}

// Load builds the configuration. getenv is os.Getenv outside of tests.
func (l *Loader) Load(getenv func(string) string) (*Config, error) {
	set := map[string]bool{}
	l.fs.Visit(func(f *flag.Flag) { set[f.Name] = true })

	cfg := &Config{DatabaseURLs: map[db.Name]string{}, sources: map[string]Source{}}
	settings := Settings()
	for _, s := range settings {
		if err := s.apply(cfg, s.Default); err != nil {
			return nil, fmt.Errorf("default for %s: %w", s.Key, err) // a bug, not a user error
		}
		cfg.sources[s.Key] = SourceDefault
	}

	path := getenv("CSPM_CONFIG")
	if set["config"] {
		path = *l.config
	}
	if path != "" {
		values, err := readFile(path)
		if err != nil {
			return nil, err
		}
		byKey := map[string]Setting{}
		for _, s := range settings {
			byKey[s.Key] = s
		}
		keys := make([]string, 0, len(values))
		for k := range values {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			s, ok := byKey[k]
			if !ok {
				return nil, fmt.Errorf("config file %s: unknown setting %q (see docs/configuration.md)", path, k)
			}
			if err := s.apply(cfg, values[k]); err != nil {
				return nil, fmt.Errorf("config file %s: %s: %w", path, k, err)
			}
			cfg.sources[k] = SourceFile
		}
		cfg.ConfigFile = path
	}

	for _, s := range settings {
		if v, ok := lookupEnv(getenv, s.Env); ok {
			if err := s.apply(cfg, v); err != nil {
				return nil, fmt.Errorf("%s: %w", s.Env, err)
			}
			cfg.sources[s.Key] = SourceEnv
		}
	}

	for _, s := range settings {
		if s.Flag != "" && set[s.Flag] {
			if err := s.apply(cfg, *l.flagVals[s.Key]); err != nil {
				return nil, fmt.Errorf("--%s: %w", s.Flag, err)
			}
			cfg.sources[s.Key] = SourceFlag
		}
		if s.NegFlag != "" && set[s.NegFlag] && *l.negFlags[s.Key] {
			if err := s.apply(cfg, "false"); err != nil {
				return nil, fmt.Errorf("--%s: %w", s.NegFlag, err)
			}
			cfg.sources[s.Key] = SourceFlag
		}
	}
	return cfg, nil
}

// lookupEnv treats an empty variable as unset, which is what operators expect
// from `CSPM_X= cspm serve` and from compose files with blank entries.
func lookupEnv(getenv func(string) string, key string) (string, bool) {
	v := getenv(key)
	return v, v != ""
}

// maxConfigFileSize keeps a wrong path (a disk image, a log) from being read whole.
const maxConfigFileSize = 1 << 20

func readFile(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("config file: %w", err)
	}
	defer f.Close()
	raw, err := io.ReadAll(io.LimitReader(f, maxConfigFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("config file %s: %w", path, err)
	}
	if len(raw) > maxConfigFileSize {
		return nil, fmt.Errorf("config file %s: larger than %d bytes", path, maxConfigFileSize)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("config file %s: %s", path, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	values := map[string]string{}
	if len(doc.Content) == 0 { // empty file: nothing to override
		return values, nil
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("config file %s: line %d: want a mapping of setting: value", path, root.Line)
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		if v.Kind != yaml.ScalarNode {
			return nil, fmt.Errorf("config file %s: line %d: %s: want a single value", path, v.Line, k.Value)
		}
		if _, dup := values[k.Value]; dup {
			return nil, fmt.Errorf("config file %s: line %d: %s is set twice", path, k.Line, k.Value)
		}
		values[k.Value] = v.Value
	}
	return values, nil
}

// Entry is one line of the effective configuration, with secrets redacted.
type Entry struct {
	Key    string `json:"key"`
	Env    string `json:"env"`
	Value  string `json:"value"`
	Source Source `json:"source"`
}

// Effective lists every setting's value and source, secrets redacted.
func (c *Config) Effective() []Entry {
	out := make([]Entry, 0, len(Settings()))
	for _, s := range Settings() {
		v := s.get(c)
		if s.Secret && v != "" {
			v = redact(v)
		}
		out = append(out, Entry{Key: s.Key, Env: s.Env, Value: v, Source: c.sources[s.Key]})
	}
	return out
}

// URLFor returns the PostgreSQL URL a logical database uses, or "" for SQLite.
func (c *Config) URLFor(name db.Name) string {
	if u := c.DatabaseURLs[name]; u != "" {
		return u
	}
	return c.DatabaseURL
}

// ErrUsage marks errors that are the caller's to fix by changing arguments.
var ErrUsage = errors.New("usage")
