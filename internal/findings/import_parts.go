package findings

// One SubJob's share of a scan run's import, recorded so that a rerun
// finds it instead of importing twice.

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/offloadsecurity/cspm/internal/db"
)

// PartResult is what the import of one part of a scan did.
type PartResult struct {
	ImportResult
	BySeverity map[string]int `json:"by_severity"`
	ByResult   map[string]int `json:"by_result"`
}

func importPartSet(ctx context.Context, q db.Querier, teamID, scanID, partID string, res PartResult, at time.Time) error {
	b, err := json.Marshal(res)
	if err != nil {
		return err
	}
	_, err = q.ExecContext(ctx, "INSERT INTO scan_parts (team_id, scan_id, part_id, result, created_at) VALUES ($1,$2,$3,$4,$5)",
		teamID, scanID, partID, string(b), at)
	if err != nil {
		return fmt.Errorf("record scan part %s: %w", partID, db.MapError(err))
	}
	return nil
}

// ImportPartGet returns what the import of a scan's part did, and false when
// that part was never imported (or its import rolled back).
func (s *Store) ImportPartGet(ctx context.Context, teamID, partID string) (PartResult, bool, error) {
	var (
		res PartResult
		raw string
	)
	err := s.d.ReadInTeam(ctx, teamID, func(q db.Querier) error {
		return q.QueryRowContext(ctx, "SELECT result FROM scan_parts WHERE team_id = $1 AND part_id = $2", teamID, partID).Scan(&raw)
	})
	if errors.Is(err, sql.ErrNoRows) {
		return PartResult{}, false, nil
	}
	if err != nil {
		return PartResult{}, false, err
	}
	if err := json.Unmarshal([]byte(raw), &res); err != nil {
		return PartResult{}, false, fmt.Errorf("scan part %s: %w", partID, err)
	}
	return res, true, nil
}
