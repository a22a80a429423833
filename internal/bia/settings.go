package bia

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/offloadsecurity/cspm/internal/db"
)

// Horizon is a time horizon of the impact grid.
type Horizon struct {
	Key   string  `json:"key" minLength:"1" maxLength:"40"`
	Label string  `json:"label" maxLength:"100"`
	Hours float64 `json:"hours" minimum:"0"`
}

// Category is an impact category of the impact grid.
type Category struct {
	Key   string `json:"key" minLength:"1" maxLength:"40"`
	Label string `json:"label" maxLength:"100"`
}

// Settings are a team's tier names, impact categories and time horizons.
type Settings struct {
	TierNames  []string   `json:"tier_names" minItems:"5" maxItems:"5" doc:"Names of tiers 1 to 5."`
	Categories []Category `json:"categories" minItems:"1" maxItems:"20"`
	Horizons   []Horizon  `json:"horizons" minItems:"1" maxItems:"20"`
}

// DefaultSettings are a team's settings until it sets its own.
func DefaultSettings() Settings {
	return Settings{
		TierNames: []string{"Mission critical", "Business critical", "Business important", "Administrative", "Non-essential"},
		Categories: []Category{{"financial", "Financial"}, {"operational", "Operational"}, {"legal_regulatory", "Legal and regulatory"},
			{"reputational", "Reputational"}, {"safety", "Safety"}},
		Horizons: []Horizon{{"1h", "1 hour", 1}, {"4h", "4 hours", 4}, {"24h", "24 hours", 24}, {"72h", "72 hours", 72},
			{"1w", "1 week", 168}},
	}
}

func (st Settings) categorySet() map[string]bool {
	out := map[string]bool{}
	for _, c := range st.Categories {
		out[c.Key] = true
	}
	return out
}

func (st Settings) horizonSet() map[string]bool {
	out := map[string]bool{}
	for _, h := range st.Horizons {
		out[h.Key] = true
	}
	return out
}

// TierName names tier t.
func (st Settings) TierName(t int) string {
	if t >= 1 && t <= len(st.TierNames) {
		return st.TierNames[t-1]
	}
	return fmt.Sprintf("Tier %d", t)
}

func (st *Settings) validate() error {
	var problems []string
	if len(st.TierNames) != 5 {
		problems = append(problems, "tier_names needs five names")
	}
	for i, n := range st.TierNames {
		st.TierNames[i] = strings.TrimSpace(n)
		if st.TierNames[i] == "" {
			problems = append(problems, fmt.Sprintf("tier %d needs a name", i+1))
		}
	}
	seen := map[string]bool{}
	for _, c := range st.Categories {
		if c.Key == "" || seen["c"+c.Key] {
			problems = append(problems, fmt.Sprintf("category key %q is empty or repeated", c.Key))
		}
		seen["c"+c.Key] = true
	}
	for _, h := range st.Horizons {
		if h.Key == "" || seen["h"+h.Key] {
			problems = append(problems, fmt.Sprintf("horizon key %q is empty or repeated", h.Key))
		}
		seen["h"+h.Key] = true
	}
	if len(st.Categories) == 0 || len(st.Horizons) == 0 {
		problems = append(problems, "at least one category and one horizon")
	}
	if len(problems) > 0 {
		return fmt.Errorf("%w: %s", ErrInvalid, strings.Join(problems, "; "))
	}
	return nil
}

// SettingsGet returns the team's settings, the defaults when it set none.
func (s *Service) SettingsGet(ctx context.Context, teamID string) (Settings, error) {
	var st Settings
	err := s.d.ReadInTeam(ctx, teamID, func(q db.Querier) error {
		var err error
		st, err = settingsIn(ctx, q, teamID)
		return err
	})
	return st, err
}

func settingsIn(ctx context.Context, q db.Querier, teamID string) (Settings, error) {
	var data string
	err := q.QueryRowContext(ctx, `SELECT data FROM bia_settings WHERE team_id = $1`, teamID).Scan(&data)
	if errors.Is(db.MapError(err), db.ErrNotFound) {
		return DefaultSettings(), nil
	}
	if err != nil {
		return Settings{}, err
	}
	var st Settings
	if err := json.Unmarshal([]byte(data), &st); err != nil {
		return Settings{}, fmt.Errorf("bia settings: %w", err)
	}
	return st, nil
}

// SettingsSet replaces the team's settings. Ratings stored under a
// category or horizon no longer listed stay in their versions; the grid
// shows only the listed ones.
func (s *Service) SettingsSet(ctx context.Context, teamID string, st Settings, a Actor) (Settings, error) {
	if err := st.validate(); err != nil {
		return Settings{}, err
	}
	data, err := json.Marshal(st)
	if err != nil {
		return Settings{}, err
	}
	now := s.now().UTC()
	err = s.d.InTeam(ctx, teamID, func(q db.Querier) error {
		res, err := q.ExecContext(ctx, `UPDATE bia_settings SET data = $1, updated_at = $2 WHERE team_id = $3`, string(data), now, teamID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			_, err = q.ExecContext(ctx, `INSERT INTO bia_settings (team_id, data, updated_at) VALUES ($1, $2, $3)`, teamID, string(data), now)
		}
		return err
	})
	if err != nil {
		return Settings{}, err
	}
	s.record(ctx, a, teamID, "bia.settings_changed", teamID, nil)
	return st, nil
}
