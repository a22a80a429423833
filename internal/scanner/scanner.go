// Package scanner runs the scanning tools: one runner per tool (Prowler,
// Steampipe/Powerpipe, Nmap, Wapiti, Trivy, Grype, Checkov, OSV-Scanner) that turns a SubJob into
// an argument vector, an environment and the path of the report the tool
// writes. Runners never build shell strings, validate every target so that
// none can pass for an option, and hand credentials to the child only
// through its environment (or a 0600 file in the SubJob's directory).
package scanner

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/offloadsecurity/cspm/internal/cloud"
)

// Tool names.
const (
	Prowler   = "prowler"
	Steampipe = "steampipe"
	Nmap      = "nmap"
	Wapiti    = "wapiti"
	Trivy     = "trivy"
	Grype     = "grype"
	Checkov   = "checkov"
	OSV       = "osv-scanner"
)

// AllTools lists every tool a SubJob can run: each has its own queue.
var AllTools = []string{Prowler, Steampipe, Nmap, Wapiti, Trivy, Grype, Checkov, OSV}

// ToolsFor lists the tools of a scan type.
func ToolsFor(scanType string) []string {
	switch scanType {
	case "cloud":
		return []string{Prowler, Steampipe}
	case "network":
		return []string{Nmap}
	case "web":
		return []string{Wapiti}
	case "container":
		return []string{Trivy, Grype}
	case "code":
		return []string{Checkov, OSV}
	}
	return nil
}

// Job is what one SubJob asks of a tool.
type Job struct {
	Tool string
	// Cloud scans.
	Provider    string
	AccountUID  string
	Region      string // AWS region; for GCP the project, for Azure the subscription
	Credentials cloud.Credentials
	// Network, web and container scans.
	Target string
	Ports  string
	// WorkDir is the SubJob's own directory: the report goes there, and
	// whatever the run needs on disk (a GCP key file). The caller removes it.
	WorkDir string
	// Name is the report's base name.
	Name string
}

// Config says where the tools are and how to run them.
type Config struct {
	ProwlerBin string // empty: "prowler" on PATH
	// ProwlerDockerImage, when set, runs Prowler in that image through
	// DockerBin instead of a local executable.
	ProwlerDockerImage string
	DockerBin          string
	// ProwlerHostOutputDir is the seed's PROWLER_HOST_OUTPUT_DIR: the path
	// under which the Docker host sees WorkRoot, for a worker that runs in a
	// container beside the Docker engine. Empty: the same path.
	ProwlerHostOutputDir string
	WorkRoot             string

	SteampipeBin string // the powerpipe executable
	// Benchmarks names the Powerpipe benchmark to run per provider.
	Benchmarks map[string]string
	NmapBin    string
	WapitiBin  string
	TrivyBin   string
	GrypeBin   string
	CheckovBin string
	OSVBin     string
	// CodeRoots are the directories under which code scans may read a
	// repository checkout, a directory, a lockfile or an SBOM on the
	// worker. None: code scans are off (a path is the worker's file system).
	CodeRoots []string
	// WapitiMaxScanTime bounds a Wapiti run, in seconds (0: Wapiti's own default).
	WapitiMaxScanTime int
	WapitiModules     string
}

// DefaultBenchmarks are the Powerpipe benchmarks run when none is configured.
var DefaultBenchmarks = map[string]string{
	cloud.AWS:   "aws_compliance.benchmark.cis_v400",
	cloud.GCP:   "gcp_compliance.benchmark.cis_v300",
	cloud.Azure: "azure_compliance.benchmark.cis_v300",
}

// passThrough are the worker's variables a tool may see: where programs
// and caches are, and how to reach the network. Nothing else of the
// worker's environment (database URLs, the secret key) reaches a tool.
var passThrough = []string{"PATH", "HOME", "LANG", "TZ", "TMPDIR", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY",
	"http_proxy", "https_proxy", "no_proxy", "SSL_CERT_FILE", "SSL_CERT_DIR", "XDG_CACHE_HOME"}

func baseEnv() []string {
	var env []string
	for _, k := range passThrough {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return env
}

func binary(configured, name string) string {
	if configured != "" {
		return configured
	}
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	return name // Run reports it missing
}

// Build turns a job into a command for its tool.
func (c Config) Build(j Job) (Command, error) {
	if j.WorkDir == "" || j.Name == "" {
		return Command{}, fmt.Errorf("scanner: job without a work directory")
	}
	switch j.Tool {
	case Prowler:
		return c.prowler(j)
	case Steampipe:
		return c.steampipe(j)
	case Nmap:
		return c.nmap(j)
	case Wapiti:
		return c.wapiti(j)
	case Trivy, Grype:
		return c.container(j)
	case Checkov, OSV:
		return c.code(j)
	}
	return Command{}, fmt.Errorf("%w: unknown tool %q", ErrPermanent, j.Tool)
}

// credentialEnv is the environment that carries the credentials, by the
// names the providers' SDKs read.
func credentialEnv(j Job) []string {
	cr := j.Credentials
	switch cr.Type {
	case cloud.CredAccessKeys:
		env := []string{"AWS_ACCESS_KEY_ID=" + cr.AccessKeyID, "AWS_SECRET_ACCESS_KEY=" + cr.SecretAccessKey}
		if cr.SessionToken != "" {
			env = append(env, "AWS_SESSION_TOKEN="+cr.SessionToken)
		}
		return env
	case cloud.CredClientSecret:
		return []string{"AZURE_TENANT_ID=" + cr.TenantID, "AZURE_CLIENT_ID=" + cr.ClientID, "AZURE_CLIENT_SECRET=" + cr.ClientSecret}
	}
	return nil
}

// writeGCPKey puts a service-account key where the tool can read it: a 0600
// file in the SubJob's directory, which is removed with it.
func writeGCPKey(j Job) (string, error) {
	p := filepath.Join(j.WorkDir, "gcp-credentials.json")
	if err := os.WriteFile(p, []byte(j.Credentials.ServiceAccountJSON), 0o600); err != nil {
		return "", err
	}
	return p, nil
}

// prowler runs `prowler <provider> ... -M json-ocsf -o DIR -F NAME`, which
// writes DIR/NAME.ocsf.json. Exit code 3 means failing checks were found.
func (c Config) prowler(j Job) (Command, error) {
	if err := cloud.ValidateAccountUID(j.Provider, j.AccountUID); err != nil {
		return Command{}, fmt.Errorf("%w: %w", ErrPermanent, err)
	}
	outDir := j.WorkDir
	docker := c.ProwlerDockerImage != ""
	if docker {
		outDir = "/home/prowler/output"
	}
	args := []string{j.Provider}
	env := append(baseEnv(), credentialEnv(j)...)
	switch j.Provider {
	case cloud.AWS:
		if err := cloud.ValidateRegion(cloud.AWS, j.Region); err != nil {
			return Command{}, fmt.Errorf("%w: %w", ErrPermanent, err)
		}
		args = append(args, "--region", j.Region)
		if j.Credentials.Type == cloud.CredAssumeRole {
			args = append(args, "--role", j.Credentials.RoleARN)
			if j.Credentials.ExternalID != "" {
				args = append(args, "--external-id", j.Credentials.ExternalID)
			}
		}
	case cloud.GCP:
		key, err := writeGCPKey(j)
		if err != nil {
			return Command{}, err
		}
		if docker {
			key = outDir + "/" + filepath.Base(key)
		}
		args = append(args, "--project-id", j.AccountUID, "--credentials-file", key)
	case cloud.Azure:
		args = append(args, "--sp-env-auth", "--subscription-ids", j.AccountUID)
	}
	args = append(args, "-M", "json-ocsf", "-o", outDir, "-F", j.Name, "--no-banner")
	cmd := Command{Path: binary(c.ProwlerBin, "prowler"), Args: args, Env: env, Dir: j.WorkDir,
		Output: filepath.Join(j.WorkDir, j.Name+".ocsf.json"), Format: "prowler-ocsf", OKExitCodes: []int{3}}
	if docker {
		return c.dockerize(cmd, j)
	}
	return cmd, nil
}

// dockerize runs a Prowler command in the prowlercloud/prowler image. The
// SubJob's directory is mounted as Prowler's output directory, at the path
// the Docker host knows it by (PROWLER_HOST_OUTPUT_DIR). Credentials are
// passed by name only (`-e NAME`): docker copies the values from its own
// environment, so they never appear in an argument vector.
func (c Config) dockerize(cmd Command, j Job) (Command, error) {
	hostDir := j.WorkDir
	if c.ProwlerHostOutputDir != "" {
		rel, err := filepath.Rel(c.WorkRoot, j.WorkDir)
		if err != nil || strings.HasPrefix(rel, "..") {
			return Command{}, fmt.Errorf("work directory %s is not under %s", j.WorkDir, c.WorkRoot)
		}
		hostDir = filepath.Join(c.ProwlerHostOutputDir, rel)
	}
	args := []string{"run", "--rm", "--volume", hostDir + ":/home/prowler/output"}
	for _, kv := range credentialEnv(j) {
		args = append(args, "--env", strings.SplitN(kv, "=", 2)[0])
	}
	args = append(args, c.ProwlerDockerImage)
	args = append(args, cmd.Args...)
	cmd.Path = binary(c.DockerBin, "docker")
	cmd.Args = args
	return cmd, nil
}

// steampipe runs a Powerpipe benchmark (Steampipe's plugins underneath)
// and exports its results as JSON. Powerpipe exits 1 when controls alarm and
// 2 when some error; both still write the export.
func (c Config) steampipe(j Job) (Command, error) {
	bench := c.Benchmarks[j.Provider]
	if bench == "" {
		bench = DefaultBenchmarks[j.Provider]
	}
	if bench == "" || strings.HasPrefix(bench, "-") {
		return Command{}, fmt.Errorf("%w: no Powerpipe benchmark for %q", ErrPermanent, j.Provider)
	}
	env := append(baseEnv(), credentialEnv(j)...)
	switch j.Provider {
	case cloud.AWS:
		if err := cloud.ValidateRegion(cloud.AWS, j.Region); err != nil {
			return Command{}, fmt.Errorf("%w: %w", ErrPermanent, err)
		}
		env = append(env, "AWS_REGION="+j.Region, "AWS_DEFAULT_REGION="+j.Region)
	case cloud.GCP:
		key, err := writeGCPKey(j)
		if err != nil {
			return Command{}, err
		}
		env = append(env, "GOOGLE_APPLICATION_CREDENTIALS="+key, "CLOUDSDK_CORE_PROJECT="+j.AccountUID)
	case cloud.Azure:
		env = append(env, "AZURE_SUBSCRIPTION_ID="+j.AccountUID)
	}
	out := filepath.Join(j.WorkDir, j.Name+".json")
	args := []string{"benchmark", "run", bench, "--export", out, "--output", "none", "--progress=false"}
	return Command{Path: binary(c.SteampipeBin, "powerpipe"), Args: args, Env: env, Dir: j.WorkDir, Output: out,
		Format: "powerpipe", OKExitCodes: []int{1, 2}}, nil
}

var (
	hostnameRE = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]{0,62}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}[A-Za-z0-9])?)*$`)
	portsRE    = regexp.MustCompile(`^\d{1,5}(-\d{1,5})?(,\d{1,5}(-\d{1,5})?)*$`)
	imageRE    = regexp.MustCompile(`^[a-z0-9]([A-Za-z0-9._:/@-]{0,510}[A-Za-z0-9])?$`)
)

// ValidateNetworkTarget accepts an IP address, a CIDR block (at most /16
// for IPv4) or a hostname.
func ValidateNetworkTarget(t string) error {
	if ip := net.ParseIP(t); ip != nil {
		return nil
	}
	if _, n, err := net.ParseCIDR(t); err == nil {
		if ones, bits := n.Mask.Size(); bits == 32 && ones < 16 || bits == 128 && ones < 112 {
			return fmt.Errorf("%w: %s is larger than a /16 (or /112); split it", cloud.ErrInvalid, t)
		}
		return nil
	}
	if hostnameRE.MatchString(t) && len(t) <= 253 {
		return nil
	}
	return fmt.Errorf("%w: %q is not an IP address, CIDR block or hostname", cloud.ErrInvalid, t)
}

// ValidatePorts accepts "22,443,8000-8100".
func ValidatePorts(p string) error {
	if p == "" {
		return nil
	}
	if !portsRE.MatchString(p) {
		return fmt.Errorf("%w: ports must look like 22,443,8000-8100", cloud.ErrInvalid)
	}
	return nil
}

// ValidateWebTarget accepts an absolute http or https URL.
func ValidateWebTarget(t string) error {
	u, err := url.Parse(t)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || strings.ContainsAny(t, " \t\r\n") {
		return fmt.Errorf("%w: %q is not an http(s) URL without credentials", cloud.ErrInvalid, t)
	}
	return nil
}

// ValidateImage accepts a container image reference (registry/repo:tag or @digest).
func ValidateImage(t string) error {
	if !imageRE.MatchString(t) {
		return fmt.Errorf("%w: %q is not a container image reference", cloud.ErrInvalid, t)
	}
	return nil
}

// ValidateTarget checks a target for a scan type's tool.
func ValidateTarget(scanType, target string) error {
	if strings.HasPrefix(target, "-") {
		return fmt.Errorf("%w: a target cannot start with '-'", cloud.ErrInvalid)
	}
	switch scanType {
	case "network":
		return ValidateNetworkTarget(target)
	case "web":
		return ValidateWebTarget(target)
	case "container":
		return ValidateImage(target)
	}
	return fmt.Errorf("%w: scan type %q takes no targets", cloud.ErrInvalid, scanType)
}

// nmap runs a TCP connect scan with service detection and the vulners
// script where installed, writing XML.
func (c Config) nmap(j Job) (Command, error) {
	if err := ValidateTarget("network", j.Target); err != nil {
		return Command{}, fmt.Errorf("%w: %w", ErrPermanent, err)
	}
	if err := ValidatePorts(j.Ports); err != nil {
		return Command{}, fmt.Errorf("%w: %w", ErrPermanent, err)
	}
	out := filepath.Join(j.WorkDir, j.Name+".xml")
	// -sT needs no privileges; -Pn scans hosts that drop pings.
	args := []string{"-sT", "-Pn", "-sV", "--open", "-oX", out}
	if j.Ports != "" {
		args = append(args, "-p", j.Ports)
	}
	args = append(args, "--", j.Target)
	return Command{Path: binary(c.NmapBin, "nmap"), Args: args, Env: baseEnv(), Dir: j.WorkDir, Output: out, Format: "nmap"}, nil
}

// wapiti crawls and attacks a web application, writing its JSON report.
func (c Config) wapiti(j Job) (Command, error) {
	if err := ValidateTarget("web", j.Target); err != nil {
		return Command{}, fmt.Errorf("%w: %w", ErrPermanent, err)
	}
	out := filepath.Join(j.WorkDir, j.Name+".json")
	args := []string{"--url", j.Target, "--format", "json", "--output", out, "--flush-session", "--scope", "folder",
		"--store-session", filepath.Join(j.WorkDir, "session"), "--store-config", filepath.Join(j.WorkDir, "config")}
	if c.WapitiModules != "" {
		args = append(args, "--module", c.WapitiModules)
	}
	if c.WapitiMaxScanTime > 0 {
		args = append(args, "--max-scan-time", fmt.Sprint(c.WapitiMaxScanTime))
	}
	return Command{Path: binary(c.WapitiBin, "wapiti"), Args: args, Env: baseEnv(), Dir: j.WorkDir, Output: out, Format: "wapiti"}, nil
}

// container runs Trivy or Grype against an image, writing JSON.
func (c Config) container(j Job) (Command, error) {
	if err := ValidateTarget("container", j.Target); err != nil {
		return Command{}, fmt.Errorf("%w: %w", ErrPermanent, err)
	}
	out := filepath.Join(j.WorkDir, j.Name+".json")
	if j.Tool == Trivy {
		args := []string{"image", "--format", "json", "--output", out, "--quiet", "--scanners", "vuln,misconfig,secret", "--", j.Target}
		return Command{Path: binary(c.TrivyBin, "trivy"), Args: args, Env: baseEnv(), Dir: j.WorkDir, Output: out, Format: "trivy"}, nil
	}
	args := []string{j.Target, "--output", "json", "--file", out, "--quiet"}
	return Command{Path: binary(c.GrypeBin, "grype"), Args: args, Env: baseEnv(), Dir: j.WorkDir, Output: out, Format: "grype"}, nil
}

// IsCredentialError reports whether a tool's standard error says the
// credentials were refused: a run that retrying cannot fix. A DNS or
// connection failure is never one, even when the tool also prints an
// authentication error it met because it could not reach the provider.
func IsCredentialError(stderr string) bool {
	return Classify("", nil, stderr).Kind == "credentials refused"
}

var credentialMarkers = []string{"InvalidClientTokenId", "SignatureDoesNotMatch", "AuthFailure", "UnrecognizedClientException",
	"ExpiredToken", "invalid_grant", "invalid_client", "AADSTS7000215", "AADSTS700016", "AADSTS90002",
	"InvalidAccessKeyId", "AADSTS7000222", "The security token included in the request is invalid"}
