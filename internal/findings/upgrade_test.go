package findings

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/offloadsecurity/cspm/internal/db"
	"github.com/offloadsecurity/cspm/internal/db/dbtest"
	"github.com/offloadsecurity/cspm/internal/ingest"
)

// upgradeReport is a Prowler OCSF report of findings uid-1..uid-n, with a
// title that a later version of the report changes.
func upgradeReport(n int, title string) string {
	items := make([]string, n)
	for i := range items {
		items[i] = fmt.Sprintf(`{"class_uid":2004,"status_code":"FAIL","severity_id":4,"finding_info":{"uid":"uid-%d","title":"%s"},"metadata":{"event_code":"c1"},"cloud":{"provider":"aws","account":{"uid":"111"},"region":"eu-west-1"},"remediation":{"desc":"Turn it off."}}`,
			i+1, title)
	}
	return "[" + strings.Join(items, ",") + "]"
}

// nativeScansAt returns a registry on e, logged in as an ordinary role
// that owns the schemas on PostgreSQL (dbtest.AsOwner), whose native_scans
// database is at migration version.
func nativeScansAt(t *testing.T, e dbtest.Engine, version int) (*db.Registry, *db.DB) {
	t.Helper()
	ctx := context.Background()
	reg, _ := dbtest.OpenUnmigrated(t, dbtest.AsOwner(t, e))
	d := reg.Get(db.NativeScans)
	if _, err := d.MigrateTo(ctx, version); err != nil {
		t.Fatal(err)
	}
	if v, err := d.Version(ctx); err != nil || v != version {
		t.Fatalf("native_scans at version %d (%v), want %d", v, err, version)
	}
	return reg, d
}

// parseAll parses a report into its findings.
func parseAll(t *testing.T, report string) []*ingest.Finding {
	t.Helper()
	var parsed []*ingest.Finding
	if _, err := ingest.Parse(strings.NewReader(report), "", func(f *ingest.Finding) error {
		parsed = append(parsed, f)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return parsed
}

// insertAsReleased stores f in team t1 with the findings columns every
// release since the first has, first seen by scan at seenAt.
func insertAsReleased(ctx context.Context, q db.Querier, f *ingest.Finding, seenAt time.Time, scan string) (int64, error) {
	var id int64
	err := q.QueryRowContext(ctx, `INSERT INTO findings (team_id, fingerprint, tool, class_uid, check_id, title, severity,
		result, status, provider, account_uid, region, service, scope_key, content_hash, first_seen, first_scan_id, description, remediation)
		VALUES ('t1', $1, $2, $3, $4, $5, $6, $7, 'open', $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) RETURNING id`,
		f.Fingerprint, f.Tool, f.ClassUID, f.CheckID, f.Title, int(f.Severity), string(f.Result), f.Provider, f.AccountUID,
		f.Region, f.Service, f.ScopeKey(), contentHash(f), seenAt, scan, f.Description, f.Remediation).Scan(&id)
	return id, err
}

// A database that a release before raw OCSF blocks wrote (native_scans at
// migration 7: a finding_raw row per finding, a "new" history entry, every
// sighting written out, no scope_latest) migrates to the current schema
// with its data in it and keeps working: its findings read back with their
// raw OCSF and history, the scan filter finds them under the scan that
// reported them, and an import moves a changed finding's raw OCSF into a
// block, drops its old row, and leaves the unchanged one as it was. On
// PostgreSQL it runs as an ordinary role (see TestUpgradeKeepsSightings).
func TestUpgradeFromBeforeRawBlocks(t *testing.T) {
	t.Parallel()
	for _, e := range dbtest.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			reg, d := nativeScansAt(t, e, 7)
			parsed := parseAll(t, upgradeReport(2, "v1"))
			// Stored the way that release stored them.
			seenAt := time.Date(2026, 10, 1, 12, 0, 0, 0, time.UTC)
			ids := map[string]int64{}
			if err := d.InTeam(ctx, "t1", func(q db.Querier) error {
				for _, f := range parsed {
					id, err := insertAsReleased(ctx, q, f, seenAt, "scan-old")
					if err != nil {
						return err
					}
					ids[f.Fingerprint] = id
					for _, stmt := range []struct {
						query string
						args  []any
					}{
						{"INSERT INTO finding_seen (finding_id, team_id, last_seen, last_scan_id) VALUES ($1, 't1', $2, 'scan-old')", []any{id, seenAt}},
						{"INSERT INTO finding_history (team_id, finding_id, scan_id, at, change, from_status, to_status) VALUES ('t1', $1, 'scan-old', $2, 'new', '', 'open')", []any{id, seenAt}},
						{"INSERT INTO finding_raw (finding_id, team_id, raw) VALUES ($1, 't1', $2)", []any{id, []byte(f.Raw)}},
					} {
						if _, err := q.ExecContext(ctx, stmt.query, stmt.args...); err != nil {
							return err
						}
					}
				}
				return nil
			}); err != nil {
				t.Fatal(err)
			}

			if n, err := reg.Migrate(ctx); err != nil || n == 0 {
				t.Fatalf("upgrade: %d migrations, %v", n, err)
			}
			if v, err := d.Version(ctx); err != nil || v <= 7 {
				t.Fatalf("native_scans at version %d (%v) after the upgrade", v, err)
			}
			st := NewStore(reg)
			first, second := parsed[0], parsed[1]
			detail := func(f *ingest.Finding) Detail {
				t.Helper()
				det, err := st.FindingGet(ctx, "t1", ids[f.Fingerprint])
				if err != nil {
					t.Fatal(err)
				}
				return det
			}
			det := detail(first)
			if string(det.Raw) != string(first.Raw) || len(det.History) != 1 || det.History[0].Change != "new" ||
				!det.LastSeen.Equal(seenAt) || det.Remediation != "Turn it off." {
				t.Fatalf("after the upgrade: raw %s, history %+v, last seen %v, remediation %q", det.Raw, det.History, det.LastSeen, det.Remediation)
			}
			list, err := st.FindingList(ctx, ListParams{TeamID: "t1", Scan: "scan-old"})
			if err != nil || list.Total != 2 {
				t.Fatalf("scan filter after the upgrade: %v, %d findings", err, list.Total)
			}

			res, err := st.Import(ctx, strings.NewReader(strings.Replace(upgradeReport(2, "v1"), `"uid-1","title":"v1"`, `"uid-1","title":"v2"`, 1)),
				ImportParams{TeamID: "t1", ScanID: "scan-new"})
			if err != nil || res.FindingsCreated != 0 || res.FindingsUpdated != 1 || res.FindingsUnchanged != 1 {
				t.Fatalf("import after the upgrade: %+v %v", res, err)
			}
			det = detail(first)
			if !strings.Contains(string(det.Raw), `"title":"v2"`) || len(det.History) != 2 || det.History[1].Change != "changed" ||
				det.Remediation != "Turn it off." {
				t.Fatalf("changed finding: raw %s, history %+v, remediation %q", det.Raw, det.History, det.Remediation)
			}
			// The changed finding's remediation is the one migration 13
			// moved on PostgreSQL, found by the same hash; SQLite's moved
			// ones have none, so it is stored again.
			wantRemediations := map[string]int{"postgres": 1, "sqlite": 2}[e.Name]
			var remediations int
			if err := d.InTeam(ctx, "t1", func(q db.Querier) error {
				return q.QueryRowContext(ctx, "SELECT count(*) FROM finding_remediations WHERE team_id = 't1'").Scan(&remediations)
			}); err != nil || remediations != wantRemediations {
				t.Fatalf("finding_remediations rows after the import: %d %v, want %d", remediations, err, wantRemediations)
			}
			if det = detail(second); string(det.Raw) != string(second.Raw) || len(det.History) != 1 {
				t.Fatalf("unchanged finding: raw %s, history %+v", det.Raw, det.History)
			}
			var legacyRows int
			if err := d.InTeam(ctx, "t1", func(q db.Querier) error {
				return q.QueryRowContext(ctx, "SELECT count(*) FROM finding_raw WHERE team_id = 't1'").Scan(&legacyRows)
			}); err != nil || legacyRows != 1 {
				t.Fatalf("finding_raw rows after the change: %d %v, want the unchanged finding's only", legacyRows, err)
			}
			for scan, want := range map[string]int{"scan-new": 2, "scan-old": 0} {
				if list, err := st.FindingList(ctx, ListParams{TeamID: "t1", Scan: scan}); err != nil || list.Total != want {
					t.Errorf("scan filter %s: %v, %d findings, want %d", scan, err, list.Total, want)
				}
			}
		})
	}
}

// A database at migration 11 kept a finding_seen row for every finding,
// with in_latest set for those its scope's latest import reported.
// Migration 12 keeps only the written-out sightings: each finding's last
// sighting and the scan filter read the same before and after, and the
// next import of the scope finds nothing missing.
//
// On PostgreSQL it runs as an ordinary role that owns the schemas, as
// docs/security.md says to run cspm: row-level security then applies to
// the migrations' own statements too.
func TestUpgradeKeepsSightings(t *testing.T) {
	t.Parallel()
	for _, e := range dbtest.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			reg, d := nativeScansAt(t, e, 11)
			// uid-1 and uid-2 in eu-west-1, uid-3 in a region with no
			// scope_latest row (which that release never left behind, and
			// which must not lose its sighting).
			report := strings.Replace(upgradeReport(3, "v1"), `"uid-3","title":"v1"},"metadata":{"event_code":"c1"},"cloud":{"provider":"aws","account":{"uid":"111"},"region":"eu-west-1"}`,
				`"uid-3","title":"v1"},"metadata":{"event_code":"c1"},"cloud":{"provider":"aws","account":{"uid":"111"},"region":"us-east-1"}`, 1)
			parsed := parseAll(t, report)
			at := func(day int) time.Time { return time.Date(2026, 10, day, 12, 0, 0, 0, time.UTC) }
			type sighting struct {
				scan     string
				seen     time.Time
				inLatest bool
			}
			stored := []sighting{
				{"scan-first", at(1), true},  // last seen by the scope's latest import, scan-latest
				{"scan-older", at(2), false}, // written out
				{"scan-x", at(3), true},      // in_latest without a scope_latest row
			}
			ids := make([]int64, len(parsed))
			if err := d.InTeam(ctx, "t1", func(q db.Querier) error {
				for i, f := range parsed {
					id, err := insertAsReleased(ctx, q, f, at(1), "scan-first")
					if err != nil {
						return err
					}
					ids[i] = id
					if _, err := q.ExecContext(ctx, "INSERT INTO finding_seen (finding_id, team_id, last_seen, last_scan_id, in_latest) VALUES ($1, 't1', $2, $3, $4)",
						id, stored[i].seen, stored[i].scan, stored[i].inLatest); err != nil {
						return err
					}
				}
				_, err := q.ExecContext(ctx, "INSERT INTO scope_latest (team_id, scope_key, scan_id, seen_at) VALUES ('t1', $1, 'scan-latest', $2)",
					parsed[0].ScopeKey(), at(4))
				return err
			}); err != nil {
				t.Fatal(err)
			}
			st := NewStore(reg)
			want := []sighting{{"scan-latest", at(4), false}, {"scan-older", at(2), false}, {"scan-x", at(3), false}}
			check := func(when string) {
				t.Helper()
				for i, id := range ids {
					det, err := st.FindingGet(ctx, "t1", id)
					if err != nil {
						t.Fatal(err)
					}
					if det.LastScanID != want[i].scan || !det.LastSeen.Equal(want[i].seen) {
						t.Errorf("%s: uid-%d last seen by %s at %v, want %s at %v", when, i+1, det.LastScanID, det.LastSeen, want[i].scan, want[i].seen)
					}
					if list, err := st.FindingList(ctx, ListParams{TeamID: "t1", Scan: want[i].scan}); err != nil || list.Total != 1 {
						t.Errorf("%s: scan filter %s: %v, %d findings, want 1", when, want[i].scan, err, list.Total)
					}
				}
			}
			if _, err := reg.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			check("after the upgrade")
			var rows int
			if err := d.InTeam(ctx, "t1", func(q db.Querier) error {
				return q.QueryRowContext(ctx, "SELECT count(*) FROM finding_seen WHERE team_id = 't1'").Scan(&rows)
			}); err != nil || rows != 2 {
				t.Fatalf("finding_seen rows after the upgrade: %d %v, want the two written-out sightings", rows, err)
			}
			res, err := st.Import(ctx, strings.NewReader(upgradeReport(2, "v1")), ImportParams{TeamID: "t1", ScanID: "scan-new"})
			if err != nil || res.FindingsUnchanged != 2 || res.FindingsResolved != 0 {
				t.Fatalf("import after the upgrade: %+v %v", res, err)
			}
			if list, err := st.FindingList(ctx, ListParams{TeamID: "t1", Scan: "scan-new"}); err != nil || list.Total != 2 {
				t.Fatalf("scan filter after the import: %v, %d findings", err, list.Total)
			}
		})
	}
}

// An import that meets more remediations than it remembers looks the ones
// it forgot up again instead of storing them twice.
func TestRemediationsBeyondWhatAnImportRemembers(t *testing.T) {
	saved := maxRememberedRemediations
	maxRememberedRemediations = 2
	t.Cleanup(func() { maxRememberedRemediations = saved })
	dbtest.Each(t, func(t *testing.T, reg *db.Registry) {
		ctx := context.Background()
		items := make([]string, 2*batchSize+10)
		for i := range items {
			// Seven texts, repeated across batches.
			items[i] = fmt.Sprintf(`{"class_uid":2004,"status_code":"FAIL","finding_info":{"uid":"uid-%d","title":"t%d"},"metadata":{"event_code":"c1"},"remediation":{"desc":"fix %d"}}`,
				i, i, i%7)
		}
		st := NewStore(reg)
		res, err := st.Import(ctx, strings.NewReader("["+strings.Join(items, ",")+"]"), ImportParams{TeamID: "t1"})
		if err != nil || res.FindingsCreated != len(items) {
			t.Fatalf("import: %+v %v", res, err)
		}
		var stored int
		if err := reg.Get(db.NativeScans).InTeam(ctx, "t1", func(q db.Querier) error {
			return q.QueryRowContext(ctx, "SELECT count(*) FROM finding_remediations WHERE team_id = 't1'").Scan(&stored)
		}); err != nil || stored != 7 {
			t.Fatalf("finding_remediations rows: %d %v, want 7", stored, err)
		}
		list, err := st.FindingList(ctx, ListParams{TeamID: "t1", Limit: 500})
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range list.Findings {
			var i int
			if _, err := fmt.Sscanf(f.Title, "t%d", &i); err != nil || f.Remediation != fmt.Sprintf("fix %d", i%7) {
				t.Fatalf("%s: remediation %q (%v)", f.Title, f.Remediation, err)
			}
		}
	})
}
