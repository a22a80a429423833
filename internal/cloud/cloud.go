// Package cloud keeps the cloud accounts a team scans (AWS accounts, GCP
// projects, Azure subscriptions) and their credentials, sealed at rest with
// AES-256-GCM (internal/secrets) and bound to the account's ID. The API never
// returns a credential: accounts show the credential's type and a non-secret
// hint; only CredentialsOpen, called by the worker that runs a scan, opens one.
package cloud

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/offloadsecurity/cspm/internal/audit"
	"github.com/offloadsecurity/cspm/internal/db"
	"github.com/offloadsecurity/cspm/internal/id"
	"github.com/offloadsecurity/cspm/internal/secrets"
)

// Account is a cloud account as the API shows it: never its credentials.
type Account struct {
	ID             string            `json:"id"`
	TeamID         string            `json:"-"`
	Provider       string            `json:"provider" enum:"aws,gcp,azure"`
	AccountUID     string            `json:"account_uid" doc:"AWS account ID, GCP project ID or Azure subscription ID."`
	Alias          string            `json:"alias"`
	Regions        []string          `json:"regions" doc:"Regions a scan covers unless it names its own."`
	Tags           map[string]string `json:"tags"`
	CredentialType string            `json:"credential_type"`
	CredentialHint string            `json:"credential_hint" doc:"A non-secret reminder of the credential: the access key ID's last four characters, the role ARN, the client ID."`
	ExternalID     string            `json:"external_id,omitempty" doc:"assume_role: the external ID the role's trust policy must require (sts:ExternalId). The platform chooses it per team and account."`
	LastTest       *TestResult       `json:"last_test,omitempty"`
	Status         *AccountStatus    `json:"status,omitempty" doc:"Scans and posture, in the list only."`
	CreatedBy      string            `json:"created_by"`
	CreatedAt      time.Time         `json:"created_at"`
	UpdatedAt      time.Time         `json:"updated_at"`
}

// TestResult is the outcome of the last "test connection".
type TestResult struct {
	At     time.Time `json:"at"`
	OK     bool      `json:"ok"`
	Detail string    `json:"detail"`
}

// AccountParams creates an account, or changes one (Credentials nil keeps
// the stored ones).
type AccountParams struct {
	Provider    string            `json:"provider" enum:"aws,gcp,azure"`
	AccountUID  string            `json:"account_uid" maxLength:"64"`
	Alias       string            `json:"alias,omitempty" maxLength:"100"`
	Regions     []string          `json:"regions,omitempty" maxItems:"64"`
	Tags        map[string]string `json:"tags,omitempty"`
	Credentials *Credentials      `json:"credentials,omitempty"`
}

// Service owns cloud accounts.
type Service struct {
	d     *db.DB
	box   *secrets.Box
	Audit *audit.Log
	// Endpoints are where connection tests go.
	Endpoints Endpoints
	// WorkerIdentityAllowed says whether a team may scan with the platform's
	// own cloud identity (worker_identity); nil allows none. The install's
	// worker_identity_teams setting names the teams.
	WorkerIdentityAllowed func(ctx context.Context, teamID string) bool
	// Statuses fills the list's status of each account from the scans and
	// findings stores, which this package does not know; nil leaves it out.
	Statuses func(ctx context.Context, teamID string, accounts []Account) error
	now      func() time.Time
}

// ErrWorkerIdentityNotAllowed means the team may not use the platform's own identity.
var ErrWorkerIdentityNotAllowed = fmt.Errorf("%w: worker_identity (the platform's own cloud identity) is not allowed for this team; "+
	"the operator names the teams that may use it in worker_identity_teams", ErrInvalid)

// checkCredentials applies the team-level rules to credentials that pass
// Validate: who may use worker_identity, and who chooses the external ID.
func (s *Service) checkCredentials(ctx context.Context, teamID string, c *Credentials) error {
	switch c.Type {
	case CredWorkerIdentity:
		if !s.workerIdentityAllowed(ctx, teamID) {
			return ErrWorkerIdentityNotAllowed
		}
	case CredAssumeRole:
		if c.ExternalID != "" {
			return invalid("external_id is chosen by the platform: leave it out, then put the account's external_id in the role's trust policy")
		}
	}
	return nil
}

// workerIdentityAllowed applies WorkerIdentityAllowed; unset allows no team.
func (s *Service) workerIdentityAllowed(ctx context.Context, teamID string) bool {
	return s.WorkerIdentityAllowed != nil && s.WorkerIdentityAllowed(ctx, teamID)
}

// newExternalID is a fresh external ID for an assume_role account.
func newExternalID() string { return "cspm-" + id.Token(16) }

// New returns the service on reg's platform database, sealing with box.
func New(reg *db.Registry, box *secrets.Box) *Service {
	return &Service{d: reg.Get(db.Platform), box: box, now: time.Now}
}

// sealContext binds a sealed credential to its account row.
func sealContext(accountID string) string { return "cloud:" + accountID }

const accountColumns = `id, team_id, provider, account_uid, alias, regions, tags, credential_type, credential_hint,
	last_test_at, last_test_ok, last_test_detail, created_by, created_at, updated_at, external_id`

func scanAccount(row interface{ Scan(...any) error }) (Account, error) {
	var (
		a             Account
		regions, tags string
		testAt        sql.NullTime
		testOK        sql.NullBool
		testDetail    string
	)
	if err := row.Scan(&a.ID, &a.TeamID, &a.Provider, &a.AccountUID, &a.Alias, &regions, &tags, &a.CredentialType, &a.CredentialHint,
		&testAt, &testOK, &testDetail, &a.CreatedBy, &a.CreatedAt, &a.UpdatedAt, &a.ExternalID); err != nil {
		return Account{}, db.MapError(err)
	}
	_ = json.Unmarshal([]byte(regions), &a.Regions)
	_ = json.Unmarshal([]byte(tags), &a.Tags)
	if a.Regions == nil {
		a.Regions = []string{}
	}
	if a.Tags == nil {
		a.Tags = map[string]string{}
	}
	if testAt.Valid {
		a.LastTest = &TestResult{At: testAt.Time.UTC(), OK: testOK.Bool, Detail: testDetail}
	}
	a.CreatedAt, a.UpdatedAt = a.CreatedAt.UTC(), a.UpdatedAt.UTC()
	return a, nil
}

func (p *AccountParams) normalize() error {
	p.Provider = strings.ToLower(strings.TrimSpace(p.Provider))
	p.AccountUID = strings.TrimSpace(p.AccountUID)
	if err := ValidateAccountUID(p.Provider, p.AccountUID); err != nil {
		return err
	}
	seen := map[string]bool{}
	regions := make([]string, 0, len(p.Regions))
	for _, r := range p.Regions {
		r = strings.TrimSpace(r)
		if err := ValidateRegion(p.Provider, r); err != nil {
			return err
		}
		if !seen[r] {
			seen[r] = true
			regions = append(regions, r)
		}
	}
	slices.Sort(regions)
	p.Regions = regions
	if len(p.Tags) > 50 {
		return invalid("at most 50 tags")
	}
	for k, v := range p.Tags {
		if k == "" || len(k) > 128 || len(v) > 256 {
			return invalid("tag keys are 1-128 characters, values at most 256")
		}
	}
	if p.Tags == nil {
		p.Tags = map[string]string{}
	}
	if p.Credentials != nil {
		return p.Credentials.Validate(p.Provider)
	}
	return nil
}

func (s *Service) seal(accountID string, c Credentials) (string, error) {
	b, err := json.Marshal(c) //nolint:gosec // G117: marshalled to be sealed at once, never sent or logged
	if err != nil {
		return "", err
	}
	return s.box.Seal(string(b), sealContext(accountID)), nil
}

// AccountCreate registers an account for a team. The same account may be
// registered by several teams; within a team it is unique (ErrConflict).
func (s *Service) AccountCreate(ctx context.Context, teamID, actor string, p AccountParams) (Account, error) {
	if err := p.normalize(); err != nil {
		return Account{}, err
	}
	if p.Credentials == nil {
		return Account{}, invalid("credentials are required")
	}
	if err := s.checkCredentials(ctx, teamID, p.Credentials); err != nil {
		return Account{}, err
	}
	externalID := ""
	if p.Credentials.Type == CredAssumeRole {
		externalID = newExternalID()
	}
	accountID := id.New()
	sealed, err := s.seal(accountID, *p.Credentials)
	if err != nil {
		return Account{}, err
	}
	regions, _ := json.Marshal(p.Regions)
	tags, _ := json.Marshal(p.Tags)
	now := s.now().UTC()
	var a Account
	err = s.d.InTeam(ctx, teamID, func(q db.Querier) error {
		if _, err := q.ExecContext(ctx, `INSERT INTO cloud_accounts (id, team_id, provider, account_uid, alias, regions, tags,
			credential_type, credentials, credential_hint, created_by, created_at, updated_at, external_id)
			VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14)`,
			accountID, teamID, p.Provider, p.AccountUID, p.Alias, string(regions), string(tags), p.Credentials.Type, sealed,
			p.Credentials.Hint(), actor, now, now, externalID); err != nil {
			return db.MapError(err)
		}
		var err error
		a, err = accountGet(ctx, q, teamID, accountID)
		return err
	})
	return a, err
}

func accountGet(ctx context.Context, q db.Querier, teamID, accountID string) (Account, error) {
	return scanAccount(q.QueryRowContext(ctx, "SELECT "+accountColumns+" FROM cloud_accounts WHERE team_id = $1 AND id = $2", teamID, accountID))
}

// AccountGet returns one of the team's accounts.
func (s *Service) AccountGet(ctx context.Context, teamID, accountID string) (Account, error) {
	var a Account
	err := s.d.ReadInTeam(ctx, teamID, func(q db.Querier) error {
		var err error
		a, err = accountGet(ctx, q, teamID, accountID)
		return err
	})
	return a, err
}

// AccountList returns the team's accounts by provider and alias.
func (s *Service) AccountList(ctx context.Context, teamID string) ([]Account, error) {
	out := []Account{}
	err := s.d.ReadInTeam(ctx, teamID, func(q db.Querier) error {
		rows, err := q.QueryContext(ctx, "SELECT "+accountColumns+" FROM cloud_accounts WHERE team_id = $1 ORDER BY provider, alias, account_uid", teamID)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			a, err := scanAccount(rows)
			if err != nil {
				return err
			}
			out = append(out, a)
		}
		return rows.Err()
	})
	return out, err
}

// AccountChange changes an account; absent fields keep their values.
type AccountChange struct {
	Alias       *string           `json:"alias,omitempty" maxLength:"100"`
	Regions     []string          `json:"regions,omitempty" maxItems:"64"`
	Tags        map[string]string `json:"tags,omitempty"`
	Credentials *Credentials      `json:"credentials,omitempty" doc:"New credentials replace the stored ones."`
}

// AccountUpdate changes alias, regions, tags and, when given, the
// credentials. Provider and account ID do not change: register another
// account instead.
func (s *Service) AccountUpdate(ctx context.Context, teamID, accountID string, c AccountChange) (Account, error) {
	var a Account
	err := s.d.InTeam(ctx, teamID, func(q db.Querier) error {
		cur, err := accountGet(ctx, q, teamID, accountID)
		if err != nil {
			return err
		}
		p := AccountParams{Provider: cur.Provider, AccountUID: cur.AccountUID, Alias: cur.Alias, Regions: cur.Regions, Tags: cur.Tags,
			Credentials: c.Credentials}
		if c.Alias != nil {
			p.Alias = *c.Alias
		}
		if c.Regions != nil {
			p.Regions = c.Regions
		}
		if c.Tags != nil {
			p.Tags = c.Tags
		}
		if err := p.normalize(); err != nil {
			return err
		}
		regions, _ := json.Marshal(p.Regions)
		tags, _ := json.Marshal(p.Tags)
		now := s.now().UTC()
		if _, err := q.ExecContext(ctx, "UPDATE cloud_accounts SET alias = $1, regions = $2, tags = $3, updated_at = $4 WHERE team_id = $5 AND id = $6",
			p.Alias, string(regions), string(tags), now, teamID, accountID); err != nil {
			return err
		}
		if p.Credentials != nil {
			if err := s.checkCredentials(ctx, teamID, p.Credentials); err != nil {
				return err
			}
			// An account keeps its external ID across new credentials, so
			// the trust policy set up for it stays right.
			externalID := cur.ExternalID
			if p.Credentials.Type == CredAssumeRole && externalID == "" {
				externalID = newExternalID()
			}
			sealed, err := s.seal(accountID, *p.Credentials)
			if err != nil {
				return err
			}
			// New credentials: the last connection test said nothing about them.
			if _, err := q.ExecContext(ctx, `UPDATE cloud_accounts SET credential_type = $1, credentials = $2, credential_hint = $3,
				last_test_at = NULL, last_test_ok = NULL, last_test_detail = '', external_id = $4 WHERE team_id = $5 AND id = $6`,
				p.Credentials.Type, sealed, p.Credentials.Hint(), externalID, teamID, accountID); err != nil {
				return err
			}
		}
		a, err = accountGet(ctx, q, teamID, accountID)
		return err
	})
	return a, err
}

// AccountDelete removes an account and its sealed credentials. Its findings
// and scan history stay: they are evidence.
func (s *Service) AccountDelete(ctx context.Context, teamID, accountID string) error {
	return s.d.InTeam(ctx, teamID, func(q db.Querier) error {
		res, err := q.ExecContext(ctx, "DELETE FROM cloud_accounts WHERE team_id = $1 AND id = $2", teamID, accountID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return db.ErrNotFound
		}
		return nil
	})
}

// CredentialsOpen returns an account's credentials in plain text, for the
// worker that runs a scan. Nothing else may call it.
func (s *Service) CredentialsOpen(ctx context.Context, teamID, accountID string) (Account, Credentials, error) {
	var (
		a      Account
		sealed string
	)
	err := s.d.ReadInTeam(ctx, teamID, func(q db.Querier) error {
		var err error
		if a, err = accountGet(ctx, q, teamID, accountID); err != nil {
			return err
		}
		return q.QueryRowContext(ctx, "SELECT credentials FROM cloud_accounts WHERE team_id = $1 AND id = $2", teamID, accountID).Scan(&sealed)
	})
	if err != nil {
		return Account{}, Credentials{}, err
	}
	plain, err := s.box.Open(sealed, sealContext(accountID))
	if err != nil {
		return Account{}, Credentials{}, fmt.Errorf("credentials of account %s: %w", accountID, err)
	}
	var c Credentials
	if err := json.Unmarshal([]byte(plain), &c); err != nil {
		return Account{}, Credentials{}, fmt.Errorf("credentials of account %s: not JSON", accountID)
	}
	if c.Type == CredWorkerIdentity && !s.workerIdentityAllowed(ctx, teamID) {
		// Checked again at use: the operator may have withdrawn it since.
		return Account{}, Credentials{}, ErrWorkerIdentityNotAllowed
	}
	if a.ExternalID != "" {
		c.ExternalID = a.ExternalID
	}
	return a, c, nil
}

// TestResultSet records the outcome of a connection test.
func (s *Service) TestResultSet(ctx context.Context, teamID, accountID string, r TestResult) error {
	return s.d.InTeam(ctx, teamID, func(q db.Querier) error {
		_, err := q.ExecContext(ctx, "UPDATE cloud_accounts SET last_test_at = $1, last_test_ok = $2, last_test_detail = $3 WHERE team_id = $4 AND id = $5",
			r.At.UTC(), r.OK, r.Detail, teamID, accountID)
		return err
	})
}

// ResealTx seals every account's credentials again under to, with q (a
// system-scoped transaction on the platform database): the key-rotation
// command's part for cloud accounts.
func ResealTx(ctx context.Context, q db.Querier, from, to *secrets.Box) (int, error) {
	return secrets.Reseal(ctx, q, "cloud_accounts", "id", "credentials", sealContext, from, to)
}
