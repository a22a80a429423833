package ingest

import (
	"strings"
	"testing"

	"github.com/offloadsecurity/cspm/internal/ocsf"
)

func TestOSVScoresAliasesAndFixes(t *testing.T) {
	// The packages come before their source here, and the second record
	// has no group score, only GHSA's word.
	doc := `{"results":[{"packages":[{"package":{"name":"lodash","version":"4.17.20","ecosystem":"npm"},
		"vulnerabilities":[{"id":"GHSA-35jh-r3h4-6jhm","aliases":["CVE-2021-23337"],"summary":"Command injection in lodash",
		  "severity":[{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:U/C:H/I:H/A:H"}],
		  "affected":[{"package":{"ecosystem":"npm","name":"lodash"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"4.17.21"}]},
		    {"type":"GIT","repo":"https://github.com/lodash/lodash","events":[{"introduced":"0"},{"fixed":"c4847ebe"}]}]},
		   {"package":{"ecosystem":"PyPI","name":"lodash"},"ranges":[{"type":"ECOSYSTEM","events":[{"fixed":"9.9"}]}]}],
		  "database_specific":{"cwe_ids":["CWE-77","CWE-94"],"severity":"HIGH"}},
		 {"id":"GHSA-29mw-wpgm-hmr9","aliases":["CVE-2020-28500"],"database_specific":{"severity":"MODERATE"}}],
		"groups":[{"ids":["GHSA-35jh-r3h4-6jhm"],"aliases":["CVE-2021-23337","GHSA-35jh-r3h4-6jhm"],"max_severity":"7.2"},
		  {"ids":["GHSA-29mw-wpgm-hmr9"],"aliases":["CVE-2020-28500","GHSA-29mw-wpgm-hmr9"]}]}],
	  "source":{"path":"/src/app/package-lock.json","type":"lockfile"}}]}`
	got := parseAll(t, doc, "")
	if len(got) != 2 {
		t.Fatalf("%d findings", len(got))
	}
	f := got[0]
	if strings.Join(f.VulnIDs, ",") != "CVE-2021-23337,GHSA-35jh-r3h4-6jhm" || f.Severity != ocsf.SeverityHigh || f.CVSS == nil ||
		f.CVSS.BaseScore != 7.2 || f.CVSS.Version != "3.1" || f.FixedVersion != "4.17.21" || f.Target != "/src/app/package-lock.json" ||
		f.Component != "lodash" || f.Version != "4.17.20" || strings.Join(f.CWEs, ",") != "CWE-77,CWE-94" || f.ScopeKey() != "osv||/src/app/package-lock.json" {
		t.Errorf("first: %+v %+v", f, f.CVSS)
	}
	if f := got[1]; f.Severity != ocsf.SeverityMedium || f.CVSS != nil || f.FixedVersion != "" {
		t.Errorf("second: %+v", f)
	}
	for _, bad := range []string{`{"results":[{"packages":[]}]}`, `{"results":[{"source":{"path":"a"},"packages":[{"package":{"version":"1"}}]}]}`,
		`{"results":[{"source":{"path":"a"},"packages":[{"package":{"name":"x"},"vulnerabilities":[{"summary":"no id"}]}]}]}`,
		`{"results":{}}`, `{"experimental_config":{}}`} {
		if _, err := Parse(strings.NewReader(bad), "osv", func(*Finding) error { return nil }); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}
