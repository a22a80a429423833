package ingest

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// fuzzFormat checks that a parser never panics, never emits a finding
// without identity, and fails only with a ParseError, whatever the input.
func fuzzFormat(f *testing.F, format string, seeds ...string) {
	for _, s := range seeds {
		data, err := os.ReadFile(filepath.Join("testdata/samples", s))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		_, err := Parse(bytes.NewReader(data), format, func(fd *Finding) error {
			if fd.Fingerprint == "" || fd.Tool == "" || len(fd.Raw) == 0 {
				t.Fatalf("finding without identity: %+v", fd)
			}
			return nil
		})
		var (
			pe *ParseError
			we *WrongFormatError
		)
		if err != nil && !errors.As(err, &pe) && !errors.As(err, &we) {
			t.Fatalf("error is not a ParseError: %v", err)
		}
	})
}

func FuzzProwlerOCSF(f *testing.F) {
	fuzzFormat(f, "prowler-ocsf", "prowler/example_output_aws.ocsf.json", "prowler/dojo_example_output_gcp.ocsf.json")
}
func FuzzProwlerCSV(f *testing.F) { fuzzFormat(f, "prowler-csv", "prowler/example_output_aws.csv") }
func FuzzTrivy(f *testing.F) {
	fuzzFormat(f, "trivy", "trivy/scheme_2_many_vulns.json", "trivy/misconfigurations_and_secrets.json")
}
func FuzzGrype(f *testing.F) { fuzzFormat(f, "grype", "grype/check_all_fields.json") }
func FuzzNmap(f *testing.F) {
	fuzzFormat(f, "nmap", "nmap/nmap_multiple_port.xml", "nmap/nmap_script_vulners.xml")
}
func FuzzZAP(f *testing.F)    { fuzzFormat(f, "zap", "zap/dvwa_baseline_dojo.xml") }
func FuzzNuclei(f *testing.F) { fuzzFormat(f, "nuclei", "nuclei/multiple_v3.json") }
func FuzzWapiti(f *testing.F) { fuzzFormat(f, "wapiti", "wapiti/example.xml") }
func FuzzSARIF(f *testing.F) {
	fuzzFormat(f, "sarif", "sarif/appendix_k2.sarif", "sarif/bash-report.sarif")
}
func FuzzASFF(f *testing.F) {
	fuzzFormat(f, "asff", "asff/securityhub_config_many_findings.json", "asff/securityhub_inspector_ec2_cve.json")
}
func FuzzProwlerJSON(f *testing.F) { fuzzFormat(f, "prowler-json", "prowler/prowler3_one_vuln.json") }
func FuzzCheckov(f *testing.F)     { fuzzFormat(f, "checkov", "checkov/checkov-report-many-vuln.json") }
func FuzzOSV(f *testing.F)         { fuzzFormat(f, "osv", "osv/some_findings.json") }
func FuzzPowerpipe(f *testing.F)   { fuzzFormat(f, "powerpipe", "sarif/appendix_k2.sarif") }

// FuzzDetect: any input is either detected or refused, never a panic.
func FuzzDetect(f *testing.F) {
	for _, p := range []string{"nmap/nmap_script_vulners.xml", "nuclei/multiple_v3.json", "prowler/example_output_aws.csv"} {
		data, _ := os.ReadFile(filepath.Join("testdata/samples", p))
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = Parse(bytes.NewReader(data), "", func(*Finding) error { return nil })
	})
}
