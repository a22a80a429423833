package scanner

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"

	"github.com/offloadsecurity/cspm/internal/cloud"
)

// Class says whether a failed run may pass on another attempt.
type Class string

// Failure classes.
const (
	// Permanent failures fail the SubJob at once: retrying cannot help
	// (the executable is missing, the report file cannot be written, the
	// target is invalid, the credentials were refused, the parser refused
	// the report).
	Permanent Class = "permanent"
	// Transient failures are retried with backoff: timeouts, DNS and
	// connection failures, throttling, server errors of the cloud API, and
	// failures the tool did not explain.
	Transient Class = "transient"
)

// More errors a run or its SubJob ends with.
var (
	// ErrOutput: the report file (or the SubJob's directory) cannot be opened or written.
	ErrOutput = errors.New("cannot write the report")
	// ErrReportRefused: the tool's report was refused by its parser.
	ErrReportRefused = errors.New("report refused by the parser")
)

// Failure is a classified failure of a run.
type Failure struct {
	Class Class
	// Kind names the failure in a few words: "executable not found",
	// "output file", "invalid target", "credentials refused", "report
	// refused", "timeout", "stalled", "dns", "connection", "throttled",
	// "server error", "unexplained".
	Kind string
	// Cause says in plain words what went wrong and what to do.
	Cause string
}

// Retry reports whether the failure may pass on another attempt.
func (f Failure) Retry() bool { return f.Class == Transient }

// Label is how the failure starts a SubJob's error: its class and whether
// it is retried, then the cause.
func (f Failure) Label() string {
	if f.Class == Permanent {
		return "permanent failure (not retried): " + f.Cause
	}
	return "transient failure (retried with backoff): " + f.Cause
}

type marker struct {
	kind, cause string
	re          *regexp.Regexp
}

func markers(kind, cause string, words ...string) marker {
	quoted := make([]string, len(words))
	for i, w := range words {
		quoted[i] = regexp.QuoteMeta(w)
	}
	return marker{kind: kind, cause: cause, re: regexp.MustCompile("(?i)" + strings.Join(quoted, "|"))}
}

// transientMarkers are looked for first, in this order: a DNS failure or a
// refused connection is never taken for refused credentials, even when
// the tool goes on to print an authentication error it met because it
// could not reach the provider.
var transientMarkers = []marker{
	markers("dns", "a host name could not be resolved (DNS): check the worker's DNS and network, then the run is retried",
		"no such host", "Could not resolve", "Name or service not known", "Temporary failure in name resolution",
		"EndpointConnectionError", "Could not connect to the endpoint URL", "NameResolutionError", "getaddrinfo",
		"nodename nor servname", "Failed to resolve", "server misbehaving", "ENOTFOUND", "EAI_AGAIN"),
	markers("connection", "the connection failed (refused, reset or timed out): check the worker's network and proxy settings",
		"Connection refused", "connection reset", "Connection aborted", "ECONNREFUSED", "ECONNRESET", "Network is unreachable",
		"No route to host", "i/o timeout", "Read timed out", "ConnectTimeoutError", "connect timeout", "TLS handshake timeout",
		"broken pipe", "EOF occurred in violation of protocol"),
	{kind: "throttled", cause: "the provider throttled the requests (rate limit): the run is retried later",
		re: regexp.MustCompile(`(?i)Throttling|TooManyRequests|Too Many Requests|Rate exceeded|RequestLimitExceeded|SlowDown|` +
			`rate limit|RESOURCE_EXHAUSTED|throttled|\b429\b`)},
	{kind: "server error", cause: "the provider's API answered with a server error (5xx): the run is retried later",
		re: regexp.MustCompile(`(?i)InternalError|InternalFailure|InternalServerError|ServiceUnavailable|Service Unavailable|Bad Gateway|Gateway Time-?out|` +
			`status ?code[ :=]*5\d\d|HTTP/\d(\.\d)? 5\d\d|\b5\d\d (Server Error|Internal)`)},
}

// permanentMarkers are looked for after the transient ones.
var permanentMarkers = []marker{
	markers("credentials refused", "the cloud provider refused the credentials: fix them on the cloud account and test the connection",
		credentialMarkers...),
	markers("output file", "the tool cannot open or write its report file: check that scan_work_dir is writable by the worker",
		"Failed to open XML output file", "Failed to open output file", "could not open output", "cannot open output",
		"Unable to open output", "Read-only file system", "Permission denied"),
	markers("invalid target", "the target does not exist or is not valid for the tool: correct it and start a new scan",
		"invalid reference format", "could not parse reference", "MANIFEST_UNKNOWN", "manifest unknown",
		"repository does not exist", "Invalid base URL", "invalid target"),
}

// Classify says whether a failed run of tool may pass on another attempt,
// from its error and the tail of its standard error.
func Classify(tool string, err error, stderr string) Failure {
	switch {
	case errors.Is(err, ErrNotFound):
		info := InfoFor(tool)
		cause := "the executable was not found"
		if info.Setting != "" {
			cause = fmt.Sprintf("the %s executable was not found on the worker: install it (%s) or set %s (%s)",
				info.Label, info.Install, info.Setting, info.Env)
		}
		return Failure{Permanent, "executable not found", cause}
	case errors.Is(err, ErrOutput):
		return Failure{Permanent, "output file", "the report file cannot be opened or written: check that scan_work_dir is writable by the worker"}
	case errors.Is(err, ErrReportRefused):
		return Failure{Permanent, "report refused", "the tool's report was refused by its parser: running it again would write the same report"}
	case errors.Is(err, cloud.ErrInvalid):
		return Failure{Permanent, "invalid target", "the target is not valid for the tool: correct it and start a new scan"}
	case errors.Is(err, ErrTimeout):
		return Failure{Transient, "timeout", "the tool ran longer than scan_timeout"}
	case errors.Is(err, ErrStalled):
		return Failure{Transient, "stalled", "the tool stopped making progress (scan_stall_timeout)"}
	}
	for _, m := range transientMarkers {
		if m.re.MatchString(stderr) {
			return Failure{Transient, m.kind, m.cause}
		}
	}
	for _, m := range permanentMarkers {
		if m.re.MatchString(stderr) {
			return Failure{Permanent, m.kind, m.cause}
		}
	}
	switch {
	case errors.Is(err, ErrPermanent):
		return Failure{Permanent, "configuration", "the SubJob cannot run as configured"}
	case errors.Is(err, os.ErrPermission):
		return Failure{Permanent, "executable not runnable", "the worker may not run the executable (permission denied)"}
	case errors.Is(err, ErrNoReport):
		return Failure{Permanent, "no report", "the tool exited without writing its report where the runner asked: check that it is the version the runner expects"}
	}
	return Failure{Transient, "unexplained", "the tool failed without saying why in a way the runner recognises"}
}
