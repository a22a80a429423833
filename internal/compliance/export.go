package compliance

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/xuri/excelize/v2"
)

// exportHeader is the export's column row.
var exportHeader = []string{"Ref ID", "Name", "Depth", "Assessable", "Status", "Score", "Coverage", "SCF controls", "Description"}

// exportRows renders a framework detail as the export's rows.
func exportRows(d FrameworkDetail) [][]string {
	rows := make([][]string, 0, len(d.Tree))
	for _, n := range d.Tree {
		score := ""
		if n.Score != nil {
			score = strconv.FormatFloat(*n.Score, 'f', 2, 64)
		}
		var controls []string
		for _, c := range n.Controls {
			s := c.RefID + " (" + c.Status
			if c.Score != nil {
				s += " " + strconv.FormatFloat(*c.Score, 'f', 0, 64)
			}
			controls = append(controls, s+", "+c.Coverage+")")
		}
		rows = append(rows, []string{n.RefID, n.Name, strconv.Itoa(n.Depth), strconv.FormatBool(n.Assessable), n.Status, score,
			n.Coverage, strings.Join(controls, "; "), n.Description})
	}
	return rows
}

// csvSafe keeps a spreadsheet from reading a cell as a formula: a cell that
// starts with = + - @, a tab or a carriage return gets a leading quote.
func csvSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// Export renders the team's status of a framework as CSV or XLSX, with a
// preamble naming the framework, its version and copyright, the team's
// score and when it was generated: an audit-ready record.
func (s *Service) Export(ctx context.Context, teamID, frameworkRef, format string) ([]byte, string, string, error) {
	d, err := s.FrameworkGet(ctx, teamID, frameworkRef)
	if err != nil {
		return nil, "", "", err
	}
	score := "not assessed"
	if d.Score != nil {
		score = strconv.FormatFloat(*d.Score, 'f', 2, 64)
	}
	preamble := [][]string{
		{"Framework", d.Name}, {"Version", d.Version}, {"URN", d.URN}, {"Copyright", d.Copyright}, {"Score", score},
		{"Generated", s.now().UTC().Format(time.RFC3339)}, {},
	}
	rows := exportRows(d)
	name := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' {
			return r
		}
		return '_'
	}, d.RefID+"-"+d.Version)
	var buf bytes.Buffer
	switch format {
	case "", "csv":
		w := csv.NewWriter(&buf)
		for _, r := range append(append(preamble, exportHeader), rows...) {
			out := make([]string, len(r))
			for i, c := range r {
				out[i] = csvSafe(c)
			}
			if err := w.Write(out); err != nil {
				return nil, "", "", err
			}
		}
		w.Flush()
		return buf.Bytes(), "text/csv; charset=utf-8", name + ".csv", w.Error()
	case "xlsx":
		f := excelize.NewFile()
		defer f.Close()
		const sheet = "Compliance"
		if err := f.SetSheetName("Sheet1", sheet); err != nil {
			return nil, "", "", err
		}
		// Cells are written as strings (SetCellStr), never as formulas.
		line := 1
		for _, r := range append(append(preamble, exportHeader), rows...) {
			for i, c := range r {
				cell, _ := excelize.CoordinatesToCellName(i+1, line)
				if err := f.SetCellStr(sheet, cell, c); err != nil {
					return nil, "", "", err
				}
			}
			line++
		}
		if err := f.Write(&buf); err != nil {
			return nil, "", "", fmt.Errorf("xlsx: %w", err)
		}
		return buf.Bytes(), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", name + ".xlsx", nil
	}
	return nil, "", "", fmt.Errorf("%w: format must be csv or xlsx", ErrInvalid)
}
