package scanner

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"
)

// Docker is the inventory's name for the docker executable, listed when
// prowler_docker_image runs Prowler in a container.
const Docker = "docker"

// Info describes a tool: what it is called, which setting names its
// executable, and how to install it.
type Info struct {
	Name       string   // the tool's name in SubJobs (AllTools) or Docker
	Label      string   // how people call it
	Executable string   // the executable looked for on PATH
	Setting    string   // the configuration key that names the executable
	Env        string   // the setting's environment variable
	ScanTypes  []string // the scan types it runs
	Install    string   // how to install it when it is missing
}

var infos = map[string]Info{
	Prowler: {Prowler, "Prowler", "prowler", "prowler_bin", "CSPM_PROWLER_BIN", []string{"cloud"},
		"pipx install prowler (or pip install prowler); or set prowler_docker_image to run it in Docker"},
	Steampipe: {Steampipe, "Steampipe (Powerpipe)", "powerpipe", "steampipe_bin", "CSPM_STEAMPIPE_BIN", []string{"cloud"},
		"the Powerpipe and Steampipe release binaries (https://powerpipe.io/downloads, https://steampipe.io/downloads), " +
			"then the provider's Steampipe plugin and compliance mod (powerpipe mod install github.com/turbot/steampipe-mod-aws-compliance)"},
	Nmap:   {Nmap, "Nmap", "nmap", "nmap_bin", "CSPM_NMAP_BIN", []string{"network"}, "apt-get install nmap"},
	Wapiti: {Wapiti, "Wapiti", "wapiti", "wapiti_bin", "CSPM_WAPITI_BIN", []string{"web"}, "apt-get install wapiti (or pipx install wapiti3)"},
	Trivy: {Trivy, "Trivy", "trivy", "trivy_bin", "CSPM_TRIVY_BIN", []string{"container"},
		"the release binary or Aqua's Debian repository (https://trivy.dev/latest/getting-started/installation/)"},
	Grype: {Grype, "Grype", "grype", "grype_bin", "CSPM_GRYPE_BIN", []string{"container"},
		"the release binary: curl -sSfL https://raw.githubusercontent.com/anchore/grype/main/install.sh | sh -s -- -b /usr/local/bin"},
	Checkov: {Checkov, "Checkov", "checkov", "checkov_bin", "CSPM_CHECKOV_BIN", []string{"code"}, "pipx install checkov (or pip install checkov)"},
	OSV: {OSV, "OSV-Scanner", "osv-scanner", "osv_scanner_bin", "CSPM_OSV_SCANNER_BIN", []string{"code"},
		"the version 2 release binary (https://github.com/google/osv-scanner/releases), or go install github.com/google/osv-scanner/v2/cmd/osv-scanner@latest"},
	Docker: {Docker, "Docker", "docker", "docker_bin", "CSPM_DOCKER_BIN", []string{"cloud"},
		"apt-get install docker.io (Docker Engine), with the worker allowed to use its socket"},
}

// InfoFor describes a tool; an unknown name gets an Info with only its name.
func InfoFor(tool string) Info {
	if i, ok := infos[tool]; ok {
		return i
	}
	return Info{Name: tool, Label: tool, Executable: tool}
}

// configured is the executable the configuration names for a tool ("" for PATH).
func (c Config) configured(tool string) string {
	switch tool {
	case Prowler:
		return c.ProwlerBin
	case Steampipe:
		return c.SteampipeBin
	case Nmap:
		return c.NmapBin
	case Wapiti:
		return c.WapitiBin
	case Trivy:
		return c.TrivyBin
	case Grype:
		return c.GrypeBin
	case Checkov:
		return c.CheckovBin
	case OSV:
		return c.OSVBin
	case Docker:
		return c.DockerBin
	}
	return ""
}

// ToolStatus is what the inventory found of one tool on this process's machine.
type ToolStatus struct {
	Name       string   `json:"name" doc:"The tool's name in scan requests (or docker)."`
	Label      string   `json:"label"`
	ScanTypes  []string `json:"scan_types" doc:"The scan types it runs."`
	Executable string   `json:"executable" doc:"The executable looked for on PATH when the setting is empty."`
	Setting    string   `json:"setting" doc:"The configuration key that names the executable."`
	Env        string   `json:"env" doc:"The setting's environment variable."`
	Configured string   `json:"configured,omitempty" doc:"The setting's value, when set."`
	Found      bool     `json:"found"`
	Path       string   `json:"path,omitempty" doc:"The executable that runs."`
	Version    string   `json:"version,omitempty" doc:"What the tool's --version printed (its first line with a version number)."`
	Problem    string   `json:"problem,omitempty" doc:"Why the tool was not found, or why its version could not be read."`
	Install    string   `json:"install" doc:"How to install it."`
	Via        string   `json:"via,omitempty" doc:"Prowler with prowler_docker_image: the image it runs in through docker."`
}

// Inventory finds the tools and reads their versions. Where an executable
// is, is looked up on every call (cheap, and an operator who installs a
// tool sees it at once); its version is read by running it, which is
// remembered for TTL per executable (path, size and modification time).
type Inventory struct {
	TTL            time.Duration // default a minute
	VersionTimeout time.Duration // default 5 s
	mu             sync.Mutex
	versions       map[string]versionEntry
}

type versionEntry struct {
	version, problem string
	at               time.Time
}

// NewInventory returns an inventory with the default TTL and timeout.
func NewInventory() *Inventory {
	return &Inventory{TTL: time.Minute, VersionTimeout: 5 * time.Second}
}

// Tools lists what the inventory covers for c: every tool, plus docker
// when Prowler runs in Docker.
func (c Config) Tools() []string {
	out := append([]string(nil), AllTools...)
	if c.ProwlerDockerImage != "" {
		out = append(out, Docker)
	}
	return out
}

// Check reports every tool of c.Tools(), in that order. Versions are read
// in parallel.
func (inv *Inventory) Check(ctx context.Context, c Config) []ToolStatus {
	tools := c.Tools()
	out := make([]ToolStatus, len(tools))
	var wg sync.WaitGroup
	for i, t := range tools {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i] = inv.Tool(ctx, c, t)
		}()
	}
	wg.Wait()
	return out
}

// Tool reports one tool. Prowler with prowler_docker_image is found when
// docker is.
func (inv *Inventory) Tool(ctx context.Context, c Config, tool string) ToolStatus {
	st := inv.locate(c, tool)
	if st.Found && st.Via == "" {
		st.Version, st.Problem = inv.version(ctx, st.Path)
	}
	return st
}

// Locate reports whether a tool's executable is there, without running it
// for its version: the check before a scan is queued.
func Locate(c Config, tool string) ToolStatus {
	return (&Inventory{}).locate(c, tool)
}

func (inv *Inventory) locate(c Config, tool string) ToolStatus {
	info := InfoFor(tool)
	st := ToolStatus{Name: tool, Label: info.Label, ScanTypes: info.ScanTypes, Executable: info.Executable, Setting: info.Setting,
		Env: info.Env, Configured: c.configured(tool), Install: info.Install}
	if st.ScanTypes == nil {
		st.ScanTypes = []string{}
	}
	if tool == Prowler && c.ProwlerDockerImage != "" {
		d := inv.locate(c, Docker)
		st.Via, st.Found, st.Path = c.ProwlerDockerImage, d.Found, d.Path
		if !d.Found {
			st.Problem = "prowler_docker_image runs Prowler through docker, and " + d.Problem
			st.Install = d.Install
		}
		return st
	}
	st.Path, st.Problem = resolve(st.Configured, info.Executable, info.Setting)
	st.Found = st.Problem == ""
	return st
}

// resolve finds the executable a setting names, or name on PATH.
func resolve(configured, name, setting string) (string, string) {
	if configured == "" {
		p, err := exec.LookPath(name)
		if err != nil {
			return "", fmt.Sprintf("%s is not on PATH and %s is not set", name, setting)
		}
		if abs, err := filepath.Abs(p); err == nil {
			p = abs
		}
		return p, ""
	}
	p := configured
	if !strings.ContainsRune(p, filepath.Separator) {
		lp, err := exec.LookPath(p)
		if err != nil {
			return "", fmt.Sprintf("%s (%s) is not on PATH", p, setting)
		}
		p = lp
	}
	st, err := os.Stat(p)
	switch {
	case err != nil:
		return "", fmt.Sprintf("%s (%s) does not exist", p, setting)
	case st.IsDir():
		return "", fmt.Sprintf("%s (%s) is a directory", p, setting)
	case st.Mode()&0o111 == 0:
		return "", fmt.Sprintf("%s (%s) is not executable", p, setting)
	}
	return p, ""
}

var versionLine = regexp.MustCompile(`\d+\.\d+`)

// version runs `path --version` (remembered for TTL) and returns its first
// line with a version number in it.
func (inv *Inventory) version(ctx context.Context, path string) (string, string) {
	key := path
	if st, err := os.Stat(path); err == nil {
		key = fmt.Sprintf("%s|%d|%d", path, st.Size(), st.ModTime().UnixNano())
	}
	ttl := inv.TTL
	if ttl <= 0 {
		ttl = time.Minute
	}
	inv.mu.Lock()
	if e, ok := inv.versions[key]; ok && time.Since(e.at) < ttl {
		inv.mu.Unlock()
		return e.version, e.problem
	}
	inv.mu.Unlock()

	timeout := inv.VersionTimeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	// Not the caller's cancellation: an answer cut short by a closed
	// request would be remembered as a failed version check.
	out, err := Probe(context.WithoutCancel(ctx), path, []string{"--version"}, timeout)
	var e versionEntry
	if err != nil {
		e.problem = "version check failed: " + err.Error()
	} else {
		e.version = parseVersion(out)
	}
	e.at = time.Now()
	inv.mu.Lock()
	if inv.versions == nil {
		inv.versions = map[string]versionEntry{}
	}
	inv.versions[key] = e
	inv.mu.Unlock()
	return e.version, e.problem
}

func parseVersion(out string) string {
	out = ansiEscape.ReplaceAllString(out, "")
	first := ""
	for _, line := range strings.Split(out, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		if first == "" {
			first = line
		}
		if versionLine.MatchString(line) {
			first = line
			break
		}
	}
	if len(first) > 120 {
		first = first[:120]
	}
	return first
}
