package findings

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/offloadsecurity/cspm/internal/db"
)

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
