package ingest

import (
	"strings"
	"testing"
)

// A Prowler 3 JSON finding is the same finding, in the same scope, as the
// OCSF finding a later Prowler writes for that check and resource.
func TestProwlerJSONMatchesOCSF(t *testing.T) {
	v3 := `[{"FindingUniqueId":"prowler-aws-s3_bucket_public_access-111122223333-eu-west-1-logs","Provider":"aws","CheckID":"s3_bucket_public_access",
		"CheckTitle":"S3 public access","ServiceName":"s3","Status":"PASS","StatusExtended":"ok","Severity":"critical","ResourceType":"AwsS3Bucket",
		"AccountId":"111122223333","Region":"eu-west-1","ResourceId":"logs","ResourceArn":"arn:aws:s3:::logs","ResourceTags":[{"Key":"env","Value":"prod"}],
		"Compliance":[{"Framework":"CIS","Version":"1.5","Requirements":["2.1.5"]}]},
	 {"CheckID":"defender_ensure_defender_for_server_is_on","Status":"INFO","Severity":"high","Provider":"azure","Subscription":"sub-1","ResourceId":"/subscriptions/sub-1","Location":"westeurope"},
	 {"CheckID":"iam_audit_logs_enabled","Status":"MANUAL","Severity":"medium","Provider":"gcp","ProjectId":"proj-1","ResourceId":"proj-1","Location":"global"}]`
	ocsfDoc := `[{"class_uid":2004,"status_code":"FAIL","severity_id":5,"metadata":{"event_code":"s3_bucket_public_access"},
		"finding_info":{"uid":"prowler-aws-s3_bucket_public_access-111122223333-eu-west-1-logs","title":"S3 public access"},
		"resources":[{"uid":"arn:aws:s3:::logs","name":"logs"}],"cloud":{"provider":"aws","region":"eu-west-1","account":{"uid":"111122223333"}}}]`
	old := parseAll(t, v3, "")
	now := parseAll(t, ocsfDoc, "")[0]
	if len(old) != 3 || old[0].Fingerprint != now.Fingerprint || old[0].ScopeKey() != now.ScopeKey() || old[0].Tool != "prowler" ||
		old[0].Result != ResultPass || strings.Join(old[0].Tags, ",") != "env=prod" || !strings.Contains(string(old[0].Raw), `"CIS-1.5":["2.1.5"]`) {
		t.Fatalf("prowler 3: %+v\nocsf: %+v", old[0], now)
	}
	if f := old[1]; f.Result != ResultManual || f.AccountUID != "sub-1" || f.Region != "westeurope" || f.Provider != "azure" {
		t.Errorf("azure: %+v", f)
	}
	if f := old[2]; f.Result != ResultManual || f.AccountUID != "proj-1" || f.Region != "global" || f.Service != "iam" {
		t.Errorf("gcp: %+v", f)
	}
	for _, bad := range []string{`[{"Status":"FAIL"}]`, `[{"CheckID":"x","Status":"FAIL","Compliance":"CIS"}]`, `[{"CheckID":"x","Status":"FAIL"}, 3]`} {
		if _, err := Parse(strings.NewReader(bad), "prowler-json", func(*Finding) error { return nil }); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}
