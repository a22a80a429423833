package db

import (
	"context"
	"fmt"
	"strconv"
	"strings"
)

// Positional rewrites $1, $2... to ? on SQLite. SQLite resolves each $N by
// a linear search of the names seen so far, which makes a 15,000-parameter
// batch insert quadratic (measured: 89% of an import's time); plain ? is
// positional. Only statements whose $N appear once each, in order, may go
// through here. A byte loop, not a regexp: on batch statements the regexp
// took 11% of an import.
func Positional(d Dialect, query string) string {
	if d != SQLite || strings.IndexByte(query, '$') < 0 {
		return query
	}
	var b strings.Builder
	b.Grow(len(query))
	for i := 0; i < len(query); i++ {
		c := query[i]
		if c == '$' && i+1 < len(query) && query[i+1] >= '0' && query[i+1] <= '9' {
			b.WriteByte('?')
			for i+1 < len(query) && query[i+1] >= '0' && query[i+1] <= '9' {
				i++
			}
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// NotIndexed returns col for a WHERE term the planner must not pick an
// index for: "+col" on SQLite, whose planner matches no index to a unary
// plus, and col on PostgreSQL. A team filter beside a list of primary keys
// ("team_id = $1 AND id IN (...)") needs it: without statistics SQLite
// walked every row of the team through an index on team_id for each batch
// instead of looking the keys up (a re-import of 100,000 findings spent
// 2.9 s marking them seen).
func NotIndexed(d Dialect, col string) string {
	if d == SQLite {
		return "+" + col
	}
	return col
}

// AnyOf returns the condition that col is one of keys, and its arguments,
// numbered from start: on PostgreSQL "col = ANY($start::typ[])" with the
// keys as one array argument, on SQLite "col IN ($start, ...)" with one
// argument per key. A batch of 500 keys is then one value for PostgreSQL to
// bind and pgx to encode instead of 500.
func AnyOf[T any](d Dialect, col, typ string, start int, keys []T) (string, []any) {
	if d == Postgres {
		return fmt.Sprintf("%s = ANY($%d::%s[])", col, start, typ), []any{keys}
	}
	args := make([]any, len(keys))
	for i, k := range keys {
		args[i] = k
	}
	return col + " IN (" + InList(len(keys), start) + ")", args
}

// Placeholders returns rows tuples of cols parameters each, numbered from
// start: "($1,$2),($3,$4)".
func Placeholders(rows, cols, start int) string {
	// strconv, not fmt: an import builds 19,000 of these per batch.
	b := make([]byte, 0, rows*(cols*7+3))
	n := start
	for r := 0; r < rows; r++ {
		if r > 0 {
			b = append(b, ',')
		}
		b = append(b, '(')
		for c := 0; c < cols; c++ {
			if c > 0 {
				b = append(b, ',')
			}
			b = append(b, '$')
			b = strconv.AppendInt(b, int64(n), 10)
			n++
		}
		b = append(b, ')')
	}
	return string(b)
}

// InList returns n parameters numbered from start: "$3,$4,$5".
func InList(n, start int) string {
	b := make([]byte, 0, n*7)
	for i := 0; i < n; i++ {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '$')
		b = strconv.AppendInt(b, int64(start+i), 10)
	}
	return string(b)
}

// Where builds a WHERE clause on both engines: conditions joined with AND,
// and the arguments their $N parameters number.
type Where struct {
	Conds []string
	Args  []any
}

// Add appends cond, whose every %s becomes the next $N, bound in turn to vals.
func (w *Where) Add(cond string, vals ...any) {
	ph := make([]any, len(vals))
	for i := range vals {
		ph[i] = fmt.Sprintf("$%d", len(w.Args)+i+1)
	}
	w.Conds = append(w.Conds, fmt.Sprintf(cond, ph...))
	w.Args = append(w.Args, vals...)
}

// In appends "col IN (...)" over vals; nothing when vals is empty.
func (w *Where) In(col string, vals []string) {
	if len(vals) == 0 {
		return
	}
	w.Conds = append(w.Conds, col+" IN ("+InList(len(vals), len(w.Args)+1)+")")
	for _, v := range vals {
		w.Args = append(w.Args, v)
	}
}

// SQL is the conditions joined with AND.
func (w *Where) SQL() string { return strings.Join(w.Conds, " AND ") }

// Clone returns a copy that can grow without changing w.
func (w *Where) Clone() *Where {
	return &Where{Conds: append([]string{}, w.Conds...), Args: append([]any{}, w.Args...)}
}

// InsertRows runs "insert VALUES (...),(...) suffix" over rows, a flat list
// of cols values a row, in statements of at most perStatement rows, with
// positional parameters on SQLite (see Positional).
func InsertRows(ctx context.Context, q Querier, d Dialect, insert string, cols int, rows []any, perStatement int, suffix string) error {
	step := cols * perStatement
	for lo := 0; lo < len(rows); lo += step {
		part := rows[lo:min(lo+step, len(rows))]
		if _, err := q.ExecContext(ctx, Positional(d, insert+" VALUES "+Placeholders(len(part)/cols, cols, 1)+" "+suffix), part...); err != nil {
			return err
		}
	}
	return nil
}
