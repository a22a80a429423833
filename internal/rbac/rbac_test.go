package rbac

import (
	"os"
	"strings"
	"testing"
)

func TestEveryRoleCanManageItsOwnAccountAndRead(t *testing.T) {
	for _, r := range Roles {
		for _, p := range readAll {
			if !Has(r, p) {
				t.Errorf("%s lacks %s", r, p)
			}
		}
	}
}

func TestOnlyAdminManagesUsersAndTeam(t *testing.T) {
	for _, r := range Roles {
		for _, p := range []Permission{UsersManage, TeamManage, KEVSync} {
			if got := Has(r, p); got != (r == Admin) {
				t.Errorf("Has(%s, %s) = %v", r, p, got)
			}
		}
	}
}

func TestViewerAndAuditorCannotWrite(t *testing.T) {
	for _, r := range []Role{Viewer, Auditor} {
		for _, p := range Permissions(r) {
			if p != AccountSelf && !strings.HasSuffix(string(p), ":read") {
				t.Errorf("%s has write permission %s", r, p)
			}
		}
	}
	if !Has(Auditor, AuditRead) || Has(Viewer, AuditRead) {
		t.Error("audit:read must be AUDITOR's and not VIEWER's")
	}
}

func TestUnknownRoleHasNothing(t *testing.T) {
	if len(Permissions("ROOT")) != 0 || Has("ROOT", FindingsRead) {
		t.Fatal("an unknown role has permissions")
	}
	if !Has("ROOT", Public) {
		t.Fatal("public must be granted to anyone")
	}
	if _, err := ParseRole("root"); err == nil {
		t.Fatal("ParseRole accepted root")
	}
}

func TestRankOrdersAdminFirst(t *testing.T) {
	if Rank(Admin) != 0 || Rank(Viewer) != len(Roles)-1 || Rank("X") != -1 {
		t.Fatal("rank order")
	}
}

func TestMatrixHasEveryPermission(t *testing.T) {
	m := Matrix()
	for _, p := range All() {
		if !strings.Contains(m, "`"+string(p)+"`") {
			t.Errorf("matrix lacks %s", p)
		}
	}
}

func TestSecurityDocCarriesTheMatrix(t *testing.T) {
	doc, err := os.ReadFile("../../docs/security.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(doc), Matrix()) {
		t.Fatal("docs/security.md does not carry the current role matrix (rbac.Matrix())")
	}
}
