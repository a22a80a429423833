// Package findings is the CSPM findings store: every tool's findings,
// normalized by ingest, with a stable identity per team and fingerprint, a
// lifecycle (open, resolved, reopened, muted), a delta per scan and the
// history of each finding.
package findings

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strconv"
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
	"github.com/offloadsecurity/cspm/internal/vuln"
)

// Lifecycle statuses.
const (
	StatusOpen     = "open"
	StatusResolved = "resolved"
	StatusReopened = "reopened"
	StatusMuted    = "muted"
)

// Store keeps findings in the native_scans database, beside the unified
// scan results, so that a scan and its findings commit together.
type Store struct {
	d   *db.DB
	now func() time.Time
	// Audit records triage changes made through the API; set by the app.
	Audit *audit.Log
	// Vulns receives the findings that carry vulnerability IDs (dual
	// ingestion); nil leaves the vulnerability store out.
	Vulns  *vuln.Service
	Logger *slog.Logger
	// snapshotLimit is the most findings a team may have for an import
	// to read them all first (see importRun.snapshot): 0 means the
	// engine's default (snapshotLimitFor), below 0 none. Tests set it to
	// compare both ways.
	snapshotLimit int

	totals    listcache.Cache[int]
	facets    listcache.Cache[*Facets]
	overviews listcache.Cache[Overview]
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
	// Progress, when set, is called with the items read so far, every batch.
	Progress func(itemsRead int)
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
	// Vulnerabilities is what dual ingestion recorded in the vulnerability store.
	Vulnerabilities *vuln.Result `json:"vulnerabilities,omitempty"`
	// Checks are the check IDs the import reported or resolved findings of,
	// sorted: the controls a compliance sync after it must score again.
	Checks []string `json:"-"`
}

// How many parsed batches may wait for the writer: a couple, and more
// while a PostgreSQL import reads the team's snapshot before it writes
// (0.2-0.3 s for 100,000 findings: the parser stopped after two batches
// meanwhile, and a re-import took that much longer than the parse).
const (
	parsedAheadSteady = 2
	parsedAheadWide   = 32
)

// parseAhead is the room the parser has for batches the writer has not
// taken: steady, widened to wide once, narrowing back as the writer takes
// the next batches (it keeps their room instead of giving it back).
type parseAhead struct {
	room    chan struct{}
	steady  int
	keep    int // room the writer has yet to keep
	widened bool
}

func newParseAhead(steady, wide int) *parseAhead {
	a := &parseAhead{room: make(chan struct{}, wide), steady: steady}
	for range steady {
		a.room <- struct{}{}
	}
	return a
}

// widen gives the parser room up to wide, the first time; the writer's
// goroutine calls it, before it takes batches.
func (a *parseAhead) widen() {
	if a == nil || a.widened {
		return
	}
	a.widened = true
	for range cap(a.room) - a.steady {
		a.room <- struct{}{}
		a.keep++
	}
}

// taken is the writer's: it took a batch.
func (a *parseAhead) taken() {
	if a.keep > 0 {
		a.keep--
		return
	}
	a.room <- struct{}{}
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
	res := ImportResult{ScanID: p.ScanID}
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
		format, parseErr = ingest.Parse(r, p.Format, func(f *ingest.Finding) error {
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
	var imp *importRun
	err := s.d.InTeamConn(ctx, p.TeamID, func(q db.Querier, conn *sql.Conn) error {
		// One import of a team at a time: two imports inserting the same
		// new fingerprint at once (two SubJobs of a scan that report one
		// global finding) would otherwise collide on PostgreSQL.
		if err := s.d.LockInTx(ctx, q, "findings-import:"+p.TeamID); err != nil {
			drain()
			return err
		}
		imp = &importRun{ahead: ahead, q: q, d: s.d, conn: conn, dialect: s.d.Dialect, ctx: ctx, teamID: p.TeamID, scanID: p.ScanID, now: started, scopes: map[string]bool{}, checks: map[string]bool{}, rec: rec, res: &res, analyzeAt: 2000, prepack: &prepack}
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
		imp.rules = rules
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
		if err := imp.resolveMissing(); err != nil {
			return err
		}
		res.Format, rec.Format = format, format
		if rec.Tool == "" { // an empty report: still a scan in the history
			rec.Tool = strings.SplitN(format, "-", 2)[0]
			rec.ScanType = nativescans.TypeForTool(rec.Tool)
		}
		finished := s.now().UTC()
		rec.Status, rec.FinishedAt = nativescans.StatusCompleted, &finished
		rec.ItemsRead, rec.FindingsCreated, rec.FindingsUpdated = res.ItemsRead, res.FindingsCreated, res.FindingsUpdated
		rec.FindingsUnchanged, rec.FindingsResolved = res.FindingsUnchanged, res.FindingsResolved
		if err := dataVersions.Bump(ctx, q, p.TeamID); err != nil {
			return err
		}
		if p.Part != "" {
			return importPartSet(ctx, q, p.TeamID, p.ScanID, p.Part, PartResult{ImportResult: res, BySeverity: rec.BySeverity, ByResult: rec.ByResult}, finished)
		}
		return mirror(q)
	})
	if err == nil && s.Vulns != nil && imp != nil {
		if vr, verr := s.Vulns.RecordOccurrences(ctx, p.TeamID, p.ScanID, imp.sightings, imp.scopeList()); verr != nil {
			// The findings are committed; the vulnerability store catches up
			// at the next import of the same scope.
			if s.Logger != nil {
				s.Logger.Error("dual ingestion into the vulnerability store failed", "scan_id", p.ScanID, "err", verr)
			}
		} else {
			res.Vulnerabilities = &vr
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

// refreshStatistics re-analyzes the findings table on PostgreSQL each time
// this import has inserted four times as many rows as at the last analyze.
// The table grows inside one transaction, where autovacuum cannot follow;
// with stale statistics the planner looked fingerprints up by scanning the
// team's rows, which made a 20,000-finding import quadratic (9.8 s, against
// about 3 s with this). ANALYZE counts the transaction's own new rows.
// analyzeFindings refreshes the statistics the import's own queries plan
// with: the row count and the columns they filter on. The other columns
// (descriptions, remediation) are most of the sampling work and autovacuum
// gets to them after the import commits.
const analyzeFindings = "ANALYZE findings (team_id, fingerprint, status, scope_key)"

func (r *importRun) refreshStatistics(inserted int) error {
	if !r.statisticsDue(inserted) {
		return nil
	}
	return r.d.Maintain(r.ctx, r.q, analyzeFindings)
}

// statisticsDue counts inserted new findings and tells whether the
// findings' statistics are due (see refreshStatistics).
func (r *importRun) statisticsDue(inserted int) bool {
	if r.dialect != db.Postgres {
		return false
	}
	r.inserted += inserted
	if r.inserted < r.analyzeAt {
		return false
	}
	r.analyzeAt = max(r.inserted*4, 2000)
	return true
}

// analyzeIfStale analyzes the findings table at the start of an import
// when it has grown more than four times over since its statistics were
// taken: the same rule refreshStatistics follows inside an import, so that
// the import after a big one (typically the same report again, before
// autovacuum got to the table) does not pay for an ANALYZE that changes no
// plan. Up to four times, the planner's estimates scale with the table's
// current size (it reads the size, not only the statistics), and the
// lookups keep their index (TestLookupPlanSurvivesStaleStatistics).
func (r *importRun) analyzeIfStale() error {
	if r.dialect != db.Postgres {
		return nil
	}
	analyzedPages, pages, err := findingsPages(r.ctx, r.q)
	if err != nil {
		return err
	}
	if !statisticsStale(analyzedPages, pages) {
		return nil
	}
	return r.d.Maintain(r.ctx, r.q, analyzeFindings)
}

// findingsPages returns the findings table's size in pages when its
// statistics were taken, and now (PostgreSQL).
func findingsPages(ctx context.Context, q db.Querier) (analyzed, now int64, err error) {
	err = q.QueryRowContext(ctx, `SELECT relpages, pg_relation_size(oid) / current_setting('block_size')::int8
		FROM pg_class WHERE oid = 'findings'::regclass`).Scan(&analyzed, &now)
	return analyzed, now, err
}

// statisticsStale tells whether a table of pages pages whose statistics
// were taken at analyzedPages needs new ones: once it is past a first
// couple of thousand findings (256 pages of 8 KiB) and more than four
// times its size then.
func statisticsStale(analyzedPages, pages int64) bool {
	return pages > 256 && pages > 4*analyzedPages
}

// matchRule returns the first active mute rule covering f, or nil.
func (r *importRun) matchRule(f *ingest.Finding) *MuteRule {
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

// contentHash covers what a person reads of a finding, so that a change in
// it shows as "changed"; the raw OCSF is left out, as it carries scan times.
//
// The fields are gathered in one buffer and hashed at once: writing each
// to a hash.Hash copied it to the heap first (26 allocations a finding,
// 0.26 s of CPU in a first import of 100,000). The bytes hashed, and so
// the stored hashes, are the same (TestContentHashIsStable).
func contentHash(f *ingest.Finding) string {
	var stack [2048]byte
	b := stack[:0]
	for _, s := range [...]string{f.Title, f.Description, f.Severity.Key(), string(f.Result), f.ResourceName, f.ResourceType,
		f.Location, f.Component, f.Version, f.FixedVersion} {
		b = append(append(b, s...), 0x1f)
	}
	for i, id := range f.VulnIDs {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, id...)
	}
	b = append(append(append(append(b, 0x1f), f.Remediation...), 0x1f), f.Service...)
	b = append(b, 0x1f)
	// Tags count as content only when there are some, so findings stored
	// before tags were read keep their hash.
	for i, tag := range f.Tags {
		if i > 0 {
			b = append(b, 0x1e)
		}
		b = append(b, tag...)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}

// storedTags is the resource_tags column: lowercased tags between '|'
// delimiters, so that a rule's "key=value" or "key" matches with one LIKE.
func storedTags(tags []string) string {
	if len(tags) == 0 {
		return ""
	}
	return "|" + strings.ToLower(strings.Join(tags, "|")) + "|"
}

// tagsOf reads the resource_tags column back (lowercased).
func tagsOf(stored string) []string {
	stored = strings.Trim(stored, "|")
	if stored == "" {
		return []string{}
	}
	return strings.Split(stored, "|")
}

// nextStatus is the lifecycle: a failing result opens (or reopens) a
// finding, a passing one resolves it; a muted finding stays muted.
func nextStatus(result ingest.Result, current string) string {
	if current == StatusMuted {
		return StatusMuted
	}
	if result == ingest.ResultPass {
		return StatusResolved
	}
	switch current {
	case StatusResolved:
		return StatusReopened
	case "":
		return StatusOpen
	}
	return current
}

// bind makes a batch statement positional on SQLite (see db.Positional).
func (r *importRun) bind(query string) string { return db.Positional(r.dialect, query) }

// teamByKey is the team filter of a statement that names its rows by
// primary key (see db.NotIndexed).
func (r *importRun) teamByKey() string { return db.NotIndexed(r.dialect, "team_id") }

// teamRows is the WHERE condition of a statement on this team's rows whose
// col is one of ids, with the team as parameter $start and the ids after
// it, and those arguments.
func (r *importRun) teamRows(col string, start int, ids []int64) (string, []any) {
	in, keys := db.AnyOf(r.dialect, col, "int8", start+1, ids)
	return fmt.Sprintf("%s = $%d AND %s", r.teamByKey(), start, in), append([]any{r.teamID}, keys...)
}

// preparer is what a transaction adds to db.Querier.
type preparer interface {
	PrepareContext(ctx context.Context, query string) (*sql.Stmt, error)
}

// stmt returns the batch statement query (made positional on SQLite),
// prepared once per import: the SQLite driver does not cache prepared
// statements, and parsing the 18,500-parameter insert of every batch was 8%
// of an import. The transaction closes them.
func (r *importRun) stmt(query string) (*sql.Stmt, error) {
	return r.stmtFor(query, func() string { return query })
}

// stmtFor is stmt for a statement named key, whose text build returns
// when it is first prepared: a batch insert's text is built and made
// positional once, not for every batch (building it with fmt took 5% of a
// SQLite import).
func (r *importRun) stmtFor(key string, build func() string) (*sql.Stmt, error) {
	if st, ok := r.stmts[key]; ok {
		return st, nil
	}
	p, ok := r.q.(preparer)
	if !ok {
		return nil, errors.New("import: batch statements need a transaction")
	}
	st, err := p.PrepareContext(r.ctx, r.bind(build()))
	if err != nil {
		return nil, err
	}
	if r.stmts == nil {
		r.stmts = map[string]*sql.Stmt{}
	}
	r.stmts[key] = st
	return st, nil
}

// execBatch runs a batch statement (see stmt).
func (r *importRun) execBatch(query string, args ...any) error {
	st, err := r.stmt(query) //nolint:sqlclosecheck // kept for the import; the transaction closes it
	if err != nil {
		return err
	}
	_, err = st.ExecContext(r.ctx, args...)
	return err
}

// queryBatch runs a batch query (see stmt).
func (r *importRun) queryBatch(query string, args ...any) (*sql.Rows, error) {
	st, err := r.stmt(query) //nolint:sqlclosecheck // kept for the import; the transaction closes it
	if err != nil {
		return nil, err
	}
	return st.QueryContext(r.ctx, args...)
}

const findingInsertColumns = `team_id, fingerprint, tool, class_uid, check_id, title, severity, result, status, provider,
	account_uid, region, service, resource_uid, resource_name, resource_type, target, location, component, version,
	fixed_version, vuln_ids, description, remediation_id, scope_key, content_hash, first_seen, resolved_at,
	first_scan_id, mute_kind, mute_rule_id, muted_reason, muted_by, muted_until, resource_tags, first_status, raw_block_id, raw_index`

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

// prepare counts a batch and deduplicates it: identical items of one
// report are one finding, the last one wins.
func (r *importRun) prepare(b parsedBatch) *pendingBatch {
	pb := &pendingBatch{parsedBatch: b, byFP: make(map[string]*ingest.Finding, len(b.findings)), order: make([]string, 0, len(b.findings))}
	for _, f := range b.findings {
		r.res.ItemsRead++
		r.rec.BySeverity[f.Severity.Key()]++
		r.rec.ByResult[string(f.Result)]++
		r.scopes[f.ScopeKey()] = true
		if !r.checks[f.CheckID] {
			r.checks[f.CheckID] = true
		}
		for _, id := range f.VulnIDs {
			asset := f.Target
			if asset == "" {
				asset = f.ResourceUID
			}
			r.sightings = append(r.sightings, vuln.Sighting{VulnID: id, Title: f.Title, Description: f.Description, Severity: f.Severity,
				CVSS: f.CVSS, CWEs: f.CWEs, References: f.References, Asset: asset, Exposure: vuln.ExposureOf(f.Tool, f.AccountUID),
				Component: f.Component, Location: f.Location, Version: f.Version, FixedVersion: f.FixedVersion,
				Tool: f.Tool, ScopeKey: f.ScopeKey()})
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
	return status, hash, rule, status == old.status && hash == old.contentHash && (status == StatusMuted || rule == nil)
}

// lookupKeys returns the fingerprints of a batch to read from the
// database, given the snapshot: those this import met before, and stored
// findings that change. It sets the stored unchanged ones aside
// (unchangedStored), and a fingerprint in neither the filter nor the
// snapshot is new. Only imports write findings' content and sightings,
// under the team's lock, so the snapshot is still right for a finding this
// import has not met. A person's mute or unmute since only changes its
// status, which an unchanged finding's import does not write.
func (r *importRun) lookupKeys(pb *pendingBatch) []string {
	var keys []string
	for _, fp := range pb.order {
		if r.written.mayContain(fp) {
			keys = append(keys, fp)
			continue
		}
		old, ok := r.snapshot[fp]
		if !ok {
			continue
		}
		f := pb.byFP[fp]
		_, hash, _, unchanged := r.judge(pb, f, old)
		if pb.hashes == nil {
			pb.hashes = make(map[*ingest.Finding]string, len(pb.order))
		}
		pb.hashes[f] = hash // for classify, which judges it again
		if unchanged {
			pb.unchangedStored = append(pb.unchangedStored, fp)
		} else {
			keys = append(keys, fp)
		}
	}
	for _, fp := range pb.order {
		r.written.add(fp)
	}
	return keys
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
		status, hash, rule, unchanged := r.judge(pb, f, old)
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
		c := changedFinding{old: old, f: f, status: status, hash: hash, change: "changed", rule: rule}
		switch {
		case status == StatusResolved && old.status != StatusResolved:
			c.change = "resolved"
			r.res.FindingsResolved++
		case status == StatusReopened && old.status == StatusResolved:
			c.change = "reopened"
			r.res.FindingsUpdated++
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
			if c.rule != nil && c.status != StatusMuted {
				if err := setMuted(r.ctx, r.q, r.teamID, []findingState{{c.old.id, c.status}}, MuteByRule, c.rule.ID, c.rule.Reason,
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

// pipedWriteFunc returns writeFunc's work for a batch of new findings
// only, sent through the pipeline: their raw OCSF block and the findings in
// one statement (pgPipedInsert), and the statistics when due. Only new
// remediation texts need a round trip, as their IDs go into the insert.
func (pb *pendingBatch) pipedWriteFunc(r *importRun) func() error {
	return func() error {
		if unknown := r.unknownRemediations(pb); len(unknown) > 0 {
			if err := r.endPipeline(); err != nil {
				return err
			}
			if err := r.storeRemediationTexts(unknown); err != nil {
				return err
			}
		}
		params, err := r.pipedInsertParams(pb)
		if err != nil {
			return err
		}
		p := r.pipeline()
		if err := p.Exec(pgPipedInsert, params, pgPipedInsertOIDs); err != nil {
			return fmt.Errorf("insert findings: %w", err)
		}
		if r.statisticsDue(len(pb.fresh)) {
			// ANALYZE is the owner's: as the connecting role, then back.
			for _, stmt := range r.d.MaintenanceStatements(analyzeFindings) {
				if err := p.Exec(stmt, nil, nil); err != nil {
					return err
				}
			}
		}
		return nil
	}
}

// pipeline returns the import's pipeline, opened if it is not.
func (r *importRun) pipeline() *db.Pipeline {
	if r.pipe == nil {
		r.pipe = db.OpenPipeline(r.ctx, r.conn)
	}
	return r.pipe
}

// endPipeline closes the import's pipeline, if open, and returns the first
// error of the statements sent through it.
func (r *importRun) endPipeline() error {
	if r.pipe == nil {
		return nil
	}
	p := r.pipe
	r.pipe = nil
	if err := p.Close(); err != nil {
		return fmt.Errorf("write findings: %w", err)
	}
	return nil
}

// serial runs database work on one goroutine, in the order it was
// submitted (a transaction is one connection, one statement at a time).
// After the first error it runs nothing more and reports that error.
//
// A job either uses the transaction (submit) or sends its statements
// through the import's pipeline, if any (submitPiped, see db.Pipeline);
// endPipeline, called before each job of the first kind and at the end,
// closes the pipeline so that the transaction has its connection back.
type serial struct {
	jobs        chan serialJob
	done        chan struct{}
	endPipeline func() error
}

type serialJob struct {
	fn    func() error
	piped bool
	done  chan error
}

func newSerial(endPipeline func() error) *serial {
	s := &serial{jobs: make(chan serialJob, 4), done: make(chan struct{}), endPipeline: endPipeline}
	go func() {
		defer close(s.done)
		var err error
		for j := range s.jobs {
			if err == nil && !j.piped {
				err = s.endPipeline()
			}
			if err == nil {
				err = j.fn()
			}
			j.done <- err
		}
		// After an error the pipeline may still be open: closed, the
		// transaction gets its connection back to roll back. Its error is
		// reported already.
		_ = s.endPipeline()
	}()
	return s
}

// submit queues fn, which uses the transaction; the channel receives the
// first error so far once fn ran (or was skipped after an error).
func (s *serial) submit(fn func() error) <-chan error {
	return s.queue(fn, false)
}

// submitPiped queues fn, which sends its statements through the pipeline
// or uses no database at all. An error of a statement it sent may come
// back on a later job's channel.
func (s *serial) submitPiped(fn func() error) <-chan error {
	return s.queue(fn, true)
}

func (s *serial) queue(fn func() error, piped bool) <-chan error {
	ch := make(chan error, 1)
	s.jobs <- serialJob{fn: fn, piped: piped, done: ch}
	return ch
}

// wait returns once everything submitted ran, with the first error.
func (s *serial) wait() error { return <-s.submit(func() error { return nil }) }

// close ends the goroutine after what was submitted; the transaction may
// then be used again from the caller's goroutine.
func (s *serial) close() {
	close(s.jobs)
	<-s.done
}

// layoutRaw decides the block that stores the raw OCSF of the batch's new
// and changed findings, and each one's place in it: the parser's block when
// every item of the batch is written (no duplicates, none unchanged), else
// one packed here, beside the parser and the database work, of only what is
// written. It tells the parser whether to go on packing.
func (r *importRun) layoutRaw(pb *pendingBatch) error {
	n := len(pb.fresh) + len(pb.changed)
	whole := n == len(pb.findings)
	r.prepack.Store(whole)
	if n == 0 {
		return nil
	}
	pb.rawIndex = make(map[*ingest.Finding]int, n)
	if whole && pb.block != nil {
		for i, f := range pb.findings {
			pb.rawIndex[f] = i
		}
		pb.rawBlock = pb.block
		return nil
	}
	if pb.block != nil {
		// The parser dropped each finding's copy: read them back.
		values, err := blockValues(pb.block)
		if err != nil {
			return err
		}
		for i, f := range pb.findings {
			f.Raw = values[i]
		}
	}
	raws := make([]json.RawMessage, 0, n)
	add := func(f *ingest.Finding) {
		pb.rawIndex[f] = len(raws)
		raws = append(raws, f.Raw)
	}
	for _, f := range pb.fresh {
		add(f)
	}
	for _, c := range pb.changed {
		add(c.f)
	}
	pb.rawBlock = r.packer.pack(raws)
	return nil
}

// rejoinLatest drops the written-out sightings of findings this import
// reports in their own scope: it becomes their scope's latest import, whose
// sighting they then share (see scope_latest).
func (r *importRun) rejoinLatest(ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	where, args := r.teamRows("finding_id", 1, ids)
	if err := r.execBatch("DELETE FROM finding_seen WHERE "+where, args...); err != nil {
		return fmt.Errorf("mark findings seen again: %w", err)
	}
	return nil
}

// writeSighting writes out this import as the last sighting of findings it
// reports under another scope than their own (whose latest import this is
// not).
func (r *importRun) writeSighting(ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	now, scan := "$1", "$2"
	if r.dialect == db.Postgres {
		// An INSERT ... SELECT does not give its parameters the target's types.
		now, scan = "$1::timestamptz", "$2::text"
	}
	where, args := r.teamRows("id", 3, ids)
	if err := r.execBatch(`INSERT INTO finding_seen (finding_id, team_id, last_seen, last_scan_id) SELECT id, team_id, `+now+`, `+scan+`
		FROM findings WHERE `+where+` ON CONFLICT (finding_id) DO UPDATE SET last_seen = excluded.last_seen, last_scan_id = excluded.last_scan_id`,
		append([]any{r.now, r.scanID}, args...)...); err != nil {
		return fmt.Errorf("mark findings seen under another scope: %w", err)
	}
	return nil
}

// textHash names a remediation in finding_remediations: its SHA-256, in
// hex (migration 13 computes the same in SQL).
func textHash(text string) string {
	sum := sha256.Sum256([]byte(text))
	return hex.EncodeToString(sum[:])
}

// maxRememberedRemediations bounds r.remediations: a report whose findings
// each carry a remediation of their own would otherwise keep every text of
// the import in memory. Past it the import forgets what it met and looks
// texts up again (a check's findings sit together in a Prowler report).
var maxRememberedRemediations = 4096

// storeRemediations makes sure r.remediations holds the ID of the
// remediation of every finding the batch writes: those this import has not
// met yet are looked up by hash, and stored if the team has none. Findings
// of one check share theirs. The import holds the team's lock, so nobody
// else stores the team's remediations meanwhile.
func (r *importRun) storeRemediations(pb *pendingBatch) error {
	return r.storeRemediationTexts(r.unknownRemediations(pb))
}

// unknownRemediations returns the remediation texts of the batch's written
// findings whose IDs this import does not know yet, by their hash.
func (r *importRun) unknownRemediations(pb *pendingBatch) map[string]string {
	if r.remediations == nil || len(r.remediations) > maxRememberedRemediations {
		r.remediations = map[string]int64{}
	}
	var byHash map[string]string
	need := func(f *ingest.Finding) {
		if r.remediations[f.Remediation] == 0 {
			if byHash == nil {
				byHash = map[string]string{}
			}
			byHash[textHash(f.Remediation)] = f.Remediation
		}
	}
	for _, f := range pb.fresh {
		need(f)
	}
	for _, c := range pb.changed {
		need(c.f)
	}
	return byHash
}

// remediationIDs returns the IDs of the findings' remediation texts, which
// storeRemediations made known.
func (r *importRun) remediationIDs(fresh []*ingest.Finding) []int64 {
	ids := make([]int64, len(fresh))
	for i, f := range fresh {
		ids[i] = r.remediations[f.Remediation]
	}
	return ids
}

// storeRemediationTexts reads or stores the remediation texts of byHash,
// which it empties, and remembers their IDs.
func (r *importRun) storeRemediationTexts(byHash map[string]string) error {
	if len(byHash) == 0 {
		return nil
	}
	hashes := make([]string, 0, len(byHash))
	for h := range byHash {
		hashes = append(hashes, h)
	}
	in, args := db.AnyOf(r.dialect, "text_hash", "text", 2, hashes)
	if err := r.readRemediationIDs(byHash, "SELECT text_hash, id FROM finding_remediations WHERE team_id = $1 AND "+in,
		append([]any{r.teamID}, args...)); err != nil {
		return fmt.Errorf("look up remediations: %w", err)
	}
	if len(byHash) == 0 {
		return nil
	}
	args = make([]any, 0, 3*len(byHash))
	for h, text := range byHash {
		args = append(args, r.teamID, h, text)
	}
	if err := r.readRemediationIDs(byHash, "INSERT INTO finding_remediations (team_id, text_hash, remediation) VALUES "+
		db.Placeholders(len(byHash), 3, 1)+" RETURNING text_hash, id", args); err != nil {
		return fmt.Errorf("store remediations: %w", err)
	}
	if len(byHash) > 0 {
		return fmt.Errorf("store remediations: %d not stored", len(byHash))
	}
	return nil
}

// readRemediationIDs runs a query of (text_hash, id) rows into
// r.remediations, and takes each hash it reads out of byHash.
func (r *importRun) readRemediationIDs(byHash map[string]string, query string, args []any) error {
	rows, err := r.q.QueryContext(r.ctx, r.bind(query), args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			h  string
			id int64
		)
		if err := rows.Scan(&h, &id); err != nil {
			return err
		}
		if text, ok := byHash[h]; ok {
			r.remediations[text] = id
			delete(byHash, h)
		}
	}
	return rows.Err()
}

// storeBlock stores the batch's block of raw OCSF and returns its ID.
func (r *importRun) storeBlock(pb *pendingBatch) (int64, error) {
	if pb.rawBlock == nil {
		return 0, nil
	}
	var blockID int64
	if err := r.q.QueryRowContext(r.ctx, "INSERT INTO finding_raw_blocks (team_id, live, data) VALUES ($1, $2, $3) RETURNING id",
		r.teamID, len(pb.rawIndex), pb.rawBlock).Scan(&blockID); err != nil {
		return 0, fmt.Errorf("store raw OCSF: %w", err)
	}
	return blockID, nil
}

// releaseRaw lets go of the raw OCSF that changed findings no longer use:
// each block's live count drops by the findings that moved out of it, and a
// block nothing uses any more is deleted, as are rows stored before blocks.
func (r *importRun) releaseRaw(changed []changedFinding) error {
	if len(changed) == 0 {
		return nil
	}
	moved := map[int64]int{}
	var legacy []int64
	for _, c := range changed {
		if c.old.rawBlock.Valid {
			moved[c.old.rawBlock.Int64]++
		} else {
			legacy = append(legacy, c.old.id)
		}
	}
	emptied := make([]int64, 0, len(moved))
	for blockID, n := range moved {
		var live int
		if err := r.q.QueryRowContext(r.ctx, "UPDATE finding_raw_blocks SET live = live - $1 WHERE team_id = $2 AND id = $3 RETURNING live",
			n, r.teamID, blockID).Scan(&live); err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("release raw OCSF: %w", err)
		}
		if live <= 0 {
			emptied = append(emptied, blockID)
		}
	}
	if len(emptied) > 0 {
		where, args := r.teamRows("id", 1, emptied)
		if _, err := r.q.ExecContext(r.ctx, r.bind("DELETE FROM finding_raw_blocks WHERE "+where), args...); err != nil {
			return fmt.Errorf("delete unused raw OCSF: %w", err)
		}
	}
	if len(legacy) > 0 {
		where, args := r.teamRows("finding_id", 1, legacy)
		if _, err := r.q.ExecContext(r.ctx, r.bind("DELETE FROM finding_raw WHERE "+where), args...); err != nil {
			return fmt.Errorf("delete replaced raw OCSF: %w", err)
		}
	}
	return nil
}

// lookupStatement is the statement that looks up a batch's stored
// findings by fingerprint, and its arguments.
func (r *importRun) lookupStatement(fps []string) (string, []any) {
	in, keys := db.AnyOf(r.dialect, "f.fingerprint", "text", 3, fps)
	return existingQuery + " AND " + in, append([]any{r.scanID, r.teamID}, keys...)
}

func (r *importRun) lookup(fps []string) (map[string]existing, error) {
	if len(fps) == 0 {
		return map[string]existing{}, nil
	}
	query, args := r.lookupStatement(fps)
	rows, err := r.queryBatch(query, args...)
	if err != nil {
		return nil, fmt.Errorf("look up findings: %w", err)
	}
	defer rows.Close()
	return scanExisting(rows, len(fps))
}

// existingQuery reads the stored state of a team's findings ($2), for
// this import's scan ($1). (Its parameters appear in order: statements
// built on it are made positional.)
const existingQuery = `SELECT f.id, f.fingerprint, f.status, f.content_hash, f.raw_block_id, f.scope_key, s.finding_id IS NULL, f.first_scan_id = $1
	FROM findings f LEFT JOIN finding_seen s ON s.finding_id = f.id WHERE f.team_id = $2`

// scanExisting reads existingQuery's rows by fingerprint. The few
// distinct statuses and scopes are shared: a snapshot holds 100,000 rows.
func scanExisting(rows *sql.Rows, size int) (map[string]existing, error) {
	out := make(map[string]existing, size)
	shared := map[string]string{}
	share := func(b sql.RawBytes) string {
		if s, ok := shared[string(b)]; ok {
			return s
		}
		s := string(b)
		shared[s] = s
		return s
	}
	for rows.Next() {
		var (
			e             existing
			fp            string
			status, scope sql.RawBytes
		)
		if err := rows.Scan(&e.id, &fp, &status, &e.contentHash, &e.rawBlock, &scope, &e.inLatest, &e.thisScan); err != nil {
			return nil, err
		}
		e.status, e.scopeKey = share(status), share(scope)
		out[fp] = e
	}
	return out, rows.Err()
}

// pgSnapshotLimit bounds a snapshot (see importRun.snapshot): 100,000
// findings raised a re-import's peak RSS from 96-103 to 133-143 MB, so the
// limit costs about 80 MB; a larger team's findings are looked up batch by
// batch (a re-import of 1,000,000 peaked at 134 MB).
const pgSnapshotLimit = 200_000

// snapshotLimitFor returns the most findings a team may have for an
// import to take a snapshot of them. On SQLite, none: its lookups run in
// this process, beside the parser, while reading a snapshot held the
// import up before the parser's first batch (a re-import of 100,000
// findings: 1.26-1.33 s with lookups, 1.41-1.44 s with a snapshot). That
// was measured before the parser could run ahead during a snapshot
// (parseAhead), which only PostgreSQL's has been measured with.
func (s *Store) snapshotLimitFor(d db.Dialect) int {
	switch {
	case s.snapshotLimit != 0:
		return max(s.snapshotLimit, 0)
	case d == db.Postgres:
		return pgSnapshotLimit
	default:
		return 0
	}
}

// takeSnapshot reads every finding of the team when it has at most limit
// (none: an empty snapshot), so that the import asks the database only
// about the findings that change. A PostgreSQL re-import of 100,000
// unchanged findings: server CPU 0.64-0.67 -> 0.24-0.25 s, 1.44-1.46 ->
// 1.27-1.33 s (docs/PERFORMANCE.md).
func (r *importRun) takeSnapshot(limit int) error {
	var stored int
	if err := r.q.QueryRowContext(r.ctx, "SELECT count(*) FROM (SELECT 1 FROM findings WHERE team_id = $1 LIMIT $2) t",
		r.teamID, limit+1).Scan(&stored); err != nil {
		return err
	}
	if stored > limit {
		return nil
	}
	r.written = newWrittenFilter()
	if stored == 0 {
		r.snapshot = map[string]existing{}
		return nil
	}
	r.ahead.widen() // the parser goes on meanwhile
	rows, err := r.q.QueryContext(r.ctx, r.bind(existingQuery), r.scanID, r.teamID)
	if err != nil {
		return fmt.Errorf("read the team's findings: %w", err)
	}
	defer rows.Close()
	r.snapshot, err = scanExisting(rows, stored)
	if err != nil {
		return fmt.Errorf("read the team's findings: %w", err)
	}
	return nil
}

// findingColumns is the number of findingInsertColumns; the last two are
// the raw OCSF's block and place.
const findingColumns = 38

// insertArgs returns the insert arguments of new findings, with the raw
// OCSF's block ID and the remediations' IDs left for insert to set.
func (r *importRun) insertArgs(fresh []*ingest.Finding, rawIndex map[*ingest.Finding]int) []any {
	args := make([]any, 0, len(fresh)*findingColumns)
	for _, f := range fresh {
		status := nextStatus(f.Result, "")
		var resolvedAt, mutedUntil any
		if status == StatusResolved {
			resolvedAt = r.now
		}
		muteKind, ruleID, reason, by := "", "", "", ""
		if rule := r.matchRule(f); rule != nil {
			status, muteKind, ruleID, reason, by = StatusMuted, MuteByRule, rule.ID, rule.Reason, rule.CreatedBy
			if rule.ExpiresAt != nil {
				mutedUntil = rule.ExpiresAt.UTC()
			}
		}
		args = append(args, r.teamID, f.Fingerprint, f.Tool, f.ClassUID, f.CheckID, f.Title, int(f.Severity), string(f.Result), status,
			f.Provider, f.AccountUID, f.Region, f.Service, f.ResourceUID, f.ResourceName, f.ResourceType, f.Target, f.Location,
			f.Component, f.Version, f.FixedVersion, strings.Join(f.VulnIDs, ","), f.Description, 0, f.ScopeKey(),
			contentHash(f), r.now, resolvedAt, r.scanID, muteKind, ruleID, reason, by, mutedUntil, storedTags(f.Tags),
			status, nil, rawIndex[f])
	}
	return args
}

// insert writes the batch's new findings. Their first history entry is
// read from the finding (first_status, see historyOf), and their sighting
// is their scope's latest import, this one (see scope_latest).
func (r *importRun) insert(pb *pendingBatch, blockID int64) error {
	fresh, args := pb.fresh, pb.insertArgs
	if len(fresh) == 0 {
		return nil
	}
	remediations := r.remediationIDs(fresh)
	if r.dialect == db.Postgres {
		args[pgBlockArg] = blockID
		args[pgRemediationArg] = remediations
		if err := r.execBatch(pgInsertFindings, args...); err != nil {
			return fmt.Errorf("insert findings: %w", err)
		}
		return nil
	}
	for i := range fresh {
		args[i*findingColumns+findingColumns-2] = blockID
		args[i*findingColumns+remediationColumn] = remediations[i]
	}
	// OR FAIL: with the default conflict rule (ABORT) SQLite keeps a
	// statement journal, to undo only this statement on a conflict: a copy
	// of every index page the batch touches that this transaction touched
	// before, written to a temporary file. A conflict here fails the import
	// and rolls back the whole transaction, so there is nothing for that
	// journal to do (100,000 new findings: 4.7 -> 4.2 s; docs/PERFORMANCE.md).
	st, err := r.stmtFor("insert findings "+strconv.Itoa(len(fresh)), func() string { //nolint:sqlclosecheck // kept for the import; the transaction closes it
		return "INSERT OR FAIL INTO findings (" + findingInsertColumns + ") VALUES " + db.Placeholders(len(fresh), findingColumns, 1)
	})
	if err == nil {
		_, err = st.ExecContext(r.ctx, args...)
	}
	if err != nil {
		return fmt.Errorf("insert findings: %w", err)
	}
	return nil
}

// On PostgreSQL new findings go in as one array per column, unnested by
// the server: 38 parameters a batch instead of 19,000.
// Encoding the parameters one by one was a quarter of the import's critical
// path (the statements run in order on one goroutine; see writeAll).
var (
	pgInsertFindings string
	// pgPipedInsert is pgInsertFindings with the batch's raw OCSF block
	// stored by the same statement (see pipedWriteFunc), and
	// pgPipedInsertOIDs the types of its parameters.
	pgPipedInsert     string
	pgPipedInsertOIDs []uint32
	pgBlockArg        int // the argument that takes the batch's raw OCSF block ID
	pgRemediationArg  int // the argument that takes the array of remediation IDs
	// remediationColumn is remediation_id's place among findingInsertColumns.
	remediationColumn int
	// pgColumnType is each column's element type; "" marks a column with
	// one value for the whole batch (the team, the time, the scan, the block).
	pgColumnType [findingColumns]string
)

func init() {
	names := strings.Split(findingInsertColumns, ",")
	for i := range names {
		names[i] = strings.TrimSpace(names[i])
		switch names[i] {
		case "team_id", "first_seen", "first_scan_id", "raw_block_id":
			pgColumnType[i] = ""
		case "class_uid", "severity", "raw_index", "remediation_id":
			pgColumnType[i] = "int8"
		case "resolved_at", "muted_until":
			pgColumnType[i] = "timestamptz"
		default:
			pgColumnType[i] = "text"
		}
	}
	var consts, arrays, cols []string
	for i, n := range names {
		if pgColumnType[i] == "" {
			cols = append(cols, n)
		}
	}
	for i, n := range names {
		if pgColumnType[i] != "" {
			cols = append(cols, n)
		}
	}
	oid := map[string]uint32{
		"text": pgtype.TextOID, "int8": pgtype.Int8OID, "timestamptz": pgtype.TimestamptzOID,
		"text[]": pgtype.TextArrayOID, "int8[]": pgtype.Int8ArrayOID, "timestamptz[]": pgtype.TimestamptzArrayOID,
	}
	param := 0
	for i, n := range names {
		if pgColumnType[i] != "" {
			continue
		}
		param++
		typ := map[string]string{"first_seen": "timestamptz", "raw_block_id": "int8"}[n]
		if typ == "" {
			typ = "text"
		}
		if n == "raw_block_id" {
			pgBlockArg = param - 1
		}
		consts = append(consts, fmt.Sprintf("$%d::%s", param, typ))
		pgPipedInsertOIDs = append(pgPipedInsertOIDs, oid[typ])
	}
	for i, n := range names {
		if pgColumnType[i] != "" {
			param++
			arrays = append(arrays, fmt.Sprintf("$%d::%s[]", param, pgColumnType[i]))
			pgPipedInsertOIDs = append(pgPipedInsertOIDs, oid[pgColumnType[i]+"[]"])
		}
		if n == "remediation_id" {
			remediationColumn, pgRemediationArg = i, param-1
		}
	}
	pgInsertFindings = "INSERT INTO findings (" + strings.Join(cols, ", ") + ") SELECT " + strings.Join(consts, ", ") +
		", u.* FROM unnest(" + strings.Join(arrays, ", ") + ") AS u"

	// The piped insert stores the block first, in the same statement, and
	// takes its ID from there: the block's own parameter is left NULL, and
	// two more carry the block's live count and data.
	consts[pgBlockArg] = "(SELECT id FROM block)"
	pgPipedInsert = fmt.Sprintf("WITH block AS (INSERT INTO finding_raw_blocks (team_id, live, data) VALUES ($1, $%d::int8, $%d::bytea) RETURNING id) ",
		param+1, param+2) + "INSERT INTO findings (" + strings.Join(cols, ", ") + ") SELECT " + strings.Join(consts, ", ") +
		", u.* FROM unnest(" + strings.Join(arrays, ", ") + ") AS u"
	pgPipedInsertOIDs = append(pgPipedInsertOIDs, pgtype.Int8OID, pgtype.ByteaOID)
}

// pipedInsertParams encodes pgPipedInsert's parameters for a batch.
func (r *importRun) pipedInsertParams(pb *pendingBatch) ([][]byte, error) {
	if r.pgTypes == nil {
		r.pgTypes = pgtype.NewMap()
	}
	args := pb.insertArgs
	args[pgBlockArg] = nil
	args[pgRemediationArg] = r.remediationIDs(pb.fresh)
	args = append(args[:len(args):len(args)], int64(len(pb.rawIndex)), pb.rawBlock)
	// One buffer for all of them, sized ahead: growing each array's own
	// buffer as it was encoded took more time than encoding (0.53 s of
	// 100,000 findings' parameters on the statements' goroutine).
	buf := make([]byte, 0, encodedSize(args))
	params := make([][]byte, len(args))
	for i, v := range args {
		start := len(buf)
		enc, err := r.pgTypes.Encode(pgPipedInsertOIDs[i], pgtype.BinaryFormatCode, v, buf)
		if err != nil {
			return nil, fmt.Errorf("insert findings: parameter %d: %w", i+1, err)
		}
		if enc == nil {
			continue // NULL, which pgtype encodes as no buffer at all
		}
		buf = enc
		params[i] = buf[start:len(buf):len(buf)]
	}
	return params, nil
}

// encodedSize is about what pipedInsertParams' arguments take in
// PostgreSQL's binary format: a header per array, a length before each
// element.
func encodedSize(args []any) int {
	n := 0
	for _, v := range args {
		switch v := v.(type) {
		case string:
			n += len(v)
		case []byte:
			n += len(v)
		case []string:
			n += 20 + 4*len(v)
			for _, s := range v {
				n += len(s)
			}
		case []int64:
			n += 20 + 12*len(v)
		case []pgtype.Timestamptz:
			n += 20 + 12*len(v)
		default:
			n += 8
		}
	}
	return n
}

// pgColumns turns the row-ordered insert arguments of n findings into
// pgInsertFindings' arguments: the batch's constants, then one array per column.
func pgColumns(rows []any, n int) ([]any, error) {
	var out []any
	for c, typ := range pgColumnType {
		if typ == "" {
			out = append(out, rows[c])
		}
	}
	wrong := func(c int, v any) error {
		return fmt.Errorf("insert findings: column %d holds a %T, not a %s", c, v, pgColumnType[c])
	}
	for c, typ := range pgColumnType {
		switch typ {
		case "text":
			col := make([]string, n)
			for i := range col {
				v, ok := rows[i*findingColumns+c].(string)
				if !ok {
					return nil, wrong(c, rows[i*findingColumns+c])
				}
				col[i] = v
			}
			out = append(out, col)
		case "int8":
			col := make([]int64, n)
			for i := range col {
				v, ok := rows[i*findingColumns+c].(int)
				if !ok {
					return nil, wrong(c, rows[i*findingColumns+c])
				}
				col[i] = int64(v)
			}
			out = append(out, col)
		case "timestamptz":
			col := make([]pgtype.Timestamptz, n)
			for i := range col {
				switch v := rows[i*findingColumns+c].(type) {
				case nil:
				case time.Time:
					col[i] = pgtype.Timestamptz{Time: v, Valid: true}
				default:
					return nil, wrong(c, v)
				}
			}
			out = append(out, col)
		}
	}
	return out, nil
}

func (r *importRun) update(c changedFinding, raw rawRef) error {
	old, f, status := c.old, c.f, c.status
	var resolvedAt any
	if c.change == "resolved" {
		resolvedAt = r.now
	}
	_, err := r.q.ExecContext(r.ctx, `UPDATE findings SET title = $1, severity = $2, result = $3, status = $4, service = $5,
		resource_name = $6, resource_type = $7, location = $8, component = $9, version = $10, fixed_version = $11,
		vuln_ids = $12, description = $13, remediation_id = $14, content_hash = $15,
		resolved_at = CASE WHEN $4 = 'resolved' THEN COALESCE($16, resolved_at) ELSE NULL END, resource_tags = $19,
		raw_block_id = $20, raw_index = $21
		WHERE team_id = $17 AND id = $18`,
		f.Title, int(f.Severity), string(f.Result), status, f.Service, f.ResourceName, f.ResourceType, f.Location, f.Component,
		f.Version, f.FixedVersion, strings.Join(f.VulnIDs, ","), f.Description, r.remediations[f.Remediation], c.hash, resolvedAt,
		r.teamID, old.id, storedTags(f.Tags), raw.block, raw.index)
	if err != nil {
		return fmt.Errorf("update finding: %w", err)
	}
	_, err = r.q.ExecContext(r.ctx, "INSERT INTO finding_history (team_id, finding_id, scan_id, at, change, from_status, to_status) VALUES ($1,$2,$3,$4,$5,$6,$7)",
		r.teamID, old.id, r.scanID, r.now, c.change, old.status, status)
	return err
}

// scopeList returns the scopes this import covered.
func (r *importRun) scopeList() []string {
	scopes := make([]string, 0, len(r.scopes))
	for s := range r.scopes {
		scopes = append(scopes, s)
	}
	return scopes
}

// resolveMissing ends an import's pass over the scopes it covered: their
// findings this report no longer lists are resolved if they were open (the
// thing was fixed or is gone), and those last seen by the scope's latest
// import get that sighting written out; then this import becomes each
// scope's latest.
func (r *importRun) resolveMissing() error {
	if len(r.scopes) == 0 {
		return nil
	}
	scopes := r.scopeList()
	var missing []gone
	all, err := r.everyFindingReported(scopes)
	if err == nil && !all {
		missing, err = r.missing(scopes)
	}
	if err != nil {
		return fmt.Errorf("find missing findings: %w", err)
	}
	var (
		open []gone
		left []int64
	)
	for _, g := range missing {
		if g.status == StatusOpen || g.status == StatusReopened {
			open = append(open, g)
		}
		if g.inLatest {
			left = append(left, g.id)
		}
	}
	if err := r.leaveLatest(left); err != nil {
		return err
	}
	for start := 0; start < len(open); start += batchSize {
		chunk := open[start:min(start+batchSize, len(open))]
		ids := make([]int64, 0, len(chunk))
		hist := make([]any, 0, len(chunk)*7)
		for _, g := range chunk {
			ids = append(ids, g.id)
			hist = append(hist, r.teamID, g.id, r.scanID, r.now, "resolved", g.status, StatusResolved)
		}
		where, args := r.teamRows("id", 2, ids)
		if err := r.resolve(where, args); err != nil {
			return fmt.Errorf("resolve missing findings: %w", err)
		}
		if _, err := r.q.ExecContext(r.ctx, r.bind("INSERT INTO finding_history (team_id, finding_id, scan_id, at, change, from_status, to_status) VALUES "+
			db.Placeholders(len(chunk), 7, 1)), hist...); err != nil {
			return err
		}
	}
	r.res.FindingsResolved += len(open)
	for _, scope := range scopes {
		if _, err := r.q.ExecContext(r.ctx, `INSERT INTO scope_latest (team_id, scope_key, scan_id, seen_at) VALUES ($1, $2, $3, $4)
			ON CONFLICT (team_id, scope_key) DO UPDATE SET scan_id = excluded.scan_id, seen_at = excluded.seen_at`,
			r.teamID, scope, r.scanID, r.now); err != nil {
			return fmt.Errorf("record the scope's latest import: %w", err)
		}
	}
	return nil
}

// resolve marks the findings where selects resolved, and notes their
// checks: a compliance sync must score them again.
func (r *importRun) resolve(where string, args []any) error {
	rows, err := r.q.QueryContext(r.ctx, r.bind("UPDATE findings SET status = 'resolved', resolved_at = $1 WHERE "+where+" RETURNING check_id"),
		append([]any{r.now}, args...)...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var check string
		if err := rows.Scan(&check); err != nil {
			return err
		}
		r.checks[check] = true
	}
	return rows.Err()
}

// leaveLatest writes out the last sighting of findings that their scope's
// latest import reported and this one does not: that import's (before this
// one takes its place).
func (r *importRun) leaveLatest(ids []int64) error {
	for start := 0; start < len(ids); start += batchSize {
		in, args := db.AnyOf(r.dialect, "f.id", "int8", 2, ids[start:min(start+batchSize, len(ids))])
		if _, err := r.q.ExecContext(r.ctx, r.bind(`INSERT INTO finding_seen (finding_id, team_id, last_seen, last_scan_id)
			SELECT f.id, f.team_id, COALESCE(sl.seen_at, f.first_seen), COALESCE(sl.scan_id, f.first_scan_id)
			FROM findings f LEFT JOIN scope_latest sl ON sl.team_id = f.team_id AND sl.scope_key = f.scope_key
			WHERE `+db.NotIndexed(r.dialect, "f.team_id")+` = $1 AND `+in), append([]any{r.teamID}, args...)...); err != nil {
			return fmt.Errorf("keep the last sighting of missing findings: %w", err)
		}
	}
	return nil
}

// everyFindingReported tells whether the given scopes hold only findings
// this import created or reported, so that none can be missing: then a
// count of their findings from an index answers what missing would answer
// by reading every one of them (a first import's and an unchanged
// re-import's 100,000). The findings this import created and the distinct
// ones an earlier scan created that it reported (where they are stored) are
// different findings of those scopes, so the count is at least their sum,
// and equal to it only when there is no other. Findings an earlier part of
// the same scan created are in neither: missing then decides.
func (r *importRun) everyFindingReported(scopes []string) (bool, error) {
	covered := make([]bool, len(r.storedScopes))
	for scope, i := range r.storedScopes {
		covered[i] = r.scopes[scope]
	}
	ids := make([]int64, 0, len(r.reported))
	for i, scope := range r.reportedScope {
		if scope >= 0 && covered[scope] {
			ids = append(ids, r.reported[i])
		}
	}
	slices.Sort(ids)
	earlier := len(slices.Compact(ids)) // a finding reported in two batches is one
	in, args := db.AnyOf(r.dialect, "scope_key", "text", 2, scopes)
	var stored int
	if err := r.q.QueryRowContext(r.ctx, r.bind("SELECT count(*) FROM findings WHERE team_id = $1 AND "+in),
		append([]any{r.teamID}, args...)...).Scan(&stored); err != nil {
		return false, err
	}
	return stored == r.res.FindingsCreated+earlier, nil
}

// noteReported remembers a stored finding this import reported, and the
// scope it is stored under unless this scan created it, in 12 bytes: the
// lookup's strings stay behind.
func (r *importRun) noteReported(old existing) {
	r.reported = append(r.reported, old.id)
	if old.thisScan {
		r.reportedScope = append(r.reportedScope, -1)
		return
	}
	if r.storedScopes == nil {
		r.storedScopes = map[string]int32{}
	}
	i, ok := r.storedScopes[old.scopeKey]
	if !ok {
		i = int32(len(r.storedScopes)) //nolint:gosec // G115: an import has far fewer scopes than findings
		r.storedScopes[old.scopeKey] = i
	}
	r.reportedScope = append(r.reportedScope, i)
}

type gone struct {
	id       int64
	status   string
	inLatest bool
}

// missing lists the findings of the given scopes that are open or last
// seen by their scope's latest import, and that this import did not report:
// neither new in it, nor written out as seen by it, nor in a scope an
// earlier part of the same scan covered (last seen by this scan, then), nor
// found by it (r.reported).
func (r *importRun) missing(scopes []string) ([]gone, error) {
	in, keys := db.AnyOf(r.dialect, "f.scope_key", "text", 2, scopes)
	n := 1 + len(keys)
	query := fmt.Sprintf(`SELECT f.id, f.status, s.finding_id IS NULL FROM findings f LEFT JOIN finding_seen s ON s.finding_id = f.id
		WHERE f.team_id = $1 AND %s AND CASE WHEN s.finding_id IS NULL
			THEN f.first_scan_id <> $%d AND f.scope_key NOT IN (SELECT scope_key FROM scope_latest WHERE team_id = $%d AND scan_id = $%d)
			ELSE s.last_scan_id <> $%d AND f.status IN ('open', 'reopened') END`, in, n+1, n+2, n+3, n+4)
	args := append([]any{r.teamID}, keys...)
	args = append(args, r.scanID, r.teamID, r.scanID, r.scanID)
	// The database leaves out what this import reported instead of sending
	// back every finding of the scopes (a re-import's 100,000): PostgreSQL
	// from an array (a hash anti-join), SQLite from a JSON array, which it
	// reads once into a temporary index.
	if r.dialect == db.Postgres {
		query += fmt.Sprintf(" AND NOT EXISTS (SELECT 1 FROM unnest($%d::int8[]) AS reported(id) WHERE reported.id = f.id)", n+5)
		args = append(args, r.reported)
	} else if len(r.reported) > 0 {
		// (A nil slice would be JSON null, one NULL value: NOT IN would then
		// hold for no finding.)
		reported, err := json.Marshal(r.reported)
		if err != nil {
			return nil, err
		}
		query += fmt.Sprintf(" AND f.id NOT IN (SELECT value FROM json_each($%d))", n+5)
		args = append(args, string(reported))
	}
	rows, err := r.q.QueryContext(r.ctx, r.bind(query), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []gone
	for rows.Next() {
		var g gone
		if err := rows.Scan(&g.id, &g.status, &g.inLatest); err != nil {
			return nil, err
		}
		out = append(out, g)
	}
	return out, rows.Err()
}

// PartResult is what the import of one part of a scan did.
type PartResult struct {
	ImportResult
	BySeverity map[string]int `json:"by_severity"`
	ByResult   map[string]int `json:"by_result"`
}

func importPartSet(ctx context.Context, q db.Querier, teamID, scanID, partID string, res PartResult, at time.Time) error {
	b, err := json.Marshal(res)
	if err != nil {
		return err
	}
	_, err = q.ExecContext(ctx, "INSERT INTO scan_parts (team_id, scan_id, part_id, result, created_at) VALUES ($1,$2,$3,$4,$5)",
		teamID, scanID, partID, string(b), at)
	if err != nil {
		return fmt.Errorf("record scan part %s: %w", partID, db.MapError(err))
	}
	return nil
}

// ImportPartGet returns what the import of a scan's part did, and false when
// that part was never imported (or its import rolled back).
func (s *Store) ImportPartGet(ctx context.Context, teamID, partID string) (PartResult, bool, error) {
	var (
		res PartResult
		raw string
	)
	err := s.d.ReadInTeam(ctx, teamID, func(q db.Querier) error {
		return q.QueryRowContext(ctx, "SELECT result FROM scan_parts WHERE team_id = $1 AND part_id = $2", teamID, partID).Scan(&raw)
	})
	if errors.Is(err, sql.ErrNoRows) {
		return PartResult{}, false, nil
	}
	if err != nil {
		return PartResult{}, false, err
	}
	if err := json.Unmarshal([]byte(raw), &res); err != nil {
		return PartResult{}, false, fmt.Errorf("scan part %s: %w", partID, err)
	}
	return res, true, nil
}
