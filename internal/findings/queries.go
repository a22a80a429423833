package findings

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/offloadsecurity/cspm/internal/db"
	"github.com/offloadsecurity/cspm/internal/listcache"
	"github.com/offloadsecurity/cspm/internal/ocsf"
	"github.com/offloadsecurity/cspm/internal/tiers"
)

// Finding is a stored finding as the API shows it.
type Finding struct {
	ID           int64      `json:"id"`
	Fingerprint  string     `json:"fingerprint"`
	Tool         string     `json:"tool"`
	ClassUID     int        `json:"class_uid"`
	CheckID      string     `json:"check_id"`
	Title        string     `json:"title"`
	Severity     string     `json:"severity" enum:"critical,high,medium,low,informational,unknown,fatal,other"`
	Result       string     `json:"result" enum:"fail,pass,manual"`
	Status       string     `json:"status" enum:"open,resolved,reopened,muted,false_positive,out_of_scope"`
	Provider     string     `json:"provider"`
	AccountUID   string     `json:"account_uid"`
	Region       string     `json:"region"`
	Service      string     `json:"service"`
	ResourceUID  string     `json:"resource_uid"`
	ResourceName string     `json:"resource_name"`
	ResourceType string     `json:"resource_type"`
	ResourceTags []string   `json:"resource_tags" doc:"The resource's tags, key=value or key, lowercased."`
	Target       string     `json:"target"`
	Location     string     `json:"location"`
	Component    string     `json:"component"`
	Version      string     `json:"version"`
	FixedVersion string     `json:"fixed_version"`
	VulnIDs      []string   `json:"vuln_ids"`
	Description  string     `json:"description"`
	Remediation  string     `json:"remediation"`
	FirstSeen    time.Time  `json:"first_seen"`
	LastSeen     time.Time  `json:"last_seen"`
	ResolvedAt   *time.Time `json:"resolved_at,omitempty"`
	FirstScanID  string     `json:"first_scan_id"`
	LastScanID   string     `json:"last_scan_id"`
	// How a muted finding was muted: by a person, as an accepted risk, or by
	// a rule; why, by whom and until when. Empty for a finding not muted.
	MuteKind    string     `json:"mute_kind,omitempty" enum:"mute,risk_accepted,rule,tool"`
	MuteRuleID  string     `json:"mute_rule_id,omitempty"`
	MutedReason string     `json:"muted_reason,omitempty"`
	MutedBy     string     `json:"muted_by,omitempty"`
	MutedUntil  *time.Time `json:"muted_until,omitempty"`
	// Triage: who the finding is assigned to (a user of the team), and for
	// a false positive or out-of-scope finding, why, by whom and when.
	AssigneeID    string     `json:"assignee_id,omitempty"`
	AssigneeEmail string     `json:"assignee_email,omitempty"`
	TriageReason  string     `json:"triage_reason,omitempty"`
	TriagedBy     string     `json:"triaged_by,omitempty"`
	TriagedAt     *time.Time `json:"triaged_at,omitempty"`
	RiskPending   bool       `json:"risk_pending,omitempty" doc:"A risk acceptance of it waits for an approver."`
	// BusinessTier is the tightest tier (1 mission critical ... 5) of the
	// business impact analyses that depend on its resource; 0 for none.
	BusinessTier int `json:"business_tier" minimum:"0" maximum:"5" doc:"Tightest criticality tier (1-5) of the business processes depending on its resource (account, resource UID, target or tag); 0: none."`
	// Tickets are its tickets in the team's ticket systems (the API fills
	// them; stores never do).
	Tickets []FindingTicket `json:"tickets,omitempty"`
}

// HistoryEntry is one change of a finding.
type HistoryEntry struct {
	ScanID     string    `json:"scan_id"`
	At         time.Time `json:"at"`
	Change     string    `json:"change" enum:"new,changed,reopened,resolved,muted,unmuted,triaged,assigned,commented,risk_requested,risk_approved,risk_rejected"`
	FromStatus string    `json:"from_status"`
	ToStatus   string    `json:"to_status"`
	Actor      string    `json:"actor,omitempty" doc:"Who made the change; empty for a scan's."`
	Note       string    `json:"note,omitempty" doc:"A reason, an assignee, a comment's first line."`
}

// Detail is a finding with its history and its OCSF JSON.
type Detail struct {
	Finding
	History         []HistoryEntry   `json:"history"`
	Comments        []Comment        `json:"comments"`
	RiskAcceptances []RiskAcceptance `json:"risk_acceptances" doc:"Newest first."`
	Raw             json.RawMessage  `json:"raw_ocsf"`
}

const selectColumns = `id, fingerprint, tool, class_uid, check_id, title, severity, result, status, provider, account_uid,
	region, service, resource_uid, resource_name, resource_type, target, location, component, version, fixed_version,
	vuln_ids, description, ` + remediationText + `, first_seen, ` + seenLastSeen + `, resolved_at, first_scan_id, ` + seenLastScan + `, resource_tags,
	mute_kind, mute_rule_id, muted_reason, muted_by, muted_until, assignee_id, assignee_email, triage_reason, triaged_by, triaged_at,
	` + riskPending + `, business_tier`

// riskPending reads per row, by index, whether a risk acceptance of the
// finding waits for approval (a few per team at most).
const riskPending = `EXISTS (SELECT 1 FROM risk_acceptances ra WHERE ra.team_id = findings.team_id AND ra.state = 'pending' AND ra.finding_id = findings.id)`

// A finding's remediation is kept once per team (see storeRemediations);
// lists read it per row by primary key.
const remediationText = `COALESCE((SELECT r.remediation FROM finding_remediations r WHERE r.id = findings.remediation_id), '')`

// A finding's last sighting: written out in finding_seen when the latest
// import of its scope did not report it (or reported it under another
// scope), else that import's, which scope_latest names: a re-import writes
// nothing for the findings it finds unchanged, and a new finding no row.
// Lists read both per row by primary key. A finding is never without both
// (the importer writes the scopes it covered in the same transaction);
// first_seen only keeps the expression total.
const (
	seenLastSeen = `COALESCE((SELECT fs.last_seen FROM finding_seen fs WHERE fs.finding_id = findings.id),
		(SELECT sl.seen_at FROM scope_latest sl WHERE sl.team_id = findings.team_id AND sl.scope_key = findings.scope_key), first_seen)`
	seenLastScan = `COALESCE((SELECT fs.last_scan_id FROM finding_seen fs WHERE fs.finding_id = findings.id),
		(SELECT sl.scan_id FROM scope_latest sl WHERE sl.team_id = findings.team_id AND sl.scope_key = findings.scope_key), first_scan_id)`
)

func scanFinding(row interface{ Scan(...any) error }) (Finding, error) {
	var (
		f          Finding
		sev        int
		vulns      string
		tags       string
		resolved   sql.NullTime
		lastSeen   db.Time // an expression: SQLite returns it as text
		mutedUntil sql.NullTime
		triagedAt  sql.NullTime
	)
	err := row.Scan(&f.ID, &f.Fingerprint, &f.Tool, &f.ClassUID, &f.CheckID, &f.Title, &sev, &f.Result, &f.Status, &f.Provider,
		&f.AccountUID, &f.Region, &f.Service, &f.ResourceUID, &f.ResourceName, &f.ResourceType, &f.Target, &f.Location,
		&f.Component, &f.Version, &f.FixedVersion, &vulns, &f.Description, &f.Remediation, &f.FirstSeen, &lastSeen,
		&resolved, &f.FirstScanID, &f.LastScanID, &tags, &f.MuteKind, &f.MuteRuleID, &f.MutedReason, &f.MutedBy, &mutedUntil,
		&f.AssigneeID, &f.AssigneeEmail, &f.TriageReason, &f.TriagedBy, &triagedAt, &f.RiskPending, &f.BusinessTier)
	if err != nil {
		return Finding{}, db.MapError(err)
	}
	f.LastSeen = lastSeen.Time
	f.ResourceTags = tagsOf(tags)
	f.Severity = ocsf.Severity(sev).Key()
	f.VulnIDs = []string{}
	if vulns != "" {
		f.VulnIDs = strings.Split(vulns, ",")
	}
	if resolved.Valid {
		f.ResolvedAt = &resolved.Time
	}
	if f.Status != StatusMuted {
		f.MuteKind, f.MuteRuleID, f.MutedReason, f.MutedBy = "", "", "", ""
	} else if mutedUntil.Valid {
		until := mutedUntil.Time.UTC()
		f.MutedUntil = &until
	}
	if f.Status != StatusFalsePositive && f.Status != StatusOutOfScope {
		f.TriageReason, f.TriagedBy = "", ""
	} else if triagedAt.Valid {
		at := triagedAt.Time.UTC()
		f.TriagedAt = &at
	}
	return f, nil
}

// ListParams filters, sorts and pages the findings of one team. Lists
// match any of their values; empty means no filter.
type ListParams struct {
	TeamID   string
	Severity []string
	Status   []string
	Result   []string // fail, pass, manual
	Provider []string
	Tool     []string
	Account  []string
	Region   []string
	Service  []string
	Check    []string
	Resource string // substring of the resource UID or name
	Scan     string // findings reported by this scan (last seen in it)
	Text     string // substring of title, check, resource or location
	// Assignee: user IDs, or "none" for unassigned findings.
	Assignee []string
	// Triage: none (not parked), false_positive, out_of_scope, muted (by a
	// person, a rule or the report), risk_accepted, risk_pending.
	Triage []string
	// NewSincePreviousScan: only findings the latest scan of their scope
	// created (first seen in it).
	NewSincePreviousScan bool
	// BusinessTier: findings whose resource's business tier is one of
	// these (1 to 5; see internal/tiers).
	BusinessTier []int
	Sort         string // severity (default), last_seen, first_seen, title, business_tier
	Desc         *bool  // default: descending for severity and times, ascending for title
	Cursor       string
	Limit        int
	Facets       bool
}

// Facets are counts of the matching findings by field.
type Facets struct {
	Severity map[string]int `json:"severity"`
	Status   map[string]int `json:"status"`
	Tool     map[string]int `json:"tool"`
	Service  map[string]int `json:"service"`
	Account  map[string]int `json:"account"`
	Region   map[string]int `json:"region"`
}

// ListResult is one page.
type ListResult struct {
	Findings   []Finding `json:"findings"`
	Total      int       `json:"total" doc:"Number of findings matching the filters, over all pages."`
	NextCursor string    `json:"next_cursor,omitempty" doc:"Pass as cursor= for the next page."`
	Facets     *Facets   `json:"facets,omitempty"`
}

var sortColumns = map[string]string{"severity": "severity", "last_seen": seenLastSeen, "first_seen": "first_seen", "title": "title",
	"business_tier": businessImpactRank}

// businessImpactRank orders findings by business impact, ascending: the
// tightest tier first, and within a tier the most severe (tier x 10 + 10 -
// severity; findings no analysis names come last, as tier 6; OCSF's 99,
// "other", ranks as unknown, 0). impactRank is the same in Go, for the
// cursor.
const businessImpactRank = `((CASE WHEN business_tier > 0 THEN business_tier ELSE 6 END) * 10 + 10 -
	(CASE WHEN severity BETWEEN 0 AND 6 THEN severity ELSE 0 END))`

func impactRank(tier, severity int) int {
	if tier <= 0 {
		tier = 6
	}
	if severity < 0 || severity > 6 {
		severity = 0
	}
	return tier*10 + 10 - severity
}

// ErrBadCursor means a cursor that this server did not issue.
var ErrBadCursor = fmt.Errorf("invalid cursor")

type cursor struct {
	V  any   `json:"v"`
	ID int64 `json:"id"`
}

func likeArg(s string) string {
	return "%" + strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(strings.ToLower(s)) + "%"
}

func (p *ListParams) filters() (*db.Where, error) {
	w := &db.Where{}
	w.Add("team_id = %s", p.TeamID)
	if len(p.Severity) > 0 {
		set := map[int]bool{}
		for _, s := range p.Severity {
			v, ok := ocsf.SeverityFromKey(s)
			if !ok {
				return nil, fmt.Errorf("unknown severity %q", s)
			}
			set[int(v)] = true
		}
		lo, hi := 1<<30, -1
		for v := range set {
			lo, hi = min(lo, v), max(hi, v)
		}
		if hi-lo+1 == len(set) {
			// A run of consecutive severities (high and critical: 4 to 5) is a
			// range, which an index walks in sort order; an IN list makes
			// PostgreSQL sort every match.
			w.Add("severity BETWEEN %s AND %s", lo, hi)
		} else {
			var sevs []string
			for v := range set {
				sevs = append(sevs, strconv.Itoa(v))
			}
			sort.Strings(sevs)
			w.In("severity", sevs)
		}
	}
	w.In("status", p.Status)
	for _, r := range p.Result {
		if r != "fail" && r != "pass" && r != "manual" {
			return nil, fmt.Errorf("unknown result %q: want fail, pass or manual", r)
		}
	}
	w.In("result", p.Result)
	w.In("provider", p.Provider)
	if err := p.triageFilters(w); err != nil {
		return nil, err
	}
	if len(p.BusinessTier) > 0 {
		set := make([]string, 0, len(p.BusinessTier))
		for _, t := range p.BusinessTier {
			if !tiers.Valid(t) {
				return nil, fmt.Errorf("unknown business tier %d: want 1 to 5", t)
			}
			set = append(set, strconv.Itoa(t))
		}
		// "business_tier > 0" in so many words lets SQLite use the
		// partial index (native_scans 0020).
		w.Add("business_tier > 0")
		w.In("business_tier", set)
	}
	w.In("tool", p.Tool)
	w.In("account_uid", p.Account)
	w.In("region", p.Region)
	w.In("service", p.Service)
	w.In("check_id", p.Check)
	if p.Scan != "" {
		// Last seen by the scan: written out with it, or in the latest
		// import of a scope whose latest import the scan is.
		w.Add(`(id IN (SELECT finding_id FROM finding_seen WHERE team_id = %s AND last_scan_id = %s)
			OR (scope_key IN (SELECT scope_key FROM scope_latest WHERE team_id = %s AND scan_id = %s)
				AND NOT EXISTS (SELECT 1 FROM finding_seen fs WHERE fs.finding_id = findings.id)))`, p.TeamID, p.Scan, p.TeamID, p.Scan)
	}
	if p.Resource != "" {
		a := likeArg(p.Resource)
		w.Add(`(lower(resource_uid) LIKE %s ESCAPE '\' OR lower(resource_name) LIKE %s ESCAPE '\')`, a, a)
	}
	if p.Text != "" {
		a := likeArg(p.Text)
		w.Add(`(lower(title) LIKE %s ESCAPE '\' OR lower(check_id) LIKE %s ESCAPE '\' OR lower(resource_uid) LIKE %s ESCAPE '\' OR lower(location) LIKE %s ESCAPE '\')`, a, a, a, a)
	}
	return w, nil
}

// FindingList returns a page of findings matching p, their total and, when
// asked, facet counts.
func (s *Store) FindingList(ctx context.Context, p ListParams) (ListResult, error) {
	if p.Limit <= 0 || p.Limit > 500 {
		p.Limit = 50
	}
	if p.Sort == "" {
		p.Sort = "severity"
	}
	col, ok := sortColumns[p.Sort]
	if !ok {
		return ListResult{}, fmt.Errorf("unknown sort %q: want severity, last_seen, first_seen, title or business_tier", p.Sort)
	}
	// Severity and times descend by default; the title and business impact
	// (tightest tier, most severe first) ascend.
	desc := p.Sort != "title" && p.Sort != "business_tier"
	if p.Desc != nil {
		desc = *p.Desc
	}
	w, err := p.filters()
	if err != nil {
		return ListResult{}, err
	}
	base := w.SQL()
	res := ListResult{Findings: []Finding{}}
	err = s.d.ReadInTeam(ctx, p.TeamID, func(q db.Querier) error {
		// Totals and facets are a pass over every match: cached under the
		// team's data version, which every write to its findings bumps.
		version, err := dataVersions.Of(ctx, q, p.TeamID)
		if err != nil {
			return err
		}
		countQuery := "SELECT count(*) FROM findings WHERE " + base
		res.Total, err = s.totals.Get(listcache.Key(p.TeamID, version, countQuery, w.Args), func() (int, error) {
			var n int
			err := q.QueryRowContext(ctx, countQuery, w.Args...).Scan(&n)
			return n, err
		})
		if err != nil {
			return err
		}
		if p.Sort != "severity" && res.Total > s.unindexedSortLimit() {
			return &SortTooBroadError{Sort: p.Sort, Total: res.Total}
		}
		page := w.Clone()
		if p.Cursor != "" {
			c, err := decodeCursor(p.Cursor)
			if err != nil {
				return err
			}
			op := ">"
			if desc {
				op = "<"
			}
			v := c.V
			switch p.Sort {
			case "last_seen", "first_seen":
				t, err := time.Parse(time.RFC3339Nano, fmt.Sprint(v))
				if err != nil {
					return ErrBadCursor
				}
				v = t
			case "severity", "business_tier":
				n, ok := v.(float64)
				if !ok {
					return ErrBadCursor
				}
				v = int(n)
			}
			page.Add(fmt.Sprintf("(%s %s %%s OR (%s = %%s AND id %s %%s))", col, op, col, op), v, v, c.ID)
		}
		dir := "ASC"
		if desc {
			dir = "DESC"
		}
		page.Args = append(page.Args, p.Limit+1)
		order := col
		if s.d.Dialect == db.SQLite && p.parkedOnly() {
			// SQLite walks (team, severity, id) for any filter of several
			// statuses, to skip the sort, and reads every finding of the team
			// to find none muted or triaged out (5.8 s at 1M). Parked findings
			// are few: "+" keeps that index from giving the order, and the
			// status index finds them, then they are sorted.
			order = "+" + col
		}
		rows, err := q.QueryContext(ctx, fmt.Sprintf("SELECT %s FROM findings WHERE %s ORDER BY %s %s, id %s LIMIT $%d",
			selectColumns, page.SQL(), order, dir, dir, len(page.Args)), page.Args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			f, err := scanFinding(rows)
			if err != nil {
				return err
			}
			res.Findings = append(res.Findings, f)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if len(res.Findings) > p.Limit {
			res.Findings = res.Findings[:p.Limit]
			last := res.Findings[p.Limit-1]
			var v any
			switch p.Sort {
			case "severity":
				sev, _ := ocsf.SeverityFromKey(last.Severity)
				v = int(sev)
			case "last_seen":
				v = last.LastSeen.UTC().Format(time.RFC3339Nano)
			case "first_seen":
				v = last.FirstSeen.UTC().Format(time.RFC3339Nano)
			case "title":
				v = last.Title
			case "business_tier":
				sev, _ := ocsf.SeverityFromKey(last.Severity)
				v = impactRank(last.BusinessTier, int(sev))
			}
			res.NextCursor = encodeCursor(cursor{V: v, ID: last.ID})
		}
		if p.Facets {
			res.Facets, err = s.facets.Get(listcache.Key(p.TeamID, version, "facets "+base, w.Args), func() (*Facets, error) {
				return facets(ctx, q, p)
			})
		}
		return err
	})
	return res, err
}

func encodeCursor(c cursor) string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(s string) (cursor, error) {
	var c cursor
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || json.Unmarshal(b, &c) != nil || c.ID <= 0 {
		return c, ErrBadCursor
	}
	return c, nil
}

// facets counts the matches by field. Each facet ignores its own filter, so
// that picking "high" still shows how many critical findings there are: the
// counts are what each choice would give.
func facets(ctx context.Context, q db.Querier, p ListParams) (*Facets, error) {
	f := &Facets{}
	for _, spec := range []struct {
		col   string
		dst   *map[string]int
		clear func(*ListParams)
	}{
		{"severity", &f.Severity, func(p *ListParams) { p.Severity = nil }},
		{"status", &f.Status, func(p *ListParams) { p.Status = nil }},
		{"tool", &f.Tool, func(p *ListParams) { p.Tool = nil }},
		{"service", &f.Service, func(p *ListParams) { p.Service = nil }},
		{"account_uid", &f.Account, func(p *ListParams) { p.Account = nil }},
		{"region", &f.Region, func(p *ListParams) { p.Region = nil }},
	} {
		own := p
		spec.clear(&own)
		w, err := own.filters()
		if err != nil {
			return nil, err
		}
		m, err := countBy(ctx, q, spec.col, w.SQL(), w.Args)
		if err != nil {
			return nil, err
		}
		if spec.col == "severity" {
			m = severityNames(m)
		}
		*spec.dst = m
	}
	return f, nil
}

func countBy(ctx context.Context, q db.Querier, col, cond string, args []any) (map[string]int, error) {
	rows, err := q.QueryContext(ctx, fmt.Sprintf("SELECT %s, count(*) FROM findings WHERE %s GROUP BY %s ORDER BY count(*) DESC LIMIT 50", col, cond, col), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var (
			k any
			n int
		)
		if err := rows.Scan(&k, &n); err != nil {
			return nil, err
		}
		out[fmt.Sprint(k)] = n
	}
	return out, rows.Err()
}

// rawOCSF reads a finding's raw OCSF from its block, or from finding_raw
// where it was stored before blocks; nil when there is none.
func rawOCSF(ctx context.Context, q db.Querier, teamID string, findingID int64) (json.RawMessage, error) {
	var (
		block []byte
		index int
	)
	err := q.QueryRowContext(ctx, `SELECT b.data, f.raw_index FROM findings f JOIN finding_raw_blocks b ON b.id = f.raw_block_id AND b.team_id = f.team_id
		WHERE f.team_id = $1 AND f.id = $2`, teamID, findingID).Scan(&block, &index)
	if err == nil {
		return rawFromBlock(block, index)
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return nil, err
	}
	var raw []byte
	err = q.QueryRowContext(ctx, "SELECT raw FROM finding_raw WHERE team_id = $1 AND finding_id = $2", teamID, findingID).Scan(&raw)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return unpackRaw(raw)
}

// FindingGet returns one finding of the team with its history and OCSF JSON.
func (s *Store) FindingGet(ctx context.Context, teamID string, findingID int64) (Detail, error) {
	var d Detail
	err := s.d.ReadInTeam(ctx, teamID, func(q db.Querier) error {
		f, err := scanFinding(q.QueryRowContext(ctx, "SELECT "+selectColumns+" FROM findings WHERE team_id = $1 AND id = $2", teamID, findingID))
		if err != nil {
			return err
		}
		d.Finding = f
		if d.Raw, err = rawOCSF(ctx, q, teamID, findingID); err != nil {
			return err
		}
		if d.History, err = historyOf(ctx, q, teamID, f); err != nil {
			return err
		}
		if d.Comments, err = commentsOf(ctx, q, teamID, f.ID); err != nil {
			return err
		}
		d.RiskAcceptances, err = riskAcceptancesOf(ctx, q, teamID, f.ID)
		return err
	})
	return d, err
}

// historyOf returns a finding's history, oldest first. Its first entry
// ("new") comes from the finding itself, which keeps the status it was
// created with; findings stored before that (an empty first_status) have it in
// finding_history like every later change.
func historyOf(ctx context.Context, q db.Querier, teamID string, f Finding) ([]HistoryEntry, error) {
	history := []HistoryEntry{}
	var firstStatus string
	if err := q.QueryRowContext(ctx, "SELECT first_status FROM findings WHERE team_id = $1 AND id = $2", teamID, f.ID).Scan(&firstStatus); err != nil {
		return nil, err
	}
	if firstStatus != "" {
		history = append(history, HistoryEntry{ScanID: f.FirstScanID, At: f.FirstSeen, Change: "new", ToStatus: firstStatus})
	}
	rows, err := q.QueryContext(ctx, "SELECT scan_id, at, change, from_status, to_status, actor, note FROM finding_history WHERE team_id = $1 AND finding_id = $2 ORDER BY id", teamID, f.ID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var h HistoryEntry
		if err := rows.Scan(&h.ScanID, &h.At, &h.Change, &h.FromStatus, &h.ToStatus, &h.Actor, &h.Note); err != nil {
			return nil, err
		}
		history = append(history, h)
	}
	return history, rows.Err()
}

// severityNames re-keys counts grouped by the stored severity number with
// the severity's name.
func severityNames(m map[string]int) map[string]int {
	out := map[string]int{}
	for k, v := range m {
		n, _ := strconv.Atoi(k)
		out[ocsf.Severity(n).Key()] += v
	}
	return out
}
