// Package bia is the seed's BusinessImpactAnalysis: one analysis per
// business process or service (recovery objectives, an impact grid of
// category x time horizon, dependencies), a lifecycle with segregation of
// duties (draft, in review, returned, approved, archived), versions (an
// approved analysis is read-only; a change starts a new draft while the
// approved one stays in force), and analytics that tie each process to the
// open findings and KEV vulnerabilities on what it depends on.
// docs/bia.md describes it for operators and users.
package bia

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/offloadsecurity/cspm/internal/audit"
	"github.com/offloadsecurity/cspm/internal/db"
	"github.com/offloadsecurity/cspm/internal/rbac"
)

// Statuses of a version. A process's status is its latest version's.
const (
	StatusDraft      = "draft"
	StatusInReview   = "in_review"
	StatusReturned   = "returned"
	StatusApproved   = "approved"
	StatusSuperseded = "superseded" // an approved version a later approval replaced
	StatusArchived   = "archived"
)

// Statuses lists them in lifecycle order.
var Statuses = []string{StatusDraft, StatusInReview, StatusReturned, StatusApproved, StatusSuperseded, StatusArchived}

// Lifecycle actions (POST /api/v1/bia/{id}/transitions).
const (
	ActionSubmit  = "submit"  // draft -> in_review
	ActionApprove = "approve" // in_review -> approved (SECURITY_MANAGER, COMPLIANCE_OFFICER; never an author)
	ActionReturn  = "return"  // in_review -> returned, with a comment
	ActionRevise  = "revise"  // returned -> draft
	ActionArchive = "archive" // any but archived -> archived (ADMIN)
)

// Dependency kinds.
const (
	DepCloudAccount   = "cloud_account"
	DepResource       = "resource"     // a resource UID or ARN
	DepTag            = "tag"          // key=value, matched against findings' resource tags
	DepNetworkHost    = "network_host" // a host name or address
	DepContainerImage = "container_image"
	DepVendor         = "vendor"
	DepPerson         = "person"
	DepProcess        = "process" // another BIA's process ID
)

// DependencyKinds lists them.
var DependencyKinds = []string{DepCloudAccount, DepResource, DepTag, DepNetworkHost, DepContainerImage, DepVendor, DepPerson, DepProcess}

// Errors the API maps to 4xx.
var (
	// ErrInvalid: a refused value (422).
	ErrInvalid = errors.New("invalid business impact analysis")
	// ErrForbidden: the lifecycle does not let this person take this action (403).
	ErrForbidden = errors.New("not allowed")
	// ErrState: the action does not apply in the version's status (409).
	ErrState = errors.New("not allowed in this status")
	// ErrStale: the caller edited an older revision than the stored one (409, or 412 with If-Match).
	ErrStale = errors.New("the analysis changed since it was read")
	// ErrCycle: the dependencies between processes would form a cycle (422).
	ErrCycle = errors.New("dependency cycle")
)

// Actor is who acts: the audit actor and their role, which the lifecycle checks.
type Actor struct {
	audit.Event
	Role rbac.Role
	// system marks the platform's own jobs, which may archive.
	system bool
}

// UserLookup says whether a user belongs to a team and is enabled, and
// their email: a BIA's owner must be one.
type UserLookup interface {
	TeamUser(ctx context.Context, teamID, userID string) (email string, ok bool, err error)
}

// Service keeps business impact analyses on the platform database.
type Service struct {
	d      *db.DB
	users  UserLookup
	audit  *audit.Log
	logger *slog.Logger
	now    func() time.Time
	// Sources resolve dependencies to findings and vulnerabilities.
	findings FindingSource
	kev      KEVSource
	noCache  bool
	onChange func(ctx context.Context, teamID string)
	// refresh queues RefreshExposure (the app: a River job); refreshAsked
	// remembers, per team, the last state it was queued for.
	refresh      func(ctx context.Context, teamID string)
	refreshAsked sync.Map
	// lastExposure holds, per team, the last exposure snapshot this
	// process decoded or stored (exposure_store.go).
	lastExposure sync.Map
	// lastAnalytics holds, per team, the last analytics answer and its key
	// (analytics.go).
	lastAnalytics   sync.Map
	analyticsFlight singleflight.Group
	// loaded keeps, per team, the analyses last read and their state key.
	loaded sync.Map
}

// Options are the service's dependencies. Users, Audit, Findings and KEV
// may be nil in tests that need none of them.
type Options struct {
	Users    UserLookup
	Audit    *audit.Log
	Logger   *slog.Logger
	Now      func() time.Time
	Findings FindingSource
	KEV      KEVSource
	// NoExposureCache computes the findings part of every analytics call
	// afresh: for benchmarks of the pass itself.
	NoExposureCache bool
	// OnChange, when set, runs after every committed change to a team's
	// analyses or settings (the app queues the business tier sync).
	OnChange func(ctx context.Context, teamID string)
	// RefreshExposure, when set, queues a background refresh of a team's
	// exposure (RefreshExposureArgs); without it analytics compute a stale
	// exposure in the request.
	RefreshExposure func(ctx context.Context, teamID string)
}

// New returns the service on reg's platform database.
func New(reg *db.Registry, o Options) *Service {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Service{d: reg.Get(db.Platform), users: o.Users, audit: o.Audit, logger: o.Logger, now: o.Now,
		findings: o.Findings, kev: o.KEV, noCache: o.NoExposureCache, onChange: o.OnChange,
		refresh: o.RefreshExposure}
}

// record writes an audit event when the service has a log, after a change
// commits, and tells OnChange: every change of the analyses passes here.
func (s *Service) record(ctx context.Context, a Actor, teamID, action, targetID string, details map[string]any) {
	if s.onChange != nil {
		s.onChange(ctx, teamID)
	}
	if s.audit == nil {
		return
	}
	e := a.Event
	e.TeamID, e.Action, e.TargetType, e.TargetID, e.Details = teamID, action, "bia", targetID, details
	if err := s.audit.Record(ctx, e); err != nil {
		s.logger.Warn("audit of a BIA change failed", "action", action, "err", err)
	}
}
