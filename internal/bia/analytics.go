package bia

import (
	"context"
	"errors"
	"math"
	"sort"
	"time"

	"github.com/offloadsecurity/cspm/internal/db"
	"github.com/offloadsecurity/cspm/internal/listcache"
	"github.com/offloadsecurity/cspm/internal/ocsf"
)

// Analytics is the team's business impact dashboard. Every figure counts
// live (not archived) processes, each by its version in force (the approved
// one, or the latest while none is approved), and its tier in force
// (inherited from what depends on it).
type Analytics struct {
	GeneratedAt time.Time      `json:"generated_at"`
	Processes   int            `json:"processes" doc:"Live processes."`
	ByStatus    map[string]int `json:"by_status" doc:"Every process, archived too, by the latest version's status."`
	ByTier      []TierCount    `json:"by_tier"`
	Heatmap     Heatmap        `json:"heatmap"`
	// ObjectiveGaps lists processes whose RTO exceeds their MTPD, or whose
	// RPO exceeds their RTO without a justification, or that lack one.
	ObjectiveGaps []ObjectiveGap `json:"objective_gaps"`
	// WithGaps counts processes with any gap.
	WithGaps       int       `json:"with_gaps"`
	OverdueReviews []Overdue `json:"overdue_reviews"`
	// Recovery: processes whose recovery was tested, and of those, the ones
	// whose measured recovery met their RTO in force.
	RecoveryTested      int     `json:"recovery_tested"`
	RecoveryTestedShare float64 `json:"recovery_tested_share" doc:"0 to 1, of live processes."`
	TargetsMet          int     `json:"targets_met"`
	TargetsMetShare     float64 `json:"targets_met_share" doc:"0 to 1, of live processes."`
	// RevenueAtRiskPerDay is the sum of every live process's financial loss
	// per hour, times 24: what a day's outage of everything would cost.
	RevenueAtRiskPerDay float64 `json:"revenue_at_risk_per_day"`
	// Exposure ranks processes by tier, then KEV vulnerabilities, critical,
	// high and all open failing findings on their dependencies.
	Exposure []Exposure `json:"exposure"`
	// ExposureComputedAt is when the exposure was computed; ExposureStale
	// says the findings, vulnerabilities or analyses changed since, and a
	// newer one is being computed in the background.
	ExposureComputedAt time.Time `json:"exposure_computed_at"`
	ExposureStale      bool      `json:"exposure_stale" doc:"The findings, vulnerabilities or analyses changed since exposure_computed_at; a refresh is under way."`
}

// TierCount is the processes of one tier.
type TierCount struct {
	Tier                int            `json:"tier"`
	Name                string         `json:"name"`
	Count               int            `json:"count"`
	ByStatus            map[string]int `json:"by_status"`
	RevenueAtRiskPerDay float64        `json:"revenue_at_risk_per_day"`
}

// Heatmap is the impact grid over every live process: per category and
// horizon, the highest rating and the mean of the ratings set.
type Heatmap struct {
	Categories []Category `json:"categories"`
	Horizons   []Horizon  `json:"horizons"`
	Cells      []HeatCell `json:"cells"`
}

// HeatCell is one cell of the heatmap.
type HeatCell struct {
	Category string  `json:"category"`
	Horizon  string  `json:"horizon"`
	Max      int     `json:"max"`
	Mean     float64 `json:"mean"`
	Rated    int     `json:"rated" doc:"Processes that rated this cell."`
}

// ObjectiveGap is a process whose objectives are inconsistent or missing.
type ObjectiveGap struct {
	ProcessID string   `json:"process_id"`
	Name      string   `json:"name"`
	Tier      int      `json:"tier"`
	RTOHours  *float64 `json:"rto_hours,omitempty"`
	RPOHours  *float64 `json:"rpo_hours,omitempty"`
	MTPDHours *float64 `json:"mtpd_hours,omitempty"`
	Codes     []string `json:"codes"`
}

// Overdue is a process whose review is overdue.
type Overdue struct {
	ProcessID   string    `json:"process_id"`
	Name        string    `json:"name"`
	Tier        int       `json:"tier"`
	ReviewDue   time.Time `json:"review_due"`
	DaysOverdue int       `json:"days_overdue"`
}

// Exposure is what the scanners found on a process's dependencies: its
// own, and those of the processes it depends on.
type Exposure struct {
	ProcessID    string         `json:"process_id"`
	Name         string         `json:"name"`
	Tier         int            `json:"tier"`
	Status       string         `json:"status"`
	Dependencies int            `json:"dependencies" doc:"Dependencies of the version in force."`
	OpenFindings int            `json:"open_findings" doc:"Open failing findings on its dependencies."`
	BySeverity   map[string]int `json:"by_severity"`
	KEV          int            `json:"kev" doc:"Distinct KEV vulnerabilities open on its dependencies."`
	KEVIDs       []string       `json:"kev_ids" doc:"The first 20 of them."`
}

var objectiveCodes = map[string]bool{"rto_missing": true, "rpo_missing": true, "mtpd_missing": true, "rto_exceeds_mtpd": true,
	"rpo_exceeds_rto": true}

// AnalyticsGet computes the team's analytics.
//
// An answer is kept in memory for the minute, under the analyses' state,
// the stores' data versions and the stored exposure's state: a dashboard
// polled by many clients derives a thousand processes' objectives and gaps
// once a minute, not once a call (that was 5 of a served call's 12 ms).
// What none of those keys sees (an owner disabled, a review falling due)
// shows within the minute.
func (s *Service) AnalyticsGet(ctx context.Context, teamID string) (Analytics, error) {
	if s.findings == nil || s.kev == nil || s.noCache {
		return s.analyticsCompute(ctx, teamID)
	}
	key, err := s.analyticsKey(ctx, teamID)
	if err != nil {
		return Analytics{}, err
	}
	if c, ok := s.lastAnalytics.Load(teamID); ok && c.(*keptAnalytics).key == key {
		return c.(*keptAnalytics).a, nil
	}
	// One computation for all the clients that ask at once.
	v, err, _ := s.analyticsFlight.Do(key, func() (any, error) {
		a, err := s.analyticsCompute(ctx, teamID)
		if err == nil {
			s.lastAnalytics.Store(teamID, &keptAnalytics{key: key, a: a})
		}
		return a, err
	})
	if err != nil {
		return Analytics{}, err
	}
	return v.(Analytics), nil
}

// keptAnalytics is a team's last answer (one per team: a key names a
// minute, so older ones are never asked for again).
type keptAnalytics struct {
	key string
	a   Analytics
}

// analyticsKey names what an answer depends on (see AnalyticsGet).
func (s *Service) analyticsKey(ctx context.Context, teamID string) (string, error) {
	var state, stored string
	err := s.d.ReadInTeam(ctx, teamID, func(q db.Querier) error {
		var err error
		if state, err = stateKey(ctx, q, teamID); err != nil {
			return err
		}
		err = q.QueryRowContext(ctx, `SELECT state_key FROM bia_exposure WHERE team_id = $1`, teamID).Scan(&stored)
		if errors.Is(db.MapError(err), db.ErrNotFound) {
			return nil
		}
		return err
	})
	if err != nil {
		return "", err
	}
	fv, vv, err := s.storeVersions(ctx, teamID)
	if err != nil {
		return "", err
	}
	minute := s.now().UTC().Truncate(time.Minute).Unix()
	return listcache.Key(teamID, fv, "bia-analytics", []any{vv, state, stored, minute}), nil
}

// analyticsCompute derives the team's analytics from its current state.
func (s *Service) analyticsCompute(ctx context.Context, teamID string) (Analytics, error) {
	t, err := s.derived(ctx, teamID)
	if err != nil {
		return Analytics{}, err
	}
	now := s.now().UTC()
	a := Analytics{GeneratedAt: now, ByStatus: map[string]int{}, ObjectiveGaps: []ObjectiveGap{}, OverdueReviews: []Overdue{},
		Exposure: []Exposure{}}
	for _, st := range Statuses {
		if st != StatusSuperseded {
			a.ByStatus[st] = 0
		}
	}
	tiers := make([]TierCount, 5)
	for i := range tiers {
		tiers[i] = TierCount{Tier: i + 1, Name: t.settings.TierName(i + 1), ByStatus: map[string]int{}}
	}
	type acc struct{ max, sum, n int }
	cells := map[[2]string]*acc{}
	ids := t.sortedIDs()
	for _, pid := range ids {
		p := t.procs[pid]
		a.ByStatus[p.Status]++
		if !live(p) {
			continue
		}
		a.Processes++
		r := &p.inForce().Record
		tc := &tiers[clampTier(p.Objectives.Tier)-1]
		tc.Count++
		tc.ByStatus[p.Status]++
		tc.RevenueAtRiskPerDay += r.FinancialLossPerHour * 24
		a.RevenueAtRiskPerDay += r.FinancialLossPerHour * 24
		for _, c := range t.settings.Categories {
			for _, h := range t.settings.Horizons {
				if v := r.Impacts[c.Key][h.Key]; v > 0 {
					x := cells[[2]string{c.Key, h.Key}]
					if x == nil {
						x = &acc{}
						cells[[2]string{c.Key, h.Key}] = x
					}
					x.max, x.sum, x.n = max(x.max, v), x.sum+v, x.n+1
				}
			}
		}
		if len(p.Gaps) > 0 {
			a.WithGaps++
		}
		var codes []string
		for _, g := range p.Gaps {
			if objectiveCodes[g.Code] {
				codes = append(codes, g.Code)
			}
		}
		if len(codes) > 0 {
			lr := &p.Latest.Record
			a.ObjectiveGaps = append(a.ObjectiveGaps, ObjectiveGap{ProcessID: pid, Name: lr.Name, Tier: p.Objectives.Tier,
				RTOHours: lr.RTOHours, RPOHours: lr.RPOHours, MTPDHours: lr.MTPDHours, Codes: codes})
		}
		if p.ReviewOverdue {
			a.OverdueReviews = append(a.OverdueReviews, Overdue{ProcessID: pid, Name: r.Name, Tier: p.Objectives.Tier,
				ReviewDue: p.ReviewDue.UTC(), DaysOverdue: int(now.Sub(*p.ReviewDue) / (24 * time.Hour))})
		}
		if r.RecoveryTestedAt != nil {
			a.RecoveryTested++
			if r.MeasuredRecoveryHrs != nil && p.Objectives.RTOHours != nil && *r.MeasuredRecoveryHrs <= *p.Objectives.RTOHours {
				a.TargetsMet++
			}
		}
	}
	if a.Processes > 0 {
		a.RecoveryTestedShare = round4(float64(a.RecoveryTested) / float64(a.Processes))
		a.TargetsMetShare = round4(float64(a.TargetsMet) / float64(a.Processes))
	}
	a.ByTier = tiers
	a.Heatmap = Heatmap{Categories: t.settings.Categories, Horizons: t.settings.Horizons, Cells: []HeatCell{}}
	for _, c := range t.settings.Categories {
		for _, h := range t.settings.Horizons {
			cell := HeatCell{Category: c.Key, Horizon: h.Key}
			if x := cells[[2]string{c.Key, h.Key}]; x != nil {
				cell.Max, cell.Rated, cell.Mean = x.max, x.n, round4(float64(x.sum)/float64(x.n))
			}
			a.Heatmap.Cells = append(a.Heatmap.Cells, cell)
		}
	}
	sort.SliceStable(a.OverdueReviews, func(i, j int) bool {
		x, y := a.OverdueReviews[i], a.OverdueReviews[j]
		if x.Tier != y.Tier {
			return x.Tier < y.Tier
		}
		return x.DaysOverdue > y.DaysOverdue
	})
	snap, stale, err := s.exposure(ctx, teamID, t)
	if err != nil {
		return Analytics{}, err
	}
	a.ExposureComputedAt, a.ExposureStale = snap.ComputedAt, stale
	// Names, tiers and statuses are today's, whatever state the exposure
	// was computed in; a process created since has none yet.
	a.Exposure = make([]Exposure, 0, len(snap.Exposure))
	for _, e := range snap.Exposure {
		if p := t.procs[e.ProcessID]; p != nil && live(p) {
			e.Name, e.Tier, e.Status = p.inForce().Record.Name, p.Objectives.Tier, p.Status
			a.Exposure = append(a.Exposure, e)
		}
	}
	rankExposure(a.Exposure)
	return a, nil
}

func clampTier(t int) int { return min(max(t, 1), 5) }

func round4(v float64) float64 { return math.Round(v*10000) / 10000 }

func (t *teamState) sortedIDs() []string {
	ids := make([]string, 0, len(t.procs))
	for id := range t.procs {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// selectors indexes the live processes' dependencies: each process stands
// for itself and every live process that depends on it, directly or not
// (ancestors); accounts, assets (resource UIDs, hosts, images) and tags map
// to the processes that name them.
func (t *teamState) selectors(ids []string) (ancestors [][]int32, accounts, assets, tags map[string][]int32) {
	idx := map[string]int32{}
	for i, id := range ids {
		idx[id] = int32(i)
	}
	dependents := t.dependents()
	ancestors = make([][]int32, len(ids))
	accounts, assets, tags = map[string][]int32{}, map[string][]int32{}, map[string][]int32{}
	for i, id := range ids {
		p := t.procs[id]
		if !live(p) {
			continue
		}
		seen := map[string]bool{id: true}
		queue := []string{id}
		for len(queue) > 0 {
			x := queue[0]
			queue = queue[1:]
			ancestors[i] = append(ancestors[i], idx[x])
			for _, d := range dependents[x] {
				if !seen[d] {
					seen[d] = true
					queue = append(queue, d)
				}
			}
		}
		for _, d := range p.inForce().Record.Dependencies {
			switch d.Kind {
			case DepCloudAccount:
				accounts[d.Value] = append(accounts[d.Value], int32(i))
			case DepResource, DepNetworkHost, DepContainerImage:
				assets[d.Value] = append(assets[d.Value], int32(i))
			case DepTag:
				tags[d.Value] = append(tags[d.Value], int32(i))
			}
		}
	}
	return ancestors, accounts, assets, tags
}

func (s *Service) countExposure(ctx context.Context, teamID string, t *teamState, ids []string, ancestors [][]int32,
	accounts, assets, tags map[string][]int32) ([]Exposure, error) {
	n := len(ids)
	open := make([]int, n)
	sev := make([][8]int, n)
	kev := make([]map[string]bool, n)
	kevAssets := map[string][]string{}
	if s.kev != nil {
		occ, err := s.kev.OpenKEV(ctx, teamID)
		if err != nil {
			return nil, err
		}
		for _, o := range occ {
			kevAssets[o.Asset] = append(kevAssets[o.Asset], o.VulnID)
		}
	}
	// Findings are counted per signature, the set of processes whose own
	// dependencies a finding meets (a resource's account, tags and UID
	// decide it, so a million findings make a few thousand signatures);
	// each signature then adds its counts once to every process it stands
	// for (ancestors), so a finding met twice still counts once.
	type agg struct {
		direct []int32
		sev    [8]int
		kev    map[string]bool
	}
	sigs := map[string]*agg{}
	stamp := make([]int, n)
	round := 0
	var direct []int32
	var buf []byte
	add := func(d []int32) {
		for _, x := range d {
			if stamp[x] != round {
				stamp[x] = round
				direct = append(direct, x)
			}
		}
	}
	signature := func() *agg {
		sort.Slice(direct, func(i, j int) bool { return direct[i] < direct[j] })
		buf = buf[:0]
		for _, x := range direct {
			buf = append(buf, byte(x), byte(x>>8), byte(x>>16), byte(x>>24)) //nolint:gosec // G115: the bytes of x, in order
		}
		a := sigs[string(buf)]
		if a == nil {
			a = &agg{direct: append([]int32(nil), direct...)}
			sigs[string(buf)] = a
		}
		return a
	}
	addKEV := func(a *agg, vulns []string) {
		if a.kev == nil {
			a.kev = map[string]bool{}
		}
		for _, v := range vulns {
			a.kev[v] = true
		}
	}
	// Assets named as dependencies carry their KEV occurrences whatever
	// the findings say.
	for asset, d := range assets {
		if vulns := kevAssets[asset]; len(vulns) > 0 {
			round++
			direct = direct[:0]
			add(d)
			addKEV(signature(), vulns)
		}
	}
	if s.findings != nil && (len(accounts) > 0 || len(assets) > 0 || len(tags) > 0) {
		err := s.findings.OpenFailing(ctx, teamID, func(f FindingRow) error {
			round++
			direct = direct[:0]
			add(accounts[f.AccountUID])
			add(assets[f.ResourceUID])
			if f.Target != f.ResourceUID {
				add(assets[f.Target])
			}
			if len(tags) > 0 && f.Tags != "" {
				for _, tag := range tagsOf(f.Tags) {
					add(tags[tag])
				}
			}
			if len(direct) == 0 {
				return nil
			}
			a := signature()
			a.sev[min(max(f.Severity, 0), 7)]++
			if v := kevAssets[f.ResourceUID]; len(v) > 0 {
				addKEV(a, v)
			}
			if v := kevAssets[f.Target]; len(v) > 0 && f.Target != f.ResourceUID {
				addKEV(a, v)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	var union []int32
	for _, a := range sigs {
		round++
		union = union[:0]
		for _, d := range a.direct {
			for _, x := range ancestors[d] {
				if stamp[x] != round {
					stamp[x] = round
					union = append(union, x)
				}
			}
		}
		total := 0
		for _, c := range a.sev {
			total += c
		}
		for _, x := range union {
			open[x] += total
			for i, c := range a.sev {
				sev[x][i] += c
			}
			if len(a.kev) > 0 {
				if kev[x] == nil {
					kev[x] = map[string]bool{}
				}
				for v := range a.kev {
					kev[x][v] = true
				}
			}
		}
	}
	out := make([]Exposure, 0, n)
	for i, id := range ids {
		p := t.procs[id]
		if !live(p) {
			continue
		}
		e := Exposure{ProcessID: id, Name: p.inForce().Record.Name, Tier: p.Objectives.Tier, Status: p.Status,
			Dependencies: len(p.inForce().Record.Dependencies), OpenFindings: open[i], BySeverity: map[string]int{}, KEV: len(kev[i]),
			KEVIDs: []string{}}
		for s, c := range sev[i] {
			if c > 0 {
				e.BySeverity[ocsf.Severity(s).Key()] = c
			}
		}
		for v := range kev[i] {
			e.KEVIDs = append(e.KEVIDs, v)
		}
		sort.Strings(e.KEVIDs)
		if len(e.KEVIDs) > 20 {
			e.KEVIDs = e.KEVIDs[:20]
		}
		out = append(out, e)
	}
	rankExposure(out)
	return out, nil
}

func rankExposure(out []Exposure) {
	sort.SliceStable(out, func(i, j int) bool {
		x, y := out[i], out[j]
		switch {
		case x.Tier != y.Tier:
			return x.Tier < y.Tier
		case x.KEV != y.KEV:
			return x.KEV > y.KEV
		case x.BySeverity["critical"] != y.BySeverity["critical"]:
			return x.BySeverity["critical"] > y.BySeverity["critical"]
		case x.BySeverity["high"] != y.BySeverity["high"]:
			return x.BySeverity["high"] > y.BySeverity["high"]
		case x.OpenFindings != y.OpenFindings:
			return x.OpenFindings > y.OpenFindings
		case x.Name != y.Name:
			return x.Name < y.Name
		}
		return x.ProcessID < y.ProcessID
	})
}
