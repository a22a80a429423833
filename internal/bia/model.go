package bia

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// Record is what a person writes in one version of an analysis.
type Record struct {
	Name        string `json:"name" minLength:"1" maxLength:"200"`
	Description string `json:"description,omitempty" maxLength:"10000"`
	// OwnerID is the accountable user, a member of the team.
	OwnerID string `json:"owner_id,omitempty" maxLength:"64"`
	// Tier: 1 mission critical ... 5 non-essential (names per team, see Settings).
	Tier int `json:"tier" minimum:"1" maximum:"5"`
	// Recovery objectives in hours; nil is not set yet (a gap).
	RTOHours  *float64 `json:"rto_hours,omitempty" minimum:"0" doc:"Recovery time objective."`
	RPOHours  *float64 `json:"rpo_hours,omitempty" minimum:"0" doc:"Recovery point objective."`
	MTPDHours *float64 `json:"mtpd_hours,omitempty" minimum:"0" doc:"Maximum tolerable period of disruption."`
	// RPOJustification explains an RPO longer than the RTO, which is then no gap.
	RPOJustification     string  `json:"rpo_justification,omitempty" maxLength:"2000"`
	MinimumServiceLevel  string  `json:"minimum_service_level,omitempty" maxLength:"2000"`
	FinancialLossPerHour float64 `json:"financial_loss_per_hour,omitempty" minimum:"0"`
	// Impacts: category -> horizon -> rating 1-5 (0 or absent: not rated).
	Impacts map[string]map[string]int `json:"impacts,omitempty"`
	// ReviewDate is when the analysis is next due for review; an approval
	// without one (or with one past) sets it an interval after approval.
	ReviewDate           *time.Time `json:"review_date,omitempty"`
	ReviewIntervalMonths int        `json:"review_interval_months,omitempty" minimum:"0" maximum:"60" doc:"0 means 12."`
	// Recovery testing: when recovery was last exercised and how long it took.
	RecoveryTestedAt    *time.Time   `json:"recovery_tested_at,omitempty"`
	MeasuredRecoveryHrs *float64     `json:"measured_recovery_hours,omitempty" minimum:"0"`
	Dependencies        []Dependency `json:"dependencies,omitempty" maxItems:"2000"`
	LastReviewedAt      *time.Time   `json:"last_reviewed_at,omitempty" readOnly:"true" doc:"Set by each approval."`
}

// Dependency is something a process needs to run.
type Dependency struct {
	Kind  string `json:"kind" enum:"cloud_account,resource,tag,network_host,container_image,vendor,person,process"`
	Value string `json:"value" minLength:"1" maxLength:"1000" doc:"Account ID, resource UID or ARN, tag key=value, host, image, vendor, person or process ID."`
	Note  string `json:"note,omitempty" maxLength:"1000"`
}

// interval is the review interval in months.
func (r *Record) interval() int {
	if r.ReviewIntervalMonths <= 0 {
		return 12
	}
	return r.ReviewIntervalMonths
}

// validate refuses what cannot be stored as it is: values out of range, an
// unknown category or horizon, a malformed dependency. Inconsistencies
// between valid values (RTO above MTPD) are gaps, listed, not refused.
func (r *Record) validate(st Settings) error {
	var problems []string
	r.Name = strings.TrimSpace(r.Name)
	if r.Name == "" || len(r.Name) > 200 {
		problems = append(problems, "name is required (at most 200 characters)")
	}
	if r.Tier < 1 || r.Tier > 5 {
		problems = append(problems, fmt.Sprintf("tier %d is not 1 to 5", r.Tier))
	}
	for name, v := range map[string]*float64{"rto_hours": r.RTOHours, "rpo_hours": r.RPOHours, "mtpd_hours": r.MTPDHours,
		"measured_recovery_hours": r.MeasuredRecoveryHrs} {
		if v != nil && (*v < 0 || math.IsNaN(*v) || math.IsInf(*v, 0) || *v > 1e6) {
			problems = append(problems, name+" must be between 0 and 1,000,000 hours")
		}
	}
	if r.FinancialLossPerHour < 0 || math.IsNaN(r.FinancialLossPerHour) || math.IsInf(r.FinancialLossPerHour, 0) {
		problems = append(problems, "financial_loss_per_hour must not be negative")
	}
	if r.ReviewIntervalMonths < 0 || r.ReviewIntervalMonths > 60 {
		problems = append(problems, "review_interval_months must be 0 to 60")
	}
	cats, hors := st.categorySet(), st.horizonSet()
	for c, row := range r.Impacts {
		if !cats[c] {
			problems = append(problems, fmt.Sprintf("unknown impact category %q", c))
			continue
		}
		for h, v := range row {
			if !hors[h] {
				problems = append(problems, fmt.Sprintf("unknown time horizon %q", h))
			} else if v < 0 || v > 5 {
				problems = append(problems, fmt.Sprintf("impact %s at %s is %d, not 1 to 5", c, h, v))
			}
		}
	}
	seen := map[string]bool{}
	deps := r.Dependencies[:0:0]
	for _, d := range r.Dependencies {
		d.Value = strings.TrimSpace(d.Value)
		if !validKind(d.Kind) {
			problems = append(problems, fmt.Sprintf("unknown dependency kind %q", d.Kind))
			continue
		}
		if d.Value == "" {
			problems = append(problems, "a dependency needs a value")
			continue
		}
		if d.Kind == DepTag {
			k, v, ok := strings.Cut(d.Value, "=")
			if !ok || strings.TrimSpace(k) == "" || strings.TrimSpace(v) == "" {
				problems = append(problems, fmt.Sprintf("tag selector %q is not key=value", d.Value))
				continue
			}
			d.Value = strings.ToLower(strings.TrimSpace(k) + "=" + strings.TrimSpace(v))
		}
		key := d.Kind + "\x00" + d.Value
		if seen[key] {
			continue // the same dependency twice is one dependency
		}
		seen[key] = true
		deps = append(deps, d)
	}
	r.Dependencies = deps
	if len(problems) > 0 {
		return fmt.Errorf("%w: %s", ErrInvalid, strings.Join(problems, "; "))
	}
	return nil
}

func validKind(k string) bool {
	for _, x := range DependencyKinds {
		if x == k {
			return true
		}
	}
	return false
}

// Gap is an inconsistency or omission in an analysis: listed on it and in
// analytics, never fixed by the platform.
type Gap struct {
	Code    string `json:"code" enum:"rto_missing,rpo_missing,mtpd_missing,rto_exceeds_mtpd,rpo_exceeds_rto,owner_missing,owner_not_in_team,impacts_unrated,review_overdue,inherited_rto_tighter,inherited_rpo_tighter,inherited_mtpd_tighter,inherited_tier_higher"`
	Message string `json:"message"`
}

// Objectives are the recovery objectives and tier in force for a process:
// its own, or tighter ones it inherits from the processes that depend on it.
type Objectives struct {
	Tier      int      `json:"tier"`
	RTOHours  *float64 `json:"rto_hours,omitempty"`
	RPOHours  *float64 `json:"rpo_hours,omitempty"`
	MTPDHours *float64 `json:"mtpd_hours,omitempty"`
	// InheritedFrom names, per objective (tier, rto, rpo, mtpd), the
	// process it is inherited from, when it is not the process's own.
	InheritedFrom map[string]InheritedFrom `json:"inherited_from,omitempty"`
}

// InheritedFrom names the process an objective comes from.
type InheritedFrom struct {
	ProcessID string `json:"process_id"`
	Name      string `json:"name"`
}

// Version is one version of an analysis.
type Version struct {
	ProcessID   string     `json:"process_id"`
	Version     int        `json:"version"`
	Status      string     `json:"status" enum:"draft,in_review,returned,approved,superseded,archived"`
	Record      Record     `json:"record"`
	AuthorID    string     `json:"author_id"`
	AuthorEmail string     `json:"author_email"`
	SubmittedBy string     `json:"submitted_by,omitempty"`
	ApprovedBy  string     `json:"approved_by,omitempty"`
	ApprovedAt  *time.Time `json:"approved_at,omitempty"`
	Comment     string     `json:"comment,omitempty"`
	CreatedAt   time.Time  `json:"created_at"`
	UpdatedAt   time.Time  `json:"updated_at"`

	contributors []string
}

// Process is an analysis as the API shows it: the latest version (the one
// being worked on), the approved one in force when there is one, the
// objectives in force with what they inherit, and its gaps.
type Process struct {
	ID              string     `json:"id"`
	Status          string     `json:"status" doc:"The latest version's status."`
	LatestVersion   int        `json:"latest_version"`
	ApprovedVersion int        `json:"approved_version,omitempty" doc:"The approved version in force; 0: none."`
	Revision        int64      `json:"revision" doc:"Send back as If-Match (or revision) to edit; a stale one is refused."`
	Latest          Version    `json:"latest"`
	Approved        *Version   `json:"approved,omitempty" doc:"The version in force, when it is not the latest."`
	Objectives      Objectives `json:"objectives" doc:"Tier and objectives in force, with what they inherit from dependent processes."`
	ReviewDue       *time.Time `json:"review_due,omitempty"`
	ReviewOverdue   bool       `json:"review_overdue"`
	Gaps            []Gap      `json:"gaps"`
	// DependedOnBy lists the processes that depend on this one.
	DependedOnBy []InheritedFrom `json:"depended_on_by"`
	CreatedBy    string          `json:"created_by"`
	CreatedAt    time.Time       `json:"created_at"`
	UpdatedAt    time.Time       `json:"updated_at"`
}

// inForce is the version whose content counts: the approved one, or else the latest.
func (p *Process) inForce() *Version {
	if p.Approved != nil {
		return p.Approved
	}
	return &p.Latest
}

// ETag is the process's entity tag.
func (p *Process) ETag() string { return fmt.Sprintf(`"%s-r%d"`, p.ID, p.Revision) }

// Transition is one recorded lifecycle step.
type Transition struct {
	ID         string    `json:"id"`
	Version    int       `json:"version"`
	Action     string    `json:"action"`
	FromStatus string    `json:"from_status"`
	ToStatus   string    `json:"to_status"`
	ActorID    string    `json:"actor_id"`
	ActorEmail string    `json:"actor_email"`
	Comment    string    `json:"comment"`
	At         time.Time `json:"at"`
}
