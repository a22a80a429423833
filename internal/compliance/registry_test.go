package compliance

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"
	"go.yaml.in/yaml/v3"

	"github.com/offloadsecurity/cspm/internal/audit"
	"github.com/offloadsecurity/cspm/internal/compliance/library"
	"github.com/offloadsecurity/cspm/internal/db"
	"github.com/offloadsecurity/cspm/internal/db/dbtest"
)

// samplesDir holds the shared real samples, read in place (the SCF
// workbook's licence is CC BY-ND).
const samplesDir = "../../../shared/samples"

// sampleFiles lists every file of the three content folders, in the order
// their dependencies need: SCF workbook, libraries (frameworks before the
// mapping sets that need them), Prowler maps.
func sampleFiles(t testing.TB) []string {
	t.Helper()
	var out []string
	for _, dir := range []string{"scf", "frameworks", "prowler/compliance"} {
		entries, err := os.ReadDir(filepath.Join(samplesDir, dir))
		if err != nil {
			t.Fatalf("shared samples: %v", err)
		}
		var maps []string
		for _, e := range entries {
			p := filepath.Join(samplesDir, dir, e.Name())
			if strings.HasPrefix(e.Name(), "mapping-") {
				maps = append(maps, p)
				continue
			}
			out = append(out, p)
		}
		out = append(out, maps...)
	}
	return out
}

func readSample(t testing.TB, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var testActor = audit.Event{ActorEmail: "test@example.com"}

// expected computes what a file should load, from the file itself.
func expected(t *testing.T, data []byte) []ImportItem {
	t.Helper()
	switch {
	case bytes.HasPrefix(data, zipMagic):
		wb, err := library.ParseSCFWorkbook(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		n, a, d := frameworkCounts(&wb.Framework)
		m := 0
		for _, c := range wb.Crosswalks {
			m += len(c.Entries)
		}
		return []ImportItem{{Kind: KindSCF, URN: wb.Framework.URN, Nodes: n, Assessable: a, Domains: d, Mappings: m}}
	case bytes.HasPrefix(bytes.TrimSpace(data), []byte("{")):
		cm, err := library.ParseProwlerCompliance(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		m, sections, top := 0, map[string]bool{}, 0
		for _, r := range cm.Requirements {
			m += len(r.Checks)
			if r.Section == "" {
				top++
			} else {
				sections[r.Section] = true
			}
		}
		return []ImportItem{{Kind: KindCheckMap, Nodes: len(cm.Requirements) + len(sections), Assessable: len(cm.Requirements),
			Domains: top + len(sections), Mappings: m, Checks: cm.TotalChecks}}
	default:
		lib, err := library.ParseLibrary(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		var out []ImportItem
		for i := range lib.Frameworks {
			n, a, d := frameworkCounts(&lib.Frameworks[i])
			out = append(out, ImportItem{Kind: KindFramework, URN: lib.Frameworks[i].URN, Nodes: n, Assessable: a, Domains: d})
		}
		for _, ms := range lib.MappingSets {
			out = append(out, ImportItem{Kind: KindMappingSet, URN: ms.URN, Mappings: len(ms.Mappings)})
		}
		return out
	}
}

// rawCounts counts a file's objects without the readers, with plain YAML,
// JSON and spreadsheet decoding: nodes, assessable nodes and mappings (or
// check links) per object, in file order.
func rawCounts(t *testing.T, data []byte) [][3]int {
	t.Helper()
	switch {
	case bytes.HasPrefix(data, zipMagic):
		f, err := excelize.OpenReader(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		for _, sheet := range f.GetSheetList() {
			if !strings.HasPrefix(sheet, "SCF 20") {
				continue
			}
			rows, err := f.GetRows(sheet)
			if err != nil {
				t.Fatal(err)
			}
			col, controls := -1, 0
			for _, r := range rows {
				if col < 0 {
					for i, c := range r {
						if strings.TrimSpace(c) == "SCF #" {
							col = i
						}
					}
					continue
				}
				if col < len(r) && strings.TrimSpace(r[col]) != "" {
					controls++
				}
			}
			return [][3]int{{-1, controls, -1}}
		}
		t.Fatal("no SCF sheet")
	case bytes.HasPrefix(bytes.TrimSpace(data), []byte("{")):
		var f struct {
			Requirements []struct{ Checks []string }
		}
		if err := json.Unmarshal(data, &f); err != nil {
			t.Fatal(err)
		}
		links := 0
		for _, r := range f.Requirements {
			links += len(r.Checks)
		}
		return [][3]int{{-1, len(f.Requirements), links}}
	}
	var lib struct {
		Objects struct {
			Framework struct {
				Nodes []struct {
					Assessable bool `yaml:"assessable"`
				} `yaml:"requirement_nodes"`
			} `yaml:"framework"`
			MappingSets []struct {
				Mappings []struct{} `yaml:"requirement_mappings"`
			} `yaml:"requirement_mapping_sets"`
		} `yaml:"objects"`
	}
	if err := yaml.Unmarshal(data, &lib); err != nil {
		t.Fatal(err)
	}
	var out [][3]int
	if n := len(lib.Objects.Framework.Nodes); n > 0 {
		a := 0
		for _, nd := range lib.Objects.Framework.Nodes {
			if nd.Assessable {
				a++
			}
		}
		out = append(out, [3]int{n, a, 0})
	}
	for _, ms := range lib.Objects.MappingSets {
		out = append(out, [3]int{0, 0, len(ms.Mappings)})
	}
	return out
}

func count(t *testing.T, s *Service, query string, args ...any) int {
	t.Helper()
	var n int
	if err := s.d.QueryRowContext(context.Background(), query, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestImportEverySample(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, reg *db.Registry) {
		ctx := context.Background()
		s := New(reg, Options{})
		files := sampleFiles(t)
		if len(files) < 9 {
			t.Fatalf("expected the 9 shared samples, found %d", len(files))
		}
		for _, f := range files {
			data := readSample(t, f)
			want := expected(t, data)
			raw := rawCounts(t, data)
			res, err := s.ImportFile(ctx, bytes.NewReader(data), testActor)
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			if len(res.Items) != len(want) {
				t.Fatalf("%s: %d items, want %d", f, len(res.Items), len(want))
			}
			if len(raw) != len(res.Items) {
				t.Fatalf("%s: %d objects in the file, %d imported", f, len(raw), len(res.Items))
			}
			for i, got := range res.Items {
				// Independently of the readers: nodes, assessable nodes and
				// mappings where the file states them (-1: not comparable).
				if r := raw[i]; (r[0] >= 0 && r[0] != got.Nodes) || (r[1] >= 0 && r[1] != got.Assessable) || (r[2] >= 0 && r[2] != got.Mappings) {
					t.Errorf("%s: raw counts %v, imported %d nodes, %d assessable, %d mappings", f, r, got.Nodes, got.Assessable, got.Mappings)
				}
				w := want[i]
				if got.Kind != w.Kind || got.Outcome != "created" || got.Nodes != w.Nodes || got.Assessable != w.Assessable ||
					got.Domains != w.Domains || got.Mappings != w.Mappings || got.Checks != w.Checks {
					t.Errorf("%s: got %+v\nwant %+v", f, got, w)
				}
				if got.Nodes > 0 {
					if n := count(t, s, `SELECT COUNT(*) FROM compliance_nodes WHERE framework_id = $1`, got.ID); n != w.Nodes {
						t.Errorf("%s: %d stored nodes, want %d", f, n, w.Nodes)
					}
				}
				switch got.Kind {
				case KindMappingSet:
					if n := count(t, s, `SELECT COUNT(*) FROM compliance_mappings WHERE set_id = $1`, got.ID); n != w.Mappings {
						t.Errorf("%s: %d stored mappings, want %d", f, n, w.Mappings)
					}
				case KindCheckMap:
					if n := count(t, s, `SELECT COUNT(*) FROM compliance_check_map_entries e JOIN compliance_check_maps m ON m.id = e.map_id
						WHERE m.framework_id = $1`, got.ID); n != w.Mappings {
						t.Errorf("%s: %d stored check entries, want %d", f, n, w.Mappings)
					}
				case KindSCF:
					if got.Crosswalks == 0 || got.Sheet == "" {
						t.Errorf("%s: no crosswalks or sheet: %+v", f, got)
					}
				}
			}
		}
		// Every route of linking is used by the samples: crosswalks (SCF
		// 2022 workbook <- Prowler NIST 800-53), mapping sets (NIST CSF 2.0
		// <-> SCF 2025.2.2) and the projection of framework requirements.
		if n := count(t, s, `SELECT COUNT(*) FROM compliance_check_links WHERE via LIKE '%crosswalk%'`); n == 0 {
			t.Error("no check reaches an SCF control through a crosswalk")
		}
		if n := count(t, s, `SELECT COUNT(*) FROM compliance_check_links WHERE via LIKE 'mapping set%'`); n == 0 {
			t.Error("no check reaches an SCF control through a mapping set")
		}
		if n := count(t, s, `SELECT COUNT(*) FROM compliance_node_links`); n == 0 {
			t.Error("no framework requirement maps to an SCF control")
		}
		before := count(t, s, `SELECT version FROM compliance_content_state`)
		links := count(t, s, `SELECT COUNT(*) FROM compliance_check_links`)

		// Importing everything again changes nothing.
		for _, f := range files {
			res, err := s.ImportFile(ctx, bytes.NewReader(readSample(t, f)), testActor)
			if err != nil {
				t.Fatalf("re-import %s: %v", f, err)
			}
			for _, it := range res.Items {
				if it.Outcome != "unchanged" {
					t.Errorf("re-import %s: %s %s is %s", f, it.Kind, it.URN, it.Outcome)
				}
			}
		}
		if after := count(t, s, `SELECT version FROM compliance_content_state`); after != before {
			t.Errorf("content version moved from %d to %d on a re-import", before, after)
		}
		if n := count(t, s, `SELECT COUNT(*) FROM compliance_check_links`); n != links {
			t.Errorf("check links %d, want %d", n, links)
		}
	})
}

func TestMappingSetBeforeItsFrameworkIsRefused(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, reg *db.Registry) {
		ctx := context.Background()
		s := New(reg, Options{})
		mapping := readSample(t, filepath.Join(samplesDir, "frameworks/mapping-nist-csf-2.0-and-scf-2025.2.2.yaml"))
		_, err := s.ImportFile(ctx, bytes.NewReader(mapping), testActor)
		if !errors.Is(err, ErrMissingDependency) || !strings.Contains(err.Error(), "urn:intuitem:risk:library:nist-csf-2.0") {
			t.Fatalf("err = %v, want a missing dependency naming the NIST CSF 2.0 library", err)
		}
		// One of the two loaded: the other is named.
		if _, err := s.ImportFile(ctx, bytes.NewReader(readSample(t, filepath.Join(samplesDir, "frameworks/nist-csf-2.0.yaml"))), testActor); err != nil {
			t.Fatal(err)
		}
		_, err = s.ImportFile(ctx, bytes.NewReader(mapping), testActor)
		if !errors.Is(err, ErrMissingDependency) || !strings.Contains(err.Error(), "urn:intuitem:risk:library:scf-2025.2.2") {
			t.Fatalf("err = %v, want a missing dependency naming the SCF 2025.2.2 library", err)
		}
		if n := count(t, s, `SELECT COUNT(*) FROM compliance_mapping_sets`); n != 0 {
			t.Errorf("%d mapping sets stored after a refused import", n)
		}
	})
}

func TestImportRefusesOtherFiles(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, reg *db.Registry) {
		s := New(reg, Options{})
		for _, in := range []string{"", "hello", `{"a":1}`, "PK\x03\x04garbage"} {
			if _, err := s.ImportFile(context.Background(), strings.NewReader(in), testActor); !errors.Is(err, ErrBadContent) {
				t.Errorf("%q: err = %v, want ErrBadContent", in, err)
			}
		}
	})
}
