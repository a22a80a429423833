package bia

import (
	"context"
	"fmt"
	"strings"

	"github.com/offloadsecurity/cspm/internal/db"
	"github.com/offloadsecurity/cspm/internal/listcache"
)

// FindingRow is one open, failing finding as analytics needs it: where it
// is, how severe, and whether it names vulnerabilities.
type FindingRow struct {
	AccountUID  string
	ResourceUID string
	Target      string
	// Tags are the resource's tags, "|key=value|key|", lowercased, as the
	// findings store keeps them.
	Tags     string
	Severity int // OCSF severity ID
}

// FindingSource streams a team's open failing findings and says which
// version of them it would stream (it grows with every change).
type FindingSource interface {
	OpenFailing(ctx context.Context, teamID string, fn func(FindingRow) error) error
	FindingsVersion(ctx context.Context, teamID string) (int64, error)
}

// KEVOccurrence is an open occurrence of a vulnerability in CISA's KEV
// catalog on an asset (an image, a host, a cloud resource).
type KEVOccurrence struct {
	Asset  string
	VulnID string
}

// KEVSource lists a team's open KEV occurrences and their version.
type KEVSource interface {
	OpenKEV(ctx context.Context, teamID string) ([]KEVOccurrence, error)
	VulnsVersion(ctx context.Context, teamID string) (int64, error)
}

// StoreSources reads the findings store (native_scans) and the
// vulnerability store directly, read-only, with the same team scope and
// the data versions those stores bump on every write (internal/listcache).
// The findings and vuln packages export no query that streams open
// findings by account, resource and tag, or open KEV occurrences by asset;
// when they do, these two methods become calls to them.
type StoreSources struct {
	Findings *db.DB // native_scans
	Vulns    *db.DB // vulnerability
}

// NewStoreSources returns the sources on reg.
func NewStoreSources(reg *db.Registry) *StoreSources {
	return &StoreSources{Findings: reg.Get(db.NativeScans), Vulns: reg.Get(db.Vulnerability)}
}

// OpenFailing streams open and reopened findings with a failing result.
func (s *StoreSources) OpenFailing(ctx context.Context, teamID string, fn func(FindingRow) error) error {
	return s.Findings.ReadInTeam(ctx, teamID, func(q db.Querier) error {
		if err := db.NoJIT(ctx, s.Findings, q); err != nil {
			return err
		}
		rows, err := q.QueryContext(ctx, `SELECT account_uid, resource_uid, target, resource_tags, severity FROM findings
			WHERE team_id = $1 AND status IN ('open', 'reopened') AND result = 'fail'`, teamID)
		if err != nil {
			return fmt.Errorf("open findings: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var r FindingRow
			if err := rows.Scan(&r.AccountUID, &r.ResourceUID, &r.Target, &r.Tags, &r.Severity); err != nil {
				return err
			}
			if err := fn(r); err != nil {
				return err
			}
		}
		return rows.Err()
	})
}

// FindingsVersion is the findings store's data version of the team.
func (s *StoreSources) FindingsVersion(ctx context.Context, teamID string) (int64, error) {
	var v int64
	err := s.Findings.ReadInTeam(ctx, teamID, func(q db.Querier) error {
		var err error
		v, err = listcache.Versions("findings_data_versions").Of(ctx, q, teamID)
		return err
	})
	return v, err
}

// OpenKEV lists open occurrences of KEV vulnerabilities.
func (s *StoreSources) OpenKEV(ctx context.Context, teamID string) ([]KEVOccurrence, error) {
	out := []KEVOccurrence{}
	kev := "c.in_kev = 1"
	if s.Vulns.Dialect == db.Postgres {
		kev = "c.in_kev"
	}
	err := s.Vulns.ReadInTeam(ctx, teamID, func(q db.Querier) error {
		rows, err := q.QueryContext(ctx, `SELECT o.asset, o.vuln_id FROM vuln_occurrences o JOIN vuln_catalog c ON c.id = o.vuln_id
			WHERE o.team_id = $1 AND o.status = 'open' AND `+kev, teamID)
		if err != nil {
			return fmt.Errorf("open KEV occurrences: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var o KEVOccurrence
			if err := rows.Scan(&o.Asset, &o.VulnID); err != nil {
				return err
			}
			out = append(out, o)
		}
		return rows.Err()
	})
	return out, err
}

// VulnsVersion is the vulnerability store's data version of the team.
func (s *StoreSources) VulnsVersion(ctx context.Context, teamID string) (int64, error) {
	var v int64
	err := s.Vulns.ReadInTeam(ctx, teamID, func(q db.Querier) error {
		var err error
		v, err = listcache.Versions("vuln_data_versions").Of(ctx, q, teamID)
		return err
	})
	return v, err
}

// tagsOf splits the stored "|k=v|k|" form.
func tagsOf(stored string) []string {
	stored = strings.Trim(stored, "|")
	if stored == "" {
		return nil
	}
	return strings.Split(stored, "|")
}
