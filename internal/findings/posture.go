package findings

import (
	"context"
	"time"

	"github.com/offloadsecurity/cspm/internal/db"
	"github.com/offloadsecurity/cspm/internal/listcache"
)

// Overview is the posture dashboard's data.
type Overview struct {
	OpenBySeverity map[string]int `json:"open_by_severity" doc:"Open and reopened findings by severity."`
	ByStatus       map[string]int `json:"by_status"`
	OpenByService  map[string]int `json:"open_by_service" doc:"Top 50 services by open findings."`
	OpenByAccount  map[string]int `json:"open_by_account" doc:"Top 50 accounts by open findings."`
	OpenByTool     map[string]int `json:"open_by_tool"`
	Trend          []TrendPoint   `json:"trend" doc:"Per UTC day over the window: findings first seen and findings resolved."`
}

// TrendPoint is one day of the trend.
type TrendPoint struct {
	Day      string `json:"day" doc:"YYYY-MM-DD (UTC)"`
	New      int    `json:"new"`
	Resolved int    `json:"resolved"`
}

// PostureOverview summarizes the team's findings; the trend covers days
// days. The answer is cached under the team's data version and the day.
func (s *Store) PostureOverview(ctx context.Context, teamID string, days int) (Overview, error) {
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
	key := listcache.Key(teamID, version, "overview", []any{days, s.now().UTC().Format(time.DateOnly)})
	return s.overviews.Get(key, func() (Overview, error) { return s.postureOverview(ctx, teamID, days) })
}

func (s *Store) postureOverview(ctx context.Context, teamID string, days int) (Overview, error) {
	var o Overview
	open := "team_id = $1 AND status IN ('open', 'reopened')"
	err := s.d.ReadInTeam(ctx, teamID, func(q db.Querier) error {
		var err error
		for _, spec := range []struct {
			col, cond string
			dst       *map[string]int
		}{
			{"severity", open, &o.OpenBySeverity}, {"status", "team_id = $1", &o.ByStatus},
			{"service", open, &o.OpenByService}, {"account_uid", open, &o.OpenByAccount}, {"tool", open, &o.OpenByTool},
		} {
			if *spec.dst, err = countBy(ctx, q, spec.col, spec.cond, []any{teamID}); err != nil {
				return err
			}
		}
		o.OpenBySeverity = severityNames(o.OpenBySeverity)
		o.Trend, err = s.trend(ctx, q, teamID, days)
		return err
	})
	return o, err
}

func (s *Store) trend(ctx context.Context, q db.Querier, teamID string, days int) ([]TrendPoint, error) {
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
			rows, err := q.QueryContext(ctx, "SELECT "+day(spec.col)+", count(*) FROM findings WHERE team_id = $1 AND "+spec.col+" >= $2 GROUP BY 1", teamID, since)
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
