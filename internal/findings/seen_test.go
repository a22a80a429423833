package findings_test

import (
	"context"
	"fmt"
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
		// A new finding's sighting is its scope's latest import: no row.
		if got := explicitScans(); len(got) != 0 {
			t.Fatalf("finding_seen rows by scan after the first import: %v", got)
		}
		time.Sleep(10 * time.Millisecond) // distinct import times
		second := importDoc(rawReport(3, "v1"))
		if second.FindingsUnchanged != 3 {
			t.Fatalf("second import: %+v", second)
		}
		// Nothing was written for the unchanged findings...
		if got := explicitScans(); len(got) != 0 {
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
		// Only the missing finding's sighting is written out.
		if got := explicitScans(); got[second.ScanID] != 1 || len(got) != 1 {
			t.Fatalf("finding_seen rows by scan after the third import: %v", got)
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
		if got := explicitScans(); len(got) != 0 {
			t.Fatalf("finding_seen rows by scan after the fourth import: %v", got)
		}
		list, err := st.FindingList(ctx, findings.ListParams{TeamID: "t1", Status: []string{"reopened"}})
		if err != nil || list.Total != 1 {
			t.Fatalf("reopened: %v %d", err, list.Total)
		}
	})
}

// A finding reported under another scope than its own has that sighting
// written out, and drops it when its own scope's import reports it again;
// a later part of a multi-part scan does not count the findings an earlier
// part of the same scan reported in a shared scope as missing.
func TestSightingAcrossScopesAndScanParts(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, reg *db.Registry) {
		ctx := context.Background()
		st := findings.NewStore(reg)
		item := func(uid int, region, title string) string {
			return fmt.Sprintf(`{"class_uid":2004,"status_code":"FAIL","finding_info":{"uid":"uid-%d","title":"%s"},"metadata":{"event_code":"c1"},"cloud":{"account":{"uid":"a1"},"region":"%s"}}`,
				uid, title, region)
		}
		importDoc := func(p findings.ImportParams, items ...string) findings.ImportResult {
			t.Helper()
			p.TeamID = "t1"
			res, err := st.Import(ctx, strings.NewReader("["+strings.Join(items, ",")+"]"), p)
			if err != nil {
				t.Fatal(err)
			}
			return res
		}
		byUID := func() map[string]findings.Finding {
			t.Helper()
			list, err := st.FindingList(ctx, findings.ListParams{TeamID: "t1", Limit: 100})
			if err != nil {
				t.Fatal(err)
			}
			out := map[string]findings.Finding{}
			for _, f := range list.Findings {
				out[f.Title[:5]] = f
			}
			return out
		}
		scanLists := func(scan string) int {
			t.Helper()
			list, err := st.FindingList(ctx, findings.ListParams{TeamID: "t1", Scan: scan, Limit: 100})
			if err != nil {
				t.Fatal(err)
			}
			return list.Total
		}

		first := importDoc(findings.ImportParams{}, item(1, "r1", "uid-1"), item(2, "r1", "uid-2"))
		// Two parts of one scan, both covering r1: the first changes uid-1
		// and does not list uid-2 (resolved); the second lists only uid-2.
		part := findings.ImportParams{ScanID: "scan-parts", Source: "scan", Part: "p1"}
		p1 := importDoc(part, item(1, "r1", "uid-1 v2"))
		part.Part = "p2"
		p2 := importDoc(part, item(2, "r1", "uid-2"))
		if p1.FindingsUpdated != 1 || p1.FindingsResolved != 1 || p2.FindingsResolved != 0 || p2.FindingsUpdated != 1 {
			t.Fatalf("parts: %+v, %+v", p1, p2)
		}
		got := byUID()
		if got["uid-1"].Status != findings.StatusOpen || got["uid-1"].LastScanID != "scan-parts" ||
			got["uid-2"].Status != findings.StatusReopened || got["uid-2"].LastScanID != "scan-parts" {
			t.Fatalf("after both parts: %+v", got)
		}
		if n := scanLists("scan-parts"); n != 2 || scanLists(first.ScanID) != 0 {
			t.Fatalf("the scan lists %d findings, want 2", n)
		}

		// uid-1 reported unchanged under r2: seen by that import, which
		// does not cover r1, so uid-2 keeps its sighting.
		elsewhere := importDoc(findings.ImportParams{}, item(1, "r2", "uid-1 v2"))
		if elsewhere.FindingsUnchanged != 1 || elsewhere.FindingsResolved != 0 {
			t.Fatalf("under another scope: %+v", elsewhere)
		}
		got = byUID()
		if got["uid-1"].LastScanID != elsewhere.ScanID || got["uid-2"].LastScanID != "scan-parts" {
			t.Fatalf("after the import under another scope: %+v", got)
		}
		if scanLists(elsewhere.ScanID) != 1 || scanLists("scan-parts") != 1 {
			t.Fatal("the scan filter does not follow the sighting under another scope")
		}

		// Its own scope's next import lists both again: both are its.
		again := importDoc(findings.ImportParams{}, item(1, "r1", "uid-1 v2"), item(2, "r1", "uid-2"))
		if again.FindingsUnchanged != 2 || again.FindingsResolved != 0 {
			t.Fatalf("back in its scope: %+v", again)
		}
		got = byUID()
		if got["uid-1"].LastScanID != again.ScanID || got["uid-2"].LastScanID != again.ScanID ||
			scanLists(again.ScanID) != 2 || scanLists(elsewhere.ScanID) != 0 {
			t.Fatalf("back in its scope: %+v", got)
		}
	})
}

// An import that reports every finding of its scopes skips the search for
// missing ones (everyFindingReported counts instead). Two reports that
// would fool a count that trusted the number of reported findings: a
// stored finding reported in two batches, a finding reported under a scope
// that is not its own, and a new finding reported again in a later batch.
// Each leaves a finding out, which must be resolved.
func TestCountOfReportedFindingsMissesNone(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, reg *db.Registry) {
		ctx := context.Background()
		st := findings.NewStore(reg)
		item := func(uid int, region string) string {
			return fmt.Sprintf(`{"class_uid":2004,"status_code":"FAIL","finding_info":{"uid":"uid-%d","title":"uid-%d"},"metadata":{"event_code":"c1"},"cloud":{"account":{"uid":"a1"},"region":"%s"}}`,
				uid, uid, region)
		}
		importDoc := func(items ...string) findings.ImportResult {
			t.Helper()
			res, err := st.Import(ctx, strings.NewReader("["+strings.Join(items, ",")+"]"), findings.ImportParams{TeamID: "t1"})
			if err != nil {
				t.Fatal(err)
			}
			return res
		}
		status := func(title string) string {
			t.Helper()
			list, err := st.FindingList(ctx, findings.ListParams{TeamID: "t1", Text: title, Limit: 100})
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range list.Findings {
				if f.Title == title {
					return f.Status
				}
			}
			t.Fatalf("no finding %s", title)
			return ""
		}

		// Every finding reported again: nothing to resolve.
		if res := importDoc(item(1, "r1"), item(2, "r1"), item(3, "r1")); res.FindingsCreated != 3 {
			t.Fatalf("first import: %+v", res)
		}
		if res := importDoc(item(1, "r1"), item(2, "r1"), item(3, "r1")); res.FindingsUnchanged != 3 || res.FindingsResolved != 0 {
			t.Fatalf("the same again: %+v", res)
		}

		// uid-1 in two batches (a batch is 500 items) and uid-2: three
		// reported findings for r1's three, but uid-3 is not among them.
		items := []string{item(2, "r1")}
		for range 501 {
			items = append(items, item(1, "r1"))
		}
		if res := importDoc(items...); res.FindingsResolved != 1 || status("uid-3") != findings.StatusResolved {
			t.Fatalf("a finding reported in two batches hid a missing one: %+v, uid-3 %s", res, status("uid-3"))
		}

		// r3 holds uid-5 and uid-6, r4 uid-4. A report of r3 that lists
		// uid-5 and uid-4 (stored under r4) leaves uid-6 out.
		importDoc(item(5, "r3"), item(6, "r3"), item(4, "r4"))
		if res := importDoc(item(5, "r3"), item(4, "r3")); res.FindingsResolved != 1 || status("uid-6") != findings.StatusResolved {
			t.Fatalf("a finding of another scope hid a missing one: %+v, uid-6 %s", res, status("uid-6"))
		}
		if status("uid-4") != findings.StatusOpen {
			t.Fatalf("uid-4 is %s", status("uid-4"))
		}

		// r5 holds uid-8. A report of r5 that creates uid-7 in its first
		// batch and reports it again in its second leaves uid-8 out.
		importDoc(item(8, "r5"))
		items = items[:0]
		for range 501 {
			items = append(items, item(7, "r5"))
		}
		if res := importDoc(items...); res.FindingsCreated != 1 || res.FindingsResolved != 1 || status("uid-8") != findings.StatusResolved {
			t.Fatalf("a finding created and reported again hid a missing one: %+v, uid-8 %s", res, status("uid-8"))
		}
	})
}
