package findings_test

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"

	"github.com/offloadsecurity/cspm/internal/db"
	"github.com/offloadsecurity/cspm/internal/db/dbtest"
	"github.com/offloadsecurity/cspm/internal/findings"
	"github.com/offloadsecurity/cspm/internal/id"
	"github.com/offloadsecurity/cspm/internal/nativescans"
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
			"sarif/bash-report.sarif": {27, 12},
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
