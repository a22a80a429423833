// Package tiers carries business impact into the findings and
// vulnerability stores: the business tier of an asset is the tightest
// criticality tier (1 mission critical ... 5 non-essential) of any live
// business impact analysis that names it as a dependency, by its cloud
// account, its resource UID (or host, or image) or one of its tags.
//
// The BIA service (internal/bia) computes a Map; the findings importer and
// the vulnerability store apply it as they write, and a sync job rewrites
// stored rows when the analyses change. The package holds only the shared
// vocabulary, so that neither store imports the other's package.
package tiers

import (
	"context"
	"strings"
)

// None is the tier of an asset no analysis depends on.
const None = 0

// Map is a team's dependency selectors, each with the tightest tier of the
// processes that name it.
type Map struct {
	// Revision identifies the analyses the map was computed from: two maps
	// of the same revision are the same.
	Revision string
	Accounts map[string]int // cloud account UID
	Assets   map[string]int // resource UID or ARN, network host, container image
	Tags     map[string]int // "key=value", lowercased
	// unavailable marks the map of a team whose analyses could not be read:
	// it names no tier, and writers keep the tiers they have.
	unavailable bool
}

// Unavailable is the map to write with when the analyses cannot be read:
// new rows get no tier, stored rows keep theirs, and a sync follows.
func Unavailable() *Map { return &Map{Revision: "unavailable", unavailable: true} }

// Known reports whether the map says what the analyses say (not nil, not
// Unavailable): only then may a writer change a stored tier.
func (m *Map) Known() bool { return m != nil && !m.unavailable }

// Empty reports whether no analysis names any asset.
func (m *Map) Empty() bool {
	return m == nil || len(m.Accounts) == 0 && len(m.Assets) == 0 && len(m.Tags) == 0
}

// Set records that a process of the given tier depends on a selector,
// keeping the tightest tier.
func Set(into map[string]int, key string, tier int) {
	if tier < 1 || tier > 5 || key == "" {
		return
	}
	if old, ok := into[key]; !ok || tier < old {
		into[key] = tier
	}
}

// Of is the business tier of a finding's resource: the tightest of its
// account's, its resource UID's, its target's and its tags' (each
// "key=value", lowercased, as the findings store keeps them), or None.
func (m *Map) Of(account, resource, target string, tags []string) int {
	if m.Empty() {
		return None
	}
	best := None
	take := func(t int, ok bool) {
		if ok && (best == None || t < best) {
			best = t
		}
	}
	t, ok := m.Accounts[account]
	take(t, ok && account != "")
	t, ok = m.Assets[resource]
	take(t, ok && resource != "")
	if target != resource {
		t, ok = m.Assets[target]
		take(t, ok && target != "")
	}
	for _, tag := range tags {
		t, ok = m.Tags[strings.ToLower(tag)]
		take(t, ok)
	}
	return best
}

// OfAsset is the business tier of a vulnerability's asset (an image, a
// host, a cloud resource or a URL), or None.
func (m *Map) OfAsset(asset string) int {
	if m.Empty() || asset == "" {
		return None
	}
	return m.Assets[asset]
}

// Source computes a team's map (the BIA service).
type Source interface {
	BusinessTiers(ctx context.Context, teamID string) (*Map, error)
}

// Valid reports whether t is a tier a filter may name (1 to 5).
func Valid(t int) bool { return t >= 1 && t <= 5 }
