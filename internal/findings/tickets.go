package findings

import (
	"context"
	"strconv"

	"github.com/offloadsecurity/cspm/internal/db"
)

// FindingTicket (not TicketRef: the API names its schemas by type, and vuln
// has a TicketRef) is a finding's ticket in one of the team's ticket systems
// (internal/notify keeps them; the app looks them up through
// Store.TicketLookup, so this package never reads notify's tables).
type FindingTicket struct {
	Key             string `json:"key"`
	URL             string `json:"url"`
	State           string `json:"state" enum:"open,done"`
	StatusName      string `json:"status_name"`
	IntegrationKind string `json:"integration_kind" enum:"jira,github"`
}

// TicketLookup answers the tickets of some findings of a team in one batch,
// by finding ID.
type TicketLookup func(ctx context.Context, teamID string, ids []int64) (map[int64][]FindingTicket, error)

// withTickets fills the tickets of a page of findings with one lookup.
func withTickets(ctx context.Context, lookup TicketLookup, teamID string, list []Finding) error {
	if lookup == nil || len(list) == 0 {
		return nil
	}
	ids := make([]int64, len(list))
	for i, f := range list {
		ids[i] = f.ID
	}
	m, err := lookup(ctx, teamID, ids)
	if err != nil {
		return err
	}
	for i := range list {
		list[i].Tickets = m[list[i].ID]
	}
	return nil
}

// FindingsByIDs returns the team's findings of these IDs (those it has),
// in one query: the ticket sync reads its subjects' states with it.
func (s *Store) FindingsByIDs(ctx context.Context, teamID string, ids []int64) ([]Finding, error) {
	out := []Finding{}
	if len(ids) == 0 {
		return out, nil
	}
	err := s.d.ReadInTeam(ctx, teamID, func(q db.Querier) error {
		in, args := db.AnyOf(s.d.Dialect, "id", "int8", 2, ids)
		rows, err := q.QueryContext(ctx, "SELECT "+selectColumns+" FROM findings WHERE team_id = $1 AND "+in, append([]any{teamID}, args...)...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			f, err := scanFinding(rows)
			if err != nil {
				return err
			}
			out = append(out, f)
		}
		return rows.Err()
	})
	return out, err
}

// ParseID reads a finding ID as the API writes it.
func ParseID(s string) (int64, bool) {
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil && n > 0
}

// changed tells the app, after the commit, that triage changed findings.
func (s *Store) changed(ctx context.Context, teamID string) {
	if s.Changed != nil {
		s.Changed(ctx, teamID)
	}
}
