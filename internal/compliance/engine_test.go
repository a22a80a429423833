package compliance

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/offloadsecurity/cspm/internal/db"
	"github.com/offloadsecurity/cspm/internal/db/dbtest"
	"github.com/offloadsecurity/cspm/internal/findings"
	"github.com/offloadsecurity/cspm/internal/team"
)

// goldenWorkbook is a small SCF workbook: the golden table in
// docs/compliance.md is computed by hand from it and from
// testdata/golden/findings.ocsf.json.
func goldenWorkbook(t testing.TB) []byte {
	t.Helper()
	f := excelize.NewFile()
	const sheet = "SCF 2099.1"
	if err := f.SetSheetName("Sheet1", sheet); err != nil {
		t.Fatal(err)
	}
	rows := [][]any{
		{"SCF Domain", "SCF Control", "SCF #", "Secure Controls Framework (SCF)\nControl Description", "SCF Control Question",
			"Relative Control Weighting", "NIST\n800-53\nR5"},
		{"Identification & Authentication", "User accounts", "IAC-01", "Accounts are managed.", "Are they?", "10", "AC-2"},
		{"Identification & Authentication", "Passwords", "IAC-02", "Passwords are strong.", "Are they?", "5", "IA-5"},
		{"Identification & Authentication", "Root MFA", "IAC-03", "Root has MFA.", "Has it?", "", ""},
		{"Cryptographic Protections", "Use of cryptography", "CRY-01", "Cryptography protects.", "Does it?", "8", "SC-13"},
		{"Cryptographic Protections", "Data at rest", "CRY-02", "Data at rest is encrypted.", "Is it?", "2", ""},
		{"Continuous Monitoring", "Log review", "MON-01", "Logs are reviewed.", "Are they?", "4", "AU-6"},
		{"Continuous Monitoring", "Intrusion detection", "MON-02", "Intrusions are detected.", "Are they?", "3", "SI-4"},
		{"Cybersecurity & Data Protection Governance", "Program", "GOV-01", "A program exists.", "Does it?", "6", ""},
		{"Cybersecurity & Data Protection Governance", "Policies", "GOV-02", "Policies exist.", "Do they?", "2", ""},
	}
	for i, r := range rows {
		cell, _ := excelize.CoordinatesToCellName(1, i+1)
		if err := f.SetSheetRow(sheet, cell, &r); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

type goldenEnv struct {
	s        *Service
	findings *findings.Store
	teamA    string
	teamB    string
	clock    *testClock
}

type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *testClock) set(t time.Time) { c.mu.Lock(); defer c.mu.Unlock(); c.t = t }

// setupGolden loads the golden content, imports the golden findings for
// team A, mutes user4's MFA finding, and attests GOV-01 (valid for 30
// days) and GOV-02 (lapsing after an hour); the clock then stands two
// hours later.
func setupGolden(t *testing.T, reg *db.Registry) *goldenEnv {
	t.Helper()
	ctx := context.Background()
	start := time.Now().UTC()
	env := &goldenEnv{findings: findings.NewStore(reg), clock: &testClock{t: start}}
	env.s = New(reg, Options{Findings: env.findings, Now: env.clock.now})
	teams := team.NewStore(reg)
	a, err := teams.TeamCreate(ctx, "Golden A")
	if err != nil {
		t.Fatal(err)
	}
	b, err := teams.TeamCreate(ctx, "Golden B")
	if err != nil {
		t.Fatal(err)
	}
	env.teamA, env.teamB = a.ID, b.ID
	if _, err := env.s.ImportFile(ctx, bytes.NewReader(goldenWorkbook(t)), testActor); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"golden-csf.yaml", "mapping-golden-csf-scf.yaml", "nist-800-53.json", "nist-csf.json", "scf-direct.json"} {
		if _, err := env.s.ImportFile(ctx, bytes.NewReader(readSample(t, filepath.Join("testdata/golden", f))), testActor); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
	}
	report, err := os.Open("testdata/golden/findings.ocsf.json")
	if err != nil {
		t.Fatal(err)
	}
	defer report.Close()
	if _, err := env.findings.Import(ctx, report, findings.ImportParams{TeamID: env.teamA, Filename: "findings.ocsf.json"}); err != nil {
		t.Fatal(err)
	}
	list, err := env.findings.FindingList(ctx, findings.ListParams{TeamID: env.teamA, Check: []string{"iam_user_mfa_enabled_console_access"},
		Resource: "user4", Limit: 10})
	if err != nil || len(list.Findings) != 1 {
		t.Fatalf("user4's finding: %v %+v", err, list)
	}
	if err := env.findings.FindingMute(ctx, env.teamA, list.Findings[0].ID, "test", "mute", "accepted for the test", nil); err != nil {
		t.Fatal(err)
	}
	for _, at := range []struct {
		control string
		valid   time.Duration
	}{{"GOV-01", 30 * 24 * time.Hour}, {"GOV-02", time.Hour}} {
		if _, err := env.s.AttestationCreate(ctx, env.teamA, AttestationParams{Control: at.control, Statement: "We do.", Owner: "ciso",
			ExpiresAt: start.Add(at.valid)}, nil, testActor); err != nil {
			t.Fatal(err)
		}
	}
	env.clock.set(start.Add(2 * time.Hour))
	return env
}

func fp(v float64) *float64 { return &v }

// goldenControls is the hand-computed table of docs/compliance.md.
var goldenControls = map[string]struct {
	status                        string
	score                         *float64
	passed, failed, muted, manual int
	attested                      bool
}{
	"IAC-01": {StatusPartial, fp(80), 4, 1, 1, 0, false},
	"IAC-02": {StatusFailing, fp(0), 0, 1, 0, 0, false},
	"IAC-03": {StatusPassing, fp(100), 1, 0, 0, 0, false},
	"CRY-01": {StatusPartial, fp(400.0 / 6), 4, 2, 0, 0, false},
	"CRY-02": {StatusPassing, fp(100), 3, 0, 0, 0, false},
	"MON-01": {StatusManual, nil, 0, 0, 0, 1, false},
	"MON-02": {StatusNotAssessed, nil, 0, 0, 0, 0, false},
	"GOV-01": {StatusPassing, fp(100), 0, 0, 0, 0, true},
	"GOV-02": {StatusNotAssessed, nil, 0, 0, 0, 0, false},
}

var goldenFrameworks = map[string]*float64{
	"Secure Controls Framework (SCF) 2099.1": fp(2233.333333 / 32),
	"Golden CSF 2.0":                         fp((220.0/3 + 160.0/3) / 2),
	"Golden NIST 800-53 map (AWS)":           fp((80 + 0 + 400.0/6) / 3),
	"Golden NIST CSF 2.0 map (AWS)":          fp(220.0 / 3),
}

var goldenDomains = map[string]*float64{
	"IAC": fp(56.25),
	"CRY": fp(220.0 / 3),
	"MON": nil,
	"GOV": fp(100),
}

var goldenRequirements = map[string]struct {
	status, coverage string
	score            *float64
}{
	"PR.DS-01": {StatusPartial, CoveragePartial, fp(220.0 / 3)},
	"PR.AA-01": {StatusPartial, CoverageFull, fp(160.0 / 3)},
	"GV.OV-01": {StatusNotAssessed, CoverageFull, nil},
	"DE.CM-01": {StatusNotAssessed, "none", nil},
}

func near(a, b *float64) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return math.Abs(*a-*b) < 0.01
}

func show(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}

func checkGolden(t *testing.T, env *goldenEnv, teamID string) {
	t.Helper()
	ctx := context.Background()
	for ref, want := range goldenControls {
		c, err := env.s.ControlGet(ctx, teamID, ref)
		if err != nil {
			t.Fatalf("%s: %v", ref, err)
		}
		got := c.Result
		if got.Status != want.status || !near(got.Score, want.score) || got.Passed != want.passed || got.Failed != want.failed ||
			got.Muted != want.muted || got.Manual != want.manual || got.Attested != want.attested {
			t.Errorf("%s: got %s %v p%d f%d m%d man%d att %v; want %s %v p%d f%d m%d man%d att %v", ref, got.Status, show(got.Score),
				got.Passed, got.Failed, got.Muted, got.Manual, got.Attested, want.status, show(want.score), want.passed, want.failed,
				want.muted, want.manual, want.attested)
		}
	}
	ov, err := env.s.Overview(ctx, teamID, 30)
	if err != nil {
		t.Fatal(err)
	}
	if !near(ov.Overall.Score, goldenFrameworks["Secure Controls Framework (SCF) 2099.1"]) {
		t.Errorf("overall %v", show(ov.Overall.Score))
	}
	seen := map[string]bool{}
	for _, f := range ov.Frameworks {
		want, ok := goldenFrameworks[f.Name]
		if !ok {
			t.Errorf("unexpected framework %q", f.Name)
			continue
		}
		seen[f.Name] = true
		if !near(f.Score, want) {
			t.Errorf("framework %s: %v, want %v", f.Name, show(f.Score), show(want))
		}
	}
	if len(seen) != len(goldenFrameworks) {
		t.Errorf("frameworks %v", seen)
	}
	for _, d := range ov.Domains {
		want, ok := goldenDomains[d.RefID]
		if !ok || !near(d.Score, want) {
			t.Errorf("domain %s: %v, want %v", d.RefID, show(d.Score), show(want))
		}
	}
	if len(ov.Domains) != len(goldenDomains) {
		t.Errorf("%d domains", len(ov.Domains))
	}
	var csf string
	for _, f := range ov.Frameworks {
		if f.Name == "Golden CSF 2.0" {
			csf = f.ID
		}
	}
	detail, err := env.s.FrameworkGet(ctx, teamID, csf)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range detail.Tree {
		want, ok := goldenRequirements[n.RefID]
		if !ok {
			continue
		}
		if n.Status != want.status || n.Coverage != want.coverage || !near(n.Score, want.score) {
			t.Errorf("requirement %s: %s %s %v, want %s %s %v", n.RefID, n.Status, n.Coverage, show(n.Score), want.status,
				want.coverage, show(want.score))
		}
	}
}

func TestGoldenEngine(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, reg *db.Registry) {
		ctx := context.Background()
		env := setupGolden(t, reg)
		res, err := env.s.Engine.Sync(ctx, env.teamA, nil)
		if err != nil {
			t.Fatal(err)
		}
		if res.ControlsTouched != len(goldenControls) {
			t.Errorf("full sync touched %d controls", res.ControlsTouched)
		}
		checkGolden(t, env, env.teamA)

		// Team B has no findings and no attestations: nothing assessed,
		// and team A's attestation is not found for team B.
		if _, err := env.s.Engine.Sync(ctx, env.teamB, nil); err != nil {
			t.Fatal(err)
		}
		ov, err := env.s.Overview(ctx, env.teamB, 30)
		if err != nil {
			t.Fatal(err)
		}
		if ov.Overall.Score != nil || ov.Overall.Counts[StatusNotAssessed] != len(goldenControls) {
			t.Errorf("team B overall %+v", ov.Overall)
		}
		atts, err := env.s.AttestationList(ctx, env.teamA, "")
		if err != nil || len(atts) != 2 {
			t.Fatalf("team A attestations: %v %d", err, len(atts))
		}
		if _, err := env.s.AttestationGet(ctx, env.teamB, atts[0].ID); !errors.Is(err, db.ErrNotFound) {
			t.Errorf("team B reads team A's attestation: %v", err)
		}
		if l, _ := env.s.AttestationList(ctx, env.teamB, ""); len(l) != 0 {
			t.Errorf("team B lists %d attestations", len(l))
		}
	})
}

// An incremental sync after each change leaves what a full sync does.
func TestIncrementalEqualsFull(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, reg *db.Registry) {
		ctx := context.Background()
		env := setupGolden(t, reg)
		if _, err := env.s.Engine.Sync(ctx, env.teamA, nil); err != nil {
			t.Fatal(err)
		}
		// A second report of the same scope: key2 now passes and user2
		// fails the MFA check; everything else as before.
		if _, err := env.findings.Import(ctx, bytes.NewReader(changedReport(t, map[string]string{
			"kms_cmk_rotation_enabled/key2": "PASS", "iam_user_mfa_enabled_console_access/user2": "FAIL"})),
			findings.ImportParams{TeamID: env.teamA, Filename: "r2.json"}); err != nil {
			t.Fatal(err)
		}
		inc, err := env.s.Engine.Sync(ctx, env.teamA, []string{"kms_cmk_rotation_enabled", "iam_user_mfa_enabled_console_access"})
		if err != nil {
			t.Fatal(err)
		}
		// IAC-01 and CRY-01 (the checks') plus the attested GOV-01 and GOV-02.
		if inc.ControlsTouched != 4 {
			t.Errorf("incremental sync touched %d controls, want 4", inc.ControlsTouched)
		}
		afterInc := snapshotResults(t, env.s, env.teamA)
		full, err := env.s.Engine.Sync(ctx, env.teamA, nil)
		if err != nil {
			t.Fatal(err)
		}
		afterFull := snapshotResults(t, env.s, env.teamA)
		if !reflect.DeepEqual(afterInc, afterFull) {
			t.Errorf("incremental:\n%v\nfull:\n%v", afterInc, afterFull)
		}
		if !near(inc.Overall.Score, full.Overall.Score) {
			t.Errorf("overall: incremental %v, full %v", show(inc.Overall.Score), show(full.Overall.Score))
		}
		// The changed control moved: key2 passes (5 passed, 1 failed).
		c, err := env.s.ControlGet(ctx, env.teamA, "CRY-01")
		if err != nil || c.Result.Passed != 5 || c.Result.Failed != 1 {
			t.Errorf("CRY-01 after the second report: %v %+v", err, c.Result)
		}
	})
}

func snapshotResults(t *testing.T, s *Service, teamID string) map[string]string {
	t.Helper()
	out := map[string]string{}
	rows, err := s.d.QueryContext(context.Background(), `SELECT scf_urn, status, COALESCE(score, -1), passed, failed, muted, manual, attested
		FROM compliance_control_results WHERE team_id = $1`, teamID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var urn, status string
		var score float64
		var p, f, m, man int
		var att bool
		if err := rows.Scan(&urn, &status, &score, &p, &f, &m, &man, &att); err != nil {
			t.Fatal(err)
		}
		out[urn] = fmt.Sprintf("%s %.4f p%d f%d m%d man%d att %v", status, score, p, f, m, man, att)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// changedReport is the golden report with some results changed, by
// "check/resource".
func changedReport(t *testing.T, changes map[string]string) []byte {
	t.Helper()
	var items []map[string]any
	if err := json.Unmarshal(readSample(t, "testdata/golden/findings.ocsf.json"), &items); err != nil {
		t.Fatal(err)
	}
	for _, it := range items {
		check := it["metadata"].(map[string]any)["event_code"].(string)
		res := it["resources"].([]any)[0].(map[string]any)["name"].(string)
		if st, ok := changes[check+"/"+res]; ok {
			it["status_code"] = st
		}
	}
	b, err := json.Marshal(items)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Muted findings are shown but never fail a control; an expired
// attestation returns its control to not assessed.
func TestMutedAndExpired(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, reg *db.Registry) {
		ctx := context.Background()
		env := setupGolden(t, reg)
		if _, err := env.s.Engine.Sync(ctx, env.teamA, nil); err != nil {
			t.Fatal(err)
		}
		c, _ := env.s.ControlGet(ctx, env.teamA, "IAC-01")
		if c.Result.Muted != 1 || c.Result.Failed != 1 {
			t.Fatalf("IAC-01 %+v", c.Result)
		}
		// GOV-01's attestation lapses too: both back to not assessed.
		env.clock.set(env.clock.now().Add(31 * 24 * time.Hour))
		if _, err := env.s.Engine.Sync(ctx, env.teamA, []string{}); err != nil {
			t.Fatal(err)
		}
		c, _ = env.s.ControlGet(ctx, env.teamA, "GOV-01")
		if c.Result.Status != StatusNotAssessed || c.Result.Attested || c.Result.Score != nil {
			t.Errorf("GOV-01 after its attestation expired: %+v", c.Result)
		}
		if len(c.Attestations) != 1 || !c.Attestations[0].Expired {
			t.Errorf("GOV-01 attestations %+v", c.Attestations)
		}
	})
}
