package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/offloadsecurity/cspm/internal/app"
	"github.com/offloadsecurity/cspm/internal/config"
	"github.com/offloadsecurity/cspm/internal/db"
	"github.com/offloadsecurity/cspm/internal/scanner"
	"github.com/offloadsecurity/cspm/internal/version"
)

// Doctor check states.
const (
	checkOK      = "ok"
	checkWarn    = "warning" // works, but something will not (a scanner is missing)
	checkFailed  = "failed"  // something required is missing: cspm doctor exits 1
	checkSkipped = "skipped" // not configured
)

// doctorCheck is one line of the report.
type doctorCheck struct {
	Name   string `json:"name"`
	Status string `json:"status"`
	Detail string `json:"detail"`
}

// doctorTool is a tool of the inventory and whether this machine needs it.
type doctorTool struct {
	scanner.ToolStatus
	// Required: its setting names it, prowler_docker_image needs it, or
	// --require names it. A required tool that is missing fails the doctor.
	Required bool   `json:"required"`
	Status   string `json:"status"`
}

type doctorReport struct {
	OK      bool          `json:"ok"`
	Version string        `json:"version"`
	Checks  []doctorCheck `json:"checks"`
	Tools   []doctorTool  `json:"tools"`
}

func runDoctor(env Env, args []string) error {
	var (
		asJSON  bool
		require string
	)
	cfg, err := setup(env, "doctor", args, func(b *flagSetBinding) {
		b.BoolVar(&asJSON, "json", false, "print as JSON")
		b.StringVar(&require, "require", "", "scanners this machine must have, comma-separated (or all): a missing one fails the check")
	})
	if err != nil {
		return err
	}
	required := map[string]bool{}
	for _, t := range strings.Split(require, ",") {
		t = strings.TrimSpace(t)
		switch {
		case t == "":
		case t == "all":
			for _, name := range scanner.AllTools {
				required[name] = true
			}
		case slices.Contains(scanner.AllTools, t) || t == scanner.Docker:
			required[t] = true
		default:
			return usagef("doctor: --require: unknown tool %q (one of %s, docker, all)", t, strings.Join(scanner.AllTools, ", "))
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	rep := doctor(ctx, cfg, required)
	if asJSON {
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else if err := printDoctor(env.Stdout, rep); err != nil {
		return err
	}
	if !rep.OK {
		var failed []string
		for _, c := range rep.Checks {
			if c.Status == checkFailed {
				failed = append(failed, c.Name)
			}
		}
		for _, t := range rep.Tools {
			if t.Status == checkFailed {
				failed = append(failed, t.Name)
			}
		}
		return fmt.Errorf("doctor: %s failed", strings.Join(failed, ", "))
	}
	return nil
}

// doctor checks what this machine needs to run cspm: the data directory,
// the databases, Redis when configured, the scan work directory and the
// scanning tools.
func doctor(ctx context.Context, cfg *config.Config, required map[string]bool) doctorReport {
	rep := doctorReport{OK: true, Version: version.Get().Version}
	add := func(c doctorCheck) {
		rep.Checks = append(rep.Checks, c)
		if c.Status == checkFailed {
			rep.OK = false
		}
	}
	add(dirCheck("data directory", cfg.DataDir, "data_dir"))
	add(databaseCheck(ctx, cfg))
	add(redisCheck(ctx, cfg))
	work, err := app.ScanWorkDir(cfg)
	if err != nil {
		add(doctorCheck{Name: "scan work directory", Status: checkFailed, Detail: err.Error()})
	} else {
		add(dirCheck("scan work directory", work, "scan_work_dir"))
	}

	sc := app.ScannerConfig(cfg, work)
	for _, t := range scanner.NewInventory().Check(ctx, sc) {
		dt := doctorTool{ToolStatus: t, Required: required[t.Name] || t.Configured != "" || (t.Name == scanner.Docker && sc.ProwlerDockerImage != "")}
		switch {
		case t.Found && t.Problem == "":
			dt.Status = checkOK
		case t.Found:
			dt.Status = checkWarn // found, but its version could not be read
		case dt.Required:
			dt.Status, rep.OK = checkFailed, false
		default:
			dt.Status = checkWarn
		}
		rep.Tools = append(rep.Tools, dt)
	}
	return rep
}

// dirCheck proves a directory writable, or, when it does not exist yet,
// the directory it would be created in (serve creates it; doctor changes
// nothing).
func dirCheck(name, dir, setting string) doctorCheck {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return doctorCheck{Name: name, Status: checkFailed, Detail: err.Error()}
	}
	probe, detail := abs, abs+" is writable"
	if _, err := os.Stat(abs); errors.Is(err, os.ErrNotExist) {
		probe = filepath.Dir(abs)
		for {
			if _, err := os.Stat(probe); err == nil || probe == filepath.Dir(probe) {
				break
			}
			probe = filepath.Dir(probe)
		}
		detail = abs + " does not exist yet; serve creates it in " + probe + ", which is writable"
	}
	f, err := os.CreateTemp(probe, ".cspm-doctor-*")
	if err != nil {
		return doctorCheck{Name: name, Status: checkFailed, Detail: fmt.Sprintf("%s is not writable (%s): %v", probe, setting, errors.Unwrap(err))}
	}
	_ = f.Close()
	_ = os.Remove(f.Name())
	return doctorCheck{Name: name, Status: checkOK, Detail: detail}
}

// databaseCheck opens every logical database and reads its schema version,
// without migrating anything.
func databaseCheck(ctx context.Context, cfg *config.Config) doctorCheck {
	c := doctorCheck{Name: "database"}
	if cfg.URLFor(db.Platform) == "" {
		// Opening would create the SQLite files: a fresh install is fine as it is.
		if _, err := os.Stat(filepath.Join(cfg.DataDir, string(db.Platform)+".db")); errors.Is(err, os.ErrNotExist) {
			c.Status, c.Detail = checkOK, "embedded SQLite: the databases are created in data_dir at the first serve"
			return c
		}
	}
	dctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	reg, err := app.OpenRegistry(dctx, cfg)
	if err != nil {
		c.Status, c.Detail = checkFailed, err.Error()
		return c
	}
	defer reg.Close()
	var down, pending []string
	for name, err := range reg.Ping(dctx) {
		if err != nil {
			down = append(down, fmt.Sprintf("%s: %v", name, err))
		}
	}
	if len(down) > 0 {
		slices.Sort(down)
		c.Status, c.Detail = checkFailed, "unreachable: "+strings.Join(down, "; ")
		return c
	}
	for _, name := range db.Names {
		states, err := reg.Get(name).MigrationStatus(dctx)
		if err != nil {
			c.Status, c.Detail = checkFailed, fmt.Sprintf("%s: %v", name, err)
			return c
		}
		n := 0
		for _, s := range states {
			if s.AppliedAt == nil {
				n++
			}
		}
		if n > 0 {
			pending = append(pending, fmt.Sprintf("%s (%d)", name, n))
		}
	}
	c.Status, c.Detail = checkOK, fmt.Sprintf("%s: %d logical databases reachable", reg.Engine(), len(db.Names))
	if len(pending) > 0 {
		c.Status = checkWarn
		c.Detail += "; migrations pending in " + strings.Join(pending, ", ") + " (cspm migrate up, or the next serve, applies them)"
	}
	return c
}

func redisCheck(ctx context.Context, cfg *config.Config) doctorCheck {
	c := doctorCheck{Name: "redis"}
	if cfg.RedisURL == "" {
		c.Status, c.Detail = checkSkipped, "not configured (redis_url): sessions live in the database"
		return c
	}
	opts, err := redis.ParseURL(cfg.RedisURL)
	if err != nil {
		c.Status, c.Detail = checkFailed, "redis_url is not a valid Redis URL"
		return c
	}
	opts.MaxRetries, opts.DialerRetries = -1, 1
	// The client logs each failed dial to standard error; the check's
	// answer says it once.
	redis.SetLogger(quietRedis{})
	rc := redis.NewClient(opts)
	defer rc.Close()
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := rc.Ping(pctx).Err(); err != nil {
		c.Status, c.Detail = checkFailed, fmt.Sprintf("cannot connect to Redis at %s: %v", opts.Addr, err)
		return c
	}
	c.Status, c.Detail = checkOK, "reachable at "+opts.Addr
	return c
}

func printDoctor(w io.Writer, rep doctorReport) error {
	fmt.Fprintf(w, "cspm doctor (OffloadSecurity CSPM %s)\n\n", rep.Version)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CHECK\tSTATUS\tDETAIL")
	for _, c := range rep.Checks {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", c.Name, c.Status, c.Detail)
	}
	fmt.Fprintln(tw)
	fmt.Fprintln(tw, "SCANNER\tSTATUS\tVERSION\tPATH\tSETTING")
	for _, t := range rep.Tools {
		status := t.Status
		if !t.Found {
			status += " (not found)"
		}
		version, path := t.Version, t.Path
		if t.Via != "" {
			version = "image " + t.Via
		}
		if path == "" {
			path = "-"
		}
		if version == "" {
			version = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s (%s)\n", t.Name, status, version, path, t.Setting, t.Env)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	var missing []doctorTool
	for _, t := range rep.Tools {
		if t.Problem != "" {
			missing = append(missing, t)
		}
	}
	if len(missing) > 0 {
		fmt.Fprintln(w)
		fmt.Fprintln(w, "What to do:")
		for _, t := range missing {
			if t.Found {
				fmt.Fprintf(w, "  %s: %s\n", t.Name, t.Problem)
				continue
			}
			fmt.Fprintf(w, "  %s: %s. Install: %s; or set %s (%s) to its executable.\n", t.Name, t.Problem, t.Install, t.Setting, t.Env)
		}
		fmt.Fprintln(w, "Scans whose tool is missing are refused before they are queued.")
	}
	fmt.Fprintln(w)
	if rep.OK {
		fmt.Fprintln(w, "Everything required is in place.")
	}
	return nil
}

type quietRedis struct{}

func (quietRedis) Printf(context.Context, string, ...any) {}
