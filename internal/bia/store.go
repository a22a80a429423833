package bia

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/offloadsecurity/cspm/internal/db"
	"github.com/offloadsecurity/cspm/internal/id"
)

const versionCols = `v.process_id, v.version, v.status, v.data, v.author_id, v.author_email, v.contributors, v.submitted_by,
	v.approved_by, v.approved_at, v.comment, v.created_at, v.updated_at`

func scanVersion(sc interface{ Scan(...any) error }, extra ...any) (Version, error) {
	var (
		v                Version
		data, contrib    string
		approvedAt       db.NullTime
		created, updated db.Time
	)
	dest := append([]any{&v.ProcessID, &v.Version, &v.Status, &data, &v.AuthorID, &v.AuthorEmail, &contrib, &v.SubmittedBy,
		&v.ApprovedBy, &approvedAt, &v.Comment, &created, &updated}, extra...)
	if err := sc.Scan(dest...); err != nil {
		return v, db.MapError(err)
	}
	if err := json.Unmarshal([]byte(data), &v.Record); err != nil {
		return v, fmt.Errorf("bia version %s/%d: %w", v.ProcessID, v.Version, err)
	}
	v.ApprovedAt, v.CreatedAt, v.UpdatedAt = approvedAt.Ptr(), created.UTC(), updated.UTC()
	v.contributors = strings.Fields(contrib)
	return v, nil
}

// stateKey identifies the state of the team's analyses: every write to a
// process bumps its revision, and a process created or deleted changes the
// set of IDs. A team whose key has not changed is read from memory (the
// decoding of a thousand versions is most of the cost of a read).
func stateKey(ctx context.Context, q db.Querier, teamID string) (string, error) {
	h := sha256.New()
	rows, err := q.QueryContext(ctx, `SELECT id, revision FROM bia_processes WHERE team_id = $1 ORDER BY id`, teamID)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var rev int64
		if err := rows.Scan(&id, &rev); err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%s:%d\n", id, rev)
	}
	if err := rows.Err(); err != nil {
		return "", err
	}
	var data string
	if err := q.QueryRowContext(ctx, `SELECT data FROM bia_settings WHERE team_id = $1`, teamID).Scan(&data); err != nil &&
		!errors.Is(db.MapError(err), db.ErrNotFound) {
		return "", err
	}
	h.Write([]byte(data))
	return hex.EncodeToString(h.Sum(nil)), nil
}

// clone copies the processes (not their versions' records, which nothing
// changes once read), so that deriving one request's view leaves the
// cached state as it was.
func (t *teamState) clone() *teamState {
	out := &teamState{procs: make(map[string]*Process, len(t.procs)), settings: t.settings, key: t.key}
	for id, p := range t.procs {
		cp := *p
		out.procs[id] = &cp
	}
	return out
}

// loadTeam reads every process of the team with its latest and approved versions.
func (s *Service) loadTeam(ctx context.Context, q db.Querier, teamID string) (*teamState, error) {
	st, err := settingsIn(ctx, q, teamID)
	if err != nil {
		return nil, err
	}
	t := &teamState{procs: map[string]*Process{}, settings: st}
	rows, err := q.QueryContext(ctx, `SELECT `+versionCols+`, p.latest_version, p.approved_version, p.revision, p.created_by,
		p.created_at, p.updated_at
		FROM bia_processes p JOIN bia_versions v ON v.process_id = p.id AND (v.version = p.latest_version OR v.version = p.approved_version)
		WHERE p.team_id = $1 AND v.team_id = $1`, teamID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			latest, approved int
			rev              int64
			by               string
			created, updated db.Time
		)
		v, err := scanVersion(rows, &latest, &approved, &rev, &by, &created, &updated)
		if err != nil {
			return nil, err
		}
		p := t.procs[v.ProcessID]
		if p == nil {
			p = &Process{ID: v.ProcessID, LatestVersion: latest, ApprovedVersion: approved, Revision: rev, CreatedBy: by,
				CreatedAt: created.UTC(), UpdatedAt: updated.UTC()}
			t.procs[v.ProcessID] = p
		}
		if v.Version == latest {
			p.Latest, p.Status = v, v.Status
		}
		if v.Version == approved && approved != latest {
			vv := v
			p.Approved = &vv
		}
	}
	return t, rows.Err()
}

// team returns the team's analyses as q sees them: from memory when their
// state key is the one last read, else read and remembered. The caller
// gets its own copy to derive or change.
func (s *Service) team(ctx context.Context, q db.Querier, teamID string) (*teamState, error) {
	key, err := stateKey(ctx, q, teamID)
	if err != nil {
		return nil, err
	}
	if c, ok := s.loaded.Load(teamID); ok && c.(*teamState).key == key {
		return c.(*teamState).clone(), nil
	}
	t, err := s.loadTeam(ctx, q, teamID)
	if err != nil {
		return nil, err
	}
	t.key = key
	s.loaded.Store(teamID, t.clone())
	return t, nil
}

// owners returns the enabled users of the team among the owners named, or
// nil when the service has no user lookup.
func (s *Service) owners(ctx context.Context, teamID string, t *teamState) (map[string]bool, error) {
	if s.users == nil {
		return nil, nil
	}
	out := map[string]bool{}
	for _, p := range t.procs {
		for _, id := range []string{p.Latest.Record.OwnerID, p.inForce().Record.OwnerID} {
			if _, done := out[id]; done || id == "" {
				continue
			}
			_, ok, err := s.users.TeamUser(ctx, teamID, id)
			if err != nil {
				return nil, err
			}
			out[id] = ok
		}
	}
	return out, nil
}

// derived loads the team and derives objectives and gaps, in a read.
func (s *Service) derived(ctx context.Context, teamID string) (*teamState, error) {
	var t *teamState
	err := s.d.ReadInTeam(ctx, teamID, func(q db.Querier) error {
		var err error
		t, err = s.team(ctx, q, teamID)
		return err
	})
	if err != nil {
		return nil, err
	}
	owners, err := s.owners(ctx, teamID, t)
	if err != nil {
		return nil, err
	}
	t.derive(s.now().UTC(), owners)
	return t, nil
}

// ListParams filter the register.
type ListParams struct {
	Status []string
	Tier   []int
	Text   string // substring of the name
}

// ProcessList returns the team's register, most critical first.
func (s *Service) ProcessList(ctx context.Context, teamID string, p ListParams) ([]Process, error) {
	t, err := s.derived(ctx, teamID)
	if err != nil {
		return nil, err
	}
	out := []Process{}
	text := strings.ToLower(strings.TrimSpace(p.Text))
	for _, pr := range t.procs {
		if len(p.Status) > 0 && !contains(p.Status, pr.Status) {
			continue
		}
		if len(p.Tier) > 0 && !containsInt(p.Tier, pr.Objectives.Tier) {
			continue
		}
		if text != "" && !strings.Contains(strings.ToLower(pr.Latest.Record.Name), text) {
			continue
		}
		out = append(out, *pr)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Objectives.Tier != out[j].Objectives.Tier {
			return out[i].Objectives.Tier < out[j].Objectives.Tier
		}
		if out[i].Latest.Record.Name != out[j].Latest.Record.Name {
			return out[i].Latest.Record.Name < out[j].Latest.Record.Name
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

func containsInt(l []int, n int) bool {
	for _, x := range l {
		if x == n {
			return true
		}
	}
	return false
}

// ProcessGet returns one process of the team.
func (s *Service) ProcessGet(ctx context.Context, teamID, processID string) (Process, error) {
	t, err := s.derived(ctx, teamID)
	if err != nil {
		return Process{}, err
	}
	p := t.procs[processID]
	if p == nil {
		return Process{}, db.ErrNotFound
	}
	return *p, nil
}

// VersionList returns every version of a process, newest first, and its transitions.
func (s *Service) VersionList(ctx context.Context, teamID, processID string) ([]Version, []Transition, error) {
	versions, transitions := []Version{}, []Transition{}
	err := s.d.ReadInTeam(ctx, teamID, func(q db.Querier) error {
		rows, err := q.QueryContext(ctx, `SELECT `+versionCols+` FROM bia_versions v WHERE v.team_id = $1 AND v.process_id = $2
			ORDER BY v.version DESC`, teamID, processID)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			v, err := scanVersion(rows)
			if err != nil {
				return err
			}
			versions = append(versions, v)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if len(versions) == 0 {
			return db.ErrNotFound
		}
		trows, err := q.QueryContext(ctx, `SELECT id, version, action, from_status, to_status, actor_id, actor_email, comment, at
			FROM bia_transitions WHERE team_id = $1 AND process_id = $2 ORDER BY revision DESC, at DESC`, teamID, processID)
		if err != nil {
			return err
		}
		defer trows.Close()
		for trows.Next() {
			var tr Transition
			var at db.Time
			if err := trows.Scan(&tr.ID, &tr.Version, &tr.Action, &tr.FromStatus, &tr.ToStatus, &tr.ActorID, &tr.ActorEmail, &tr.Comment,
				&at); err != nil {
				return err
			}
			tr.At = at.UTC()
			transitions = append(transitions, tr)
		}
		return trows.Err()
	})
	return versions, transitions, err
}

// exists returns db.ErrNotFound unless the team has the process.
func (s *Service) exists(ctx context.Context, teamID, processID string) error {
	return s.d.ReadInTeam(ctx, teamID, func(q db.Querier) error {
		var n int
		if err := q.QueryRowContext(ctx, `SELECT count(*) FROM bia_processes WHERE team_id = $1 AND id = $2`, teamID, processID).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return db.ErrNotFound
		}
		return nil
	})
}

// VersionGet returns one version of a process.
func (s *Service) VersionGet(ctx context.Context, teamID, processID string, version int) (Version, error) {
	var v Version
	err := s.d.ReadInTeam(ctx, teamID, func(q db.Querier) error {
		var err error
		v, err = scanVersion(q.QueryRowContext(ctx, `SELECT `+versionCols+` FROM bia_versions v
			WHERE v.team_id = $1 AND v.process_id = $2 AND v.version = $3`, teamID, processID, version))
		return err
	})
	return v, err
}

func insertVersion(ctx context.Context, q db.Querier, teamID string, v *Version) error {
	data, err := json.Marshal(v.Record)
	if err != nil {
		return err
	}
	_, err = q.ExecContext(ctx, `INSERT INTO bia_versions (process_id, version, team_id, status, name, tier, data, author_id, author_email,
		contributors, submitted_by, approved_by, approved_at, comment, created_at, updated_at)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16)`, v.ProcessID, v.Version, teamID, v.Status, v.Record.Name,
		v.Record.Tier, string(data), v.AuthorID, v.AuthorEmail, strings.Join(v.contributors, " "), v.SubmittedBy, v.ApprovedBy,
		nullTime(v.ApprovedAt), v.Comment, v.CreatedAt, v.UpdatedAt)
	return err
}

func updateVersion(ctx context.Context, q db.Querier, teamID string, v *Version) error {
	data, err := json.Marshal(v.Record)
	if err != nil {
		return err
	}
	_, err = q.ExecContext(ctx, `UPDATE bia_versions SET status = $1, name = $2, tier = $3, data = $4, contributors = $5, submitted_by = $6,
		approved_by = $7, approved_at = $8, comment = $9, updated_at = $10
		WHERE team_id = $11 AND process_id = $12 AND version = $13`, v.Status, v.Record.Name, v.Record.Tier, string(data),
		strings.Join(v.contributors, " "), v.SubmittedBy, v.ApprovedBy, nullTime(v.ApprovedAt), v.Comment, v.UpdatedAt, teamID,
		v.ProcessID, v.Version)
	return err
}

// bumpProcess moves a process to its next revision, only from expected
// (when set): the write that detects a concurrent edit.
func bumpProcess(ctx context.Context, q db.Querier, teamID string, p *Process, expected *int64, now time.Time) error {
	query := `UPDATE bia_processes SET revision = revision + 1, latest_version = $1, approved_version = $2, updated_at = $3
		WHERE team_id = $4 AND id = $5`
	args := []any{p.LatestVersion, p.ApprovedVersion, now, teamID, p.ID}
	if expected != nil {
		query += ` AND revision = $6`
		args = append(args, *expected)
	}
	res, err := q.ExecContext(ctx, query, args...)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrStale
	}
	p.Revision++
	return nil
}

func insertTransition(ctx context.Context, q db.Querier, teamID string, p *Process, tr Transition) error {
	_, err := q.ExecContext(ctx, `INSERT INTO bia_transitions (id, team_id, process_id, version, revision, action, from_status, to_status,
		actor_id, actor_email, comment, at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12)`, id.New(), teamID, p.ID, tr.Version, p.Revision+1,
		tr.Action, tr.FromStatus, tr.ToStatus, tr.ActorID, tr.ActorEmail, tr.Comment, tr.At)
	return err
}

func nullTime(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UTC()
}
