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
	"github.com/offloadsecurity/cspm/internal/vuln"
)

// trivyMisconfigs is a Trivy report of one image with the given
// misconfigurations: "ID:STATUS:SEVERITY" each, all in one file.
func trivyMisconfigs(image string, items ...string) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, `{"SchemaVersion":2,"ArtifactName":%q,"Results":[{"Target":"Dockerfile","Class":"config","Type":"dockerfile","Misconfigurations":[`, image)
	for i, it := range items {
		parts := strings.Split(it, ":")
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"ID":%q,"Title":"check %s","Status":%q,"Severity":%q}`, parts[0], parts[0], parts[1], parts[2])
	}
	b.WriteString(`]}]}`)
	return []byte(b.String())
}

func findingStatus(t *testing.T, st *findings.Store, team, check string) (status, severity string) {
	t.Helper()
	l, err := st.FindingList(context.Background(), findings.ListParams{TeamID: team, Check: []string{check},
		Status: []string{"open", "resolved", "reopened", "muted"}})
	if err != nil || len(l.Findings) != 1 {
		t.Fatalf("%s: %d findings, %v", check, len(l.Findings), err)
	}
	return l.Findings[0].Status, l.Findings[0].Severity
}

// Two items of one report with one identity keep the worst result and
// severity, in either order, within a batch and across batches, and the
// summary counts the fold.
func TestDuplicatesKeepTheWorst(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, reg *db.Registry) {
		st := findings.NewStore(reg)
		team := id.New()
		items := []string{"AVD-1:FAIL:HIGH", "AVD-1:PASS:HIGH", "AVD-2:PASS:LOW", "AVD-2:FAIL:LOW", "AVD-3:FAIL:LOW", "AVD-3:FAIL:CRITICAL"}
		// 600 distinct checks between, so that the last items of
		// AVD-4 and AVD-5 come in another batch than their first.
		items = append(items, "AVD-4:PASS:MEDIUM", "AVD-5:FAIL:MEDIUM")
		for i := range 600 {
			items = append(items, fmt.Sprintf("FILL-%d:PASS:LOW", i))
		}
		items = append(items, "AVD-4:FAIL:MEDIUM", "AVD-5:PASS:MEDIUM")
		res := importBytes(t, st, team, trivyMisconfigs("shop:1", items...))
		if res.ItemsRead != len(items) || res.DuplicatesFolded != 5 || res.FindingsCreated != 605 {
			t.Fatalf("import: %+v", res)
		}
		for check, want := range map[string][2]string{"AVD-1": {"open", "high"}, "AVD-2": {"open", "low"},
			"AVD-3": {"open", "critical"}, "AVD-4": {"open", "medium"}, "AVD-5": {"open", "medium"}} {
			if status, sev := findingStatus(t, st, team, check); status != want[0] || sev != want[1] {
				t.Errorf("%s: %s %s, want %v", check, status, sev, want)
			}
		}
		// The same report again changes nothing.
		again := importBytes(t, st, team, trivyMisconfigs("shop:1", items...))
		if again.FindingsUpdated != 0 || again.FindingsResolved != 0 || again.FindingsCreated != 0 || again.FindingsUnchanged != 605 {
			t.Fatalf("re-import: %+v", again)
		}
	})
}

// An empty report of a scope resolves that scope's findings: a Trivy
// report of the image with no results, and a 0-byte Nuclei output of a
// scan's target.
func TestEmptyReportsResolveTheirScope(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, reg *db.Registry) {
		ctx := context.Background()
		st := findings.NewStore(reg)
		team := id.New()
		importBytes(t, st, team, trivyMisconfigs("shop:1", "AVD-1:FAIL:HIGH"))
		importBytes(t, st, team, trivyMisconfigs("shop:2", "AVD-1:FAIL:HIGH"))
		res, err := st.Import(ctx, strings.NewReader(`{"SchemaVersion":2,"ArtifactName":"shop:1","ArtifactType":"container_image"}`),
			findings.ImportParams{TeamID: team, Filename: "trivy.json"})
		if err != nil || res.FindingsResolved != 1 || res.Format != "trivy" {
			t.Fatalf("empty trivy report: %+v, %v", res, err)
		}
		l, _ := st.FindingList(ctx, findings.ListParams{TeamID: team, Status: []string{"open"}})
		if l.Total != 1 || l.Findings[0].Target != "shop:2" {
			t.Fatalf("open after: %+v", l.Findings)
		}

		nuclei := sample(t, "nuclei/multiple_v3.json")
		first := importBytes(t, st, team, nuclei)
		host := ""
		l, _ = st.FindingList(ctx, findings.ListParams{TeamID: team, Tool: []string{"nuclei"}, Limit: 1})
		host = l.Findings[0].Target
		// Without a scope an empty file is a scan that resolves nothing.
		res, err = st.Import(ctx, bytes.NewReader(nil), findings.ImportParams{TeamID: team, Filename: "nuclei.jsonl"})
		if err != nil || res.ItemsRead != 0 || res.FindingsResolved != 0 || res.Format != "nuclei" {
			t.Fatalf("empty nuclei without scope: %+v, %v", res, err)
		}
		// With the scan's target it resolves what that target had.
		res, err = st.Import(ctx, bytes.NewReader(nil), findings.ImportParams{TeamID: team, Format: "nuclei",
			Covers: []findings.Coverage{{Target: host}}})
		if err != nil || res.FindingsResolved == 0 || res.FindingsResolved > first.FindingsCreated {
			t.Fatalf("empty nuclei of %s: %+v, %v", host, res, err)
		}
		// Every kind of empty report, with the scope its scan covered,
		// resolves that scope's findings: an empty array of Prowler OCSF
		// (an account and region), a SARIF log with no runs (a file).
		prowler := importBytes(t, st, team, sample(t, "prowler/example_output_aws.ocsf.json"))
		l, _ = st.FindingList(ctx, findings.ListParams{TeamID: team, Tool: []string{"prowler"}, Limit: 1})
		acct, region := l.Findings[0].AccountUID, l.Findings[0].Region
		res, err = st.Import(ctx, strings.NewReader("[]"), findings.ImportParams{TeamID: team, Format: "prowler-ocsf",
			Covers: []findings.Coverage{{AccountUID: acct, Region: region}}})
		if err != nil || res.FindingsResolved == 0 || res.FindingsResolved > prowler.FindingsCreated {
			t.Fatalf("empty prowler report of %s/%s: %+v, %v", acct, region, res, err)
		}
		importBytes(t, st, team, sample(t, "sarif/appendix_k2.sarif"))
		l, _ = st.FindingList(ctx, findings.ListParams{TeamID: team, Tool: []string{"sarif"}, Limit: 1})
		res, err = st.Import(ctx, strings.NewReader(`{"version":"2.1.0","runs":[]}`), findings.ImportParams{TeamID: team, Filename: "scan.sarif",
			Covers: []findings.Coverage{{Target: l.Findings[0].Target}}})
		if err != nil || res.FindingsResolved != 1 || res.Format != "sarif" {
			t.Fatalf("empty SARIF log: %+v, %v", res, err)
		}
		// An empty file of no known format is refused, and recorded failed.
		if _, err := st.Import(ctx, bytes.NewReader(nil), findings.ImportParams{TeamID: team, Filename: "report.json"}); err == nil ||
			!strings.Contains(err.Error(), "--format") {
			t.Fatalf("empty report of no format: %v", err)
		}
	})
}

// A vulnerability the vendor says does not affect the package is stored
// muted by the tool, and not open in the vulnerability store; when a later
// report says it is affected, it opens.
func TestVendorStatusIsKept(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, reg *db.Registry) {
		ctx := context.Background()
		st := findings.NewStore(reg)
		vs := vuln.New(reg)
		st.Vulns = vs
		team := id.New()
		report := func(status string) []byte {
			return []byte(`{"SchemaVersion":2,"ArtifactName":"shop:1","Results":[{"Target":"shop:1 (debian 12)","Type":"debian","Vulnerabilities":[
				{"VulnerabilityID":"CVE-2024-1000","PkgName":"openssl","InstalledVersion":"3.0.1","Status":"` + status + `","Severity":"HIGH"}]}]}`)
		}
		importBytes(t, st, team, report("not_affected"))
		l, _ := st.FindingList(ctx, findings.ListParams{TeamID: team, Status: []string{"muted"}})
		if l.Total != 1 || l.Findings[0].MuteKind != findings.MuteByTool || !strings.Contains(l.Findings[0].MutedReason, "not_affected") {
			t.Fatalf("muted findings: %+v", l.Findings)
		}
		if occ, _ := vs.OccurrenceList(ctx, team, vuln.StatusNotAffected); len(occ) != 1 {
			t.Fatalf("not_affected occurrences: %d", len(occ))
		}
		if occ, _ := vs.OccurrenceList(ctx, team, vuln.StatusOpen); len(occ) != 0 {
			t.Fatalf("open occurrences: %d", len(occ))
		}
		importBytes(t, st, team, report("affected"))
		if occ, _ := vs.OccurrenceList(ctx, team, vuln.StatusOpen); len(occ) != 1 {
			t.Fatalf("open occurrences once affected: %d", len(occ))
		}
	})
}
