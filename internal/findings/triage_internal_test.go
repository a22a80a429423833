package findings

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/offloadsecurity/cspm/internal/db"
	"github.com/offloadsecurity/cspm/internal/db/dbtest"
)

// A sort no index gives is refused past the limit, with the count;
// severity, which an index walks, is not.
func TestUnindexedSortLimit(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, reg *db.Registry) {
		ctx := context.Background()
		st := NewStore(reg)
		st.sortLimit = 2
		var items []string
		for i := range 3 {
			items = append(items, fmt.Sprintf(`{"class_uid":2004,"status_code":"FAIL","finding_info":{"uid":"u%d","title":"t%d"},"metadata":{"event_code":"c%d"}}`, i, i, i))
		}
		if _, err := st.Import(ctx, strings.NewReader("["+strings.Join(items, ",")+"]"), ImportParams{TeamID: "t1"}); err != nil {
			t.Fatal(err)
		}
		var broad *SortTooBroadError
		if _, err := st.FindingList(ctx, ListParams{TeamID: "t1", Sort: "title"}); !errors.As(err, &broad) || broad.Total != 3 {
			t.Fatalf("title over 3 with a limit of 2: %v", err)
		}
		if l, err := st.FindingList(ctx, ListParams{TeamID: "t1", Sort: "title", Check: []string{"c1", "c2"}}); err != nil || len(l.Findings) != 2 || l.Findings[0].Title != "t1" {
			t.Fatalf("title over 2: %+v %v", l.Findings, err)
		}
		if l, err := st.FindingList(ctx, ListParams{TeamID: "t1"}); err != nil || l.Total != 3 {
			t.Fatalf("severity: %v", err)
		}
		// Parked findings, by status or by triage, sorted by severity.
		if _, err := st.FindingsBulk(ctx, BulkParams{TeamID: "t1", Actor: "a", Filter: &ListParams{Check: []string{"c0", "c1"}}, Action: BulkTriage,
			State: StatusOutOfScope, Reason: "not ours"}); err != nil {
			t.Fatal(err)
		}
		for _, p := range []ListParams{{Status: []string{StatusFalsePositive, StatusOutOfScope}}, {Triage: []string{StatusFalsePositive, StatusOutOfScope}}} {
			p.TeamID = "t1"
			if !p.parkedOnly() {
				t.Fatalf("%+v is parked only", p)
			}
			if l, err := st.FindingList(ctx, p); err != nil || l.Total != 2 || len(l.Findings) != 2 {
				t.Fatalf("parked %+v: %+v %v", p, l, err)
			}
		}
	})
}

func TestParkedOnly(t *testing.T) {
	for _, c := range []struct {
		p    ListParams
		want bool
	}{
		{ListParams{}, false},
		{ListParams{Status: []string{"open", "muted"}}, false},
		{ListParams{Status: []string{"muted", "false_positive"}}, true},
		{ListParams{Triage: []string{"risk_accepted", "out_of_scope"}}, true},
		{ListParams{Triage: []string{"risk_pending"}}, false},
		{ListParams{Triage: []string{"none", "false_positive"}}, false},
	} {
		if got := c.p.parkedOnly(); got != c.want {
			t.Errorf("%+v: %v", c.p, got)
		}
	}
}
