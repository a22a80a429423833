package app

import (
	"context"

	"github.com/offloadsecurity/cspm/internal/cloud"
)

// accountStatuses fills the cloud accounts list's status from the scans
// (newest run, next scheduled run) and the findings (pass and fail in the
// account, from the posture overview's cache): three reads whatever the
// number of accounts.
func (a *App) accountStatuses(ctx context.Context, teamID string, accounts []cloud.Account) error {
	if len(accounts) == 0 {
		return nil
	}
	scans, err := a.Orchestration.AccountScansOf(ctx, teamID)
	if err != nil {
		return err
	}
	rates, err := a.Findings.AccountPassRates(ctx, teamID)
	if err != nil {
		return err
	}
	type key struct{ provider, uid string }
	byAccount := make(map[key]int, len(rates))
	for i, r := range rates {
		byAccount[key{r.Provider, r.Key}] = i
	}
	for i := range accounts {
		acc := &accounts[i]
		st := &cloud.AccountStatus{}
		if sc, ok := scans[acc.ID]; ok {
			st.NextScanAt = sc.NextRunAt
			if r := sc.LastRun; r != nil {
				st.LastScanID, st.LastScanStatus = r.ID, r.Status
				at := r.CreatedAt
				if r.FinishedAt != nil {
					at = *r.FinishedAt
				}
				st.LastScanAt = &at
			}
		}
		if i, ok := byAccount[key{acc.Provider, acc.AccountUID}]; ok {
			r := rates[i]
			st.Passed, st.Failed, st.Manual, st.PassRate = r.Passed, r.Failed, r.Manual, r.PassRate
		}
		acc.Status = st
	}
	return nil
}
