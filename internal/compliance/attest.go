package compliance

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
	"time"

	"github.com/offloadsecurity/cspm/internal/artifact"
	"github.com/offloadsecurity/cspm/internal/audit"
	"github.com/offloadsecurity/cspm/internal/db"
	"github.com/offloadsecurity/cspm/internal/id"
)

// Attestation is a person's statement that a team meets an SCF control no
// scanner can test, with optional evidence, until it expires.
type Attestation struct {
	ID             string    `json:"id"`
	ControlURN     string    `json:"control_urn"`
	ControlRefID   string    `json:"control_ref_id"`
	Statement      string    `json:"statement"`
	Owner          string    `json:"owner"`
	EvidenceName   string    `json:"evidence_name,omitempty"`
	EvidenceSize   int64     `json:"evidence_size,omitempty"`
	EvidenceSHA256 string    `json:"evidence_sha256,omitempty"`
	ExpiresAt      time.Time `json:"expires_at"`
	Expired        bool      `json:"expired"`
	CreatedBy      string    `json:"created_by"`
	CreatedAt      time.Time `json:"created_at"`
	UpdatedAt      time.Time `json:"updated_at"`
}

// AttestationParams are the fields a person sets.
type AttestationParams struct {
	Control   string    `json:"control" maxLength:"300" doc:"SCF control URN or reference (GOV-02: the highest loaded SCF version's)."`
	Statement string    `json:"statement" minLength:"1" maxLength:"10000"`
	Owner     string    `json:"owner,omitempty" maxLength:"200"`
	ExpiresAt time.Time `json:"expires_at" doc:"When the attestation lapses and the control returns to not assessed."`
}

// Evidence is an attestation's evidence file as uploaded.
type Evidence struct {
	Name string
	Body io.Reader
}

// ErrInvalid marks a refused attestation (422).
var ErrInvalid = errors.New("invalid attestation")

func (s *Service) resolveControl(ctx context.Context, ref string) (*nodeInfo, error) {
	g, err := s.Engine.cache.get(ctx, s.d)
	if err != nil {
		return nil, err
	}
	return g.control(ref)
}

// control finds an SCF control by URN, or by reference in the primary SCF version.
func (g *graph) control(ref string) (*nodeInfo, error) {
	if c := g.controls[ref]; c != nil {
		return c, nil
	}
	if g.primary != nil {
		for _, n := range g.primary.Nodes {
			if n.Assessable && strings.EqualFold(n.RefID, ref) {
				return n, nil
			}
		}
	}
	return nil, db.ErrNotFound
}

// AttestationCreate records an attestation and scores its control again.
func (s *Service) AttestationCreate(ctx context.Context, teamID string, p AttestationParams, ev *Evidence, actor audit.Event) (Attestation, error) {
	c, err := s.resolveControl(ctx, p.Control)
	if err != nil {
		return Attestation{}, fmt.Errorf("%w: unknown SCF control %q", ErrInvalid, p.Control)
	}
	now := s.now().UTC()
	if strings.TrimSpace(p.Statement) == "" || !p.ExpiresAt.After(now) {
		return Attestation{}, fmt.Errorf("%w: a statement and an expiry in the future are required", ErrInvalid)
	}
	a := Attestation{ID: id.New(), ControlURN: c.URN, ControlRefID: c.RefID, Statement: p.Statement, Owner: p.Owner,
		ExpiresAt: p.ExpiresAt.UTC(), CreatedBy: actor.ActorEmail, CreatedAt: now, UpdatedAt: now}
	key := ""
	if ev != nil && ev.Body != nil {
		if s.artifacts == nil {
			return Attestation{}, fmt.Errorf("%w: no artifact store for evidence", ErrInvalid)
		}
		a.EvidenceName = cleanName(ev.Name)
		key = fmt.Sprintf("compliance/attestations/%s/%s/%s", teamID, a.ID, a.EvidenceName)
		h := sha256.New()
		obj, err := s.artifacts.Put(ctx, key, io.TeeReader(ev.Body, h), s.MaxEvidenceBytes)
		if errors.Is(err, artifact.ErrTooLarge) {
			return Attestation{}, fmt.Errorf("%w: evidence larger than %d MiB", ErrInvalid, s.MaxEvidenceBytes>>20)
		}
		if err != nil {
			return Attestation{}, fmt.Errorf("store evidence: %w", err)
		}
		a.EvidenceSize, a.EvidenceSHA256 = obj.Size, hex.EncodeToString(h.Sum(nil))
	}
	err = s.d.InTeam(ctx, teamID, func(q db.Querier) error {
		_, err := q.ExecContext(ctx, `INSERT INTO compliance_attestations (id, team_id, scf_urn, statement, owner, evidence_key,
			evidence_name, evidence_size, evidence_sha256, expires_at, created_by, created_at, updated_at)
			VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13)`, a.ID, teamID, a.ControlURN, a.Statement, a.Owner, key,
			a.EvidenceName, a.EvidenceSize, a.EvidenceSHA256, a.ExpiresAt, a.CreatedBy, now, now)
		return err
	})
	if err != nil {
		if key != "" {
			_ = s.artifacts.Delete(context.WithoutCancel(ctx), key)
		}
		return Attestation{}, err
	}
	actor.TeamID = teamID
	s.record(ctx, actor, "compliance.attestation_created", "attestation", a.ID, map[string]any{"control": a.ControlRefID,
		"expires_at": a.ExpiresAt, "evidence_sha256": a.EvidenceSHA256})
	s.rescore(ctx, teamID, a.ControlURN)
	return a, nil
}

// rescore scores one control again after an attestation changed; a failure
// is logged (the next sync catches up).
func (s *Service) rescore(ctx context.Context, teamID, urn string) {
	if _, err := s.Engine.syncControls(ctx, teamID, []string{urn}); err != nil {
		s.logger.Warn("compliance rescore after attestation failed", "team_id", teamID, "control", urn, "err", err)
	}
}

func cleanName(name string) string {
	base := path.Base(strings.ReplaceAll(name, "\\", "/"))
	clean := strings.TrimLeft(strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_' {
			return r
		}
		return '_'
	}, base), ".")
	if clean == "" {
		clean = "evidence"
	}
	if len(clean) > 100 {
		clean = clean[len(clean)-100:]
	}
	return clean
}

const attestationCols = `id, scf_urn, statement, owner, evidence_name, evidence_size, evidence_sha256, expires_at, created_by, created_at, updated_at`

func (s *Service) scanAttestation(sc interface{ Scan(...any) error }, now time.Time) (Attestation, error) {
	var a Attestation
	var exp, created, updated db.NullTime
	if err := sc.Scan(&a.ID, &a.ControlURN, &a.Statement, &a.Owner, &a.EvidenceName, &a.EvidenceSize, &a.EvidenceSHA256, &exp,
		&a.CreatedBy, &created, &updated); err != nil {
		return a, err
	}
	a.ExpiresAt, a.CreatedAt, a.UpdatedAt = exp.Time.UTC(), created.Time.UTC(), updated.Time.UTC()
	a.Expired = !a.ExpiresAt.After(now)
	if g := s.Engine.cache.peek(); g != nil {
		if n := g.nodes[a.ControlURN]; n != nil {
			a.ControlRefID = n.RefID
		}
	}
	return a, nil
}

// AttestationList lists the team's attestations, of one control when control is set.
func (s *Service) AttestationList(ctx context.Context, teamID, control string) ([]Attestation, error) {
	out := []Attestation{}
	now := s.now().UTC()
	err := s.d.ReadInTeam(ctx, teamID, func(q db.Querier) error {
		query, args := `SELECT `+attestationCols+` FROM compliance_attestations WHERE team_id = $1`, []any{teamID}
		if control != "" {
			c, err := s.resolveControl(ctx, control)
			if err != nil {
				return nil
			}
			query, args = query+` AND scf_urn = $2`, append(args, c.URN)
		}
		rows, err := q.QueryContext(ctx, query+` ORDER BY expires_at DESC, id`, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			a, err := s.scanAttestation(rows, now)
			if err != nil {
				return err
			}
			out = append(out, a)
		}
		return rows.Err()
	})
	return out, err
}

// AttestationGet returns one attestation of the team; another team's is ErrNotFound.
func (s *Service) AttestationGet(ctx context.Context, teamID, attID string) (Attestation, error) {
	var a Attestation
	err := s.d.ReadInTeam(ctx, teamID, func(q db.Querier) error {
		var err error
		a, err = s.scanAttestation(q.QueryRowContext(ctx, `SELECT `+attestationCols+` FROM compliance_attestations
			WHERE team_id = $1 AND id = $2`, teamID, attID), s.now().UTC())
		return db.MapError(err)
	})
	return a, err
}

// AttestationUpdate changes an attestation's statement, owner or expiry
// (not its control nor its evidence).
func (s *Service) AttestationUpdate(ctx context.Context, teamID, attID string, p AttestationParams, actor audit.Event) (Attestation, error) {
	old, err := s.AttestationGet(ctx, teamID, attID)
	if err != nil {
		return old, err
	}
	if strings.TrimSpace(p.Statement) == "" || p.ExpiresAt.IsZero() {
		return old, fmt.Errorf("%w: a statement and an expiry are required", ErrInvalid)
	}
	now := s.now().UTC()
	err = s.d.InTeam(ctx, teamID, func(q db.Querier) error {
		r, err := q.ExecContext(ctx, `UPDATE compliance_attestations SET statement = $1, owner = $2, expires_at = $3, updated_at = $4
			WHERE team_id = $5 AND id = $6`, p.Statement, p.Owner, p.ExpiresAt.UTC(), now, teamID, attID)
		if err != nil {
			return err
		}
		if n, _ := r.RowsAffected(); n == 0 {
			return db.ErrNotFound
		}
		return nil
	})
	if err != nil {
		return old, err
	}
	actor.TeamID = teamID
	s.record(ctx, actor, "compliance.attestation_updated", "attestation", attID, map[string]any{"control": old.ControlRefID,
		"from_expires_at": old.ExpiresAt, "to_expires_at": p.ExpiresAt.UTC()})
	s.rescore(ctx, teamID, old.ControlURN)
	return s.AttestationGet(ctx, teamID, attID)
}

// AttestationDelete removes an attestation and its evidence.
func (s *Service) AttestationDelete(ctx context.Context, teamID, attID string, actor audit.Event) error {
	old, err := s.AttestationGet(ctx, teamID, attID)
	if err != nil {
		return err
	}
	var key string
	err = s.d.InTeam(ctx, teamID, func(q db.Querier) error {
		if err := q.QueryRowContext(ctx, `SELECT evidence_key FROM compliance_attestations WHERE team_id = $1 AND id = $2`,
			teamID, attID).Scan(&key); err != nil {
			return db.MapError(err)
		}
		_, err := q.ExecContext(ctx, `DELETE FROM compliance_attestations WHERE team_id = $1 AND id = $2`, teamID, attID)
		return err
	})
	if err != nil {
		return err
	}
	if key != "" && s.artifacts != nil {
		_ = s.artifacts.Delete(ctx, key)
	}
	actor.TeamID = teamID
	s.record(ctx, actor, "compliance.attestation_deleted", "attestation", attID, map[string]any{"control": old.ControlRefID})
	s.rescore(ctx, teamID, old.ControlURN)
	return nil
}

// AttestationEvidence opens an attestation's evidence file.
func (s *Service) AttestationEvidence(ctx context.Context, teamID, attID string) (io.ReadCloser, Attestation, error) {
	a, err := s.AttestationGet(ctx, teamID, attID)
	if err != nil {
		return nil, a, err
	}
	var key string
	err = s.d.ReadInTeam(ctx, teamID, func(q db.Querier) error {
		return q.QueryRowContext(ctx, `SELECT evidence_key FROM compliance_attestations WHERE team_id = $1 AND id = $2`,
			teamID, attID).Scan(&key)
	})
	if err != nil {
		return nil, a, db.MapError(err)
	}
	if key == "" || s.artifacts == nil {
		return nil, a, db.ErrNotFound
	}
	rc, err := s.artifacts.Open(ctx, key)
	return rc, a, err
}

// attestedControls returns the controls with a valid attestation, and
// every control with any attestation (valid or expired).
func (s *Service) attestedControls(ctx context.Context, teamID string, now time.Time) (valid, any map[string]bool, err error) {
	valid, any = map[string]bool{}, map[string]bool{}
	err = s.d.ReadInTeam(ctx, teamID, func(q db.Querier) error {
		rows, err := q.QueryContext(ctx, `SELECT scf_urn, expires_at FROM compliance_attestations WHERE team_id = $1`, teamID)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var urn string
			var exp db.NullTime
			if err := rows.Scan(&urn, &exp); err != nil {
				return err
			}
			any[urn] = true
			if exp.Time.After(now) {
				valid[urn] = true
			}
		}
		return rows.Err()
	})
	return valid, any, err
}
