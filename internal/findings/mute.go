package findings

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/offloadsecurity/cspm/internal/db"
	"github.com/offloadsecurity/cspm/internal/id"
	"github.com/offloadsecurity/cspm/internal/ingest"
)

// Mute kinds: how a finding came to be muted.
const (
	MuteByRule       = "rule"
	MuteByPerson     = "mute"
	MuteRiskAccepted = "risk_accepted"
	// MuteByTool: the report itself says the finding does not apply (a
	// Checkov skip, a vendor's not_affected or will_not_fix status).
	MuteByTool = "tool"
)

// MuteRule mutes the findings it matches, at ingestion and retroactively.
// Patterns are globs (* any run of characters, ? one), case-insensitive;
// empty criteria match everything, but a rule needs at least one.
type MuteRule struct {
	ID              string     `json:"id"`
	CheckPattern    string     `json:"check_pattern,omitempty" maxLength:"200" doc:"Glob on the check, rule or template ID."`
	ResourcePattern string     `json:"resource_pattern,omitempty" maxLength:"500" doc:"Glob on the resource UID."`
	AccountUID      string     `json:"account_uid,omitempty" maxLength:"100"`
	Region          string     `json:"region,omitempty" maxLength:"50"`
	Tool            string     `json:"tool,omitempty" maxLength:"50"`
	Tag             string     `json:"tag,omitempty" maxLength:"300" doc:"A resource tag: key=value, or key for any value (case-insensitive)."`
	Reason          string     `json:"reason" minLength:"3" maxLength:"1000"`
	CreatedBy       string     `json:"created_by"`
	CreatedAt       time.Time  `json:"created_at"`
	ExpiresAt       *time.Time `json:"expires_at,omitempty"`
	// kind is how a finding it covers is muted: MuteByRule, unless it is
	// the report's own suppression (see toolMute).
	kind string
}

// muteKind is the mute_kind of the findings the rule mutes.
func (r *MuteRule) muteKind() string {
	if r.kind != "" {
		return r.kind
	}
	return MuteByRule
}

// toolMute is the mute a report itself asks for a finding: its tool's
// suppression, or a vendor status that makes the vulnerability not open.
// Nil when it asks for none.
func toolMute(f *ingest.Finding) *MuteRule {
	switch {
	case f.Suppression != "":
		return &MuteRule{kind: MuteByTool, Reason: f.Suppression, CreatedBy: f.Tool}
	case f.VendorStatus != "":
		return &MuteRule{kind: MuteByTool, Reason: "vendor status " + f.VendorStatus + " (as " + f.Tool + " reports it)", CreatedBy: f.Tool}
	}
	return nil
}

// ErrInvalidRule is wrapped by a rule's validation errors.
var ErrInvalidRule = errors.New("invalid mute rule")

func (r *MuteRule) validate() error {
	if strings.TrimSpace(r.Reason) == "" {
		return fmt.Errorf("%w: a reason is required", ErrInvalidRule)
	}
	r.Tag = strings.TrimSpace(r.Tag)
	if r.Tag != "" && (strings.Contains(r.Tag, "|") || strings.HasPrefix(r.Tag, "=")) {
		return fmt.Errorf("%w: tag is key=value or key", ErrInvalidRule)
	}
	if r.CheckPattern == "" && r.ResourcePattern == "" && r.AccountUID == "" && r.Region == "" && r.Tool == "" && r.Tag == "" {
		return fmt.Errorf("%w: give at least one of check_pattern, resource_pattern, account_uid, region, tool, tag", ErrInvalidRule)
	}
	if r.CheckPattern == "*" && r.ResourcePattern == "" && r.AccountUID == "" && r.Region == "" && r.Tool == "" && r.Tag == "" {
		return fmt.Errorf("%w: a rule that mutes everything is not a rule", ErrInvalidRule)
	}
	return nil
}

// matches reports whether the rule covers f; the SQL of where() says the same.
func (r *MuteRule) matches(f *ingest.Finding) bool {
	return globMatch(r.CheckPattern, f.CheckID) && globMatch(r.ResourcePattern, f.ResourceUID) &&
		(r.AccountUID == "" || r.AccountUID == f.AccountUID) && (r.Region == "" || r.Region == f.Region) &&
		(r.Tool == "" || r.Tool == f.Tool) && (r.Tag == "" || hasTag(f.Tags, r.Tag))
}

// hasTag reports whether tags hold want: "key=value" exactly, or "key"
// with any value (case-insensitive).
func hasTag(tags []string, want string) bool {
	want = strings.ToLower(want)
	for _, t := range tags {
		t = strings.ToLower(t)
		if t == want {
			return true
		}
		if !strings.Contains(want, "=") {
			if k, _, _ := strings.Cut(t, "="); k == want {
				return true
			}
		}
	}
	return false
}

func (r *MuteRule) where(w *db.Where) {
	if r.CheckPattern != "" {
		w.Add(`lower(check_id) LIKE %s ESCAPE '\'`, globToLike(r.CheckPattern))
	}
	if r.ResourcePattern != "" {
		w.Add(`lower(resource_uid) LIKE %s ESCAPE '\'`, globToLike(r.ResourcePattern))
	}
	if r.AccountUID != "" {
		w.Add("account_uid = %s", r.AccountUID)
	}
	if r.Region != "" {
		w.Add("region = %s", r.Region)
	}
	if r.Tool != "" {
		w.Add("tool = %s", r.Tool)
	}
	if r.Tag != "" {
		// resource_tags is "|k=v|k2|", lowercased; a bare key matches any value.
		t := strings.ToLower(r.Tag)
		if strings.Contains(t, "=") {
			w.Add(`resource_tags LIKE %s ESCAPE '\'`, "%|"+escapeLike(t)+"|%")
		} else {
			w.Add(`(resource_tags LIKE %s ESCAPE '\' OR resource_tags LIKE %s ESCAPE '\')`, "%|"+escapeLike(t)+"|%", "%|"+escapeLike(t)+"=%")
		}
	}
}

// escapeLike escapes LIKE's wildcards (with \ as the escape).
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`).Replace(s)
}

// globMatch matches s against a case-insensitive glob; "" matches anything.
func globMatch(pattern, s string) bool {
	if pattern == "" {
		return true
	}
	p, str := []rune(strings.ToLower(pattern)), []rune(strings.ToLower(s))
	// Iterative matching with backtracking to the last star: linear in practice.
	pi, si, star, mark := 0, 0, -1, 0
	for si < len(str) {
		switch {
		case pi < len(p) && (p[pi] == '?' || p[pi] == str[si]):
			pi++
			si++
		case pi < len(p) && p[pi] == '*':
			star, mark = pi, si
			pi++
		case star >= 0:
			pi, mark = star+1, mark+1
			si = mark
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}

// globToLike turns a glob into a LIKE pattern (with \ as the escape).
func globToLike(pattern string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(pattern) {
		switch r {
		case '*':
			b.WriteByte('%')
		case '?':
			b.WriteByte('_')
		case '%', '_', '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

const ruleColumns = "id, check_pattern, resource_pattern, account_uid, region, tool, tag, reason, created_by, created_at, expires_at"

func scanRule(row interface{ Scan(...any) error }) (MuteRule, error) {
	var (
		r   MuteRule
		exp db.NullTime
	)
	if err := row.Scan(&r.ID, &r.CheckPattern, &r.ResourcePattern, &r.AccountUID, &r.Region, &r.Tool, &r.Tag, &r.Reason, &r.CreatedBy, &r.CreatedAt, &exp); err != nil {
		return MuteRule{}, db.MapError(err)
	}
	r.ExpiresAt = exp.Ptr()
	return r, nil
}

// activeRules loads the team's unexpired rules.
func activeRules(ctx context.Context, q db.Querier, teamID string, now time.Time) ([]MuteRule, error) {
	rows, err := q.QueryContext(ctx, "SELECT "+ruleColumns+" FROM mute_rules WHERE team_id = $1 AND (expires_at IS NULL OR expires_at > $2)", teamID, now)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []MuteRule
	for rows.Next() {
		r, err := scanRule(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// MuteRuleList lists the team's rules, expired ones included.
func (s *Store) MuteRuleList(ctx context.Context, teamID string) ([]MuteRule, error) {
	out := []MuteRule{}
	err := s.d.ReadInTeam(ctx, teamID, func(q db.Querier) error {
		rows, err := q.QueryContext(ctx, "SELECT "+ruleColumns+" FROM mute_rules WHERE team_id = $1 ORDER BY created_at DESC", teamID)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			r, err := scanRule(rows)
			if err != nil {
				return err
			}
			out = append(out, r)
		}
		return rows.Err()
	})
	return out, err
}

// MuteRuleCreate stores a rule and mutes the stored findings it matches;
// it returns the rule and how many findings it muted.
func (s *Store) MuteRuleCreate(ctx context.Context, teamID, actor string, r MuteRule) (MuteRule, int, error) {
	if err := r.validate(); err != nil {
		return MuteRule{}, 0, err
	}
	now := s.now().UTC()
	r.ID, r.CreatedBy, r.CreatedAt = id.New(), actor, now
	var exp any
	if r.ExpiresAt != nil {
		if !r.ExpiresAt.After(now) {
			return MuteRule{}, 0, fmt.Errorf("%w: expires_at is in the past", ErrInvalidRule)
		}
		exp = r.ExpiresAt.UTC()
	}
	muted := 0
	err := s.d.InTeam(ctx, teamID, func(q db.Querier) error {
		if _, err := q.ExecContext(ctx, "INSERT INTO mute_rules ("+ruleColumns+", team_id) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12)",
			r.ID, r.CheckPattern, r.ResourcePattern, r.AccountUID, r.Region, r.Tool, r.Tag, r.Reason, actor, now, exp, teamID); err != nil {
			return err
		}
		w := &db.Where{}
		w.Add("team_id = %s", teamID)
		w.Conds = append(w.Conds, notParked)
		r.where(w)
		ids, err := findingStates(ctx, q, "SELECT id, status FROM findings WHERE "+w.SQL(), w.Args)
		if err != nil {
			return err
		}
		muted = len(ids)
		return setMuted(ctx, q, teamID, ids, MuteByRule, r.ID, r.Reason, actor, r.ExpiresAt, now)
	})
	return r, muted, err
}

// MuteRuleDelete removes a rule and unmutes the findings it had muted.
func (s *Store) MuteRuleDelete(ctx context.Context, teamID, ruleID string) (int, error) {
	n := 0
	err := s.d.InTeam(ctx, teamID, func(q db.Querier) error {
		res, err := q.ExecContext(ctx, "DELETE FROM mute_rules WHERE team_id = $1 AND id = $2", teamID, ruleID)
		if err != nil {
			return err
		}
		if c, _ := res.RowsAffected(); c == 0 {
			return db.ErrNotFound
		}
		n, err = unmuteWhere(ctx, q, teamID, "mute_rule_id = $2", []any{teamID, ruleID}, s.now().UTC())
		return err
	})
	return n, err
}

// FindingMute mutes or risk-accepts one finding, until until (nil: indefinitely).
func (s *Store) FindingMute(ctx context.Context, teamID string, findingID int64, actor, kind, reason string, until *time.Time) error {
	if kind != MuteByPerson && kind != MuteRiskAccepted {
		return fmt.Errorf("%w: kind must be mute or risk_accepted", ErrInvalidRule)
	}
	if strings.TrimSpace(reason) == "" {
		return fmt.Errorf("%w: a reason is required", ErrInvalidRule)
	}
	now := s.now().UTC()
	if until != nil && !until.After(now) {
		return fmt.Errorf("%w: until is in the past", ErrInvalidRule)
	}
	if kind == MuteRiskAccepted {
		// A risk acceptance, kept as such: pending when the team requires
		// an approver (see FindingsBulk); one already accepted or pending
		// stays as it is.
		_, err := s.one(ctx, BulkParams{TeamID: teamID, Actor: actor, Action: BulkAcceptRisk, Reason: reason, Until: until}, findingID)
		return err
	}
	return s.d.InTeam(ctx, teamID, func(q db.Querier) error {
		ids, err := findingStates(ctx, q, "SELECT id, status FROM findings WHERE team_id = $1 AND id = $2", []any{teamID, findingID})
		if err != nil {
			return err
		}
		if len(ids) == 0 {
			return db.ErrNotFound
		}
		return setMuted(ctx, q, teamID, ids, kind, "", reason, actor, until, now)
	})
}

// FindingUnmute ends a finding's mute, whatever made it, and revokes its
// risk acceptances.
func (s *Store) FindingUnmute(ctx context.Context, teamID string, findingID int64) error {
	err := s.findingUnmute(ctx, teamID, findingID)
	if err == nil {
		s.changed(ctx, teamID) // a risk acceptance revoked reopens its ticket
	}
	return err
}

func (s *Store) findingUnmute(ctx context.Context, teamID string, findingID int64) error {
	return s.d.InTeam(ctx, teamID, func(q db.Querier) error {
		if _, err := revokeAcceptances(ctx, q, teamID, findingID, "", s.now().UTC()); err != nil {
			return err
		}
		n, err := unmuteWhere(ctx, q, teamID, "id = $2", []any{teamID, findingID}, s.now().UTC())
		if err == nil && n == 0 {
			var exists int
			if err := q.QueryRowContext(ctx, "SELECT count(*) FROM findings WHERE team_id = $1 AND id = $2", teamID, findingID).Scan(&exists); err != nil {
				return err
			}
			if exists == 0 {
				return db.ErrNotFound
			}
		}
		return err
	})
}

// ExpireMutes unmutes, in every team, findings whose mute has expired,
// and marks the approved risk acceptances whose time is up as expired (the
// register then shows the risk as no longer accepted, not as approved).
func (s *Store) ExpireMutes(ctx context.Context) (int, error) {
	now := s.now().UTC()
	n := 0
	err := s.d.AsSystem(ctx, func(q db.Querier) error {
		teams, err := expiredMuteTeams(ctx, q, now)
		if err != nil {
			return err
		}
		if _, err := q.ExecContext(ctx, `UPDATE risk_acceptances SET state = '`+RiskExpired+`'
			WHERE state = '`+RiskApproved+`' AND expires_at IS NOT NULL AND expires_at <= $1`, now); err != nil {
			return fmt.Errorf("expire risk acceptances: %w", err)
		}
		for _, t := range teams {
			c, err := unmuteWhere(ctx, q, t, "muted_until IS NOT NULL AND muted_until <= $2", []any{t, now}, now)
			if err != nil {
				return err
			}
			n += c
		}
		return nil
	})
	return n, err
}

type findingState struct {
	id     int64
	status string
}

func findingStates(ctx context.Context, q db.Querier, query string, args []any) ([]findingState, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []findingState
	for rows.Next() {
		var f findingState
		if err := rows.Scan(&f.id, &f.status); err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, rows.Err()
}

func setMuted(ctx context.Context, q db.Querier, teamID string, ids []findingState, kind, ruleID, reason, actor string, until *time.Time, now time.Time) error {
	if err := dataVersions.Bump(ctx, q, teamID); err != nil {
		return err
	}
	var untilArg any
	if until != nil {
		untilArg = until.UTC()
	}
	for _, f := range ids {
		if _, err := q.ExecContext(ctx, `UPDATE findings SET status = 'muted', mute_kind = $1, mute_rule_id = $2, muted_reason = $3,
			muted_by = $4, muted_until = $5 WHERE team_id = $6 AND id = $7`, kind, ruleID, reason, actor, untilArg, teamID, f.id); err != nil {
			return err
		}
		if _, err := q.ExecContext(ctx, `INSERT INTO finding_history (team_id, finding_id, at, change, from_status, to_status, actor, note)
			VALUES ($1, $2, $3, $4, $5, 'muted', $6, $7)`, teamID, f.id, now, "muted", f.status, actor, kind+": "+reason); err != nil {
			return err
		}
	}
	return nil
}

// unmuteWhere unmutes the team's muted findings matching cond ($1 is the
// team): back to open if their last result failed, resolved if it passed.
func unmuteWhere(ctx context.Context, q db.Querier, teamID, cond string, args []any, now time.Time) (int, error) {
	if err := dataVersions.Bump(ctx, q, teamID); err != nil {
		return 0, err
	}
	// findingState's status field carries the result here.
	rows, err := findingStates(ctx, q, "SELECT id, result FROM findings WHERE team_id = $1 AND status = 'muted' AND "+cond, args)
	if err != nil {
		return 0, err
	}
	for _, f := range rows {
		to := StatusOpen
		if f.status == string(ingest.ResultPass) {
			to = StatusResolved
		}
		if _, err := q.ExecContext(ctx, `UPDATE findings SET status = $1, mute_kind = '', mute_rule_id = '', muted_reason = '',
			muted_by = '', muted_until = NULL WHERE team_id = $2 AND id = $3`, to, teamID, f.id); err != nil {
			return 0, err
		}
		if _, err := q.ExecContext(ctx, `INSERT INTO finding_history (team_id, finding_id, at, change, from_status, to_status)
			VALUES ($1, $2, $3, 'unmuted', 'muted', $4)`, teamID, f.id, now, to); err != nil {
			return 0, err
		}
	}
	return len(rows), nil
}

func expiredMuteTeams(ctx context.Context, q db.Querier, now time.Time) ([]string, error) {
	return db.QueryStrings(ctx, q, "SELECT DISTINCT team_id FROM findings WHERE status = 'muted' AND muted_until IS NOT NULL AND muted_until <= $1", now)
}
