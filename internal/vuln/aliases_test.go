package vuln_test

import (
	"context"
	"slices"
	"testing"

	"github.com/offloadsecurity/cspm/internal/db"
	"github.com/offloadsecurity/cspm/internal/db/dbtest"
	"github.com/offloadsecurity/cspm/internal/ocsf"
	"github.com/offloadsecurity/cspm/internal/vuln"
)

func TestCanonicalID(t *testing.T) {
	for _, c := range []struct {
		in      []string
		id      string
		aliases []string
	}{
		{[]string{"GHSA-jfh8-c2jp-5v3q", "cve-2021-44228"}, "CVE-2021-44228", []string{"GHSA-JFH8-C2JP-5V3Q"}},
		{[]string{"GHSA-aaaa", "GHSA-aaaa "}, "GHSA-AAAA", []string{}},
		{[]string{"PYSEC-1", "GHSA-b"}, "PYSEC-1", []string{"GHSA-B"}},
		{[]string{" "}, "", nil},
	} {
		id, aliases := vuln.CanonicalID(c.in)
		if id != c.id || (c.aliases != nil && !slices.Equal(aliases, c.aliases)) || (c.aliases == nil && aliases != nil) {
			t.Errorf("CanonicalID(%q) = %q %q, want %q %q", c.in, id, aliases, c.id, c.aliases)
		}
	}
}

// A GHSA reported beside its CVE is the CVE's alias: one vulnerability, not
// two; a later report that names only the GHSA lands on the CVE; the GHSA
// opens the CVE's page and a search for it finds the CVE.
func TestGHSAIsTheCVE(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, reg *db.Registry) {
		ctx := context.Background()
		vs := vuln.New(reg)
		const team = "t-alias"
		sight := func(id string, aliases []string, asset string) vuln.Sighting {
			return vuln.Sighting{VulnID: id, Aliases: aliases, Title: "log4j", Severity: ocsf.SeverityCritical, Asset: asset,
				Component: "log4j-core", Version: "2.14.1", Tool: "grype", ScopeKey: "grype|" + asset}
		}
		if _, err := vs.RecordOccurrences(ctx, team, "s1", []vuln.Sighting{sight("CVE-2021-44228", []string{"GHSA-JFH8-C2JP-5V3Q"}, "img:a")},
			[]string{"grype|img:a"}); err != nil {
			t.Fatal(err)
		}
		if _, err := vs.RecordOccurrences(ctx, team, "s2", []vuln.Sighting{sight("GHSA-jfh8-c2jp-5v3q", nil, "img:b")},
			[]string{"grype|img:b"}); err != nil {
			t.Fatal(err)
		}
		list, err := vs.List(ctx, vuln.ListParams{TeamID: team, Limit: 50})
		if err != nil {
			t.Fatal(err)
		}
		if list.Total != 1 {
			t.Fatalf("%d vulnerabilities, want 1 (the GHSA is the CVE): %+v", list.Total, list)
		}
		d, err := vs.Get(ctx, team, "ghsa-jfh8-c2jp-5v3q")
		if err != nil {
			t.Fatal(err)
		}
		if d.ID != "CVE-2021-44228" || !slices.Equal(d.Aliases, []string{"GHSA-JFH8-C2JP-5V3Q"}) || len(d.Occurrences) != 2 {
			t.Errorf("the GHSA opens %s, aliases %v, %d occurrences; want the CVE with both assets", d.ID, d.Aliases, len(d.Occurrences))
		}
		found, err := vs.List(ctx, vuln.ListParams{TeamID: team, Text: "GHSA-JFH8", Limit: 50})
		if err != nil || found.Total != 1 {
			t.Errorf("a search for the GHSA found %d (%v)", found.Total, err)
		}
		if _, err := vs.Get(ctx, "another-team", "GHSA-JFH8-C2JP-5V3Q"); err == nil {
			t.Error("another team opened the vulnerability through its alias")
		}
	})
}
