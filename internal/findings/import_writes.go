package findings

// How an import writes a batch: raw OCSF blocks, remediation texts, new
// and changed findings, and their sightings.

import (
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/offloadsecurity/cspm/internal/db"
	"github.com/offloadsecurity/cspm/internal/ingest"
)

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

// findingColumns is the number of findingInsertColumns; the last two are
// the raw OCSF's block and place.
const findingColumns = 39

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
			status, muteKind, ruleID, reason, by = StatusMuted, rule.muteKind(), rule.ID, rule.Reason, rule.CreatedBy
			if rule.ExpiresAt != nil {
				mutedUntil = rule.ExpiresAt.UTC()
			}
		}
		if status == StatusOpen {
			r.noteOpened(f)
		}
		args = append(args, r.teamID, f.Fingerprint, f.Tool, f.ClassUID, f.CheckID, f.Title, int(f.Severity), string(f.Result), status,
			f.Provider, f.AccountUID, f.Region, f.Service, f.ResourceUID, f.ResourceName, f.ResourceType, f.Target, f.Location,
			f.Component, f.Version, f.FixedVersion, strings.Join(f.VulnIDs, ","), f.Description, 0, f.ScopeKey(),
			contentHash(f), r.now, resolvedAt, r.scanID, muteKind, ruleID, reason, by, mutedUntil, storedTags(f.Tags),
			status, r.tierOf(f), nil, rawIndex[f])
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
		raw_block_id = $20, raw_index = $21, business_tier = COALESCE($22, business_tier)
		WHERE team_id = $17 AND id = $18`,
		f.Title, int(f.Severity), string(f.Result), status, f.Service, f.ResourceName, f.ResourceType, f.Location, f.Component,
		f.Version, f.FixedVersion, strings.Join(f.VulnIDs, ","), f.Description, r.remediations[f.Remediation], c.hash, resolvedAt,
		r.teamID, old.id, storedTags(f.Tags), raw.block, raw.index, r.updatedTier(f))
	if err != nil {
		return fmt.Errorf("update finding: %w", err)
	}
	_, err = r.q.ExecContext(r.ctx, "INSERT INTO finding_history (team_id, finding_id, scan_id, at, change, from_status, to_status) VALUES ($1,$2,$3,$4,$5,$6,$7)",
		r.teamID, old.id, r.scanID, r.now, c.change, old.status, status)
	return err
}
