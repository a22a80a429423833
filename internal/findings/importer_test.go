package findings_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/offloadsecurity/cspm/internal/db"
	"github.com/offloadsecurity/cspm/internal/db/dbtest"
	"github.com/offloadsecurity/cspm/internal/findings"
	"github.com/offloadsecurity/cspm/internal/id"
	"github.com/offloadsecurity/cspm/internal/nativescans"
	"github.com/offloadsecurity/cspm/internal/ocsf"
	"github.com/offloadsecurity/cspm/internal/vuln"
)

func sample(t *testing.T, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile("../ingest/testdata/samples/" + rel)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func importBytes(t *testing.T, st *findings.Store, team string, data []byte) findings.ImportResult {
	t.Helper()
	res, err := st.Import(context.Background(), bytes.NewReader(data), findings.ImportParams{TeamID: team, Filename: "x"})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// Importing every sample, then the same files again: the second time
// creates nothing.
func TestImportSamplesTwice(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, reg *db.Registry) {
		st := findings.NewStore(reg)
		team := id.New()
		cases := map[string][2]int{ // items read, distinct findings
			"prowler/example_output_aws.ocsf.json": {5, 5}, "prowler/dojo_example_output_gcp.ocsf.json": {3, 3},
			"trivy/scheme_2_many_vulns.json": {5, 5}, "grype/check_all_fields.json": {6, 5}, "nmap/nmap_script_vulners.xml": {3, 3},
			"zap/dvwa_baseline_dojo.xml": {19, 18}, "nuclei/multiple_v3.json": {6, 6}, "wapiti/example.xml": {5, 5},
			"sarif/bash-report.sarif":      {27, 12},
			"trivy/kubernetes_subset.json": {13, 13}, "trivy/legacy_trivy_mix.json": {7, 7},
			"asff/prowler-output.asff.json": {731, 728}, "asff/securityhub_config_many_findings.json": {3, 3},
			"asff/securityhub_inspector_ec2_cve.json": {5, 5}, "checkov/checkov-report-many-vuln.json": {3, 3},
			"osv/some_findings.json": {1, 1}, "prowler/prowler3_one_vuln.json": {1, 1},
		}
		for rel, want := range cases {
			data := sample(t, rel)
			first := importBytes(t, st, team, data)
			if first.ItemsRead != want[0] || first.FindingsCreated != want[1] || first.FindingsUpdated != 0 {
				t.Errorf("%s first import: %+v, want %d read, %d created", rel, first, want[0], want[1])
			}
			again := importBytes(t, st, team, data)
			if again.FindingsCreated != 0 || again.FindingsUpdated != 0 || again.FindingsResolved != 0 || again.FindingsUnchanged != want[1] {
				t.Errorf("%s second import: %+v, want all %d unchanged", rel, again, want[1])
			}
		}
		// Another team importing the same file gets its own findings.
		other := importBytes(t, st, id.New(), sample(t, "trivy/scheme_2_many_vulns.json"))
		if other.FindingsCreated != 5 {
			t.Errorf("other team: %+v", other)
		}
	})
}

// A later scan of the same scope that no longer lists a finding resolves
// it; a finding that comes back is reopened.
func TestLifecycleResolveAndReopen(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, reg *db.Registry) {
		st := findings.NewStore(reg)
		team := id.New()
		full := sample(t, "nmap/nmap_multiple_port.xml")
		importBytes(t, st, team, full)
		// Drop the first open port's <port> element: that port was closed.
		s := string(full)
		i := strings.Index(s, `<port protocol="tcp" portid="21">`)
		j := strings.Index(s[i:], "</port>") + i + len("</port>")
		fewer := s[:i] + s[j:]
		res := importBytes(t, st, team, []byte(fewer))
		if res.FindingsResolved != 1 || res.FindingsUnchanged != 12 || res.FindingsCreated != 0 {
			t.Fatalf("rescan without port 21: %+v", res)
		}
		res = importBytes(t, st, team, full)
		if res.FindingsUpdated != 1 || res.FindingsUnchanged != 12 {
			t.Fatalf("port 21 back: %+v", res)
		}
		list, err := st.FindingList(context.Background(), findings.ListParams{TeamID: team, Status: []string{"reopened"}})
		if err != nil || list.Total != 1 || !strings.Contains(list.Findings[0].Location, "21/tcp") {
			t.Fatalf("reopened = %+v %v", list, err)
		}
		detail, err := st.FindingGet(context.Background(), team, list.Findings[0].ID)
		if err != nil {
			t.Fatal(err)
		}
		var changes []string
		for _, h := range detail.History {
			changes = append(changes, h.Change)
		}
		if strings.Join(changes, ",") != "new,resolved,reopened" || len(detail.Raw) == 0 {
			t.Fatalf("history %v, raw %d bytes", changes, len(detail.Raw))
		}
		// Another scope (another host) is untouched by this host's scans.
		if _, err := st.FindingGet(context.Background(), id.New(), list.Findings[0].ID); err == nil {
			t.Fatal("another team read the finding")
		}
	})
}

// A malformed report leaves no finding visible, and a failed entry in the history.
func TestFailedImportLeavesNothing(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, reg *db.Registry) {
		st := findings.NewStore(reg)
		team := id.New()
		data := sample(t, "zap/dvwa_baseline_dojo.xml")
		_, err := st.Import(context.Background(), bytes.NewReader(data[:len(data)*3/4]), findings.ImportParams{TeamID: team})
		if err == nil || !strings.Contains(err.Error(), "line") {
			t.Fatalf("truncated import: %v", err)
		}
		list, err := st.FindingList(context.Background(), findings.ListParams{TeamID: team})
		if err != nil || list.Total != 0 {
			t.Fatalf("findings after a failed import: %d %v", list.Total, err)
		}
		hist, total, err := nativescans.New(reg).ScanResultList(context.Background(), nativescans.ListParams{TeamID: team})
		if err != nil || total != 1 || hist[0].Status != nativescans.StatusFailed || hist[0].Error == "" || hist[0].Tool != "zap" {
			t.Fatalf("history = %+v %v", hist, err)
		}
	})
}

// A NUL character (JSON's \u0000) or a byte that is not UTF-8 in a
// finding's text loses nothing: PostgreSQL's text cannot hold a NUL, and
// one failed the whole import there. Both engines store U+FFFD in its
// place, and the raw OCSF keeps the original.
func TestTextNoDatabaseCanHoldIsReplaced(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, reg *db.Registry) {
		ctx := context.Background()
		st := findings.NewStore(reg)
		team := id.New()
		ocsfReport := `[{"class_uid":2004,"status_code":"FAIL","finding_info":{"uid":"u1","title":"nul\u0000here"},"metadata":{"event_code":"c1"},"cloud":{"account":{"uid":"a1"},"region":"r1"}},
			{"class_uid":2004,"status_code":"FAIL","finding_info":{"uid":"u2","title":"fine"},"metadata":{"event_code":"c2"},"cloud":{"account":{"uid":"a1"},"region":"r1"}}]`
		if res := importBytes(t, st, team, []byte(ocsfReport)); res.FindingsCreated != 2 {
			t.Fatalf("created %d, want 2", res.FindingsCreated)
		}
		csv := sample(t, "prowler/example_output_aws.csv")
		lines := bytes.SplitN(csv, []byte("\n"), 3)
		cols := bytes.Split(lines[1], []byte(";"))
		for i, h := range bytes.Split(lines[0], []byte(";")) {
			if string(h) == "CHECK_TITLE" {
				cols[i] = append([]byte("latin1 caf\xe9 "), cols[i]...)
			}
		}
		other := id.New()
		if res := importBytes(t, st, other, append(append(lines[0], '\n'), bytes.Join(cols, []byte(";"))...)); res.FindingsCreated != 1 {
			t.Fatalf("CSV: created %d, want 1", res.FindingsCreated)
		}
		for _, c := range []struct{ team, text, want string }{{team, "nul", "nul\uFFFDhere"}, {other, "latin1", "latin1 caf\uFFFD "}} {
			list, err := st.FindingList(ctx, findings.ListParams{TeamID: c.team, Text: c.text})
			if err != nil || list.Total != 1 {
				t.Fatalf("finding %q: %d %v", c.text, list.Total, err)
			}
			if title := list.Findings[0].Title; !strings.HasPrefix(title, c.want) {
				t.Errorf("title %q, want it to start with %q", title, c.want)
			}
			if c.team != team {
				continue
			}
			d, err := st.FindingGet(ctx, c.team, list.Findings[0].ID)
			if err != nil || !strings.Contains(string(d.Raw), `nul\u0000here`) {
				t.Errorf("raw OCSF %s %v, want the original title", d.Raw, err)
			}
		}
	})
}

// Rules mute matching findings retroactively and at ingestion; deleting a
// rule unmutes them; a single finding can be risk-accepted with an expiry.
func TestMuting(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, reg *db.Registry) {
		ctx := context.Background()
		st := findings.NewStore(reg)
		team := id.New()
		data := sample(t, "nmap/nmap_multiple_port.xml")
		importBytes(t, st, team, data)

		// Retroactive: the rule mutes the stored open-port findings of one port.
		rule, n, err := st.MuteRuleCreate(ctx, team, "ana@example.com", findings.MuteRule{CheckPattern: "OPEN-*", ResourcePattern: "198.38.82.*", Reason: "scanner host"})
		if err != nil || n != 13 {
			t.Fatalf("rule = %v, muted %d, want 13", err, n)
		}
		count := func(status string) int {
			l, err := st.FindingList(ctx, findings.ListParams{TeamID: team, Status: []string{status}})
			if err != nil {
				t.Fatal(err)
			}
			return l.Total
		}
		if count("muted") != 13 || count("open") != 0 {
			t.Fatalf("after rule: %d muted, %d open", count("muted"), count("open"))
		}
		// At ingestion: a re-import keeps them muted and creates nothing.
		res := importBytes(t, st, team, data)
		if res.FindingsUnchanged != 13 || count("muted") != 13 {
			t.Fatalf("re-import with rule: %+v, %d muted", res, count("muted"))
		}
		// Deleting the rule unmutes them.
		if n, err := st.MuteRuleDelete(ctx, team, rule.ID); err != nil || n != 13 {
			t.Fatalf("delete rule: %d %v", n, err)
		}
		if count("open") != 13 {
			t.Fatalf("after deleting the rule: %d open", count("open"))
		}
		// A new rule applies at ingestion to a fresh team's findings.
		other := id.New()
		if _, _, err := st.MuteRuleCreate(ctx, other, "bo@example.com", findings.MuteRule{Tool: "nmap", Reason: "lab network"}); err != nil {
			t.Fatal(err)
		}
		importBytes(t, st, other, data)
		l, _ := st.FindingList(ctx, findings.ListParams{TeamID: other, Status: []string{"muted"}})
		if l.Total != 13 {
			t.Fatalf("muted at ingestion: %d", l.Total)
		}
		// Risk acceptance of one finding, with an expiry that passes.
		one, _ := st.FindingList(ctx, findings.ListParams{TeamID: team, Limit: 1})
		fid := one.Findings[0].ID
		until := time.Now().Add(50 * time.Millisecond)
		if err := st.FindingMute(ctx, team, fid, "ana@example.com", findings.MuteRiskAccepted, "compensating control", &until); err != nil {
			t.Fatal(err)
		}
		if count("muted") != 1 {
			t.Fatalf("risk accepted: %d muted", count("muted"))
		}
		time.Sleep(100 * time.Millisecond)
		if n, err := st.ExpireMutes(ctx); err != nil || n != 1 {
			t.Fatalf("expire = %d %v", n, err)
		}
		d, _ := st.FindingGet(ctx, team, fid)
		last := d.History[len(d.History)-1]
		if d.Status != "open" || last.Change != "unmuted" {
			t.Fatalf("after expiry: %s, last change %s", d.Status, last.Change)
		}
		// Bad rules are refused.
		for _, bad := range []findings.MuteRule{{Reason: "no criteria"}, {CheckPattern: "*", Reason: "everything"}, {Tool: "nmap"}} {
			if _, _, err := st.MuteRuleCreate(ctx, team, "x", bad); err == nil {
				t.Errorf("rule %+v accepted", bad)
			}
		}
		if err := st.FindingMute(ctx, id.New(), fid, "x", findings.MuteByPerson, "other team", nil); err == nil {
			t.Error("another team muted the finding")
		}
	})
}

// Findings that carry vulnerability IDs also land in the vulnerability
// store: the catalog gets each ID once, each team its own occurrences, and a
// rescan that no longer reports one fixes it.
func TestDualIngestion(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, reg *db.Registry) {
		ctx := context.Background()
		st := findings.NewStore(reg)
		vs := vuln.New(reg)
		st.Vulns = vs
		team := id.New()
		res := importBytes(t, st, team, sample(t, "trivy/scheme_2_many_vulns.json"))
		if res.Vulnerabilities == nil || res.Vulnerabilities.Opened != 5 || res.Vulnerabilities.CatalogAdded != 5 {
			t.Fatalf("trivy: %+v", res.Vulnerabilities)
		}
		res = importBytes(t, st, team, sample(t, "grype/check_all_fields.json"))
		// Six matches, one repeated: five occurrences of six IDs (one match lists a related ID).
		occ, err := vs.OccurrenceList(ctx, team, "open")
		if err != nil {
			t.Fatal(err)
		}
		if len(occ) != 5+res.Vulnerabilities.Opened || res.Vulnerabilities.Opened < 5 {
			t.Fatalf("%d open occurrences after grype (%+v)", len(occ), res.Vulnerabilities)
		}
		// Another team importing the same report shares the catalog, not the occurrences.
		before, _ := vs.CatalogCount(ctx)
		other := importBytes(t, st, id.New(), sample(t, "trivy/scheme_2_many_vulns.json"))
		after, _ := vs.CatalogCount(ctx)
		if other.Vulnerabilities.Opened != 5 || other.Vulnerabilities.CatalogAdded != 0 || after != before {
			t.Fatalf("other team: %+v, catalog %d -> %d", other.Vulnerabilities, before, after)
		}
		// A rescan of the image without one vulnerability fixes its occurrence.
		var doc map[string]any
		if err := json.Unmarshal(sample(t, "trivy/scheme_2_many_vulns.json"), &doc); err != nil {
			t.Fatal(err)
		}
		removed := false
		for _, r := range doc["Results"].([]any) {
			res := r.(map[string]any)
			vulns, _ := res["Vulnerabilities"].([]any)
			for i, v := range vulns {
				if v.(map[string]any)["VulnerabilityID"] == "CVE-2020-15999" {
					res["Vulnerabilities"] = append(vulns[:i:i], vulns[i+1:]...)
					removed = true
					break
				}
			}
		}
		if !removed {
			t.Fatal("sample changed")
		}
		fewer, _ := json.Marshal(doc)
		res = importBytes(t, st, team, fewer)
		if res.Vulnerabilities == nil || res.Vulnerabilities.Fixed != 1 {
			t.Fatalf("rescan: %+v (findings %+v)", res.Vulnerabilities, res)
		}
	})
}

// A facet ignores its own filter: filtering on one severity still counts
// the others, while the other filters narrow every facet.
func TestFacetsIgnoreTheirOwnFilter(t *testing.T) {
	t.Parallel()
	reg := dbtest.Open(t, dbtest.Engine{Name: "sqlite"})
	st := findings.NewStore(reg)
	team := id.New()
	importBytes(t, st, team, sample(t, "zap/dvwa_baseline_dojo.xml"))
	importBytes(t, st, team, sample(t, "trivy/scheme_2_many_vulns.json"))
	res, err := st.FindingList(context.Background(), findings.ListParams{TeamID: team, Severity: []string{"medium"}, Tool: []string{"zap"}, Facets: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Total != 4 {
		t.Fatalf("total %d", res.Total)
	}
	// Severity facet: every ZAP severity (tool filter applies, severity filter not).
	if res.Facets.Severity["medium"] != 4 || res.Facets.Severity["low"] != 8 || res.Facets.Severity["critical"] != 0 {
		t.Fatalf("severity facet %v", res.Facets.Severity)
	}
	// Tool facet: medium findings of every tool (severity applies, tool not).
	if res.Facets.Tool["zap"] != 4 || res.Facets.Tool["trivy"] != 3 {
		t.Fatalf("tool facet %v", res.Facets.Tool)
	}
}

// A severity filter is a range when its values are consecutive and a list
// otherwise; both count exactly the findings of the chosen severities, and
// pages walk them in severity order on both engines.
func TestSeverityFilterRangesAndLists(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, reg *db.Registry) {
		ctx := context.Background()
		st := findings.NewStore(reg)
		team := id.New()
		importBytes(t, st, team, sample(t, "zap/dvwa_baseline_dojo.xml"))
		importBytes(t, st, team, sample(t, "trivy/scheme_2_many_vulns.json"))
		all, err := st.FindingList(ctx, findings.ListParams{TeamID: team, Limit: 500, Facets: true})
		if err != nil {
			t.Fatal(err)
		}
		bySev := all.Facets.Severity
		for _, sevs := range [][]string{{"high", "critical"}, {"critical", "medium", "high"}, {"critical", "low"}, {"medium"}, {"informational", "high"}} {
			want := 0
			for _, s := range sevs {
				want += bySev[s]
			}
			var got []findings.Finding
			p := findings.ListParams{TeamID: team, Severity: sevs, Limit: 3}
			for {
				res, err := st.FindingList(ctx, p)
				if err != nil {
					t.Fatal(err)
				}
				if res.Total != want {
					t.Fatalf("%v: total %d, want %d", sevs, res.Total, want)
				}
				got = append(got, res.Findings...)
				if res.NextCursor == "" {
					break
				}
				p.Cursor = res.NextCursor
			}
			if len(got) != want {
				t.Fatalf("%v: paged %d, want %d", sevs, len(got), want)
			}
			for i := 1; i < len(got); i++ {
				a, _ := ocsf.SeverityFromKey(got[i-1].Severity)
				b, _ := ocsf.SeverityFromKey(got[i].Severity)
				if a < b || (a == b && got[i-1].ID < got[i].ID) {
					t.Fatalf("%v: out of order at %d", sevs, i)
				}
			}
		}
	})
}
