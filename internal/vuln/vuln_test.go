package vuln_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/offloadsecurity/cspm/internal/audit"
	"github.com/offloadsecurity/cspm/internal/db"
	"github.com/offloadsecurity/cspm/internal/db/dbtest"
	"github.com/offloadsecurity/cspm/internal/findings"
	"github.com/offloadsecurity/cspm/internal/id"
	"github.com/offloadsecurity/cspm/internal/ocsf"
	"github.com/offloadsecurity/cspm/internal/vuln"
)

const kevSample = "testdata/known_exploited_vulnerabilities.json"

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// importSample runs a real report through the ingestion pipeline, which
// feeds the vulnerability store.
func importSample(t *testing.T, reg *db.Registry, vs *vuln.Service, team, rel string) {
	t.Helper()
	st := findings.NewStore(reg)
	st.Vulns = vs
	if _, err := st.Import(context.Background(), bytes.NewReader(readFile(t, "../ingest/testdata/samples/"+rel)),
		findings.ImportParams{TeamID: team, Filename: rel}); err != nil {
		t.Fatal(err)
	}
}

func kevOf(t *testing.T, vs *vuln.Service, team string) map[string]vuln.KEVState {
	t.Helper()
	res, err := vs.List(context.Background(), vuln.ListParams{TeamID: team, Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]vuln.KEVState{}
	for _, v := range res.Vulnerabilities {
		out[v.ID] = v.KEV
	}
	return out
}

// catalogWithout rewrites the sample without the given CVE (count adjusted).
func catalogWithout(t *testing.T, drop string, mutate func(e map[string]any)) []byte {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(readFile(t, kevSample), &doc); err != nil {
		t.Fatal(err)
	}
	var kept []any
	for _, e := range doc["vulnerabilities"].([]any) {
		m := e.(map[string]any)
		if m["cveID"] == drop {
			continue
		}
		if mutate != nil {
			mutate(m)
		}
		kept = append(kept, m)
	}
	doc["vulnerabilities"], doc["count"], doc["catalogVersion"] = kept, len(kept), "2025.08.26"
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func writeTemp(t *testing.T, data []byte) string {
	t.Helper()
	p := t.TempDir() + "/kev.json"
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// The whole KEV story on both engines: occurrences from real Trivy and
// Grype reports are "never enriched" until a catalog is synced; syncing the
// real catalog stores exactly its count and flags the one CVE of those
// reports that CISA lists; bad catalogs are refused and keep the last good
// one; a catalog without the optional fields syncs; removing an entry
// un-flags it and is journaled.
func TestKEVSync(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, reg *db.Registry) {
		ctx := context.Background()
		vs := vuln.New(reg)
		team := id.New()
		importSample(t, reg, vs, team, "trivy/scheme_2_many_vulns.json")
		importSample(t, reg, vs, team, "grype/check_all_fields.json")
		before := kevOf(t, vs, team)
		if len(before) < 8 {
			t.Fatalf("%d vulnerabilities imported", len(before))
		}
		for id, k := range before {
			if k.State != "never_enriched" {
				t.Fatalf("%s before any sync: %+v", id, k)
			}
		}

		res, err := vs.EnrichWithKEV(ctx, vuln.KEVSource{File: kevSample}, audit.Event{})
		if err != nil {
			t.Fatal(err)
		}
		st, err := vs.KEVStatusGet(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if res.Count != 1404 || len(res.Added) != 1404 || st.Count != 1404 || st.CatalogVersion != "2025.08.25" || st.LastSync == nil ||
			st.LastError != "" {
			t.Fatalf("sync: count %d, added %d, status %+v", res.Count, len(res.Added), st)
		}
		var stored int
		if err := reg.Get(db.Vulnerability).Reader().QueryRowContext(ctx, "SELECT count(*) FROM kev_entries").Scan(&stored); err != nil ||
			stored != 1404 {
			t.Fatalf("kev_entries holds %d (%v)", stored, err)
		}
		after := kevOf(t, vs, team)
		for id, k := range after {
			want := "not_in_kev"
			if id == "CVE-2020-15999" {
				want = "in_kev"
			}
			if k.State != want {
				t.Errorf("%s: %s, want %s", id, k.State, want)
			}
		}
		if k := after["CVE-2020-15999"]; k.DueDate != "2021-11-17" || k.Vendor != "Google" || k.RequiredAction == "" {
			t.Errorf("CVE-2020-15999 KEV fields: %+v", k)
		}
		// The KEV vulnerability is now P1 or P2 and first in the list.
		list, _ := vs.List(ctx, vuln.ListParams{TeamID: team})
		if list.Vulnerabilities[0].ID != "CVE-2020-15999" || list.Vulnerabilities[0].Priority > "P2" {
			t.Errorf("first after KEV sync: %+v", list.Vulnerabilities[0])
		}
		inKEV := true
		if only, _ := vs.List(ctx, vuln.ListParams{TeamID: team, InKEV: &inKEV}); only.Total != 1 {
			t.Errorf("in_kev=true: %d", only.Total)
		}

		// A second sync of the same catalog changes nothing.
		again, err := vs.EnrichWithKEV(ctx, vuln.KEVSource{File: kevSample}, audit.Event{})
		if err != nil || len(again.Added)+len(again.Removed)+len(again.Updated) != 0 || again.Rescored != 0 {
			t.Fatalf("second sync: %+v, %v", again, err)
		}

		// Bad catalogs: each is refused, the error recorded, the last good one kept.
		good := readFile(t, kevSample)
		bad := map[string][]byte{
			"html page":      []byte("<!DOCTYPE html><html><body>Access Denied</body></html>"),
			"truncated":      good[:len(good)/2],
			"count mismatch": bytes.Replace(good, []byte(`"count": 1404`), []byte(`"count": 1405`), 1),
			"bad CVE":        bytes.Replace(good, []byte(`"CVE-2025-48384"`), []byte(`"CVE-25-1"`), 1),
			"empty":          nil,
		}
		for name, data := range bad {
			if _, err := vs.EnrichWithKEV(ctx, vuln.KEVSource{File: writeTemp(t, data)}, audit.Event{}); err == nil {
				t.Fatalf("%s: accepted", name)
			}
			st, _ := vs.KEVStatusGet(ctx)
			if st.LastError == "" || st.Count != 1404 || st.CatalogVersion != "2025.08.25" {
				t.Fatalf("%s: status %+v", name, st)
			}
			if k := kevOf(t, vs, team)["CVE-2020-15999"]; k.State != "in_kev" {
				t.Fatalf("%s: lost the flag: %+v", name, k)
			}
		}

		// A well-formed catalog that would remove more than a tenth of the
		// entries (an empty one, a mirror's partial copy) is refused unless
		// forced, and the stored one stays.
		shrunk := func(keep int) []byte {
			var doc map[string]any
			if err := json.Unmarshal(good, &doc); err != nil {
				t.Fatal(err)
			}
			entries := doc["vulnerabilities"].([]any)[:keep]
			doc["vulnerabilities"], doc["count"], doc["catalogVersion"] = entries, keep, "2025.08.27"
			b, _ := json.Marshal(doc)
			return b
		}
		for _, keep := range []int{0, 1200} {
			_, err := vs.EnrichWithKEV(ctx, vuln.KEVSource{File: writeTemp(t, shrunk(keep))}, audit.Event{})
			if !errors.Is(err, vuln.ErrKEVShrink) {
				t.Fatalf("a %d-entry catalog: %v, want ErrKEVShrink", keep, err)
			}
			if st, _ := vs.KEVStatusGet(ctx); st.Count != 1404 || !strings.Contains(st.LastError, "would remove") {
				t.Fatalf("after a %d-entry catalog: %+v", keep, st)
			}
		}
		if res, err := vs.EnrichWithKEV(ctx, vuln.KEVSource{File: writeTemp(t, shrunk(1300))}, audit.Event{}); err != nil || len(res.Removed) != 104 {
			t.Fatalf("a catalog removing 104 of 1404 (7%%): %v, %+v", err, res)
		}
		if _, err := vs.EnrichWithKEV(ctx, vuln.KEVSource{File: kevSample}, audit.Event{}); err != nil {
			t.Fatal(err)
		}

		// An older-style catalog without the optional fields syncs, and
		// dropping CVE-2020-15999 un-flags it.
		stripped := catalogWithout(t, "CVE-2020-15999", func(e map[string]any) {
			delete(e, "knownRansomwareCampaignUse")
			delete(e, "notes")
			delete(e, "cwes")
		})
		res, err = vs.EnrichWithKEV(ctx, vuln.KEVSource{File: writeTemp(t, stripped)}, audit.Event{})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Removed) != 1 || res.Removed[0] != "CVE-2020-15999" || res.Count != 1403 || res.Rescored < 1 {
			t.Fatalf("removal: removed %v, count %d, rescored %d", res.Removed, res.Count, res.Rescored)
		}
		if k := kevOf(t, vs, team)["CVE-2020-15999"]; k.State != "not_in_kev" || k.DueDate != "" {
			t.Fatalf("after removal: %+v", k)
		}
		journal, err := vs.KEVJournal(ctx, 5)
		if err != nil || len(journal) == 0 || journal[0].CVEID != "CVE-2020-15999" || journal[0].Change != "removed" ||
			journal[0].CatalogVersion != "2025.08.26" {
			t.Fatalf("journal: %+v, %v", journal, err)
		}

		// Forced, the operator's word stands.
		res, err = vs.EnrichWithKEV(ctx, vuln.KEVSource{File: writeTemp(t, shrunk(0)), Force: true}, audit.Event{})
		if err != nil || res.Count != 0 || len(res.Removed) != 1403 {
			t.Fatalf("forced empty catalog: %v, %+v", err, res)
		}
	})
}

// The download path against a local server speaking HTTP like CISA's:
// a good catalog syncs; a 200 with an HTML page does not.
func TestKEVDownload(t *testing.T) {
	t.Parallel()
	good := readFile(t, kevSample)
	html := false
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if html {
			w.Header().Set("Content-Type", "text/html")
			_, _ = w.Write([]byte("<html>maintenance</html>"))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(good)
	}))
	defer srv.Close()
	reg := dbtest.Open(t, dbtest.Engines(t)[0])
	vs := vuln.New(reg)
	ctx := context.Background()
	if res, err := vs.EnrichWithKEV(ctx, vuln.KEVSource{URL: srv.URL}, audit.Event{}); err != nil || res.Count != 1404 {
		t.Fatalf("download: %+v, %v", res, err)
	}
	html = true
	_, err := vs.EnrichWithKEV(ctx, vuln.KEVSource{URL: srv.URL}, audit.Event{})
	st, _ := vs.KEVStatusGet(ctx)
	if err == nil || !strings.Contains(st.LastError, "not a JSON object") || st.Count != 1404 || st.Source != srv.URL {
		t.Fatalf("html: %v, status %+v", err, st)
	}
}

func TestParseKEVErrorsSayWhat(t *testing.T) {
	t.Parallel()
	for doc, want := range map[string]string{
		`{"catalogVersion":"1","dateReleased":"2025-01-01T00:00:00Z","vulnerabilities":[]}`:             "count is missing",
		`{"catalogVersion":"1","dateReleased":"2025-01-01T00:00:00Z","count":0}`:                        "vulnerabilities is missing",
		`{"catalogVersion":"1","dateReleased":"yesterday","count":0,"vulnerabilities":[]}`:              "not a date-time",
		`{"catalogVersion":"1","dateReleased":"2025-01-01T00:00:00Z","count":1,"vulnerabilities":[{}]}`: "entry 1",
		`[1,2,3]`: "not a JSON object",
		`{"catalogVersion":"1","dateReleased":"2025-01-01T00:00:00Z","count":1,"vulnerabilities":[{"cveID":"CVE-2025-0001","vendorProject":"v",
		  "product":"p","vulnerabilityName":"n","dateAdded":"2025-01-01","shortDescription":"d","requiredAction":"a","dueDate":"2025-13-01"}]}`: "dueDate",
	} {
		if _, err := vuln.ParseKEV([]byte(doc)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", doc, err, want)
		}
	}
}

// EPSS: a gzipped daily file is imported, scores reach the catalog and
// move the risk score; a malformed file is refused with its line and the
// last import stays.
func TestEPSSImport(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, reg *db.Registry) {
		ctx := context.Background()
		vs := vuln.New(reg)
		team := id.New()
		importSample(t, reg, vs, team, "trivy/scheme_2_many_vulns.json")
		riskOf := func(id string) float64 {
			d, err := vs.Get(ctx, team, id)
			if err != nil {
				t.Fatal(err)
			}
			return d.Occurrences[0].RiskScore
		}
		before := riskOf("CVE-2018-11771")
		var csv bytes.Buffer
		csv.WriteString("#model_version:v2025.03.14,score_date:2025-08-25T00:00:00+0000\ncve,epss,percentile\n")
		csv.WriteString("CVE-2018-11771,0.91000,0.99000\nCVE-2020-15999,0.50000,0.97000\n")
		for i := 0; i < 1000; i++ {
			fmt.Fprintf(&csv, "CVE-2024-%05d,0.00100,0.10000\n", i)
		}
		var gz bytes.Buffer
		zw := gzip.NewWriter(&gz)
		_, _ = zw.Write(csv.Bytes())
		_ = zw.Close()
		res, err := vs.ImportEPSS(ctx, &gz, "test", audit.Event{})
		if err != nil {
			t.Fatal(err)
		}
		if res.Count != 1002 || res.ModelVersion != "v2025.03.14" || res.Enriched != 2 {
			t.Fatalf("import: %+v", res)
		}
		d, _ := vs.Get(ctx, team, "CVE-2018-11771")
		if d.EPSSScore == nil || *d.EPSSScore != 0.91 || d.EPSSDate == "" || riskOf("CVE-2018-11771") <= before {
			t.Fatalf("EPSS on the catalog: %+v, risk %v -> %v", d.EPSSScore, before, riskOf("CVE-2018-11771"))
		}
		epssMin := 0.5
		if l, _ := vs.List(ctx, vuln.ListParams{TeamID: team, EPSSMin: epssMin}); l.Total != 2 {
			t.Fatalf("epss >= 0.5: %d", l.Total)
		}
		if _, err := vs.ImportEPSS(ctx, strings.NewReader("cve,epss,percentile\nCVE-2018-11771,1.5,0.2\n"), "bad", audit.Event{}); err == nil ||
			!strings.Contains(err.Error(), "line 2") {
			t.Fatalf("bad file: %v", err)
		}
		if st, _ := vs.EPSSStatusGet(ctx); st.Count != 1002 || st.LastError == "" {
			t.Fatalf("status after bad file: %+v", st)
		}
	})
}

// SLA: deadlines by severity from first sight, a team's own policy, the KEV
// due date as a cap, the overdue filter in SQL agreeing with the deadline
// computed in Go, and acceptance.
func TestSLAAndPrioritization(t *testing.T) {
	t.Parallel()
	p := vuln.DefaultSLA
	first := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if d := p.DueAt(ocsf.SeverityCritical, first, ""); d == nil || !d.Equal(first.AddDate(0, 0, 7)) {
		t.Errorf("critical: %v", d)
	}
	if d := p.DueAt(ocsf.SeverityHigh, first, "2026-01-10"); d == nil || !d.Equal(time.Date(2026, 1, 11, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("KEV cap: %v", d)
	}
	if d := p.DueAt(ocsf.SeverityInformational, first, ""); d != nil {
		t.Errorf("informational: %v", d)
	}
	dbtest.Each(t, func(t *testing.T, reg *db.Registry) {
		ctx := context.Background()
		vs := vuln.New(reg)
		team := id.New()
		importSample(t, reg, vs, team, "trivy/scheme_2_many_vulns.json")
		all, err := vs.OccurrenceList(ctx, team, "open")
		if err != nil || len(all) != 5 {
			t.Fatalf("%d occurrences, %v", len(all), err)
		}
		// Just imported: nothing is overdue, whatever the severity.
		if l, _ := vs.List(ctx, vuln.ListParams{TeamID: team, Overdue: true}); l.Total != 0 {
			t.Fatalf("overdue right after import: %d", l.Total)
		}
		// KEV's due date for CVE-2020-15999 is in 2021: once synced, it is overdue at once.
		if _, err := vs.EnrichWithKEV(ctx, vuln.KEVSource{File: kevSample}, audit.Event{}); err != nil {
			t.Fatal(err)
		}
		l, err := vs.List(ctx, vuln.ListParams{TeamID: team, Overdue: true})
		if err != nil {
			t.Fatal(err)
		}
		if l.Total != 1 || l.Vulnerabilities[0].ID != "CVE-2020-15999" || l.Vulnerabilities[0].Overdue != 1 {
			t.Fatalf("overdue after KEV: %+v", l)
		}
		// A policy of one day, seen from a week later: every occurrence
		// with a severity is overdue, in SQL as in Go.
		if err := vs.SLAPolicySet(ctx, team, "admin@x", vuln.SLAPolicy{CriticalDays: 1, HighDays: 1, MediumDays: 1, LowDays: 1}); err != nil {
			t.Fatal(err)
		}
		if err := vs.SLAPolicySet(ctx, team, "admin@x", vuln.SLAPolicy{CriticalDays: 30, HighDays: 7, MediumDays: 90, LowDays: 120}); err == nil {
			t.Error("a critical deadline longer than the high one was accepted")
		}
		if err := vs.SLAPolicySet(ctx, team, "admin@x", vuln.SLAPolicy{CriticalDays: 0, HighDays: 1, MediumDays: 1, LowDays: 1}); err == nil {
			t.Fatal("a zero-day deadline was accepted")
		}
		vuln.SetClock(vs, func() time.Time { return time.Now().Add(7 * 24 * time.Hour) })
		l, err = vs.List(ctx, vuln.ListParams{TeamID: team, Overdue: true, Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		occ, err := vs.OccurrenceList(ctx, team, "open")
		if err != nil {
			t.Fatal(err)
		}
		overdueInGo := 0
		for _, o := range occ {
			if o.Overdue {
				overdueInGo++
			}
		}
		sum := 0
		for _, v := range l.Vulnerabilities {
			sum += v.Overdue
		}
		if overdueInGo != 5 || sum != 5 {
			t.Fatalf("overdue: %d in Go, %d in SQL", overdueInGo, sum)
		}
		// Accepting a risk takes it out of the open list (and its cached
		// total); a reason is required.
		target := occ[0]
		openBefore, err := vs.List(ctx, vuln.ListParams{TeamID: team})
		if err != nil || openBefore.Total != 5 {
			t.Fatalf("open before: %d, %v", openBefore.Total, err)
		}
		if _, err := vs.OccurrenceSetStatus(ctx, team, target.ID, vuln.StatusChange{Status: "accepted"}, audit.Event{}); err == nil {
			t.Fatal("accepted without a reason")
		}
		if _, err := vs.OccurrenceSetStatus(ctx, id.New(), target.ID, vuln.StatusChange{Status: "accepted", Reason: "x"}, audit.Event{}); err == nil {
			t.Fatal("another team changed the occurrence")
		}
		got, err := vs.OccurrenceSetStatus(ctx, team, target.ID, vuln.StatusChange{Status: "accepted", Reason: "compensating control"},
			audit.Event{ActorEmail: "lead@x"})
		if err != nil || got.Status != "accepted" || got.AcceptedBy != "lead@x" || got.Overdue {
			t.Fatalf("accept: %+v, %v", got, err)
		}
		if open, _ := vs.OccurrenceList(ctx, team, "open"); len(open) != 4 {
			t.Fatalf("%d open after acceptance", len(open))
		}
		if l, _ := vs.List(ctx, vuln.ListParams{TeamID: team}); l.Total != 4 || len(l.Vulnerabilities) != 4 {
			t.Fatalf("list after acceptance: total %d, %d rows", l.Total, len(l.Vulnerabilities))
		}
	})
}

// Pages walked one by one give exactly the full list, in the same order,
// ties included, for both groupings.
func TestListPagesMatchFullOrder(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, reg *db.Registry) {
		ctx := context.Background()
		vs := vuln.New(reg)
		team := id.New()
		importSample(t, reg, vs, team, "trivy/scheme_2_many_vulns.json")
		importSample(t, reg, vs, team, "grype/check_all_fields.json")
		importSample(t, reg, vs, team, "nmap/nmap_script_vulners.xml")
		// Thirty vulnerabilities with the same score, written in an order
		// unlike their IDs': every page boundary among them is a tie.
		var tied strings.Builder
		tied.WriteString(`{"ArtifactName":"registry/tied:1","Results":[{"Target":"t","Vulnerabilities":[`)
		for i := 0; i < 30; i++ {
			if i > 0 {
				tied.WriteString(",")
			}
			fmt.Fprintf(&tied, `{"VulnerabilityID":"CVE-2031-%04d","PkgName":"p%d","InstalledVersion":"1","Severity":"HIGH"}`, (i*7)%30, i)
		}
		tied.WriteString(`]}]}`)
		st := findings.NewStore(reg)
		st.Vulns = vs
		if _, err := st.Import(ctx, strings.NewReader(tied.String()), findings.ImportParams{TeamID: team, Format: "trivy"}); err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			group  string
			window int
		}{{"vulnerability", 2000}, {"asset", 2000}, {"vulnerability", 1}, {"asset", 2}} {
			group := c.group
			vuln.SetWindowFor(t, vs, c.window)
			keysOf := func(l vuln.VulnerabilityList) []string {
				var out []string
				for _, v := range l.Vulnerabilities {
					out = append(out, fmt.Sprintf("%s %.3f", v.ID, v.RiskScore))
				}
				for _, a := range l.Assets {
					out = append(out, fmt.Sprintf("%s %.3f", a.Asset, a.RiskScore))
				}
				return out
			}
			full, err := vs.List(ctx, vuln.ListParams{TeamID: team, GroupBy: group, Limit: 500})
			if err != nil {
				t.Fatal(err)
			}
			want := keysOf(full)
			if len(want) != full.Total || len(want) < 3 {
				t.Fatalf("%s: %d rows, total %d", group, len(want), full.Total)
			}
			var paged []string
			for off := 0; off < full.Total; off += 2 {
				page, err := vs.List(ctx, vuln.ListParams{TeamID: team, GroupBy: group, Limit: 2, Offset: off})
				if err != nil {
					t.Fatal(err)
				}
				paged = append(paged, keysOf(page)...)
			}
			if strings.Join(paged, "\n") != strings.Join(want, "\n") {
				t.Fatalf("%s: pages\n%s\nfull\n%s", group, strings.Join(paged, "\n"), strings.Join(want, "\n"))
			}
			for i := 1; i < len(full.Vulnerabilities); i++ {
				a, b := full.Vulnerabilities[i-1], full.Vulnerabilities[i]
				if a.RiskScore < b.RiskScore || (a.RiskScore == b.RiskScore && a.ID > b.ID) {
					t.Fatalf("out of order: %s %v before %s %v", a.ID, a.RiskScore, b.ID, b.RiskScore)
				}
			}
		}
	})
}
