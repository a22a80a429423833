package bia

import (
	"context"
	"testing"

	"github.com/offloadsecurity/cspm/internal/db"
	"github.com/offloadsecurity/cspm/internal/db/dbtest"
)

// The business tier map names each asset with the tightest tier in force
// of the live processes depending on it: a process inherits the tier of
// those depending on it, an archived one names nothing, and every change
// is announced (OnChange) and gives a new revision.
func TestBusinessTiersMapAndChanges(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, reg *db.Registry) {
		ctx := context.Background()
		b := setup(t, reg)
		var changes []string
		b.s.onChange = func(_ context.Context, team string) { changes = append(changes, team) }

		// storage (own tier 4) holds arn:db and the account; payments
		// (tier 1) depends on storage and names a tag; the sandbox (tier 5)
		// names arn:db too, and an image.
		storage := complete("Storage", 4)
		storage.Dependencies = []Dependency{{Kind: DepResource, Value: "arn:db"}, {Kind: DepCloudAccount, Value: "111122223333"}}
		st := mustCreate(t, b, storage)
		pay := complete("Payments", 1)
		pay.Dependencies = []Dependency{{Kind: DepProcess, Value: st.ID}, {Kind: DepTag, Value: "App = Payments"}}
		mustCreate(t, b, pay)
		sandbox := complete("Sandbox", 5)
		sandbox.Dependencies = []Dependency{{Kind: DepResource, Value: "arn:db"}, {Kind: DepContainerImage, Value: "registry/app:1"},
			{Kind: DepVendor, Value: "Acme"}}
		sb := mustCreate(t, b, sandbox)
		if len(changes) != 3 || changes[0] != teamA {
			t.Fatalf("changes announced: %v", changes)
		}

		m, err := b.s.BusinessTiers(ctx, teamA)
		if err != nil {
			t.Fatal(err)
		}
		// Storage is tier 1 by inheritance, so arn:db and the account are.
		if m.Assets["arn:db"] != 1 || m.Accounts["111122223333"] != 1 || m.Tags["app=payments"] != 1 || m.Assets["registry/app:1"] != 5 {
			t.Fatalf("map %+v", m)
		}
		if _, ok := m.Assets["Acme"]; ok {
			t.Fatal("a vendor named as an asset")
		}
		if other, err := b.s.BusinessTiers(ctx, teamB); err != nil || !other.Empty() {
			t.Fatalf("team B sees %+v, %v", other, err)
		}

		// Archiving the sandbox drops its image and changes the revision.
		step(t, b, sb, ActionArchive, "retired", admin)
		m2, err := b.s.BusinessTiers(ctx, teamA)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := m2.Assets["registry/app:1"]; ok || m2.Revision == m.Revision {
			t.Fatalf("after archiving: %+v (revision %q, was %q)", m2.Assets, m2.Revision, m.Revision)
		}
		if len(changes) != 4 {
			t.Fatalf("archive not announced: %v", changes)
		}
	})
}
