package cloud

import "time"

// AccountStatus is what the accounts list shows beside an account: its
// newest scan, its next scheduled one, and its posture from the findings.
type AccountStatus struct {
	LastScanID     string     `json:"last_scan_id,omitempty"`
	LastScanStatus string     `json:"last_scan_status,omitempty" enum:"queued,running,completed,partial,failed,cancelled,"`
	LastScanAt     *time.Time `json:"last_scan_at,omitempty" doc:"When the newest scan finished, or was queued if it has not."`
	NextScanAt     *time.Time `json:"next_scan_at,omitempty" doc:"The next run of the account's enabled schedules."`
	Passed         int        `json:"passed" doc:"Resources whose check passed."`
	Failed         int        `json:"failed" doc:"Open failures."`
	Manual         int        `json:"manual" doc:"Open MANUAL results."`
	PassRate       *float64   `json:"pass_rate" doc:"passed / (passed + failed), null when there is neither."`
}
