package ingest

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"

	"github.com/offloadsecurity/cspm/internal/ocsf"
)

var update = flag.Bool("update", false, "rewrite testdata/golden")

// golden is what a parser read from one sample.
type golden struct {
	Format       string         `json:"format"`
	Items        int            `json:"items"`
	BySeverity   map[string]int `json:"by_severity"`
	ByResult     map[string]int `json:"by_result"`
	ByClass      map[int]int    `json:"by_class"`
	VulnIDs      []string       `json:"vuln_ids,omitempty"`
	Fingerprints []string       `json:"fingerprints"`
	First        summary        `json:"first"`
}

type summary struct {
	CheckID, Title, Target, Location, AccountUID, Region, Service, ResourceUID, Component, Version string
}

// expected item counts per the counting rules in docs/findings.md, checked
// by hand against each sample.
var expectedItems = map[string]int{
	"prowler/example_output_aws.ocsf.json":      5,
	"prowler/example_output_aws.csv":            4,
	"prowler/dojo_example_output_gcp.ocsf.json": 3,
	"trivy/scheme_2_many_vulns.json":            5,
	"trivy/misconfigurations_and_secrets.json":  5,
	"trivy/kubernetes_subset.json":              13, // 3 + 4 vulnerabilities, 1 + 5 misconfigurations; the Services had none
	"trivy/legacy_trivy_mix.json":               7,  // 1 + 1 + 5; one composer entry names only its package
	"grype/check_all_fields.json":               6,
	"nmap/nmap_multiple_port.xml":               13,
	"nmap/nmap_script_vulners.xml":              3, // one open port, two CVEs
	"zap/dvwa_baseline_dojo.xml":                19,
	"nuclei/multiple_v3.json":                   6,
	"wapiti/example.xml":                        5,
	"wapiti/wapiti3_json_local.json":            5, // CSP not set; four missing secure headers
	"sarif/appendix_k2.sarif":                   1,
	"sarif/bash-report.sarif":                   27,
	// One per ASFF finding. Prowler 3.3 gave three findings (a PASS and a
	// FAIL of one IAM user) the same Id each: 728 fingerprints.
	"asff/prowler-output.asff.json":              731,
	"asff/securityhub_config_many_findings.json": 3, // three FSBP controls, all PASSED
	"asff/securityhub_inspector_ec2_cve.json":    5, // five Inspector findings of CVE-2022-3643, each its own Id
	"prowler/prowler3_one_vuln.json":             1, // one FAIL
	"osv/some_findings.json":                     1, // one package of one lockfile, one vulnerability (MAL-2023-1035, alias GHSA-8348-2q94-ffjx)
	// Three failed checks (its summary says 2), no passed or skipped ones.
	"checkov/checkov-report-many-vuln.json": 3,
}

func samplePaths(t testing.TB) []string {
	var out []string
	err := filepath.WalkDir("testdata/samples", func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			out = append(out, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

func TestGoldenSamples(t *testing.T) {
	paths := samplePaths(t)
	if len(paths) != len(expectedItems) {
		t.Fatalf("%d samples, %d expectations", len(paths), len(expectedItems))
	}
	for _, p := range paths {
		rel := strings.TrimPrefix(p, "testdata/samples/")
		t.Run(rel, func(t *testing.T) {
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			g := golden{BySeverity: map[string]int{}, ByResult: map[string]int{}, ByClass: map[int]int{}}
			vulns := map[string]bool{}
			format, err := Parse(bytes.NewReader(data), "", func(f *Finding) error {
				if g.Items == 0 {
					g.First = summary{f.CheckID, f.Title, f.Target, f.Location, f.AccountUID, f.Region, f.Service, f.ResourceUID, f.Component, f.Version}
				}
				g.Items++
				g.BySeverity[f.Severity.Key()]++
				g.ByResult[string(f.Result)]++
				g.ByClass[f.ClassUID]++
				for _, v := range f.VulnIDs {
					vulns[v] = true
				}
				g.Fingerprints = append(g.Fingerprints, f.Fingerprint)
				if len(f.Fingerprint) != 40 || f.Tool == "" || f.CheckID == "" || f.Result == "" {
					t.Errorf("incomplete finding %+v", f)
				}
				var o ocsf.Finding
				if err := json.Unmarshal(f.Raw, &o); err != nil || o.ClassUID != f.ClassUID {
					t.Errorf("raw OCSF of %s: class %d, %v", f.CheckID, o.ClassUID, err)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			g.Format = format
			for v := range vulns {
				g.VulnIDs = append(g.VulnIDs, v)
			}
			sort.Strings(g.VulnIDs)
			if g.Items != expectedItems[rel] {
				t.Errorf("%d items, want %d", g.Items, expectedItems[rel])
			}
			// The same input gives the same fingerprints in the same order.
			var again []string
			_, _ = Parse(bytes.NewReader(data), format, func(f *Finding) error { again = append(again, f.Fingerprint); return nil })
			if strings.Join(again, ",") != strings.Join(g.Fingerprints, ",") {
				t.Error("fingerprints differ between two parses of one file")
			}
			got, _ := json.MarshalIndent(g, "", "  ")
			got = append(got, '\n')
			gp := filepath.Join("testdata/golden", strings.ReplaceAll(rel, "/", "__")+".json")
			if *update {
				_ = os.MkdirAll("testdata/golden", 0o755)
				if err := os.WriteFile(gp, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(gp)
			if err != nil {
				t.Fatalf("%v (run go test ./internal/ingest -update and review the diff)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("differs from %s:\n%s", gp, got)
			}
		})
	}
}

func TestFormatDetectionAndForcing(t *testing.T) {
	want := map[string]string{
		"prowler/example_output_aws.ocsf.json": "prowler-ocsf", "prowler/example_output_aws.csv": "prowler-csv",
		"prowler/dojo_example_output_gcp.ocsf.json": "prowler-ocsf", "trivy/scheme_2_many_vulns.json": "trivy",
		"trivy/misconfigurations_and_secrets.json": "trivy", "grype/check_all_fields.json": "grype",
		"nmap/nmap_multiple_port.xml": "nmap", "nmap/nmap_script_vulners.xml": "nmap", "zap/dvwa_baseline_dojo.xml": "zap",
		"nuclei/multiple_v3.json": "nuclei", "wapiti/example.xml": "wapiti", "sarif/appendix_k2.sarif": "sarif",
		"sarif/bash-report.sarif": "sarif", "asff/prowler-output.asff.json": "asff",
		"asff/securityhub_config_many_findings.json": "asff", "asff/securityhub_inspector_ec2_cve.json": "asff",
		"prowler/prowler3_one_vuln.json": "prowler-json", "osv/some_findings.json": "osv",
		"checkov/checkov-report-many-vuln.json": "checkov",
	}
	for rel, format := range want {
		data, _ := os.ReadFile("testdata/samples/" + rel)
		if got, err := Detect(data[:min(len(data), 16*1024)]); got != format || err != nil {
			t.Errorf("%s detected as %q (%v), want %s", rel, got, err, format)
		}
	}
	// Forcing the wrong format is a clear error, not a silent empty import.
	data, _ := os.ReadFile("testdata/samples/trivy/scheme_2_many_vulns.json")
	if _, err := Parse(bytes.NewReader(data), "nmap", func(*Finding) error { return nil }); err == nil {
		t.Error("a Trivy report parsed as Nmap")
	}
	if _, err := Parse(strings.NewReader("hello world"), "", nil); !errors.Is(err, ErrUnknownFormat) {
		t.Errorf("plain text: %v", err)
	}
	if _, err := Parse(strings.NewReader("{}"), "bogus", nil); !errors.Is(err, ErrUnknownFormat) {
		t.Errorf("unknown forced format: %v", err)
	}
}

// Truncated and malformed reports fail with the place, whatever the format.
func TestTruncatedAndMalformed(t *testing.T) {
	for _, rel := range []string{
		"prowler/example_output_aws.ocsf.json", "prowler/example_output_aws.csv", "trivy/scheme_2_many_vulns.json",
		"grype/check_all_fields.json", "nmap/nmap_multiple_port.xml", "zap/dvwa_baseline_dojo.xml",
		"nuclei/multiple_v3.json", "wapiti/example.xml", "sarif/bash-report.sarif", "asff/securityhub_inspector_ec2_cve.json",
		"prowler/prowler3_one_vuln.json", "osv/some_findings.json", "checkov/checkov-report-many-vuln.json",
	} {
		data, _ := os.ReadFile("testdata/samples/" + rel)
		format, _ := Detect(data)
		cut := data[:len(data)*2/3]
		_, err := Parse(bytes.NewReader(cut), format, func(*Finding) error { return nil })
		var pe *ParseError
		if !errors.As(err, &pe) {
			t.Errorf("%s cut at 2/3: %v, want a ParseError", rel, err)
			continue
		}
		if !strings.Contains(pe.Where, "line") && !strings.Contains(pe.Where, "offset") {
			t.Errorf("%s: error does not say where: %v", rel, err)
		}
	}
	_, err := Parse(strings.NewReader(`[{"class_uid":2004,"finding_info":{"uid":"a"}}, {"class_uid": }]`), "prowler-ocsf", func(*Finding) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "offset") {
		t.Errorf("malformed element: %v", err)
	}
	_, err = Parse(strings.NewReader(`[{"class_uid":2004,"finding_info":{"uid":"a"}}] trailing`), "prowler-ocsf", func(*Finding) error { return nil })
	if err == nil {
		t.Error("trailing garbage accepted")
	}
}

// A "billion laughs" document is refused at its first entity, without
// growing memory.
func TestXMLEntityExpansionRefused(t *testing.T) {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">`)
	prev := "lol"
	for i := 1; i <= 9; i++ {
		name := fmt.Sprintf("lol%d", i)
		fmt.Fprintf(&b, `<!ENTITY %s "%s">`, name, strings.Repeat("&"+prev+";", 10))
		prev = name
	}
	b.WriteString(`]>`)
	// Each format's own root element, so that the document has its shape.
	docs := map[string]string{
		"nmap":   `<nmaprun><host><address addr="&lol9;" addrtype="ipv4"/></host></nmaprun>`,
		"zap":    `<OWASPZAPReport><site name="&lol9;"></site></OWASPZAPReport>`,
		"wapiti": `<report type="security"><generatorName>wapiti</generatorName><target>&lol9;</target></report>`,
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for _, format := range []string{"nmap", "zap", "wapiti"} {
		_, err := Parse(strings.NewReader(b.String()+docs[format]), format, func(*Finding) error { return nil })
		if err == nil || !strings.Contains(err.Error(), "entity") {
			t.Errorf("%s: %v, want an entity error", format, err)
		}
	}
	runtime.ReadMemStats(&after)
	if grew := int64(after.TotalAlloc - before.TotalAlloc); grew > 16<<20 {
		t.Errorf("parsing allocated %d bytes", grew)
	}
	// An external entity is not fetched either.
	ext := `<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><OWASPZAPReport><site name="&xxe;"></site></OWASPZAPReport>`
	if _, err := Parse(strings.NewReader(ext), "zap", func(*Finding) error { return nil }); err == nil {
		t.Error("external entity accepted")
	}
}

// Deeply nested JSON is refused by the decoder's depth limit, not by
// running out of memory.
func TestDeeplyNestedJSONRefused(t *testing.T) {
	deep := strings.Repeat(`[`, 200000) + strings.Repeat(`]`, 200000)
	for _, format := range []string{"prowler-ocsf", "trivy", "grype", "nuclei", "sarif", "powerpipe", "asff", "prowler-json", "osv", "checkov"} {
		if _, err := Parse(strings.NewReader(deep), format, func(*Finding) error { return nil }); err == nil {
			t.Errorf("%s accepted 200,000 levels of nesting", format)
		}
	}
}

func TestPowerpipeBenchmark(t *testing.T) {
	doc := `{"group_id":"root","title":"CIS v3.0.0","groups":[{"group_id":"s1","title":"1 IAM","controls":[
	 {"control_id":"cis_v300_1_4","title":"Ensure no root access key exists","severity":"high","results":[
	  {"reason":"Root has no access keys","resource":"arn:aws:iam::111122223333:root","status":"ok","dimensions":[{"key":"account_id","value":"111122223333"},{"key":"region","value":"global"}]},
	  {"reason":"Root has access keys","resource":"arn:aws:iam::444455556666:root","status":"alarm","dimensions":[{"key":"account_id","value":"444455556666"}]}]}]}],
	 "controls":[{"control_id":"x","title":"skipped","results":[{"status":"skip","resource":"r"}]}]}`
	var got []*Finding
	format, err := Parse(strings.NewReader(doc), "", func(f *Finding) error { got = append(got, f); return nil })
	if err != nil || format != "powerpipe" || len(got) != 3 {
		t.Fatalf("format %q, %d findings, %v", format, len(got), err)
	}
	results := map[Result]int{}
	for _, f := range got {
		results[f.Result]++
	}
	if results[ResultPass] != 1 || results[ResultFail] != 1 || results[ResultManual] != 1 || got[2].AccountUID != "444455556666" {
		t.Fatalf("results %v, third %+v", results, got[2])
	}
}

// TestVulnerabilityDetails checks what the vulnerability catalog is fed
// from the real Trivy and Grype samples: the preferred CVSS, CWEs and
// references.
func TestVulnerabilityDetails(t *testing.T) {
	byID := func(path string) map[string]*Finding {
		t.Helper()
		fh, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer fh.Close()
		out := map[string]*Finding{}
		if _, err := Parse(fh, "", func(f *Finding) error { out[f.CheckID] = f; return nil }); err != nil {
			t.Fatal(err)
		}
		return out
	}
	trivy := byID("testdata/samples/trivy/scheme_2_many_vulns.json")["CVE-2020-15999"]
	// SeveritySource is nvd: NVD's v3 score, not Red Hat's higher one.
	if trivy == nil || trivy.CVSS == nil || trivy.CVSS.BaseScore != 6.5 || trivy.CVSS.Version != "3.1" ||
		!strings.HasPrefix(trivy.CVSS.VectorString, "CVSS:3.1/AV:N") || len(trivy.CWEs) != 1 || trivy.CWEs[0] != "CWE-787" ||
		len(trivy.References) < 10 {
		t.Fatalf("trivy CVE-2020-15999: %+v", trivy)
	}
	grype := byID("testdata/samples/grype/check_all_fields.json")["CVE-2004-0971"]
	// The Debian record has no score: the related NVD record's is used.
	if grype == nil || grype.CVSS == nil || grype.CVSS.BaseScore != 2.1 || grype.CVSS.Version != "2.0" || len(grype.References) < 5 {
		t.Fatalf("grype CVE-2004-0971: %+v", grype)
	}
}
