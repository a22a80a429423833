package notify

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/mail"
	"slices"
	"strings"
	"time"

	"github.com/offloadsecurity/cspm/internal/audit"
	"github.com/offloadsecurity/cspm/internal/db"
	"github.com/offloadsecurity/cspm/internal/id"
)

// Channel kinds.
const (
	ChannelWebhook = "webhook"
	ChannelSlack   = "slack"
	ChannelTeams   = "teams"
	ChannelEmail   = "email"
)

// Digest modes.
const (
	DigestNone   = ""
	DigestHourly = "hourly"
	DigestDaily  = "daily"
)

// Filters narrow a rule's events. An empty filter matches everything; a
// filter set on a field the event lacks does not match it.
type Filters struct {
	Severities []string `json:"severities,omitempty" maxItems:"5" enum:"critical,high,medium,low,informational" doc:"Only events of these severities."`
	Accounts   []string `json:"accounts,omitempty" maxItems:"200" doc:"Only events of these cloud account IDs (UIDs)."`
	Tags       []string `json:"tags,omitempty" maxItems:"50" doc:"Only events carrying one of these tags, as key=value."`
	Tiers      []int    `json:"tiers,omitempty" maxItems:"5" doc:"Only events on BIA tiers among these (1 most critical)."`
	MinDrop    float64  `json:"min_drop,omitempty" minimum:"0" maximum:"100" doc:"compliance.score_dropped: at least this many points (default 5)."`
}

// Match reports whether ev passes the filters.
func (f Filters) Match(ev Event) bool {
	if len(f.Severities) > 0 && !slices.Contains(f.Severities, strings.ToLower(ev.Severity)) {
		// An event concerning several severities matches any it counts.
		hit := false
		for _, s := range f.Severities {
			if ev.Severities[s] > 0 {
				hit = true
			}
		}
		if !hit {
			return false
		}
	}
	if len(f.Accounts) > 0 && !slices.Contains(f.Accounts, ev.AccountUID) {
		return false
	}
	if len(f.Tags) > 0 {
		hit := false
		// Resource tags are kept lowercased; a rule's tag matches in any case.
		for _, t := range f.Tags {
			if slices.Contains(ev.Tags, strings.ToLower(t)) {
				hit = true
			}
		}
		if !hit {
			return false
		}
	}
	if len(f.Tiers) > 0 && !slices.Contains(f.Tiers, ev.Tier) {
		return false
	}
	if ev.Type == EventComplianceDrop {
		minDrop := f.MinDrop
		if minDrop <= 0 {
			minDrop = 5
		}
		if ev.Drop < minDrop {
			return false
		}
	}
	return true
}

func (f *Filters) validate() []string {
	var problems []string
	for i, s := range f.Severities {
		f.Severities[i] = strings.ToLower(strings.TrimSpace(s))
		if !slices.Contains(Severities, f.Severities[i]) {
			problems = append(problems, fmt.Sprintf("unknown severity %q", s))
		}
	}
	for i, t := range f.Tags {
		f.Tags[i] = strings.TrimSpace(t)
		if k, _, ok := strings.Cut(f.Tags[i], "="); !ok || k == "" {
			problems = append(problems, fmt.Sprintf("tag %q: want key=value", t))
		}
	}
	for _, t := range f.Tiers {
		if t < 1 || t > 5 {
			problems = append(problems, fmt.Sprintf("tier %d: want 1 to 5", t))
		}
	}
	return problems
}

// ChannelInput is a channel as a rule is created or changed with it. The
// URL, signing secret and password are write-only: they are sealed and
// never answered.
type ChannelInput struct {
	Kind          string   `json:"kind" enum:"webhook,slack,teams,email"`
	URL           string   `json:"url,omitempty" maxLength:"2048" doc:"webhook, slack, teams: where to POST. Write-only; kept when empty on a change."`
	SigningSecret string   `json:"signing_secret,omitempty" maxLength:"256" doc:"webhook: the HMAC-SHA256 key. Write-only; generated and answered once when empty at creation."`
	SMTPHost      string   `json:"smtp_host,omitempty" maxLength:"255"`
	SMTPPort      int      `json:"smtp_port,omitempty" minimum:"0" maximum:"65535" doc:"Default 587. The server must offer STARTTLS."`
	Username      string   `json:"username,omitempty" maxLength:"255"`
	Password      string   `json:"password,omitempty" maxLength:"1024" doc:"SMTP password. Write-only; kept when empty on a change."`
	From          string   `json:"from,omitempty" maxLength:"255"`
	To            []string `json:"to,omitempty" maxItems:"50"`
}

// Channel is what the API shows of a channel.
type Channel struct {
	Kind     string   `json:"kind"`
	URLHint  string   `json:"url_hint,omitempty" doc:"Scheme, host and first path element of the URL."`
	SMTPHost string   `json:"smtp_host,omitempty"`
	SMTPPort int      `json:"smtp_port,omitempty"`
	Username string   `json:"username,omitempty"`
	From     string   `json:"from,omitempty"`
	To       []string `json:"to,omitempty"`
}

// channelSecret is sealed at rest.
type channelSecret struct {
	URL           string `json:"url,omitempty"`
	SigningSecret string `json:"signing_secret,omitempty"`
	Password      string `json:"password,omitempty"`
}

// Rule is one notification rule of a team.
type Rule struct {
	ID           string     `json:"id"`
	Name         string     `json:"name"`
	Event        string     `json:"event"`
	Filters      Filters    `json:"filters"`
	Channel      Channel    `json:"channel"`
	Digest       string     `json:"digest" enum:",hourly,daily" doc:"Empty: one message per event."`
	Enabled      bool       `json:"enabled"`
	LastDigestAt *time.Time `json:"last_digest_at,omitempty"`
	CreatedBy    string     `json:"created_by"`
	CreatedAt    time.Time  `json:"created_at"`
	UpdatedAt    time.Time  `json:"updated_at"`
	// SigningSecret is answered once, when the server generated it.
	SigningSecret string `json:"signing_secret,omitempty" doc:"Only in the answer that generated it."`

	secret channelSecret
}

// RuleInput creates or changes a rule.
type RuleInput struct {
	Name    string        `json:"name" minLength:"1" maxLength:"200"`
	Event   string        `json:"event" enum:"finding.new,vuln.kev,sla.breached,scan.failed,compliance.score_dropped,bia.review_overdue"`
	Filters Filters       `json:"filters,omitempty"`
	Channel *ChannelInput `json:"channel,omitempty" doc:"Required at creation; on a change, omitted keeps the channel."`
	Digest  string        `json:"digest,omitempty" enum:",hourly,daily"`
	Enabled *bool         `json:"enabled,omitempty" doc:"Default true."`
}

func sealContext(ruleID string) string { return "notify_rule:" + ruleID }

// channelFrom checks a channel input against the kept secret (on a
// change) and splits it into what is shown and what is sealed.
func (s *Service) channelFrom(in ChannelInput, kept *channelSecret, keptKind string) (Channel, channelSecret, []string) {
	var problems []string
	ch := Channel{Kind: in.Kind}
	var sec channelSecret
	if kept != nil && keptKind == in.Kind {
		sec = *kept
	}
	switch in.Kind {
	case ChannelWebhook, ChannelSlack, ChannelTeams:
		if in.URL != "" {
			if _, err := s.guard.CheckURL(in.URL); err != nil {
				problems = append(problems, "url: "+err.Error())
			}
			sec.URL = strings.TrimSpace(in.URL)
		}
		if sec.URL == "" {
			problems = append(problems, "url is required")
		}
		ch.URLHint = redactURL(sec.URL)
		if in.Kind == ChannelWebhook {
			if in.SigningSecret != "" {
				if len(in.SigningSecret) < 16 {
					problems = append(problems, "signing_secret: at least 16 characters")
				}
				sec.SigningSecret = in.SigningSecret
			}
		}
	case ChannelEmail:
		ch.SMTPHost, ch.SMTPPort, ch.Username, ch.From = strings.TrimSpace(in.SMTPHost), in.SMTPPort, in.Username, strings.TrimSpace(in.From)
		if ch.SMTPPort == 0 {
			ch.SMTPPort = 587
		}
		if ch.SMTPHost == "" {
			problems = append(problems, "smtp_host is required")
		} else if err := s.guard.CheckHost(ch.SMTPHost); err != nil {
			problems = append(problems, "smtp_host: "+err.Error())
		}
		if _, err := mail.ParseAddress(ch.From); err != nil {
			problems = append(problems, fmt.Sprintf("from %q is not an email address", in.From))
		}
		if len(in.To) == 0 {
			problems = append(problems, "to needs at least one address")
		}
		for _, t := range in.To {
			a, err := mail.ParseAddress(strings.TrimSpace(t))
			if err != nil {
				problems = append(problems, fmt.Sprintf("to %q is not an email address", t))
				continue
			}
			ch.To = append(ch.To, a.Address)
		}
		if in.Password != "" {
			sec.Password = in.Password
		}
		if ch.Username != "" && sec.Password == "" {
			problems = append(problems, "password is required with a username")
		}
	default:
		problems = append(problems, fmt.Sprintf("unknown channel kind %q: want webhook, slack, teams or email", in.Kind))
	}
	return ch, sec, problems
}

func invalid(problems []string) error {
	return fmt.Errorf("%w: %s", ErrInvalid, strings.Join(problems, "; "))
}

func checkRule(in *RuleInput) []string {
	var problems []string
	in.Name = strings.TrimSpace(in.Name)
	if in.Name == "" {
		problems = append(problems, "name is required")
	}
	if !slices.Contains(EventTypes, in.Event) {
		problems = append(problems, fmt.Sprintf("unknown event %q: want one of %s", in.Event, strings.Join(EventTypes, ", ")))
	}
	if in.Digest != DigestNone && in.Digest != DigestHourly && in.Digest != DigestDaily {
		problems = append(problems, fmt.Sprintf("digest %q: want hourly, daily or empty", in.Digest))
	}
	return append(problems, in.Filters.validate()...)
}

// RuleCreate adds a rule to the team.
func (s *Service) RuleCreate(ctx context.Context, teamID string, in RuleInput, actor audit.Event) (Rule, error) {
	problems := checkRule(&in)
	if in.Channel == nil {
		problems = append(problems, "channel is required")
		return Rule{}, invalid(problems)
	}
	ch, sec, p := s.channelFrom(*in.Channel, nil, "")
	if problems = append(problems, p...); len(problems) > 0 {
		return Rule{}, invalid(problems)
	}
	now := s.now().UTC()
	r := Rule{ID: id.New(), Name: in.Name, Event: in.Event, Filters: in.Filters, Channel: ch, Digest: in.Digest, Enabled: true,
		CreatedBy: actor.ActorEmail, CreatedAt: now, UpdatedAt: now}
	if in.Enabled != nil {
		r.Enabled = *in.Enabled
	}
	if ch.Kind == ChannelWebhook && sec.SigningSecret == "" {
		sec.SigningSecret = id.Token(32)
		r.SigningSecret = sec.SigningSecret
	}
	r.secret = sec
	filters, chJSON, sealed, err := s.encodeRule(r)
	if err != nil {
		return Rule{}, err
	}
	err = s.d.InTeam(ctx, teamID, func(q db.Querier) error {
		_, err := q.ExecContext(ctx, `INSERT INTO notify_rules (id, team_id, name, event, filters, channel_kind, channel, channel_secret,
			digest, enabled, created_by, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12)`,
			r.ID, teamID, r.Name, r.Event, filters, ch.Kind, chJSON, sealed, r.Digest, r.Enabled, r.CreatedBy, now)
		return err
	})
	if err != nil {
		return Rule{}, err
	}
	s.record(ctx, actor, teamID, "notify.rule_created", "notify_rule", r.ID, map[string]any{"event": r.Event, "channel": ch.Kind})
	return r, nil
}

func (s *Service) encodeRule(r Rule) (filters, channel, sealed string, err error) {
	f, err := json.Marshal(r.Filters)
	if err != nil {
		return "", "", "", err
	}
	c, err := json.Marshal(r.Channel)
	if err != nil {
		return "", "", "", err
	}
	sec, err := json.Marshal(r.secret) //nolint:gosec // G117: marshalled to be sealed at once, never sent
	if err != nil {
		return "", "", "", err
	}
	return string(f), string(c), s.box.Seal(string(sec), sealContext(r.ID)), nil
}

// RuleUpdate changes a rule; a channel whose secrets are left empty keeps
// the stored ones (of the same kind).
func (s *Service) RuleUpdate(ctx context.Context, teamID, ruleID string, in RuleInput, actor audit.Event) (Rule, error) {
	problems := checkRule(&in)
	var r Rule
	err := s.d.InTeam(ctx, teamID, func(q db.Querier) error {
		var err error
		if r, err = s.ruleGet(ctx, q, teamID, ruleID, true); err != nil {
			return err
		}
		if in.Channel != nil {
			ch, sec, p := s.channelFrom(*in.Channel, &r.secret, r.Channel.Kind)
			problems = append(problems, p...)
			if ch.Kind == ChannelWebhook && sec.SigningSecret == "" {
				sec.SigningSecret = id.Token(32)
				r.SigningSecret = sec.SigningSecret
			}
			r.Channel, r.secret = ch, sec
		}
		if len(problems) > 0 {
			return invalid(problems)
		}
		r.Name, r.Event, r.Filters, r.Digest = in.Name, in.Event, in.Filters, in.Digest
		if in.Enabled != nil {
			r.Enabled = *in.Enabled
		}
		r.UpdatedAt = s.now().UTC()
		filters, chJSON, sealed, err := s.encodeRule(r)
		if err != nil {
			return err
		}
		_, err = q.ExecContext(ctx, `UPDATE notify_rules SET name = $1, event = $2, filters = $3, channel_kind = $4, channel = $5,
			channel_secret = $6, digest = $7, enabled = $8, updated_at = $9 WHERE team_id = $10 AND id = $11`,
			r.Name, r.Event, filters, r.Channel.Kind, chJSON, sealed, r.Digest, r.Enabled, r.UpdatedAt, teamID, ruleID)
		return err
	})
	if err != nil {
		return Rule{}, err
	}
	s.record(ctx, actor, teamID, "notify.rule_changed", "notify_rule", r.ID, map[string]any{"event": r.Event, "channel": r.Channel.Kind})
	return r, nil
}

// RuleDelete removes a rule and its delivery log.
func (s *Service) RuleDelete(ctx context.Context, teamID, ruleID string, actor audit.Event) error {
	return s.deleteOwned(ctx, teamID, ruleID, actor, owned{table: "notify_rules", children: "notify_deliveries", childKey: "rule_id",
		action: "notify.rule_deleted", targetType: "notify_rule"})
}

// owned names a team's row and the rows that belong to it.
type owned struct {
	table, children, childKey string
	action, targetType        string
}

// deleteOwned removes one of the team's rows and its children in one
// transaction and audits it; ErrNotFound when the team has no such row.
func (s *Service) deleteOwned(ctx context.Context, teamID, id string, actor audit.Event, o owned) error {
	err := s.d.InTeam(ctx, teamID, func(q db.Querier) error {
		if _, err := q.ExecContext(ctx, "DELETE FROM "+o.children+" WHERE team_id = $1 AND "+o.childKey+" = $2", teamID, id); err != nil {
			return err
		}
		res, err := q.ExecContext(ctx, "DELETE FROM "+o.table+" WHERE team_id = $1 AND id = $2", teamID, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return db.ErrNotFound
		}
		return nil
	})
	if err == nil {
		s.record(ctx, actor, teamID, o.action, o.targetType, id, nil)
	}
	return err
}

// RuleGet returns one rule of the team, without its secrets.
func (s *Service) RuleGet(ctx context.Context, teamID, ruleID string) (Rule, error) {
	var r Rule
	err := s.d.ReadInTeam(ctx, teamID, func(q db.Querier) error {
		var err error
		r, err = s.ruleGet(ctx, q, teamID, ruleID, false)
		return err
	})
	return r, err
}

// RuleList returns the team's rules by name.
func (s *Service) RuleList(ctx context.Context, teamID string) ([]Rule, error) {
	out := []Rule{}
	err := s.d.ReadInTeam(ctx, teamID, func(q db.Querier) error {
		rows, err := q.QueryContext(ctx, `SELECT `+ruleCols+` FROM notify_rules WHERE team_id = $1 ORDER BY name, id`, teamID)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			r, _, err := scanRule(rows)
			if err != nil {
				return err
			}
			out = append(out, r)
		}
		return rows.Err()
	})
	return out, err
}

const ruleCols = `id, name, event, filters, channel, channel_secret, digest, enabled, last_digest_at, created_by, created_at, updated_at`

type scanner interface{ Scan(dest ...any) error }

func scanRule(row scanner) (Rule, string, error) {
	var (
		r                   Rule
		filters, ch, sealed string
		lastDigest          sql.NullTime
		created, updated    time.Time
	)
	if err := row.Scan(&r.ID, &r.Name, &r.Event, &filters, &ch, &sealed, &r.Digest, &r.Enabled, &lastDigest, &r.CreatedBy, &created, &updated); err != nil {
		return Rule{}, "", db.MapError(err)
	}
	r.CreatedAt, r.UpdatedAt = created.UTC(), updated.UTC()
	if lastDigest.Valid {
		t := lastDigest.Time.UTC()
		r.LastDigestAt = &t
	}
	if err := json.Unmarshal([]byte(filters), &r.Filters); err != nil {
		return Rule{}, "", fmt.Errorf("rule %s filters: %w", r.ID, err)
	}
	if err := json.Unmarshal([]byte(ch), &r.Channel); err != nil {
		return Rule{}, "", fmt.Errorf("rule %s channel: %w", r.ID, err)
	}
	return r, sealed, nil
}

// ruleGet reads a rule; withSecret opens its sealed channel secret.
func (s *Service) ruleGet(ctx context.Context, q db.Querier, teamID, ruleID string, withSecret bool) (Rule, error) {
	r, sealed, err := scanRule(q.QueryRowContext(ctx, `SELECT `+ruleCols+` FROM notify_rules WHERE team_id = $1 AND id = $2`, teamID, ruleID))
	if err != nil {
		return Rule{}, err
	}
	if withSecret {
		if err := s.openSecret(&r, sealed); err != nil {
			return Rule{}, err
		}
	}
	return r, nil
}

func (s *Service) openSecret(r *Rule, sealed string) error {
	plain, err := s.box.Open(sealed, sealContext(r.ID))
	if err != nil {
		return fmt.Errorf("channel of rule %s: %w", r.ID, err)
	}
	return json.Unmarshal([]byte(plain), &r.secret)
}

// rulesFor returns the team's enabled rules for an event type, with secrets.
func (s *Service) rulesFor(ctx context.Context, q db.Querier, teamID, event string) ([]Rule, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+ruleCols+` FROM notify_rules WHERE team_id = $1 AND event = $2 AND enabled = $3`, teamID, event, true)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Rule
	for rows.Next() {
		r, _, err := scanRule(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// digestEvery is how long a digest collects.
func digestEvery(mode string) time.Duration {
	if mode == DigestDaily {
		return 24 * time.Hour
	}
	return time.Hour
}
