package findings

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/offloadsecurity/cspm/internal/db"
	"github.com/offloadsecurity/cspm/internal/db/dbtest"
)

// An import that reads the team's findings first (a snapshot) does what
// one that looks them up batch by batch does: the same counts, statuses,
// history, sightings and raw OCSF after a series of reports that change,
// resolve, reopen, repeat and move findings, with a person's mute and a
// mute rule between them. Each way runs in a team of its own.
func TestSnapshotImportsLikeLookups(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, reg *db.Registry) {
		ctx := context.Background()
		item := func(uid int, region, title, status string) string {
			return fmt.Sprintf(`{"class_uid":2004,"status_code":"%s","finding_info":{"uid":"uid-%d","title":"%s"},"metadata":{"event_code":"c%d"},"cloud":{"account":{"uid":"a1"},"region":"%s"}}`,
				status, uid, title, uid%7, region)
		}
		region := func(uid int) string { return []string{"r1", "r2"}[uid%2] }
		var reports [][]string
		// 1: 700 findings over two regions (two batches), a tenth passing.
		var first []string
		for uid := range 700 {
			status := "FAIL"
			if uid%10 == 0 {
				status = "PASS"
			}
			first = append(first, item(uid, region(uid), fmt.Sprintf("t%d", uid), status))
		}
		reports = append(reports, first)
		// 2: uid 0-49 left out (resolved), 50-99 retitled (changed), the
		// passing ones failing (reopened or opened), uid 100 reported in
		// both batches, uid 101 under the other region, 700-709 new.
		var second []string
		for uid := 50; uid < 700; uid++ {
			title, reg := fmt.Sprintf("t%d", uid), region(uid)
			if uid < 100 {
				title += " v2"
			}
			if uid == 101 {
				reg = region(uid + 1)
			}
			second = append(second, item(uid, reg, title, "FAIL"))
		}
		// uid 60, retitled in the first batch, comes back as it was in the
		// second: the snapshot's state is no longer the stored one.
		second = append(second, item(100, region(100), "t100", "FAIL"), item(60, region(60), "t60", "FAIL"))
		for uid := 700; uid < 710; uid++ {
			second = append(second, item(uid, region(uid), fmt.Sprintf("t%d", uid), "FAIL"))
		}
		reports = append(reports, second)
		// 3: the same again, then 4: uid 0-9 back (reopened), 200-209
		// retitled (a person muted uid 200 and a rule covers c3).
		reports = append(reports, second, append(slices.Clone(second), func() []string {
			var back []string
			for uid := range 10 {
				back = append(back, item(uid, region(uid), fmt.Sprintf("t%d", uid), "FAIL"))
			}
			for uid := 200; uid < 210; uid++ {
				back = append(back, item(uid, region(uid), fmt.Sprintf("t%d v3", uid), "FAIL"))
			}
			return back
		}()...))

		run := func(team string, limit int) (results []string, state map[string]string) {
			st := NewStore(reg)
			st.snapshotLimit = limit
			scans := map[string]string{}
			for i, items := range reports {
				if i == 3 {
					id := findingID(t, reg, team, "t200")
					if err := st.FindingMute(ctx, team, id, "alice", MuteByPerson, "known", nil); err != nil {
						t.Fatal(err)
					}
					if _, _, err := st.MuteRuleCreate(ctx, team, "alice", MuteRule{CheckPattern: "c3", Reason: "accepted"}); err != nil {
						t.Fatal(err)
					}
				}
				res, err := st.Import(ctx, strings.NewReader("["+strings.Join(items, ",")+"]"), ImportParams{TeamID: team})
				if err != nil {
					t.Fatal(err)
				}
				scans[res.ScanID] = fmt.Sprint("import ", i)
				res.ScanID = ""
				results = append(results, fmt.Sprintf("%+v", res))
			}
			return results, describeFindings(t, st, reg, team, scans)
		}
		lookups, lookedUp := run("lookups", -1)
		snapshot, snapped := run("snapshot", 100_000)
		if !slices.Equal(lookups, snapshot) {
			t.Errorf("import results:\nlookups  %v\nsnapshot %v", lookups, snapshot)
		}
		if len(lookedUp) != 710 {
			t.Fatalf("%d findings, want 710", len(lookedUp))
		}
		for _, fp := range slices.Sorted(maps.Keys(lookedUp)) {
			if lookedUp[fp] != snapped[fp] {
				t.Errorf("%s:\nlookups  %s\nsnapshot %s", fp, lookedUp[fp], snapped[fp])
			}
		}
	})
}

func findingID(t *testing.T, reg *db.Registry, team, title string) int64 {
	t.Helper()
	var id int64
	if err := reg.Get(db.NativeScans).InTeam(context.Background(), team, func(q db.Querier) error {
		return q.QueryRowContext(context.Background(), "SELECT id FROM findings WHERE team_id = $1 AND title = $2", team, title).Scan(&id)
	}); err != nil {
		t.Fatal(err)
	}
	return id
}

// describeFindings describes each finding of the team by its title: status,
// first and last scan (named by scans), sighting, history and raw OCSF.
func describeFindings(t *testing.T, st *Store, reg *db.Registry, team string, scans map[string]string) map[string]string {
	t.Helper()
	ctx := context.Background()
	var ids []int64
	if err := reg.Get(db.NativeScans).InTeam(ctx, team, func(q db.Querier) error {
		rows, err := q.QueryContext(ctx, "SELECT id FROM findings WHERE team_id = $1", team)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				return err
			}
			ids = append(ids, id)
		}
		return rows.Err()
	}); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, id := range ids {
		d, err := st.FindingGet(ctx, team, id)
		if err != nil {
			t.Fatal(err)
		}
		var history []string
		for _, h := range d.History {
			history = append(history, fmt.Sprintf("%s %s %s->%s", scans[h.ScanID], h.Change, h.FromStatus, h.ToStatus))
		}
		f := d.Finding
		out[f.Fingerprint] = fmt.Sprintf("%s status %s first %s last %s resolved %v history %v raw %s",
			f.Title, f.Status, scans[f.FirstScanID], scans[f.LastScanID], f.ResolvedAt != nil, history, d.Raw)
	}
	return out
}

// A person mutes a finding while an import that took a snapshot runs, and
// the import then reports the finding changed: it reads the finding again
// rather than trusting the snapshot, and the mute stays. (PostgreSQL only:
// SQLite's one writer makes the mute wait for the import.)
func TestSnapshotKeepsAMuteMadeDuringTheImport(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, reg *db.Registry) {
		if reg.Get(db.NativeScans).Dialect != db.Postgres {
			t.Skip("SQLite serializes the mute after the import")
		}
		ctx := context.Background()
		st := NewStore(reg)
		item := func(uid int, title string) string {
			return fmt.Sprintf(`{"class_uid":2004,"status_code":"FAIL","finding_info":{"uid":"uid-%d","title":"%s"},"cloud":{"account":{"uid":"a1"},"region":"r1"}}`, uid, title)
		}
		var items []string
		for uid := range 700 {
			items = append(items, item(uid, fmt.Sprintf("t%d", uid)))
		}
		if _, err := st.Import(ctx, strings.NewReader("["+strings.Join(items, ",")+"]"), ImportParams{TeamID: "t1"}); err != nil {
			t.Fatal(err)
		}
		muted := findingID(t, reg, "t1", "t650")
		items[650] = item(650, "t650 v2")

		// The report arrives in two parts: the second once the import has
		// sorted its first batch (after its snapshot) and the mute is in.
		first := "[" + strings.Join(items[:600], ",") + ","
		second := strings.Join(items[600:], ",") + "]"
		pr, pw := io.Pipe()
		go func() {
			_, _ = io.WriteString(pw, first)
		}()
		once := false
		res, err := st.Import(ctx, pr, ImportParams{TeamID: "t1", Progress: func(int) {
			if once {
				return
			}
			once = true
			// Another request's mute, on a goroutine of its own: Progress
			// runs inside the import's transaction, which must not open
			// another write transaction itself (db.CheckNesting).
			mutedDone := make(chan struct{})
			go func() {
				defer close(mutedDone)
				if err := st.FindingMute(ctx, "t1", muted, "alice", MuteByPerson, "known", nil); err != nil {
					t.Error(err)
				}
			}()
			<-mutedDone
			go func() {
				_, _ = io.WriteString(pw, second)
				_ = pw.Close()
			}()
		}})
		if err != nil {
			t.Fatal(err)
		}
		d, err := st.FindingGet(ctx, "t1", muted)
		if err != nil {
			t.Fatal(err)
		}
		if res.FindingsUpdated != 1 || d.Title != "t650 v2" || d.Status != StatusMuted {
			t.Fatalf("%+v; the finding muted during the import: %q %s", res, d.Title, d.Status)
		}
	})
}
