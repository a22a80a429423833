package bia

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/offloadsecurity/cspm/internal/audit"
	"github.com/offloadsecurity/cspm/internal/db"
	"github.com/offloadsecurity/cspm/internal/db/dbtest"
	"github.com/offloadsecurity/cspm/internal/findings"
	"github.com/offloadsecurity/cspm/internal/vuln"
)

// prowlerFinding is one Prowler OCSF finding.
func prowlerFinding(uid, account, resource, status string, severity int, labels string) string {
	return `{"metadata":{"event_code":"check_` + uid + `","product":{"name":"Prowler","uid":"prowler","vendor_name":"Prowler","version":"5.0.0"},"version":"1.4.0"},
		"severity_id":` + string(rune('0'+severity)) + `,"status_code":"` + status + `","finding_info":{"uid":"` + uid + `","title":"check ` + uid + `","created_time":1764720000},
		"resources":[{"uid":"` + resource + `","name":"` + resource + `","region":"eu-west-1","type":"Other","group":{"name":"s3"},"labels":[` + labels + `]}],
		"class_uid":2004,"cloud":{"account":{"uid":"` + account + `","type":"AWS Account"},"provider":"aws","region":"eu-west-1"},"time":1764720000}`
}

const kevCatalog = `{"title":"CISA Catalog of Known Exploited Vulnerabilities","catalogVersion":"2026.01.01","dateReleased":"2026-01-01T00:00:00Z","count":1,
"vulnerabilities":[{"cveID":"CVE-2099-0001","vendorProject":"x","product":"libx","vulnerabilityName":"libx flaw","dateAdded":"2026-01-01",
"shortDescription":"d","requiredAction":"patch","dueDate":"2026-01-22","knownRansomwareCampaignUse":"Unknown","notes":"","cwes":[]}]}`

// The store sources read what the findings and vulnerability stores hold,
// written through their own importers: open failing findings only, of the
// team asked about only, and open occurrences of KEV vulnerabilities.
func TestStoreSourcesReadTheStores(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, reg *db.Registry) {
		ctx := context.Background()
		vs := vuln.New(reg)
		fs := findings.NewStore(reg)
		fs.Vulns = vs
		report := "[" + strings.Join([]string{
			prowlerFinding("a", "111111111111", "arn:a", "FAIL", 5, `"env=prod"`),
			prowlerFinding("b", "111111111111", "arn:b", "PASS", 4, ``),
			prowlerFinding("c", "222222222222", "arn:c", "FAIL", 3, `"env=prod","team=x"`),
		}, ",") + "]"
		if _, err := fs.Import(ctx, strings.NewReader(report), findings.ImportParams{TeamID: teamA, Filename: "prowler.ocsf.json"}); err != nil {
			t.Fatal(err)
		}
		trivy := `{"ArtifactName":"registry/app:1","Results":[{"Target":"app","Vulnerabilities":[
			{"VulnerabilityID":"CVE-2099-0001","PkgName":"libx","InstalledVersion":"1.0","FixedVersion":"1.1","Severity":"HIGH"},
			{"VulnerabilityID":"CVE-2099-0002","PkgName":"liby","InstalledVersion":"1.0","Severity":"LOW"}]}]}`
		for _, tm := range []string{teamA, teamB} {
			if _, err := fs.Import(ctx, strings.NewReader(trivy), findings.ImportParams{TeamID: tm, Format: "trivy"}); err != nil {
				t.Fatal(err)
			}
		}
		file := filepath.Join(t.TempDir(), "kev.json")
		if err := os.WriteFile(file, []byte(kevCatalog), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := vs.EnrichWithKEV(ctx, vuln.KEVSource{File: file}, audit.Event{}); err != nil {
			t.Fatal(err)
		}

		src := NewStoreSources(reg)
		var rows []string
		if err := src.OpenFailing(ctx, teamA, func(r FindingRow) error {
			rows = append(rows, strings.Join([]string{r.AccountUID, r.ResourceUID, r.Target, r.Tags, string(rune('0' + r.Severity))}, " "))
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		sort.Strings(rows)
		// arn:b passed; team B's Trivy findings are team B's.
		want := []string{"  registry/app:1  2", "  registry/app:1  4", "111111111111 arn:a  |env=prod| 5", "222222222222 arn:c  |env=prod|team=x| 3"}
		if !reflect.DeepEqual(rows, want) {
			t.Fatalf("open failing rows\n got %q\nwant %q", rows, want)
		}
		kev, err := src.OpenKEV(ctx, teamA)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(kev, []KEVOccurrence{{Asset: "registry/app:1", VulnID: "CVE-2099-0001"}}) {
			t.Fatalf("open KEV %+v", kev)
		}
		v1, err := src.FindingsVersion(ctx, teamA)
		if err != nil || v1 == 0 {
			t.Fatalf("findings version %d %v", v1, err)
		}

		// And analytics over them, end to end.
		b := setup(t, reg)
		b.s = New(reg, Options{Users: b.users, Now: b.clock.now, Findings: src, KEV: src})
		mustCreate(t, b, Record{Name: "Shop", OwnerID: "owner", Tier: 2, Dependencies: []Dependency{{Kind: DepTag, Value: "env=prod"},
			{Kind: DepContainerImage, Value: "registry/app:1"}}})
		a, err := b.s.AnalyticsGet(ctx, teamA)
		if err != nil {
			t.Fatal(err)
		}
		e := a.Exposure[0]
		// arn:a and arn:c by the tag, the two Trivy findings on the image; CVE-2099-0001 is KEV.
		if e.OpenFindings != 4 || e.KEV != 1 || e.KEVIDs[0] != "CVE-2099-0001" {
			t.Errorf("exposure %+v", e)
		}
	})
}
