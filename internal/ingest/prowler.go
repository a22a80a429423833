package ingest

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	jsonv2 "github.com/go-json-experiment/json"

	"github.com/offloadsecurity/cspm/internal/ocsf"
)

func prowlerResult(statusCode string) Result {
	switch strings.ToUpper(statusCode) {
	case "PASS":
		return ResultPass
	case "MANUAL", "INFO":
		return ResultManual
	}
	return ResultFail
}

// prowlerElement is what the import reads of a Prowler OCSF element: the
// members it maps to a Finding, of the ocsf types where it reads them
// whole. The decoder skips the rest without building it: unmapped (whose
// compliance map, framework -> requirement IDs for dozens of frameworks,
// was 16% of parsing a report and stays in the raw OCSF), finding_info's
// description, the product metadata, remediation references. Skipping the
// compliance map with a custom unmarshaler cost 10% of decoding instead
// (the decoder then looks every value's type up in its table of custom
// unmarshalers). 100,000 generated findings: decoding 1.20 -> 1.02 s of
// CPU (docs/PERFORMANCE.md).
type prowlerElement struct {
	ClassUID     int           `json:"class_uid"`
	SeverityID   ocsf.Severity `json:"severity_id"`
	Severity     string        `json:"severity"`
	StatusCode   string        `json:"status_code"`
	StatusDetail string        `json:"status_detail"`
	Message      string        `json:"message"`
	RiskDetails  string        `json:"risk_details"`
	Metadata     struct {
		EventCode string `json:"event_code"`
	} `json:"metadata"`
	FindingInfo struct {
		UID   string `json:"uid"`
		Title string `json:"title"`
	} `json:"finding_info"`
	Resources   []ocsf.Resource `json:"resources"`
	Cloud       *ocsf.Cloud     `json:"cloud"`
	Remediation *struct {
		Desc string `json:"desc"`
	} `json:"remediation"`
}

// parseProwlerOCSF reads Prowler's json-ocsf output: a JSON array (Prowler
// 4 and 5) or JSON lines, one Detection Finding per element. Prowler 4
// (OCSF 1.2) writes class_name "DetectionFinding"; the parser reads by
// field, not by class name.
func parseProwlerOCSF(r io.Reader, emit Emit) error {
	return decodeElements(r, "prowler-ocsf", decodeProwlerOCSF, emit)
}

// decodeProwlerOCSF reads one element of a Prowler OCSF report, which
// becomes the finding's raw OCSF.
func decodeProwlerOCSF(raw json.RawMessage) (*Finding, error) {
	var o prowlerElement
	if err := jsonv2.Unmarshal(raw, &o, readOptions); err != nil {
		return nil, err
	}
	if o.ClassUID == 0 && o.FindingInfo.UID == "" {
		return nil, errors.New("element is not an OCSF finding (no class_uid or finding_info.uid)")
	}
	f := &Finding{
		Tool: "prowler", ClassUID: o.ClassUID, CheckID: o.Metadata.EventCode,
		Title: o.FindingInfo.Title, Description: o.StatusDetail, Severity: o.SeverityID,
		Result: prowlerResult(o.StatusCode), RiskDetails: o.RiskDetails,
	}
	if f.ClassUID == 0 {
		f.ClassUID = ocsf.ClassDetectionFinding
	}
	if f.Severity == ocsf.SeverityUnknown {
		f.Severity = ocsf.ParseSeverity(o.Severity)
	}
	if f.Description == "" {
		f.Description = o.Message
	}
	if o.Cloud != nil {
		f.Provider, f.AccountUID, f.Region = o.Cloud.Provider, o.Cloud.Account.UID, o.Cloud.Region
	}
	if len(o.Resources) > 0 {
		res := o.Resources[0]
		f.ResourceUID, f.ResourceName, f.ResourceType = res.UID, res.Name, res.Type
		if res.Region != "" {
			f.Region = res.Region
		}
		if res.Group != nil {
			f.Service = res.Group.Name
		}
		tags := res.Labels
		if res.Data != nil && res.Data.Metadata != nil {
			tags = append(tags, tagsFromJSON(res.Data.Metadata.Tags)...)
		}
		f.Tags = tidyTags(tags)
	}
	if f.Service == "" {
		f.Service, _, _ = strings.Cut(f.CheckID, "_")
	}
	if o.Remediation != nil {
		f.Remediation = o.Remediation.Desc
	}
	// finding_info.uid is Prowler's own stable identity
	// (prowler-<provider>-<check>-<account>-<region>-<resource>); the
	// check and resource are added so that exports with redacted uids
	// still tell findings apart.
	f.Fingerprint = fingerprint("prowler", o.FindingInfo.UID, f.CheckID, f.ResourceUID)
	f.Raw = raw
	return f, nil
}

// parseProwlerCSV reads Prowler's ';'-separated CSV, one finding per row.
func parseProwlerCSV(r io.Reader, emit Emit) error {
	cr := csv.NewReader(r)
	cr.Comma = ';'
	cr.ReuseRecord = true
	rows := 0 // records read so far, the header included
	fail := func(err error) error {
		// FieldPos panics before the first record; count lines ourselves
		// (a quoted field spanning lines makes this an approximation that
		// csv.ParseError's own line replaces).
		line := rows + 1
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			line = pe.Line
		}
		if errors.Is(err, io.EOF) {
			err = errors.New("the report is empty")
		}
		return &ParseError{Format: "prowler-csv", Where: fmt.Sprintf("line %d", line), Err: err}
	}
	header, err := cr.Read()
	if err != nil {
		return fail(err)
	}
	rows++
	col := map[string]int{}
	for i, h := range header {
		col[strings.TrimPrefix(strings.TrimSpace(h), "\ufeff")] = i
	}
	for _, need := range []string{"CHECK_ID", "STATUS", "SEVERITY"} {
		if _, ok := col[need]; !ok {
			return fail(fmt.Errorf("no %s column", need))
		}
	}
	cr.FieldsPerRecord = len(header)
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fail(err)
		}
		rows++
		get := func(name string) string {
			if i, ok := col[name]; ok {
				return rec[i]
			}
			return ""
		}
		f := &Finding{
			Tool: "prowler", ClassUID: ocsf.ClassDetectionFinding, CheckID: get("CHECK_ID"), Title: get("CHECK_TITLE"),
			Description: get("STATUS_EXTENDED"), Severity: ocsf.ParseSeverity(get("SEVERITY")), Result: prowlerResult(get("STATUS")),
			Provider: get("PROVIDER"), AccountUID: get("ACCOUNT_UID"), Region: get("REGION"), Service: get("SERVICE_NAME"),
			ResourceUID: get("RESOURCE_UID"), ResourceName: get("RESOURCE_NAME"), ResourceType: get("RESOURCE_TYPE"),
			Remediation: get("REMEDIATION_RECOMMENDATION_TEXT"), RiskDetails: get("RISK"),
			Tags: tidyTags(tagsFromCSV(get("RESOURCE_TAGS"))),
		}
		f.Fingerprint = fingerprint("prowler", get("FINDING_UID"), f.CheckID, f.ResourceUID)
		o := ocsf.Finding{
			ClassUID: ocsf.ClassDetectionFinding, ClassName: "Detection Finding", CategoryUID: ocsf.CategoryFindings,
			SeverityID: f.Severity, Severity: f.Severity.String(), StatusCode: strings.ToUpper(get("STATUS")),
			StatusDetail: f.Description, Message: f.Description, RiskDetails: f.RiskDetails,
			Metadata:    ocsf.Metadata{EventCode: f.CheckID, Product: ocsf.Product{Name: "Prowler", UID: "prowler"}},
			FindingInfo: ocsf.FindingInfo{UID: get("FINDING_UID"), Title: f.Title},
			Resources:   []ocsf.Resource{{UID: f.ResourceUID, Name: f.ResourceName, Type: f.ResourceType, Region: f.Region, Group: &ocsf.Group{Name: f.Service}, Labels: f.Tags}},
			Cloud:       &ocsf.Cloud{Provider: f.Provider, Region: f.Region, Account: ocsf.Account{UID: f.AccountUID, Name: get("ACCOUNT_NAME")}},
		}
		if f.Remediation != "" {
			o.Remediation = &ocsf.Remediation{Desc: f.Remediation}
		}
		if compliance := parseProwlerCSVCompliance(get("COMPLIANCE")); len(compliance) > 0 {
			o.Unmapped = &ocsf.Unmapped{Compliance: compliance}
		}
		f.Raw = rawJSON(o)
		if err := emit(f); err != nil {
			return fail(err)
		}
	}
}

// parseProwlerCSVCompliance reads "CIS-1.4: 1.20 | CIS-2.0: 1.20, 1.21".
func parseProwlerCSVCompliance(s string) map[string][]string {
	if strings.TrimSpace(s) == "" {
		return nil
	}
	out := map[string][]string{}
	for _, part := range strings.Split(s, "|") {
		fw, ids, ok := strings.Cut(part, ":")
		if !ok {
			continue
		}
		for _, id := range strings.Split(ids, ",") {
			if id = strings.TrimSpace(id); id != "" {
				out[strings.TrimSpace(fw)] = append(out[strings.TrimSpace(fw)], id)
			}
		}
	}
	return out
}
