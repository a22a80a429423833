package compliance

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/offloadsecurity/cspm/internal/db"
	"github.com/offloadsecurity/cspm/internal/findings"
)

// FrameworkSummary is a loaded framework with the team's score.
type FrameworkSummary struct {
	ID          string         `json:"id"`
	URN         string         `json:"urn"`
	RefID       string         `json:"ref_id"`
	Family      string         `json:"family"`
	Name        string         `json:"name"`
	Version     string         `json:"version"`
	Source      string         `json:"source" doc:"SCF workbook, framework library, or prowler (a Prowler compliance map)."`
	Provider    string         `json:"provider"`
	Copyright   string         `json:"copyright"`
	Description string         `json:"description"`
	IsSCF       bool           `json:"is_scf" doc:"An SCF version: its requirements are the controls the engine scores."`
	Primary     bool           `json:"primary" doc:"The SCF version the overall and domain scores are of."`
	Nodes       int            `json:"nodes"`
	Assessable  int            `json:"assessable"`
	Domains     int            `json:"domains"`
	Score       *float64       `json:"score" doc:"The team's score; null when nothing is assessed or the team never synced."`
	Counts      map[string]int `json:"counts" doc:"Assessable requirements by status."`
}

// FrameworkNode is one node of a framework's requirement tree with its status.
type FrameworkNode struct {
	URN         string         `json:"urn"`
	ParentURN   string         `json:"parent_urn"`
	RefID       string         `json:"ref_id"`
	Name        string         `json:"name"`
	Description string         `json:"description"`
	Question    string         `json:"question,omitempty"`
	Depth       int            `json:"depth"`
	Assessable  bool           `json:"assessable"`
	Weight      float64        `json:"weight"`
	Status      string         `json:"status" enum:"passing,failing,partial,not_assessed,manual"`
	Score       *float64       `json:"score"`
	Coverage    string         `json:"coverage,omitempty" enum:"full,partial,none,"`
	Counts      map[string]int `json:"counts,omitempty"`
	Controls    []ControlRef   `json:"controls,omitempty" doc:"The SCF controls a requirement of another framework maps to."`
}

// ControlRef is an SCF control as another object refers to it.
type ControlRef struct {
	URN      string   `json:"urn"`
	RefID    string   `json:"ref_id"`
	Name     string   `json:"name"`
	Status   string   `json:"status" enum:"passing,failing,partial,not_assessed,manual"`
	Score    *float64 `json:"score"`
	Coverage string   `json:"coverage" enum:"full,partial"`
	Via      string   `json:"via"`
}

// FrameworkDetail is a framework and its tree.
type FrameworkDetail struct {
	FrameworkSummary
	Tree []FrameworkNode `json:"tree" doc:"Document order; parents before children."`
}

// RequirementRef is a framework requirement an SCF control satisfies.
type RequirementRef struct {
	FrameworkID   string `json:"framework_id"`
	FrameworkName string `json:"framework_name"`
	URN           string `json:"urn"`
	RefID         string `json:"ref_id"`
	Name          string `json:"name"`
	Coverage      string `json:"coverage" enum:"full,partial"`
	Via           string `json:"via"`
}

// FailingFinding is a finding that fails one of a control's checks.
type FailingFinding struct {
	ID          int64  `json:"id"`
	CheckID     string `json:"check_id"`
	Title       string `json:"title"`
	Severity    string `json:"severity"`
	ResourceUID string `json:"resource_uid"`
	AccountUID  string `json:"account_uid"`
	Region      string `json:"region"`
}

// ControlDetail is an SCF control down to its evidence.
type ControlDetail struct {
	URN             string           `json:"urn"`
	RefID           string           `json:"ref_id"`
	Name            string           `json:"name"`
	Description     string           `json:"description"`
	Question        string           `json:"question"`
	Weight          float64          `json:"weight"`
	DomainURN       string           `json:"domain_urn"`
	DomainName      string           `json:"domain_name"`
	FrameworkID     string           `json:"framework_id"`
	FrameworkName   string           `json:"framework_name"`
	Extra           map[string]any   `json:"extra" doc:"Version-specific attributes: PPTDF, validation cadence, maturity criteria."`
	Result          ControlResult    `json:"result"`
	UpdatedAt       *time.Time       `json:"updated_at,omitempty" doc:"When the engine last scored the control for the team."`
	FindingsFilter  string           `json:"findings_filter" doc:"The findings-list query of the control's failing findings."`
	FailingFindings []FailingFinding `json:"failing_findings" doc:"The first 50 failing findings."`
	Attestations    []Attestation    `json:"attestations"`
	Requirements    []RequirementRef `json:"requirements" doc:"Framework requirements this control satisfies."`
}

// DomainScore is one SCF domain's score.
type DomainScore struct {
	URN   string `json:"urn"`
	RefID string `json:"ref_id"`
	Name  string `json:"name"`
	Rollup
}

// ScoreTrendPoint is one day of scores.
type ScoreTrendPoint struct {
	Day        string              `json:"day" doc:"YYYY-MM-DD (UTC)"`
	Overall    *float64            `json:"overall"`
	Frameworks map[string]*float64 `json:"frameworks" doc:"By framework ID."`
}

// ComplianceOverview is the compliance dashboard's data.
type ComplianceOverview struct {
	Overall    Rollup             `json:"overall" doc:"The primary SCF version's controls."`
	SCF        *FrameworkSummary  `json:"scf,omitempty" doc:"The primary SCF version; absent when none is loaded."`
	Frameworks []FrameworkSummary `json:"frameworks"`
	Domains    []DomainScore      `json:"domains" doc:"Heatmap data: each SCF domain's score and controls by status."`
	Trend      []ScoreTrendPoint  `json:"trend"`
	Sync       SyncStatus         `json:"sync"`
}

// FindingLister lists findings (the findings store), for a control's failing findings.
type FindingLister interface {
	FindingList(ctx context.Context, p findings.ListParams) (findings.ListResult, error)
}

type storedScore struct {
	score  *float64
	counts map[string]int
}

// latestScores reads the team's newest snapshot: scope -> scope ID -> score.
func (s *Service) latestScores(ctx context.Context, q db.Querier, teamID string) (map[string]map[string]storedScore, error) {
	out := map[string]map[string]storedScore{}
	rows, err := q.QueryContext(ctx, `SELECT scope, scope_id, score, counts FROM compliance_scores
		WHERE team_id = $1 AND day = (SELECT MAX(day) FROM compliance_scores WHERE team_id = $1)`, teamID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var scope, id, counts string
		var sc storedScore
		if err := rows.Scan(&scope, &id, &sc.score, &counts); err != nil {
			return nil, err
		}
		_ = json.Unmarshal([]byte(counts), &sc.counts)
		if out[scope] == nil {
			out[scope] = map[string]storedScore{}
		}
		out[scope][id] = sc
	}
	return out, rows.Err()
}

func summary(g *graph, f *frameworkInfo, sc storedScore) FrameworkSummary {
	fs := FrameworkSummary{ID: f.ID, URN: f.URN, RefID: f.RefID, Family: f.Family, Name: f.Name, Version: f.Version, Source: f.Source,
		Provider: f.Provider, Copyright: f.Copyright, Description: f.Description, IsSCF: f.isSCF(), Primary: f == g.primary,
		Nodes: f.NodeCount, Assessable: f.AssessableCount, Domains: f.DomainCount, Score: sc.score, Counts: sc.counts}
	if fs.Counts == nil {
		fs.Counts = map[string]int{StatusNotAssessed: f.AssessableCount}
	}
	return fs
}

// FrameworkList lists every loaded framework with the team's score.
func (s *Service) FrameworkList(ctx context.Context, teamID string) ([]FrameworkSummary, error) {
	g, err := s.Engine.cache.get(ctx, s.d)
	if err != nil {
		return nil, err
	}
	var scores map[string]map[string]storedScore
	if err := s.d.ReadInTeam(ctx, teamID, func(q db.Querier) error {
		scores, err = s.latestScores(ctx, q, teamID)
		return err
	}); err != nil {
		return nil, err
	}
	out := make([]FrameworkSummary, 0, len(g.frameworks))
	for _, f := range g.frameworks {
		out = append(out, summary(g, f, scores[ScopeFramework][f.ID]))
	}
	return out, nil
}

// frameworkByRef finds a framework by ID or URN.
func (g *graph) framework(ref string) *frameworkInfo {
	if f := g.fwByID[ref]; f != nil {
		return f
	}
	for _, f := range g.frameworks {
		if f.URN == ref {
			return f
		}
	}
	return nil
}

func (s *Service) controlStates(ctx context.Context, teamID string) (map[string]controlState, error) {
	var states map[string]controlState
	err := s.d.ReadInTeam(ctx, teamID, func(q db.Querier) error {
		var err error
		states, err = readControlStates(ctx, q, teamID)
		return err
	})
	return states, err
}

// FrameworkGet returns a framework's requirement tree with the team's status
// and score per node, projected from the team's current control results.
func (s *Service) FrameworkGet(ctx context.Context, teamID, ref string) (FrameworkDetail, error) {
	g, err := s.Engine.cache.get(ctx, s.d)
	if err != nil {
		return FrameworkDetail{}, err
	}
	f := g.framework(ref)
	if f == nil {
		return FrameworkDetail{}, db.ErrNotFound
	}
	states, err := s.controlStates(ctx, teamID)
	if err != nil {
		return FrameworkDetail{}, err
	}
	scores, r := projectFramework(g, f, states)
	d := FrameworkDetail{FrameworkSummary: summary(g, f, storedScore{score: round2(r.Score), counts: r.Counts}), Tree: make([]FrameworkNode, 0, len(f.Nodes))}
	for _, n := range f.Nodes {
		ns := scores[n.URN]
		fn := FrameworkNode{URN: n.URN, ParentURN: n.ParentURN, RefID: n.RefID, Name: n.Name, Description: n.Description,
			Question: n.Question, Depth: n.Depth, Assessable: n.Assessable, Weight: n.Weight, Status: ns.Status, Score: ns.Score,
			Coverage: ns.Coverage, Counts: ns.Counts}
		if n.Assessable && !f.isSCF() {
			for _, l := range g.nodeLinks[n.URN] {
				c := g.controls[l.SCFURN]
				st := states[l.SCFURN]
				if st.Status == "" {
					st.Status = StatusNotAssessed
				}
				fn.Controls = append(fn.Controls, ControlRef{URN: c.URN, RefID: c.RefID, Name: c.Name, Status: st.Status, Score: st.Score,
					Coverage: l.Coverage, Via: l.Via})
			}
		}
		d.Tree = append(d.Tree, fn)
	}
	return d, nil
}

// ControlGet returns an SCF control (by URN, or by reference in the
// primary SCF version) with the team's result, evidence, failing findings,
// attestations and the requirements it satisfies.
func (s *Service) ControlGet(ctx context.Context, teamID, ref string) (ControlDetail, error) {
	g, err := s.Engine.cache.get(ctx, s.d)
	if err != nil {
		return ControlDetail{}, err
	}
	c, err := g.control(ref)
	if err != nil {
		return ControlDetail{}, err
	}
	d := ControlDetail{URN: c.URN, RefID: c.RefID, Name: c.Name, Description: c.Description, Question: c.Question, Weight: c.Weight,
		DomainURN: c.Domain, FrameworkID: c.Framework.ID, FrameworkName: c.Framework.Name, Extra: map[string]any{},
		FailingFindings: []FailingFinding{}, Requirements: []RequirementRef{}}
	if dom := g.nodes[c.Domain]; dom != nil {
		d.DomainName = dom.Name
	}
	_ = json.Unmarshal([]byte(c.Extra), &d.Extra)
	err = s.d.ReadInTeam(ctx, teamID, func(q db.Querier) error {
		var evidence string
		var at, updated db.NullTime
		err := q.QueryRowContext(ctx, `SELECT status, score, passed, failed, muted, manual, attested, evidence, last_scan_id, last_scan_at,
			updated_at FROM compliance_control_results WHERE team_id = $1 AND scf_urn = $2`, teamID, c.URN).Scan(&d.Result.Status,
			&d.Result.Score, &d.Result.Passed, &d.Result.Failed, &d.Result.Muted, &d.Result.Manual, &d.Result.Attested, &evidence,
			&d.Result.LastScanID, &at, &updated)
		if errors.Is(err, sql.ErrNoRows) {
			d.Result = scoreControl(c.URN, g.controlChecks[c.URN], nil, false)
			return nil
		}
		if err != nil {
			return err
		}
		d.Result.URN, d.Result.LastScanAt, d.UpdatedAt = c.URN, at.Ptr(), updated.Ptr()
		return json.Unmarshal([]byte(evidence), &d.Result.Evidence)
	})
	if err != nil {
		return d, err
	}
	var checks []string
	for _, l := range g.controlChecks[c.URN] {
		checks = append(checks, l.Check)
	}
	if len(checks) > 0 {
		d.FindingsFilter = "/api/v1/findings?" + url.Values{"check": {strings.Join(checks, ",")}, "status": {"open,reopened"}}.Encode()
		if fl, ok := s.findings.(FindingLister); ok && d.Result.Failed > 0 {
			list, err := fl.FindingList(ctx, findings.ListParams{TeamID: teamID, Check: checks, Status: []string{findings.StatusOpen,
				findings.StatusReopened}, Limit: 50})
			if err != nil {
				return d, err
			}
			for _, f := range list.Findings {
				if f.Result != "fail" {
					continue
				}
				d.FailingFindings = append(d.FailingFindings, FailingFinding{ID: f.ID, CheckID: f.CheckID, Title: f.Title, Severity: f.Severity,
					ResourceUID: f.ResourceUID, AccountUID: f.AccountUID, Region: f.Region})
			}
		}
	}
	if d.Attestations, err = s.AttestationList(ctx, teamID, c.URN); err != nil {
		return d, err
	}
	d.Requirements = append(d.Requirements, g.requirementsOf(c)...)
	return d, nil
}

// requirementsOf lists the framework requirements that map to control c
// (or to the same SCF key in the version chosen for their projection).
func (g *graph) requirementsOf(c *nodeInfo) []RequirementRef {
	var out []RequirementRef
	for urn, links := range g.nodeLinks {
		for _, l := range links {
			target := g.controls[l.SCFURN]
			if target == nil || target.Key != c.Key {
				continue
			}
			n := g.nodes[urn]
			if n == nil {
				continue
			}
			out = append(out, RequirementRef{FrameworkID: n.Framework.ID, FrameworkName: n.Framework.Name, URN: n.URN, RefID: n.RefID,
				Name: n.Name, Coverage: l.Coverage, Via: l.Via})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].FrameworkName != out[j].FrameworkName {
			return out[i].FrameworkName < out[j].FrameworkName
		}
		return out[i].RefID < out[j].RefID
	})
	return out
}

// ComplianceOverview returns the team's overall and per-framework scores, the
// domain heatmap and the trend over days days, from the stored snapshots.
func (s *Service) Overview(ctx context.Context, teamID string, days int) (ComplianceOverview, error) {
	if days <= 0 || days > 365 {
		days = 30
	}
	g, err := s.Engine.cache.get(ctx, s.d)
	if err != nil {
		return ComplianceOverview{}, err
	}
	o := ComplianceOverview{Frameworks: []FrameworkSummary{}, Domains: []DomainScore{}, Trend: []ScoreTrendPoint{}}
	var scores map[string]map[string]storedScore
	err = s.d.ReadInTeam(ctx, teamID, func(q db.Querier) error {
		if scores, err = s.latestScores(ctx, q, teamID); err != nil {
			return err
		}
		since := s.now().UTC().AddDate(0, 0, -days+1).Format(time.DateOnly)
		rows, err := q.QueryContext(ctx, `SELECT day, scope, scope_id, score FROM compliance_scores
			WHERE team_id = $1 AND day >= $2 AND scope IN ('overall', 'framework') ORDER BY day`, teamID, since)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var day, scope, id string
			var score *float64
			if err := rows.Scan(&day, &scope, &id, &score); err != nil {
				return err
			}
			if n := len(o.Trend); n == 0 || o.Trend[n-1].Day != day {
				o.Trend = append(o.Trend, ScoreTrendPoint{Day: day, Frameworks: map[string]*float64{}})
			}
			p := &o.Trend[len(o.Trend)-1]
			if scope == ScopeOverall {
				p.Overall = score
			} else {
				p.Frameworks[id] = score
			}
		}
		return rows.Err()
	})
	if err != nil {
		return o, err
	}
	if sc, ok := scores[ScopeOverall][""]; ok {
		o.Overall = Rollup{Score: sc.score, Counts: sc.counts}
	} else {
		o.Overall = Rollup{Counts: map[string]int{}}
		if g.primary != nil {
			o.Overall.Counts[StatusNotAssessed] = g.primary.AssessableCount
		}
	}
	for _, f := range g.frameworks {
		fs := summary(g, f, scores[ScopeFramework][f.ID])
		o.Frameworks = append(o.Frameworks, fs)
		if f == g.primary {
			o.SCF = &fs
		}
	}
	if g.primary != nil {
		for _, n := range g.primary.Nodes {
			if n.ParentURN != "" || n.Assessable {
				continue
			}
			sc := scores[ScopeDomain][n.URN]
			r := Rollup{Score: sc.score, Counts: sc.counts}
			if r.Counts == nil {
				r.Counts = map[string]int{}
			}
			o.Domains = append(o.Domains, DomainScore{URN: n.URN, RefID: n.RefID, Name: n.Name, Rollup: r})
		}
	}
	o.Sync, err = s.SyncStatusGet(ctx, teamID)
	return o, err
}
