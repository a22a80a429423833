package bia

import (
	"context"

	"github.com/offloadsecurity/cspm/internal/tiers"
)

// BusinessTiers maps the team's assets to the tightest tier in force of
// the live processes that depend on them (tiers.Map). A process's tier in
// force already carries what it inherits from the processes depending on
// it, so each process's own dependencies are enough. Accounts, resource
// UIDs, hosts, images and tag selectors count; vendors and people name no
// asset the scanners see.
func (s *Service) BusinessTiers(ctx context.Context, teamID string) (*tiers.Map, error) {
	t, err := s.derived(ctx, teamID)
	if err != nil {
		return nil, err
	}
	m := &tiers.Map{Revision: t.key, Accounts: map[string]int{}, Assets: map[string]int{}, Tags: map[string]int{}}
	for _, p := range t.procs {
		if !live(p) {
			continue
		}
		tier := clampTier(p.Objectives.Tier)
		for _, d := range p.inForce().Record.Dependencies {
			switch d.Kind {
			case DepCloudAccount:
				tiers.Set(m.Accounts, d.Value, tier)
			case DepResource, DepNetworkHost, DepContainerImage:
				tiers.Set(m.Assets, d.Value, tier)
			case DepTag:
				tiers.Set(m.Tags, d.Value, tier)
			}
		}
	}
	return m, nil
}
