package findings_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/offloadsecurity/cspm/internal/db"
	"github.com/offloadsecurity/cspm/internal/db/dbtest"
	"github.com/offloadsecurity/cspm/internal/findings"
)

// Raw OCSF is stored packed on both engines, and a row an older version
// stored as plain JSON (text before PostgreSQL's migration 0005 turned the
// column into bytea) still reads back.
func TestRawOCSFStoredPackedAndReadsOldRows(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, reg *db.Registry) {
		ctx := context.Background()
		st := findings.NewStore(reg)
		doc := `[{"class_uid":2004,"finding_info":{"uid":"raw-1","title":"` + strings.Repeat("long title ", 200) + `"},"metadata":{"event_code":"c1"}}]`
		res, err := st.Import(ctx, strings.NewReader(doc), findings.ImportParams{TeamID: "t1"})
		if err != nil {
			t.Fatal(err)
		}
		list, err := st.FindingList(ctx, findings.ListParams{TeamID: "t1", Scan: res.ScanID})
		if err != nil || len(list.Findings) != 1 {
			t.Fatalf("list %v", err)
		}
		fid := list.Findings[0].ID
		var stored []byte
		if err := reg.Get(db.NativeScans).InTeam(ctx, "t1", func(q db.Querier) error {
			return q.QueryRowContext(ctx, "SELECT raw FROM finding_raw WHERE finding_id = $1", fid).Scan(&stored)
		}); err != nil {
			t.Fatal(err)
		}
		if len(stored) == 0 || stored[0] != 0 || bytes.Contains(stored, []byte("long title long title")) {
			t.Fatalf("raw stored unpacked (%d bytes)", len(stored))
		}
		d, err := st.FindingGet(ctx, "t1", fid)
		if err != nil || !bytes.Contains(d.Raw, []byte(`"uid":"raw-1"`)) {
			t.Fatalf("read back: %v %.80s", err, d.Raw)
		}
		// As an older version stored it.
		old := []byte(`{"class_uid":2004,"finding_info":{"uid":"raw-1"}}`)
		if err := reg.Get(db.NativeScans).InTeam(ctx, "t1", func(q db.Querier) error {
			_, err := q.ExecContext(ctx, "UPDATE finding_raw SET raw = $1 WHERE finding_id = $2", old, fid)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		d, err = st.FindingGet(ctx, "t1", fid)
		if err != nil || !json.Valid(d.Raw) || !bytes.Equal(d.Raw, old) {
			t.Fatalf("old row: %v %s", err, d.Raw)
		}
	})
}
