package library

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// countLines counts the lines of a sample that match a pattern: the naive
// second reading the parsed counts are checked against.
func countLines(data []byte, pattern string) int {
	return len(regexp.MustCompile(`(?m)`+pattern).FindAll(data, -1))
}

func parseLibrarySample(t *testing.T, rel string) (*Library, []byte) {
	t.Helper()
	data := sample(t, rel)
	lib, err := ParseLibrary(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("%s: %v", rel, err)
	}
	return lib, data
}

func TestParseLibrarySCF(t *testing.T) {
	lib, data := parseLibrarySample(t, scfLibrarySample)
	if len(lib.Frameworks) != 1 || len(lib.MappingSets) != 0 {
		t.Fatalf("%d frameworks, %d mapping sets", len(lib.Frameworks), len(lib.MappingSets))
	}
	fw := lib.Frameworks[0]
	nodes := countLines(data, `^    - urn: urn:intuitem:risk:req_node:`)
	assessable := countLines(data, `^      assessable: true$`)
	top := countLines(data, `^      depth: 1$`)
	if len(fw.Nodes) != nodes || nodes == 0 {
		t.Errorf("%d nodes, the file has %d", len(fw.Nodes), nodes)
	}
	var gotAssessable, gotTop int
	for _, n := range fw.Nodes {
		if n.Assessable {
			gotAssessable++
		}
		if n.Depth == 1 {
			gotTop++
		}
		// The library's URNs end in the lower-cased ref_id: the key must
		// be that, for domains and controls alike.
		if n.Key != n.URN[strings.LastIndex(n.URN, ":")+1:] {
			t.Errorf("node %s: key %q", n.URN, n.Key)
		}
	}
	if gotAssessable != assessable || gotTop != top {
		t.Errorf("%d assessable, %d domains; the file has %d, %d", gotAssessable, gotTop, assessable, top)
	}
	if fw.Family != "scf" || fw.Version != "2025.2.2" || fw.URN != "urn:intuitem:risk:framework:scf-2025.2.2" ||
		lib.Provider != "SCF" || lib.Version != "1" || fw.Copyright == "" {
		t.Errorf("framework %q family %q version %q provider %q library version %q", fw.URN, fw.Family, fw.Version, lib.Provider, lib.Version)
	}
	gov := fw.Nodes[1]
	if gov.RefID != "GOV-01" || gov.Question == "" || gov.Description == "" || len(gov.ImplementationGroups) != 3 ||
		gov.ParentURN != fw.Nodes[0].URN {
		t.Errorf("GOV-01: %+v", gov)
	}
	t.Logf("SCF 2025.2.2 library: %d nodes, %d domains, %d assessable", len(fw.Nodes), gotTop, gotAssessable)

	// The workbook's controls (2022.2) are keyed as the library's (2025.2.2)
	// are: most controls of the older version are in the newer.
	wb, err := ParseSCFWorkbook(bytes.NewReader(sample(t, scfWorkbookSample)))
	if err != nil {
		t.Fatal(err)
	}
	keys := map[string]bool{}
	for _, n := range fw.Nodes {
		keys[n.Key] = true
	}
	var controls, found int
	for _, n := range wb.Framework.Nodes {
		if n.Assessable {
			controls++
			if keys[n.Key] {
				found++
			}
		}
	}
	t.Logf("%d of the workbook's %d controls are in the 2025.2.2 library", found, controls)
	if found < controls*8/10 {
		t.Errorf("only %d of %d workbook controls found in the library", found, controls)
	}
}

func TestParseLibraryMappingSet(t *testing.T) {
	lib, data := parseLibrarySample(t, csfSCFMapSample)
	// The file holds the mapping and its reverse.
	if want := countLines(data, `^  - urn: urn:intuitem:risk:req_mapping_set:`); len(lib.Frameworks) != 0 || len(lib.MappingSets) != want {
		t.Fatalf("%d frameworks, %d mapping sets, the file has %d", len(lib.Frameworks), len(lib.MappingSets), want)
	}
	scf, _ := parseLibrarySample(t, scfLibrarySample)
	csf, _ := parseLibrarySample(t, csfLibrarySample)
	nodes := map[string]map[string]bool{}
	for _, fw := range []Framework{scf.Frameworks[0], csf.Frameworks[0]} {
		nodes[fw.URN] = map[string]bool{}
		for _, n := range fw.Nodes {
			nodes[fw.URN][n.URN] = true
		}
	}

	var total int
	rels := map[Relationship]int{}
	for _, ms := range lib.MappingSets {
		total += len(ms.Mappings)
		sources, targets := nodes[ms.SourceFrameworkURN], nodes[ms.TargetFrameworkURN]
		if sources == nil || targets == nil || len(ms.Dependencies) != 2 || ms.Copyright != "SCF - CC BY-ND 4.0" {
			t.Fatalf("mapping set %s: %s -> %s, dependencies %v, copyright %q",
				ms.URN, ms.SourceFrameworkURN, ms.TargetFrameworkURN, ms.Dependencies, ms.Copyright)
		}
		// Every mapping resolves to nodes of the two frameworks it joins,
		// e.g. ...:scf-2025.2.2:iro-02.4 to the SCF library's IRO-02.4.
		for _, m := range ms.Mappings {
			rels[m.Relationship]++
			if !sources[m.SourceURN] || !targets[m.TargetURN] {
				t.Errorf("mapping %+v does not resolve", m)
			}
		}
		t.Logf("%s: %d mappings", ms.URN, len(ms.Mappings))
	}
	if want := countLines(data, `^    - source_requirement_urn: `); total != want || want == 0 {
		t.Errorf("%d mappings, the file has %d", total, want)
	}
	for r, n := range rels {
		if want := countLines(data, `^      relationship: `+string(r)+`$`); n != want {
			t.Errorf("%d %s, the file has %d", n, r, want)
		}
		switch r {
		case Equal, Subset, Superset, Intersect, NotRelated:
		default:
			t.Errorf("relationship %q", r)
		}
	}
	t.Logf("%d mappings: %v", total, rels)
}

func TestParseLibraryNISTCSF(t *testing.T) {
	lib, data := parseLibrarySample(t, csfLibrarySample)
	fw := lib.Frameworks[0]
	if fw.Family != "nist-csf-2.0" || fw.Version != "2.0" || len(lib.Dependencies) != 1 {
		t.Errorf("family %q version %q dependencies %v", fw.Family, fw.Version, lib.Dependencies)
	}
	if n := countLines(data, `^    - urn: urn:intuitem:risk:req_node:`); len(fw.Nodes) != n {
		t.Errorf("%d nodes, the file has %d", len(fw.Nodes), n)
	}
	keys := map[string]bool{}
	var assessable int
	for _, n := range fw.Nodes {
		keys[n.Key] = true
		if n.Key != n.URN[strings.LastIndex(n.URN, ":")+1:] {
			t.Errorf("node %s: key %q", n.URN, n.Key)
		}
		if n.Assessable {
			assessable++
		}
	}
	t.Logf("NIST CSF 2.0 library: %d nodes, %d assessable", len(fw.Nodes), assessable)

	// Prowler's "NIST CSF 2.0" map keys its requirements as the library
	// does, except the CSF 1.1 subcategories it still carries, which CSF
	// 2.0 withdrew or moved (PR.AC, PR.IP, PR.PT, PR.MA, DE.DP, ID.BE, ID.SC,
	// RS.RP went; of PR.DS only 01, 02, 10, 11 remain, of DE.AE 02-04 and
	// 06-08, of DE.CM 01-03, 06, 09, of GV.PO 01-02, of GV.OV 01-03).
	cm, err := ParseProwlerCompliance(bytes.NewReader(sample(t, "prowler/compliance/nist_csf_2.0_aws.json")))
	if err != nil {
		t.Fatal(err)
	}
	if cm.Family != fw.Family {
		t.Fatalf("Prowler family %q, library %q", cm.Family, fw.Family)
	}
	withdrawn := map[string]bool{}
	for _, k := range strings.Fields(`gv.po-03 gv.po-04 gv.po-05 gv.ov-04 id.am-06 id.be-05 id.sc-04
		pr.ac-01 pr.ac-03 pr.ac-04 pr.ac-05 pr.ac-06 pr.ac-07 pr.ds-03 pr.ds-04 pr.ds-05 pr.ds-06 pr.ds-07 pr.ds-08
		pr.ip-01 pr.ip-02 pr.ip-03 pr.ip-04 pr.ip-07 pr.ip-08 pr.ip-09 pr.ip-12 pr.ma-02
		pr.pt-01 pr.pt-03 pr.pt-04 pr.pt-05 de.ae-01 de.ae-05 de.cm-04 de.cm-05 de.cm-07 de.dp-04 de.dp-05
		rs.an-02 rs.mi-03 rs.rp-01`) {
		withdrawn[k] = true
	}
	var missing []string
	for _, r := range cm.Requirements {
		if !keys[r.Key] {
			missing = append(missing, r.Key)
			if !withdrawn[r.Key] {
				t.Errorf("Prowler %s (%s) has key %q, not in the CSF 2.0 library", r.RefID, r.Name, r.Key)
			}
		}
	}
	if len(missing) != len(withdrawn) {
		t.Errorf("%d Prowler requirements not in the library, %d expected", len(missing), len(withdrawn))
	}
	t.Logf("%d of %d Prowler requirements not in the library (CSF 1.1 subcategories): %v", len(missing), len(cm.Requirements), missing)
}

func TestParseLibraryDepthFromParents(t *testing.T) {
	lib, err := ParseLibrary(strings.NewReader(`
urn: urn:test:library:x
objects:
  framework:
    urn: urn:test:framework:x
    ref_id: NIST-CSF-2.0
    requirement_nodes:
    - {urn: "urn:x:gv", ref_id: GV}
    - {urn: "urn:x:gv.oc", parent_urn: "urn:x:gv", ref_id: GV.OC}
    - {urn: "urn:x:gv.oc-01", parent_urn: "urn:x:gv.oc", ref_id: GV.OC-1, assessable: true}
    - {urn: "urn:x:note", parent_urn: "urn:x:gv.oc"}
    - {urn: "urn:x:orphan", parent_urn: "urn:x:elsewhere"}
`))
	if err != nil {
		t.Fatal(err)
	}
	var got []int
	var keys []string
	for _, n := range lib.Frameworks[0].Nodes {
		got = append(got, n.Depth)
		keys = append(keys, n.Key)
	}
	if want := []int{1, 2, 3, 3, 1}; !equal(got, want) {
		t.Errorf("depths %v, want %v", got, want)
	}
	if want := []string{"gv", "gv.oc", "gv.oc-01", "", ""}; !equal(keys, want) {
		t.Errorf("keys %q, want %q", keys, want)
	}

	_, err = ParseLibrary(strings.NewReader(`
objects:
  framework:
    urn: urn:test:framework:x
    requirement_nodes:
    - {urn: a, parent_urn: b}
    - {urn: b, parent_urn: a}
`))
	if err == nil || !strings.Contains(err.Error(), "parent cycle") {
		t.Errorf("a parent cycle: %v", err)
	}
}

func equal[T comparable](a, b []T) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestParseLibraryErrors(t *testing.T) {
	// A billion-laughs document: nine levels of ten aliases, 10^9 leaves
	// if expanded, placed where the reader decodes a list.
	var bomb strings.Builder
	bomb.WriteString("a0: &a0 {urn: lol, ref_id: lol}\n")
	for i := 1; i <= 9; i++ {
		fmt.Fprintf(&bomb, "a%d: &a%d [%s]\n", i, i, strings.TrimSuffix(strings.Repeat(fmt.Sprintf("*a%d,", i-1), 10), ","))
	}
	bomb.WriteString("objects:\n  framework:\n    urn: x\n    requirement_nodes: *a9\n")
	start := time.Now()
	if _, err := ParseLibrary(strings.NewReader(bomb.String())); err == nil {
		t.Error("alias bomb: no error")
	}
	// The reader's types stop the expansion at the first wrong shape; the
	// decoder itself refuses to expand it into a generic value.
	var v any
	if err := yaml.Unmarshal([]byte(bomb.String()), &v); err == nil || !strings.Contains(err.Error(), "excessive aliasing") {
		t.Errorf("alias bomb into any: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("alias bomb took %v", d)
	}

	for name, tc := range map[string]struct{ in, want string }{
		"prowler JSON": {string(sample(t, prowlerSamples[0])), "not a framework library: no objects"},
		"empty":        {"", "not a framework library: empty input"},
		"not YAML":     {"\x00\x01{{{[", "not a framework library"},
		"a list":       {"- a\n- b\n", "not a framework library"},
		"no objects":   {"urn: urn:x\nname: x\n", "not a framework library: no objects"},
		"node no urn": {"objects:\n  framework:\n    urn: f\n    requirement_nodes:\n    - ref_id: A\n",
			"requirement node 1 has no urn"},
		"duplicate node": {"objects:\n  framework:\n    urn: f\n    requirement_nodes:\n    - urn: a\n    - urn: a\n",
			"appears twice"},
		"mapping no target": {"objects:\n  requirement_mapping_sets:\n  - urn: m\n    source_framework_urn: a\n" +
			"    target_framework_urn: b\n    requirement_mappings:\n    - source_requirement_urn: x\n", "no source or target requirement"},
	} {
		_, err := ParseLibrary(strings.NewReader(tc.in))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", name, err, tc.want)
		}
	}
}
