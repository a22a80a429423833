// Package ocsf holds the parts of the Open Cybersecurity Schema Framework
// (OCSF 1.x) the platform uses: the Findings category's Detection Finding
// (2004, what Prowler writes), Vulnerability Finding (2002) and Compliance
// Finding (2003), with their severity and status enums. Fields the platform
// does not read are kept by storing each finding's original JSON beside the
// normalized columns.
package ocsf

import (
	"encoding/json"
	"strings"
)

// Class UIDs of the Findings category (category_uid 2).
const (
	CategoryFindings          = 2
	ClassVulnerabilityFinding = 2002
	ClassComplianceFinding    = 2003
	ClassDetectionFinding     = 2004
)

// ClassName returns the OCSF class name for a class UID.
func ClassName(uid int) string {
	switch uid {
	case ClassVulnerabilityFinding:
		return "Vulnerability Finding"
	case ClassComplianceFinding:
		return "Compliance Finding"
	case ClassDetectionFinding:
		return "Detection Finding"
	}
	return "Unknown"
}

// Severity is OCSF's severity_id.
type Severity int

// OCSF severity_id values.
const (
	SeverityUnknown       Severity = 0
	SeverityInformational Severity = 1
	SeverityLow           Severity = 2
	SeverityMedium        Severity = 3
	SeverityHigh          Severity = 4
	SeverityCritical      Severity = 5
	SeverityFatal         Severity = 6
	SeverityOther         Severity = 99
)

// String returns the OCSF caption.
func (s Severity) String() string {
	switch s {
	case SeverityInformational:
		return "Informational"
	case SeverityLow:
		return "Low"
	case SeverityMedium:
		return "Medium"
	case SeverityHigh:
		return "High"
	case SeverityCritical:
		return "Critical"
	case SeverityFatal:
		return "Fatal"
	case SeverityOther:
		return "Other"
	}
	return "Unknown"
}

// Key is the lower-case name used in the API and the database.
func (s Severity) Key() string { return strings.ToLower(s.String()) }

// SeverityFromKey is the inverse of Severity.Key.
func SeverityFromKey(key string) (Severity, bool) {
	for _, s := range []Severity{SeverityUnknown, SeverityInformational, SeverityLow, SeverityMedium, SeverityHigh,
		SeverityCritical, SeverityFatal, SeverityOther} {
		if s.Key() == strings.ToLower(key) {
			return s, true
		}
	}
	return SeverityUnknown, false
}

// ParseSeverity maps the words tools use (Trivy's CRITICAL, Grype's
// Negligible, Nuclei's info, SARIF's error...) to OCSF severities.
func ParseSeverity(word string) Severity {
	switch strings.ToLower(strings.TrimSpace(word)) {
	case "critical":
		return SeverityCritical
	case "high", "error":
		return SeverityHigh
	case "medium", "moderate", "warning":
		return SeverityMedium
	case "low", "negligible", "note":
		return SeverityLow
	case "info", "informational", "information", "none", "unknown-info":
		return SeverityInformational
	case "fatal":
		return SeverityFatal
	}
	return SeverityUnknown
}

// SeverityKeys lists the severities the API filters on, most severe first.
var SeverityKeys = []string{"critical", "high", "medium", "low", "informational", "unknown"}

// Finding status_id values (the lifecycle the producing tool reports).
const (
	StatusNew        = 1
	StatusInProgress = 2
	StatusSuppressed = 3
	StatusResolved   = 4
)

// Finding is the subset of an OCSF finding (any of the three classes) that
// the platform reads or writes.
type Finding struct {
	ClassUID     int             `json:"class_uid"`
	ClassName    string          `json:"class_name,omitempty"`
	CategoryUID  int             `json:"category_uid,omitempty"`
	TypeUID      int             `json:"type_uid,omitempty"`
	ActivityID   int             `json:"activity_id,omitempty"`
	SeverityID   Severity        `json:"severity_id"`
	Severity     string          `json:"severity,omitempty"`
	StatusID     int             `json:"status_id,omitempty"`
	Status       string          `json:"status,omitempty"`
	StatusCode   string          `json:"status_code,omitempty"`
	StatusDetail string          `json:"status_detail,omitempty"`
	Message      string          `json:"message,omitempty"`
	Time         int64           `json:"time,omitempty"`
	Metadata     Metadata        `json:"metadata"`
	FindingInfo  FindingInfo     `json:"finding_info"`
	Resources    []Resource      `json:"resources,omitempty"`
	Cloud        *Cloud          `json:"cloud,omitempty"`
	Remediation  *Remediation    `json:"remediation,omitempty"`
	RiskDetails  string          `json:"risk_details,omitempty"`
	Vulns        []Vulnerability `json:"vulnerabilities,omitempty"`
	Compliance   *Compliance     `json:"compliance,omitempty"`
	Unmapped     *Unmapped       `json:"unmapped,omitempty"`
}

// Metadata describes the producing product.
type Metadata struct {
	EventCode string  `json:"event_code,omitempty"`
	Product   Product `json:"product"`
	Version   string  `json:"version,omitempty"`
}

// Product is the tool.
type Product struct {
	Name       string `json:"name,omitempty"`
	VendorName string `json:"vendor_name,omitempty"`
	Version    string `json:"version,omitempty"`
	UID        string `json:"uid,omitempty"`
}

// FindingInfo identifies the finding.
type FindingInfo struct {
	UID         string   `json:"uid"`
	Title       string   `json:"title,omitempty"`
	Desc        string   `json:"desc,omitempty"`
	Types       []string `json:"types,omitempty"`
	CreatedTime int64    `json:"created_time,omitempty"`
	ProductUID  string   `json:"product_uid,omitempty"`
}

// Resource is an affected resource.
type Resource struct {
	UID            string   `json:"uid,omitempty"`
	Name           string   `json:"name,omitempty"`
	Type           string   `json:"type,omitempty"`
	Region         string   `json:"region,omitempty"`
	CloudPartition string   `json:"cloud_partition,omitempty"`
	Group          *Group   `json:"group,omitempty"`
	Labels         []string `json:"labels,omitempty"`
	// Data is the producer's own detail; Prowler puts the resource's tags
	// in data.metadata.tags.
	Data *ResourceData `json:"data,omitempty"`
}

// ResourceData is the part of a resource's data the platform reads.
type ResourceData struct {
	Metadata *struct {
		Tags json.RawMessage `json:"tags,omitempty"`
	} `json:"metadata,omitempty"`
}

// Group names the service a resource belongs to.
type Group struct {
	Name string `json:"name,omitempty"`
}

// Cloud is the cloud account the finding is about.
type Cloud struct {
	Provider string  `json:"provider,omitempty"`
	Region   string  `json:"region,omitempty"`
	Account  Account `json:"account"`
}

// Account is a cloud account, project or subscription.
type Account struct {
	UID  string `json:"uid,omitempty"`
	Name string `json:"name,omitempty"`
	Type string `json:"type,omitempty"`
}

// Remediation says how to fix it.
type Remediation struct {
	Desc       string   `json:"desc,omitempty"`
	References []string `json:"references,omitempty"`
}

// Vulnerability is one vulnerability of a Vulnerability Finding.
type Vulnerability struct {
	CVE              *CVE              `json:"cve,omitempty"`
	Title            string            `json:"title,omitempty"`
	Desc             string            `json:"desc,omitempty"`
	Severity         string            `json:"severity,omitempty"`
	References       []string          `json:"references,omitempty"`
	FixAvailable     bool              `json:"fix_available,omitempty"`
	AffectedPackages []AffectedPackage `json:"affected_packages,omitempty"`
}

// CVE names a vulnerability (CVE, GHSA or another catalog's ID).
type CVE struct {
	UID  string `json:"uid"`
	CVSS []CVSS `json:"cvss,omitempty"`
}

// CVSS is one score.
type CVSS struct {
	Version      string  `json:"version,omitempty"`
	VectorString string  `json:"vector_string,omitempty"`
	BaseScore    float64 `json:"base_score,omitempty"`
}

// AffectedPackage is a vulnerable component.
type AffectedPackage struct {
	Name         string `json:"name"`
	Version      string `json:"version,omitempty"`
	FixedVersion string `json:"fixed_in_version,omitempty"`
	Type         string `json:"type,omitempty"`
	Path         string `json:"path,omitempty"`
}

// Compliance is the compliance part of a Compliance Finding.
type Compliance struct {
	Control   string   `json:"control,omitempty"`
	Standards []string `json:"standards,omitempty"`
	Status    string   `json:"status,omitempty"`
}

// Unmapped holds what Prowler puts outside the schema; the platform reads
// its compliance map (framework -> requirement IDs).
type Unmapped struct {
	Compliance map[string][]string `json:"compliance,omitempty"`
	RelatedURL string              `json:"related_url,omitempty"`
}
