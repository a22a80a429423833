package ingest

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/offloadsecurity/cspm/internal/ocsf"
)

// Every sample named as any other format is refused: nothing is read as
// another tool's report, not even with zero items.
func TestWrongFormatRefused(t *testing.T) {
	for _, p := range samplePaths(t) {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		own, err := Detect(data)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		for _, format := range FormatNames() {
			if format == own {
				continue
			}
			items := 0
			_, err := Parse(bytes.NewReader(data), format, func(*Finding) error { items++; return nil })
			if err == nil {
				t.Errorf("%s named %s: accepted with %d items", p, format, items)
				continue
			}
			var we *WrongFormatError
			if errors.As(err, &we) && (we.LooksLike != own || !strings.Contains(err.Error(), "--format "+format+" expects")) {
				t.Errorf("%s named %s: %v", p, format, err)
			}
		}
	}
}

// A report that Detect cannot place but is another tool's still fails in
// the parser: each parser checks the shape it reads.
func TestParsersCheckTheirShape(t *testing.T) {
	for _, format := range FormatNames() {
		for _, doc := range []string{`{"unrelated": [1, 2]}`, `[{"unrelated": true}]`, "<unrelated/>", "a;b;c\n1;2;3\n"} {
			items := 0
			_, err := Parse(strings.NewReader(doc), format, func(*Finding) error { items++; return nil })
			if err == nil {
				t.Errorf("%s accepted %q with %d items", format, doc, items)
			}
		}
	}
}

func TestEmptyReports(t *testing.T) {
	parse := func(doc, format, name string) (Report, int, error) {
		items := 0
		rep, err := ParseReport(strings.NewReader(doc), format, name, func(*Finding) error { items++; return nil })
		return rep, items, err
	}
	for _, c := range []struct{ doc, format, name string }{
		{"", "nuclei", ""}, {"\n", "", "scan.jsonl"}, {"", "", "prowler-output.ocsf.json"}, {"", "", "results.sarif"},
		{"[]", "prowler-ocsf", ""}, {"[]", "nuclei", ""}, {`{"version":"2.1.0","runs":[]}`, "", ""},
		{`{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"x"}},"results":[]}]}`, "sarif", ""},
		{`{"SchemaVersion":2,"ArtifactName":"shop:1.0","ArtifactType":"container_image"}`, "", ""},
		{`{"matches":[],"source":{"target":"shop:1.0"}}`, "grype", ""},
		{`{"Findings":[]}`, "", ""}, {`{"Findings":[],"NextToken":null}`, "asff", ""}, {"[]", "asff", ""}, {"", "", "prowler.asff.json"},
		{"[]", "prowler-json", ""}, {"", "prowler-json", ""},
		{`{"results":[]}`, "osv", ""}, {`{"results":[],"experimental_config":{}}`, "osv", ""}, {"", "", "osv-scanner.json"},
		{"[]", "checkov", ""}, {`{"check_type":"terraform","results":{"failed_checks":[],"passed_checks":[],"skipped_checks":[]}}`, "", ""},
		{`{"passed":0,"failed":0,"skipped":0,"parsing_errors":0,"resource_count":0,"checkov_version":"3.2.0"}`, "", ""}, {"", "", "checkov_results.json"},
	} {
		rep, items, err := parse(c.doc, c.format, c.name)
		if err != nil || items != 0 || rep.Format == "" {
			t.Errorf("%q as %q (%s): %+v, %d items, %v", c.doc, c.format, c.name, rep, items, err)
		}
	}
	if _, _, err := parse("", "", "report.json"); !errors.Is(err, ErrEmptyReport) {
		t.Errorf("an empty report of no known format: %v", err)
	}
	// An empty Trivy report still covers what it scanned.
	rep, _, err := parse(`{"SchemaVersion":2,"ArtifactName":"shop:1.0","Results":[]}`, "trivy", "")
	if err != nil || len(rep.Targets) != 1 || rep.Targets[0] != "shop:1.0" {
		t.Errorf("empty Trivy report: %+v, %v", rep, err)
	}
}

func parseAll(t *testing.T, doc, format string) []*Finding {
	t.Helper()
	var out []*Finding
	if _, err := Parse(strings.NewReader(doc), format, func(f *Finding) error { out = append(out, f); return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestSeverityDataTheReportCarries(t *testing.T) {
	// OWASP Dependency-Check's SARIF: the CVE is the rule ID, the score is
	// in the rule's properties, and every result is level "error".
	dc := `{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"dependency-check","rules":[{"id":"CVE-2021-23337",
		"shortDescription":{"text":"lodash command injection"},"properties":{"cvssv3_baseScore":6.1,"cvssv3_vector":"CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N"}}]}},
		"results":[{"ruleId":"CVE-2021-23337","level":"error","message":{"text":"lodash-4.17.20.js"},
		"locations":[{"physicalLocation":{"artifactLocation":{"uri":"package-lock.json"}}}]}]}]}`
	f := parseAll(t, dc, "sarif")
	if len(f) != 1 || f[0].Severity != ocsf.SeverityMedium || len(f[0].VulnIDs) != 1 || f[0].VulnIDs[0] != "CVE-2021-23337" ||
		f[0].CVSS == nil || f[0].CVSS.BaseScore != 6.1 || f[0].ClassUID != ocsf.ClassVulnerabilityFinding {
		t.Errorf("dependency-check SARIF: %+v", f[0])
	}
	// Early Grype: a cvssV2 object and nothing else.
	gr := `{"matches":[{"vulnerability":{"id":"CVE-2005-2541","severity":"Negligible","cvssV2":{"baseScore":10,"vector":"AV:N/AC:L/Au:N/C:C/I:C/A:C"}},
		"artifact":{"name":"tar","version":"1.30","type":"deb"}}],"source":{"target":{"userInput":"debian:10"}}}`
	if f := parseAll(t, gr, "grype"); f[0].CVSS == nil || f[0].CVSS.BaseScore != 10 || f[0].CVSS.Version != "2.0" {
		t.Errorf("grype cvssV2: %+v", f[0].CVSS)
	}
	// Trivy: a not-affected vulnerability says so; the severity of the
	// SeveritySource vendor when Trivy gives none.
	tr := `{"SchemaVersion":2,"ArtifactName":"img","Results":[{"Target":"img (debian 12)","Type":"debian","Vulnerabilities":[
		{"VulnerabilityID":"CVE-2024-1","PkgName":"a","InstalledVersion":"1","Status":"not_affected","Severity":"HIGH"},
		{"VulnerabilityID":"CVE-2024-2","PkgName":"b","InstalledVersion":"1","Status":"affected","SeveritySource":"debian","VendorSeverity":{"debian":4},
		 "CVSS":{"nvd":{"V40Score":8.7,"V40Vector":"CVSS:4.0/AV:N","V3Score":7.5}}}]}]}`
	f = parseAll(t, tr, "trivy")
	if f[0].VendorStatus != "not_affected" || f[1].VendorStatus != "" || f[1].Severity != ocsf.SeverityCritical ||
		f[1].CVSS == nil || f[1].CVSS.Version != "4.0" {
		t.Errorf("trivy status and severity: %q %q %v %+v", f[0].VendorStatus, f[1].VendorStatus, f[1].Severity, f[1].CVSS)
	}
	// Wapiti 3.0.3 and older: 1 is high, 3 is low.
	for version, want := range map[string]ocsf.Severity{"Wapiti 3.0.3": ocsf.SeverityHigh, "Wapiti 2.3.0": ocsf.SeverityHigh,
		"Wapiti 3.0.4": ocsf.SeverityLow, "Wapiti 3.1.8": ocsf.SeverityLow, "": ocsf.SeverityLow} {
		doc := `{"vulnerabilities":{"SQL Injection":[{"method":"GET","path":"/a","level":1,"parameter":"id","info":"x"}]},
			"infos":{"target":"http://t/","version":"` + version + `"}}`
		if f := parseAll(t, doc, "wapiti"); f[0].Severity != want {
			t.Errorf("%q level 1: %v, want %v", version, f[0].Severity, want)
		}
	}
}
