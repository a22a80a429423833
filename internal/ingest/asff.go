package ingest

import (
	"encoding/json"
	"errors"
	"io"
	"strings"

	"github.com/offloadsecurity/cspm/internal/ocsf"
)

// asffFinding is what the import reads of one finding in the AWS Security
// Finding Format. Resources' Details (large, per resource type) are not
// read; the stored report keeps them.
type asffFinding struct {
	ID            string          `json:"Id"`
	ProductArn    string          `json:"ProductArn"`
	ProductName   string          `json:"ProductName"`
	GeneratorID   string          `json:"GeneratorId"`
	AwsAccountID  string          `json:"AwsAccountId"`
	Region        string          `json:"Region"`
	Types         []string        `json:"Types"`
	Title         string          `json:"Title"`
	Description   string          `json:"Description"`
	ProductFields map[string]any  `json:"ProductFields"`
	Severity      *asffSeverity   `json:"Severity"`
	Remediation   asffRemediation `json:"Remediation"`
	Resources     []struct {
		Type      string          `json:"Type"`
		ID        string          `json:"Id"`
		Partition string          `json:"Partition"`
		Region    string          `json:"Region"`
		Tags      json.RawMessage `json:"Tags"`
	} `json:"Resources"`
	Compliance *struct {
		Status              string   `json:"Status"`
		RelatedRequirements []string `json:"RelatedRequirements"`
		AssociatedStandards []struct {
			StandardsID string `json:"StandardsId"`
		} `json:"AssociatedStandards"`
	} `json:"Compliance"`
	Workflow *struct {
		Status string `json:"Status"`
	} `json:"Workflow"`
	WorkflowState string `json:"WorkflowState"` // deprecated; Workflow.Status replaces it
	RecordState   string `json:"RecordState"`
	Note          *struct {
		Text string `json:"Text"`
	} `json:"Note"`
	Vulnerabilities []struct {
		ID                 string `json:"Id"`
		VulnerablePackages []struct {
			Name           string `json:"Name"`
			Version        string `json:"Version"`
			Epoch          string `json:"Epoch"`
			Release        string `json:"Release"`
			FixedInVersion string `json:"FixedInVersion"`
			Remediation    string `json:"Remediation"`
			FilePath       string `json:"FilePath"`
			PackageManager string `json:"PackageManager"`
		} `json:"VulnerablePackages"`
		Cvss []struct {
			Version    string  `json:"Version"`
			BaseScore  float64 `json:"BaseScore"`
			BaseVector string  `json:"BaseVector"`
		} `json:"Cvss"`
		Vendor *struct {
			URL string `json:"Url"`
		} `json:"Vendor"`
		ReferenceUrls []string `json:"ReferenceUrls"`
	} `json:"Vulnerabilities"`
}

type asffSeverity struct {
	Label      string   `json:"Label"`
	Normalized *float64 `json:"Normalized"`
}

type asffRemediation struct {
	Recommendation struct {
		Text string `json:"Text"`
		URL  string `json:"Url"`
	} `json:"Recommendation"`
}

// parseASFF reads findings in the AWS Security Finding Format: a Security
// Hub export ({"Findings": [...]}, as `aws securityhub get-findings`
// writes it, any case of the key), a bare array (Prowler's -M json-asff),
// or an EventBridge event whose detail holds the findings. One finding per
// ASFF finding.
func parseASFF(r io.Reader, emit Emit) error {
	br := asBuffered(r)
	first, err := firstNonSpace(br)
	if err != nil {
		return &ParseError{Format: "asff", Where: "offset 0", Err: err}
	}
	s := newJSONStream(br, "asff")
	each := func() error {
		return s.eachElement(func(raw json.RawMessage) error {
			f, err := decodeASFF(raw)
			if err != nil {
				return err
			}
			return emit(f)
		})
	}
	if first == '[' {
		if err := each(); err != nil {
			return err
		}
		return s.end()
	}
	known := false
	var object func(key string) error
	object = func(key string) error {
		switch {
		case strings.EqualFold(key, "Findings"):
			known = true
			return each()
		case key == "detail" && s.dec.PeekKind() == '{': // an EventBridge event
			return s.eachKey(object)
		}
		return s.skip()
	}
	if err := s.eachKey(object); err != nil {
		return err
	}
	if !known {
		return s.fail(errors.New("no Findings: not an ASFF export"))
	}
	return s.end()
}

// asffProduct is "company/product" from a ProductArn
// (arn:aws:securityhub:us-east-1::product/aws/inspector).
func asffProduct(arn string) string {
	_, p, ok := strings.Cut(arn, ":product/")
	if !ok {
		return ""
	}
	return strings.ToLower(p)
}

// asffTool names the tool behind an ASFF finding by its product: Prowler
// is "prowler" (its checks, scopes and compliance maps are Prowler's
// whatever the output format), Security Hub's own controls are
// "securityhub", another AWS product is "aws-<product>" (aws-inspector,
// aws-guardduty, aws-config), and a third party is "<company>-<product>".
func asffTool(product string) string {
	company, name, _ := strings.Cut(product, "/")
	switch {
	case company == "prowler":
		return "prowler"
	case product == "" || product == "aws/securityhub":
		return "securityhub"
	case company == "aws":
		return "aws-" + slugTool(name)
	case company == name:
		return slugTool(name)
	}
	return slugTool(company + "-" + name)
}

func slugTool(s string) string {
	var b strings.Builder
	for _, c := range strings.ToLower(s) {
		if b.Len() >= 48 {
			break
		}
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-':
			b.WriteRune(c)
		case b.Len() > 0 && !strings.HasSuffix(b.String(), "-"):
			b.WriteByte('-')
		}
	}
	return strings.Trim(b.String(), "-")
}

// asffSeverityOf reads Severity.Label, else Severity.Normalized (0
// informational, 1-39 low, 40-69 medium, 70-89 high, 90-100 critical).
func asffSeverityOf(s *asffSeverity) ocsf.Severity {
	if s == nil {
		return ocsf.SeverityUnknown
	}
	if sev := ocsf.ParseSeverity(s.Label); sev != ocsf.SeverityUnknown {
		return sev
	}
	if n := s.Normalized; n != nil {
		switch {
		case *n >= 90:
			return ocsf.SeverityCritical
		case *n >= 70:
			return ocsf.SeverityHigh
		case *n >= 40:
			return ocsf.SeverityMedium
		case *n >= 1:
			return ocsf.SeverityLow
		case *n >= 0:
			return ocsf.SeverityInformational
		}
	}
	return ocsf.SeverityUnknown
}

// asffResult maps Compliance.Status: PASSED passes, FAILED fails, WARNING,
// NOT_AVAILABLE and anything else (Prowler 3 writes INFOED for its INFO)
// needs a person. A finding without compliance (a GuardDuty threat, an
// Inspector vulnerability) fails. An archived record or a resolved
// workflow passes whatever the rest says: the finding no longer holds.
func asffResult(a *asffFinding) Result {
	workflow := strings.ToUpper(a.WorkflowState)
	if a.Workflow != nil && a.Workflow.Status != "" {
		workflow = strings.ToUpper(a.Workflow.Status)
	}
	if strings.EqualFold(a.RecordState, "ARCHIVED") || workflow == "RESOLVED" {
		return ResultPass
	}
	if a.Compliance == nil || a.Compliance.Status == "" {
		return ResultFail
	}
	switch strings.ToUpper(a.Compliance.Status) {
	case "PASSED":
		return ResultPass
	case "FAILED":
		return ResultFail
	}
	return ResultManual
}

func decodeASFF(raw json.RawMessage) (*Finding, error) {
	var a asffFinding
	if err := unmarshal(raw, &a); err != nil {
		return nil, err
	}
	if a.ID == "" || (a.ProductArn == "" && a.GeneratorID == "") {
		return nil, errors.New("a finding without Id, ProductArn and GeneratorId: not an ASFF finding")
	}
	product := asffProduct(a.ProductArn)
	tool := asffTool(product)
	field := func(k string) string { return toString(a.ProductFields[k]) }

	f := &Finding{
		Tool: tool, ClassUID: ocsf.ClassDetectionFinding, Title: a.Title, Description: a.Description,
		Severity: asffSeverityOf(a.Severity), Result: asffResult(&a), Provider: "aws",
		AccountUID: a.AwsAccountID, Region: a.Region, Target: a.AwsAccountID,
		Remediation: a.Remediation.Recommendation.Text,
	}
	if f.Remediation == "None Provided" { // Inspector's
		f.Remediation = ""
	}
	var refs []string
	if u := a.Remediation.Recommendation.URL; u != "" {
		refs = append(refs, u)
	}

	// The check: Prowler's own check ID (its GeneratorId is
	// "prowler-<check>"), Security Hub's control ID, the vulnerability an
	// Inspector finding is about, else the generator.
	switch {
	case tool == "prowler":
		f.CheckID = strings.TrimPrefix(a.GeneratorID, "prowler-")
		f.Service, _, _ = strings.Cut(f.CheckID, "_")
		f.ResourceName = field("ProwlerResourceName")
	case field("ControlId") != "":
		f.CheckID = field("ControlId")
		svc, _, _ := strings.Cut(f.CheckID, ".")
		f.Service = strings.ToLower(svc)
	case len(a.Vulnerabilities) > 0 && a.Vulnerabilities[0].ID != "":
		f.CheckID = a.Vulnerabilities[0].ID
	default:
		f.CheckID = a.GeneratorID
	}
	f.CheckID = firstNonEmpty(f.CheckID, a.GeneratorID, a.ID)

	// Every resource is listed: the first is the finding's, the others are
	// named in the description and the raw OCSF; tags come from all.
	var (
		others []string
		tags   []string
		res    []ocsf.Resource
	)
	for i, r := range a.Resources {
		if r.ID == "" {
			return nil, errors.New("a resource without Id")
		}
		if i == 0 {
			f.ResourceUID, f.ResourceType = r.ID, r.Type
			if f.Region == "" {
				f.Region = r.Region
			}
		} else {
			others = append(others, r.ID)
		}
		tags = append(tags, tagsFromJSON(r.Tags)...)
		res = append(res, ocsf.Resource{UID: r.ID, Type: r.Type, Region: r.Region, CloudPartition: r.Partition})
	}
	if f.Region == "" { // the region Security Hub holds the finding in
		if parts := strings.SplitN(a.ProductArn, ":", 5); len(parts) == 5 {
			f.Region = parts[3]
		}
	}
	if len(others) > 0 {
		f.Description += "\n\nOther resources: " + strings.Join(others, ", ")
	}
	f.Tags = tidyTags(tags)

	// Inspector: the vulnerabilities reach the vulnerability store.
	var ids []string
	for i, v := range a.Vulnerabilities {
		if v.ID == "" {
			return nil, errors.New("a vulnerability without Id")
		}
		ids = append(ids, v.ID)
		if v.Vendor != nil && v.Vendor.URL != "" {
			refs = append(refs, v.Vendor.URL)
		}
		refs = append(refs, v.ReferenceUrls...)
		if i > 0 {
			continue
		}
		for _, c := range v.Cvss {
			if c.BaseScore > 0 && c.BaseScore <= 10 && (f.CVSS == nil || c.Version > f.CVSS.Version) {
				f.CVSS = &ocsf.CVSS{Version: cvssVersionOf(c.BaseVector, c.Version), VectorString: c.BaseVector, BaseScore: c.BaseScore}
			}
		}
		if len(v.VulnerablePackages) > 0 {
			p := v.VulnerablePackages[0]
			f.Component, f.Version, f.FixedVersion, f.Location = p.Name, p.Version, p.FixedInVersion, p.FilePath
			if p.Release != "" {
				f.Version += "-" + p.Release
			}
			if p.Epoch != "" && p.Epoch != "0" {
				f.Version = p.Epoch + ":" + f.Version
			}
			if p.Remediation != "" {
				f.Remediation = p.Remediation
			} else if p.FixedInVersion != "" && f.Remediation == "" {
				f.Remediation = "Upgrade " + p.Name + " to " + p.FixedInVersion
			}
		}
	}
	if len(ids) > 0 {
		f.VulnIDs = sortedUnique(ids)
		f.ClassUID = ocsf.ClassVulnerabilityFinding
	} else if a.Compliance != nil && tool != "prowler" {
		f.ClassUID = ocsf.ClassComplianceFinding
	}
	f.References = sortedUnique(refs)

	workflow := a.WorkflowState
	if a.Workflow != nil && a.Workflow.Status != "" {
		workflow = a.Workflow.Status
	}
	if strings.EqualFold(workflow, "SUPPRESSED") {
		f.Suppression = "suppressed in Security Hub (workflow status SUPPRESSED)"
		if a.Note != nil && strings.TrimSpace(a.Note.Text) != "" {
			f.Suppression += ": " + strings.TrimSpace(a.Note.Text)
		}
	}

	// The ASFF Id is the product's own stable identity of the finding.
	f.Fingerprint = fingerprint(tool, "asff", product, a.ID)

	name := firstNonEmpty(a.ProductName, field("aws/securityhub/ProductName"), product, "Security Hub")
	if tool == "prowler" {
		name = "Prowler"
	}
	o := ocsfOf(f, name)
	o.FindingInfo.ProductUID, o.FindingInfo.Types = a.ID, a.Types
	o.Resources = res
	o.Cloud = &ocsf.Cloud{Provider: "aws", Region: f.Region, Account: ocsf.Account{UID: f.AccountUID, Type: "AWS Account"}}
	switch {
	case f.Suppression != "":
		o.StatusID, o.Status = ocsf.StatusSuppressed, "Suppressed"
	case f.Result == ResultPass && (strings.EqualFold(a.RecordState, "ARCHIVED") || strings.EqualFold(workflow, "RESOLVED")):
		o.StatusID, o.Status = ocsf.StatusResolved, "Resolved"
	}
	if c := a.Compliance; c != nil {
		oc := &ocsf.Compliance{Control: f.CheckID, Status: c.Status}
		for _, st := range c.AssociatedStandards {
			oc.Standards = append(oc.Standards, st.StandardsID)
		}
		o.Compliance = oc
		if tool == "prowler" {
			if m := asffRequirements(c.RelatedRequirements); len(m) > 0 {
				o.Unmapped = &ocsf.Unmapped{Compliance: m}
			}
		}
	}
	f.Raw = rawJSON(o)
	return f, nil
}

// asffRequirements reads Prowler's RelatedRequirements ("CIS-1.5 1.20",
// "framework id id ...") into its compliance map. ASFF caps each entry at
// 64 characters, so an entry of that length lost the end of its last ID,
// which is left out.
func asffRequirements(entries []string) map[string][]string {
	out := map[string][]string{}
	for _, e := range entries {
		words := strings.Fields(e)
		if len(words) < 2 {
			continue
		}
		ids := words[1:]
		if len(e) >= 64 {
			ids = ids[:len(ids)-1]
		}
		out[words[0]] = append(out[words[0]], ids...)
	}
	return out
}
