package findings

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/offloadsecurity/cspm/internal/db"
	"github.com/offloadsecurity/cspm/internal/db/dbtest"
)

// A preview counts what the rule would mute, leaves out what is muted or
// triaged out already, saves nothing, and agrees with the rule once saved.
func TestMuteRulePreview(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, reg *db.Registry) {
		ctx := context.Background()
		st := NewStore(reg)
		items := []string{
			postureItem("aws", "111", "eu-west-1", "s3_bucket_public", "arn:s3:::a", "FAIL", "Critical"),
			postureItem("aws", "111", "eu-west-1", "s3_bucket_public", "arn:s3:::b", "FAIL", "Critical"),
			postureItem("aws", "111", "eu-west-1", "s3_bucket_versioning", "arn:s3:::a", "PASS", "Low"),
			postureItem("aws", "111", "eu-west-1", "s3_bucket_logging", "arn:s3:::c", "FAIL", "Medium"),
			postureItem("aws", "222", "eu-west-1", "s3_bucket_public", "arn:s3:::d", "FAIL", "Critical"),
			postureItem("aws", "111", "eu-west-1", "iam_root_mfa", "arn:iam::111:root", "FAIL", "High"),
		}
		if _, err := st.Import(ctx, strings.NewReader("["+strings.Join(items, ",")+"]"), ImportParams{TeamID: "t1"}); err != nil {
			t.Fatal(err)
		}
		list, err := st.FindingList(ctx, ListParams{TeamID: "t1", Check: []string{"s3_bucket_logging"}})
		if err != nil || len(list.Findings) != 1 {
			t.Fatalf("s3_bucket_logging: %+v, %v", list, err)
		}
		if err := st.FindingTriageSet(ctx, "t1", list.Findings[0].ID, "u1", StatusFalsePositive, "a log bucket"); err != nil {
			t.Fatal(err)
		}

		rule := MuteRule{CheckPattern: "s3_*", AccountUID: "111"}
		p, err := st.MuteRulePreview(ctx, "t1", rule)
		if err != nil {
			t.Fatal(err)
		}
		// Two public buckets (open) and the passing versioning check
		// (resolved); not the false positive, not account 222.
		if p.Matches != 3 || p.Open != 2 || len(p.Sample) != 3 || p.Sample[0].Severity != "critical" || p.Sample[2].CheckID != "s3_bucket_versioning" {
			t.Fatalf("preview %d matches, %d open, sample %+v", p.Matches, p.Open, p.Sample)
		}
		if rules, _ := st.MuteRuleList(ctx, "t1"); len(rules) != 0 {
			t.Fatalf("a preview saved %d rules", len(rules))
		}
		if other, err := st.MuteRulePreview(ctx, "t2", rule); err != nil || other.Matches != 0 {
			t.Errorf("team t2 sees %d, %v", other.Matches, err)
		}
		if _, err := st.MuteRulePreview(ctx, "t1", MuteRule{CheckPattern: "*"}); !errors.Is(err, ErrInvalidRule) {
			t.Errorf("a rule that mutes everything: %v", err)
		}

		rule.Reason = "accepted for the pilot"
		_, muted, err := st.MuteRuleCreate(ctx, "t1", "u1", rule)
		if err != nil || muted != p.Matches {
			t.Fatalf("the saved rule muted %d (%v), the preview said %d", muted, err, p.Matches)
		}
		fp, err := st.FindingGet(ctx, "t1", list.Findings[0].ID)
		if err != nil || fp.Status != StatusFalsePositive {
			t.Errorf("the rule changed a false positive: %s, %v", fp.Status, err)
		}
	})
}
