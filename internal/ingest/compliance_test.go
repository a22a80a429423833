package ingest

import (
	"bytes"
	"encoding/json"
	"os"
	"testing"
)

// Prowler's compliance mapping is not decoded at import (it was 16% of
// parsing a report) but stays in each finding's raw OCSF, from OCSF input
// as Prowler wrote it and from CSV input as unmapped.compliance.
func TestProwlerComplianceKeptInRaw(t *testing.T) {
	for rel, want := range map[string]int{
		"prowler/example_output_aws.ocsf.json":      5,
		"prowler/dojo_example_output_gcp.ocsf.json": 3,
		"prowler/example_output_aws.csv":            4,
		"prowler/prowler3_one_vuln.json":            1,
		// Prowler's ASFF: the findings whose RelatedRequirements name any.
		"asff/prowler-output.asff.json": 378,
	} {
		data, err := os.ReadFile("testdata/samples/" + rel)
		if err != nil {
			t.Fatal(err)
		}
		got := 0
		if _, err := Parse(bytes.NewReader(data), "", func(f *Finding) error {
			var doc struct {
				Unmapped struct {
					Compliance map[string][]string `json:"compliance"`
				} `json:"unmapped"`
			}
			if err := json.Unmarshal(f.Raw, &doc); err != nil {
				return err
			}
			if len(doc.Unmapped.Compliance) > 0 {
				got++
			}
			return nil
		}); err != nil {
			t.Fatalf("%s: %v", rel, err)
		}
		if got != want {
			t.Errorf("%s: %d findings keep their compliance mapping in raw OCSF, want %d", rel, got, want)
		}
	}
}
