// Package team is the seed's Team Context: teams are the tenants, every
// tenant-scoped row carries a team_id, and every tenant-scoped query takes the
// caller's team, which FromContext gives (get_user_team_id).
package team

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/offloadsecurity/cspm/internal/db"
	"github.com/offloadsecurity/cspm/internal/id"
)

// Team is a tenant.
type Team struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	RequireMFA bool   `json:"require_mfa" doc:"Members must enrol TOTP before using the platform."`
	// MaxTokenDays bounds the lifetime of the team's new API tokens.
	MaxTokenDays int       `json:"max_token_days" doc:"The longest a new API token of the team may live, in days (1 to 366)."`
	CreatedAt    time.Time `json:"created_at"`
}

type ctxKey struct{}

// WithTeam returns ctx carrying the caller's team ID.
func WithTeam(ctx context.Context, teamID string) context.Context {
	return context.WithValue(ctx, ctxKey{}, teamID)
}

// FromContext is the seed's get_user_team_id: the team of the caller, or ""
// when the request is not signed in.
func FromContext(ctx context.Context) string {
	s, _ := ctx.Value(ctxKey{}).(string)
	return s
}

// Store keeps teams in the cspm_platform database.
type Store struct{ d *db.DB }

// NewStore returns a Store on reg's platform database.
func NewStore(reg *db.Registry) *Store { return &Store{d: reg.Get(db.Platform)} }

// TeamCreate creates a team; a taken name is db.ErrConflict.
func (s *Store) TeamCreate(ctx context.Context, name string) (Team, error) {
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 100 {
		return Team{}, fmt.Errorf("team name must be 1 to 100 characters")
	}
	t := Team{ID: id.New(), Name: name, MaxTokenDays: DefaultMaxTokenDays, CreatedAt: time.Now().UTC().Truncate(time.Microsecond)}
	_, err := s.d.ExecContext(ctx, "INSERT INTO teams (id, name, created_at) VALUES ($1, $2, $3)", t.ID, t.Name, t.CreatedAt)
	if err != nil {
		return Team{}, fmt.Errorf("create team %q: %w", name, db.MapError(err))
	}
	return t, nil
}

// TeamGet returns a team by ID.
func (s *Store) TeamGet(ctx context.Context, teamID string) (Team, error) {
	return s.scanOne(ctx, "SELECT id, name, require_mfa, max_token_days, created_at FROM teams WHERE id = $1", teamID)
}

// TeamGetByName returns a team by its name.
func (s *Store) TeamGetByName(ctx context.Context, name string) (Team, error) {
	return s.scanOne(ctx, "SELECT id, name, require_mfa, max_token_days, created_at FROM teams WHERE name = $1", strings.TrimSpace(name))
}

func (s *Store) scanOne(ctx context.Context, query string, arg string) (Team, error) {
	var t Team
	err := s.d.Reader().QueryRowContext(ctx, query, arg).Scan(&t.ID, &t.Name, &t.RequireMFA, &t.MaxTokenDays, &t.CreatedAt)
	if err != nil {
		return Team{}, db.MapError(err)
	}
	return t, nil
}

// TeamCount returns how many teams exist (zero means a fresh install).
func (s *Store) TeamCount(ctx context.Context) (int, error) {
	var n int
	err := s.d.Reader().QueryRowContext(ctx, "SELECT count(*) FROM teams").Scan(&n)
	return n, err
}

// DefaultMaxTokenDays is a new team's API token lifetime bound.
const DefaultMaxTokenDays = 90

// TeamSetMaxTokenDays changes how long the team's new API tokens may live.
func (s *Store) TeamSetMaxTokenDays(ctx context.Context, teamID string, days int) error {
	res, err := s.d.ExecContext(ctx, "UPDATE teams SET max_token_days = $1 WHERE id = $2", days, teamID)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return db.ErrNotFound
	}
	return nil
}

// TeamSetRequireMFA changes the team's MFA requirement.
func (s *Store) TeamSetRequireMFA(ctx context.Context, teamID string, require bool) error {
	res, err := s.d.ExecContext(ctx, "UPDATE teams SET require_mfa = $1 WHERE id = $2", require, teamID)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return db.ErrNotFound
	}
	return nil
}
