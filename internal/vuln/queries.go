package vuln

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/offloadsecurity/cspm/internal/audit"
	"github.com/offloadsecurity/cspm/internal/db"
	"github.com/offloadsecurity/cspm/internal/listcache"
	"github.com/offloadsecurity/cspm/internal/ocsf"
	"github.com/offloadsecurity/cspm/internal/tiers"
)

// ListParams filters the team's vulnerabilities.
type ListParams struct {
	TeamID       string
	GroupBy      string // vulnerability (default) or asset
	Status       []string
	Severity     []string
	Priority     []string
	InKEV        *bool
	Ransomware   bool
	EPSSMin      float64
	Overdue      bool
	FixAvailable *bool
	Text         string
	// BusinessTier: occurrences on assets a business impact analysis of
	// one of these tiers (1 to 5) depends on.
	BusinessTier []int
	// Sort: risk (default: the riskiest first) or business_tier (the
	// tightest tier first, then the riskiest; assets no analysis names last).
	Sort   string
	Limit  int
	Offset int
}

// VulnerabilitySummary is one vulnerability and how it affects the team.
type VulnerabilitySummary struct {
	ID             string     `json:"id"`
	Title          string     `json:"title"`
	Severity       string     `json:"severity"`
	CVSSScore      *float64   `json:"cvss_score"`
	EPSSScore      *float64   `json:"epss_score"`
	EPSSPercentile *float64   `json:"epss_percentile"`
	KEV            KEVState   `json:"kev"`
	Assets         int        `json:"assets" doc:"Distinct affected assets."`
	Occurrences    int        `json:"occurrences"`
	FixAvailable   int        `json:"fix_available" doc:"Occurrences with a fixed version."`
	RiskScore      float64    `json:"risk_score" doc:"The highest of its occurrences."`
	Priority       string     `json:"priority" enum:"P1,P2,P3,P4"`
	FirstSeen      time.Time  `json:"first_seen"`
	LastSeen       time.Time  `json:"last_seen"`
	SLADue         *time.Time `json:"sla_due" doc:"The earliest deadline: highest severity from the earliest sighting, capped by the KEV due date."`
	Overdue        int        `json:"overdue" doc:"Open occurrences past their deadline."`
	BusinessTier   int        `json:"business_tier" doc:"The tightest business tier (1-5) of its occurrences' assets; 0: no business impact analysis names them."`
}

// KEVState is a vulnerability's standing in CISA KEV.
type KEVState struct {
	State          string `json:"state" enum:"never_enriched,not_in_kev,in_kev" doc:"never_enriched: no KEV catalog has been checked for it yet."`
	DateAdded      string `json:"date_added,omitempty"`
	DueDate        string `json:"due_date,omitempty"`
	Ransomware     bool   `json:"known_ransomware_use"`
	RequiredAction string `json:"required_action,omitempty"`
	Vendor         string `json:"vendor,omitempty"`
	Product        string `json:"product,omitempty"`
	Name           string `json:"name,omitempty"`
}

// AssetSummary is one asset and the vulnerabilities it carries.
type AssetSummary struct {
	Asset           string    `json:"asset"`
	Exposure        string    `json:"exposure" enum:"network,cloud,package"`
	Vulnerabilities int       `json:"vulnerabilities"`
	Occurrences     int       `json:"occurrences"`
	InKEV           int       `json:"in_kev" doc:"Distinct KEV vulnerabilities on the asset."`
	Severity        string    `json:"severity"`
	RiskScore       float64   `json:"risk_score"`
	Priority        string    `json:"priority" enum:"P1,P2,P3,P4"`
	Overdue         int       `json:"overdue"`
	LastSeen        time.Time `json:"last_seen"`
	BusinessTier    int       `json:"business_tier" doc:"The tightest tier (1-5) of the business impact analyses that depend on the asset; 0: none."`
}

// VulnerabilityList is one page.
type VulnerabilityList struct {
	GroupBy         string                 `json:"group_by" enum:"vulnerability,asset"`
	Total           int                    `json:"total"`
	Vulnerabilities []VulnerabilitySummary `json:"vulnerabilities,omitempty"`
	Assets          []AssetSummary         `json:"assets,omitempty"`
	SLA             SLAPolicy              `json:"sla"`
}

// filter is the WHERE clause shared by both groupings, and which joined
// tables its conditions read.
type filter struct {
	db.Where
	catalog bool // a condition reads the catalog (c)
	scores  bool // a condition reads the scores (s)
}

func (f *filter) add(cond string, args ...any) {
	f.catalog = f.catalog || strings.Contains(cond, "c.")
	f.Add(cond, args...)
}

func (f *filter) in(column string, values []string) {
	f.scores = f.scores || (len(values) > 0 && strings.HasPrefix(column, "s."))
	f.In(column, values)
}

func (p *ListParams) filter(sla SLAPolicy, now time.Time) (*filter, error) {
	f := &filter{}
	f.add("o.team_id = %s", p.TeamID)
	status := p.Status
	if len(status) == 0 {
		status = []string{"open"}
	}
	for _, s := range status {
		if s != StatusOpen && s != StatusFixed && s != StatusAccepted && s != StatusNotAffected && s != StatusWillNotFix {
			return nil, fmt.Errorf("unknown status %q", s)
		}
	}
	f.in("o.status", status)
	var sevs []string
	for _, s := range p.Severity {
		sev, ok := ocsf.SeverityFromKey(s)
		if !ok {
			return nil, fmt.Errorf("unknown severity %q", s)
		}
		sevs = append(sevs, fmt.Sprint(int(sev)))
	}
	if len(sevs) > 0 {
		f.Conds = append(f.Conds, "o.severity IN ("+strings.Join(sevs, ",")+")") // integers from a fixed set
	}
	for _, pr := range p.Priority {
		if pr != "P1" && pr != "P2" && pr != "P3" && pr != "P4" {
			return nil, fmt.Errorf("unknown priority %q", pr)
		}
	}
	f.in("s.priority", p.Priority)
	if p.InKEV != nil {
		f.add("c.in_kev = %s", *p.InKEV)
	}
	if p.Ransomware {
		f.Conds, f.catalog = append(f.Conds, "c.kev_ransomware = 'Known'"), true
	}
	if p.EPSSMin > 0 {
		f.add("c.epss_score >= %s", p.EPSSMin)
	}
	if p.FixAvailable != nil {
		if *p.FixAvailable {
			f.Conds = append(f.Conds, "o.fixed_version <> ''")
		} else {
			f.Conds = append(f.Conds, "o.fixed_version = ''")
		}
	}
	if p.Overdue {
		cond, args := sla.overdueWhere(now, len(f.Args)+1)
		f.Conds, f.catalog = append(f.Conds, cond), true
		f.Args = append(f.Args, args...)
	}
	if len(p.BusinessTier) > 0 {
		var set []string
		for _, t := range p.BusinessTier {
			if !tiers.Valid(t) {
				return nil, fmt.Errorf("unknown business tier %d: want 1 to 5", t)
			}
			set = append(set, fmt.Sprint(t))
		}
		f.Conds = append(f.Conds, "o.business_tier IN ("+strings.Join(set, ",")+")") // integers from a fixed set
	}
	if t := strings.TrimSpace(p.Text); t != "" {
		like := "%" + strings.ToLower(t) + "%"
		f.add("(LOWER(c.id) LIKE %s OR LOWER(c.title) LIKE %s OR LOWER(o.asset) LIKE %s OR LOWER(o.component) LIKE %s"+
			" OR c.id IN (SELECT vuln_id FROM vuln_aliases WHERE LOWER(alias) LIKE %s))", like, like, like, like, like)
	}
	return f, nil
}

// List returns one page of the team's vulnerabilities, grouped by
// vulnerability or by asset, riskiest first.
func (s *Service) List(ctx context.Context, p ListParams) (VulnerabilityList, error) {
	res := VulnerabilityList{GroupBy: p.GroupBy}
	if res.GroupBy == "" {
		res.GroupBy = "vulnerability"
	}
	if res.GroupBy != "vulnerability" && res.GroupBy != "asset" {
		return res, fmt.Errorf("unknown grouping %q", p.GroupBy)
	}
	if p.Limit <= 0 || p.Limit > 500 {
		p.Limit = 50
	}
	if p.Sort != "" && p.Sort != "risk" && p.Sort != "business_tier" {
		return res, fmt.Errorf("unknown sort %q: want risk or business_tier", p.Sort)
	}
	sla, err := s.SLAPolicyGet(ctx, p.TeamID)
	if err != nil {
		return res, err
	}
	res.SLA = sla
	// A minute's precision for deadlines lets a cached total serve a minute.
	now := s.now().UTC().Truncate(time.Minute)
	f, err := p.filter(sla, now)
	if err != nil {
		return res, err
	}
	err = s.d.ReadInTeam(ctx, p.TeamID, func(q db.Querier) error {
		key := "o.vuln_id"
		if res.GroupBy == "asset" {
			key = "o.asset"
		}
		// The total needs the catalog only when a filter reads it.
		countFrom := ` FROM vuln_occurrences AS o`
		if f.scores {
			countFrom += ` JOIN vuln_occurrence_scores AS s ON s.occurrence_id = o.id`
		}
		if f.catalog {
			countFrom += ` JOIN vuln_catalog AS c ON c.id = o.vuln_id`
		}
		countFrom += ` WHERE ` + f.SQL()
		countQuery := "SELECT COUNT(DISTINCT " + key + ")" + countFrom
		version, err := dataVersions.Of(ctx, q, p.TeamID)
		if err != nil {
			return err
		}
		res.Total, err = s.totals.Get(listcache.Key(p.TeamID, version, countQuery, f.Args), func() (int, error) {
			var n int
			err := q.QueryRowContext(ctx, countQuery, f.Args...).Scan(&n)
			return n, err
		})
		if err != nil {
			return err
		}
		order := "MAX(s.risk_score) DESC, " + key
		var keys []string
		if p.Sort == "business_tier" {
			// No window of scores gives this order: the groups are ranked
			// in the database, every match (a narrower filter is faster).
			order = businessTierRank + ", " + order
			keys, err = db.QueryStrings(ctx, q, fmt.Sprintf("SELECT %s %s GROUP BY %s ORDER BY %s LIMIT %d OFFSET %d", key,
				occurrencesFrom+f.SQL(), key, order, p.Limit, max(p.Offset, 0)), f.Args...)
		} else {
			keys, err = pageKeys(ctx, q, key, f.SQL(), f.Args, max(p.Offset, 0), p.Limit, s.firstWindow)
		}
		if err != nil || len(keys) == 0 {
			return err
		}
		// Aggregate only the page's groups.
		pf := &filter{Where: *f.Clone()}
		start := len(pf.Args) + 1
		pf.in(key, keys)
		if res.GroupBy == "vulnerability" {
			// The same list on the catalog's key: PostgreSQL does not carry an
			// IN list across a join, and scanned the whole catalog without it.
			pf.Conds = append(pf.Conds, "c.id IN ("+db.InList(len(keys), start)+")")
		}
		overdue, overdueArgs := sla.overdueWhere(now, len(pf.Args)+1)
		from := occurrencesFrom + pf.SQL()
		args := append(pf.Args, overdueArgs...)
		if res.GroupBy == "asset" {
			return s.listAssets(ctx, q, &res, `SELECT o.asset, MIN(o.exposure), COUNT(DISTINCT o.vuln_id), COUNT(*),
				COUNT(DISTINCT CASE WHEN c.in_kev THEN o.vuln_id END), MAX(o.severity), MAX(s.risk_score), MIN(s.priority),
				SUM(CASE WHEN `+overdue+` THEN 1 ELSE 0 END), MAX(o.last_seen), `+businessTierRank+from+
				` GROUP BY o.asset ORDER BY `+order, args)
		}
		return s.listVulns(ctx, q, &res, `SELECT c.id, MAX(c.title), MAX(o.severity), MAX(c.cvss_score), MAX(c.epss_score), MAX(c.epss_percentile),
			MAX(c.kev_due_date), COUNT(DISTINCT o.asset), COUNT(*), SUM(CASE WHEN o.fixed_version <> '' THEN 1 ELSE 0 END), MAX(s.risk_score),
			MIN(s.priority), MIN(o.first_seen), MAX(o.last_seen), SUM(CASE WHEN `+overdue+` THEN 1 ELSE 0 END), `+businessTierRank+from+
			` GROUP BY c.id ORDER BY `+strings.Replace(order, "o.vuln_id", "c.id", 1), args)
	})
	return res, err
}

// pageKeys returns the groups (vulnerability or asset keys) of one page,
// ordered by their highest risk score, ties by key, without aggregating
// every group. It reads a window of the team's riskiest scores from their
// (team_id, risk_score) index, joins and filters only that window, and
// keeps each group's first (highest) score. The page is known once it has
// offset+limit groups and the window reaches below the last one's score
// (so no tie is cut off), or the window holds every score; otherwise the
// window grows tenfold. The window is materialized so that no planner
// starts from a filter instead (PostgreSQL did, from in_kev: 9 s).
func pageKeys(ctx context.Context, q db.Querier, key, where string, args []any, offset, limit, firstWindow int) ([]string, error) {
	type group struct {
		key  string
		risk float64
	}
	need := offset + limit
	for window := firstWindow; ; window *= 10 {
		var (
			groups  []group
			read    int
			lowest  float64
			matched bool
		)
		err := func() error {
			rows, err := q.QueryContext(ctx, fmt.Sprintf(`WITH w AS MATERIALIZED (SELECT occurrence_id, risk_score FROM vuln_occurrence_scores
				WHERE team_id = $1 ORDER BY risk_score DESC LIMIT %d)
				SELECT %s, w.risk_score, (SELECT COUNT(*) FROM w), (SELECT MIN(risk_score) FROM w)
				FROM w JOIN vuln_occurrences AS o ON o.id = w.occurrence_id JOIN vuln_catalog AS c ON c.id = o.vuln_id
				WHERE %s ORDER BY w.risk_score DESC`, window, key, where), args...)
			if err != nil {
				return err
			}
			defer rows.Close()
			seen := map[string]bool{}
			for rows.Next() {
				var g group
				if err := rows.Scan(&g.key, &g.risk, &read, &lowest); err != nil {
					return err
				}
				matched = true
				if !seen[g.key] {
					seen[g.key] = true
					groups = append(groups, g)
				}
			}
			return rows.Err()
		}()
		if err != nil {
			return nil, err
		}
		exhausted := matched && read < window
		if !matched {
			// No row of the window matched: learn whether it was the whole store.
			var n int
			if err := q.QueryRowContext(ctx, fmt.Sprintf(`SELECT COUNT(*) FROM (SELECT 1 FROM vuln_occurrence_scores WHERE team_id = $1 LIMIT %d) AS w`,
				window), args[0]).Scan(&n); err != nil {
				return nil, err
			}
			exhausted = n < window
		}
		if exhausted || (len(groups) >= need && groups[need-1].risk > lowest) {
			sort.SliceStable(groups, func(i, j int) bool {
				if groups[i].risk != groups[j].risk {
					return groups[i].risk > groups[j].risk
				}
				return groups[i].key < groups[j].key
			})
			var out []string
			for i := offset; i < min(need, len(groups)); i++ {
				out = append(out, groups[i].key)
			}
			return out, nil
		}
	}
}

func (s *Service) listVulns(ctx context.Context, q db.Querier, res *VulnerabilityList, query string, args []any) error {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	res.Vulnerabilities = []VulnerabilitySummary{}
	var ids []string
	for rows.Next() {
		var (
			v       VulnerabilitySummary
			sev     int
			kevDue  string
			first   db.Time
			last    db.Time
			overdue sql.NullInt64
		)
		if err := rows.Scan(&v.ID, &v.Title, &sev, &v.CVSSScore, &v.EPSSScore, &v.EPSSPercentile, &kevDue, &v.Assets, &v.Occurrences,
			&v.FixAvailable, &v.RiskScore, &v.Priority, &first, &last, &overdue, &v.BusinessTier); err != nil {
			return err
		}
		v.BusinessTier = tierOfRank(v.BusinessTier)
		v.Severity, v.FirstSeen, v.LastSeen, v.Overdue = ocsf.Severity(sev).Key(), first.Time, last.Time, int(overdue.Int64)
		v.SLADue = res.SLA.DueAt(ocsf.Severity(sev), v.FirstSeen, kevDue)
		res.Vulnerabilities = append(res.Vulnerabilities, v)
		ids = append(ids, v.ID)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	rows.Close()
	states, err := kevStates(ctx, q, ids)
	if err != nil {
		return err
	}
	for i := range res.Vulnerabilities {
		res.Vulnerabilities[i].KEV = states[res.Vulnerabilities[i].ID]
	}
	return nil
}

// kevStates reads the KEV fields of the given catalog entries.
func kevStates(ctx context.Context, q db.Querier, ids []string) (map[string]KEVState, error) {
	out := map[string]KEVState{}
	err := chunks(ids, func(part []string) error {
		rows, err := q.QueryContext(ctx, `SELECT id, in_kev, kev_enriched_at IS NOT NULL, kev_date_added, kev_due_date, kev_ransomware,
			kev_required_action, kev_vendor, kev_product, kev_name FROM vuln_catalog WHERE id IN (`+db.InList(len(part), 1)+`)`, stringArgs(nil, part)...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var (
				id             string
				inKEV, checked bool
				k              KEVState
				ransomware     string
			)
			if err := rows.Scan(&id, &inKEV, &checked, &k.DateAdded, &k.DueDate, &ransomware, &k.RequiredAction, &k.Vendor, &k.Product, &k.Name); err != nil {
				return err
			}
			switch {
			case inKEV:
				k.State = "in_kev"
			case checked:
				k.State = "not_in_kev"
			default:
				k.State = "never_enriched"
			}
			k.Ransomware = ransomware == "Known"
			out[id] = k
		}
		return rows.Err()
	})
	return out, err
}

func (s *Service) listAssets(ctx context.Context, q db.Querier, res *VulnerabilityList, query string, args []any) error {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	res.Assets = []AssetSummary{}
	for rows.Next() {
		var (
			a       AssetSummary
			sev     int
			last    db.Time
			overdue sql.NullInt64
		)
		if err := rows.Scan(&a.Asset, &a.Exposure, &a.Vulnerabilities, &a.Occurrences, &a.InKEV, &sev, &a.RiskScore, &a.Priority,
			&overdue, &last, &a.BusinessTier); err != nil {
			return err
		}
		a.BusinessTier = tierOfRank(a.BusinessTier)
		a.Severity, a.LastSeen, a.Overdue = ocsf.Severity(sev).Key(), last.Time, int(overdue.Int64)
		res.Assets = append(res.Assets, a)
	}
	return rows.Err()
}

// Occurrence is one team's occurrence of a vulnerability.
type Occurrence struct {
	ID             int64      `json:"id"`
	VulnID         string     `json:"vuln_id"`
	Asset          string     `json:"asset"`
	Exposure       string     `json:"exposure"`
	Component      string     `json:"component"`
	Location       string     `json:"location"`
	Version        string     `json:"version"`
	FixedVersion   string     `json:"fixed_version"`
	FixAvailable   bool       `json:"fix_available"`
	Status         string     `json:"status" enum:"open,fixed,accepted,not_affected,will_not_fix"`
	Severity       string     `json:"severity"`
	RiskScore      float64    `json:"risk_score"`
	Priority       string     `json:"priority"`
	SourceTool     string     `json:"source_tool"`
	LastScanID     string     `json:"last_scan_id"`
	FirstSeen      time.Time  `json:"first_seen"`
	LastSeen       time.Time  `json:"last_seen"`
	FixedAt        *time.Time `json:"fixed_at"`
	SLADue         *time.Time `json:"sla_due"`
	Overdue        bool       `json:"overdue"`
	AcceptedReason string     `json:"accepted_reason,omitempty"`
	AcceptedBy     string     `json:"accepted_by,omitempty"`
	AcceptedUntil  *time.Time `json:"accepted_until,omitempty"`
	BusinessTier   int        `json:"business_tier" doc:"The tightest tier (1-5) of the business impact analyses that depend on its asset; 0: none. Tiers 1 and 2 raise its priority one level."`
}

// businessTierRank is a group's tightest business tier, 6 for none (so
// that an ascending order puts the unnamed last); tierOfRank reads it back.
const businessTierRank = `MIN(CASE WHEN o.business_tier > 0 THEN o.business_tier ELSE 6 END)`

func tierOfRank(r int) int {
	if r > 5 {
		return 0
	}
	return r
}

// occurrencesFrom joins occurrences (o) with their scores (s) and catalog
// entries (c); a WHERE condition follows.
const occurrencesFrom = ` FROM vuln_occurrences AS o JOIN vuln_occurrence_scores AS s ON s.occurrence_id = o.id
	JOIN vuln_catalog AS c ON c.id = o.vuln_id WHERE `

const occurrenceColumns = `o.id, o.vuln_id, o.asset, o.exposure, o.component, o.location, o.version, o.fixed_version, o.status, o.severity,
	s.risk_score, s.priority, o.source_tool, o.last_scan_id, o.first_seen, o.last_seen, o.fixed_at, o.accepted_reason, o.accepted_by,
	o.accepted_until, c.kev_due_date, o.business_tier`

func scanOccurrence(rows interface{ Scan(...any) error }, sla SLAPolicy, now time.Time) (Occurrence, error) {
	var (
		o             Occurrence
		sev           int
		first, last   db.Time
		fixedAt, till db.NullTime
		kevDue        string
	)
	if err := rows.Scan(&o.ID, &o.VulnID, &o.Asset, &o.Exposure, &o.Component, &o.Location, &o.Version, &o.FixedVersion, &o.Status, &sev,
		&o.RiskScore, &o.Priority, &o.SourceTool, &o.LastScanID, &first, &last, &fixedAt, &o.AcceptedReason, &o.AcceptedBy, &till, &kevDue, &o.BusinessTier); err != nil {
		return o, err
	}
	o.Severity, o.FixAvailable, o.FirstSeen, o.LastSeen = ocsf.Severity(sev).Key(), o.FixedVersion != "", first.Time, last.Time
	o.FixedAt, o.AcceptedUntil = fixedAt.Ptr(), till.Ptr()
	o.SLADue = sla.DueAt(ocsf.Severity(sev), o.FirstSeen, kevDue)
	o.Overdue = o.Status == "open" && o.SLADue != nil && o.SLADue.Before(now)
	return o, nil
}

// OccurrenceList returns the team's occurrences, optionally of one status.
func (s *Service) OccurrenceList(ctx context.Context, teamID, status string) ([]Occurrence, error) {
	return s.occurrences(ctx, teamID, "", status)
}

func (s *Service) occurrences(ctx context.Context, teamID, vulnID, status string) ([]Occurrence, error) {
	sla, err := s.SLAPolicyGet(ctx, teamID)
	if err != nil {
		return nil, err
	}
	now := s.now().UTC()
	out := []Occurrence{}
	err = s.d.ReadInTeam(ctx, teamID, func(q db.Querier) error {
		f := &filter{}
		f.add("o.team_id = %s", teamID)
		if vulnID != "" {
			f.add("o.vuln_id = %s", vulnID)
		}
		if status != "" {
			f.add("o.status = %s", status)
		}
		rows, err := q.QueryContext(ctx, `SELECT `+occurrenceColumns+occurrencesFrom+f.SQL()+
			` ORDER BY s.risk_score DESC, o.severity DESC, o.vuln_id, o.asset, o.id`, f.Args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			o, err := scanOccurrence(rows, sla, now)
			if err != nil {
				return err
			}
			out = append(out, o)
		}
		return rows.Err()
	})
	return out, err
}

// VulnerabilityDetail is one catalog entry and the team's occurrences of it.
type VulnerabilityDetail struct {
	ID             string       `json:"id"`
	Aliases        []string     `json:"aliases" doc:"Its other IDs (a GHSA of a CVE), which lead here."`
	Title          string       `json:"title"`
	Description    string       `json:"description"`
	Severity       string       `json:"severity"`
	CVSSVersion    string       `json:"cvss_version"`
	CVSSVector     string       `json:"cvss_vector"`
	CVSSScore      *float64     `json:"cvss_score"`
	CWEs           []string     `json:"cwes"`
	References     []string     `json:"references"`
	EPSSScore      *float64     `json:"epss_score"`
	EPSSPercentile *float64     `json:"epss_percentile"`
	EPSSDate       string       `json:"epss_date"`
	EPSSEnrichedAt *time.Time   `json:"epss_enriched_at"`
	KEV            KEVState     `json:"kev"`
	KEVEnrichedAt  *time.Time   `json:"kev_enriched_at"`
	FirstSeen      time.Time    `json:"first_seen"`
	Occurrences    []Occurrence `json:"occurrences"`
	// Tickets are the vulnerability's tickets in the team's ticket systems.
	Tickets []TicketRef `json:"tickets,omitempty"`
}

// TicketRef is a ticket of a vulnerability (internal/notify keeps them).
type TicketRef struct {
	Key             string `json:"key"`
	URL             string `json:"url"`
	State           string `json:"state" enum:"open,done"`
	StatusName      string `json:"status_name"`
	IntegrationKind string `json:"integration_kind" enum:"jira,github"`
}

// Get returns a vulnerability the team has occurrences of; ErrNotFound
// otherwise, so that the catalog does not tell a team what others have.
func (s *Service) Get(ctx context.Context, teamID, id string) (VulnerabilityDetail, error) {
	id = NormalizeID(id)
	// An alias (a GHSA of a CVE) opens the vulnerability it names.
	if err := s.d.ReadInTeam(ctx, teamID, func(q db.Querier) error {
		var canonical string
		err := q.QueryRowContext(ctx, "SELECT vuln_id FROM vuln_aliases WHERE alias = $1", id).Scan(&canonical)
		if err == nil {
			id = canonical
		}
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		return err
	}); err != nil {
		return VulnerabilityDetail{}, err
	}
	occ, err := s.occurrences(ctx, teamID, id, "")
	if err != nil {
		return VulnerabilityDetail{}, err
	}
	if len(occ) == 0 {
		return VulnerabilityDetail{}, db.ErrNotFound
	}
	d := VulnerabilityDetail{ID: id, Aliases: []string{}, Occurrences: occ}
	err = s.d.ReadInTeam(ctx, teamID, func(q db.Querier) error {
		var (
			sev           int
			cwes, refs    string
			first         db.Time
			epssAt, kevAt db.NullTime
		)
		if err := q.QueryRowContext(ctx, `SELECT title, description, severity, cvss_version, cvss_vector, cvss_score, cwes, refs,
			epss_score, epss_percentile, epss_date, epss_enriched_at, kev_enriched_at, first_seen FROM vuln_catalog WHERE id = $1`, id).Scan(
			&d.Title, &d.Description, &sev, &d.CVSSVersion, &d.CVSSVector, &d.CVSSScore, &cwes, &refs, &d.EPSSScore, &d.EPSSPercentile,
			&d.EPSSDate, &epssAt, &kevAt, &first); err != nil {
			return db.MapError(err)
		}
		d.Severity, d.CWEs, d.References, d.FirstSeen = ocsf.Severity(sev).Key(), strings.Fields(cwes), splitLines(refs), first.Time
		d.EPSSEnrichedAt, d.KEVEnrichedAt = epssAt.Ptr(), kevAt.Ptr()
		aliases, err := db.QueryStrings(ctx, q, "SELECT alias FROM vuln_aliases WHERE vuln_id = $1 ORDER BY alias", id)
		if err != nil {
			return err
		}
		d.Aliases = append(d.Aliases, aliases...)
		states, err := kevStates(ctx, q, []string{id})
		d.KEV = states[id]
		return err
	})
	return d, err
}

func splitLines(s string) []string {
	out := []string{}
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// StatusChange accepts the risk of an occurrence (optionally until a
// date) or opens it again.
type StatusChange struct {
	Status string     `json:"status" enum:"accepted,open"`
	Reason string     `json:"reason,omitempty" maxLength:"1000"`
	Until  *time.Time `json:"until,omitempty" doc:"When an acceptance lapses and the occurrence is open again."`
}

// ErrReasonRequired is returned for an acceptance without a reason.
var ErrReasonRequired = errors.New("accepting a risk needs a reason")

// OccurrenceSetStatus changes one occurrence of the team's and audits it.
func (s *Service) OccurrenceSetStatus(ctx context.Context, teamID string, id int64, ch StatusChange, actor audit.Event) (Occurrence, error) {
	now := s.now().UTC()
	switch ch.Status {
	case "accepted":
		if strings.TrimSpace(ch.Reason) == "" {
			return Occurrence{}, ErrReasonRequired
		}
		if ch.Until != nil && !ch.Until.After(now) {
			return Occurrence{}, errors.New("until must be in the future")
		}
	case "open":
		ch.Reason, ch.Until = "", nil
	default:
		return Occurrence{}, fmt.Errorf("unknown status %q", ch.Status)
	}
	var prev string
	err := s.d.InTeam(ctx, teamID, func(q db.Querier) error {
		if err := q.QueryRowContext(ctx, `SELECT status FROM vuln_occurrences WHERE team_id = $1 AND id = $2`, teamID, id).Scan(&prev); err != nil {
			return db.MapError(err)
		}
		if prev == "fixed" {
			return errors.New("a fixed occurrence cannot change status")
		}
		var until any
		if ch.Until != nil {
			until = ch.Until.UTC()
		}
		_, err := q.ExecContext(ctx, `UPDATE vuln_occurrences SET status = $1, accepted_reason = $2, accepted_by = $3, accepted_until = $4
			WHERE team_id = $5 AND id = $6`, ch.Status, ch.Reason, actorEmail(ch.Status, actor), until, teamID, id)
		if err != nil {
			return err
		}
		return dataVersions.Bump(ctx, q, teamID)
	})
	if err != nil {
		return Occurrence{}, err
	}
	actor.TeamID = teamID
	if s.StatusChanged != nil {
		s.StatusChanged(ctx, teamID)
	}
	s.record(ctx, actor, "vulnerability.status_changed", "vuln_occurrence", fmt.Sprint(id), nil, func() map[string]any {
		return map[string]any{"from": prev, "to": ch.Status, "reason": ch.Reason}
	})
	occ, err := s.occurrenceByID(ctx, teamID, id)
	return occ, err
}

func actorEmail(status string, actor audit.Event) string {
	if status != "accepted" {
		return ""
	}
	return actor.ActorEmail
}

func (s *Service) occurrenceByID(ctx context.Context, teamID string, id int64) (Occurrence, error) {
	sla, err := s.SLAPolicyGet(ctx, teamID)
	if err != nil {
		return Occurrence{}, err
	}
	var o Occurrence
	err = s.d.ReadInTeam(ctx, teamID, func(q db.Querier) error {
		row := q.QueryRowContext(ctx, `SELECT `+occurrenceColumns+occurrencesFrom+`o.team_id = $1 AND o.id = $2`, teamID, id)
		var err error
		o, err = scanOccurrence(row, sla, s.now().UTC())
		return db.MapError(err)
	})
	return o, err
}

// ExpireAcceptances opens again every acceptance whose date has passed.
func (s *Service) ExpireAcceptances(ctx context.Context) (int, error) {
	var n int64
	err := s.d.AsSystem(ctx, func(q db.Querier) error {
		r, err := q.ExecContext(ctx, `UPDATE vuln_occurrences SET status = 'open', accepted_reason = '', accepted_by = '', accepted_until = NULL
			WHERE status = 'accepted' AND accepted_until IS NOT NULL AND accepted_until < $1`, s.now().UTC())
		if err != nil {
			return err
		}
		if n, err = r.RowsAffected(); err != nil || n == 0 {
			return err
		}
		return dataVersions.Bump(ctx, q, listcache.AllTeams)
	})
	return int(n), err
}
