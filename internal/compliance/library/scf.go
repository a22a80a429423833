package library

import (
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	"github.com/xuri/excelize/v2"
)

// Limits on what an .xlsx may unpack to. A 2022 workbook of 3 MB unpacks to
// 14 MB and the 2025 ones with hundreds of crosswalk columns to a few times
// that; a zip bomb is refused long before it fills memory or disk. Parts
// larger than the XML limit are streamed through a temporary file by
// excelize rather than held in memory.
const (
	scfUnzipSizeLimit    = 1 << 30 // whole archive, unpacked
	scfUnzipXMLSizeLimit = 64 << 20
	// scfHeaderSearchRows is how far down the "SCF #" header is looked for.
	scfHeaderSearchRows = 20
)

// SCFCopyright is shown with the SCF: its licence asks for attribution and
// no derivatives.
const SCFCopyright = "Secure Controls Framework (SCF), copyright Secure Controls Framework Council, LLC; " +
	"licensed under CC BY-ND 4.0 (https://creativecommons.org/licenses/by-nd/4.0/), " +
	"https://securecontrolsframework.com"

var (
	scfSheetName = regexp.MustCompile(`^SCF (\d{4}(?:\.\d+)*)\s*$`)
	scfVersion   = regexp.MustCompile(`\d{4}(?:\.\d+)+`)
	domainPrefix = regexp.MustCompile(`^\s*([A-Za-z]{2,4})\s*-`)
	// scfBaseline marks a column that lists a baseline or overlay of a
	// framework another column maps in full ("NIST 800-53 rev5 [low]").
	scfBaseline = regexp.MustCompile(`\[[^\]]*\]|\((?i:low|moderate|high|privacy|noc|li-saas)\)`)
)

// scfOwnColumns are the SCF's own descriptive columns: any header that
// contains one of these (folded, lower-cased) is not a crosswalk. The
// catalogue's fields proper are found by name first; this list keeps
// methods, evidence, maturity, risk and threat columns out of the
// crosswalks in every workbook generation seen.
var scfOwnColumns = []string{
	"scf domain", "scf control", "scf #", "control description", "control question",
	"weighting", "methods to comply", "function grouping", "sp-cmm", "maturity",
	"pptdf", "validation cadence", "conformity", "evidence request", "erl #",
	"possible solutions", "assessment objective", "principle", "errata", "notes",
	"minimum security requirements", "minimum compliance", "discretionary security",
	"risk threat summary", "control threat summary",
}

// scfColumns are the positions of the catalogue's own fields in the header
// row; -1 where a workbook has no such column.
type scfColumns struct {
	domain, name, ref, description, question, weight int
	extra                                            map[int]string // column -> header for Node.Extra
	crosswalk                                        map[int]int    // column -> index in Crosswalks
}

// ParseSCFWorkbook reads the official Secure Controls Framework workbook: the
// domains of its "Domains & Principles" sheet at depth 1 and every control of
// its main sheet ("SCF 2022.2", "SCF 2025.3.1") at depth 2 under its domain,
// sub-controls such as GOV-01.1 included (as the open library's SCF does,
// they sit beside their parent control, under the domain). Columns are found
// by their header text, wherever the header row is, so that new versions
// that add or move columns still read.
func ParseSCFWorkbook(r io.Reader) (*SCFWorkbook, error) {
	f, err := excelize.OpenReader(r, excelize.Options{
		UnzipSizeLimit:    scfUnzipSizeLimit,
		UnzipXMLSizeLimit: scfUnzipXMLSizeLimit,
	})
	if err != nil {
		if errors.Is(err, excelize.ErrWorkbookFileFormat) || strings.Contains(err.Error(), "zip") {
			return nil, fmt.Errorf("not an Excel workbook (.xlsx): %w", err)
		}
		return nil, fmt.Errorf("reading the workbook: %w", err)
	}
	defer f.Close()

	sheets := f.GetSheetList()
	sheet, sheetVersion := "", ""
	for _, s := range sheets {
		if m := scfSheetName.FindStringSubmatch(s); m != nil {
			sheet, sheetVersion = s, m[1]
			break
		}
	}
	if sheet == "" {
		return nil, fmt.Errorf("no SCF sheet (a sheet named like \"SCF 2025.3.1\") in this workbook; sheets: %s",
			strings.Join(sheets, ", "))
	}

	wb := &SCFWorkbook{Sheet: sheet}
	ver := workbookVersion(f, sheetVersion)
	fw := &wb.Framework
	*fw = Framework{
		URN:       "urn:scf:framework:scf-" + ver,
		RefID:     "SCF",
		Family:    FamilySCF,
		Name:      "Secure Controls Framework (SCF) " + ver,
		Version:   ver,
		Source:    "SCF workbook",
		Provider:  "SCF",
		Copyright: SCFCopyright,
	}
	nodePrefix := "urn:scf:req_node:scf-" + ver + ":"

	domains, err := readSCFDomains(f, sheets)
	if err != nil {
		return nil, err
	}
	controls, err := readSCFControls(f, sheet, wb)
	if err != nil {
		return nil, err
	}

	// Emit each domain followed by its controls, in the domains sheet's
	// order, then any domain that only the main sheet names.
	byDomain := map[string][]Node{}
	var order []string
	seenDomain := map[string]bool{}
	for _, d := range domains {
		if !seenDomain[d.id] {
			seenDomain[d.id] = true
			order = append(order, d.id)
		}
	}
	names := map[string]scfDomain{}
	for _, d := range domains {
		names[d.id] = d
	}
	for _, c := range controls {
		id := c.domainID
		if !seenDomain[id] {
			seenDomain[id] = true
			order = append(order, id)
			names[id] = scfDomain{id: id, name: c.domainName}
		}
		byDomain[id] = append(byDomain[id], c.node)
	}
	for _, id := range order {
		d := names[id]
		urn := nodePrefix + strings.ToLower(id)
		fw.Nodes = append(fw.Nodes, Node{
			URN: urn, RefID: id, Key: NormalizeRef(FamilySCF, id), Name: d.name,
			Description: d.principle, Depth: 1,
		})
		for _, n := range byDomain[id] {
			n.URN = nodePrefix + n.Key
			n.ParentURN = urn
			n.Depth = 2
			fw.Nodes = append(fw.Nodes, n)
		}
	}
	if len(controls) == 0 {
		return nil, fmt.Errorf("sheet %q has no controls", sheet)
	}

	// Keep only crosswalks that map something.
	kept := wb.Crosswalks[:0]
	for _, cw := range wb.Crosswalks {
		if len(cw.Entries) > 0 {
			kept = append(kept, cw)
		}
	}
	wb.Crosswalks = kept
	return wb, nil
}

// workbookVersion prefers a fuller version stated in the workbook's
// properties ("2022.2.1") over the sheet's ("2022.2"), when it extends it.
func workbookVersion(f *excelize.File, sheetVersion string) string {
	best := sheetVersion
	p, err := f.GetDocProps()
	if err != nil || p == nil {
		return best
	}
	for _, s := range []string{p.Title, p.Subject, p.Description, p.Version, p.Keywords, p.Category} {
		for _, v := range scfVersion.FindAllString(s, -1) {
			if strings.HasPrefix(v, sheetVersion+".") && len(v) > len(best) {
				best = v
			}
		}
	}
	return best
}

type scfDomain struct{ id, name, principle string }

// readSCFDomains reads the "Domains & Principles" sheet, when the workbook
// has one: identifier (GOV), name and principle of each domain.
func readSCFDomains(f *excelize.File, sheets []string) ([]scfDomain, error) {
	sheet := ""
	for _, s := range sheets {
		if strings.HasPrefix(strings.ToLower(s), "domains") {
			sheet = s
			break
		}
	}
	if sheet == "" {
		return nil, nil
	}
	rows, err := f.GetRows(sheet) // a few dozen rows
	if err != nil {
		return nil, fmt.Errorf("reading sheet %q: %w", sheet, err)
	}
	idCol, nameCol, principleCol := -1, -1, -1
	var out []scfDomain
	for _, row := range rows {
		if idCol < 0 {
			for i, c := range row {
				switch h := foldLower(c); {
				case h == "scf identifier" || h == "identifier":
					idCol = i
				case h == "scf domain" || h == "domain":
					nameCol = i
				case strings.HasSuffix(h, "principles") && principleCol < 0:
					principleCol = i
				}
			}
			continue
		}
		id := strings.ToUpper(strings.TrimSpace(cell(row, idCol)))
		if id == "" {
			continue
		}
		out = append(out, scfDomain{
			id: id, name: strings.TrimSpace(cell(row, nameCol)),
			principle: strings.TrimSpace(cell(row, principleCol)),
		})
	}
	return out, nil
}

type scfRow struct {
	domainID, domainName string
	node                 Node
}

// readSCFControls streams the main sheet: its thousand-odd rows by up to
// several hundred columns are most of the workbook.
func readSCFControls(f *excelize.File, sheet string, wb *SCFWorkbook) ([]scfRow, error) {
	rows, err := f.Rows(sheet)
	if err != nil {
		return nil, fmt.Errorf("reading sheet %q: %w", sheet, err)
	}
	defer rows.Close()

	var cols *scfColumns
	var out []scfRow
	seen := map[string]bool{}
	for n := 0; rows.Next(); n++ {
		// Raw values: the catalogue is text and plain numbers, and number
		// formatting was an eighth of the parse.
		row, err := rows.Columns(excelize.Options{RawCellValue: true})
		if err != nil {
			return nil, fmt.Errorf("reading sheet %q row %d: %w", sheet, n+1, err)
		}
		if cols == nil {
			if cols = scfHeader(row, wb); cols == nil && n >= scfHeaderSearchRows {
				return nil, fmt.Errorf("sheet %q: no \"SCF #\" header in its first %d rows", sheet, scfHeaderSearchRows)
			}
			continue
		}
		ref := strings.TrimSpace(cell(row, cols.ref))
		if ref == "" {
			continue
		}
		key := NormalizeRef(FamilySCF, ref)
		if seen[key] { // a repeated row would give two nodes one URN
			continue
		}
		seen[key] = true
		c := scfRow{domainName: strings.TrimSpace(cell(row, cols.domain))}
		if m := domainPrefix.FindStringSubmatch(ref); m != nil {
			c.domainID = strings.ToUpper(m[1])
		} else {
			c.domainID = strings.ToUpper(c.domainName)
		}
		c.node = Node{
			RefID:       ref,
			Key:         key,
			Name:        strings.TrimSpace(cell(row, cols.name)),
			Description: strings.TrimSpace(cell(row, cols.description)),
			Question:    strings.TrimSpace(cell(row, cols.question)),
			Assessable:  true,
		}
		if w, err := strconv.ParseFloat(strings.TrimSpace(cell(row, cols.weight)), 64); err == nil && w > 0 {
			c.node.Weight = w
		}
		for i, h := range cols.extra {
			if v := strings.TrimSpace(cell(row, i)); v != "" {
				if c.node.Extra == nil {
					c.node.Extra = map[string]string{}
				}
				c.node.Extra[h] = v
			}
		}
		for i, x := range cols.crosswalk {
			cw := &wb.Crosswalks[x]
			for _, line := range strings.Split(cell(row, i), "\n") {
				if line = strings.TrimSpace(line); line != "" {
					cw.Entries = append(cw.Entries, CrosswalkEntry{
						SCFRefID: ref, TargetRef: line, TargetKey: NormalizeRef(cw.Family, line),
					})
				}
			}
		}
		out = append(out, c)
	}
	if err := rows.Error(); err != nil {
		return nil, fmt.Errorf("reading sheet %q: %w", sheet, err)
	}
	if cols == nil {
		return nil, fmt.Errorf("sheet %q: no \"SCF #\" header", sheet)
	}
	return out, nil
}

// scfHeader reads a header row, or returns nil when row is not the header
// (it has no "SCF #" cell). It adds one Crosswalk to wb per crosswalk column.
func scfHeader(row []string, wb *SCFWorkbook) *scfColumns {
	cols := &scfColumns{domain: -1, name: -1, ref: -1, description: -1, question: -1, weight: -1,
		extra: map[int]string{}, crosswalk: map[int]int{}}
	for i, c := range row {
		if foldLower(c) == "scf #" {
			cols.ref = i
		}
	}
	if cols.ref < 0 {
		return nil
	}
	families := map[string]bool{}
	for i, c := range row {
		header := fold(c)
		h := strings.ToLower(header)
		switch {
		case h == "" || i == cols.ref:
		case h == "scf domain":
			cols.domain = i
		case h == "scf control":
			cols.name = i
		case strings.Contains(h, "control description") && cols.description < 0:
			cols.description = i
		case strings.Contains(h, "control question") && cols.question < 0:
			cols.question = i
		case strings.Contains(h, "control weighting") && cols.weight < 0:
			cols.weight = i
		case strings.Contains(h, "pptdf") || strings.Contains(h, "validation cadence") ||
			strings.HasPrefix(h, "sp-cmm"):
			cols.extra[i] = header
		case !scfOwnColumn(h):
			cw := Crosswalk{Column: header, Name: header, Family: FamilyOf(header)}
			// One column per family carries it, so that the engine does not
			// map a framework twice: baselines and overlays of a framework
			// ("NIST 800-53 rev5 [low]") and repeats stay unmatched.
			if cw.Family != "" && (scfBaseline.MatchString(header) || families[cw.Family]) {
				cw.Family = ""
			}
			families[cw.Family] = true
			cols.crosswalk[i] = len(wb.Crosswalks)
			wb.Crosswalks = append(wb.Crosswalks, cw)
		}
	}
	return cols
}

// scfOwnColumn tells whether a folded, lower-cased header is one of the
// SCF's own descriptive columns rather than a crosswalk.
func scfOwnColumn(h string) bool {
	// "SCRM Tier 1" is the SCF's; "NIST 800-161 rev 1 C-SCRM Baseline" a crosswalk.
	if strings.HasPrefix(h, "scf") || strings.HasPrefix(h, "risk ") || strings.HasPrefix(h, "threat ") ||
		strings.HasPrefix(h, "scrm ") || h == "#" {
		return true
	}
	for _, w := range scfOwnColumns {
		if strings.Contains(h, w) {
			return true
		}
	}
	return false
}

// fold trims a header and folds its line breaks and runs of blanks
// (non-breaking spaces included) to one space.
func fold(s string) string { return strings.Join(strings.Fields(s), " ") }

func foldLower(s string) string { return strings.ToLower(fold(s)) }

func cell(row []string, i int) string {
	if i < 0 || i >= len(row) {
		return ""
	}
	return row[i]
}
