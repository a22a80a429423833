package config

import (
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/offloadsecurity/cspm/internal/db"
)

// Setting is one row of the configuration table.
type Setting struct {
	Key     string // key in the YAML file
	Env     string // environment variable
	Flag    string // command-line flag taking a value, "" for none
	NegFlag string // boolean flag that sets the value to false, "" for none
	Default string
	Usage   string
	Secret  bool // redacted by `cspm config`; URLs keep everything but the password

	apply func(*Config, string) error
	get   func(*Config) string
}

// Settings returns the configuration table in documentation order.
func Settings() []Setting {
	s := []Setting{
		{
			Key: "addr", Env: "CSPM_ADDR", Flag: "addr", Default: "127.0.0.1:8080",
			Usage: "TCP address the HTTP API and web UI listen on",
			apply: func(c *Config, v string) error {
				host, port, err := net.SplitHostPort(v)
				if err != nil {
					return fmt.Errorf("invalid address %q: want host:port", v)
				}
				if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
					return fmt.Errorf("invalid port in %q", v)
				}
				_ = host // empty host means all interfaces, which is valid
				c.Addr = v
				return nil
			},
			get: func(c *Config) string { return c.Addr },
		},
		{
			Key: "data_dir", Env: "CSPM_DATA_DIR", Flag: "data-dir", Default: "./data",
			Usage: "directory for the embedded SQLite databases and local artifacts; created if missing",
			apply: func(c *Config, v string) error {
				if strings.TrimSpace(v) == "" {
					return fmt.Errorf("must not be empty")
				}
				c.DataDir = v
				return nil
			},
			get: func(c *Config) string { return c.DataDir },
		},
		{
			Key: "database_url", Env: "CSPM_DATABASE_URL", Flag: "database-url", Default: "",
			Usage:  "postgres:// URL that puts every logical database on PostgreSQL, one schema each; empty for embedded SQLite",
			Secret: true,
			apply: func(c *Config, v string) error {
				if err := validateDatabaseURL(v); err != nil {
					return err
				}
				c.DatabaseURL = v
				return nil
			},
			get: func(c *Config) string { return c.DatabaseURL },
		},
	}
	for _, name := range db.Names {
		s = append(s, Setting{
			Key:     "database_url_" + string(name),
			Env:     "CSPM_DATABASE_URL_" + strings.ToUpper(string(name)),
			Default: "",
			Usage:   "postgres:// URL for the " + string(name) + " database alone, overriding database_url",
			Secret:  true,
			apply: func(c *Config, v string) error {
				if err := validateDatabaseURL(v); err != nil {
					return err
				}
				if v == "" {
					delete(c.DatabaseURLs, name)
				} else {
					c.DatabaseURLs[name] = v
				}
				return nil
			},
			get: func(c *Config) string { return c.DatabaseURLs[name] },
		})
	}
	s = append(s,
		Setting{
			Key: "redis_url", Env: "CSPM_REDIS_URL", Flag: "redis-url", Default: "", Secret: true,
			Usage: "redis:// URL that keeps sessions and login lockout counters in Redis, shared by every API process; empty keeps them in the SQL database",
			apply: func(c *Config, v string) error {
				if v != "" {
					u, err := url.Parse(v)
					if err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") {
						return fmt.Errorf("want a redis:// or rediss:// URL")
					}
				}
				c.RedisURL = v
				return nil
			},
			get: func(c *Config) string { return c.RedisURL },
		},
		Setting{
			Key: "secret_key", Env: "CSPM_SECRET_KEY", Default: "", Secret: true,
			Usage: "32 random bytes in base64 (openssl rand -base64 32) that seal secrets at rest (TOTP secrets, cloud credentials); every process of an install needs the same key; empty uses secret_key_file",
			apply: func(c *Config, v string) error { c.SecretKey = v; return nil },
			get:   func(c *Config) string { return c.SecretKey },
		},
		Setting{
			Key: "secret_key_file", Env: "CSPM_SECRET_KEY_FILE", Flag: "secret-key-file", Default: "",
			Usage: "file holding the secret key when secret_key is empty; created with a random key if missing; empty means data_dir/secret.key",
			apply: func(c *Config, v string) error { c.SecretKeyFile = v; return nil },
			get:   func(c *Config) string { return c.SecretKeyFile },
		},
		boolSetting("cookie_secure", "CSPM_COOKIE_SECURE", "true",
			"mark the session cookie Secure (sent over HTTPS only); false only for plain-HTTP development on another host than localhost",
			func(c *Config) *bool { return &c.CookieSecure }),
		durationSetting("session_idle_timeout", "CSPM_SESSION_IDLE_TIMEOUT", "30m",
			"a session ends after this long without a request", func(c *Config) *time.Duration { return &c.SessionIdleTimeout }),
		durationSetting("session_max_age", "CSPM_SESSION_MAX_AGE", "12h",
			"a session ends this long after sign-in, however active", func(c *Config) *time.Duration { return &c.SessionMaxAge }),
		intSetting("max_failed_login_attempts", "CSPM_MAX_FAILED_LOGIN_ATTEMPTS", "5", 1, 1000,
			"failed sign-ins for one email within login_failure_window that lock it (MAX_FAILED_LOGIN_ATTEMPTS)",
			func(c *Config) *int { return &c.MaxFailedLoginAttempts }),
		intSetting("max_failed_logins_per_address", "CSPM_MAX_FAILED_LOGINS_PER_ADDRESS", "30", 0, 100000,
			"failed sign-ins from one source address, over all emails, within login_failure_window that lock the address; 0 turns it off",
			func(c *Config) *int { return &c.MaxFailedLoginsPerAddress }),
		durationSetting("login_failure_window", "CSPM_LOGIN_FAILURE_WINDOW", "15m",
			"window in which failed sign-ins are counted", func(c *Config) *time.Duration { return &c.LoginFailureWindow }),
		durationSetting("login_lockout", "CSPM_LOGIN_LOCKOUT", "15m",
			"how long a locked email is refused, even with the right password", func(c *Config) *time.Duration { return &c.LoginLockout }),
		intSetting("password_hash_concurrency", "CSPM_PASSWORD_HASH_CONCURRENCY", "2", 0, 1024,
			"PBKDF2 hashes (about 0.1 s of a core each) one process runs at once, so a flood of logins cannot starve the API; 0 is unbounded",
			func(c *Config) *int { return &c.PasswordHashConcurrency }),
		Setting{
			Key: "import_max_bytes", Env: "CSPM_IMPORT_MAX_BYTES", Flag: "import-max-bytes", Default: "1073741824",
			Usage: "largest report an upload or `cspm import` accepts, in bytes (default 1 GiB)",
			apply: func(c *Config, v string) error {
				n, err := strconv.ParseInt(v, 10, 64)
				if err != nil || n < 1024 {
					return fmt.Errorf("want a number of bytes, at least 1024, got %q", v)
				}
				c.ImportMaxBytes = n
				return nil
			},
			get: func(c *Config) string { return strconv.FormatInt(c.ImportMaxBytes, 10) },
		},
		Setting{
			Key: "kb_max_bytes", Env: "CSPM_KB_MAX_BYTES", Default: "20971520",
			Usage: "largest document the knowledge base accepts, in bytes (default 20 MiB); a document is read whole to check it",
			apply: func(c *Config, v string) error {
				n, err := strconv.ParseInt(v, 10, 64)
				if err != nil || n < 1024 || n > 1<<30 {
					return fmt.Errorf("want a number of bytes from 1024 to 1073741824, got %q", v)
				}
				c.KBMaxBytes = n
				return nil
			},
			get: func(c *Config) string { return strconv.FormatInt(c.KBMaxBytes, 10) },
		},
		withFlag("kev-url", urlSetting("kev_url", "CSPM_KEV_URL", "https://www.cisa.gov/sites/default/files/feeds/known_exploited_vulnerabilities.json",
			"where the CISA KEV catalog is downloaded from; empty turns the daily sync off (`--kev-url=` for an offline install)",
			func(c *Config) *string { return &c.KEVURL })),
		durationSetting("kev_sync_interval", "CSPM_KEV_SYNC_INTERVAL", "24h",
			"how often the KEV catalog is downloaded again", func(c *Config) *time.Duration { return &c.KEVSyncInterval }),
		urlSetting("epss_url", "CSPM_EPSS_URL", "",
			"where the daily FIRST EPSS CSV (plain or gzipped) is downloaded from, such as https://epss.empiricalsecurity.com/epss_scores-current.csv.gz; empty means only `cspm epss import`",
			func(c *Config) *string { return &c.EPSSURL }),
		durationSetting("epss_sync_interval", "CSPM_EPSS_SYNC_INTERVAL", "24h",
			"how often the EPSS scores are downloaded again when epss_url is set", func(c *Config) *time.Duration { return &c.EPSSSyncInterval }),
		Setting{
			Key: "artifact_dir", Env: "CSPM_ARTIFACT_DIR", Flag: "artifact-dir", Default: "",
			Usage: "directory for raw scan outputs and uploaded reports; empty means data_dir/artifacts",
			apply: func(c *Config, v string) error { c.ArtifactDir = v; return nil },
			get:   func(c *Config) string { return c.ArtifactDir },
		},
		urlSetting("artifact_s3_endpoint", "CSPM_ARTIFACT_S3_ENDPOINT", "",
			"S3 or MinIO endpoint (https://s3.eu-west-1.amazonaws.com, http://minio:9000) that keeps artifacts instead of artifact_dir; the bucket must exist", func(c *Config) *string { return &c.ArtifactS3Endpoint }),
		stringSetting("artifact_s3_region", "CSPM_ARTIFACT_S3_REGION", "", "the bucket's region", func(c *Config) *string { return &c.ArtifactS3Region }),
		stringSetting("artifact_s3_bucket", "CSPM_ARTIFACT_S3_BUCKET", "", "the bucket that keeps artifacts", func(c *Config) *string { return &c.ArtifactS3Bucket }),
		stringSetting("artifact_s3_prefix", "CSPM_ARTIFACT_S3_PREFIX", "", "key prefix inside the bucket", func(c *Config) *string { return &c.ArtifactS3Prefix }),
		stringSetting("artifact_s3_access_key", "CSPM_ARTIFACT_S3_ACCESS_KEY", "",
			"access key for the bucket; empty uses AWS_* or MINIO_* variables or the instance's role", func(c *Config) *string { return &c.ArtifactS3AccessKey }),
		func() Setting {
			s := stringSetting("artifact_s3_secret_key", "CSPM_ARTIFACT_S3_SECRET_KEY", "", "secret key for the bucket", func(c *Config) *string { return &c.ArtifactS3SecretKey })
			s.Secret = true
			return s
		}(),
		durationOrZeroSetting("artifact_retention", "CSPM_ARTIFACT_RETENTION", "8760h",
			"how long scan reports are kept before the daily cleanup deletes them; 0 keeps them forever", func(c *Config) *time.Duration { return &c.ArtifactRetention }),
		urlSetting("public_url", "CSPM_PUBLIC_URL", "",
			"the platform's address as users reach it (https://cspm.example.com), for links in notifications and tickets; empty leaves links out",
			func(c *Config) *string { return &c.PublicURL }),
		boolSetting("integrations_allow_insecure", "CSPM_INTEGRATIONS_ALLOW_INSECURE", "false",
			"let notification channels and ticket systems use http:// and loopback addresses (labs, a local SMTP relay); link-local and cloud metadata addresses stay refused",
			func(c *Config) *bool { return &c.IntegrationsAllowInsecure }),
		durationSetting("bia_review_grace", "CSPM_BIA_REVIEW_GRACE", "720h",
			"how long a business impact analysis may stay overdue for review before it is archived", func(c *Config) *time.Duration { return &c.BIAReviewGrace }),
		durationSetting("scan_timeout", "CSPM_SCAN_TIMEOUT", "4h",
			"how long one SubJob's tool may run before it is killed", func(c *Config) *time.Duration { return &c.ScanTimeout }),
		durationSetting("scan_stall_timeout", "CSPM_SCAN_STALL_TIMEOUT", "30m",
			"a tool that writes nothing (output, errors, report) for this long is killed and its SubJob failed", func(c *Config) *time.Duration { return &c.ScanStallTimeout }),
		intSetting("scan_max_attempts", "CSPM_SCAN_MAX_ATTEMPTS", "3", 1, 25,
			"how often a SubJob that fails for a passing reason is tried (bad credentials and bad targets are not retried)", func(c *Config) *int { return &c.ScanMaxAttempts }),
		Setting{
			Key: "scan_concurrency", Env: "CSPM_SCAN_CONCURRENCY", Default: "grype=2,nmap=4,prowler=2,steampipe=2,trivy=2,wapiti=2",
			Usage: "how many runs of each tool one worker process works at once, as tool=n pairs",
			apply: func(c *Config, v string) error {
				m, err := parseConcurrency(v)
				if err != nil {
					return err
				}
				c.ScanConcurrency = m
				return nil
			},
			get: func(c *Config) string { return formatConcurrency(c.ScanConcurrency) },
		},
		stringSetting("scan_work_dir", "CSPM_SCAN_WORK_DIR", "",
			"directory where SubJobs run their tools (removed after each); empty means data_dir/scan-work", func(c *Config) *string { return &c.ScanWorkDir }),
		durationOrZeroSetting("job_rescue_after", "CSPM_JOB_RESCUE_AFTER", "0",
			"how long a job without a timeout of its own may run before it is presumed orphaned by a dead worker and run again (a SubJob waits out its scan_timeout and a quarter first); 0 means 1h", func(c *Config) *time.Duration { return &c.JobRescueAfter }),
		stringSetting("prowler_bin", "CSPM_PROWLER_BIN", "", "the prowler executable; empty finds it on PATH", func(c *Config) *string { return &c.ProwlerBin }),
		stringSetting("prowler_docker_image", "CSPM_PROWLER_DOCKER_IMAGE", "",
			"run Prowler in this image (such as prowlercloud/prowler:stable) through docker instead of a local executable", func(c *Config) *string { return &c.ProwlerDockerImage }),
		stringSetting("prowler_host_output_dir", "PROWLER_HOST_OUTPUT_DIR", "",
			"with prowler_docker_image, the path under which the Docker host sees scan_work_dir (for a worker that runs in a container beside the engine)",
			func(c *Config) *string { return &c.ProwlerHostOutputDir }),
		stringSetting("docker_bin", "CSPM_DOCKER_BIN", "", "the docker executable; empty finds it on PATH", func(c *Config) *string { return &c.DockerBin }),
		stringSetting("steampipe_bin", "CSPM_STEAMPIPE_BIN", "", "the powerpipe executable that runs Steampipe benchmarks; empty finds powerpipe on PATH", func(c *Config) *string { return &c.PowerpipeBin }),
		stringSetting("nmap_bin", "CSPM_NMAP_BIN", "", "the nmap executable; empty finds it on PATH", func(c *Config) *string { return &c.NmapBin }),
		stringSetting("wapiti_bin", "CSPM_WAPITI_BIN", "", "the wapiti executable; empty finds it on PATH", func(c *Config) *string { return &c.WapitiBin }),
		stringSetting("trivy_bin", "CSPM_TRIVY_BIN", "", "the trivy executable; empty finds it on PATH", func(c *Config) *string { return &c.TrivyBin }),
		stringSetting("grype_bin", "CSPM_GRYPE_BIN", "", "the grype executable; empty finds it on PATH", func(c *Config) *string { return &c.GrypeBin }),
		stringSetting("checkov_bin", "CSPM_CHECKOV_BIN", "", "the checkov executable; empty finds it on PATH", func(c *Config) *string { return &c.CheckovBin }),
		stringSetting("osv_scanner_bin", "CSPM_OSV_SCANNER_BIN", "", "the osv-scanner executable (version 2); empty finds it on PATH", func(c *Config) *string { return &c.OSVScannerBin }),
		stringSetting("code_scan_roots", "CSPM_CODE_SCAN_ROOTS", "",
			"directories (comma-separated) under which code scans (Checkov, OSV-Scanner) may read a checkout, a lockfile or an SBOM on the worker; empty turns code scans off, since a path names the worker's own files",
			func(c *Config) *string { return &c.CodeScanRoots }),
		intSetting("wapiti_max_scan_time", "CSPM_WAPITI_MAX_SCAN_TIME", "0", 0, 86400,
			"seconds a Wapiti scan may take (Wapiti stops and reports); 0 is Wapiti's default", func(c *Config) *int { return &c.WapitiMaxScanTime }),
		stringSetting("worker_identity_teams", "CSPM_WORKER_IDENTITY_TEAMS", "",
			"teams (by name, comma-separated) that may scan AWS with the platform's own identity (worker_identity: the worker's instance profile, IRSA or environment); empty allows none, since that identity is the operator's, not a team's",
			func(c *Config) *string { return &c.WorkerIdentityTeams }),
		stringSetting("wapiti_modules", "CSPM_WAPITI_MODULES", "", "Wapiti attack modules, comma-separated; empty is Wapiti's default set", func(c *Config) *string { return &c.WapitiModules }),
		urlSetting("aws_endpoint_url", "CSPM_AWS_ENDPOINT_URL", "",
			"STS endpoint for cloud account connection tests (a VPC endpoint, a test server); empty is AWS's public endpoint", func(c *Config) *string { return &c.AWSEndpointURL }),
		urlSetting("gcp_token_url", "CSPM_GCP_TOKEN_URL", "https://oauth2.googleapis.com/token",
			"the only token endpoint a GCP service-account key may name (its token_uri) for connection tests", func(c *Config) *string { return &c.GCPTokenURL }),
		urlSetting("azure_authority_host", "CSPM_AZURE_AUTHORITY_HOST", "https://login.microsoftonline.com",
			"Microsoft Entra ID authority for Azure connection tests (sovereign clouds differ)", func(c *Config) *string { return &c.AzureAuthorityHost }),
		Setting{
			Key: "log_level", Env: "CSPM_LOG_LEVEL", Flag: "log-level", Default: "info",
			Usage: "minimum log level: debug, info, warn or error",
			apply: func(c *Config, v string) error {
				var l slog.Level
				if err := l.UnmarshalText([]byte(v)); err != nil {
					return fmt.Errorf("unknown log level %q: want debug, info, warn or error", v)
				}
				c.LogLevel = l
				return nil
			},
			get: func(c *Config) string { return strings.ToLower(c.LogLevel.String()) },
		},
		Setting{
			Key: "log_format", Env: "CSPM_LOG_FORMAT", Flag: "log-format", Default: "auto",
			Usage: "log format: auto (text on a terminal, JSON otherwise), text or json",
			apply: func(c *Config, v string) error {
				switch v {
				case "auto", "text", "json":
					c.LogFormat = v
					return nil
				}
				return fmt.Errorf("unknown log format %q: want auto, text or json", v)
			},
			get: func(c *Config) string { return c.LogFormat },
		},
		Setting{
			Key: "workers", Env: "CSPM_WORKERS", NegFlag: "no-workers", Default: "true",
			Usage: "run background workers inside `cspm serve` (`cspm worker` always does)",
			apply: func(c *Config, v string) error {
				b, err := strconv.ParseBool(v)
				if err != nil {
					return fmt.Errorf("want true or false, got %q", v)
				}
				c.Workers = b
				return nil
			},
			get: func(c *Config) string { return strconv.FormatBool(c.Workers) },
		},
		Setting{
			Key: "worker_concurrency", Env: "CSPM_WORKER_CONCURRENCY", Flag: "worker-concurrency", Default: "10",
			Usage: "jobs one process works at the same time",
			apply: func(c *Config, v string) error {
				n, err := strconv.Atoi(v)
				if err != nil || n < 1 || n > 10000 {
					return fmt.Errorf("want a whole number from 1 to 10000, got %q", v)
				}
				c.WorkerConcurrency = n
				return nil
			},
			get: func(c *Config) string { return strconv.Itoa(c.WorkerConcurrency) },
		},
		Setting{
			Key: "shutdown_timeout", Env: "CSPM_SHUTDOWN_TIMEOUT", Flag: "shutdown-timeout", Default: "30s",
			Usage: "how long in-flight requests and jobs may run after SIGINT/SIGTERM before they are cancelled",
			apply: func(c *Config, v string) error {
				d, err := time.ParseDuration(v)
				if err != nil || d <= 0 {
					return fmt.Errorf("want a positive duration such as 30s, got %q", v)
				}
				c.ShutdownTimeout = d
				return nil
			},
			get: func(c *Config) string { return c.ShutdownTimeout.String() },
		},
	)
	return s
}

func validateDatabaseURL(v string) error {
	if v == "" {
		return nil
	}
	u, err := url.Parse(v)
	if err != nil {
		// url.Parse echoes the whole URL, password included: say less.
		return fmt.Errorf("not a valid URL")
	}
	switch u.Scheme {
	case "postgres", "postgresql":
		return nil
	case "":
		return fmt.Errorf("missing scheme: want postgres://user@host:5432/dbname, or leave empty for embedded SQLite")
	}
	return fmt.Errorf("unsupported database scheme %q: want postgres:// (or leave empty for embedded SQLite)", u.Scheme)
}

// redact hides the password of a URL, or the whole value of other secrets.
func redact(v string) string {
	if u, err := url.Parse(v); err == nil && u.Scheme != "" {
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), "REDACTED")
		}
		q := u.Query()
		if q.Has("password") {
			q.Set("password", "REDACTED")
			u.RawQuery = q.Encode()
		}
		return u.String()
	}
	return "REDACTED"
}

// Markdown renders the settings table for docs/configuration.md.
func Markdown() string {
	var b strings.Builder
	b.WriteString("| File key | Environment | Flag | Default | Description |\n|---|---|---|---|---|\n")
	for _, s := range Settings() {
		flagCol := ""
		switch {
		case s.Flag != "":
			flagCol = "`--" + s.Flag + "`"
		case s.NegFlag != "":
			flagCol = "`--" + s.NegFlag + "`"
		}
		def := s.Default
		if def == "" {
			def = "(empty)"
		}
		desc := s.Usage
		if s.Secret {
			desc += " (secret: redacted by `cspm config`)"
		}
		fmt.Fprintf(&b, "| `%s` | `%s` | %s | `%s` | %s |\n", s.Key, s.Env, flagCol, def, desc)
	}
	return b.String()
}

func boolSetting(key, env, def, usage string, field func(*Config) *bool) Setting {
	return Setting{Key: key, Env: env, Default: def, Usage: usage,
		apply: func(c *Config, v string) error {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return fmt.Errorf("want true or false, got %q", v)
			}
			*field(c) = b
			return nil
		},
		get: func(c *Config) string { return strconv.FormatBool(*field(c)) },
	}
}

func durationSetting(key, env, def, usage string, field func(*Config) *time.Duration) Setting {
	return Setting{Key: key, Env: env, Default: def, Usage: usage,
		apply: func(c *Config, v string) error {
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				return fmt.Errorf("want a positive duration such as 30s, got %q", v)
			}
			*field(c) = d
			return nil
		},
		get: func(c *Config) string { return field(c).String() },
	}
}

func durationOrZeroSetting(key, env, def, usage string, field func(*Config) *time.Duration) Setting {
	return Setting{Key: key, Env: env, Default: def, Usage: usage,
		apply: func(c *Config, v string) error {
			d, err := time.ParseDuration(v)
			if err != nil || d < 0 {
				return fmt.Errorf("want a duration such as 720h, or 0, got %q", v)
			}
			*field(c) = d
			return nil
		},
		get: func(c *Config) string { return field(c).String() },
	}
}

func stringSetting(key, env, def, usage string, field func(*Config) *string) Setting {
	return Setting{Key: key, Env: env, Default: def, Usage: usage,
		apply: func(c *Config, v string) error { *field(c) = v; return nil },
		get:   func(c *Config) string { return *field(c) }}
}

// parseConcurrency reads "prowler=2,nmap=4".
func parseConcurrency(v string) (map[string]int, error) {
	m := map[string]int{}
	for _, pair := range strings.Split(v, ",") {
		if pair = strings.TrimSpace(pair); pair == "" {
			continue
		}
		k, n, ok := strings.Cut(pair, "=")
		c, err := strconv.Atoi(strings.TrimSpace(n))
		if !ok || err != nil || c < 1 || c > 100 || strings.TrimSpace(k) == "" {
			return nil, fmt.Errorf("want tool=n pairs such as prowler=2,nmap=4 (n from 1 to 100), got %q", pair)
		}
		m[strings.TrimSpace(k)] = c
	}
	return m, nil
}

func formatConcurrency(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s=%d", k, m[k]))
	}
	return strings.Join(parts, ",")
}

// withFlag gives s a command-line flag.
func withFlag(flag string, s Setting) Setting {
	s.Flag = flag
	return s
}

func urlSetting(key, env, def, usage string, field func(*Config) *string) Setting {
	return Setting{Key: key, Env: env, Default: def, Usage: usage,
		apply: func(c *Config, v string) error {
			if v != "" && !strings.HasPrefix(v, "https://") && !strings.HasPrefix(v, "http://") {
				return fmt.Errorf("want an http or https URL, or nothing, got %q", v)
			}
			*field(c) = v
			return nil
		},
		get: func(c *Config) string { return *field(c) },
	}
}

func intSetting(key, env, def string, lo, hi int, usage string, field func(*Config) *int) Setting {
	return Setting{Key: key, Env: env, Default: def, Usage: usage,
		apply: func(c *Config, v string) error {
			n, err := strconv.Atoi(v)
			if err != nil || n < lo || n > hi {
				return fmt.Errorf("want a whole number from %d to %d, got %q", lo, hi, v)
			}
			*field(c) = n
			return nil
		},
		get: func(c *Config) string { return strconv.Itoa(*field(c)) },
	}
}
