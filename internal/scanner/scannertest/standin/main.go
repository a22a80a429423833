// Command standin plays a scanning tool in tests: built under the tool's
// name (prowler, powerpipe, nmap, wapiti, trivy, grype, checkov,
// osv-scanner), it finds where the
// real tool would write its report from the same arguments, copies a real
// sample there, and exits as told. What it does is read from a JSON file
// beside the executable (NAME.json), because a runner hands the tool only a
// few of the test's environment variables. Every run appends its argument
// vector, environment and PID to the record file.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Behaviour is the stand-in's instructions.
type Behaviour struct {
	Sample   string `json:"sample"`    // file copied to the report path
	ExitCode int    `json:"exit_code"` // exit code after writing
	SleepMS  int    `json:"sleep_ms"`  // wait before writing the report
	// Chatter writes a line to standard error every 50 ms while sleeping
	// (progress, so no stall); Silent writes nothing.
	Chatter bool   `json:"chatter"`
	Stderr  string `json:"stderr"` // printed to standard error before exiting
	// Grandchild starts `sleep` in the background, to show that cancelling
	// kills the whole process group.
	Grandchild bool   `json:"grandchild"`
	Record     string `json:"record"` // JSON lines of {args, env, pid}
	// StartedFile, when set, is created once the stand-in runs (tests wait for it).
	StartedFile string `json:"started_file"`
	// FailTimes makes the first N runs fail with exit code 1 (counted in the record file).
	FailTimes int `json:"fail_times"`
	// FailStderr is what those failing runs print (default: a throttling message).
	FailStderr string `json:"fail_stderr"`
	// Version is what `--version` prints (default "standin 1.2.3"); a
	// version call is answered before anything else and is not recorded.
	Version string `json:"version"`
	// VersionExitCode is the exit code of `--version`.
	VersionExitCode int `json:"version_exit_code"`
}

func main() {
	exe, _ := os.Executable()
	var b Behaviour
	raw, err := os.ReadFile(exe + ".json")
	if err == nil {
		err = json.Unmarshal(raw, &b)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "standin: no behaviour file:", err)
		os.Exit(97)
	}
	if len(os.Args) == 2 && os.Args[1] == "--version" {
		v := b.Version
		if v == "" {
			v = "standin 1.2.3"
		}
		fmt.Println(v)
		os.Exit(b.VersionExitCode)
	}
	runs := 0
	if b.Record != "" {
		if old, err := os.ReadFile(b.Record); err == nil {
			runs = strings.Count(string(old), "\n")
		}
		rec, _ := json.Marshal(map[string]any{"tool": filepath.Base(exe), "args": os.Args[1:], "env": os.Environ(), "pid": os.Getpid(), "pgid": pgid()})
		f, err := os.OpenFile(b.Record, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
		if err == nil {
			_, _ = f.Write(append(rec, '\n'))
			_ = f.Close()
		}
	}
	if b.Grandchild {
		c := exec.Command("sleep", "300")
		_ = c.Start()
		if b.Record != "" {
			_ = os.WriteFile(b.Record+".grandchild", []byte(fmt.Sprint(c.Process.Pid)), 0o600)
		}
	}
	if b.StartedFile != "" {
		_ = os.WriteFile(b.StartedFile, []byte(fmt.Sprint(os.Getpid())), 0o600)
	}
	deadline := time.Now().Add(time.Duration(b.SleepMS) * time.Millisecond)
	for time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
		if b.Chatter {
			fmt.Fprintln(os.Stderr, "scanning…")
		}
	}
	if runs < b.FailTimes {
		msg := b.FailStderr
		if msg == "" {
			msg = "standin: transient failure (throttled)"
		}
		fmt.Fprintln(os.Stderr, msg)
		os.Exit(1)
	}
	if out := reportPath(filepath.Base(exe), os.Args[1:]); out != "" && b.Sample != "" {
		data, err := os.ReadFile(b.Sample)
		if err != nil {
			fmt.Fprintln(os.Stderr, "standin:", err)
			os.Exit(98)
		}
		if out == "-" { // the tool prints its report
			_, _ = os.Stdout.Write(data)
		} else if err := os.WriteFile(out, data, 0o600); err != nil { //nolint:gosec // G703: writing where the runner says is the point
			fmt.Fprintln(os.Stderr, "standin:", err)
			os.Exit(98)
		}
	}
	if b.Stderr != "" {
		fmt.Fprintln(os.Stderr, b.Stderr)
	}
	os.Exit(b.ExitCode)
}

// reportPath is where the real tool writes its report, from its arguments.
func reportPath(tool string, args []string) string {
	val := func(names ...string) string {
		for i, a := range args {
			for _, n := range names {
				if a == n && i+1 < len(args) {
					return args[i+1]
				}
			}
		}
		return ""
	}
	switch tool {
	case "prowler":
		return filepath.Join(val("-o", "--output-directory"), val("-F", "--output-filename")+".ocsf.json")
	case "powerpipe":
		return val("--export")
	case "nmap":
		return val("-oX")
	case "wapiti", "trivy", "osv-scanner":
		return val("--output", "-o")
	case "checkov":
		return "-"
	case "grype":
		return val("--file")
	case "docker":
		// docker run ... --volume HOST:/home/prowler/output IMAGE prowler-args: the host side.
		vol := val("--volume", "-v")
		host, _, _ := strings.Cut(vol, ":")
		return filepath.Join(host, val("-F", "--output-filename")+".ocsf.json")
	}
	return ""
}
func pgid() int { return syscall.Getpgrp() }
