// Package findings is the CSPM findings store: every tool's findings,
// normalized by ingest, with a stable identity per team and fingerprint, a
// lifecycle (open, resolved, reopened, muted), a delta per scan and the
// history of each finding.
package findings

import (
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/offloadsecurity/cspm/internal/audit"
	"github.com/offloadsecurity/cspm/internal/db"
	"github.com/offloadsecurity/cspm/internal/id"
	"github.com/offloadsecurity/cspm/internal/ingest"
	"github.com/offloadsecurity/cspm/internal/listcache"
	"github.com/offloadsecurity/cspm/internal/nativescans"
	"github.com/offloadsecurity/cspm/internal/tiers"
	"github.com/offloadsecurity/cspm/internal/vuln"
)

// Store keeps findings in the native_scans database, beside the unified
// scan results, so that a scan and its findings commit together.
type Store struct {
	d   *db.DB
	now func() time.Time
	// Audit records triage changes made through the API; set by the app.
	Audit *audit.Log
	// TicketLookup, when set, answers findings' tickets for the API (the
	// app looks them up in internal/notify).
	TicketLookup TicketLookup
	// Changed, when set, hears that a person's triage of the team's
	// findings committed (the app queues the two-way ticket sync).
	Changed func(ctx context.Context, teamID string)
	// Vulns receives the findings that carry vulnerability IDs (dual
	// ingestion); nil leaves the vulnerability store out.
	Vulns  *vuln.Service
	Logger *slog.Logger
	// Tiers, when set, gives each written finding its business tier (see
	// business_tier.go); TiersStale runs when the analyses changed while an
	// import wrote with the earlier map, to queue a sync of the team.
	Tiers      tiers.Source
	TiersStale func(ctx context.Context, teamID string)
	// snapshotLimit is the most findings a team may have for an import
	// to read them all first (see importRun.snapshot): 0 means the
	// engine's default (snapshotLimitFor), below 0 none. Tests set it to
	// compare both ways.
	snapshotLimit int
	// sortLimit, when set, replaces MaxUnindexedSort (tests).
	sortLimit int

	totals        listcache.Cache[int]
	facets        listcache.Cache[*Facets]
	overviews     listcache.Cache[Overview]
	postureGroups listcache.Cache[[]postureGroup]
	// postureResources is filled in the background (resourcesScanned).
	postureResources listcache.Cache[[]resourceCount]
}

// dataVersions versions what the team's finding lists count (see
// listcache): imports and every mute or unmute bump it.
const dataVersions = listcache.Versions("findings_data_versions")

// NewStore returns the findings store.
func NewStore(reg *db.Registry) *Store { return &Store{d: reg.Get(db.NativeScans), now: time.Now} }

// ImportParams describes one report to import.
type ImportParams struct {
	TeamID      string
	ScanID      string // empty: a new ID
	Format      string // empty: detected from the content
	Filename    string
	ArtifactRef string
	CreatedBy   string
	Source      string // "import" (default) or "scan"
	// Part, when set, makes this import one part of a multi-part scan (a
	// ScanRun's SubJob): the scan's record in the unified history belongs to
	// its orchestrator, and what the part did is kept under Part in the
	// import's transaction (see ImportPartGet).
	Part string
	// Covers are the scopes the scan behind the report covered (a SubJob's
	// account and region, or its target), which it covers even when the
	// report is empty: their findings it does not list are resolved.
	Covers []Coverage
	// Progress, when set, is called with the items read so far, every batch.
	Progress func(itemsRead int)
}

// Coverage is one scope a scan covered: a cloud account and region, or a
// target (host, URL, image, repository).
type Coverage struct {
	AccountUID string `json:"account_uid,omitempty"`
	Region     string `json:"region,omitempty"`
	Target     string `json:"target,omitempty"`
	// Under: Target is a directory, and the scopes of the targets under it
	// are covered too (a code scan of a checkout covers each lockfile in it).
	Under bool `json:"under,omitempty"`
}

// ImportResult is what an import did; the JSON names are the API's and the CLI's.
type ImportResult struct {
	ScanID            string `json:"scan_id"`
	Format            string `json:"format"`
	ItemsRead         int    `json:"items_read"`
	FindingsCreated   int    `json:"findings_created"`
	FindingsUpdated   int    `json:"findings_updated"`
	FindingsUnchanged int    `json:"findings_unchanged"`
	FindingsResolved  int    `json:"findings_resolved"`
	// DuplicatesFolded counts items that repeated a finding the report
	// already held (the worst report of each finding is kept).
	DuplicatesFolded int `json:"duplicates_folded"`
	// OpenedBySeverity counts the findings this import created or reopened
	// as open failures (not muted), by severity: a pipeline's gate.
	OpenedBySeverity map[string]int `json:"opened_by_severity"`
	// Vulnerabilities is what dual ingestion recorded in the vulnerability store.
	Vulnerabilities *vuln.Result `json:"vulnerabilities,omitempty"`
	// OpenedTags are the resource tags of the critical and high findings it
	// opened (at most 200), sorted: notifications carry them for rules that
	// filter on tags.
	OpenedTags []string `json:"opened_tags,omitempty" doc:"Resource tags of the critical and high findings it opened."`
	// Checks are the check IDs the import reported or resolved findings of,
	// sorted: the controls a compliance sync after it must score again.
	Checks []string `json:"-"`
}

// batchSize rows go into one multi-row statement: findingColumns x 500 rows
// stays under SQLite's and PostgreSQL's parameter limits.
const batchSize = 500

// Import reads a report and records its findings and its scan in one
// transaction: a report that fails to parse half-way leaves nothing
// visible but a failed entry in the scan history.
func (s *Store) Import(ctx context.Context, r io.Reader, p ImportParams) (ImportResult, error) {
	if p.ScanID == "" {
		p.ScanID = id.New()
	}
	if p.Source == "" {
		p.Source = "import"
	}
	started := s.now().UTC()
	rec := &nativescans.ScanResult{
		ID: p.ScanID, TeamID: p.TeamID, Source: p.Source, Status: nativescans.StatusRunning, Format: p.Format,
		Filename: p.Filename, ArtifactRef: p.ArtifactRef, StartedAt: started, CreatedBy: p.CreatedBy,
		BySeverity: map[string]int{}, ByResult: map[string]int{},
	}
	for _, c := range p.Covers { // the scope the import closes, shown in the history
		rec.Target, rec.AccountUID = c.Target, c.AccountUID
	}
	res := ImportResult{ScanID: p.ScanID, OpenedBySeverity: map[string]int{}}
	// Parsing runs on its own goroutine, a couple of batches ahead of the
	// database writes: on two cores an import then takes about as long as the
	// slower of the two instead of their sum.
	pctx, cancelParse := context.WithCancel(ctx)
	defer cancelParse()
	ahead := newParseAhead(parsedAheadSteady, parsedAheadWide)
	batches := make(chan parsedBatch, parsedAheadWide)
	// prepack asks the parser to pack each batch's raw OCSF as it goes, for
	// the batch to be stored whole: right while every finding is new (a
	// first import), wasted while findings come back unchanged (the
	// sorting goroutine packs what is written then, see layoutRaw).
	var prepack atomic.Bool
	prepack.Store(true)
	var (
		format   string
		covered  []string // targets the report says it scanned
		parseErr error
	)
	go func() {
		defer close(batches)
		batch := make([]*ingest.Finding, 0, batchSize)
		var packer blockPacker
		send := func() error {
			pb := parsedBatch{findings: batch}
			if prepack.Load() {
				pb.block = packer.pack(rawsOf(batch))
				// The block holds them now; a batch that turns out not to
				// be written whole reads them back from it (layoutRaw).
				// Holding both was a tenth of an import's memory.
				for _, f := range batch {
					f.Raw = nil
				}
			}
			select {
			case <-ahead.room:
				batches <- pb // never blocks: the channel holds all the room there is
				return nil
			case <-pctx.Done():
				return pctx.Err()
			}
		}
		var report ingest.Report
		report, parseErr = ingest.ParseReport(r, p.Format, p.Filename, func(f *ingest.Finding) error {
			batch = append(batch, f)
			if len(batch) < batchSize {
				return nil
			}
			if err := send(); err != nil {
				return err
			}
			batch = make([]*ingest.Finding, 0, batchSize)
			return nil
		})
		format, covered = report.Format, report.Targets
		if parseErr == nil && len(batch) > 0 {
			_ = send()
		}
	}()
	drain := func() {
		cancelParse()
		for range batches {
		}
	}

	mirror := func(q db.Querier) error {
		if p.Part != "" {
			return nil
		}
		return nativescans.MirrorToUnifiedScanResults(ctx, q, rec)
	}
	tierMap := s.businessTiers(ctx, p.TeamID)
	var imp *importRun
	err := s.d.InTeamConn(ctx, p.TeamID, func(q db.Querier, conn *sql.Conn) error {
		// One import of a team at a time: two imports inserting the same
		// new fingerprint at once (two SubJobs of a scan that report one
		// global finding) would otherwise collide on PostgreSQL.
		if err := s.d.LockInTx(ctx, q, "findings-import:"+p.TeamID); err != nil {
			drain()
			return err
		}
		imp = &importRun{ahead: ahead, q: q, d: s.d, conn: conn, dialect: s.d.Dialect, ctx: ctx, teamID: p.TeamID, scanID: p.ScanID, now: started, scopes: map[string]bool{}, folds: newFoldSet(), statusBefore: map[int64]priorState{}, checks: map[string]bool{}, rec: rec, res: &res, analyzeAt: 2000, prepack: &prepack}
		if err := imp.analyzeIfStale(); err != nil {
			drain()
			return err
		}
		if err := imp.takeSnapshot(s.snapshotLimitFor(s.d.Dialect)); err != nil {
			drain()
			return err
		}
		rules, err := activeRules(ctx, q, p.TeamID, started)
		if err != nil {
			drain()
			return err
		}
		imp.rules, imp.tiers = rules, tierMap
		if err := imp.writeAll(batches, func(first *ingest.Finding) error {
			rec.Tool, rec.ScanType = first.Tool, nativescans.TypeForTool(first.Tool)
			return mirror(q)
		}, p.Progress); err != nil {
			drain()
			return err
		}
		// The channel is closed: the parser is done.
		if parseErr != nil {
			return parseErr
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		res.Format, rec.Format = format, format
		if rec.Tool == "" { // an empty report: still a scan in the history
			rec.Tool = strings.SplitN(format, "-", 2)[0]
			rec.ScanType = nativescans.TypeForTool(rec.Tool)
		}
		// What the report and its caller say it covered is covered even
		// where it found nothing: a clean scan resolves what was there.
		for _, t := range covered {
			imp.scopes[(&ingest.Finding{Tool: rec.Tool, Target: t}).ScopeKey()] = true
		}
		for _, c := range p.Covers {
			key := (&ingest.Finding{Tool: rec.Tool, AccountUID: c.AccountUID, Region: c.Region, Target: c.Target}).ScopeKey()
			imp.scopes[key] = true
			if c.Under && c.Target != "" {
				if err := imp.coverUnder(strings.TrimRight(key, "/") + "/"); err != nil {
					return err
				}
			}
		}
		if err := imp.resolveMissing(); err != nil {
			return err
		}
		finished := s.now().UTC()
		rec.Status, rec.FinishedAt = nativescans.StatusCompleted, &finished
		rec.ItemsRead, rec.FindingsCreated, rec.FindingsUpdated = res.ItemsRead, res.FindingsCreated, res.FindingsUpdated
		rec.FindingsUnchanged, rec.FindingsResolved = res.FindingsUnchanged, res.FindingsResolved
		rec.OpenedBySeverity, rec.DuplicatesFolded = res.OpenedBySeverity, res.DuplicatesFolded
		if err := dataVersions.Bump(ctx, q, p.TeamID); err != nil {
			return err
		}
		if p.Part != "" {
			return importPartSet(ctx, q, p.TeamID, p.ScanID, p.Part, PartResult{ImportResult: res, BySeverity: rec.BySeverity, ByResult: rec.ByResult}, finished)
		}
		// A scan's part needs none: its SubJob's transaction queues what follows.
		if err := writeOutbox(ctx, q, p, res, finished); err != nil {
			return err
		}
		return mirror(q)
	})
	if err == nil {
		s.checkTiersCurrent(ctx, p.TeamID, tierMap)
	}
	if err == nil && s.Vulns != nil && imp != nil {
		if vr, verr := s.Vulns.RecordOccurrences(ctx, p.TeamID, p.ScanID, imp.sightings, imp.scopeList()); verr != nil {
			// The findings are committed; the vulnerability store catches up
			// at the next import of the same scope.
			if s.Logger != nil {
				s.Logger.Error("dual ingestion into the vulnerability store failed", "scan_id", p.ScanID, "err", verr)
			}
		} else {
			res.Vulnerabilities = &vr
			if vr.KEVOpened > 0 && p.Part == "" {
				s.recordKEVOpened(ctx, p.TeamID, p.ScanID, vr.KEVOpened)
			}
		}
	}
	if err != nil {
		drain() // InTeam may have failed before reading: let the parser end
		if rec.Format == "" {
			rec.Format = format // known once the parser is done, even when it failed
		}
	}
	if err != nil {
		if p.Part == "" {
			s.recordFailure(rec, err)
		}
		return ImportResult{ScanID: p.ScanID}, err
	}
	if p.Progress != nil {
		p.Progress(res.ItemsRead)
	}
	if imp != nil {
		res.Checks = make([]string, 0, len(imp.checks))
		for c := range imp.checks {
			res.Checks = append(res.Checks, c)
		}
		slices.Sort(res.Checks)
	}
	return res, nil
}

// recordKEVOpened adds to an import's record the KEV occurrences it
// opened, which dual ingestion learns after the findings commit.
func (s *Store) recordKEVOpened(ctx context.Context, teamID, scanID string, n int) {
	err := s.d.InTeam(ctx, teamID, func(q db.Querier) error {
		_, err := q.ExecContext(ctx, `UPDATE scan_results SET kev_opened = $1 WHERE team_id = $2 AND id = $3`, n, teamID, scanID)
		return err
	})
	if err != nil && s.Logger != nil {
		s.Logger.Error("record the KEV occurrences an import opened", "scan_id", scanID, "err", err)
	}
}

// recordFailure keeps a failed import in the history, outside the rolled-back
// transaction, with a context of its own: the caller's may be what ended.
func (s *Store) recordFailure(rec *nativescans.ScanResult, cause error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	finished := s.now().UTC()
	rec.Status, rec.FinishedAt, rec.Error = nativescans.StatusFailed, &finished, cause.Error()
	rec.ItemsRead, rec.FindingsCreated, rec.FindingsUpdated, rec.FindingsUnchanged, rec.FindingsResolved = 0, 0, 0, 0, 0
	rec.BySeverity, rec.ByResult = map[string]int{}, map[string]int{}
	if rec.Tool == "" {
		rec.Tool, rec.ScanType = "unknown", nativescans.TypeCode
		if rec.Format != "" {
			rec.Tool = strings.SplitN(rec.Format, "-", 2)[0]
			rec.ScanType = nativescans.TypeForTool(rec.Tool)
		}
	}
	_ = s.d.InTeam(ctx, rec.TeamID, func(q db.Querier) error {
		return nativescans.MirrorToUnifiedScanResults(ctx, q, rec)
	})
}

// matchRule returns the first active mute rule covering f, or nil.
func (r *importRun) matchRule(f *ingest.Finding) *MuteRule {
	if f.Suppression != "" || f.VendorStatus != "" {
		return toolMute(f)
	}
	for i := range r.rules {
		if r.rules[i].matches(f) {
			return &r.rules[i]
		}
	}
	return nil
}

// importRun is the state of one import's transaction.
type importRun struct {
	// d is the findings' database, for the statements only its owner may run.
	d *db.DB
	// reported are the stored findings this import reported (see
	// classify); missing leaves them out.
	reported []int64
	// reportedScope is, for each of them, the scope it is stored under (an
	// index into storedScopes), or -1 when this scan created it: with the
	// findings this import created, what its scopes must hold for none of
	// their findings to be missing (see everyFindingReported).
	reportedScope []int32
	storedScopes  map[string]int32
	// snapshot is every finding the team had as the import started, by
	// fingerprint, when it had at most snapshotLimit (an empty map for a
	// team with none); nil past that. written then holds the fingerprints
	// this import has met: the snapshot tells the stored state of one it
	// has not met yet, and only one that changes, or that it met before
	// (and may have written since), is read from the database again (see
	// lookupKeys).
	snapshot map[string]existing
	written  *writtenFilter
	prepack  *atomic.Bool
	packer   blockPacker // the sorting goroutine's (see layoutRaw)
	// remediations are the IDs of the team's finding_remediations this
	// import wrote or read, by text (see storeRemediations).
	remediations map[string]int64
	stmts        map[string]*sql.Stmt
	rules        []MuteRule
	tiers        *tiers.Map // nil: no business tiers
	sightings    []vuln.Sighting
	inserted     int
	analyzeAt    int
	ahead        *parseAhead // the parser's room (see parseAhead)
	ctx          context.Context
	q            db.Querier
	// conn is the transaction's connection on PostgreSQL, for the pipeline
	// that writes batches of new findings (pipe, while open).
	conn    *sql.Conn
	pipe    *db.Pipeline
	pgTypes *pgtype.Map
	dialect db.Dialect
	teamID  string
	scanID  string
	now     time.Time
	scopes  map[string]bool
	// folds are the findings read so far, for duplicates (see foldSet),
	// and statusBefore the status before this import of each stored
	// finding whose status it changed.
	folds        *foldSet
	statusBefore map[int64]priorState
	// checks are the check IDs the import reported or resolved findings of.
	checks map[string]bool
	rec    *nativescans.ScanResult
	res    *ImportResult
}

type existing struct {
	id          int64
	status      string
	contentHash string
	rawBlock    sql.NullInt64 // NULL: the raw OCSF is in finding_raw, stored before blocks
	scopeKey    string
	inLatest    bool // last seen by the latest import of its scope: no finding_seen row (see scope_latest)
	thisScan    bool // created by this scan: by this import, or by an earlier part of the same scan
}

const findingInsertColumns = `team_id, fingerprint, tool, class_uid, check_id, title, severity, result, status, provider,
	account_uid, region, service, resource_uid, resource_name, resource_type, target, location, component, version,
	fixed_version, vuln_ids, description, remediation_id, scope_key, content_hash, first_seen, resolved_at,
	first_scan_id, mute_kind, mute_rule_id, muted_reason, muted_by, muted_until, resource_tags, first_status, business_tier, raw_block_id, raw_index`

// parsedBatch is up to batchSize findings in report order and, when the
// parser packed it, the block of all their raw OCSF.
type parsedBatch struct {
	findings []*ingest.Finding
	block    []byte
}

func rawsOf(findings []*ingest.Finding) []json.RawMessage {
	raws := make([]json.RawMessage, len(findings))
	for i, f := range findings {
		raws[i] = f.Raw
	}
	return raws
}

// changedFinding is a stored finding that a report changed.
type changedFinding struct {
	old    existing
	f      *ingest.Finding
	status string
	hash   string
	change string    // changed, resolved or reopened
	rule   *MuteRule // the active mute rule that covers it, if any
}

// rawRef is where a finding's raw OCSF is stored: a block and its place in it.
type rawRef struct {
	block int64
	index int
}

// pendingBatch is a batch on its way to the database: deduplicated, then
// looked up, then sorted into new, changed and unchanged findings.
type pendingBatch struct {
	parsedBatch
	byFP  map[string]*ingest.Finding
	order []string // distinct fingerprints in report order
	known map[string]existing
	// unchangedStored are the fingerprints the snapshot shows stored and
	// unchanged (not looked up), and hashes the content hashes lookupKeys
	// computed on the way.
	unchangedStored []string
	hashes          map[*ingest.Finding]string
	fresh           []*ingest.Finding
	changed         []changedFinding
	rejoined        []int64 // with a written-out sighting, back in the latest import of their scope
	elsewhere       []int64 // reported under another scope than their own
	// What the database work needs, prepared on the sorting goroutine: the
	// block of raw OCSF to store, each written finding's place in it, and
	// the new findings' insert arguments (their block ID set once known).
	rawBlock   []byte
	rawIndex   map[*ingest.Finding]int
	insertArgs []any
}

// writeAll writes the batches the parser sends. The database work runs on
// a goroutine of its own (serial), and a batch is looked up before the
// previous batch's writes: while the database writes one batch, this
// goroutine sorts the next and builds its arguments. Client and server took
// turns before (a PostgreSQL first import of 100,000 findings: 6.8 -> 6.3 s
// on two cores; docs/PERFORMANCE.md).
func (r *importRun) writeAll(batches <-chan parsedBatch, first func(*ingest.Finding) error, progress func(int)) error {
	ex := newSerial(r.endPipeline)
	defer ex.close()
	var prev *pendingBatch // sorted, its writes not submitted yet
	started := false
	for b := range batches {
		r.ahead.taken()
		if len(b.findings) == 0 {
			continue
		}
		if !started {
			// Before this batch is counted: first records the scan as it
			// starts, reading its counts.
			started = true
			f := b.findings[0]
			if err := <-ex.submit(func() error { return first(f) }); err != nil {
				return err
			}
		}
		pb := r.prepare(b)
		if prev != nil && prev.overlaps(pb) {
			// The lookup must see what the previous batch writes.
			r.submitWrite(ex, prev)
			prev = nil
		}
		keys := pb.order
		if r.snapshot != nil {
			keys = r.lookupKeys(pb)
		}
		lookup := func() (err error) {
			pb.known, err = r.lookup(keys)
			return err
		}
		var looked <-chan error
		if len(keys) == 0 {
			looked = ex.submitPiped(lookup) // reads nothing: the pipeline may stay open
		} else {
			looked = ex.submit(lookup)
		}
		if prev != nil {
			r.submitWrite(ex, prev)
		}
		if err := <-looked; err != nil {
			return err
		}
		for _, fp := range pb.unchangedStored {
			pb.known[fp] = r.snapshot[fp]
		}
		if err := r.classify(pb); err != nil {
			return err
		}
		prev = pb
		if progress != nil {
			progress(r.res.ItemsRead)
		}
	}
	if prev != nil {
		r.submitWrite(ex, prev)
	}
	return ex.wait()
}

// prepare counts a batch and deduplicates it: items of one report with one
// fingerprint are one finding, and the worst of them wins (see foldSet).
func (r *importRun) prepare(b parsedBatch) *pendingBatch {
	pb := &pendingBatch{parsedBatch: b, byFP: make(map[string]*ingest.Finding, len(b.findings)), order: make([]string, 0, len(b.findings))}
	for _, f := range b.findings {
		r.res.ItemsRead++
		if !r.countReport(f) {
			continue // an earlier report of the same finding was as bad or worse
		}
		r.scopes[f.ScopeKey()] = true
		if !r.checks[f.CheckID] {
			r.checks[f.CheckID] = true
		}
		// A finding's IDs name one vulnerability (a GHSA and its CVE): one
		// sighting, under the CVE, the others its aliases.
		if id, aliases := vuln.CanonicalID(f.VulnIDs); id != "" {
			asset := f.Target
			if asset == "" {
				asset = f.ResourceUID
			}
			r.sightings = append(r.sightings, vuln.Sighting{VulnID: id, Aliases: aliases, Title: f.Title, Description: f.Description, Severity: f.Severity,
				CVSS: f.CVSS, CWEs: f.CWEs, References: f.References, Asset: asset, Exposure: vuln.ExposureOf(f.Tool, f.AccountUID),
				Component: f.Component, Location: f.Location, Version: f.Version, FixedVersion: f.FixedVersion,
				Tool: f.Tool, ScopeKey: f.ScopeKey(), VendorStatus: f.VendorStatus})
		}
		if _, dup := pb.byFP[f.Fingerprint]; !dup {
			pb.order = append(pb.order, f.Fingerprint)
		}
		pb.byFP[f.Fingerprint] = f
	}
	return pb
}

// overlaps tells whether next reports a finding this batch also reports.
func (pb *pendingBatch) overlaps(next *pendingBatch) bool {
	for _, fp := range next.order {
		if _, ok := pb.byFP[fp]; ok {
			return true
		}
	}
	return false
}

// judge returns what a report makes of a stored finding: its next status,
// its content hash, the active mute rule that covers it, and whether all
// of that leaves it as stored.
func (r *importRun) judge(pb *pendingBatch, f *ingest.Finding, old existing) (status, hash string, rule *MuteRule, unchanged bool) {
	status = nextStatus(f.Result, old.status)
	hash, ok := pb.hashes[f]
	if !ok {
		hash = contentHash(f)
	}
	rule = r.matchRule(f)
	return status, hash, rule, status == old.status && hash == old.contentHash && (parked(status) || rule == nil)
}

// classify sorts a looked-up batch into new, changed and unchanged
// findings, and counts them.
func (r *importRun) classify(pb *pendingBatch) error {
	for _, fp := range pb.order {
		f := pb.byFP[fp]
		old, ok := pb.known[fp]
		if !ok {
			pb.fresh = append(pb.fresh, f)
			continue
		}
		written := old.status
		before, rewrite := r.statusBefore[old.id]
		if rewrite {
			// A worse report of a finding this import already changed (a
			// PASS of it, then a FAIL further on): judged against what it
			// was before the import, the earlier change's count taken back.
			r.takeBackChange(before.status, written)
			old.status, old.contentHash = before.status, before.hash
		}
		status, hash, rule, unchanged := r.judge(pb, f, old)
		if old.thisScan && status == StatusReopened {
			// A worse report of a finding this scan created resolved: it
			// is open, not back.
			status = StatusOpen
		}
		if rewrite && unchanged {
			// As it was before the import: counted unchanged, and written
			// back over what the earlier report made of it.
			r.res.FindingsUnchanged++
			pb.changed = append(pb.changed, changedFinding{old: old, f: f, status: status, hash: hash, change: "changed", rule: rule})
			continue
		}
		// Remembered so that it does not count as missing at the end.
		r.noteReported(old)
		// Its sighting, changed or not:
		switch {
		case old.inLatest && old.scopeKey == f.ScopeKey():
			// Seen by the previous import of its scope and by this one:
			// nothing to write (its sighting is the scope's, see
			// scope_latest).
		case old.scopeKey == f.ScopeKey():
			// Its written-out sighting goes: this import is its scope's.
			pb.rejoined = append(pb.rejoined, old.id)
		default:
			// Reported under another scope than its own: its sighting is
			// written out, as the scope's latest import is not this.
			pb.elsewhere = append(pb.elsewhere, old.id)
		}
		if unchanged {
			r.res.FindingsUnchanged++
			continue
		}
		if status != old.status && !rewrite {
			r.statusBefore[old.id] = priorState{old.status, old.contentHash}
		}
		c := changedFinding{old: old, f: f, status: status, hash: hash, change: "changed", rule: rule}
		switch {
		case status == StatusResolved && old.status != StatusResolved:
			c.change = "resolved"
			r.res.FindingsResolved++
		case status == StatusReopened && old.status == StatusResolved:
			c.change = "reopened"
			r.res.FindingsUpdated++
			if rule == nil {
				r.noteOpened(f)
			}
		default:
			r.res.FindingsUpdated++
		}
		pb.changed = append(pb.changed, c)
	}
	r.res.FindingsCreated += len(pb.fresh)
	if err := r.layoutRaw(pb); err != nil {
		return err
	}
	pb.insertArgs = r.insertArgs(pb.fresh, pb.rawIndex)
	if r.dialect == db.Postgres && len(pb.fresh) > 0 {
		var err error
		if pb.insertArgs, err = pgColumns(pb.insertArgs, len(pb.fresh)); err != nil {
			return err
		}
	}
	return nil
}

// writeFunc returns the database work of a sorted batch, for the serial
// goroutine: it touches nothing the sorting goroutine uses.
func (pb *pendingBatch) writeFunc(r *importRun) func() error {
	return func() error {
		blockID, err := r.storeBlock(pb)
		if err != nil {
			return err
		}
		if err := r.storeRemediations(pb); err != nil {
			return err
		}
		for _, c := range pb.changed {
			if err := r.update(c, rawRef{block: blockID, index: pb.rawIndex[c.f]}); err != nil {
				return err
			}
			if c.rule != nil && !parked(c.status) {
				if err := setMuted(r.ctx, r.q, r.teamID, []findingState{{c.old.id, c.status}}, c.rule.muteKind(), c.rule.ID, c.rule.Reason,
					c.rule.CreatedBy, c.rule.ExpiresAt, r.now); err != nil {
					return err
				}
			}
		}
		if err := r.releaseRaw(pb.changed); err != nil {
			return err
		}
		if err := r.insert(pb, blockID); err != nil {
			return err
		}
		if err := r.refreshStatistics(len(pb.fresh)); err != nil {
			return err
		}
		if err := r.rejoinLatest(pb.rejoined); err != nil {
			return err
		}
		return r.writeSighting(pb.elsewhere)
	}
}

// submitWrite queues a sorted batch's database work: through the pipeline
// when the batch only adds findings (every batch of a first import), else
// on the transaction.
func (r *importRun) submitWrite(ex *serial, pb *pendingBatch) {
	if r.conn != nil && pb.onlyNew() {
		ex.submitPiped(pb.pipedWriteFunc(r))
		return
	}
	ex.submit(pb.writeFunc(r))
}

// onlyNew tells whether all a batch writes is new findings.
func (pb *pendingBatch) onlyNew() bool {
	return len(pb.fresh) > 0 && len(pb.changed) == 0 && len(pb.rejoined) == 0 && len(pb.elsewhere) == 0
}
