// Package imports takes report uploads: the file is streamed to the
// artifact store under a size limit, a queued entry appears in the scan
// history, and an import_report River job feeds it to the findings store.
package imports

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/riverqueue/river"

	"github.com/offloadsecurity/cspm/internal/artifact"
	"github.com/offloadsecurity/cspm/internal/audit"
	"github.com/offloadsecurity/cspm/internal/db"
	"github.com/offloadsecurity/cspm/internal/findings"
	"github.com/offloadsecurity/cspm/internal/id"
	"github.com/offloadsecurity/cspm/internal/ingest"
	"github.com/offloadsecurity/cspm/internal/nativescans"
	"github.com/offloadsecurity/cspm/internal/queue"
)

// Service accepts imports.
type Service struct {
	Registry  *db.Registry
	Findings  *findings.Store
	Artifacts artifact.Store
	Queue     *queue.Client
	Audit     *audit.Log
	Logger    *slog.Logger
	MaxBytes  int64
	// AfterImport, when set, runs after an import commits with the checks
	// it touched: the app queues a compliance sync of them.
	AfterImport func(ctx context.Context, teamID string, checks []string) error
	// Imported, when set, hears what a committed import opened (the app
	// turns it into notifications and a ticket sync). An error leaves the
	// import's outbox row for DrainOutbox to try again.
	Imported func(ctx context.Context, args ImportReportArgs, res findings.ImportResult) error
}

// ErrBadFormat wraps an unknown --format value.
var ErrBadFormat = errors.New("unknown format")

// CheckFormat validates a forced format ("" means detect).
func CheckFormat(format string) error {
	if format == "" {
		return nil
	}
	if _, ok := ingest.Formats[format]; !ok {
		return fmt.Errorf("%w %q: want one of %s", ErrBadFormat, format, strings.Join(ingest.FormatNames(), ", "))
	}
	return nil
}

// artifactKey names an upload's file: team, scan, and a sanitized name.
func artifactKey(teamID, scanID, filename string) string {
	base := path.Base(strings.ReplaceAll(filename, "\\", "/"))
	clean := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_' {
			return r
		}
		return '_'
	}, base)
	clean = strings.TrimLeft(clean, ".")
	if clean == "" {
		clean = "report"
	}
	if len(clean) > 100 {
		clean = clean[len(clean)-100:]
	}
	return teamID + "/" + scanID + "/" + clean
}

// Upload stores the report and queues its import. It returns the queued
// entry of the scan history.
func (s *Service) Upload(ctx context.Context, teamID, actorID, actorEmail, filename, format string, covers []findings.Coverage, body io.Reader) (nativescans.ScanResult, error) {
	if err := CheckFormat(format); err != nil {
		return nativescans.ScanResult{}, err
	}
	filename = cleanFilename(filename)
	scanID := id.New()
	// The audit record names the upload by its SHA-256, computed from what
	// was received.
	digest := sha256.New()
	obj, err := s.Artifacts.Put(ctx, artifactKey(teamID, scanID, filename), io.TeeReader(body, digest), s.MaxBytes)
	if err != nil {
		return nativescans.ScanResult{}, err
	}
	rec := nativescans.ScanResult{
		ID: scanID, TeamID: teamID, ScanType: nativescans.TypeCode, Tool: "pending", Source: "import",
		Status: nativescans.StatusQueued, Format: format, Filename: filename, ArtifactRef: obj.Key,
		StartedAt: time.Now().UTC(), CreatedBy: actorEmail,
	}
	for _, c := range covers { // the scope the import closes, shown on its page
		rec.Target, rec.AccountUID = c.Target, c.AccountUID
	}
	if err := s.Registry.Get(db.NativeScans).InTeam(ctx, teamID, func(q db.Querier) error {
		return nativescans.MirrorToUnifiedScanResults(ctx, q, &rec)
	}); err != nil {
		return nativescans.ScanResult{}, err
	}
	if _, err := s.Queue.Insert(ctx, ImportReportArgs{TeamID: teamID, ScanID: scanID, ArtifactKey: obj.Key, Format: format,
		Filename: filename, CreatedBy: actorEmail, Covers: covers}, nil); err != nil {
		return nativescans.ScanResult{}, fmt.Errorf("queue the import: %w", err)
	}
	_ = s.Audit.Record(ctx, audit.Event{TeamID: teamID, ActorID: actorID, ActorEmail: actorEmail, Action: "import.uploaded",
		TargetType: "scan", TargetID: scanID, Details: map[string]any{"filename": filename, "bytes": obj.Size, "sha256": hex.EncodeToString(digest.Sum(nil)), "format": format}})
	return rec, nil
}

// ImportReportArgs is the River job that imports an uploaded report.
type ImportReportArgs struct {
	TeamID      string `json:"team_id"`
	ScanID      string `json:"scan_id"`
	ArtifactKey string `json:"artifact_key"`
	Format      string `json:"format"`
	Filename    string `json:"filename"`
	CreatedBy   string `json:"created_by"`
	// Covers is the scope the uploader named (?scope=): its findings the
	// report does not list are resolved, even when it is empty.
	Covers []findings.Coverage `json:"covers,omitempty"`
}

// Kind implements river.JobArgs.
func (ImportReportArgs) Kind() string { return "import_report" }

// InsertOpts: a malformed report fails the same way every time, so it is
// tried once; the failure is in the scan history.
func (ImportReportArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{MaxAttempts: 1} }

// ImportReportWorker works ImportReportArgs.
type ImportReportWorker struct {
	river.WorkerDefaults[ImportReportArgs]
	Service *Service
}

// Timeout allows for a gigabyte report on a slow disk.
func (w *ImportReportWorker) Timeout(*river.Job[ImportReportArgs]) time.Duration { return time.Hour }

// Work imports the report.
func (w *ImportReportWorker) Work(ctx context.Context, job *river.Job[ImportReportArgs]) error {
	a := job.Args
	rc, err := w.Service.Artifacts.Open(ctx, a.ArtifactKey)
	if err != nil {
		return fmt.Errorf("open artifact: %w", err)
	}
	defer rc.Close()
	_ = w.Service.ProgressSet(ctx, a.TeamID, a.ScanID, 0) // started: the history shows it running
	progress, stopProgress := w.Service.progressWriter(ctx, a.TeamID, a.ScanID)
	res, err := w.Service.Findings.Import(ctx, rc, findings.ImportParams{TeamID: a.TeamID, ScanID: a.ScanID, Format: a.Format,
		Filename: a.Filename, ArtifactRef: a.ArtifactKey, CreatedBy: a.CreatedBy, Progress: progress, Covers: a.Covers})
	stopProgress()
	ev := audit.Event{TeamID: a.TeamID, ActorEmail: a.CreatedBy, Action: "import.completed", TargetType: "scan", TargetID: a.ScanID}
	if err != nil {
		ev.Action, ev.Outcome, ev.Details = "import.failed", audit.Failure, map[string]any{"error": err.Error()}
		_ = w.Service.Audit.Record(ctx, ev)
		return river.JobCancel(err) // recorded in the history; retrying cannot help
	}
	// After the commit, not in it: the import's transaction is another
	// database's (docs/architecture.md). Should this process die in
	// between, the import's outbox row has DrainOutbox do it.
	if err := w.Service.afterCommit(ctx, a, res, res.Checks); err != nil {
		w.Service.Logger.Warn("the work after an import failed; the outbox keeps it for later", "scan_id", a.ScanID, "err", err)
	}
	ev.Details = map[string]any{"items_read": res.ItemsRead, "created": res.FindingsCreated, "updated": res.FindingsUpdated,
		"unchanged": res.FindingsUnchanged, "resolved": res.FindingsResolved, "format": res.Format}
	_ = w.Service.Audit.Record(ctx, ev)
	return nil
}

// cleanFilename is what the history shows of an upload's file name: its
// last path element, without control characters (a NUL, which PostgreSQL's
// text cannot hold, answered 500), at most 200 characters; "report" when
// nothing is left.
func cleanFilename(name string) string {
	name = strings.ReplaceAll(name, "\\", "/")
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		name = name[i+1:]
	}
	name = strings.TrimSpace(strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == utf8.RuneError {
			return -1
		}
		return r
	}, strings.ToValidUTF8(name, "")))
	if r := []rune(name); len(r) > 200 {
		name = string(r[:200])
	}
	if name == "" || name == "." || name == ".." {
		return "report"
	}
	return name
}
