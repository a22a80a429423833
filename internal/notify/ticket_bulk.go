package notify

import (
	"context"
	"errors"
	"fmt"

	"github.com/offloadsecurity/cspm/internal/audit"
	"github.com/offloadsecurity/cspm/internal/db"
)

// BulkTicketParams sends a selection of the findings explorer (or of the
// vulnerabilities list) to one ticket system.
type BulkTicketParams struct {
	IntegrationID string   `json:"integration_id" maxLength:"64"`
	SubjectKind   string   `json:"subject_kind" enum:"finding,vulnerability"`
	SubjectIDs    []string `json:"subject_ids" minItems:"1" maxItems:"100" doc:"Finding IDs, or vulnerability IDs (CVE-...)."`
}

// Bulk ticket outcomes per subject.
const (
	BulkCreated = "created" // a ticket was opened
	BulkExists  = "exists"  // it had one in that integration: skipped
	BulkFailed  = "failed"  // see error; the others went on
)

// BulkTicketResult is one subject's outcome.
type BulkTicketResult struct {
	SubjectID string  `json:"subject_id"`
	Status    string  `json:"status" enum:"created,exists,failed"`
	Ticket    *Ticket `json:"ticket,omitempty"`
	Error     string  `json:"error,omitempty"`
}

// TicketBulk opens a ticket per subject of the selection that has none in
// the integration yet. Unlike TicketCreate, one subject failing (a finding
// gone, the ticket system refusing one issue) does not stop the rest: each
// answers its own outcome. An integration the team does not have is
// ErrNotFound before anything is sent.
func (s *Service) TicketBulk(ctx context.Context, teamID string, p BulkTicketParams, subjects Subjects, actor audit.Event) ([]BulkTicketResult, error) {
	if p.SubjectKind != "finding" && p.SubjectKind != "vulnerability" {
		return nil, invalid([]string{fmt.Sprintf("subject_kind %q: want finding or vulnerability", p.SubjectKind)})
	}
	var (
		it       Integration
		existing map[string]Ticket
	)
	if err := s.d.ReadInTeam(ctx, teamID, func(q db.Querier) error {
		var err error
		if it, err = s.integrationGet(ctx, q, teamID, p.IntegrationID, true); err != nil {
			return err
		}
		existing, err = s.ticketsOf(ctx, q, teamID, it.ID, p.SubjectKind, p.SubjectIDs)
		return err
	}); err != nil {
		return nil, err
	}
	out := make([]BulkTicketResult, 0, len(p.SubjectIDs))
	seen := map[string]bool{}
	for _, sid := range p.SubjectIDs {
		if seen[sid] {
			continue
		}
		seen[sid] = true
		if t, ok := existing[sid]; ok {
			out = append(out, BulkTicketResult{SubjectID: sid, Status: BulkExists, Ticket: &t})
			continue
		}
		t, existed, err := s.ticketOne(ctx, teamID, it, p.SubjectKind, sid, subjects, actor)
		switch {
		case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
			return out, err
		case err != nil:
			msg := err.Error()
			if errors.Is(err, db.ErrNotFound) {
				msg = fmt.Sprintf("%s %s: not found", p.SubjectKind, sid)
			}
			out = append(out, BulkTicketResult{SubjectID: sid, Status: BulkFailed, Error: msg})
		case existed: // sent by someone else meanwhile
			out = append(out, BulkTicketResult{SubjectID: sid, Status: BulkExists, Ticket: &t})
		default:
			out = append(out, BulkTicketResult{SubjectID: sid, Status: BulkCreated, Ticket: &t})
		}
	}
	return out, nil
}

// ticketsOf reads, in one query, the tickets some subjects have in one
// integration, by subject ID.
func (s *Service) ticketsOf(ctx context.Context, q db.Querier, teamID, integrationID, kind string, ids []string) (map[string]Ticket, error) {
	in, args := db.AnyOf(s.d.Dialect, "t.subject_id", "text", 4, ids)
	rows, err := q.QueryContext(ctx, `SELECT `+ticketColsT+ticketFrom+` WHERE t.team_id = $1 AND t.integration_id = $2 AND t.subject_kind = $3 AND `+in,
		append([]any{teamID, integrationID, kind}, args...)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]Ticket{}
	for rows.Next() {
		t, err := scanTicket(rows)
		if err != nil {
			return nil, err
		}
		out[t.SubjectID] = t
	}
	return out, rows.Err()
}
