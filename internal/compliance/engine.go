package compliance

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/offloadsecurity/cspm/internal/db"
	"github.com/offloadsecurity/cspm/internal/findings"
)

// Engine is the seed's AutonomousComplianceEngine: it scores a team's SCF
// controls from its findings and rolls the scores up per domain, overall
// and per loaded framework.
type Engine struct {
	s     *Service
	cache graphCache
}

// SyncResult is what one sync did.
type SyncResult struct {
	TeamID          string           `json:"team_id"`
	Full            bool             `json:"full"`
	ControlsTouched int              `json:"controls_touched"`
	DurationMS      int64            `json:"duration_ms"`
	Overall         Rollup           `json:"overall"`
	Frameworks      []FrameworkScore `json:"frameworks"`
}

// FrameworkScore is a framework's score for a team.
type FrameworkScore struct {
	ID      string `json:"id"`
	URN     string `json:"urn"`
	Name    string `json:"name"`
	Version string `json:"version"`
	Rollup
}

// Sync scores the team. checks nil is a full sync of every SCF control;
// otherwise only the controls those checks reach (and those with
// attestations, which may have expired) are scored again, from every check
// that reaches them, so an incremental sync leaves the same results as a
// full one. The rollups and today's snapshot are then computed from all the
// team's stored control results.
func (e *Engine) Sync(ctx context.Context, teamID string, checks []string) (SyncResult, error) {
	return e.run(ctx, teamID, checks, nil)
}

// syncControls scores the given controls again (after an attestation changed).
func (e *Engine) syncControls(ctx context.Context, teamID string, urns []string) (SyncResult, error) {
	return e.run(ctx, teamID, []string{}, urns)
}

func (e *Engine) run(ctx context.Context, teamID string, checks, controls []string) (SyncResult, error) {
	start := e.s.now()
	res, err := e.sync(ctx, teamID, checks, controls, start)
	if err != nil {
		e.recordStatus(ctx, teamID, checks == nil, start, 0, err)
	} else if e.s.synced != nil {
		res.TeamID = teamID
		e.s.synced(ctx, res)
	}
	return res, err
}

func (e *Engine) sync(ctx context.Context, teamID string, checks, controls []string, start time.Time) (SyncResult, error) {
	if checks != nil {
		// An incremental sync builds on the counts a full sync stored.
		var full db.NullTime
		err := e.s.d.ReadInTeam(ctx, teamID, func(q db.Querier) error {
			return q.QueryRowContext(ctx, `SELECT last_full_at FROM compliance_sync_status WHERE team_id = $1`, teamID).Scan(&full)
		})
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return SyncResult{}, err
		}
		if !full.Valid {
			checks = nil
		}
	}
	res := SyncResult{TeamID: teamID, Full: checks == nil}
	// Fresh counts: every check on a full sync, else only the checks that
	// changed; the other checks of the touched controls come from the
	// counts the last syncs stored.
	var fresh []findings.CheckResult
	if e.s.findings != nil {
		var err error
		if fresh, err = e.s.findings.CheckResults(ctx, teamID, checks); err != nil {
			return res, fmt.Errorf("check results: %w", err)
		}
	}
	// Checks no sync has seen bring their findings' own compliance map;
	// a failure to read it leaves the sync to the maps already known.
	if _, err := e.s.learnFindingMaps(ctx, teamID, newChecks(checks, fresh)); err != nil && e.s.logger != nil {
		e.s.logger.Warn("compliance: reading the findings' compliance maps failed", "team_id", teamID, "err", err)
	}
	g, err := e.cache.get(ctx, e.s.d)
	if err != nil {
		return res, err
	}
	now := start.UTC()
	attested, attestedAny, err := e.s.attestedControls(ctx, teamID, now)
	if err != nil {
		return res, err
	}
	// The controls to score, and the checks they need.
	var touched []string
	if checks == nil {
		for urn := range g.controls {
			touched = append(touched, urn)
		}
	} else {
		set := map[string]bool{}
		wanted := map[string]bool{}
		for _, c := range checks {
			wanted[c] = true
		}
		for _, links := range g.checkLinks {
			if len(links) == 0 || !wanted[links[0].Check] {
				continue
			}
			for _, l := range links {
				set[l.SCFURN] = true
			}
		}
		for _, urn := range controls {
			attestedAny[urn] = true
		}
		for urn := range attestedAny {
			if g.controls[urn] != nil {
				set[urn] = true
			}
		}
		for urn := range set {
			touched = append(touched, urn)
		}
	}
	sort.Strings(touched)
	var needed []string
	if checks != nil {
		seen := map[string]bool{}
		needed = []string{}
		for _, urn := range touched {
			for _, l := range g.controlChecks[urn] {
				if !seen[l.Check] {
					seen[l.Check] = true
					needed = append(needed, l.Check)
				}
			}
		}
	}
	results := map[string]*findings.CheckResult{}
	if checks != nil && len(needed) > 0 {
		stored, err := e.storedCheckResults(ctx, teamID, needed)
		if err != nil {
			return res, err
		}
		for i := range stored {
			results[checkKeyOf(stored[i].Tool, stored[i].CheckID)] = &stored[i]
		}
		changed := map[string]bool{}
		for _, c := range checks {
			changed[c] = true
		}
		for k, r := range results { // a changed check with no findings left has no fresh row
			if changed[r.CheckID] {
				delete(results, k)
			}
		}
	}
	for i := range fresh {
		results[checkKeyOf(fresh[i].Tool, fresh[i].CheckID)] = &fresh[i]
	}
	scored := make([]ControlResult, 0, len(touched))
	for _, urn := range touched {
		scored = append(scored, scoreControl(urn, g.controlChecks[urn], results, attested[urn]))
	}
	err = e.s.d.InTeam(ctx, teamID, func(q db.Querier) error {
		if e.s.d.Dialect == db.Postgres {
			// One sync of a team at a time: two would interleave their
			// deletes and inserts.
			if _, err := q.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtext('compliance_sync:' || $1))`, teamID); err != nil {
				return err
			}
		}
		if err := writeCheckResults(ctx, q, e.s.d.Dialect, teamID, checks, fresh); err != nil {
			return err
		}
		if err := writeControlResults(ctx, q, e.s.d.Dialect, teamID, scored, checks == nil, now); err != nil {
			return err
		}
		states, err := readControlStates(ctx, q, teamID)
		if err != nil {
			return err
		}
		res.Overall, res.Frameworks, err = writeScores(ctx, q, e.s.d.Dialect, g, teamID, states, now)
		return err
	})
	if err != nil {
		return res, err
	}
	res.ControlsTouched = len(scored)
	res.DurationMS = e.s.now().Sub(start).Milliseconds()
	e.recordStatus(ctx, teamID, res.Full, start, len(scored), nil)
	return res, nil
}

// storedCheckResults reads the stored counts of checks (any tool).
func (e *Engine) storedCheckResults(ctx context.Context, teamID string, checks []string) ([]findings.CheckResult, error) {
	var out []findings.CheckResult
	err := e.s.d.ReadInTeam(ctx, teamID, func(q db.Querier) error {
		cond, args := db.AnyOf(e.s.d.Dialect, "check_id", "text", 2, checks)
		rows, err := q.QueryContext(ctx, `SELECT tool, check_id, passed, failed, muted, manual, last_scan_id, last_scan_at
			FROM compliance_check_results WHERE team_id = $1 AND `+cond, append([]any{teamID}, args...)...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var r findings.CheckResult
			var at db.NullTime
			if err := rows.Scan(&r.Tool, &r.CheckID, &r.Passed, &r.Failed, &r.Muted, &r.Manual, &r.LastScanID, &at); err != nil {
				return err
			}
			r.LastScanAt = at.Ptr()
			out = append(out, r)
		}
		return rows.Err()
	})
	return out, err
}

// writeCheckResults stores the fresh counts: all of the team's on a full
// sync (checks nil), else those of the changed checks.
func writeCheckResults(ctx context.Context, q db.Querier, d db.Dialect, teamID string, checks []string, fresh []findings.CheckResult) error {
	if checks == nil {
		if _, err := q.ExecContext(ctx, `DELETE FROM compliance_check_results WHERE team_id = $1`, teamID); err != nil {
			return err
		}
	} else {
		for lo := 0; lo < len(checks); lo += 500 {
			cond, args := db.AnyOf(d, "check_id", "text", 2, checks[lo:min(lo+500, len(checks))])
			if _, err := q.ExecContext(ctx, `DELETE FROM compliance_check_results WHERE team_id = $1 AND `+cond,
				append([]any{teamID}, args...)...); err != nil {
				return err
			}
		}
	}
	rows := make([]any, 0, len(fresh)*9)
	for _, r := range fresh {
		rows = append(rows, teamID, r.Tool, r.CheckID, r.Passed, r.Failed, r.Muted, r.Manual, r.LastScanID, nullTime(r.LastScanAt))
	}
	return db.InsertRows(ctx, q, d, `INSERT INTO compliance_check_results (team_id, tool, check_id, passed, failed, muted, manual,
		last_scan_id, last_scan_at)`, 9, rows, 500, "")
}

func writeControlResults(ctx context.Context, q db.Querier, d db.Dialect, teamID string, scored []ControlResult, full bool, now time.Time) error {
	if full {
		if _, err := q.ExecContext(ctx, `DELETE FROM compliance_control_results WHERE team_id = $1`, teamID); err != nil {
			return err
		}
	} else {
		for lo := 0; lo < len(scored); lo += 500 {
			part := scored[lo:min(lo+500, len(scored))]
			urns := make([]string, len(part))
			for i := range part {
				urns[i] = part[i].URN
			}
			cond, args := db.AnyOf(d, "scf_urn", "text", 2, urns)
			if _, err := q.ExecContext(ctx, `DELETE FROM compliance_control_results WHERE team_id = $1 AND `+cond,
				append([]any{teamID}, args...)...); err != nil {
				return err
			}
		}
	}
	rows := make([]any, 0, len(scored)*13)
	for i := range scored {
		c := &scored[i]
		ev, err := json.Marshal(c.Evidence)
		if err != nil {
			return err
		}
		rows = append(rows, teamID, c.URN, c.Status, c.Score, c.Passed, c.Failed, c.Muted, c.Manual, c.Attested, string(ev),
			c.LastScanID, nullTime(c.LastScanAt), now)
	}
	return db.InsertRows(ctx, q, d, `INSERT INTO compliance_control_results (team_id, scf_urn, status, score, passed, failed, muted,
		manual, attested, evidence, last_scan_id, last_scan_at, updated_at)`, 13, rows, 400, "")
}

func readControlStates(ctx context.Context, q db.Querier, teamID string) (map[string]controlState, error) {
	rows, err := q.QueryContext(ctx, `SELECT scf_urn, status, score FROM compliance_control_results WHERE team_id = $1`, teamID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]controlState{}
	for rows.Next() {
		var urn string
		var st controlState
		if err := rows.Scan(&urn, &st.Status, &st.Score); err != nil {
			return nil, err
		}
		out[urn] = st
	}
	return out, rows.Err()
}

// Scopes of a stored score.
const (
	ScopeOverall   = "overall"
	ScopeFramework = "framework"
	ScopeDomain    = "domain"
)

// writeScores computes every rollup and replaces today's snapshot rows.
func writeScores(ctx context.Context, q db.Querier, d db.Dialect, g *graph, teamID string, states map[string]controlState,
	now time.Time) (Rollup, []FrameworkScore, error) {
	overall := Rollup{Counts: map[string]int{}}
	for _, s := range Statuses {
		overall.Counts[s] = 0
	}
	var rows []any
	add := func(scope, scopeID string, r Rollup) {
		counts, _ := json.Marshal(r.Counts)
		rows = append(rows, teamID, now.Format(time.DateOnly), scope, scopeID, round2(r.Score), string(counts))
	}
	frameworks := make([]FrameworkScore, 0, len(g.frameworks))
	for _, f := range g.frameworks {
		_, r := projectFramework(g, f, states)
		r.Score = round2(r.Score)
		frameworks = append(frameworks, FrameworkScore{ID: f.ID, URN: f.URN, Name: f.Name, Version: f.Version, Rollup: r})
		add(ScopeFramework, f.ID, r)
		if f == g.primary {
			overall = r
			domains := map[string]*weighted{}
			var order []string
			for _, n := range f.Nodes {
				if !n.Assessable {
					continue
				}
				w := domains[n.Domain]
				if w == nil {
					w = &weighted{}
					domains[n.Domain] = w
					order = append(order, n.Domain)
				}
				st, ok := states[n.URN]
				if !ok {
					st = controlState{Status: StatusNotAssessed}
				}
				w.add(st.Status, st.Score, n.Weight)
			}
			for _, dom := range order {
				r := domains[dom].rollup()
				r.Score = round2(r.Score)
				add(ScopeDomain, dom, r)
			}
		}
	}
	add(ScopeOverall, "", overall)
	if _, err := q.ExecContext(ctx, `DELETE FROM compliance_scores WHERE team_id = $1 AND day = $2`, teamID, now.Format(time.DateOnly)); err != nil {
		return overall, frameworks, err
	}
	err := db.InsertRows(ctx, q, d, `INSERT INTO compliance_scores (team_id, day, scope, scope_id, score, counts)`, 6, rows, 500, "")
	return overall, frameworks, err
}

// recordStatus keeps the team's sync status; a failure to write it is
// logged, not returned: the sync's own outcome matters more.
func (e *Engine) recordStatus(ctx context.Context, teamID string, full bool, start time.Time, touched int, syncErr error) {
	now := e.s.now().UTC()
	var version int64
	_ = e.s.d.Reader().QueryRowContext(ctx, `SELECT version FROM compliance_content_state WHERE id = 1`).Scan(&version)
	msg := ""
	if syncErr != nil {
		msg = syncErr.Error()
	}
	col := "last_incremental_at"
	if full {
		col = "last_full_at"
	}
	err := e.s.d.InTeam(ctx, teamID, func(q db.Querier) error {
		if syncErr != nil {
			_, err := q.ExecContext(ctx, `INSERT INTO compliance_sync_status (team_id, last_error, updated_at) VALUES ($1, $2, $3)
				ON CONFLICT (team_id) DO UPDATE SET last_error = excluded.last_error, updated_at = excluded.updated_at`, teamID, msg, now)
			return err
		}
		_, err := q.ExecContext(ctx, `INSERT INTO compliance_sync_status (team_id, `+col+`, duration_ms, controls_touched, content_version,
			last_error, updated_at) VALUES ($1, $2, $3, $4, $5, '', $2)
			ON CONFLICT (team_id) DO UPDATE SET `+col+` = excluded.`+col+`, duration_ms = excluded.duration_ms,
			controls_touched = excluded.controls_touched, content_version = excluded.content_version, last_error = '',
			updated_at = excluded.updated_at`, teamID, now, now.Sub(start.UTC()).Milliseconds(), touched, version)
		return err
	})
	if err != nil {
		e.s.logger.Warn("compliance sync status not recorded", "team_id", teamID, "err", err)
	}
}

// SyncStatus is a team's last syncs.
type SyncStatus struct {
	LastFullAt        *time.Time `json:"last_full_at"`
	LastIncrementalAt *time.Time `json:"last_incremental_at"`
	DurationMS        int64      `json:"duration_ms" doc:"Of the last successful sync."`
	ControlsTouched   int        `json:"controls_touched"`
	ContentVersion    int64      `json:"content_version" doc:"The registry content version the last sync used."`
	CurrentVersion    int64      `json:"current_content_version" doc:"A higher version than content_version: content changed since; a sync is due."`
	LastError         string     `json:"last_error"`
}

// SyncStatusGet returns the team's sync status (zero values before the first sync).
func (s *Service) SyncStatusGet(ctx context.Context, teamID string) (SyncStatus, error) {
	var st SyncStatus
	err := s.d.ReadInTeam(ctx, teamID, func(q db.Querier) error {
		if err := q.QueryRowContext(ctx, `SELECT version FROM compliance_content_state WHERE id = 1`).Scan(&st.CurrentVersion); err != nil {
			return err
		}
		var full, inc db.NullTime
		err := q.QueryRowContext(ctx, `SELECT last_full_at, last_incremental_at, duration_ms, controls_touched, content_version, last_error
			FROM compliance_sync_status WHERE team_id = $1`, teamID).Scan(&full, &inc, &st.DurationMS, &st.ControlsTouched,
			&st.ContentVersion, &st.LastError)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		st.LastFullAt, st.LastIncrementalAt = full.Ptr(), inc.Ptr()
		return err
	})
	return st, err
}

// newChecks are the Prowler checks a sync is about: the changed ones of an
// incremental sync, every one with results on a full sync.
func newChecks(changed []string, fresh []findings.CheckResult) []string {
	if changed != nil {
		return changed
	}
	out := make([]string, 0, len(fresh))
	for _, r := range fresh {
		if r.Tool == "prowler" {
			out = append(out, r.CheckID)
		}
	}
	return out
}
