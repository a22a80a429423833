package findings

// How an import's statements reach the database in order: one goroutine
// for the transaction, and on PostgreSQL a pipeline for batches of new
// findings.

import (
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/offloadsecurity/cspm/internal/db"
)

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
		case "class_uid", "severity", "raw_index", "remediation_id", "business_tier":
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
