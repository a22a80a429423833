package bia

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/offloadsecurity/cspm/internal/export"
)

// registerHeader is the register export's column row.
var registerHeader = []string{"ID", "Name", "Status", "Version in force", "Latest version", "Tier", "Tier name", "Owner",
	"RTO (h)", "RPO (h)", "MTPD (h)", "Inherited from", "Financial loss per hour", "Minimum service level", "Review due",
	"Review overdue", "Approved by", "Approved at", "Dependencies", "Gaps"}

func num(v *float64) string {
	if v == nil {
		return ""
	}
	return strconv.FormatFloat(*v, 'f', -1, 64)
}

func date(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// registerRows renders the register: one row per process, its version in
// force and the objectives in force.
func registerRows(list []Process, st Settings, ownerEmail func(string) string) [][]string {
	rows := make([][]string, 0, len(list))
	for _, p := range list {
		v := p.inForce()
		r := &v.Record
		var inherited, deps, gaps []string
		for _, k := range []string{"tier", "rto", "rpo", "mtpd"} {
			if f, ok := p.Objectives.InheritedFrom[k]; ok {
				inherited = append(inherited, strings.ToUpper(k)+" from "+f.Name)
			}
		}
		for _, d := range r.Dependencies {
			deps = append(deps, d.Kind+":"+d.Value)
		}
		for _, g := range p.Gaps {
			gaps = append(gaps, g.Code)
		}
		inForce := ""
		if p.ApprovedVersion > 0 {
			inForce = strconv.Itoa(p.ApprovedVersion)
		}
		rows = append(rows, []string{p.ID, r.Name, p.Status, inForce, strconv.Itoa(p.LatestVersion), strconv.Itoa(p.Objectives.Tier),
			st.TierName(p.Objectives.Tier), ownerEmail(r.OwnerID), num(p.Objectives.RTOHours), num(p.Objectives.RPOHours),
			num(p.Objectives.MTPDHours), strings.Join(inherited, "; "), strconv.FormatFloat(r.FinancialLossPerHour, 'f', 2, 64),
			r.MinimumServiceLevel, date(p.ReviewDue), strconv.FormatBool(p.ReviewOverdue), v.ApprovedBy, date(v.ApprovedAt),
			strings.Join(deps, "; "), strings.Join(gaps, "; ")})
	}
	return rows
}

// Export renders the team's register as CSV or XLSX, with a preamble
// saying when it was generated. CSV cells are guarded against formula
// injection (export.CSVWriter); XLSX cells are written as strings.
func (s *Service) Export(ctx context.Context, teamID, format string) ([]byte, string, string, error) {
	list, err := s.ProcessList(ctx, teamID, ListParams{})
	if err != nil {
		return nil, "", "", err
	}
	st, err := s.SettingsGet(ctx, teamID)
	if err != nil {
		return nil, "", "", err
	}
	emails := map[string]string{}
	ownerEmail := func(id string) string {
		if id == "" || s.users == nil {
			return id
		}
		if e, ok := emails[id]; ok {
			return e
		}
		e, ok, err := s.users.TeamUser(ctx, teamID, id)
		if err != nil || !ok {
			e = id
		}
		emails[id] = e
		return e
	}
	now := s.now().UTC()
	preamble := [][]string{{"Business impact analysis register"}, {"Generated", now.Format(time.RFC3339)}, {}}
	all := append(append(preamble, registerHeader), registerRows(list, st, ownerEmail)...)
	name := "bia-register-" + now.Format("2006-01-02")
	var buf bytes.Buffer
	switch format {
	case "", "csv":
		w := export.NewCSVWriter(&buf)
		for _, r := range all {
			if err := w.Write(r); err != nil {
				return nil, "", "", err
			}
		}
		w.Flush()
		return buf.Bytes(), "text/csv; charset=utf-8", name + ".csv", w.Error()
	case "xlsx":
		f := excelize.NewFile()
		defer f.Close()
		const sheet = "BIA register"
		if err := f.SetSheetName("Sheet1", sheet); err != nil {
			return nil, "", "", err
		}
		for i, r := range all {
			for j, c := range r {
				cell, _ := excelize.CoordinatesToCellName(j+1, i+1)
				if err := f.SetCellStr(sheet, cell, c); err != nil {
					return nil, "", "", err
				}
			}
		}
		if err := f.Write(&buf); err != nil {
			return nil, "", "", fmt.Errorf("xlsx: %w", err)
		}
		return buf.Bytes(), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", name + ".xlsx", nil
	}
	return nil, "", "", fmt.Errorf("%w: format must be csv or xlsx", ErrInvalid)
}
