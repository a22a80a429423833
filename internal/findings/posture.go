package findings

import (
	"context"
	"database/sql"
	"slices"
	"sort"
	"time"

	"github.com/offloadsecurity/cspm/internal/db"
	"github.com/offloadsecurity/cspm/internal/listcache"
	"github.com/offloadsecurity/cspm/internal/ocsf"
)

// Overview is the posture dashboard's data. "Open failures" are findings
// open or reopened whose last result failed: a Prowler MANUAL result needs a
// person to judge and is counted apart, as Manual.
type Overview struct {
	Filter         PostureFilter  `json:"filter" doc:"The filter the counts are under."`
	OpenBySeverity map[string]int `json:"open_by_severity" doc:"Open failures by severity."`
	ByStatus       map[string]int `json:"by_status"`
	OpenByService  map[string]int `json:"open_by_service" doc:"Top 50 services by open failures."`
	OpenByAccount  map[string]int `json:"open_by_account" doc:"Top 50 accounts by open failures."`
	OpenByTool     map[string]int `json:"open_by_tool" doc:"Open failures by tool."`
	// Pass and fail the way Prowler App shows them: per resource and check.
	Totals           PassRate     `json:"totals" doc:"Every check result under the filter."`
	ResourcesScanned *int         `json:"resources_scanned" doc:"Distinct resources the findings under the filter name; null while they are being counted (in the background, once per data change: ask again)."`
	Evaluated        int          `json:"evaluated" doc:"Check results under the filter (passed, failed, manual and muted): one per resource and check."`
	ByProvider       []PassRate   `json:"by_provider"`
	ByAccount        []PassRate   `json:"by_account" doc:"Top 50 by failures."`
	ByRegion         []PassRate   `json:"by_region" doc:"Top 50 by failures."`
	ByService        []PassRate   `json:"by_service" doc:"Top 50 by failures."`
	ByCheck          []PassRate   `json:"by_check" doc:"Top 50 by failures."`
	Trend            []TrendPoint `json:"trend" doc:"Per UTC day over the window: findings first seen and findings resolved."`
}

// PostureFilter narrows the overview to providers, accounts and regions.
type PostureFilter struct {
	Provider []string `json:"provider"`
	Account  []string `json:"account"`
	Region   []string `json:"region"`
}

// admits reports whether the filter keeps a count of that provider,
// account and region (an empty list keeps every value).
func (f PostureFilter) admits(provider, account, region string) bool {
	in := func(set []string, v string) bool { return len(set) == 0 || slices.Contains(set, v) }
	return in(f.Provider, provider) && in(f.Account, account) && in(f.Region, region)
}

// PassRate counts one slice of the posture in resources (a finding is one
// resource of one check).
type PassRate struct {
	Key      string `json:"key" doc:"The provider, account, region, service or check; empty for totals."`
	Provider string `json:"provider" doc:"The provider the key belongs to (the tool for a check without one)."`
	Passed   int    `json:"passed" doc:"Resolved by a passing result."`
	Failed   int    `json:"failed" doc:"Open or reopened with a failing result."`
	Manual   int    `json:"manual" doc:"Open with a MANUAL result: needs a person to judge."`
	Muted    int    `json:"muted" doc:"Muted, risk-accepted or triaged out, whatever the result."`
	// PassRate is Passed / (Passed + Failed); nil when both are zero.
	PassRate *float64 `json:"pass_rate" doc:"passed / (passed + failed), null when there is neither."`
}

// TrendPoint is one day of the trend.
type TrendPoint struct {
	Day      string `json:"day" doc:"YYYY-MM-DD (UTC)"`
	New      int    `json:"new"`
	Resolved int    `json:"resolved"`
}

// PostureOverview summarizes the team's findings under f; the trend covers
// days days. The counts come from the team's posture groups, read once per
// data version and filtered here, so that a filtered dashboard costs no
// query; the answer is cached under the version, the filter and the day.
func (s *Store) PostureOverview(ctx context.Context, teamID string, days int, f PostureFilter) (Overview, error) {
	if days <= 0 || days > 365 {
		days = 30
	}
	var version int64
	if err := s.d.ReadInTeam(ctx, teamID, func(q db.Querier) (err error) {
		version, err = dataVersions.Of(ctx, q, teamID)
		return err
	}); err != nil {
		return Overview{}, err
	}
	key := listcache.Key(teamID, version, "overview", []any{days, s.now().UTC().Format(time.DateOnly), f.Provider, f.Account, f.Region})
	o, err := s.overviews.Get(key, func() (Overview, error) {
		groups, err := s.postureGroups.Get(listcache.Key(teamID, version, "posture-groups", nil), func() ([]postureGroup, error) {
			return s.readPostureGroups(ctx, teamID)
		})
		if err != nil {
			return Overview{}, err
		}
		o := Overview{Filter: f}
		summarize(groups, f, &o)
		err = s.d.ReadInTeam(ctx, teamID, func(q db.Querier) (err error) {
			o.Trend, err = s.trend(ctx, q, teamID, days, f)
			return err
		})
		return o, err
	})
	if err == nil {
		o.ResourcesScanned = s.resourcesScanned(teamID, version, f)
	}
	return o, err
}

// resourceCount is the distinct resources of one provider, account and
// region: a resource is in one account and region, so the counts add up.
type resourceCount struct {
	provider, account, region string
	n                         int
}

// resourcesScanned is the number of distinct resources under f, or nil
// while they are being counted. Counting 1,000,000 findings' resources took
// 10.6 s on SQLite (no index serves a distinct count of ARNs), so it runs
// in the background, once per data version, and the dashboard asks again.
func (s *Store) resourcesScanned(teamID string, version int64, f PostureFilter) *int {
	key := listcache.Key(teamID, version, "posture-resources", nil)
	counts, ok := s.postureResources.Peek(key)
	if !ok {
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
			defer cancel()
			_, _ = s.postureResources.Get(key, func() ([]resourceCount, error) { return s.countResources(ctx, teamID) })
		}()
		return nil
	}
	n := 0
	for _, c := range counts {
		if f.admits(c.provider, c.account, c.region) {
			n += c.n
		}
	}
	return &n
}

func (s *Store) countResources(ctx context.Context, teamID string) ([]resourceCount, error) {
	var out []resourceCount
	err := s.d.ReadInTeam(ctx, teamID, func(q db.Querier) error {
		rows, err := q.QueryContext(ctx, `SELECT provider, account_uid, region, count(DISTINCT resource_uid) FROM findings
			WHERE team_id = $1 AND resource_uid <> '' GROUP BY provider, account_uid, region`, teamID)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var c resourceCount
			if err := rows.Scan(&c.provider, &c.account, &c.region, &c.n); err != nil {
				return err
			}
			out = append(out, c)
		}
		return rows.Err()
	})
	return out, err
}

// postureGroup is one count of the team's findings by every column the
// overview breaks down or filters by.
type postureGroup struct {
	check, tool, status, result, provider, account, region, service string
	severity, n                                                     int
}

// readPostureGroups counts the team's findings by check, tool, status,
// result, provider, account, region, service and severity, in the order of
// the index that covers them (findings_team_check_results, native_scans
// 0018): a walk of the index without a sort or a read of the table. A check
// fixes its service and nearly always its severity, so the groups are about
// checks x accounts x regions x states: 38,000 where the findings are a
// million.
func (s *Store) readPostureGroups(ctx context.Context, teamID string) ([]postureGroup, error) {
	var out []postureGroup
	err := s.d.ReadInTeam(ctx, teamID, func(q db.Querier) error {
		if err := db.NoJIT(ctx, s.d, q); err != nil {
			return err
		}
		rows, err := q.QueryContext(ctx, `SELECT check_id, tool, status, result, provider, account_uid, region, service, severity, count(*)
			FROM findings WHERE team_id = $1
			GROUP BY check_id, tool, status, result, provider, account_uid, region, service, severity`, teamID)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var g postureGroup
			if err := rows.Scan(&g.check, &g.tool, &g.status, &g.result, &g.provider, &g.account, &g.region, &g.service, &g.severity, &g.n); err != nil {
				return err
			}
			out = append(out, g)
		}
		return rows.Err()
	})
	return out, err
}

// summarize fills every count of o from the groups that f admits.
func summarize(groups []postureGroup, f PostureFilter, o *Overview) {
	o.OpenBySeverity, o.ByStatus, o.OpenByService, o.OpenByAccount, o.OpenByTool =
		map[string]int{}, map[string]int{}, map[string]int{}, map[string]int{}, map[string]int{}
	type key struct{ provider, value string }
	dims := [5]map[key]*PassRate{{}, {}, {}, {}, {}} // provider, account, region, service, check
	for _, g := range groups {
		if !f.admits(g.provider, g.account, g.region) {
			continue
		}
		o.ByStatus[g.status] += g.n
		add := postureBucket(g.status, g.result)
		if add == nil {
			continue
		}
		add(&o.Totals, g.n)
		checkOwner := g.provider
		if checkOwner == "" {
			checkOwner = g.tool
		}
		for i, k := range [5]key{{g.provider, g.provider}, {g.provider, g.account}, {g.provider, g.region}, {g.provider, g.service}, {checkOwner, g.check}} {
			r := dims[i][k]
			if r == nil {
				r = &PassRate{Key: k.value, Provider: k.provider}
				dims[i][k] = r
			}
			add(r, g.n)
		}
		if (g.status == StatusOpen || g.status == StatusReopened) && g.result == "fail" {
			o.OpenBySeverity[ocsf.Severity(g.severity).Key()] += g.n
			o.OpenByService[g.service] += g.n
			o.OpenByAccount[g.account] += g.n
			o.OpenByTool[g.tool] += g.n
		}
	}
	o.OpenByService, o.OpenByAccount = topCounts(o.OpenByService, 50), topCounts(o.OpenByAccount, 50)
	o.Evaluated = o.Totals.Passed + o.Totals.Failed + o.Totals.Manual + o.Totals.Muted
	setRate(&o.Totals)
	for i, dst := range []*[]PassRate{&o.ByProvider, &o.ByAccount, &o.ByRegion, &o.ByService, &o.ByCheck} {
		list := make([]PassRate, 0, len(dims[i]))
		for _, r := range dims[i] {
			setRate(r)
			list = append(list, *r)
		}
		sort.Slice(list, func(a, b int) bool {
			if list[a].Failed != list[b].Failed {
				return list[a].Failed > list[b].Failed
			}
			if list[a].Key != list[b].Key {
				return list[a].Key < list[b].Key
			}
			return list[a].Provider < list[b].Provider
		})
		if i > 1 && len(list) > 50 { // every provider and account; the top 50 of the rest
			list = list[:50]
		}
		*dst = list
	}
}

// postureBucket says which count a finding in status with result adds to:
// nil for one resolved because a later scan no longer reported it (the
// resource is gone, not fixed), as CheckResults counts.
func postureBucket(status, result string) func(*PassRate, int) {
	if parked(status) {
		return func(r *PassRate, n int) { r.Muted += n }
	}
	switch status {
	case StatusOpen, StatusReopened:
		switch result {
		case "fail":
			return func(r *PassRate, n int) { r.Failed += n }
		case "manual":
			return func(r *PassRate, n int) { r.Manual += n }
		}
		return nil
	case StatusResolved:
		if result == "pass" {
			return func(r *PassRate, n int) { r.Passed += n }
		}
	}
	return nil
}

func setRate(r *PassRate) {
	if d := r.Passed + r.Failed; d > 0 {
		v := float64(r.Passed) / float64(d)
		r.PassRate = &v
	}
}

// topCounts keeps the n largest counts of m.
func topCounts(m map[string]int, n int) map[string]int {
	if len(m) <= n {
		return m
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(a, b int) bool { return m[keys[a]] > m[keys[b]] || m[keys[a]] == m[keys[b]] && keys[a] < keys[b] })
	out := make(map[string]int, n)
	for _, k := range keys[:n] {
		out[k] = m[k]
	}
	return out
}

// trend counts, per UTC day of the window, the findings first seen and those
// resolved. Unfiltered, it reads the imports' own counts (scan_results, one
// row per import, by its (team, started_at) index) instead of walking every
// finding's dates; filtered by provider, account or region, which an import
// does not record, it counts the findings themselves.
func (s *Store) trend(ctx context.Context, q db.Querier, teamID string, days int, f PostureFilter) ([]TrendPoint, error) {
	since := s.now().UTC().AddDate(0, 0, -days+1).Truncate(24 * time.Hour)
	day := func(col string) string {
		if s.d.Dialect == db.Postgres {
			return "to_char(" + col + " AT TIME ZONE 'UTC', 'YYYY-MM-DD')"
		}
		return "substr(" + col + ", 1, 10)" // stored as UTC text
	}
	points := map[string]*TrendPoint{}
	var order []string
	for d := since; !d.After(s.now().UTC()); d = d.AddDate(0, 0, 1) {
		k := d.Format("2006-01-02")
		points[k] = &TrendPoint{Day: k}
		order = append(order, k)
	}
	collect := func() []TrendPoint {
		out := make([]TrendPoint, 0, len(order))
		for _, k := range order {
			out = append(out, *points[k])
		}
		return out
	}
	if len(f.Provider)+len(f.Account)+len(f.Region) == 0 {
		rows, err := q.QueryContext(ctx, "SELECT "+day("started_at")+`, sum(findings_created), sum(findings_resolved) FROM scan_results
			WHERE team_id = $1 AND started_at >= $2 AND status <> 'failed' GROUP BY 1`, teamID, since)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		for rows.Next() {
			var (
				k                 string
				created, resolved sql.NullInt64
			)
			if err := rows.Scan(&k, &created, &resolved); err != nil {
				return nil, err
			}
			if p := points[k]; p != nil {
				p.New += int(created.Int64)
				p.Resolved += int(resolved.Int64)
			}
		}
		return collect(), rows.Err()
	}
	w := &db.Where{}
	w.Add("team_id = %s", teamID)
	w.In("provider", f.Provider)
	w.In("account_uid", f.Account)
	w.In("region", f.Region)
	// Both dates in one pass over the matching findings.
	w.Add("(first_seen >= %s OR resolved_at >= %s)", since, since)
	rows, err := q.QueryContext(ctx, "SELECT "+day("first_seen")+", "+day("resolved_at")+", count(*) FROM findings WHERE "+w.SQL()+" GROUP BY 1, 2", w.Args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			first, resolved sql.NullString
			n               int
		)
		if err := rows.Scan(&first, &resolved, &n); err != nil {
			return nil, err
		}
		if p := points[first.String]; p != nil {
			p.New += n
		}
		if p := points[resolved.String]; p != nil {
			p.Resolved += n
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return collect(), nil
}

// AccountPassRates is the posture of each of the team's accounts, as the
// unfiltered overview counts it (and from its cache).
func (s *Store) AccountPassRates(ctx context.Context, teamID string) ([]PassRate, error) {
	o, err := s.PostureOverview(ctx, teamID, 30, PostureFilter{})
	return o.ByAccount, err
}
