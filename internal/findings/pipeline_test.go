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
	"github.com/offloadsecurity/cspm/internal/id"
	"github.com/offloadsecurity/cspm/internal/nativescans"
)

// On PostgreSQL the batches of new findings go through a pipeline (see
// db.Pipeline): a statement the server refuses in its third batch fails the
// import like any other error. Nothing of it is visible, not even the raw
// OCSF of the batches before, the history says why, and the connection
// goes back to the pool fit for the next import.
func TestFailureInThePipelineLeavesNothing(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, reg *db.Registry) {
		d := reg.Get(db.NativeScans)
		if d.Dialect != db.Postgres {
			t.Skip("SQLite has no pipeline")
		}
		ctx := context.Background()
		// A trigger stands in for whatever the server may refuse.
		if _, err := d.ExecContext(ctx, `CREATE FUNCTION refuse_boom() RETURNS trigger LANGUAGE plpgsql AS $$
			BEGIN IF NEW.title = 'boom' THEN RAISE EXCEPTION 'refused the boom finding'; END IF; RETURN NEW; END $$`); err != nil {
			t.Fatal(err)
		}
		if _, err := d.ExecContext(ctx, "CREATE TRIGGER refuse_boom BEFORE INSERT ON findings FOR EACH ROW EXECUTE FUNCTION refuse_boom()"); err != nil {
			t.Fatal(err)
		}
		var items []string
		for uid := range 1300 {
			title := fmt.Sprintf("t%d", uid)
			if uid == 1100 {
				title = "boom"
			}
			items = append(items, fmt.Sprintf(`{"class_uid":2004,"status_code":"FAIL","finding_info":{"uid":"uid-%d","title":"%s"},"metadata":{"event_code":"c%d"},"remediation":{"desc":"fix %d"},"cloud":{"account":{"uid":"a1"},"region":"r1"}}`,
				uid, title, uid%7, uid%3))
		}
		report := []byte("[" + strings.Join(items, ",") + "]")

		st := findings.NewStore(reg)
		team := id.New()
		_, err := st.Import(ctx, bytes.NewReader(report), findings.ImportParams{TeamID: team})
		if err == nil || !strings.Contains(err.Error(), "refused the boom finding") {
			t.Fatalf("import with a refused finding: %v", err)
		}
		list, err := st.FindingList(ctx, findings.ListParams{TeamID: team})
		if err != nil || list.Total != 0 {
			t.Fatalf("findings after a failed import: %d %v", list.Total, err)
		}
		var blocks int
		if err := d.QueryRowContext(ctx, "SELECT count(*) FROM finding_raw_blocks").Scan(&blocks); err != nil || blocks != 0 {
			t.Fatalf("raw OCSF blocks after a failed import: %d %v", blocks, err)
		}
		hist, total, err := nativescans.New(reg).ScanResultList(ctx, nativescans.ListParams{TeamID: team})
		if err != nil || total != 1 || hist[0].Status != nativescans.StatusFailed || !strings.Contains(hist[0].Error, "refused the boom finding") {
			t.Fatalf("history = %+v %v", hist, err)
		}

		if _, err := d.ExecContext(ctx, "DROP TRIGGER refuse_boom ON findings"); err != nil {
			t.Fatal(err)
		}
		for range 3 { // on whichever pooled connection
			other := id.New()
			res := importBytes(t, st, other, report)
			if res.FindingsCreated != 1300 {
				t.Fatalf("import after the failure created %d, want 1300", res.FindingsCreated)
			}
			list, err := st.FindingList(ctx, findings.ListParams{TeamID: other, Text: "boom"})
			if err != nil || list.Total != 1 {
				t.Fatalf("the boom finding: %d %v", list.Total, err)
			}
		}
	})
}

// Under row-level security (an ordinary role, as docs/security.md says to
// run cspm) the pipeline's statements run in the import's transaction,
// scoped to its team: the findings land in that team and no other.
func TestPipelinedImportUnderRowLevelSecurity(t *testing.T) {
	t.Parallel()
	for _, e := range dbtest.Engines(t) {
		if e.URL == "" {
			continue
		}
		t.Run(e.Name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			reg := dbtest.Open(t, dbtest.AsOwner(t, e))
			var items []string
			for uid := range 1200 { // three batches
				items = append(items, fmt.Sprintf(`{"class_uid":2004,"status_code":"FAIL","finding_info":{"uid":"uid-%d","title":"t%d"},"metadata":{"event_code":"c%d"},"cloud":{"account":{"uid":"a1"},"region":"r1"}}`,
					uid, uid, uid%7))
			}
			st := findings.NewStore(reg)
			team, other := id.New(), id.New()
			if res := importBytes(t, st, team, []byte("["+strings.Join(items, ",")+"]")); res.FindingsCreated != 1200 {
				t.Fatalf("created %d, want 1200", res.FindingsCreated)
			}
			for _, c := range []struct {
				team string
				want int
			}{{team, 1200}, {other, 0}} {
				list, err := st.FindingList(ctx, findings.ListParams{TeamID: c.team})
				if err != nil || list.Total != c.want {
					t.Errorf("team sees %d findings (%v), want %d", list.Total, err, c.want)
				}
			}
		})
	}
}
