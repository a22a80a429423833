package findings

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/offloadsecurity/cspm/internal/db"
	"github.com/offloadsecurity/cspm/internal/ingest"
)

// The import outbox. What must follow a committed import (the notifications
// of what it opened, the two-way ticket sync, a compliance sync) is work of
// other databases, which no code may do inside the import's transaction
// (docs/architecture.md). Done only after the commit, it is lost if the
// process dies in between. So the import writes an outbox row in its own
// transaction, holding what that work needs: the row exists exactly when
// the import committed. The imports' job does the work after the commit and
// drains the row; a periodic job does it for the rows a dead process left.

// OutboxEntry is one committed import's pending after-commit work.
type OutboxEntry struct {
	TeamID    string     `json:"team_id"`
	ScanID    string     `json:"scan_id"`
	Filename  string     `json:"filename"`
	CreatedBy string     `json:"created_by"`
	Covers    []Coverage `json:"covers,omitempty"`
	// Result is what the import did, as far as the findings store knows
	// (Vulnerabilities, recorded after the commit, is not in it).
	Result    ImportResult `json:"result"`
	CreatedAt time.Time    `json:"created_at"`
}

// maxOpenedTags bounds the tags an import's result carries: enough for a
// notification rule's tag filter, not a copy of every resource's tags.
const maxOpenedTags = 200

// noteOpened counts a finding the import opened (created or reopened as an
// open failure), and keeps the tags of the critical and high ones, which
// notifications of new findings carry for rules filtering on tags.
func (r *importRun) noteOpened(f *ingest.Finding) {
	sev := f.Severity.Key()
	r.res.OpenedBySeverity[sev]++
	if sev != "critical" && sev != "high" {
		return
	}
	for _, t := range tagsOf(storedTags(f.Tags)) {
		if len(r.res.OpenedTags) >= maxOpenedTags {
			return
		}
		if !slices.Contains(r.res.OpenedTags, t) {
			r.res.OpenedTags = append(r.res.OpenedTags, t)
		}
	}
}

// writeOutbox records, in the import's transaction, the work that must
// follow its commit.
func writeOutbox(ctx context.Context, q db.Querier, p ImportParams, res ImportResult, now time.Time) error {
	slices.Sort(res.OpenedTags)
	e := OutboxEntry{TeamID: p.TeamID, ScanID: p.ScanID, Filename: p.Filename, CreatedBy: p.CreatedBy, Covers: p.Covers, Result: res, CreatedAt: now}
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	_, err = q.ExecContext(ctx, `INSERT INTO import_outbox (team_id, scan_id, payload, created_at) VALUES ($1, $2, $3, $4)`,
		p.TeamID, p.ScanID, string(b), now)
	if err != nil {
		return fmt.Errorf("import outbox: %w", err)
	}
	return nil
}

// ImportOutboxPending lists, oldest first, the outbox rows of imports that
// committed before olderThan ago and whose work is not done: a process
// died between the commit and that work.
func (s *Store) ImportOutboxPending(ctx context.Context, olderThan time.Duration, limit int) ([]OutboxEntry, error) {
	var out []OutboxEntry
	err := s.d.AsSystem(ctx, func(q db.Querier) error {
		rows, err := q.QueryContext(ctx, `SELECT payload FROM import_outbox WHERE created_at < $1 ORDER BY created_at LIMIT $2`,
			s.now().UTC().Add(-olderThan), limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var payload string
			if err := rows.Scan(&payload); err != nil {
				return err
			}
			var e OutboxEntry
			if err := json.Unmarshal([]byte(payload), &e); err != nil {
				return fmt.Errorf("import outbox: %w", err)
			}
			out = append(out, e)
		}
		return rows.Err()
	})
	return out, err
}

// ImportOutboxDone drains an import's outbox row once its work is done.
func (s *Store) ImportOutboxDone(ctx context.Context, teamID, scanID string) error {
	return s.d.InTeam(ctx, teamID, func(q db.Querier) error {
		_, err := q.ExecContext(ctx, `DELETE FROM import_outbox WHERE team_id = $1 AND scan_id = $2`, teamID, scanID)
		return err
	})
}
