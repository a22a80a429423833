// Package cli implements the cspm command line. Every failure ends as one
// line on stderr, "cspm: <what is wrong>", and a non-zero exit: 2 for a
// command used wrongly, 1 for anything else.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
)

// Env is what a command may touch of the outside world; tests replace it.
type Env struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	Getenv func(string) string
	// Signals is the context cancelled on SIGINT or SIGTERM.
	Signals func() (context.Context, context.CancelFunc)
}

// OSEnv is the real process environment.
func OSEnv() Env {
	return Env{
		Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv,
		Signals: func() (context.Context, context.CancelFunc) {
			return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		},
	}
}

type command struct {
	summary string
	run     func(env Env, args []string) error
}

var commands map[string]command

func init() {
	commands = map[string]command{
		"serve":   {"run the HTTP API, the web UI and (unless --no-workers) the background workers", runServe},
		"worker":  {"run background workers only, to scale out job processing", runWorker},
		"migrate": {"apply or inspect database migrations: migrate up | migrate status", runMigrate},
		"config":  {"print the effective configuration, secrets redacted", runConfig},
		"doctor":  {"check this machine: data directory, databases, Redis and the scanning tools (found, path, version, how to install): doctor [--json] [--require TOOLS]", runDoctor},
		"version": {"print the version", runVersion},
		"queue":   {"check the job queue end to end: queue probe", runQueue},
		"team":    {"manage teams: team create NAME", runTeam},
		"import":  {"import a scanner report: import --team NAME [--format F] [--scope S] [--json] FILE, or to a remote platform: import --server URL --token T [--format F] [--scope S] [--fail-on critical,high,kev] [--json] FILE", runImport},
		"user":    {"manage users: user create | user import FILE", runUser},
		"kev":     {"CISA KEV catalog: kev sync [--url U | --file F] [--json] | kev status", runKEV},
		"epss":    {"FIRST EPSS scores: epss import [--json] FILE", runEPSS},
		"secrets": {"rotate the key that seals secrets at rest: secrets rotate-key --new-key-file FILE", runSecrets},
		"kb":      {"load policy documents into a team's knowledge base: kb import --team NAME [--tags T] FILE...", runKB},

		// Compliance content and scoring (internal/compliance).
		"scf":        {"import the official SCF workbook: scf import [--json] FILE", runSCF},
		"frameworks": {"import compliance content (framework library YAML, Prowler compliance JSON): frameworks import [--json] FILE", runFrameworks},
		"compliance": {"score a team's compliance now: compliance sync --team NAME [--json]", runCompliance},
	}
}

// errUsage marks an error in how a command was called (exit status 2).
type errUsage struct{ msg string }

func (e errUsage) Error() string { return e.msg }

func usagef(format string, a ...any) error { return errUsage{fmt.Sprintf(format, a...)} }

// Main runs the command line and returns the process exit status.
func Main(args []string, env Env) int {
	if len(args) < 2 || args[1] == "help" || args[1] == "-h" || args[1] == "--help" {
		printUsage(env.Stdout)
		if len(args) < 2 {
			return 2
		}
		return 0
	}
	cmd, ok := commands[args[1]]
	if !ok {
		fmt.Fprintf(env.Stderr, "cspm: unknown command %q (run 'cspm help')\n", args[1])
		return 2
	}
	err := cmd.run(env, args[2:])
	if err == nil {
		return 0
	}
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	fmt.Fprintf(env.Stderr, "cspm: %s\n", oneLine(err.Error()))
	var ue errUsage
	if errors.As(err, &ue) {
		return 2
	}
	var coded interface{ ExitCode() int }
	if errors.As(err, &coded) {
		return coded.ExitCode()
	}
	return 1
}

// oneLine folds a multi-line error (errors.Join, driver messages) into one line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", "; ")), " ")
}

func printUsage(w io.Writer) {
	fmt.Fprintln(w, "cspm: OffloadSecurity cloud security posture management")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Usage: cspm <command> [flags]")
	fmt.Fprintln(w)
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-8s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Run 'cspm <command> -h' for a command's flags. Every flag has a CSPM_* environment variable;")
	fmt.Fprintln(w, "see docs/configuration.md.")
}

// newFlagSet returns a flag set whose parse errors become usage errors
// instead of exiting the process.
func newFlagSet(env Env, name string) *flag.FlagSet {
	fs := flag.NewFlagSet("cspm "+name, flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	return fs
}

func parse(fs *flag.FlagSet, args []string) error {
	_, err := parseInterleaved(fs, args)
	return err
}

// parseInterleaved parses flags wherever they stand among the positional
// arguments, so that `cspm scf import FILE --json` means what it says (the
// flag package stops at the first positional argument), and returns the
// positional arguments in order. Everything after "--" is positional.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, errUsage{err.Error()}
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return positional, nil
		}
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			return append(positional, rest...), nil
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}
