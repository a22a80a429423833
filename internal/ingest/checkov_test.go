package ingest

import (
	"strings"
	"testing"

	"github.com/offloadsecurity/cspm/internal/ocsf"
)

func TestCheckovChecksSkipsAndScope(t *testing.T) {
	check := func(id, result, extra string) string {
		return `{"check_id":"` + id + `","check_name":"n ` + id + `","check_result":{"result":"` + result + `"` + extra + `},
			"code_block":[[1,"resource {"]],"file_path":"/s3.tf","file_abs_path":"/work/repo/infra/s3.tf","repo_file_path":"/infra/s3.tf",
			"file_line_range":[4,10],"resource":"aws_s3_bucket.logs","severity":null,"guideline":"https://docs.example/` + id + `"}`
	}
	// A list of check types; the second names its type after its results.
	doc := `[{"check_type":"terraform","results":{"failed_checks":[` + check("CKV_AWS_18", "FAILED", "") + `],
		"passed_checks":[` + check("CKV_AWS_19", "PASSED", "") + `],
		"skipped_checks":[` + check("CKV_AWS_20", "SKIPPED", `,"suppress_comment":"public by design: static site"`) + `,` + check("CKV_AWS_21", "SKIPPED", "") + `],
		"parsing_errors":[]},"summary":{"checkov_version":"3.2.0"}},
	  {"results":{"failed_checks":[{"check_id":"CKV_K8S_8","check_name":"Liveness probe","file_path":"/k8s/web.yaml",
	    "file_abs_path":"/work/repo/infra/k8s/web.yaml","file_line_range":[1,30],"resource":"Deployment.default.web","severity":"HIGH"}]},
	   "check_type":"kubernetes"}]`
	got := parseAll(t, doc, "")
	if len(got) != 5 {
		t.Fatalf("%d findings", len(got))
	}
	f := got[0]
	if f.Result != ResultFail || f.Target != "/work/repo/infra" || f.Location != "/s3.tf:4-10" || f.ResourceUID != "aws_s3_bucket.logs" ||
		f.Severity != ocsf.SeverityMedium || f.Service != "terraform" || len(f.References) != 1 || f.ScopeKey() != "checkov||/work/repo/infra" {
		t.Errorf("failed: %+v", f)
	}
	if got[1].Result != ResultPass || got[1].Suppression != "" {
		t.Errorf("passed: %+v", got[1])
	}
	if got[2].Suppression != "public by design: static site" || got[3].Suppression == "" || got[2].Result != ResultFail {
		t.Errorf("skipped: %q %q", got[2].Suppression, got[3].Suppression)
	}
	if k := got[4]; k.Service != "kubernetes" || k.Severity != ocsf.SeverityHigh || k.Target != "/work/repo/infra" || k.Fingerprint == f.Fingerprint {
		t.Errorf("kubernetes: %+v", k)
	}
	// checkov --file names the file itself.
	one := parseAll(t, `{"check_type":"terraform","results":{"failed_checks":[{"check_id":"CKV_AWS_18","file_path":"/srv/code/s3.tf",
		"file_abs_path":"/srv/code/s3.tf","resource":"aws_s3_bucket.logs"}]}}`, "checkov")
	if one[0].Target != "/srv/code/s3.tf" || one[0].Location != "/srv/code/s3.tf" {
		t.Errorf("one file: %+v", one[0])
	}
	for _, bad := range []string{`{"results":{"failed_checks":[{"check_name":"no id"}]}}`, `{"check_type":"terraform","results":{"failed_checks":[3]}}`,
		`[{"summary":{}}]`, `{"check_type":"terraform","results":[]}`} {
		if _, err := Parse(strings.NewReader(bad), "checkov", func(*Finding) error { return nil }); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}
