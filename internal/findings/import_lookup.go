package findings

// How an import finds the stored state of the findings it reads: a
// snapshot of the team's findings, or lookups by fingerprint.

import (
	"database/sql"
	"fmt"

	"github.com/offloadsecurity/cspm/internal/db"
	"github.com/offloadsecurity/cspm/internal/ingest"
)

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
