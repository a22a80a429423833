package scanner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Command is one run of a tool: an argument vector (never a shell string),
// the child's whole environment, and where its report will be.
type Command struct {
	Path string
	Args []string // without Path
	Env  []string // the child's entire environment: the worker's own is not inherited
	Dir  string
	// Output is the report file the tool writes; with ReportOnStdout the
	// runner writes the tool's standard output there.
	Output         string
	ReportOnStdout bool
	// Format is the ingest format of the report.
	Format string
	// OKExitCodes are the exit codes that mean the tool ran (0 always does):
	// Prowler's 3 means it found failing checks, not that it failed.
	OKExitCodes []int
	// NothingToScanCodes are exit codes that mean the tool found nothing
	// to scan (OSV-Scanner's 128: no packages): a missing report is then
	// an empty one, a clean scan.
	NothingToScanCodes []int
}

// RunOptions bound a run.
type RunOptions struct {
	// Timeout ends the run, killing the tool's whole process group.
	Timeout time.Duration
	// StallTimeout ends a run whose tool has written nothing (standard
	// output, standard error, the report file) for this long.
	StallTimeout time.Duration
	// Redact lists values (credentials) that must not survive into the
	// error kept from the tool's standard error.
	Redact []string
	// Tick, when set, is called about every TickEvery while the tool runs:
	// the SubJob's heartbeat.
	Tick      func()
	TickEvery time.Duration
}

// Result is what a finished run left.
type Result struct {
	ExitCode   int
	StderrTail string // the last few KB of standard error, credentials redacted
	Duration   time.Duration
}

// Errors a run ends with.
var (
	ErrTimeout   = errors.New("timed out")
	ErrStalled   = errors.New("stopped making progress")
	ErrExitCode  = errors.New("exited with an error")
	ErrNoReport  = errors.New("wrote no report")
	ErrNotFound  = errors.New("executable not found")
	ErrPermanent = errors.New("not retried") // bad credentials, bad target: retrying cannot help
)

const stderrTailBytes = 4 << 10

// Run runs cmd to completion. It starts the tool in a process group of its
// own so that cancelling (the context, the timeout, a stall) kills the tool
// and every child it started, not just the first process.
func Run(ctx context.Context, cmd Command, opts RunOptions) (Result, error) {
	start := time.Now()
	if opts.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, opts.Timeout, ErrTimeout)
		defer cancel()
	}
	ctx, cancelStall := context.WithCancelCause(ctx)
	defer cancelStall(nil)

	c := exec.CommandContext(ctx, cmd.Path, cmd.Args...)
	c.Env = cmd.Env
	if c.Env == nil {
		c.Env = []string{}
	}
	c.Dir = cmd.Dir
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	c.Cancel = func() error {
		// The negative PID names the group.
		return syscall.Kill(-c.Process.Pid, syscall.SIGKILL)
	}
	c.WaitDelay = 5 * time.Second

	var written atomic.Int64 // bytes the tool wrote: progress for the stall check
	tail := &tailBuffer{max: stderrTailBytes}
	c.Stderr = &countingWriter{w: tail, n: &written}
	var stdoutFile *os.File
	if cmd.ReportOnStdout {
		f, err := os.OpenFile(cmd.Output, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
		if err != nil {
			return Result{}, fmt.Errorf("%w: %w: %w", ErrPermanent, ErrOutput, err)
		}
		stdoutFile = f
		defer f.Close()
		c.Stdout = &countingWriter{w: f, n: &written}
	} else {
		c.Stdout = &countingWriter{w: io.Discard, n: &written}
	}
	if cmd.Dir != "" {
		// A missing directory fails the start like a missing executable
		// would (fork/exec PATH: no such file or directory): tell them apart.
		if st, err := os.Stat(cmd.Dir); err != nil || !st.IsDir() {
			return Result{}, fmt.Errorf("%w: %w: the work directory %s cannot be entered", ErrPermanent, ErrOutput, cmd.Dir)
		}
	}
	if err := c.Start(); err != nil {
		if errors.Is(err, exec.ErrNotFound) || errors.Is(err, os.ErrNotExist) {
			return Result{}, fmt.Errorf("%w: %s: %w", ErrPermanent, cmd.Path, ErrNotFound)
		}
		return Result{}, fmt.Errorf("start %s: %w", cmd.Path, err)
	}

	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		watch(done, cmd.Output, &written, opts, cancelStall)
	}()
	waitErr := c.Wait()
	close(done)
	wg.Wait()
	if stdoutFile != nil {
		if err := stdoutFile.Sync(); err != nil && waitErr == nil {
			waitErr = err
		}
	}

	res := Result{ExitCode: -1, StderrTail: Redact(tail.String(), opts.Redact), Duration: time.Since(start)}
	if c.ProcessState != nil {
		res.ExitCode = c.ProcessState.ExitCode()
	}
	if cause := context.Cause(ctx); cause != nil {
		switch {
		case errors.Is(cause, ErrTimeout):
			return res, fmt.Errorf("%w after %s", ErrTimeout, opts.Timeout)
		case errors.Is(cause, ErrStalled):
			return res, fmt.Errorf("%w: no output for %s", ErrStalled, opts.StallTimeout)
		default:
			return res, cause
		}
	}
	var exitErr *exec.ExitError
	if waitErr != nil && !errors.As(waitErr, &exitErr) {
		return res, waitErr
	}
	if res.ExitCode != 0 && slices.Contains(cmd.NothingToScanCodes, res.ExitCode) {
		if _, err := os.Stat(cmd.Output); errors.Is(err, os.ErrNotExist) {
			return res, os.WriteFile(cmd.Output, nil, 0o600) // an empty report
		}
		return res, nil
	}
	if res.ExitCode != 0 && !slices.Contains(cmd.OKExitCodes, res.ExitCode) {
		return res, fmt.Errorf("%w (exit code %d)", ErrExitCode, res.ExitCode)
	}
	if st, err := os.Stat(cmd.Output); err != nil || st.Size() == 0 {
		return res, fmt.Errorf("%w at %s", ErrNoReport, cmd.Output)
	}
	return res, nil
}

// Probe runs a short command of a tool (its --version) with the same
// discipline as Run: an argument vector, the tool's own small environment,
// a process group of its own that is killed whole at the timeout. It
// returns what the tool printed (standard output, then standard error; at
// most 8 KB).
func Probe(ctx context.Context, path string, args []string, timeout time.Duration) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	c := exec.CommandContext(ctx, path, args...)
	c.Env = baseEnv()
	if c.Env == nil {
		c.Env = []string{}
	}
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	c.Cancel = func() error { return syscall.Kill(-c.Process.Pid, syscall.SIGKILL) }
	c.WaitDelay = time.Second
	stdout, stderr := &tailBuffer{max: 8 << 10}, &tailBuffer{max: 8 << 10}
	c.Stdout, c.Stderr = stdout, stderr
	err := c.Run()
	out := strings.TrimSpace(stdout.String() + "\n" + stderr.String())
	switch {
	case ctx.Err() != nil:
		return out, fmt.Errorf("%s %s did not answer within %s", filepath.Base(path), strings.Join(args, " "), timeout)
	case err != nil:
		last := lastLine(out)
		if last != "" {
			return out, fmt.Errorf("%s %s: %w: %s", filepath.Base(path), strings.Join(args, " "), err, last)
		}
		return out, fmt.Errorf("%s %s: %w", filepath.Base(path), strings.Join(args, " "), err)
	}
	return out, nil
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	l := strings.TrimSpace(lines[len(lines)-1])
	if len(l) > 200 {
		l = l[:200]
	}
	return l
}

// watch calls the heartbeat and ends a stalled run.
func watch(done <-chan struct{}, output string, written *atomic.Int64, opts RunOptions, stop context.CancelCauseFunc) {
	every := opts.TickEvery
	if every <= 0 {
		every = 5 * time.Second
	}
	if opts.StallTimeout > 0 && opts.StallTimeout/4 < every {
		every = max(opts.StallTimeout/4, 10*time.Millisecond)
	}
	t := time.NewTicker(every)
	defer t.Stop()
	lastProgress := time.Now()
	var lastWritten, lastSize int64
	for {
		select {
		case <-done:
			return
		case <-t.C:
		}
		if opts.Tick != nil {
			opts.Tick()
		}
		w := written.Load()
		var size int64
		if st, err := os.Stat(output); err == nil {
			size = st.Size()
		}
		if w != lastWritten || size != lastSize {
			lastWritten, lastSize, lastProgress = w, size, time.Now()
			continue
		}
		if opts.StallTimeout > 0 && time.Since(lastProgress) >= opts.StallTimeout {
			stop(ErrStalled)
			return
		}
	}
}

type countingWriter struct {
	w io.Writer
	n *atomic.Int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	c.n.Add(int64(len(p)))
	return c.w.Write(p)
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
	max int
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > 2*t.max {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-t.max:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	b := t.buf
	if len(b) > t.max {
		b = b[len(b)-t.max:]
	}
	return string(b)
}

var ansiEscape = regexp.MustCompile(`\x1b\[[0-9;?]*[A-Za-z]`)

// Redact removes terminal escapes and every secret (and each of its lines,
// for multi-line secrets such as private keys) from s.
func Redact(s string, secrets []string) string {
	s = ansiEscape.ReplaceAllString(s, "")
	for _, sec := range secrets {
		if len(sec) < 4 {
			continue
		}
		s = strings.ReplaceAll(s, sec, "[redacted]")
		for _, line := range strings.Split(sec, "\n") {
			if line = strings.TrimSpace(line); len(line) >= 16 {
				s = strings.ReplaceAll(s, line, "[redacted]")
			}
		}
	}
	return strings.TrimSpace(s)
}
