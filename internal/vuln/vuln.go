// Package vuln is the seed's VulnerabilityManagementService: the unified
// vulnerability catalog and each team's occurrences of those
// vulnerabilities, fed by every finding that carries vulnerability IDs
// (Trivy, Grype, Nmap vulners, Nuclei, ...). KEV and EPSS enrichment,
// prioritization and SLAs build on it.
package vuln

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/offloadsecurity/cspm/internal/db"
	"github.com/offloadsecurity/cspm/internal/ocsf"
)

// Sighting is one vulnerability seen by one scan in one asset's component.
type Sighting struct {
	VulnID       string
	Title        string
	Description  string
	Severity     ocsf.Severity
	Asset        string
	Component    string
	Location     string
	Version      string
	FixedVersion string
	Tool         string
	ScopeKey     string
}

// Result counts what RecordOccurrences did.
type Result struct {
	CatalogAdded int `json:"catalog_added"`
	Opened       int `json:"opened"`
	Seen         int `json:"seen"`
	Fixed        int `json:"fixed"`
}

// Service keeps the catalog and occurrences in the vulnerability database.
type Service struct {
	d   *db.DB
	now func() time.Time
}

// New returns the service.
func New(reg *db.Registry) *Service { return &Service{d: reg.Get(db.Vulnerability), now: time.Now} }

// RecordOccurrences records what one scan saw, in one transaction: new IDs
// join the catalog, occurrences open or are seen again (reopening fixed
// ones), and the open occurrences of the scan's scopes that it no longer
// reports are fixed.
func (s *Service) RecordOccurrences(ctx context.Context, teamID, scanID string, sightings []Sighting, scopes []string) (Result, error) {
	var res Result
	now := s.now().UTC()
	err := s.d.InTeam(ctx, teamID, func(q db.Querier) error {
		for i := range sightings {
			v := &sightings[i]
			id := strings.ToUpper(strings.TrimSpace(v.VulnID))
			if id == "" {
				continue
			}
			r, err := q.ExecContext(ctx, `INSERT INTO vuln_catalog (id, title, description, severity, first_seen, updated_at)
				VALUES ($1, $2, $3, $4, $5, $5) ON CONFLICT (id) DO NOTHING`, id, v.Title, v.Description, int(v.Severity), now)
			if err != nil {
				return fmt.Errorf("catalog %s: %w", id, err)
			}
			if n, _ := r.RowsAffected(); n > 0 {
				res.CatalogAdded++
			} else if _, err := q.ExecContext(ctx, `UPDATE vuln_catalog SET severity = $1, updated_at = $2 WHERE id = $3 AND severity < $1`,
				int(v.Severity), now, id); err != nil {
				return err
			}
			var prev string
			err = q.QueryRowContext(ctx, `SELECT status FROM vuln_occurrences WHERE team_id = $1 AND vuln_id = $2 AND asset = $3
				AND component = $4 AND location = $5 AND version = $6`, teamID, id, v.Asset, v.Component, v.Location, v.Version).Scan(&prev)
			switch {
			case err == nil:
				res.Seen++
				status := prev
				if prev == "fixed" {
					status = "open"
				}
				if _, err := q.ExecContext(ctx, `UPDATE vuln_occurrences SET status = $1, last_seen = $2, last_scan_id = $3, fixed_version = $4,
					severity = $5, fixed_at = NULL WHERE team_id = $6 AND vuln_id = $7 AND asset = $8 AND component = $9 AND location = $10 AND version = $11`,
					status, now, scanID, v.FixedVersion, int(v.Severity), teamID, id, v.Asset, v.Component, v.Location, v.Version); err != nil {
					return err
				}
			case errors.Is(db.MapError(err), db.ErrNotFound):
				res.Opened++
				if _, err := q.ExecContext(ctx, `INSERT INTO vuln_occurrences (team_id, vuln_id, asset, component, location, version,
					fixed_version, status, severity, source_tool, scope_key, first_seen, last_seen, last_scan_id)
					VALUES ($1,$2,$3,$4,$5,$6,$7,'open',$8,$9,$10,$11,$11,$12)`,
					teamID, id, v.Asset, v.Component, v.Location, v.Version, v.FixedVersion, int(v.Severity), v.Tool, v.ScopeKey, now, scanID); err != nil {
					return err
				}
			default:
				return err
			}
		}
		for _, scope := range scopes {
			r, err := q.ExecContext(ctx, `UPDATE vuln_occurrences SET status = 'fixed', fixed_at = $1
				WHERE team_id = $2 AND scope_key = $3 AND status = 'open' AND last_scan_id <> $4`, now, teamID, scope, scanID)
			if err != nil {
				return err
			}
			n, _ := r.RowsAffected()
			res.Fixed += int(n)
		}
		return nil
	})
	return res, err
}

// Occurrence is one team's occurrence of a vulnerability.
type Occurrence struct {
	VulnID       string    `json:"vuln_id"`
	Asset        string    `json:"asset"`
	Component    string    `json:"component"`
	Version      string    `json:"version"`
	FixedVersion string    `json:"fixed_version"`
	FixAvailable bool      `json:"fix_available"`
	Status       string    `json:"status"`
	Severity     string    `json:"severity"`
	SourceTool   string    `json:"source_tool"`
	FirstSeen    time.Time `json:"first_seen"`
	LastSeen     time.Time `json:"last_seen"`
}

// OccurrenceList returns the team's occurrences, optionally of one status.
func (s *Service) OccurrenceList(ctx context.Context, teamID, status string) ([]Occurrence, error) {
	out := []Occurrence{}
	err := s.d.ReadInTeam(ctx, teamID, func(q db.Querier) error {
		query := `SELECT vuln_id, asset, component, version, fixed_version, status, severity, source_tool, first_seen, last_seen
			FROM vuln_occurrences WHERE team_id = $1`
		args := []any{teamID}
		if status != "" {
			query += " AND status = $2"
			args = append(args, status)
		}
		rows, err := q.QueryContext(ctx, query+" ORDER BY severity DESC, vuln_id, asset", args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var (
				o   Occurrence
				sev int
			)
			if err := rows.Scan(&o.VulnID, &o.Asset, &o.Component, &o.Version, &o.FixedVersion, &o.Status, &sev, &o.SourceTool, &o.FirstSeen, &o.LastSeen); err != nil {
				return err
			}
			o.Severity, o.FixAvailable = ocsf.Severity(sev).Key(), o.FixedVersion != ""
			out = append(out, o)
		}
		return rows.Err()
	})
	return out, err
}

// CatalogCount returns the size of the catalog.
func (s *Service) CatalogCount(ctx context.Context) (int, error) {
	var n int
	err := s.d.Reader().QueryRowContext(ctx, "SELECT count(*) FROM vuln_catalog").Scan(&n)
	return n, err
}
