package findings

import (
	"context"
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
	ResourcesScanned int          `json:"resources_scanned" doc:"Distinct resources any finding under the filter names."`
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
// days days. The answer is cached under the team's data version, the filter
// and the day.
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
	return s.overviews.Get(key, func() (Overview, error) { return s.postureOverview(ctx, teamID, days, f) })
}

func (s *Store) postureOverview(ctx context.Context, teamID string, days int, f PostureFilter) (Overview, error) {
	o := Overview{Filter: f}
	w := &db.Where{}
	w.Add("team_id = %s", teamID)
	w.In("provider", f.Provider)
	w.In("account_uid", f.Account)
	w.In("region", f.Region)
	err := s.d.ReadInTeam(ctx, teamID, func(q db.Querier) error {
		if err := s.postureCounts(ctx, q, w, &o); err != nil {
			return err
		}
		if err := q.QueryRowContext(ctx, "SELECT count(DISTINCT resource_uid) FROM findings WHERE "+w.SQL()+" AND resource_uid <> ''",
			w.Args...).Scan(&o.ResourcesScanned); err != nil {
			return err
		}
		var err error
		o.Trend, err = s.trend(ctx, q, w, days)
		return err
	})
	return o, err
}

// postureCounts fills every count of o from one pass over the team's
// findings, grouped by what the breakdowns need: a check fixes its service
// and nearly always its severity, so the groups are about checks x regions x
// accounts x states, a few thousand where the findings are a million.
func (s *Store) postureCounts(ctx context.Context, q db.Querier, w *db.Where, o *Overview) error {
	rows, err := q.QueryContext(ctx, `SELECT provider, account_uid, region, service, tool, check_id, severity, status, result, count(*)
		FROM findings WHERE `+w.SQL()+` GROUP BY provider, account_uid, region, service, tool, check_id, severity, status, result`, w.Args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	o.OpenBySeverity, o.ByStatus, o.OpenByService, o.OpenByAccount, o.OpenByTool =
		map[string]int{}, map[string]int{}, map[string]int{}, map[string]int{}, map[string]int{}
	type key struct{ provider, value string }
	dims := [5]map[key]*PassRate{{}, {}, {}, {}, {}} // provider, account, region, service, check
	for rows.Next() {
		var (
			provider, account, region, service, tool, check, status, result string
			severity, n                                                     int
		)
		if err := rows.Scan(&provider, &account, &region, &service, &tool, &check, &severity, &status, &result, &n); err != nil {
			return err
		}
		o.ByStatus[status] += n
		add := postureBucket(status, result)
		if add == nil {
			continue
		}
		add(&o.Totals, n)
		checkOwner := provider
		if checkOwner == "" {
			checkOwner = tool
		}
		for i, k := range [5]key{{provider, provider}, {provider, account}, {provider, region}, {provider, service}, {checkOwner, check}} {
			r := dims[i][k]
			if r == nil {
				r = &PassRate{Key: k.value, Provider: k.provider}
				dims[i][k] = r
			}
			add(r, n)
		}
		if (status == StatusOpen || status == StatusReopened) && result == "fail" {
			o.OpenBySeverity[ocsf.Severity(severity).Key()] += n
			o.OpenByService[service] += n
			o.OpenByAccount[account] += n
			o.OpenByTool[tool] += n
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	o.OpenByService, o.OpenByAccount = topCounts(o.OpenByService, 50), topCounts(o.OpenByAccount, 50)
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
	return nil
}

// postureBucket says which count a finding in status with result adds to:
// nil for one resolved because a later scan no longer reported it (the
// resource is gone, not fixed), as CheckResults counts.
func postureBucket(status, result string) func(*PassRate, int) {
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
		return nil
	}
	return func(r *PassRate, n int) { r.Muted += n }
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

func (s *Store) trend(ctx context.Context, q db.Querier, w *db.Where, days int) ([]TrendPoint, error) {
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
	for _, spec := range []struct {
		col string
		add func(p *TrendPoint, n int)
	}{
		{"first_seen", func(p *TrendPoint, n int) { p.New += n }},
		{"resolved_at", func(p *TrendPoint, n int) { p.Resolved += n }},
	} {
		if err := func() error {
			cond := w.Clone()
			cond.Add(spec.col+" >= %s", since)
			rows, err := q.QueryContext(ctx, "SELECT "+day(spec.col)+", count(*) FROM findings WHERE "+cond.SQL()+" GROUP BY 1", cond.Args...)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				var (
					k string
					n int
				)
				if err := rows.Scan(&k, &n); err != nil {
					return err
				}
				if p := points[k]; p != nil {
					spec.add(p, n)
				}
			}
			return rows.Err()
		}(); err != nil {
			return nil, err
		}
	}
	out := make([]TrendPoint, 0, len(order))
	for _, k := range order {
		out = append(out, *points[k])
	}
	return out, nil
}

// AccountPassRates is the posture of each of the team's accounts, as the
// unfiltered overview counts it (and from its cache).
func (s *Store) AccountPassRates(ctx context.Context, teamID string) ([]PassRate, error) {
	o, err := s.PostureOverview(ctx, teamID, 30, PostureFilter{})
	return o.ByAccount, err
}
