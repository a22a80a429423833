package library

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
)

func TestParseProwlerComplianceSamples(t *testing.T) {
	want := map[string]string{ // file -> family
		"prowler/compliance/cis_3.0_aws.json":                "cis-aws-3.0",
		"prowler/compliance/iso27001_2022_aws.json":          "iso27001-2022",
		"prowler/compliance/nist_800_53_revision_5_aws.json": "nist-800-53",
		"prowler/compliance/nist_csf_2.0_aws.json":           "nist-csf-2.0",
		"prowler/compliance/soc2_aws.json":                   "soc2",
	}
	keyShape := map[string]*regexp.Regexp{
		"cis-aws-3.0":   regexp.MustCompile(`^\d+(\.\d+)+$`),
		"iso27001-2022": regexp.MustCompile(`^a\.\d+\.\d+$`),
		"nist-800-53":   regexp.MustCompile(`^[a-z]{2}-\d+(\((\d+|[a-z])\))*$`),
		"nist-csf-2.0":  regexp.MustCompile(`^[a-z]{2}\.[a-z]{2}-\d{2}$`),
		"soc2":          regexp.MustCompile(`^(cc|a|c|pi|p)\d+\.\d+$`),
	}
	for _, rel := range prowlerSamples {
		data := sample(t, rel)
		cm, err := ParseProwlerCompliance(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("%s: %v", rel, err)
		}
		// The second reading: generic JSON.
		var raw struct {
			Requirements []map[string]any
		}
		if err := json.Unmarshal(data, &raw); err != nil {
			t.Fatal(err)
		}
		checks, manual := map[string]bool{}, 0
		for _, r := range raw.Requirements {
			cs, _ := r["Checks"].([]any)
			if len(cs) == 0 {
				manual++
			}
			for _, c := range cs {
				checks[c.(string)] = true
			}
		}
		if cm.Tool != "prowler" || cm.Family != want[rel] || cm.Provider != "AWS" || cm.Name == "" ||
			len(cm.Requirements) != len(raw.Requirements) || cm.TotalChecks != len(checks) || cm.Unassessable != manual {
			t.Errorf("%s: tool %q family %q (want %q) provider %q, %d requirements (file %d), %d checks (file %d), %d manual (file %d)",
				rel, cm.Tool, cm.Family, want[rel], cm.Provider, len(cm.Requirements), len(raw.Requirements),
				cm.TotalChecks, len(checks), cm.Unassessable, manual)
		}
		seen := map[string]int{}
		for i, r := range cm.Requirements {
			if r.RefID != raw.Requirements[i]["Id"] || !keyShape[cm.Family].MatchString(r.Key) || r.Section == "" {
				t.Errorf("%s: requirement %q key %q section %q", rel, r.RefID, r.Key, r.Section)
			}
			seen[r.Key]++
		}
		var dups []string
		for k, n := range seen {
			if n > 1 {
				dups = append(dups, k)
			}
		}
		t.Logf("%s: family %s, %d requirements, %d distinct checks, %d without checks, keys repeated: %v",
			rel, cm.Family, len(cm.Requirements), cm.TotalChecks, cm.Unassessable, dups)
	}
}

// Prowler's NIST 800-53 map and the SCF workbook's rev5 crosswalk are one
// family, and name many of the same controls.
func TestProwlerAndSCFNIST80053Overlap(t *testing.T) {
	cm, err := ParseProwlerCompliance(bytes.NewReader(sample(t, "prowler/compliance/nist_800_53_revision_5_aws.json")))
	if err != nil {
		t.Fatal(err)
	}
	wb, err := ParseSCFWorkbook(bytes.NewReader(sample(t, scfWorkbookSample)))
	if err != nil {
		t.Fatal(err)
	}
	var cw *Crosswalk
	for i := range wb.Crosswalks {
		if wb.Crosswalks[i].Family == cm.Family {
			cw = &wb.Crosswalks[i]
		}
	}
	if cw == nil {
		t.Fatalf("no crosswalk of family %q", cm.Family)
	}
	scf := map[string]bool{}
	for _, e := range cw.Entries {
		scf[e.TargetKey] = true
	}
	prowler := map[string]bool{}
	var overlap int
	for _, r := range cm.Requirements {
		if !prowler[r.Key] {
			prowler[r.Key] = true
			if scf[r.Key] {
				overlap++
			}
		}
	}
	// Prowler also maps statement parts ("ac-2(3)(a)") that the SCF maps
	// at the control or enhancement: count those by their control.
	var byParent int
	for k := range prowler {
		if i := strings.Index(k, "("); i > 0 && !scf[k] {
			for p := k; strings.Contains(p, "("); {
				p = p[:strings.LastIndex(p, "(")]
				if scf[p] {
					byParent++
					break
				}
			}
		}
	}
	t.Logf("column %q, family %s: %d of Prowler's %d keys are SCF crosswalk keys, %d more by their parent control; the crosswalk has %d keys",
		cw.Column, cw.Family, overlap, len(prowler), byParent, len(scf))
	if overlap == 0 || overlap < len(prowler)/3 {
		t.Errorf("overlap %d of %d", overlap, len(prowler))
	}
}

func TestParseProwlerComplianceErrors(t *testing.T) {
	for name, tc := range map[string]struct{ in, want string }{
		"library YAML":   {string(sample(t, csfSCFMapSample))[:2000], "not a Prowler compliance file (JSON)"},
		"empty":          {"", "not a Prowler compliance file: empty input"},
		"other JSON":     {`{"results": []}`, "no Framework or Requirements"},
		"trailing":       {`{"Framework": "SOC2", "Requirements": []} {}`, "more data"},
		"requirement id": {`{"Framework": "SOC2", "Requirements": [{"Checks": ["a"]}]}`, "requirement 1 has no Id"},
		"wrong type":     {`{"Framework": "SOC2", "Requirements": {"Id": "x"}}`, "not a Prowler compliance file (JSON)"},
	} {
		_, err := ParseProwlerCompliance(strings.NewReader(tc.in))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", name, err, tc.want)
		}
	}
}
