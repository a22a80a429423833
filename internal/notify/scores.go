package notify

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"

	"github.com/offloadsecurity/cspm/internal/db"
)

// Score is one compliance score a sync computed: the team's overall one
// or a framework's.
type Score struct {
	Scope string  // "overall", or "framework:<id>"
	Name  string  // what a message calls it
	Score float64 // 0 to 100
}

// ObserveScores remembers the team's latest compliance scores and
// publishes compliance.score_dropped for each that fell since the last
// sync; each rule then says how many points count (min_drop).
func (s *Service) ObserveScores(ctx context.Context, teamID string, scores []Score) error {
	type drop struct {
		Score
		before float64
	}
	var drops []drop
	now := s.now().UTC()
	err := s.d.InTeam(ctx, teamID, func(q db.Querier) error {
		for _, sc := range scores {
			var before float64
			err := db.MapError(q.QueryRowContext(ctx, `SELECT score FROM notify_scores WHERE team_id = $1 AND scope = $2`, teamID, sc.Scope).Scan(&before))
			switch {
			case errors.Is(err, db.ErrNotFound):
				_, err = q.ExecContext(ctx, `INSERT INTO notify_scores (team_id, scope, score, updated_at) VALUES ($1, $2, $3, $4)`,
					teamID, sc.Scope, sc.Score, now)
				if err != nil {
					return err
				}
				continue
			case err != nil:
				return err
			}
			if _, err := q.ExecContext(ctx, `UPDATE notify_scores SET score = $1, updated_at = $2 WHERE team_id = $3 AND scope = $4`,
				sc.Score, now, teamID, sc.Scope); err != nil {
				return err
			}
			if before-sc.Score >= 0.05 {
				drops = append(drops, drop{sc, before})
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	var errs []error
	for _, d := range drops {
		pts := math.Round((d.before-d.Score.Score)*10) / 10
		ev := Event{ID: fmt.Sprintf("compliance:%s:%s", d.Scope, now.Format("20060102T150405.000000")), Type: EventComplianceDrop, TeamID: teamID,
			OccurredAt: now, Title: fmt.Sprintf("%s compliance score dropped %s points", d.Name, strconv.FormatFloat(pts, 'f', 1, 64)),
			Summary: fmt.Sprintf("From %.1f to %.1f.", d.before, d.Score.Score), Drop: pts, Path: "/compliance",
			Data: map[string]any{"scope": d.Scope, "before": d.before, "after": d.Score.Score}}
		errs = append(errs, s.Publish(ctx, ev))
	}
	return errors.Join(errs...)
}
