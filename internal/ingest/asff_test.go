package ingest

import (
	"strings"
	"testing"

	"github.com/offloadsecurity/cspm/internal/ocsf"
)

func TestASFFLifecycleAndResources(t *testing.T) {
	finding := func(extra string) string {
		return `{"SchemaVersion":"2018-10-08","Id":"arn:aws:securityhub:eu-west-1:111122223333:subscription/x/S3.1/finding/` + extra[:4] +
			`","ProductArn":"arn:aws:securityhub:eu-west-1::product/aws/securityhub","GeneratorId":"security-control/S3.1",
			"AwsAccountId":"111122223333","Region":"eu-west-1","Title":"S3.1","Description":"d","ProductFields":{"ControlId":"S3.1"},
			"Severity":{"Normalized":75},"Resources":[{"Type":"AwsS3Bucket","Id":"arn:aws:s3:::a","Tags":{"env":"prod"}},
			{"Type":"AwsS3Bucket","Id":"arn:aws:s3:::b","Tags":{"team":"blue"}}]` + extra[4:] + `}`
	}
	// An EventBridge event, with the findings under detail.
	doc := `{"detail-type":"Security Hub Findings - Imported","source":"aws.securityhub","detail":{"findings":[` +
		finding(`0001,"Compliance":{"Status":"FAILED"},"Workflow":{"Status":"SUPPRESSED"},"Note":{"Text":"accepted by CISO"}`) + `,` +
		finding(`0002,"Compliance":{"Status":"FAILED"},"RecordState":"ARCHIVED"`) + `,` +
		finding(`0003,"Compliance":{"Status":"FAILED"},"Workflow":{"Status":"RESOLVED"}`) + `,` +
		finding(`0004,"Compliance":{"Status":"WARNING"}`) + `,` +
		finding(`0005,"Compliance":{"Status":"NOT_AVAILABLE"},"WorkflowState":"NEW"`) + `]}}`
	got := parseAll(t, doc, "asff")
	if len(got) != 5 {
		t.Fatalf("%d findings", len(got))
	}
	f := got[0]
	if f.Result != ResultFail || !strings.Contains(f.Suppression, "SUPPRESSED") || !strings.Contains(f.Suppression, "accepted by CISO") ||
		f.Severity != ocsf.SeverityHigh || f.Tool != "securityhub" || f.CheckID != "S3.1" || f.ResourceUID != "arn:aws:s3:::a" ||
		!strings.Contains(f.Description, "arn:aws:s3:::b") || strings.Join(f.Tags, ",") != "env=prod,team=blue" || f.ScopeKey() != "securityhub|111122223333|eu-west-1" {
		t.Errorf("suppressed: %+v", f)
	}
	for i, want := range []Result{ResultPass, ResultPass, ResultManual, ResultManual} {
		if got[i+1].Result != want || got[i+1].Suppression != "" {
			t.Errorf("finding %d: %s %q, want %s", i+1, got[i+1].Result, got[i+1].Suppression, want)
		}
	}
	if got[0].Fingerprint == got[1].Fingerprint {
		t.Error("two Ids, one fingerprint")
	}

	// Prowler's ASFF keeps Prowler's check IDs and scope, so its findings
	// count for the compliance maps as Prowler's own.
	prowler := `[{"SchemaVersion":"2018-10-08","Id":"prowler-iam_root_mfa_enabled-111122223333-us-east-1-abc","ProductArn":"arn:aws:securityhub:us-east-1::product/prowler/prowler",
		"GeneratorId":"prowler-iam_root_mfa_enabled","AwsAccountId":"111122223333","Severity":{"Label":"CRITICAL"},"Title":"t","Description":"d",
		"Resources":[{"Type":"Other","Id":"arn:aws:iam::111122223333:root","Region":"us-east-1"}],
		"Compliance":{"Status":"FAILED","RelatedRequirements":["CIS-1.5 1.5","CIS-1.4 1.5"]}}]`
	p := parseAll(t, prowler, "")[0]
	if p.Tool != "prowler" || p.CheckID != "iam_root_mfa_enabled" || p.Region != "us-east-1" || p.ScopeKey() != "prowler|111122223333|us-east-1" ||
		!strings.Contains(string(p.Raw), `"CIS-1.5":["1.5"]`) {
		t.Errorf("prowler asff: %+v %s", p, p.Raw)
	}
	// The other tools' findings are their own tools'.
	for arn, tool := range map[string]string{"aws/inspector": "aws-inspector", "aws/guardduty": "aws-guardduty",
		"aws/securityhub": "securityhub", "crowdstrike/crowdstrike-falcon": "crowdstrike-crowdstrike-falcon", "": "securityhub"} {
		if got := asffTool(arn); got != tool {
			t.Errorf("%s: %s, want %s", arn, got, tool)
		}
	}

	// A finding it cannot read is an error, not a skip.
	for _, bad := range []string{`[{"Title":"no id"}]`, `{"Findings":[{"Id":"x","ProductArn":"p","Resources":[{"Type":"t"}]}]}`,
		`{"Findings":[{"Id":"x","ProductArn":"p","Severity":"HIGH"}]}`, `{"NextToken":"x"}`} {
		if _, err := Parse(strings.NewReader(bad), "asff", func(*Finding) error { return nil }); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}
