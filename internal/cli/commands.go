package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/offloadsecurity/cspm/internal/app"
	"github.com/offloadsecurity/cspm/internal/config"
	"github.com/offloadsecurity/cspm/internal/db"
	"github.com/offloadsecurity/cspm/internal/logging"
	"github.com/offloadsecurity/cspm/internal/queue"
	"github.com/offloadsecurity/cspm/internal/version"
)

// flagSetBinding lets a command add its own flags next to the settings'.
type flagSetBinding struct {
	*flag.FlagSet
	allowArgs bool
	args      []string
}

// setup parses a command's flags and loads the configuration.
func setup(env Env, name string, args []string, extra func(fsBind *flagSetBinding)) (*config.Config, error) {
	fs := newFlagSet(env, name)
	loader := config.Bind(fs)
	b := &flagSetBinding{FlagSet: fs}
	if extra != nil {
		extra(b)
	}
	positional, err := parseInterleaved(fs, args)
	if err != nil {
		return nil, err
	}
	if len(positional) > 0 && !b.allowArgs {
		return nil, usagef("%s: unexpected argument %q", name, positional[0])
	}
	b.args = positional
	cfg, err := loader.Load(env.Getenv)
	if err != nil {
		return nil, err
	}
	return cfg, nil
}

func runServe(env Env, args []string) error {
	cfg, err := setup(env, "serve", args, nil)
	if err != nil {
		return err
	}
	logger := logging.New(env.Stderr, cfg.LogLevel, cfg.LogFormat)
	ctx, stop := env.Signals()
	defer stop()

	// Listen before anything else, so that a port in use is reported at once
	// and the printed URL carries the real port when :0 was asked for.
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return listenError(cfg.Addr, err)
	}
	defer ln.Close()

	a, err := app.Open(ctx, cfg, logger, cfg.Workers)
	if err != nil {
		return err
	}
	defer a.Close()
	if email, pw, err := a.Bootstrap(ctx); err != nil {
		return fmt.Errorf("create the first administrator: %w", err)
	} else if pw != "" {
		fmt.Fprintf(env.Stdout, "Created team \"Default\" and its first administrator.\n  email:    %s\n  password: %s\n"+
			"This password is shown once: sign in and change it now.\n", email, pw)
	}
	url := "http://" + ln.Addr().String()
	if tcp, ok := ln.Addr().(*net.TCPAddr); ok && tcp.IP.IsUnspecified() {
		url = fmt.Sprintf("http://localhost:%d", tcp.Port)
	}
	fmt.Fprintf(env.Stdout, "OffloadSecurity CSPM %s is serving on %s\n", version.Get().Version, url)
	return a.Serve(ctx, ln)
}

func listenError(addr string, err error) error {
	if errors.Is(err, syscall.EADDRINUSE) {
		return fmt.Errorf("cannot listen on %s: address already in use (set --addr or CSPM_ADDR)", addr)
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		return fmt.Errorf("cannot listen on %s: %w", addr, op.Err)
	}
	return fmt.Errorf("cannot listen on %s: %w", addr, err)
}

func runWorker(env Env, args []string) error {
	cfg, err := setup(env, "worker", args, nil)
	if err != nil {
		return err
	}
	logger := logging.New(env.Stderr, cfg.LogLevel, cfg.LogFormat)
	ctx, stop := env.Signals()
	defer stop()
	a, err := app.Open(ctx, cfg, logger, true)
	if err != nil {
		return err
	}
	defer a.Close()
	return a.Work(ctx)
}

func runMigrate(env Env, args []string) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return usagef("migrate: want a subcommand: up or status")
	}
	sub := args[0]
	if sub != "up" && sub != "status" {
		return usagef("migrate: unknown subcommand %q: want up or status", sub)
	}
	cfg, err := setup(env, "migrate "+sub, args[1:], nil)
	if err != nil {
		return err
	}
	logger := logging.New(env.Stderr, cfg.LogLevel, cfg.LogFormat)
	ctx := context.Background()
	reg, err := app.OpenRegistry(ctx, cfg)
	if err != nil {
		return err
	}
	defer reg.Close()
	if sub == "up" {
		n, err := app.Migrate(ctx, reg, logger)
		if err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "applied %d migrations (%s)\n", n, reg.Engine())
		return nil
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "DATABASE\tENGINE\tVERSION\tNAME\tAPPLIED")
	pending := 0
	for _, name := range db.Names {
		d := reg.Get(name)
		states, err := d.MigrationStatus(ctx)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		for _, s := range states {
			applied := "pending"
			if s.AppliedAt != nil {
				applied = s.AppliedAt.UTC().Format(time.RFC3339)
			} else {
				pending++
			}
			fmt.Fprintf(tw, "%s\t%s\t%04d\t%s\t%s\n", name, d.Dialect, s.Version, s.Name, applied)
		}
	}
	rv, err := queue.Version(ctx, reg)
	if err != nil {
		rv = 0
	}
	fmt.Fprintf(tw, "%s\t%s\t%04d\t%s\t%s\n", db.Orchestration, reg.Get(db.Orchestration).Dialect, rv, "river (job queue)", "latest applied")
	if err := tw.Flush(); err != nil {
		return err
	}
	if pending > 0 {
		fmt.Fprintf(env.Stdout, "%d migrations pending: run 'cspm migrate up'\n", pending)
	}
	return nil
}

func runConfig(env Env, args []string) error {
	var asJSON, markdown bool
	cfg, err := setup(env, "config", args, func(b *flagSetBinding) {
		b.BoolVar(&asJSON, "json", false, "print as JSON")
		b.BoolVar(&markdown, "markdown", false, "print the reference table of every setting (docs/configuration.md)")
	})
	if err != nil {
		return err
	}
	if markdown {
		fmt.Fprint(env.Stdout, config.Markdown())
		return nil
	}
	entries := cfg.Effective()
	if asJSON {
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(entries)
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SETTING\tVALUE\tSOURCE\tENVIRONMENT")
	for _, e := range entries {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", e.Key, e.Value, e.Source, e.Env)
	}
	if cfg.ConfigFile != "" {
		fmt.Fprintf(tw, "(config file: %s)\n", cfg.ConfigFile)
	}
	return tw.Flush()
}

func runVersion(env Env, args []string) error {
	var asJSON bool
	fs := newFlagSet(env, "version")
	fs.BoolVar(&asJSON, "json", false, "print as JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	v := version.Get()
	if asJSON {
		return json.NewEncoder(env.Stdout).Encode(v)
	}
	commit := v.Commit
	if len(commit) > 12 {
		commit = commit[:12]
	}
	if commit == "" {
		commit = "unknown"
	}
	fmt.Fprintf(env.Stdout, "cspm %s (commit %s, %s)\n", v.Version, commit, v.GoVersion)
	return nil
}
