package db

import (
	"fmt"
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

// Placeholders returns rows tuples of cols parameters each, numbered from
// start: "($1,$2),($3,$4)".
func Placeholders(rows, cols, start int) string {
	var b strings.Builder
	n := start
	for r := 0; r < rows; r++ {
		if r > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('(')
		for c := 0; c < cols; c++ {
			if c > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, "$%d", n)
			n++
		}
		b.WriteByte(')')
	}
	return b.String()
}

// InList returns n parameters numbered from start: "$3,$4,$5".
func InList(n, start int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "$%d", start+i)
	}
	return b.String()
}
