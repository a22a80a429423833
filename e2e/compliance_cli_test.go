package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// The compliance commands as an operator runs them, flags after the file
// as the README writes them: the SCF workbook and a Prowler map load and
// say what they loaded, loading again changes nothing, and after a report
// with a failing and a passing check the team's sync scores every framework.
func TestComplianceCommands(t *testing.T) {
	t.Parallel()
	samples, err := filepath.Abs("../../shared/samples")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(samples); err != nil {
		t.Fatalf("shared samples: %v", err)
	}
	env := []string{"CSPM_DATA_DIR=" + t.TempDir()}
	mustRun := func(args ...string) string {
		t.Helper()
		code, stdout, stderr := run(t, env, args...)
		if code != 0 {
			t.Fatalf("cspm %v = %d: %s", args, code, stderr)
		}
		return stdout
	}
	type item struct {
		Kind, Outcome, Version, URN string
		Nodes, Assessable, Domains  int
		Mappings                    int
	}
	load := func(args ...string) item {
		t.Helper()
		var res struct{ Items []item }
		if err := json.Unmarshal([]byte(mustRun(args...)), &res); err != nil || len(res.Items) != 1 {
			t.Fatalf("cspm %v printed %d items (%v)", args, len(res.Items), err)
		}
		return res.Items[0]
	}
	mustRun("team", "create", "acme")
	workbook := filepath.Join(samples, "scf", "scf-2022.2.1.xlsx")
	scf := load("scf", "import", workbook, "--json")
	if scf.Kind != "scf" || scf.Outcome != "created" || scf.Version == "" || scf.Assessable < 1000 || scf.Domains < 30 || scf.Mappings == 0 {
		t.Fatalf("scf import: %+v", scf)
	}
	if again := load("scf", "import", workbook, "--json"); again.Outcome != "unchanged" {
		t.Fatalf("the same workbook again: %+v", again)
	}
	nist := load("frameworks", "import", filepath.Join(samples, "prowler", "compliance", "nist_800_53_revision_5_aws.json"), "--json")
	if nist.Kind != "check_map" || nist.Assessable == 0 || nist.Mappings == 0 {
		t.Fatalf("prowler map import: %+v", nist)
	}
	if code, _, stderr := run(t, env, "scf", "import", filepath.Join(samples, "prowler", "compliance", "soc2_aws.json")); code == 0 || stderr == "" {
		t.Fatalf("a JSON map given as the SCF workbook: exit %d, %q", code, stderr)
	}

	report := filepath.Join(t.TempDir(), "prowler.ocsf.json")
	if err := os.WriteFile(report, []byte(`[
{"class_uid":2004,"status_code":"FAIL","severity_id":3,"finding_info":{"uid":"f1","title":"password length"},"metadata":{"event_code":"iam_password_policy_minimum_length_14"},"cloud":{"account":{"uid":"111122223333"},"region":"us-east-1"},"resources":[{"uid":"arn:aws:iam::111122223333:root"}]},
{"class_uid":2004,"status_code":"PASS","severity_id":3,"finding_info":{"uid":"f2","title":"root MFA"},"metadata":{"event_code":"iam_root_hardware_mfa_enabled"},"cloud":{"account":{"uid":"111122223333"},"region":"us-east-1"},"resources":[{"uid":"arn:aws:iam::111122223333:root"}]}]`), 0o600); err != nil {
		t.Fatal(err)
	}
	mustRun("import", "--team", "acme", report)
	var synced struct {
		Full       bool
		Frameworks []struct {
			URN    string
			Score  *float64
			Counts map[string]int
		}
	}
	if err := json.Unmarshal([]byte(mustRun("compliance", "sync", "--team", "acme", "--json")), &synced); err != nil {
		t.Fatal(err)
	}
	if !synced.Full || len(synced.Frameworks) != 2 {
		t.Fatalf("sync: %+v", synced)
	}
	for _, f := range synced.Frameworks {
		if f.Score == nil || *f.Score <= 0 || *f.Score >= 100 || f.Counts["failing"]+f.Counts["partial"] == 0 {
			t.Errorf("%s: score %v, counts %v: want a score between 0 and 100 with something failing", f.URN, f.Score, f.Counts)
		}
	}
}
