package findings

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/offloadsecurity/cspm/internal/db"
	"github.com/offloadsecurity/cspm/internal/db/dbtest"
)

// An import names the checks it reported and those of the findings it
// resolved, which a compliance sync after it scores again.
func TestImportNamesTheChecksItTouched(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, reg *db.Registry) {
		ctx := context.Background()
		st := NewStore(reg)
		item := func(uid, check, status string) string {
			return `{"class_uid":2004,"status_code":"` + status + `","finding_info":{"uid":"` + uid + `","title":"t"},"metadata":{"event_code":"` + check +
				`"},"cloud":{"account":{"uid":"a1"},"region":"r1"}}`
		}
		first := "[" + strings.Join([]string{item("u1", "s3_bucket_public", "FAIL"), item("u2", "iam_root_mfa", "FAIL"), item("u3", "ec2_imdsv2", "PASS")}, ",") + "]"
		res, err := st.Import(ctx, strings.NewReader(first), ImportParams{TeamID: "t1"})
		if err != nil {
			t.Fatal(err)
		}
		if want := []string{"ec2_imdsv2", "iam_root_mfa", "s3_bucket_public"}; !slices.Equal(res.Checks, want) {
			t.Fatalf("first import's checks %v, want %v", res.Checks, want)
		}
		// The same scope again without iam_root_mfa: its finding is resolved.
		second := "[" + strings.Join([]string{item("u1", "s3_bucket_public", "FAIL"), item("u3", "ec2_imdsv2", "PASS")}, ",") + "]"
		res, err = st.Import(ctx, strings.NewReader(second), ImportParams{TeamID: "t1"})
		if err != nil {
			t.Fatal(err)
		}
		if want := []string{"ec2_imdsv2", "iam_root_mfa", "s3_bucket_public"}; res.FindingsResolved != 1 || !slices.Equal(res.Checks, want) {
			t.Fatalf("second import: resolved %d, checks %v, want %v", res.FindingsResolved, res.Checks, want)
		}
	})
}
