// Package compliance is the SCF registry and the seed's
// AutonomousComplianceEngine. The registry holds global content: frameworks
// (the SCF workbook, open framework-library YAML, Prowler's compliance maps
// stored as frameworks), mapping sets between frameworks, the SCF
// workbook's crosswalks and scanner check maps. From it the package derives
// which SCF controls each scanner check reaches and which SCF controls each
// framework requirement maps to (see relink). The engine scores every team's
// SCF controls from its findings and projects the scores onto every loaded
// framework (see Engine.Sync). The formula is stated in docs/compliance.md.
package compliance

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/offloadsecurity/cspm/internal/artifact"
	"github.com/offloadsecurity/cspm/internal/audit"
	"github.com/offloadsecurity/cspm/internal/db"
	"github.com/offloadsecurity/cspm/internal/findings"
)

// Statuses of a control or requirement.
const (
	StatusPassing     = "passing"
	StatusFailing     = "failing"
	StatusPartial     = "partial"
	StatusNotAssessed = "not_assessed"
	StatusManual      = "manual"
)

// Statuses lists them in display order.
var Statuses = []string{StatusPassing, StatusPartial, StatusFailing, StatusManual, StatusNotAssessed}

// Coverage of a link: how much of an SCF control a check or requirement covers.
const (
	CoverageFull    = "full"
	CoveragePartial = "partial"
)

// FamilySCF is the normalization family of every SCF version.
const FamilySCF = "scf"

// Errors the API maps to 4xx.
var (
	// ErrMissingDependency: a mapping set names a framework that is not loaded.
	ErrMissingDependency = errors.New("missing dependency")
	// ErrBadContent: the file is not compliance content this package reads.
	ErrBadContent = errors.New("unreadable compliance content")
)

// CheckResulter is what the engine needs from the findings store.
type CheckResulter interface {
	CheckResults(ctx context.Context, teamID string, checks []string) ([]findings.CheckResult, error)
}

// Service is the compliance registry, the engine and the attestations.
type Service struct {
	d         *db.DB
	findings  CheckResulter
	artifacts artifact.Store
	audit     *audit.Log
	logger    *slog.Logger
	now       func() time.Time
	// Engine scores teams; it shares the service's database.
	Engine *Engine
	// learned are the checks whose findings' own compliance map was read.
	learned learnedChecks
	// MaxEvidenceBytes bounds an attestation's evidence file.
	MaxEvidenceBytes int64
	synced           func(ctx context.Context, res SyncResult)
}

// Options are the service's dependencies. Audit and Artifacts may be nil in
// tests that need neither.
type Options struct {
	Findings  CheckResulter
	Artifacts artifact.Store
	Audit     *audit.Log
	Logger    *slog.Logger
	Now       func() time.Time
	// Synced, when set, hears every sync's scores after they are stored
	// (the app tells notifications of a score that dropped).
	Synced func(ctx context.Context, res SyncResult)
}

// New returns the service on reg's platform database.
func New(reg *db.Registry, o Options) *Service {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	s := &Service{d: reg.Get(db.Platform), findings: o.Findings, artifacts: o.Artifacts, audit: o.Audit, logger: o.Logger,
		now: o.Now, MaxEvidenceBytes: 50 << 20, synced: o.Synced}
	s.Engine = &Engine{s: s}
	return s
}

// record writes an audit event when the service has a log.
func (s *Service) record(ctx context.Context, actor audit.Event, action, targetType, targetID string, details map[string]any) {
	if s.audit == nil {
		return
	}
	e := actor
	e.Action, e.TargetType, e.TargetID, e.Details = action, targetType, targetID, details
	_ = s.audit.Record(ctx, e)
}

func nullTime(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UTC()
}
