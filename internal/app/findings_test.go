package app_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/offloadsecurity/cspm/internal/config"
	"github.com/offloadsecurity/cspm/internal/db"
	"github.com/offloadsecurity/cspm/internal/db/dbtest"
	"github.com/offloadsecurity/cspm/internal/findings"
	"github.com/offloadsecurity/cspm/internal/nativescans"
	"github.com/offloadsecurity/cspm/internal/rbac"
)

func sampleFile(t *testing.T, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile("../ingest/testdata/samples/" + rel)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// waitImport polls GET /api/v1/imports/{id} until the job finishes.
func waitImport(t *testing.T, c *client, scanID string) nativescans.ScanResult {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		status, body := c.do("GET", "/api/v1/imports/"+scanID, nil)
		if status != 200 {
			t.Fatalf("import status = %d %s", status, body)
		}
		rec := decode[nativescans.ScanResult](t, body)
		if rec.Status == nativescans.StatusCompleted || rec.Status == nativescans.StatusFailed {
			return rec
		}
		if time.Now().After(deadline) {
			t.Fatalf("import still %s after 60 s", rec.Status)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestImportThroughTheAPI(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, reg *db.Registry) {
		e := newEnvWithWorkers(t, reg, func(c *config.Config) { c.ImportMaxBytes = 64 << 10 })
		teamID := e.team("acme").ID
		analyst := e.tokenClient(e.user(teamID, rbac.SecurityAnalyst).Email)

		status, body := analyst.upload("/api/v1/imports", "report.xml", sampleFile(t, "zap/dvwa_baseline_dojo.xml"))
		if status != 202 {
			t.Fatalf("upload = %d %s", status, body)
		}
		scanID := decode[struct {
			ScanID string `json:"scan_id"`
		}](t, body).ScanID
		rec := waitImport(t, analyst, scanID)
		if rec.Status != "completed" || rec.Tool != "zap" || rec.ScanType != "web" || rec.ItemsRead != 19 || rec.FindingsCreated != 18 {
			t.Fatalf("import = %+v", rec)
		}
		// The audit log names the upload by the SHA-256 of what was sent.
		sum := sha256.Sum256(sampleFile(t, "zap/dvwa_baseline_dojo.xml"))
		events, err := e.app.Audit.EventList(context.Background(), auditParams(teamID))
		if err != nil {
			t.Fatal(err)
		}
		uploaded := 0
		for _, ev := range events {
			if ev.Action == "import.uploaded" && ev.TargetID == scanID {
				uploaded++
				if ev.Details["sha256"] != hex.EncodeToString(sum[:]) {
					t.Errorf("upload audited with sha256 %v, want %x", ev.Details["sha256"], sum)
				}
			}
		}
		if uploaded != 1 {
			t.Errorf("%d import.uploaded events for scan %s", uploaded, scanID)
		}

		// The same file again creates nothing.
		_, body = analyst.upload("/api/v1/imports", "again.xml", sampleFile(t, "zap/dvwa_baseline_dojo.xml"))
		again := waitImport(t, analyst, decode[struct {
			ScanID string `json:"scan_id"`
		}](t, body).ScanID)
		if again.FindingsCreated != 0 || again.FindingsUnchanged != 18 {
			t.Fatalf("re-import = %+v", again)
		}

		// Filters, facets, total and the cursor.
		status, body = analyst.do("GET", "/api/v1/findings?severity=medium,low&facets=true&limit=5", nil)
		list := decode[findings.ListResult](t, body)
		if status != 200 || list.Total != 12 || len(list.Findings) != 5 || list.NextCursor == "" || list.Facets.Severity["medium"] != 4 {
			t.Fatalf("list = %d total %d, %d rows, facets %+v", status, list.Total, len(list.Findings), list.Facets)
		}
		seen := map[int64]bool{}
		cursor := ""
		for pages := 0; pages < 10; pages++ {
			_, body = analyst.do("GET", "/api/v1/findings?severity=medium,low&limit=5&cursor="+cursor, nil)
			page := decode[findings.ListResult](t, body)
			for _, f := range page.Findings {
				if seen[f.ID] {
					t.Fatalf("finding %d on two pages", f.ID)
				}
				seen[f.ID] = true
			}
			if cursor = page.NextCursor; cursor == "" {
				break
			}
		}
		if len(seen) != 12 {
			t.Fatalf("paging saw %d findings, want 12", len(seen))
		}
		if s, _ := analyst.do("GET", "/api/v1/findings?cursor=garbage", nil); s != 400 {
			t.Errorf("bad cursor = %d", s)
		}
		if s, _ := analyst.do("GET", "/api/v1/findings?severity=dreadful", nil); s != 422 {
			t.Errorf("bad severity = %d", s)
		}
		_, body = analyst.do("GET", "/api/v1/findings?q=x-frame", nil)
		if l := decode[findings.ListResult](t, body); l.Total != 1 {
			t.Errorf("text search = %d", l.Total)
		}

		// Detail with history and raw OCSF.
		status, body = analyst.do("GET", fmt.Sprintf("/api/v1/findings/%d", list.Findings[0].ID), nil)
		detail := decode[findings.Detail](t, body)
		if status != 200 || len(detail.History) != 1 || !bytes.Contains(detail.Raw, []byte(`"class_uid":2004`)) {
			t.Fatalf("detail = %d %+v", status, detail.History)
		}

		// Export streams every match.
		status, body = analyst.do("GET", "/api/v1/findings/export?format=csv&severity=medium,low", nil)
		if lines := strings.Count(string(body), "\n"); status != 200 || lines != 13 {
			t.Fatalf("csv export = %d with %d lines", status, lines)
		}
		_, body = analyst.do("GET", "/api/v1/findings/export?format=json", nil)
		n := 0
		for sc := bufio.NewScanner(bytes.NewReader(body)); sc.Scan(); n++ {
			if !json.Valid(sc.Bytes()) {
				t.Fatal("export line is not JSON")
			}
		}
		if n != 18 {
			t.Fatalf("json export has %d lines", n)
		}

		// Posture and history.
		_, body = analyst.do("GET", "/api/v1/posture/overview", nil)
		o := decode[findings.Overview](t, body)
		if o.OpenBySeverity["medium"] != 4 || len(o.Trend) != 30 || o.Trend[29].New != 18 {
			t.Fatalf("overview = %+v", o)
		}
		_, body = analyst.do("GET", "/api/v1/scan-results", nil)
		if h := decode[struct {
			Total int `json:"total"`
		}](t, body); h.Total != 2 {
			t.Fatalf("history total %d", h.Total)
		}
	})
}

func TestImportBadInputs(t *testing.T) {
	t.Parallel()
	reg := dbtest.Open(t, dbtest.Engine{Name: "sqlite"})
	e := newEnvWithWorkers(t, reg, func(c *config.Config) { c.ImportMaxBytes = 4096 })
	c := e.tokenClient(e.user(e.team("acme").ID, rbac.Admin).Email)

	big := bytes.Repeat([]byte("x"), 5000)
	if s, body := c.upload("/api/v1/imports", "big.json", big); s != 413 || !strings.Contains(string(body), "limit") {
		t.Errorf("oversized upload = %d %s", s, body)
	}
	if s, _ := c.do("POST", "/api/v1/imports", map[string]string{"not": "multipart"}); s != 400 {
		t.Errorf("JSON body = %d", s)
	}
	if s, body := c.upload("/api/v1/imports?format=bogus", "r.json", []byte("{}")); s != 400 || !strings.Contains(string(body), "unknown format") {
		t.Errorf("unknown format = %d %s", s, body)
	}
	// A wrong format fails the import, visibly, and creates nothing.
	s, body := c.upload("/api/v1/imports", "notes.txt", []byte("just some text\n"))
	if s != 202 {
		t.Fatalf("text upload = %d %s", s, body)
	}
	rec := waitImport(t, c, decode[struct {
		ScanID string `json:"scan_id"`
	}](t, body).ScanID)
	if rec.Status != "failed" || !strings.Contains(rec.Error, "unrecognized report format") {
		t.Fatalf("text import = %+v", rec)
	}
	_, body = c.do("GET", "/api/v1/findings", nil)
	if l := decode[findings.ListResult](t, body); l.Total != 0 {
		t.Fatalf("%d findings after a failed import", l.Total)
	}
}

func TestMutingThroughTheAPIIsAudited(t *testing.T) {
	t.Parallel()
	reg := dbtest.Open(t, dbtest.Engine{Name: "sqlite"})
	e := newEnv(t, reg, nil)
	tm := e.team("acme")
	if _, err := e.app.Findings.Import(context.Background(), bytes.NewReader(sampleFile(t, "nmap/nmap_multiple_port.xml")), findings.ImportParams{TeamID: tm.ID}); err != nil {
		t.Fatal(err)
	}
	analyst := e.tokenClient(e.user(tm.ID, rbac.SecurityAnalyst).Email)
	viewer := e.tokenClient(e.user(tm.ID, rbac.Viewer).Email)

	if s, _ := viewer.do("POST", "/api/v1/mute-rules", map[string]any{"tool": "nmap", "reason": "lab"}); s != 403 {
		t.Fatalf("viewer created a rule: %d", s)
	}
	s, body := analyst.do("POST", "/api/v1/mute-rules", map[string]any{"resource_pattern": "198.38.*", "reason": "scanner farm"})
	created := decode[struct {
		Rule  findings.MuteRule `json:"rule"`
		Muted int               `json:"muted"`
	}](t, body)
	if s != 201 || created.Muted != 13 {
		t.Fatalf("create rule = %d %s", s, body)
	}
	if s, _ := analyst.do("POST", "/api/v1/mute-rules", map[string]any{"reason": "no criteria"}); s != 422 {
		t.Fatalf("rule without criteria = %d", s)
	}
	if s, _ := analyst.do("DELETE", "/api/v1/mute-rules/"+created.Rule.ID, nil); s != 200 {
		t.Fatalf("delete rule = %d", s)
	}
	_, body = analyst.do("GET", "/api/v1/findings?limit=1", nil)
	fid := decode[findings.ListResult](t, body).Findings[0].ID
	until := time.Now().Add(24 * time.Hour).UTC().Format(time.RFC3339)
	if s, body := analyst.do("POST", fmt.Sprintf("/api/v1/findings/%d/mute", fid), map[string]any{"kind": "risk_accepted", "reason": "WAF in front", "until": until}); s != 204 {
		t.Fatalf("risk accept = %d %s", s, body)
	}
	_, body = analyst.do("GET", fmt.Sprintf("/api/v1/findings/%d", fid), nil)
	d := decode[findings.Detail](t, body)
	if d.Status != "muted" || d.MuteKind != "risk_accepted" || d.MutedReason != "WAF in front" || d.MutedBy == "" ||
		d.MutedUntil == nil || d.MutedUntil.Format(time.RFC3339) != until {
		t.Fatalf("after risk acceptance: status %s, kind %q, reason %q, by %q, until %v", d.Status, d.MuteKind, d.MutedReason, d.MutedBy, d.MutedUntil)
	}
	_, body = analyst.do("GET", "/api/v1/findings?status=muted", nil)
	if l := decode[findings.ListResult](t, body); len(l.Findings) == 0 || l.Findings[0].MuteKind == "" {
		t.Fatalf("the list shows no mute details: %s", body)
	}
	if s, _ := analyst.do("DELETE", fmt.Sprintf("/api/v1/findings/%d/mute", fid), nil); s != 204 {
		t.Fatalf("unmute = %d", s)
	}
	_, body = analyst.do("GET", fmt.Sprintf("/api/v1/findings/%d", fid), nil)
	if d := decode[findings.Detail](t, body); d.MuteKind != "" || d.MutedUntil != nil {
		t.Fatalf("an unmuted finding still shows its mute: %+v", d.Finding)
	}
	actions := auditActions(t, e, tm.ID)
	for _, want := range []string{"mute_rule.created", "mute_rule.deleted", "finding.risk_accepted", "finding.unmuted"} {
		if actions[want] != 1 {
			t.Errorf("%s audited %d times", want, actions[want])
		}
	}
}

// While an import runs, its entry reads running with the items read so far.
func TestImportProgressShowsWhileRunning(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, reg *db.Registry) {
		e := newEnv(t, reg, nil) // no workers: the upload stays queued until the test says otherwise
		tm := e.team("acme")
		c := e.tokenClient(e.user(tm.ID, rbac.SecurityAnalyst).Email)
		_, body := c.upload("/api/v1/imports", "r.json", sampleFile(t, "nuclei/multiple_v3.json"))
		scanID := decode[struct {
			ScanID string `json:"scan_id"`
		}](t, body).ScanID
		_, body = c.do("GET", "/api/v1/imports/"+scanID, nil)
		if rec := decode[nativescans.ScanResult](t, body); rec.Status != "queued" {
			t.Fatalf("before a worker takes it: %s", rec.Status)
		}
		if err := e.app.Imports.ProgressSet(context.Background(), tm.ID, scanID, 1500); err != nil {
			t.Fatal(err)
		}
		_, body = c.do("GET", "/api/v1/imports/"+scanID, nil)
		if rec := decode[nativescans.ScanResult](t, body); rec.Status != "running" || rec.ItemsRead != 1500 {
			t.Fatalf("while running: %s, %d items", rec.Status, rec.ItemsRead)
		}
		// Another team sees neither the import nor its progress.
		other := e.tokenClient(e.user(e.team("b").ID, rbac.Admin).Email)
		if s, _ := other.do("GET", "/api/v1/imports/"+scanID, nil); s != 404 {
			t.Fatalf("other team = %d", s)
		}
	})
}
