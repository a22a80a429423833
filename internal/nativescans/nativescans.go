// Package nativescans is the seed's NativeScanResultsService: the unified
// scan results store (scan_results in the native_scans database) behind the
// one scan history of cloud, network, web, container and code scans and of
// imported reports. MirrorToUnifiedScanResults is the one way records get there.
package nativescans

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/offloadsecurity/cspm/internal/artifact"
	"github.com/offloadsecurity/cspm/internal/db"
)

// ScanType is the kind of scan.
type ScanType string

// Scan types.
const (
	TypeCloud     ScanType = "cloud"
	TypeNetwork   ScanType = "network"
	TypeWeb       ScanType = "web"
	TypeContainer ScanType = "container"
	TypeCode      ScanType = "code"
)

// TypeForTool is the scan type a tool's reports belong to.
func TypeForTool(tool string) ScanType {
	switch {
	case tool == "securityhub", strings.HasPrefix(tool, "aws-"):
		// ASFF findings of Security Hub's controls and of AWS's own
		// products (Inspector, GuardDuty, Config...).
		return TypeCloud
	}
	switch tool {
	case "prowler", "powerpipe", "steampipe":
		return TypeCloud
	case "nmap":
		return TypeNetwork
	case "zap", "nuclei", "wapiti":
		return TypeWeb
	case "trivy", "grype":
		return TypeContainer
	}
	return TypeCode
}

// Status of a scan or import.
const (
	StatusQueued    = "queued"
	StatusRunning   = "running"
	StatusCompleted = "completed"
	StatusFailed    = "failed"
)

// ScanResult is one scan or import in the unified history.
type ScanResult struct {
	ID                string         `json:"id"`
	TeamID            string         `json:"-"`
	ScanType          ScanType       `json:"scan_type" enum:"cloud,network,web,container,code"`
	Tool              string         `json:"tool"`
	Source            string         `json:"source" enum:"import,scan"`
	Target            string         `json:"target"`
	AccountUID        string         `json:"account_uid"`
	Status            string         `json:"status" enum:"queued,running,completed,partial,failed,cancelled"`
	Format            string         `json:"format"`
	Filename          string         `json:"filename"`
	ArtifactRef       string         `json:"artifact_ref,omitempty"`
	StartedAt         time.Time      `json:"started_at"`
	FinishedAt        *time.Time     `json:"finished_at,omitempty"`
	ItemsRead         int            `json:"items_read"`
	FindingsCreated   int            `json:"findings_created"`
	FindingsUpdated   int            `json:"findings_updated"`
	FindingsUnchanged int            `json:"findings_unchanged"`
	FindingsResolved  int            `json:"findings_resolved"`
	BySeverity        map[string]int `json:"by_severity"`
	ByResult          map[string]int `json:"by_result"`
	// OpenedBySeverity counts the findings the import created or reopened
	// as open failures, by severity; KEVOpened the occurrences of KEV
	// vulnerabilities it opened; DuplicatesFolded the report's repeated
	// items.
	OpenedBySeverity map[string]int `json:"opened_by_severity"`
	KEVOpened        int            `json:"kev_opened"`
	DuplicatesFolded int            `json:"duplicates_folded"`
	Error            string         `json:"error,omitempty"`
	CreatedBy        string         `json:"created_by,omitempty"`
	// SourceVersion is the mirrored ScanRun's version (0 for an import): an
	// older version never overwrites a newer one.
	SourceVersion int64 `json:"-"`
}

const columns = `id, team_id, scan_type, tool, source, target, account_uid, status, format, filename, artifact_ref,
	started_at, finished_at, items_read, findings_created, findings_updated, findings_unchanged, findings_resolved,
	by_severity, by_result, error, created_by, opened_by_severity, kev_opened, duplicates_folded`

// MirrorToUnifiedScanResults is the seed's mirror_to_unified_scan_results:
// it writes rec (insert or replace by ID) with q, so that an import records
// itself in the same transaction as its findings. A record of a higher
// SourceVersion is kept over a lower one, so a ScanRun's mirrors, written
// after its own transactions commit, may arrive in any order.
func MirrorToUnifiedScanResults(ctx context.Context, q db.Querier, rec *ScanResult) error {
	sev, _ := json.Marshal(nonNil(rec.BySeverity))
	res, _ := json.Marshal(nonNil(rec.ByResult))
	opened, _ := json.Marshal(nonNil(rec.OpenedBySeverity))
	var finished any
	if rec.FinishedAt != nil {
		finished = rec.FinishedAt.UTC()
	}
	_, err := q.ExecContext(ctx, `INSERT INTO scan_results (`+columns+`, source_version)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21,$22,$24,$25,$26,$23)
		ON CONFLICT (id) DO UPDATE SET status = excluded.status, target = excluded.target, account_uid = excluded.account_uid,
		  format = excluded.format, artifact_ref = excluded.artifact_ref, finished_at = excluded.finished_at,
		  items_read = excluded.items_read, findings_created = excluded.findings_created,
		  findings_updated = excluded.findings_updated, findings_unchanged = excluded.findings_unchanged,
		  findings_resolved = excluded.findings_resolved, by_severity = excluded.by_severity,
		  by_result = excluded.by_result, error = excluded.error, tool = excluded.tool, scan_type = excluded.scan_type,
		  source_version = excluded.source_version, opened_by_severity = excluded.opened_by_severity,
		  kev_opened = excluded.kev_opened, duplicates_folded = excluded.duplicates_folded
		WHERE scan_results.source_version <= excluded.source_version`,
		rec.ID, rec.TeamID, string(rec.ScanType), rec.Tool, rec.Source, rec.Target, rec.AccountUID, rec.Status, rec.Format,
		rec.Filename, rec.ArtifactRef, rec.StartedAt.UTC(), finished, rec.ItemsRead, rec.FindingsCreated, rec.FindingsUpdated,
		rec.FindingsUnchanged, rec.FindingsResolved, string(sev), string(res), rec.Error, rec.CreatedBy, rec.SourceVersion,
		string(opened), rec.KEVOpened, rec.DuplicatesFolded)
	if err != nil {
		return fmt.Errorf("mirror scan %s to the unified scan results: %w", rec.ID, err)
	}
	return nil
}

func nonNil(m map[string]int) map[string]int {
	if m == nil {
		return map[string]int{}
	}
	return m
}

func scan(row interface{ Scan(...any) error }) (ScanResult, error) {
	var (
		r                ScanResult
		finished         sql.NullTime
		sev, res, opened string
		typ              string
	)
	if err := row.Scan(&r.ID, &r.TeamID, &typ, &r.Tool, &r.Source, &r.Target, &r.AccountUID, &r.Status, &r.Format, &r.Filename,
		&r.ArtifactRef, &r.StartedAt, &finished, &r.ItemsRead, &r.FindingsCreated, &r.FindingsUpdated, &r.FindingsUnchanged,
		&r.FindingsResolved, &sev, &res, &r.Error, &r.CreatedBy, &opened, &r.KEVOpened, &r.DuplicatesFolded); err != nil {
		return ScanResult{}, db.MapError(err)
	}
	r.ScanType = ScanType(typ)
	if finished.Valid {
		r.FinishedAt = &finished.Time
	}
	_ = json.Unmarshal([]byte(sev), &r.BySeverity)
	_ = json.Unmarshal([]byte(res), &r.ByResult)
	_ = json.Unmarshal([]byte(opened), &r.OpenedBySeverity)
	return r, nil
}

// Service reads the unified history.
type Service struct{ d *db.DB }

// New returns the service on reg's native_scans database.
func New(reg *db.Registry) *Service { return &Service{d: reg.Get(db.NativeScans)} }

// ScanResultGet returns one record of the team.
func (s *Service) ScanResultGet(ctx context.Context, teamID, id string) (ScanResult, error) {
	var r ScanResult
	err := s.d.ReadInTeam(ctx, teamID, func(q db.Querier) error {
		var err error
		r, err = scan(q.QueryRowContext(ctx, "SELECT "+columns+" FROM scan_results WHERE team_id = $1 AND id = $2", teamID, id))
		return err
	})
	return r, err
}

// ListParams filters the history; newest first.
type ListParams struct {
	TeamID   string
	ScanType string
	Tool     string
	Status   string
	Limit    int
	Offset   int
}

// ScanResultList returns a page of the team's history and the total matching.
func (s *Service) ScanResultList(ctx context.Context, p ListParams) ([]ScanResult, int, error) {
	if p.Limit <= 0 || p.Limit > 500 {
		p.Limit = 50
	}
	where := []string{"team_id = $1"}
	args := []any{p.TeamID}
	for col, v := range map[string]string{"scan_type": p.ScanType, "tool": p.Tool, "status": p.Status} {
		if v != "" {
			args = append(args, v)
			where = append(where, fmt.Sprintf("%s = $%d", col, len(args)))
		}
	}
	cond := strings.Join(where, " AND ")
	out := []ScanResult{}
	total := 0
	err := s.d.ReadInTeam(ctx, p.TeamID, func(q db.Querier) error {
		if err := q.QueryRowContext(ctx, "SELECT count(*) FROM scan_results WHERE "+cond, args...).Scan(&total); err != nil {
			return err
		}
		rows, err := q.QueryContext(ctx, fmt.Sprintf("SELECT %s FROM scan_results WHERE %s ORDER BY started_at DESC, id LIMIT %d OFFSET %d",
			columns, cond, p.Limit, p.Offset), args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			r, err := scan(rows)
			if err != nil {
				return err
			}
			out = append(out, r)
		}
		return rows.Err()
	})
	return out, total, err
}

// ExpireImportArtifacts deletes from store the report of every import
// that finished before cutoff, then forgets it; the history record stays.
// It returns how many it deleted.
func (s *Service) ExpireImportArtifacts(ctx context.Context, cutoff time.Time, store artifact.Store) (int, error) {
	return artifact.Expire(ctx, store,
		func(ctx context.Context) ([]artifact.Ref, error) {
			var refs []artifact.Ref
			err := s.d.AsSystem(ctx, func(q db.Querier) error {
				var err error
				refs, err = artifact.QueryRefs(ctx, q, `SELECT id, team_id, artifact_ref FROM scan_results
					WHERE source = 'import' AND artifact_ref <> '' AND finished_at < $1 ORDER BY finished_at LIMIT 200`, cutoff.UTC())
				return err
			})
			return refs, err
		},
		func(ctx context.Context, ref artifact.Ref) error {
			return s.d.InTeam(ctx, ref.TeamID, func(q db.Querier) error {
				_, err := q.ExecContext(ctx, "UPDATE scan_results SET artifact_ref = '' WHERE team_id = $1 AND id = $2", ref.TeamID, ref.RowID)
				return err
			})
		})
}
