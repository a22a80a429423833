package library

import (
	"bytes"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"
)

// naiveSCF reads the sample workbook a second way, whole sheets at once
// with GetRows and no normalization, for the counts the reader must match.
type naiveSCF struct {
	controls  map[string]bool // SCF # as written
	domains   map[string]bool // identifiers of the domains sheet
	mappings  map[string]bool // the Authoritative Sources sheet's "Mapping Column Header"s, folded
	nistLines int             // non-empty lines of the "NIST 800-53 rev5" column
}

func readNaiveSCF(t *testing.T, data []byte) naiveSCF {
	t.Helper()
	f, err := excelize.OpenReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n := naiveSCF{controls: map[string]bool{}, domains: map[string]bool{}, mappings: map[string]bool{}}
	col := func(rows [][]string, header string) int {
		for i, c := range rows[0] {
			if strings.Join(strings.Fields(c), " ") == header {
				return i
			}
		}
		t.Fatalf("no column %q", header)
		return -1
	}
	rows, _ := f.GetRows("SCF 2022.2")
	ref, nist := col(rows, "SCF #"), col(rows, "NIST 800-53 rev5")
	for _, r := range rows[1:] {
		if ref < len(r) && strings.TrimSpace(r[ref]) != "" {
			n.controls[strings.TrimSpace(r[ref])] = true
		}
		if nist < len(r) {
			for _, l := range strings.Split(r[nist], "\n") {
				if strings.TrimSpace(l) != "" {
					n.nistLines++
				}
			}
		}
	}
	rows, _ = f.GetRows("Domains & Principles")
	id := col(rows, "SCF Identifier")
	for _, r := range rows[1:] {
		if id < len(r) && strings.TrimSpace(r[id]) != "" { // some end in a non-breaking space
			n.domains[strings.TrimSpace(r[id])] = true
		}
	}
	rows, _ = f.GetRows("Authoritative Sources")
	h := col(rows, "Mapping Column Header")
	for _, r := range rows[1:] {
		if h < len(r) && r[h] != "" {
			n.mappings[strings.Join(strings.Fields(r[h]), " ")] = true
		}
	}
	return n
}

func TestParseSCFWorkbookSample(t *testing.T) {
	data := sample(t, scfWorkbookSample)
	wb, err := ParseSCFWorkbook(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	naive := readNaiveSCF(t, data)
	fw := wb.Framework
	if wb.Sheet != "SCF 2022.2" || fw.Version != "2022.2" || fw.URN != "urn:scf:framework:scf-2022.2" ||
		fw.Family != "scf" || !strings.Contains(fw.Copyright, "CC BY-ND 4.0") {
		t.Errorf("sheet %q version %q urn %q family %q copyright %q", wb.Sheet, fw.Version, fw.URN, fw.Family, fw.Copyright)
	}

	urns := map[string]*Node{}
	var controls, domains int
	for i := range fw.Nodes {
		n := &fw.Nodes[i]
		if urns[n.URN] != nil {
			t.Fatalf("URN %s twice", n.URN)
		}
		urns[n.URN] = n
		switch {
		case n.Depth == 1 && !n.Assessable && n.ParentURN == "":
			domains++
			if !naive.domains[n.RefID] {
				t.Errorf("domain %s is not in the domains sheet", n.RefID)
			}
		case n.Depth == 2 && n.Assessable:
			controls++
			p := urns[n.ParentURN] // parents come first
			if p == nil || p.Depth != 1 || !strings.HasPrefix(n.RefID, p.RefID+"-") {
				t.Errorf("control %s under %q", n.RefID, n.ParentURN)
			}
			if !naive.controls[n.RefID] || n.URN != "urn:scf:req_node:scf-2022.2:"+strings.ToLower(n.RefID) {
				t.Errorf("control %s: urn %s", n.RefID, n.URN)
			}
			if n.Name == "" || n.Description == "" || n.Weight < 1 || n.Weight > 10 {
				t.Errorf("control %s: name %q description %q weight %v", n.RefID, n.Name, n.Description, n.Weight)
			}
		default:
			t.Errorf("node %+v", n)
		}
	}
	if controls != len(naive.controls) || domains != len(naive.domains) {
		t.Errorf("%d controls in %d domains, the sheets have %d in %d", controls, domains, len(naive.controls), len(naive.domains))
	}
	gov := urns["urn:scf:req_node:scf-2022.2:gov-01"]
	if gov == nil || gov.Question == "" || !strings.HasPrefix(gov.Extra["SP-CMM 3 Well Defined"], "- ") {
		t.Errorf("GOV-01: %+v", gov)
	}

	// The workbook's own list of mapped sources ("Authoritative Sources")
	// lags its columns a little (it says "PCI DSS v3.2" over a "PCIDSS v3.2"
	// column, CMMC v1.02 over CMMC 2.0): every column it names is a
	// crosswalk, and nearly every crosswalk is a column it names, which
	// keeps the SCF's own columns (risk, threat, maturity) out.
	byFamily := map[string]int{}
	columns := map[string]bool{}
	var entries int
	var unlisted []string
	for _, cw := range wb.Crosswalks {
		entries += len(cw.Entries)
		columns[cw.Column] = true
		if !naive.mappings[cw.Column] {
			unlisted = append(unlisted, cw.Column)
		}
		if cw.Family != "" {
			byFamily[cw.Family]++
		}
		for _, e := range cw.Entries {
			if !naive.controls[e.SCFRefID] || e.TargetRef == "" || strings.Contains(e.TargetRef, "\n") ||
				e.TargetKey != NormalizeRef(cw.Family, e.TargetRef) {
				t.Fatalf("%s: entry %+v", cw.Column, e)
			}
		}
	}
	if len(unlisted) > len(wb.Crosswalks)/10 {
		t.Errorf("%d crosswalks not in Authoritative Sources: %q", len(unlisted), unlisted)
	}
	t.Logf("crosswalks not in Authoritative Sources: %q", unlisted)
	listedColumns := 0
	for _, h := range rowHeaders(t, data) {
		if naive.mappings[h] {
			listedColumns++
			if !columns[h] {
				t.Errorf("column %q is a mapped source but not a crosswalk", h)
			}
		}
	}
	if listedColumns < len(naive.mappings)*8/10 {
		t.Errorf("only %d of %d mapped sources are columns", listedColumns, len(naive.mappings))
	}
	for f, n := range byFamily {
		if n > 1 {
			t.Errorf("family %s on %d crosswalks", f, n)
		}
	}
	t.Logf("%d domains, %d controls, %d crosswalk columns (%d of the %d listed sources are columns), %d entries",
		domains, controls, len(wb.Crosswalks), listedColumns, len(naive.mappings), entries)

	nist := crosswalk(t, wb, "NIST 800-53 rev5")
	if nist.Family != FamilyNIST80053 || len(nist.Entries) != naive.nistLines {
		t.Errorf("NIST 800-53 rev5: family %q, %d entries, the column has %d lines", nist.Family, len(nist.Entries), naive.nistLines)
	}
	for header, family := range map[string]string{
		"NIST 800-53 rev4": "nist-800-53-r4", "NIST 800-53 rev5 [low]": "",
		"ISO 27001 v2013": "iso27001-2013", "CIS CSC v8.0": "cis-csc-8.0", "PCIDSS v4.0": "pci-dss-4.0",
		"PCIDSS v3.2": "pci-dss-3.2", "NIST CSF v1.1": "nist-csf-1.1", "AICPA TSC 2017 (SOC 2)": "soc2",
	} {
		if cw := crosswalk(t, wb, header); cw.Family != family {
			t.Errorf("%s: family %q, want %q", header, cw.Family, family)
		}
	}
}

// rowHeaders is the main sheet's header row, folded.
func rowHeaders(t *testing.T, data []byte) []string {
	f, err := excelize.OpenReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := f.Rows("SCF 2022.2")
	if err != nil || !rows.Next() {
		t.Fatal(err)
	}
	row, _ := rows.Columns()
	for i, c := range row {
		row[i] = strings.Join(strings.Fields(c), " ")
	}
	return row
}

func crosswalk(t *testing.T, wb *SCFWorkbook, column string) *Crosswalk {
	t.Helper()
	for i := range wb.Crosswalks {
		if wb.Crosswalks[i].Column == column {
			return &wb.Crosswalks[i]
		}
	}
	t.Fatalf("no crosswalk %q", column)
	return nil
}

func TestParseSCFWorkbookErrors(t *testing.T) {
	data := sample(t, scfWorkbookSample)

	noSCF := excelize.NewFile()
	if _, err := noSCF.NewSheet("Controls 2025"); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := noSCF.Write(&buf); err != nil {
		t.Fatal(err)
	}

	noHeader := excelize.NewFile()
	noHeader.SetSheetName("Sheet1", "SCF 2025.3.1")
	for r := 1; r <= 30; r++ {
		cellName, _ := excelize.CoordinatesToCellName(1, r)
		_ = noHeader.SetCellValue("SCF 2025.3.1", cellName, "x")
	}
	var buf2 bytes.Buffer
	if err := noHeader.Write(&buf2); err != nil {
		t.Fatal(err)
	}

	for name, tc := range map[string]struct {
		in   []byte
		want string
	}{
		"truncated":       {data[:len(data)/2], "not an Excel workbook"},
		"not a zip":       {[]byte("SCF #,SCF Domain\nGOV-01,Governance\n"), "not an Excel workbook"},
		"empty":           {nil, "not an Excel workbook"},
		"no SCF":          {buf.Bytes(), `no SCF sheet (a sheet named like "SCF 2025.3.1") in this workbook; sheets: Sheet1, Controls 2025`},
		"no SCF # header": {buf2.Bytes(), `no "SCF #" header`},
	} {
		_, err := ParseSCFWorkbook(bytes.NewReader(tc.in))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", name, err, tc.want)
		}
	}
}

// A newer layout: the header row below a title, columns in another order,
// a sub-control, PPTDF and cadence columns, a two-line crosswalk cell.
func TestParseSCFWorkbookNewLayout(t *testing.T) {
	f := excelize.NewFile()
	const s = "SCF 2025.3.1"
	f.SetSheetName("Sheet1", s)
	rows := [][]any{
		{"Secure Controls Framework (SCF) 2025.3.1"},
		{},
		{"SCF #", "SCF Domain", "SCF Control", "Conformity Validation\nCadence", "Secure Controls Framework (SCF)\nControl Description",
			"PPTDF\nApplicability", "SCF Control Question", "Relative Control Weighting", "NIST\n800-53\nR5", "NIST\nCSF\n2.0", "Risk\nR-AC-1", "Errata 2025.3.1"},
		{"GOV-01", "Cybersecurity & Data Protection Governance", "Program", "Annual", "Mechanisms exist.", "Process", "Does it?", "10",
			"PM-1\nPM-2 ", "GV.PO-01", "x", "new"},
		{"GOV-01.1", "Cybersecurity & Data Protection Governance", "Steering", "", "Mechanisms exist too.", "People", "Does it too?", "7", "", "GV.RR-1", "", ""},
		{"AAT-01", "Artificial Intelligence", "AI", "", "AI.", "", "", "", "SA-8(33)", "", "", ""},
	}
	for i, r := range rows {
		cellName, _ := excelize.CoordinatesToCellName(1, i+1)
		if err := f.SetSheetRow(s, cellName, &r); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		t.Fatal(err)
	}
	wb, err := ParseSCFWorkbook(&buf)
	if err != nil {
		t.Fatal(err)
	}
	fw := wb.Framework
	if fw.Version != "2025.3.1" || len(fw.Nodes) != 5 {
		t.Fatalf("version %q, %d nodes: %+v", fw.Version, len(fw.Nodes), fw.Nodes)
	}
	// No domains sheet: domains come from the control identifiers.
	if n := fw.Nodes[0]; n.RefID != "GOV" || n.URN != "urn:scf:req_node:scf-2025.3.1:gov" || n.Assessable {
		t.Errorf("domain %+v", n)
	}
	if n := fw.Nodes[2]; n.Key != "gov-01.1" || n.ParentURN != "urn:scf:req_node:scf-2025.3.1:gov" || n.Weight != 7 ||
		n.Extra["PPTDF Applicability"] != "People" || n.Depth != 2 {
		t.Errorf("sub-control %+v", n)
	}
	if n := fw.Nodes[1]; n.Extra["Conformity Validation Cadence"] != "Annual" || n.Question != "Does it?" {
		t.Errorf("control %+v", n)
	}
	if len(wb.Crosswalks) != 2 {
		t.Fatalf("crosswalks %+v", wb.Crosswalks)
	}
	nist, csf := wb.Crosswalks[0], wb.Crosswalks[1]
	if nist.Family != "nist-800-53" || nist.Column != "NIST 800-53 R5" || len(nist.Entries) != 3 ||
		nist.Entries[1] != (CrosswalkEntry{"GOV-01", "PM-2", "pm-2"}) || nist.Entries[2].TargetKey != "sa-8(33)" {
		t.Errorf("NIST crosswalk %+v", nist)
	}
	if csf.Family != "nist-csf-2.0" || len(csf.Entries) != 2 || csf.Entries[1].TargetKey != "gv.rr-01" {
		t.Errorf("CSF crosswalk %+v", csf)
	}
}

func BenchmarkParseSCFWorkbook(b *testing.B) {
	data := sample(b, scfWorkbookSample)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := ParseSCFWorkbook(bytes.NewReader(data)); err != nil {
			b.Fatal(err)
		}
	}
}
