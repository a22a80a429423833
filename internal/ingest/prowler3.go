package ingest

import (
	"encoding/json"
	"errors"
	"io"
	"strings"

	"github.com/offloadsecurity/cspm/internal/ocsf"
)

// prowlerJSONFinding is one finding of Prowler 3's own JSON (-M json), the
// layout before OCSF. Azure and GCP findings name the account as
// Subscription or ProjectId and the region as Location.
type prowlerJSONFinding struct {
	FindingUniqueID string   `json:"FindingUniqueId"`
	Provider        string   `json:"Provider"`
	CheckID         string   `json:"CheckID"`
	CheckTitle      string   `json:"CheckTitle"`
	CheckType       []string `json:"CheckType"`
	ServiceName     string   `json:"ServiceName"`
	Status          string   `json:"Status"`
	StatusExtended  string   `json:"StatusExtended"`
	Severity        string   `json:"Severity"`
	ResourceType    string   `json:"ResourceType"`
	Description     string   `json:"Description"`
	Risk            string   `json:"Risk"`
	RelatedURL      string   `json:"RelatedUrl"`
	Remediation     struct {
		Recommendation struct {
			Text string `json:"Text"`
			URL  string `json:"Url"`
		} `json:"Recommendation"`
	} `json:"Remediation"`
	Compliance   json.RawMessage `json:"Compliance"`
	AccountID    string          `json:"AccountId"`
	Subscription string          `json:"Subscription"`
	ProjectID    string          `json:"ProjectId"`
	Region       string          `json:"Region"`
	Location     string          `json:"Location"`
	ResourceID   string          `json:"ResourceId"`
	ResourceArn  string          `json:"ResourceArn"`
	ResourceName string          `json:"ResourceName"`
	ResourceTags json.RawMessage `json:"ResourceTags"`
}

// parseProwlerJSON reads Prowler 3's JSON: an array of findings with
// CheckID, Status and Severity, one finding per element.
func parseProwlerJSON(r io.Reader, emit Emit) error {
	return decodeElements(r, "prowler-json", decodeProwlerJSON, emit)
}

func decodeProwlerJSON(raw json.RawMessage) (*Finding, error) {
	var p prowlerJSONFinding
	if err := unmarshal(raw, &p); err != nil {
		return nil, err
	}
	if p.CheckID == "" || p.Status == "" {
		return nil, errors.New("an element without CheckID or Status: not a Prowler 3 JSON finding")
	}
	compliance, err := prowlerJSONCompliance(p.Compliance)
	if err != nil {
		return nil, err
	}
	f := &Finding{
		Tool: "prowler", ClassUID: ocsf.ClassDetectionFinding, CheckID: p.CheckID, Title: firstNonEmpty(p.CheckTitle, p.CheckID),
		Description: firstNonEmpty(p.StatusExtended, p.Description), Severity: ocsf.ParseSeverity(p.Severity),
		Result: prowlerResult(p.Status), Provider: strings.ToLower(p.Provider),
		AccountUID: firstNonEmpty(p.AccountID, p.Subscription, p.ProjectID), Region: firstNonEmpty(p.Region, p.Location),
		Service: p.ServiceName, ResourceUID: firstNonEmpty(p.ResourceArn, p.ResourceID),
		ResourceName: firstNonEmpty(p.ResourceName, p.ResourceID), ResourceType: p.ResourceType,
		Remediation: p.Remediation.Recommendation.Text, RiskDetails: p.Risk,
		Tags: tidyTags(tagsFromJSON(p.ResourceTags)),
	}
	if f.Service == "" {
		f.Service, _, _ = strings.Cut(f.CheckID, "_")
	}
	f.References = sortedUnique([]string{p.RelatedURL, p.Remediation.Recommendation.URL})
	// The same recipe as Prowler's OCSF and CSV: FindingUniqueId is what
	// later Prowler versions call finding_info.uid, and the resource its ARN.
	f.Fingerprint = fingerprint("prowler", p.FindingUniqueID, f.CheckID, f.ResourceUID)

	o := ocsf.Finding{
		ClassUID: ocsf.ClassDetectionFinding, ClassName: "Detection Finding", CategoryUID: ocsf.CategoryFindings,
		SeverityID: f.Severity, Severity: f.Severity.String(), StatusCode: strings.ToUpper(p.Status),
		StatusDetail: p.StatusExtended, Message: p.StatusExtended, RiskDetails: p.Risk,
		Metadata:    ocsf.Metadata{EventCode: f.CheckID, Product: ocsf.Product{Name: "Prowler", UID: "prowler"}},
		FindingInfo: ocsf.FindingInfo{UID: p.FindingUniqueID, Title: f.Title, Desc: p.Description, Types: p.CheckType},
		Resources: []ocsf.Resource{{UID: f.ResourceUID, Name: f.ResourceName, Type: f.ResourceType, Region: f.Region,
			Group: &ocsf.Group{Name: f.Service}, Labels: f.Tags}},
		Cloud: &ocsf.Cloud{Provider: f.Provider, Region: f.Region, Account: ocsf.Account{UID: f.AccountUID}},
	}
	if f.Remediation != "" || p.Remediation.Recommendation.URL != "" {
		o.Remediation = &ocsf.Remediation{Desc: f.Remediation}
		if u := p.Remediation.Recommendation.URL; u != "" {
			o.Remediation.References = []string{u}
		}
	}
	if len(compliance) > 0 || p.RelatedURL != "" {
		o.Unmapped = &ocsf.Unmapped{Compliance: compliance, RelatedURL: p.RelatedURL}
	}
	f.Raw = rawJSON(o)
	return f, nil
}

// prowlerJSONCompliance reads Prowler 3's Compliance: an object of
// framework -> requirement IDs (3.1 and later), or the list of
// {Framework, Version, Requirements} objects of 3.0.
func prowlerJSONCompliance(raw json.RawMessage) (map[string][]string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var m map[string][]string
	if err := unmarshal(raw, &m); err == nil {
		return m, nil
	}
	var list []struct {
		Framework    string   `json:"Framework"`
		Version      string   `json:"Version"`
		Requirements []string `json:"Requirements"`
		Control      []string `json:"Control"`
	}
	if err := unmarshal(raw, &list); err != nil {
		return nil, errors.New("the Compliance field is neither an object of framework to requirements nor a list of frameworks")
	}
	m = map[string][]string{}
	for _, c := range list {
		fw := strings.Trim(c.Framework+"-"+c.Version, "-")
		m[fw] = append(m[fw], append(c.Requirements, c.Control...)...)
	}
	return m, nil
}
