package app_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/offloadsecurity/cspm/internal/audit"
	"github.com/offloadsecurity/cspm/internal/compliance"
	"github.com/offloadsecurity/cspm/internal/db"
	"github.com/offloadsecurity/cspm/internal/db/dbtest"
	"github.com/offloadsecurity/cspm/internal/rbac"
)

const sharedFrameworks = "../../../shared/samples/frameworks/"

func readShared(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(sharedFrameworks + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func init() {
	// An attestation of team A, on an SCF control of the shared SCF library.
	tenantFixtures["attestation"] = func(t *testing.T, e *env, teamA string) string {
		ctx := context.Background()
		if _, err := e.app.Compliance.ImportFile(ctx, bytes.NewReader(readShared(t, "scf-2025.2.2.yaml")), audit.Event{}); err != nil {
			t.Fatal(err)
		}
		a, err := e.app.Compliance.AttestationCreate(ctx, teamA, compliance.AttestationParams{Control: "GOV-01", Statement: "We do.",
			ExpiresAt: time.Now().Add(time.Hour)}, nil, audit.Event{})
		if err != nil {
			t.Fatal(err)
		}
		return a.ID
	}
	validBodies["PATCH /api/v1/compliance/attestations/{id}"] = map[string]any{"statement": "isolation test",
		"expires_at": "2099-01-01T00:00:00Z"}
}

// Who may do what with compliance, per the issue: every role reads;
// import, attest and sync need compliance:manage.
func TestComplianceAPIByRole(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, reg *db.Registry) {
		e := newEnv(t, reg, nil)
		tm := e.team("compliance")
		officer := e.tokenClient(e.user(tm.ID, rbac.ComplianceOfficer).Email)

		// Content: a mapping set before its frameworks is refused with the library to load.
		status, body := officer.upload("/api/v1/compliance/frameworks/import", "m.yaml", readShared(t, "mapping-nist-csf-2.0-and-scf-2025.2.2.yaml"))
		if status != 422 || !strings.Contains(string(body), "urn:intuitem:risk:library:") {
			t.Fatalf("mapping set first: %d %s", status, body)
		}
		if status, body = officer.upload("/api/v1/compliance/frameworks/import", "x.txt", []byte("hello")); status != 400 {
			t.Errorf("garbage: %d %s", status, body)
		}
		if status, body = officer.upload("/api/v1/compliance/scf/import", "x.yaml", readShared(t, "nist-csf-2.0.yaml")); status != 400 {
			t.Errorf("a YAML library to the SCF workbook route: %d %s", status, body)
		}
		for _, f := range []string{"scf-2025.2.2.yaml", "nist-csf-2.0.yaml", "mapping-nist-csf-2.0-and-scf-2025.2.2.yaml"} {
			status, body = officer.upload("/api/v1/compliance/frameworks/import", f, readShared(t, f))
			if status != 200 {
				t.Fatalf("import %s: %d %s", f, status, body)
			}
			res := decode[compliance.ContentImportResult](t, body)
			if len(res.Items) == 0 || res.Items[0].Outcome != "created" {
				t.Errorf("import %s: %+v", f, res)
			}
		}

		for _, role := range rbac.Roles {
			c := e.tokenClient(e.user(tm.ID, role).Email)
			// Content and attestations are ADMIN's and COMPLIANCE_OFFICER's;
			// SECURITY_MANAGER may also rescore.
			manage := role == rbac.Admin || role == rbac.ComplianceOfficer
			sync := manage || role == rbac.SecurityManager
			for _, path := range []string{"/api/v1/compliance/overview", "/api/v1/compliance/frameworks", "/api/v1/compliance/sync",
				"/api/v1/compliance/controls/GOV-01", "/api/v1/compliance/attestations"} {
				if status, body := c.do("GET", path, nil); status != 200 {
					t.Errorf("%s GET %s: %d %s", role, path, status, body)
				}
			}
			status, body := c.do("POST", "/api/v1/compliance-engine/sync", map[string]any{})
			if sync && status != 200 || !sync && status != 403 {
				t.Errorf("%s sync: %d %s", role, status, body)
			}
			status, _ = c.upload("/api/v1/compliance/frameworks/import", "nist-csf-2.0.yaml", readShared(t, "nist-csf-2.0.yaml"))
			if manage && status != 200 || !manage && status != 403 {
				t.Errorf("%s import: %d", role, status)
			}
		}

		// The list shows each framework with the team's counts; the detail a tree; the export CSV.
		_, body = officer.do("GET", "/api/v1/compliance/frameworks", nil)
		list := decode[struct {
			Frameworks []compliance.FrameworkSummary `json:"frameworks"`
		}](t, body)
		if len(list.Frameworks) != 2 {
			t.Fatalf("frameworks %s", body)
		}
		for _, f := range list.Frameworks {
			if f.Counts[compliance.StatusNotAssessed] != f.Assessable {
				t.Errorf("%s: counts %v, %d assessable", f.Name, f.Counts, f.Assessable)
			}
			status, body := officer.do("GET", "/api/v1/compliance/frameworks/"+f.ID, nil)
			d := decode[compliance.FrameworkDetail](t, body)
			if status != 200 || len(d.Tree) != f.Nodes {
				t.Errorf("%s detail: %d, %d nodes", f.Name, status, len(d.Tree))
			}
			status, body, hdr := officer.doH("GET", "/api/v1/compliance/frameworks/"+f.ID+"/export?format=csv", nil, nil)
			if status != 200 || !strings.HasPrefix(hdr.Get("Content-Type"), "text/csv") || !bytes.Contains(body, []byte("Ref ID")) {
				t.Errorf("%s export: %d %s", f.Name, status, hdr.Get("Content-Type"))
			}
			if status, _, hdr = officer.doH("GET", "/api/v1/compliance/frameworks/"+f.ID+"/export?format=xlsx", nil, nil); status != 200 ||
				!strings.Contains(hdr.Get("Content-Type"), "spreadsheetml") {
				t.Errorf("%s xlsx export: %d %s", f.Name, status, hdr.Get("Content-Type"))
			}
		}
		if status, _ := officer.do("GET", "/api/v1/compliance/controls/NOPE-99", nil); status != 404 {
			t.Errorf("unknown control: %d", status)
		}
	})
}

// EnqueueSyncTx, as the import path will call it: the job commits with the
// caller's transaction on River's database, and a worker scores the team.
func TestComplianceSyncJob(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, reg *db.Registry) {
		ctx := context.Background()
		e := newEnvWithWorkers(t, reg, nil)
		tm := e.team("compliance-job")
		if _, err := e.app.Compliance.ImportFile(ctx, bytes.NewReader(readShared(t, "scf-2025.2.2.yaml")), audit.Event{}); err != nil {
			t.Fatal(err)
		}
		tx, err := reg.Get(db.Orchestration).BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := compliance.EnqueueSyncTx(ctx, tx, e.app.Queue, tm.ID, nil); err != nil {
			t.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(30 * time.Second)
		for {
			jobs, err := e.app.Queue.JobList(ctx, river.NewJobListParams().Kinds("compliance_sync").States(rivertype.JobStateCompleted))
			if err != nil {
				t.Fatal(err)
			}
			if len(jobs.Jobs) == 1 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the compliance_sync job did not complete")
			}
			time.Sleep(100 * time.Millisecond)
		}
		st, err := e.app.Compliance.SyncStatusGet(ctx, tm.ID)
		if err != nil || st.LastFullAt == nil || st.ControlsTouched != 1341 || st.LastError != "" {
			t.Errorf("sync status %+v, %v", st, err)
		}
	})
}

// An attestation through the API: its evidence is kept and served back,
// the control passes by attestation, and the creation is audited.
func TestComplianceAttestationAPI(t *testing.T) {
	t.Parallel()
	reg := dbtest.Open(t, dbtest.Engine{Name: "sqlite"})
	e := newEnv(t, reg, nil)
	ctx := context.Background()
	tm := e.team("attest")
	officer := e.tokenClient(e.user(tm.ID, rbac.ComplianceOfficer).Email)
	if _, err := e.app.Compliance.ImportFile(ctx, bytes.NewReader(readShared(t, "scf-2025.2.2.yaml")), audit.Event{}); err != nil {
		t.Fatal(err)
	}
	future := time.Now().Add(48 * time.Hour).UTC().Format(time.RFC3339)
	for _, bad := range []map[string]string{
		{"control": "NOPE-1", "statement": "x", "expires_at": future},
		{"control": "GOV-01", "statement": "x", "expires_at": "2001-01-01T00:00:00Z"},
		{"control": "GOV-01", "statement": "x", "expires_at": "tomorrow"},
	} {
		if status, body := officer.postForm("/api/v1/compliance/attestations", bad, "", nil); status != 422 {
			t.Errorf("%v: %d %s", bad, status, body)
		}
	}
	status, body := officer.postForm("/api/v1/compliance/attestations", map[string]string{"control": "GOV-01",
		"statement": "The board approved the programme.", "owner": "ciso", "expires_at": future}, "minutes.txt", []byte("proof"))
	if status != 201 {
		t.Fatalf("create: %d %s", status, body)
	}
	a := decode[compliance.Attestation](t, body)
	sum := sha256.Sum256([]byte("proof"))
	if a.ControlRefID != "GOV-01" || a.EvidenceName != "minutes.txt" || a.EvidenceSize != 5 ||
		a.EvidenceSHA256 != hex.EncodeToString(sum[:]) || a.Expired {
		t.Errorf("attestation %+v", a)
	}
	status, body = officer.do("GET", "/api/v1/compliance/attestations/"+a.ID+"/evidence", nil)
	if status != 200 || string(body) != "proof" {
		t.Errorf("evidence: %d %q", status, body)
	}
	_, body = officer.do("GET", "/api/v1/compliance/controls/GOV-01", nil)
	c := decode[compliance.ControlDetail](t, body)
	if c.Result.Status != compliance.StatusPassing || !c.Result.Attested || len(c.Attestations) != 1 {
		t.Errorf("GOV-01 after the attestation: %+v, %d attestations", c.Result, len(c.Attestations))
	}
	events, err := e.app.Audit.EventList(ctx, audit.ListParams{TeamID: tm.ID, Action: "compliance.attestation_created", Limit: 10})
	if err != nil || len(events) != 1 || events[0].TargetID != a.ID {
		t.Errorf("audit: %v %+v", err, events)
	}
	if status, _ := officer.do("DELETE", "/api/v1/compliance/attestations/"+a.ID, nil); status != 204 {
		t.Errorf("delete: %d", status)
	}
	_, body = officer.do("GET", "/api/v1/compliance/controls/GOV-01", nil)
	if c := decode[compliance.ControlDetail](t, body); c.Result.Status != compliance.StatusNotAssessed {
		t.Errorf("GOV-01 after the withdrawal: %+v", c.Result)
	}
}
