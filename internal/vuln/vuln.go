// Package vuln is the seed's VulnerabilityManagementService: the unified
// vulnerability catalog and each team's occurrences of those
// vulnerabilities, fed by every finding that carries vulnerability IDs
// (Trivy, Grype, Nmap vulners, Nuclei, ...). KEV and EPSS enrichment,
// prioritization and SLAs build on it.
package vuln

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/offloadsecurity/cspm/internal/audit"
	"github.com/offloadsecurity/cspm/internal/db"
	"github.com/offloadsecurity/cspm/internal/listcache"
	"github.com/offloadsecurity/cspm/internal/ocsf"
	"github.com/offloadsecurity/cspm/internal/tiers"
)

// Sighting is one vulnerability seen by one scan in one asset's component.
type Sighting struct {
	VulnID string
	// Aliases are the vulnerability's other IDs in the same report (a
	// GHSA beside its CVE); see CanonicalID.
	Aliases      []string
	Title        string
	Description  string
	Severity     ocsf.Severity
	CVSS         *ocsf.CVSS
	CWEs         []string
	References   []string
	Asset        string
	Exposure     string // see ExposureOf
	Component    string
	Location     string
	Version      string
	FixedVersion string
	Tool         string
	ScopeKey     string
	// VendorStatus is what the vendor decided about this vulnerability in
	// this component, when that makes it not open: StatusNotAffected or
	// StatusWillNotFix. Empty: open.
	VendorStatus string
}

// Occurrence statuses. not_affected and will_not_fix are the vendor's
// (as the scanner reports it), and change with the next report.
const (
	StatusOpen        = "open"
	StatusFixed       = "fixed"
	StatusAccepted    = "accepted"
	StatusNotAffected = "not_affected"
	StatusWillNotFix  = "will_not_fix"
)

// vendorStatus is the occurrence status of a sighting's vendor status.
func vendorStatus(s string) string {
	switch s {
	case "not_affected":
		return StatusNotAffected
	case "will_not_fix", "end_of_life":
		return StatusWillNotFix
	}
	return ""
}

// How reachable an asset is, which weighs its risk score.
const (
	ExposureNetwork = "network" // a service a scanner reached over the network
	ExposureCloud   = "cloud"   // a cloud resource
	ExposurePackage = "package" // a component inside an image, host or repository
)

// ExposureOf says how exposed the asset of a tool's finding is: what a
// network or web scanner reached is reachable; a cloud finding sits in an
// account; the rest are components found inside an artifact.
func ExposureOf(tool, accountUID string) string {
	switch tool {
	case "nmap", "zap", "nuclei", "wapiti":
		return ExposureNetwork
	}
	if accountUID != "" {
		return ExposureCloud
	}
	return ExposurePackage
}

// Result counts what RecordOccurrences did.
type Result struct {
	CatalogAdded int `json:"catalog_added"`
	Opened       int `json:"opened"`
	Seen         int `json:"seen"`
	Fixed        int `json:"fixed"`
	// KEVOpened counts the occurrences this scan opened (new or reopened)
	// of vulnerabilities in CISA's KEV catalog.
	KEVOpened int `json:"kev_opened"`
}

// Service keeps the catalog and occurrences in the vulnerability database.
type Service struct {
	d   *db.DB
	now func() time.Time
	// HTTP fetches the KEV catalog and EPSS scores; nil means a client with
	// a one-minute timeout.
	HTTP *http.Client
	// Audit, when set, records KEV syncs, EPSS imports, SLA and occurrence changes.
	Audit *audit.Log
	// Tickets, when set, lists a vulnerability's tickets for its detail.
	Tickets func(ctx context.Context, teamID, vulnID string) ([]TicketRef, error)
	// StatusChanged, when set, hears that a person changed the status of
	// the team's occurrences, after the commit (the app queues the two-way
	// ticket sync).
	StatusChanged func(ctx context.Context, teamID string)
	// Tiers, when set, gives occurrences the business tier of their asset
	// (business_tier.go); TiersStale hears that the analyses changed while
	// occurrences were recorded (the app queues a forced sync).
	Tiers      tiers.Source
	TiersStale func(ctx context.Context, teamID string)
	Logger     *slog.Logger

	totals listcache.Cache[int]
	// firstWindow is how many scores a list page reads first (see pageKeys).
	firstWindow int
}

// dataVersions versions what the team's vulnerability lists count (see
// listcache): imports, status changes, enrichment and rescoring bump it.
const dataVersions = listcache.Versions("vuln_data_versions")

// New returns the service.
func New(reg *db.Registry) *Service {
	return &Service{d: reg.Get(db.Vulnerability), now: time.Now, firstWindow: 2000}
}

// NormalizeID upper-cases and trims a vulnerability ID.
func NormalizeID(id string) string { return strings.ToUpper(strings.TrimSpace(id)) }

// CanonicalID picks the ID a vulnerability is kept under among the IDs one
// finding gives it: the first CVE (KEV and EPSS name CVEs), else the first
// ID; the rest are its aliases.
func CanonicalID(ids []string) (id string, aliases []string) {
	var norm []string
	for _, v := range ids {
		if v = NormalizeID(v); v != "" && !slices.Contains(norm, v) {
			norm = append(norm, v)
		}
	}
	if len(norm) == 0 {
		return "", nil
	}
	pick := 0
	for i, v := range norm {
		if strings.HasPrefix(v, "CVE-") {
			pick = i
			break
		}
	}
	return norm[pick], slices.Delete(slices.Clone(norm), pick, pick+1)
}

// resolveAliases puts each sighting under the ID the catalog keeps for it
// (a GHSA already known as a CVE's alias lands on the CVE) and records the
// aliases the sightings bring. An ID that is a vulnerability of its own in
// the catalog already keeps its occurrences: it is not made an alias.
func resolveAliases(ctx context.Context, q db.Querier, sightings []Sighting) error {
	ids := map[string]bool{}
	for _, v := range sightings {
		ids[NormalizeID(v.VulnID)] = true
	}
	known := map[string]string{}
	list := make([]string, 0, len(ids))
	for id := range ids {
		list = append(list, id)
	}
	for start := 0; start < len(list); start += 500 {
		part := list[start:min(start+500, len(list))]
		if err := func() error {
			rows, err := q.QueryContext(ctx, "SELECT alias, vuln_id FROM vuln_aliases WHERE alias IN ("+db.InList(len(part), 1)+")", anySlice(part)...)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				var a, v string
				if err := rows.Scan(&a, &v); err != nil {
					return err
				}
				known[a] = v
			}
			return rows.Err()
		}(); err != nil {
			return err
		}
	}
	for i := range sightings {
		v := &sightings[i]
		id := NormalizeID(v.VulnID)
		if c, ok := known[id]; ok {
			v.VulnID = c
			id = c
		}
		for _, a := range v.Aliases {
			if a = NormalizeID(a); a == "" || a == id || known[a] != "" {
				continue
			}
			if _, err := q.ExecContext(ctx, `INSERT INTO vuln_aliases (alias, vuln_id)
				SELECT $1, $2 WHERE NOT EXISTS (SELECT 1 FROM vuln_catalog WHERE id = $1) ON CONFLICT (alias) DO NOTHING`, a, id); err != nil {
				return err
			}
			known[a] = id
		}
	}
	return nil
}

func anySlice(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

// RecordOccurrences records what one scan saw, in one transaction: new IDs
// join the catalog (enriched at once from the stored KEV and EPSS data),
// occurrences open or are seen again (reopening fixed ones), the open
// occurrences of the scan's scopes that it no longer reports are fixed, and
// what the scan touched is scored again.
func (s *Service) RecordOccurrences(ctx context.Context, teamID, scanID string, sightings []Sighting, scopes []string) (Result, error) {
	var res Result
	now := s.now().UTC()
	tierMap := s.businessTiers(ctx, teamID)
	err := s.d.InTeam(ctx, teamID, func(q db.Querier) (err error) {
		if err := resolveAliases(ctx, q, sightings); err != nil {
			return fmt.Errorf("aliases: %w", err)
		}
		catalogued := map[string]bool{}
		var added, openedIDs []string
		for i := range sightings {
			v := &sightings[i]
			id := NormalizeID(v.VulnID)
			if id == "" {
				continue
			}
			if !catalogued[id] {
				catalogued[id] = true
				isNew, err := upsertCatalog(ctx, q, id, v, now)
				if err != nil {
					return fmt.Errorf("catalog %s: %w", id, err)
				}
				if isNew {
					res.CatalogAdded++
					added = append(added, id)
				}
			}
			opened, err := upsertOccurrence(ctx, q, teamID, scanID, id, v, now)
			if err != nil {
				return err
			}
			if opened {
				res.Opened++
				openedIDs = append(openedIDs, id)
			} else {
				res.Seen++
			}
		}
		for _, scope := range scopes {
			r, err := q.ExecContext(ctx, `UPDATE vuln_occurrences SET status = 'fixed', fixed_at = $1
				WHERE team_id = $2 AND scope_key = $3 AND status IN ('open', 'not_affected', 'will_not_fix') AND last_scan_id <> $4`, now, teamID, scope, scanID)
			if err != nil {
				return err
			}
			n, _ := r.RowsAffected()
			res.Fixed += int(n)
		}
		if err := enrichCatalog(ctx, q, added, now); err != nil {
			return err
		}
		if res.KEVOpened, err = countKEV(ctx, q, s.d.Dialect, openedIDs); err != nil {
			return err
		}
		if _, err := q.ExecContext(ctx, `INSERT INTO vuln_occurrence_scores (occurrence_id, team_id, vuln_id)
			SELECT o.id, o.team_id, o.vuln_id FROM vuln_occurrences AS o WHERE o.team_id = $1 AND o.last_scan_id = $2
			ON CONFLICT (occurrence_id) DO NOTHING`, teamID, scanID); err != nil {
			return err
		}
		if _, err := applyTiers(ctx, q, teamID, tierMap, "last_scan_id = $2", scanID); err != nil {
			return err
		}
		if _, err := rescore(ctx, q, "o.team_id = $1 AND o.last_scan_id = $2", teamID, scanID); err != nil {
			return err
		}
		return dataVersions.Bump(ctx, q, teamID)
	})
	if err == nil {
		s.checkTiersCurrent(ctx, teamID, tierMap)
	}
	return res, err
}

// upsertCatalog adds id to the catalog, or raises its severity and fills
// in a CVSS score it lacked; it reports whether the entry is new.
func upsertCatalog(ctx context.Context, q db.Querier, id string, v *Sighting, now time.Time) (bool, error) {
	var (
		cvssVersion, cvssVector string
		cvssScore               *float64
	)
	if v.CVSS != nil && v.CVSS.BaseScore > 0 {
		cvssVersion, cvssVector, cvssScore = v.CVSS.Version, v.CVSS.VectorString, &v.CVSS.BaseScore
	}
	r, err := q.ExecContext(ctx, `INSERT INTO vuln_catalog (id, title, description, severity, cvss_version, cvss_vector, cvss_score,
		cwes, refs, first_seen, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) ON CONFLICT (id) DO NOTHING`,
		id, v.Title, v.Description, int(v.Severity), cvssVersion, cvssVector, cvssScore,
		strings.Join(v.CWEs, " "), strings.Join(v.References, "\n"), now)
	if err != nil {
		return false, err
	}
	if n, _ := r.RowsAffected(); n > 0 {
		return true, nil
	}
	if _, err := q.ExecContext(ctx, `UPDATE vuln_catalog SET severity = $1, updated_at = $2 WHERE id = $3 AND severity < $1`,
		int(v.Severity), now, id); err != nil {
		return false, err
	}
	if cvssScore != nil {
		_, err = q.ExecContext(ctx, `UPDATE vuln_catalog SET cvss_version = $1, cvss_vector = $2, cvss_score = $3, updated_at = $4
			WHERE id = $5 AND cvss_score IS NULL`, cvssVersion, cvssVector, *cvssScore, now, id)
	}
	return false, err
}

// upsertOccurrence opens an occurrence or records that it was seen again;
// a fixed one reopens, an accepted one stays accepted.
func upsertOccurrence(ctx context.Context, q db.Querier, teamID, scanID, id string, v *Sighting, now time.Time) (opened bool, err error) {
	exposure := v.Exposure
	if exposure == "" {
		exposure = ExposurePackage
	}
	// The vendor's status follows the latest report; a person's acceptance
	// stays.
	status := vendorStatus(v.VendorStatus)
	r, err := q.ExecContext(ctx, `UPDATE vuln_occurrences SET status = CASE WHEN status = 'accepted' THEN status
			WHEN $12 <> '' THEN $12 ELSE 'open' END,
		last_seen = $1, last_scan_id = $2, fixed_version = $3, severity = $4, fixed_at = NULL, exposure = $5
		WHERE team_id = $6 AND vuln_id = $7 AND asset = $8 AND component = $9 AND location = $10 AND version = $11`,
		now, scanID, v.FixedVersion, int(v.Severity), exposure, teamID, id, v.Asset, v.Component, v.Location, v.Version, status)
	if err != nil {
		return false, err
	}
	if n, _ := r.RowsAffected(); n > 0 {
		return false, nil
	}
	_, err = q.ExecContext(ctx, `INSERT INTO vuln_occurrences (team_id, vuln_id, asset, component, location, version,
		fixed_version, status, severity, source_tool, scope_key, first_seen, last_seen, last_scan_id, exposure)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$14,$8,$9,$10,$11,$11,$12,$13)`,
		teamID, id, v.Asset, v.Component, v.Location, v.Version, v.FixedVersion, int(v.Severity), v.Tool, v.ScopeKey, now, scanID, exposure,
		cmp.Or(status, StatusOpen))
	return true, err
}

// CatalogCount returns the size of the catalog.
func (s *Service) CatalogCount(ctx context.Context) (int, error) {
	var n int
	err := s.d.Reader().QueryRowContext(ctx, "SELECT count(*) FROM vuln_catalog").Scan(&n)
	return n, err
}

// countKEV counts the occurrences, one per entry of ids, whose
// vulnerability is in CISA's KEV catalog.
func countKEV(ctx context.Context, q db.Querier, d db.Dialect, ids []string) (int, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	distinct := slices.Compact(slices.Sorted(slices.Values(ids)))
	inKEV := map[string]bool{}
	for start := 0; start < len(distinct); start += 500 {
		if err := markKEV(ctx, q, d, distinct[start:min(start+500, len(distinct))], inKEV); err != nil {
			return 0, err
		}
	}
	n := 0
	for _, id := range ids {
		if inKEV[id] {
			n++
		}
	}
	return n, nil
}

// markKEV sets inKEV for the IDs of chunk that the catalog has in KEV.
func markKEV(ctx context.Context, q db.Querier, d db.Dialect, chunk []string, inKEV map[string]bool) error {
	in, args := db.AnyOf(d, "id", "text", 1, chunk)
	rows, err := q.QueryContext(ctx, "SELECT id FROM vuln_catalog WHERE in_kev AND "+in, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return err
		}
		inKEV[id] = true
	}
	return rows.Err()
}
