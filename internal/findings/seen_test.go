package findings_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/offloadsecurity/cspm/internal/db"
	"github.com/offloadsecurity/cspm/internal/db/dbtest"
	"github.com/offloadsecurity/cspm/internal/findings"
)

// A re-import does not write the findings it finds unchanged, yet each
// finding's last sighting and the scan filter say what they did when every
// finding was marked: the latest import of the finding's scope that
// reported it. A finding that a later import no longer reports keeps the
// sighting of the last import that did.
func TestLastSightingWithoutMarkingUnchangedFindings(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, reg *db.Registry) {
		ctx := context.Background()
		st := findings.NewStore(reg)
		importDoc := func(doc string) findings.ImportResult {
			t.Helper()
			res, err := st.Import(ctx, strings.NewReader(doc), findings.ImportParams{TeamID: "t1"})
			if err != nil {
				t.Fatal(err)
			}
			return res
		}
		all := func(scan string) map[string]findings.Finding {
			t.Helper()
			list, err := st.FindingList(ctx, findings.ListParams{TeamID: "t1", Scan: scan, Limit: 100})
			if err != nil {
				t.Fatal(err)
			}
			out := map[string]findings.Finding{}
			for _, f := range list.Findings {
				out[f.Title+"/"+f.Fingerprint[:8]] = f
			}
			if list.Total != len(out) {
				t.Fatalf("scan %q: total %d, %d listed", scan, list.Total, len(out))
			}
			return out
		}
		explicitScans := func() map[string]int {
			t.Helper()
			out := map[string]int{}
			if err := reg.Get(db.NativeScans).InTeam(ctx, "t1", func(q db.Querier) error {
				rows, err := q.QueryContext(ctx, "SELECT last_scan_id, count(*) FROM finding_seen WHERE team_id = 't1' GROUP BY last_scan_id")
				if err != nil {
					return err
				}
				defer rows.Close()
				for rows.Next() {
					var scan string
					var n int
					if err := rows.Scan(&scan, &n); err != nil {
						return err
					}
					out[scan] = n
				}
				return rows.Err()
			}); err != nil {
				t.Fatal(err)
			}
			return out
		}

		first := importDoc(rawReport(3, "v1"))
		time.Sleep(10 * time.Millisecond) // distinct import times
		second := importDoc(rawReport(3, "v1"))
		if second.FindingsUnchanged != 3 {
			t.Fatalf("second import: %+v", second)
		}
		// Nothing was written for the unchanged findings...
		if got := explicitScans(); got[first.ScanID] != 3 || len(got) != 1 {
			t.Fatalf("finding_seen rows by scan after an unchanged re-import: %v", got)
		}
		// ...and every finding reads as seen by the second import.
		if len(all(first.ScanID)) != 0 {
			t.Fatal("the first import still lists findings the second one saw again")
		}
		seen := all(second.ScanID)
		if len(seen) != 3 {
			t.Fatalf("the second import lists %d findings, want 3", len(seen))
		}
		var secondAt time.Time
		for _, f := range seen {
			if f.LastScanID != second.ScanID || !f.LastSeen.After(f.FirstSeen) {
				t.Fatalf("after the second import: %+v", f)
			}
			secondAt = f.LastSeen
		}

		// The third import no longer reports uid-3: it is resolved and keeps
		// the second import as its last sighting.
		time.Sleep(10 * time.Millisecond)
		third := importDoc(rawReport(2, "v1"))
		if third.FindingsResolved != 1 || third.FindingsUnchanged != 2 {
			t.Fatalf("third import: %+v", third)
		}
		gone := all(second.ScanID)
		if len(gone) != 1 {
			t.Fatalf("the second import lists %d findings after the third, want 1", len(gone))
		}
		for _, f := range gone {
			if f.Status != findings.StatusResolved || f.LastScanID != second.ScanID || !f.LastSeen.Equal(secondAt) {
				t.Fatalf("the missing finding: %+v", f)
			}
		}
		if got := all(third.ScanID); len(got) != 2 {
			t.Fatalf("the third import lists %d findings, want 2", len(got))
		}

		// It comes back in the fourth: seen by the fourth, reopened.
		fourth := importDoc(rawReport(3, "v1"))
		if fourth.FindingsUpdated != 1 || fourth.FindingsUnchanged != 2 {
			t.Fatalf("fourth import: %+v", fourth)
		}
		back := all(fourth.ScanID)
		if len(back) != 3 || len(all(second.ScanID)) != 0 || len(all(third.ScanID)) != 0 {
			t.Fatalf("after the fourth import: %d listed by it", len(back))
		}
		list, err := st.FindingList(ctx, findings.ListParams{TeamID: "t1", Status: []string{"reopened"}})
		if err != nil || list.Total != 1 {
			t.Fatalf("reopened: %v %d", err, list.Total)
		}
	})
}
