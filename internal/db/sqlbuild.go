package db

import (
	"fmt"
	"regexp"
	"strings"
)

var dollarParam = regexp.MustCompile(`\$\d+`)

// Positional rewrites $1, $2... to ? on SQLite. SQLite resolves each $N by
// a linear search of the names seen so far, which makes a 15,000-parameter
// batch insert quadratic (measured: 89% of an import's time); plain ? is
// positional. Only statements whose $N appear once each, in order, may go
// through here.
func Positional(d Dialect, query string) string {
	if d != SQLite {
		return query
	}
	return dollarParam.ReplaceAllLiteralString(query, "?")
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
