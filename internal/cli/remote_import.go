package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/offloadsecurity/cspm/internal/findings"
	"github.com/offloadsecurity/cspm/internal/imports"
	"github.com/offloadsecurity/cspm/internal/nativescans"
	"github.com/offloadsecurity/cspm/internal/ocsf"
)

// ExitGate is the exit code of `cspm import --fail-on` when the import
// opened what the pipeline said it must not: distinct from 1 (the import
// failed) and 2 (usage), so that a pipeline can tell them apart.
const ExitGate = 3

// errGate ends a remote import whose --fail-on gate closed.
type errGate struct{ reason string }

func (e *errGate) Error() string { return "--fail-on: " + e.reason }

// ExitCode lets Main exit with ExitGate.
func (e *errGate) ExitCode() int { return ExitGate }

// remoteImport is `cspm import --server URL --token TOKEN [--format F]
// [--scope S] [--fail-on LIST] [--json] FILE`: the report goes to a remote
// platform's import API, as a CI pipeline sends it; the command waits for
// the import to finish and prints what a local import prints.
type remoteImport struct {
	server, token, format, scope string
	failOn                       []string // severity keys, and "kev"
	asJSON                       bool
	client                       *http.Client
	stderr, stdout               io.Writer
	// retryWait is the first wait after a transient failure (doubled each time).
	retryWait time.Duration
	attempts  int
}

// wantsRemote tells whether an import's arguments name a server.
func wantsRemote(args []string) bool {
	for _, a := range args {
		if a == "--server" || a == "-server" || strings.HasPrefix(a, "--server=") || strings.HasPrefix(a, "-server=") {
			return true
		}
	}
	return false
}

func runRemoteImport(env Env, args []string) error {
	fs := newFlagSet(env, "import")
	ri := &remoteImport{client: &http.Client{Timeout: 5 * time.Minute}, stderr: env.Stderr, stdout: env.Stdout,
		retryWait: time.Second, attempts: 6}
	var failOn string
	fs.StringVar(&ri.server, "server", "", "the platform's base URL (https://cspm.example): upload there instead of importing locally")
	fs.StringVar(&ri.token, "token", "", "an API token of the importing user (default: $CSPM_API_TOKEN)")
	fs.StringVar(&ri.format, "format", "", "force a format instead of detecting it")
	fs.StringVar(&ri.scope, "scope", "", "what the scan covered: target=HOST|URL|IMAGE|PATH, or account=ID,region=R")
	fs.StringVar(&failOn, "fail-on", "", "exit 3 when the import opened findings of these severities (critical,high,...) or, with kev, a KEV vulnerability")
	fs.BoolVar(&ri.asJSON, "json", false, "print the import's record as JSON")
	rest, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if ri.token == "" {
		ri.token = os.Getenv("CSPM_API_TOKEN")
	}
	u, err := url.Parse(ri.server)
	switch {
	case len(rest) != 1:
		return usagef("import --server: want one FILE")
	case err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "":
		return usagef("import: --server %q is not an http(s) URL", ri.server)
	case ri.token == "":
		return usagef("import --server: want --token or $CSPM_API_TOKEN")
	}
	if err := imports.CheckFormat(ri.format); err != nil {
		return usagef("import: %v", err)
	}
	if _, err := findings.ParseCoverage(ri.scope); err != nil {
		return usagef("import: %v", err)
	}
	if ri.failOn, err = parseFailOn(failOn); err != nil {
		return usagef("import: %v", err)
	}
	ri.server = strings.TrimRight(ri.server, "/")
	ctx, stop := env.Signals()
	defer stop()
	return ri.run(ctx, rest[0])
}

// parseFailOn reads --fail-on: severity names and "kev".
func parseFailOn(s string) ([]string, error) {
	var out []string
	for part := range strings.SplitSeq(s, ",") {
		part = strings.ToLower(strings.TrimSpace(part))
		if part == "" {
			continue
		}
		if _, ok := ocsf.SeverityFromKey(part); !ok && part != "kev" {
			return nil, fmt.Errorf("--fail-on: %q is neither a severity (critical, high, medium, low, informational) nor kev", part)
		}
		out = append(out, part)
	}
	return out, nil
}

func (ri *remoteImport) run(ctx context.Context, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	var accepted struct {
		ScanID string `json:"scan_id"`
	}
	if err := ri.retry(ctx, "upload", func() (bool, error) {
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return false, err
		}
		return ri.upload(ctx, f, filepath.Base(path), &accepted)
	}); err != nil {
		return err
	}
	fmt.Fprintf(ri.stderr, "uploaded %s: import %s queued\n", filepath.Base(path), accepted.ScanID)
	rec, err := ri.wait(ctx, accepted.ScanID)
	if err != nil {
		return err
	}
	if rec.Status != nativescans.StatusCompleted {
		return fmt.Errorf("the import %s failed on %s: %s", rec.ID, ri.server, rec.Error)
	}
	if ri.asJSON {
		if err := json.NewEncoder(ri.stdout).Encode(rec); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(ri.stdout, "imported %s as %s (scan %s): %d items read, %d findings created, %d updated, %d unchanged, %d resolved\n",
			path, rec.Format, rec.ID, rec.ItemsRead, rec.FindingsCreated, rec.FindingsUpdated, rec.FindingsUnchanged, rec.FindingsResolved)
	}
	if reason := gateReason(ri.failOn, rec); reason != "" {
		return &errGate{reason: reason}
	}
	return nil
}

// gateReason says why the import closes the --fail-on gate, or "".
func gateReason(failOn []string, rec nativescans.ScanResult) string {
	var parts []string
	for _, k := range failOn {
		if k == "kev" {
			if rec.KEVOpened > 0 {
				parts = append(parts, fmt.Sprintf("%d KEV vulnerabilities opened", rec.KEVOpened))
			}
			continue
		}
		if n := rec.OpenedBySeverity[k]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s findings opened", n, k))
		}
	}
	return strings.Join(parts, ", ")
}

// upload sends the report; it returns whether a failure is worth another try.
func (ri *remoteImport) upload(ctx context.Context, f *os.File, name string, out any) (bool, error) {
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		part, err := mw.CreateFormFile("file", name)
		if err == nil {
			_, err = io.Copy(part, f)
		}
		if err == nil {
			err = mw.Close()
		}
		_ = pw.CloseWithError(err)
	}()
	q := url.Values{}
	if ri.format != "" {
		q.Set("format", ri.format)
	}
	if ri.scope != "" {
		q.Set("scope", ri.scope)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ri.server+"/api/v1/imports?"+q.Encode(), pr)
	if err != nil {
		return false, err
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return ri.do(req, http.StatusAccepted, out)
}

// wait polls the import until it is completed or failed.
func (ri *remoteImport) wait(ctx context.Context, id string) (nativescans.ScanResult, error) {
	var rec nativescans.ScanResult
	for {
		err := ri.retry(ctx, "read the import", func() (bool, error) {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, ri.server+"/api/v1/imports/"+url.PathEscape(id), nil)
			if err != nil {
				return false, err
			}
			return ri.do(req, http.StatusOK, &rec)
		})
		if err != nil {
			return rec, err
		}
		if rec.Status == nativescans.StatusCompleted || rec.Status == nativescans.StatusFailed {
			return rec, nil
		}
		select {
		case <-ctx.Done():
			return rec, ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// do sends req with the token and decodes a want-status answer into out.
// A refusal (4xx but 408 and 429) is final, with the server's problem
// detail; a 5xx, 408, 429 or a network error is worth another try.
func (ri *remoteImport) do(req *http.Request, want int, out any) (bool, error) {
	req.Header.Set("Authorization", "Bearer "+ri.token)
	req.Header.Set("Accept", "application/json")
	res, err := ri.client.Do(req)
	if err != nil {
		return req.Context().Err() == nil, err
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if res.StatusCode == want {
		return false, json.Unmarshal(body, out)
	}
	var problem struct {
		Title  string `json:"title"`
		Detail string `json:"detail"`
	}
	msg := strings.TrimSpace(string(body))
	if json.Unmarshal(body, &problem) == nil && (problem.Detail != "" || problem.Title != "") {
		msg = strings.TrimSpace(problem.Title + ": " + problem.Detail)
	}
	err = fmt.Errorf("%s %s: %s: %s", req.Method, req.URL.Path, res.Status, msg)
	transient := res.StatusCode >= 500 || res.StatusCode == http.StatusTooManyRequests || res.StatusCode == http.StatusRequestTimeout
	return transient, err
}

// retry runs fn until it succeeds, fails for good, or has been tried
// ri.attempts times, waiting longer after each transient failure.
func (ri *remoteImport) retry(ctx context.Context, what string, fn func() (transient bool, err error)) error {
	wait := ri.retryWait
	for attempt := 1; ; attempt++ {
		transient, err := fn()
		if err == nil {
			return nil
		}
		if !transient || attempt >= ri.attempts || ctx.Err() != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		fmt.Fprintf(ri.stderr, "%s: %v; trying again in %s\n", what, err, wait)
		select {
		case <-ctx.Done():
			return errors.Join(err, ctx.Err())
		case <-time.After(wait):
		}
		wait *= 2
	}
}
