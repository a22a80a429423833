// Package rbac is the seed's UserRole and _get_permissions: six roles, each
// mapped to named permissions in one table. Every route declares exactly one
// permission when it is registered (see httpapi.Register); a route cannot be
// added without one, and tests walk the router to prove it and to check every
// role against every route.
package rbac

import (
	"fmt"
	"slices"
	"sort"
)

// Permission is a named right, such as "findings:read".
type Permission string

// Public marks a route that anyone may call without signing in: health
// probes, metrics for the scraper, the OpenAPI document, the web UI's static
// files, login, and the system status the login page shows. Declaring it is a
// deliberate act, visible in review and in the OpenAPI document.
const Public Permission = "public"

// The permissions. Names are "area:action"; ":read" never changes anything.
const (
	// AccountSelf lets a signed-in user manage their own account: password,
	// MFA, sessions and API tokens. Every role has it.
	AccountSelf Permission = "account:self"

	UsersRead   Permission = "users:read"
	UsersManage Permission = "users:manage"
	TeamManage  Permission = "team:manage"
	AuditRead   Permission = "audit:read"
	SystemRead  Permission = "system:read"

	CloudAccountsRead   Permission = "cloud_accounts:read"
	CloudAccountsManage Permission = "cloud_accounts:manage"
	ScansRead           Permission = "scans:read"
	ScansRun            Permission = "scans:run"
	FindingsRead        Permission = "findings:read"
	FindingsImport      Permission = "findings:import"
	FindingsTriage      Permission = "findings:triage"
	// FindingsApproveRisk decides another person's risk acceptance (the
	// segregation of duties: never one's own, checked by the handler).
	FindingsApproveRisk Permission = "findings:approve_risk"
	VulnsRead           Permission = "vulnerabilities:read"
	VulnsManage         Permission = "vulnerabilities:manage"
	KEVSync             Permission = "kev:sync"
	ComplianceRead      Permission = "compliance:read"
	ComplianceManage    Permission = "compliance:manage"
	// ComplianceSync rescores a team's compliance now. SECURITY_MANAGER
	// holds it without compliance:manage: they run the scans whose
	// results it scores, but framework content and attestations are the
	// compliance officer's.
	ComplianceSync Permission = "compliance:sync"
	BIARead        Permission = "bia:read"
	BIAManage      Permission = "bia:manage"
	KBRead         Permission = "kb:read"
	KBManage       Permission = "kb:manage"
	// IntegrationsRead shows notification rules, their delivery logs and
	// the ticket integrations (never their secrets); IntegrationsManage
	// changes them, and is ADMIN's alone: a rule sends the team's findings
	// out of the platform.
	IntegrationsRead   Permission = "integrations:read"
	IntegrationsManage Permission = "integrations:manage"
	// TicketsCreate pushes findings and vulnerabilities to a ticket system.
	TicketsCreate Permission = "tickets:create"
)

// Role is a UserRole of the seed.
type Role string

// The six roles.
const (
	Admin             Role = "ADMIN"
	SecurityManager   Role = "SECURITY_MANAGER"
	SecurityAnalyst   Role = "SECURITY_ANALYST"
	ComplianceOfficer Role = "COMPLIANCE_OFFICER"
	Auditor           Role = "AUDITOR"
	Viewer            Role = "VIEWER"
)

// Roles lists the roles from most to least privileged.
var Roles = []Role{Admin, SecurityManager, SecurityAnalyst, ComplianceOfficer, Auditor, Viewer}

// readAll is what every role may see of the team's security data.
var readAll = []Permission{
	AccountSelf, SystemRead, CloudAccountsRead, ScansRead, FindingsRead, VulnsRead, ComplianceRead, BIARead, KBRead,
}

// table is the one place roles meet permissions; docs/security.md renders it.
var table = map[Role][]Permission{
	Admin: All(),
	SecurityManager: append(slices.Clone(readAll),
		UsersRead, CloudAccountsManage, ScansRun, FindingsImport, FindingsTriage, FindingsApproveRisk, VulnsManage,
		ComplianceSync, BIAManage, KBManage, IntegrationsRead, TicketsCreate),
	SecurityAnalyst: append(slices.Clone(readAll),
		ScansRun, FindingsImport, FindingsTriage, VulnsManage, TicketsCreate),
	ComplianceOfficer: append(slices.Clone(readAll),
		ComplianceManage, ComplianceSync, BIAManage, KBManage, FindingsApproveRisk),
	Auditor: append(slices.Clone(readAll), UsersRead, AuditRead, IntegrationsRead),
	Viewer:  slices.Clone(readAll),
}

// All lists every permission but Public, sorted.
func All() []Permission {
	all := []Permission{
		AccountSelf, UsersRead, UsersManage, TeamManage, AuditRead, SystemRead,
		CloudAccountsRead, CloudAccountsManage, ScansRead, ScansRun, FindingsRead, FindingsImport, FindingsTriage, FindingsApproveRisk,
		VulnsRead, VulnsManage, KEVSync, ComplianceRead, ComplianceManage, ComplianceSync, BIARead, BIAManage, KBRead, KBManage,
		IntegrationsRead, IntegrationsManage, TicketsCreate,
	}
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	return all
}

// Permissions is the seed's _get_permissions: what role may do, sorted.
// An unknown role has no permissions.
func Permissions(role Role) []Permission {
	out := slices.Clone(table[role])
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// Has reports whether role grants perm. Public is granted to everyone.
func Has(role Role, perm Permission) bool {
	if perm == Public {
		return true
	}
	return slices.Contains(table[role], perm)
}

// Valid reports whether r is one of the six roles.
func (r Role) Valid() bool { return slices.Contains(Roles, r) }

// ParseRole accepts a role name as the seed spells it.
func ParseRole(s string) (Role, error) {
	r := Role(s)
	if !r.Valid() {
		return "", fmt.Errorf("unknown role %q: want one of ADMIN, SECURITY_MANAGER, SECURITY_ANALYST, COMPLIANCE_OFFICER, AUDITOR, VIEWER", s)
	}
	return r, nil
}

// Rank orders roles by privilege, 0 for ADMIN; used to stop anyone granting
// more than they hold.
func Rank(r Role) int { return slices.Index(Roles, r) }

// Matrix renders the role/permission table as Markdown for docs/security.md.
func Matrix() string {
	s := "| permission |"
	for _, r := range Roles {
		s += " " + string(r) + " |"
	}
	s += "\n|---|"
	for range Roles {
		s += "---|"
	}
	s += "\n"
	for _, p := range All() {
		s += "| `" + string(p) + "` |"
		for _, r := range Roles {
			if Has(r, p) {
				s += " ✓ |"
			} else {
				s += "  |"
			}
		}
		s += "\n"
	}
	return s
}
