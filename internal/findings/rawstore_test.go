package findings_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/offloadsecurity/cspm/internal/db"
	"github.com/offloadsecurity/cspm/internal/db/dbtest"
	"github.com/offloadsecurity/cspm/internal/findings"
)

// rawReport is a Prowler OCSF report of findings uid-1..uid-n whose titles
// carry a version, so that a later version changes them.
func rawReport(n int, version string) string {
	var items []string
	for i := 1; i <= n; i++ {
		items = append(items, rawItem(i, "title "+version))
	}
	return "[" + strings.Join(items, ",") + "]"
}

func rawItem(uid int, title string) string {
	return fmt.Sprintf(`{"class_uid":2004,"status_code":"FAIL","finding_info":{"uid":"uid-%d","title":"%s","desc":"%s"},"metadata":{"event_code":"c1"}}`,
		uid, title, strings.Repeat("long description ", 100))
}

// Raw OCSF is stored packed, one block per batch of written findings; a
// finding that changes moves to a new block, a block no finding uses any
// more is deleted, and a row an older version stored in finding_raw (packed
// on its own, or as text) still reads back until its finding changes.
func TestRawOCSFStoredInBlocks(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, reg *db.Registry) {
		ctx := context.Background()
		st := findings.NewStore(reg)
		d := reg.Get(db.NativeScans)
		inTeam := func(fn func(q db.Querier) error) {
			t.Helper()
			if err := d.InTeam(ctx, "t1", fn); err != nil {
				t.Fatal(err)
			}
		}
		type block struct {
			id, live int64
			data     []byte
		}
		blocks := func() []block {
			t.Helper()
			var out []block
			inTeam(func(q db.Querier) error {
				rows, err := q.QueryContext(ctx, "SELECT id, live, data FROM finding_raw_blocks WHERE team_id = 't1' ORDER BY id")
				if err != nil {
					return err
				}
				defer rows.Close()
				for rows.Next() {
					var b block
					if err := rows.Scan(&b.id, &b.live, &b.data); err != nil {
						return err
					}
					out = append(out, b)
				}
				return rows.Err()
			})
			return out
		}
		ids := map[string]int64{}
		rawOf := func(uid string) string {
			t.Helper()
			det, err := st.FindingGet(ctx, "t1", ids[uid])
			if err != nil {
				t.Fatal(err)
			}
			return string(det.Raw)
		}

		if _, err := st.Import(ctx, strings.NewReader(rawReport(3, "v1")), findings.ImportParams{TeamID: "t1"}); err != nil {
			t.Fatal(err)
		}
		list, err := st.FindingList(ctx, findings.ListParams{TeamID: "t1"})
		if err != nil || len(list.Findings) != 3 {
			t.Fatalf("list %v", err)
		}
		for _, f := range list.Findings {
			det, err := st.FindingGet(ctx, "t1", f.ID)
			if err != nil {
				t.Fatal(err)
			}
			uid := string(bytes.Split(bytes.SplitN(det.Raw, []byte(`"uid":"`), 2)[1], []byte(`"`))[0])
			ids[uid] = f.ID
		}
		if len(ids) != 3 || !strings.Contains(rawOf("uid-2"), `"title":"title v1"`) {
			t.Fatalf("raw OCSF read back: %v %s", ids, rawOf("uid-2"))
		}
		first := blocks()
		if len(first) != 1 || first[0].live != 3 || first[0].data[0] != 0 || bytes.Contains(first[0].data, []byte("long description long description")) {
			t.Fatalf("want one packed block for three findings, got %d (%v)", len(first), first)
		}

		// uid-3 as an older version stored it: in finding_raw, as text.
		legacy := `{"class_uid":2004,"finding_info":{"uid":"uid-3","title":"stored as text"}}`
		inTeam(func(q db.Querier) error {
			if _, err := q.ExecContext(ctx, "UPDATE findings SET raw_block_id = NULL WHERE id = $1", ids["uid-3"]); err != nil {
				return err
			}
			if _, err := q.ExecContext(ctx, "UPDATE finding_raw_blocks SET live = live - 1 WHERE team_id = 't1'"); err != nil {
				return err
			}
			_, err := q.ExecContext(ctx, "INSERT INTO finding_raw (finding_id, team_id, raw) VALUES ($1, 't1', $2)", ids["uid-3"], []byte(legacy))
			return err
		})
		if got := rawOf("uid-3"); got != legacy {
			t.Fatalf("legacy row read back as %s", got)
		}

		// uid-1 and uid-3 change: both move to a new block, the first block
		// keeps uid-2 only, and uid-3's old row is gone.
		changed := strings.Replace(strings.Replace(rawReport(3, "v1"), `"uid-1","title":"title v1"`, `"uid-1","title":"title v2"`, 1),
			`"uid-3","title":"title v1"`, `"uid-3","title":"title v2"`, 1)
		res, err := st.Import(ctx, strings.NewReader(changed), findings.ImportParams{TeamID: "t1"})
		if err != nil || res.FindingsUpdated != 2 || res.FindingsUnchanged != 1 {
			t.Fatalf("re-import: %+v %v", res, err)
		}
		second := blocks()
		if len(second) != 2 || second[0].id != first[0].id || second[0].live != 1 || second[1].live != 2 {
			t.Fatalf("blocks after the change: %v", second)
		}
		if !strings.Contains(rawOf("uid-1"), "title v2") || !strings.Contains(rawOf("uid-3"), "title v2") || !strings.Contains(rawOf("uid-2"), "title v1") {
			t.Fatal("raw OCSF after the change is not the latest")
		}
		var legacyRows int
		inTeam(func(q db.Querier) error {
			return q.QueryRowContext(ctx, "SELECT count(*) FROM finding_raw WHERE team_id = 't1'").Scan(&legacyRows)
		})
		if legacyRows != 0 {
			t.Fatalf("%d finding_raw rows left after their finding changed", legacyRows)
		}

		// All three change: no finding uses the first two blocks any more.
		if _, err := st.Import(ctx, strings.NewReader(rawReport(3, "v3")), findings.ImportParams{TeamID: "t1"}); err != nil {
			t.Fatal(err)
		}
		third := blocks()
		if len(third) != 1 || third[0].live != 3 || third[0].id == second[1].id {
			t.Fatalf("blocks after everything changed: %v", third)
		}
		if !strings.Contains(rawOf("uid-2"), "title v3") {
			t.Fatal("raw OCSF after the third import is not the latest")
		}
	})
}

// A report that repeats findings across batches (500 items each) records
// each once: a batch is looked up before the previous batch's writes only
// when it shares no finding with it. uid-1 comes back in the next batch
// changed, uid-2 unchanged, and uid-3 two batches later.
func TestImportRepeatsAcrossBatches(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, reg *db.Registry) {
		ctx := context.Background()
		st := findings.NewStore(reg)
		var items []string
		for i := 1; i <= 1200; i++ {
			items = append(items, rawItem(i, "title v1"))
		}
		items[600] = rawItem(1, "title v2")  // second batch, changed
		items[700] = rawItem(2, "title v1")  // second batch, unchanged
		items[1100] = rawItem(3, "title v1") // third batch
		doc := "[" + strings.Join(items, ",") + "]"
		res, err := st.Import(ctx, strings.NewReader(doc), findings.ImportParams{TeamID: "t1"})
		if err != nil {
			t.Fatal(err)
		}
		// 1,200 items, 3 of them repeats of earlier ones (replacing uid-601,
		// uid-701 and uid-1101): 1,197 findings, the changed repeat an update.
		if res.ItemsRead != 1200 || res.FindingsCreated != 1197 || res.FindingsUpdated != 1 || res.FindingsUnchanged != 2 {
			t.Fatalf("import: %+v", res)
		}
		list, err := st.FindingList(ctx, findings.ListParams{TeamID: "t1", Limit: 5, Text: "title v2"})
		if err != nil || list.Total != 1 {
			t.Fatalf("the changed repeat: %v %+v", err, list.Total)
		}
		again, err := st.Import(ctx, strings.NewReader(doc), findings.ImportParams{TeamID: "t1"})
		if err != nil || again.FindingsCreated != 0 || again.ItemsRead != 1200 {
			t.Fatalf("again: %+v %v", again, err)
		}
	})
}

// A finding's first history entry comes from the finding (first_status);
// one stored before that column has it in finding_history, and reads the
// same.
func TestFirstHistoryEntryFromTheFinding(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, reg *db.Registry) {
		ctx := context.Background()
		st := findings.NewStore(reg)
		res, err := st.Import(ctx, strings.NewReader(rawReport(2, "v1")), findings.ImportParams{TeamID: "t1"})
		if err != nil {
			t.Fatal(err)
		}
		list, err := st.FindingList(ctx, findings.ListParams{TeamID: "t1"})
		if err != nil || len(list.Findings) != 2 {
			t.Fatalf("list %v", err)
		}
		var historyRows int
		d := reg.Get(db.NativeScans)
		if err := d.InTeam(ctx, "t1", func(q db.Querier) error {
			if err := q.QueryRowContext(ctx, "SELECT count(*) FROM finding_history WHERE team_id = 't1'").Scan(&historyRows); err != nil {
				return err
			}
			// The second finding as an older version stored it.
			if _, err := q.ExecContext(ctx, "UPDATE findings SET first_status = '' WHERE id = $1", list.Findings[1].ID); err != nil {
				return err
			}
			_, err := q.ExecContext(ctx, "INSERT INTO finding_history (team_id, finding_id, scan_id, at, change, to_status) VALUES ('t1', $1, $2, $3, 'new', 'open')",
				list.Findings[1].ID, res.ScanID, list.Findings[1].FirstSeen)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if historyRows != 0 {
			t.Fatalf("a first import wrote %d history rows", historyRows)
		}
		for _, f := range list.Findings {
			det, err := st.FindingGet(ctx, "t1", f.ID)
			if err != nil {
				t.Fatal(err)
			}
			if len(det.History) != 1 || det.History[0].Change != "new" || det.History[0].ToStatus != "open" ||
				det.History[0].ScanID != res.ScanID || !det.History[0].At.Equal(f.FirstSeen) {
				t.Errorf("finding %d: history %+v", f.ID, det.History)
			}
		}
	})
}
