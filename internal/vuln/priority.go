package vuln

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/offloadsecurity/cspm/internal/db"
	"github.com/offloadsecurity/cspm/internal/listcache"
	"github.com/offloadsecurity/cspm/internal/ocsf"
)

// The risk score of an occurrence, 0 to 100, is
//
//	impact x likelihood x exposure
//
// where impact is the CVSS base score x 10 (or, without one, 95, 75, 50 and
// 25 for critical, high, medium and low); likelihood is 0.4 + 0.6 x p, with
// p = 1 for a vulnerability in CISA KEV (it is being exploited) and its EPSS
// probability otherwise (0 when unknown), so that an unlikely critical still
// weighs 40% of a certain one; and exposure is 1.0 for what a network or web
// scan reached, 0.85 for a cloud resource and 0.7 for a package inside an
// image, host or repository.
//
// The priority follows from it: P1 for a KEV vulnerability on a network
// service or with known ransomware use, or a score of 80 or more; P2 for any
// other KEV vulnerability or a score of 50 or more; P3 from 25; P4 below.
// docs/vulnerabilities.md explains the choice; the SQL below is the one
// implementation, so that sorting and filtering by it stay in the database.
const riskExpr = `(COALESCE(c.cvss_score, CASE WHEN o.severity >= 5 THEN 9.5 WHEN o.severity = 4 THEN 7.5
	WHEN o.severity = 3 THEN 5.0 WHEN o.severity = 2 THEN 2.5 ELSE 0.0 END) * 10.0
	* (0.4 + 0.6 * CASE WHEN c.in_kev THEN 1.0 ELSE COALESCE(c.epss_score, 0.0) END)
	* CASE o.exposure WHEN 'network' THEN 1.0 WHEN 'cloud' THEN 0.85 ELSE 0.7 END)`

// Business impact raises it: an occurrence on an asset that a tier 1
// (mission critical) or tier 2 business process depends on is one level
// more urgent (P4 -> P3 -> P2 -> P1), so that the same vulnerability on a
// sandbox ranks below it (internal/tiers; docs/vulnerabilities.md).
var (
	technicalP1  = `(c.in_kev AND (o.exposure = 'network' OR c.kev_ransomware = 'Known') OR ` + riskExpr + ` >= 80)`
	technicalP2  = `(c.in_kev OR ` + riskExpr + ` >= 50)`
	technicalP3  = `(` + riskExpr + ` >= 25)`
	businessCrit = `o.business_tier IN (1, 2)`
	priorityExpr = `CASE WHEN ` + technicalP1 + ` OR (` + businessCrit + ` AND ` + technicalP2 + `) THEN 'P1'
	WHEN ` + technicalP2 + ` OR (` + businessCrit + ` AND ` + technicalP3 + `) THEN 'P2'
	WHEN ` + technicalP3 + ` OR ` + businessCrit + ` THEN 'P3' ELSE 'P4' END`
)

// rescore recomputes the risk score and priority of the occurrences that
// match where (over vuln_occurrences o and vuln_occurrence_scores s), in
// one statement.
func rescore(ctx context.Context, q db.Querier, where string, args ...any) (int64, error) {
	r, err := q.ExecContext(ctx, `UPDATE vuln_occurrence_scores AS s SET risk_score = `+riskExpr+`, priority = `+priorityExpr+`
		FROM vuln_occurrences AS o JOIN vuln_catalog AS c ON c.id = o.vuln_id WHERE o.id = s.occurrence_id AND `+where, args...)
	if err != nil {
		return 0, fmt.Errorf("score occurrences: %w", err)
	}
	return r.RowsAffected()
}

// chunks calls fn with ids in slices small enough for one statement's parameters.
func chunks(ids []string, fn func(part []string) error) error {
	const size = 500
	for len(ids) > 0 {
		n := min(size, len(ids))
		if err := fn(ids[:n]); err != nil {
			return err
		}
		ids = ids[n:]
	}
	return nil
}

func stringArgs(first []any, ids []string) []any {
	args := append([]any{}, first...)
	for _, id := range ids {
		args = append(args, id)
	}
	return args
}

// enrichCatalog sets the KEV and EPSS fields of the given catalog entries
// from the stored KEV catalog and EPSS scores. An entry is marked as
// checked against KEV (or EPSS) only once a catalog (or a score file) has
// been loaded: before that it stays "never enriched".
func enrichCatalog(ctx context.Context, q db.Querier, ids []string, now time.Time) error {
	if len(ids) == 0 {
		return nil
	}
	var kevSynced, epssImported bool
	if err := q.QueryRowContext(ctx, `SELECT (SELECT last_sync IS NOT NULL FROM kev_state WHERE id = 1),
		(SELECT last_import IS NOT NULL FROM epss_state WHERE id = 1)`).Scan(&kevSynced, &epssImported); err != nil {
		return err
	}
	return chunks(ids, func(part []string) error {
		in := db.InList(len(part), 2)
		if kevSynced {
			if _, err := q.ExecContext(ctx, `UPDATE vuln_catalog SET in_kev = TRUE, kev_date_added = k.date_added, kev_due_date = k.due_date,
				kev_ransomware = k.ransomware, kev_required_action = k.required_action, kev_vendor = k.vendor, kev_product = k.product,
				kev_name = k.name, kev_enriched_at = $1 FROM kev_entries AS k WHERE k.cve_id = vuln_catalog.id AND vuln_catalog.id IN (`+in+`)`,
				stringArgs([]any{now}, part)...); err != nil {
				return fmt.Errorf("KEV enrichment: %w", err)
			}
			if _, err := q.ExecContext(ctx, `UPDATE vuln_catalog SET in_kev = FALSE, kev_date_added = '', kev_due_date = '', kev_ransomware = '',
				kev_required_action = '', kev_vendor = '', kev_product = '', kev_name = '', kev_enriched_at = $1
				WHERE id IN (`+in+`) AND NOT EXISTS (SELECT 1 FROM kev_entries AS k WHERE k.cve_id = vuln_catalog.id)`,
				stringArgs([]any{now}, part)...); err != nil {
				return fmt.Errorf("KEV enrichment: %w", err)
			}
		}
		if epssImported {
			if _, err := q.ExecContext(ctx, `UPDATE vuln_catalog SET epss_score = e.score, epss_percentile = e.percentile,
				epss_date = (SELECT score_date FROM epss_state WHERE id = 1), epss_enriched_at = $1
				FROM epss_scores AS e WHERE e.cve_id = vuln_catalog.id AND vuln_catalog.id IN (`+in+`)`, stringArgs([]any{now}, part)...); err != nil {
				return fmt.Errorf("EPSS enrichment: %w", err)
			}
		}
		return nil
	})
}

// SLAPolicy is how many days a team gives itself to fix an open
// vulnerability, by severity. Informational findings have no deadline.
type SLAPolicy struct {
	CriticalDays int `json:"critical_days" minimum:"1" maximum:"3650"`
	HighDays     int `json:"high_days" minimum:"1" maximum:"3650"`
	MediumDays   int `json:"medium_days" minimum:"1" maximum:"3650"`
	LowDays      int `json:"low_days" minimum:"1" maximum:"3650"`
}

// DefaultSLA applies to a team that has not chosen its own.
var DefaultSLA = SLAPolicy{CriticalDays: 7, HighDays: 30, MediumDays: 90, LowDays: 120}

// days returns the deadline for a severity, or 0 for none.
func (p SLAPolicy) days(sev ocsf.Severity) int {
	switch {
	case sev >= ocsf.SeverityCritical && sev != ocsf.SeverityOther:
		return p.CriticalDays
	case sev == ocsf.SeverityHigh:
		return p.HighDays
	case sev == ocsf.SeverityMedium:
		return p.MediumDays
	case sev == ocsf.SeverityLow:
		return p.LowDays
	}
	return 0
}

// Validate refuses deadlines that would make no sense.
func (p SLAPolicy) Validate() error {
	for _, d := range []int{p.CriticalDays, p.HighDays, p.MediumDays, p.LowDays} {
		if d < 1 || d > 3650 {
			return errors.New("every deadline must be between 1 and 3650 days")
		}
	}
	if p.CriticalDays > p.HighDays || p.HighDays > p.MediumDays || p.MediumDays > p.LowDays {
		// A critical finding due after a high one would rank it below.
		return errors.New("a more severe level cannot have a longer deadline than a less severe one")
	}
	return nil
}

// DueAt is an occurrence's deadline: first seen plus the team's days for
// its severity, capped by the KEV due date (the end of that day, UTC). It is
// nil when neither applies.
func (p SLAPolicy) DueAt(sev ocsf.Severity, firstSeen time.Time, kevDueDate string) *time.Time {
	var due *time.Time
	if d := p.days(sev); d > 0 {
		t := firstSeen.UTC().AddDate(0, 0, d)
		due = &t
	}
	if kd, err := time.Parse(time.DateOnly, kevDueDate); err == nil {
		end := kd.AddDate(0, 0, 1)
		if due == nil || end.Before(*due) {
			due = &end
		}
	}
	return due
}

// overdueWhere is the SQL form of DueAt(...) < now for open occurrences
// (o) joined with their catalog entries (c), with its parameters numbered
// from start.
func (p SLAPolicy) overdueWhere(now time.Time, start int) (string, []any) {
	var (
		conds []string
		args  []any
	)
	for _, s := range []struct {
		cond string
		days int
	}{{"o.severity >= 5 AND o.severity < 99", p.CriticalDays}, {"o.severity = 4", p.HighDays},
		{"o.severity = 3", p.MediumDays}, {"o.severity = 2", p.LowDays}} {
		conds = append(conds, fmt.Sprintf("(%s AND o.first_seen < $%d)", s.cond, start+len(args)))
		args = append(args, now.UTC().AddDate(0, 0, -s.days))
	}
	conds = append(conds, fmt.Sprintf("(c.kev_due_date <> '' AND c.kev_due_date < $%d)", start+len(args)))
	args = append(args, now.UTC().Format(time.DateOnly))
	return "(o.status = 'open' AND (" + strings.Join(conds, " OR ") + "))", args
}

// SLAPolicyGet returns the team's policy, or the default.
func (s *Service) SLAPolicyGet(ctx context.Context, teamID string) (SLAPolicy, error) {
	p := DefaultSLA
	err := s.d.ReadInTeam(ctx, teamID, func(q db.Querier) error {
		err := q.QueryRowContext(ctx, `SELECT critical_days, high_days, medium_days, low_days FROM vuln_sla_policies WHERE team_id = $1`,
			teamID).Scan(&p.CriticalDays, &p.HighDays, &p.MediumDays, &p.LowDays)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		return err
	})
	return p, err
}

// SLAPolicySet stores the team's policy. Deadlines are computed when read,
// so the change applies at once to every occurrence.
func (s *Service) SLAPolicySet(ctx context.Context, teamID, actor string, p SLAPolicy) error {
	if err := p.Validate(); err != nil {
		return err
	}
	return s.d.InTeam(ctx, teamID, func(q db.Querier) error {
		_, err := q.ExecContext(ctx, `INSERT INTO vuln_sla_policies (team_id, critical_days, high_days, medium_days, low_days, updated_at, updated_by)
			VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (team_id) DO UPDATE SET critical_days = excluded.critical_days,
			high_days = excluded.high_days, medium_days = excluded.medium_days, low_days = excluded.low_days,
			updated_at = excluded.updated_at, updated_by = excluded.updated_by`,
			teamID, p.CriticalDays, p.HighDays, p.MediumDays, p.LowDays, s.now().UTC(), actor)
		return err
	})
}

// RescoreAll recomputes the risk score and priority of every occurrence,
// for an upgrade that changes the formula or a bulk load.
func (s *Service) RescoreAll(ctx context.Context) (int64, error) {
	var n int64
	err := s.d.AsSystem(ctx, func(q db.Querier) error {
		var err error
		if n, err = rescore(ctx, q, "1 = 1"); err != nil {
			return err
		}
		return dataVersions.Bump(ctx, q, listcache.AllTeams)
	})
	return n, err
}
