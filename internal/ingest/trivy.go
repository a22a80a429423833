package ingest

import (
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"strings"

	"github.com/offloadsecurity/cspm/internal/ocsf"
)

type trivyVulnerability struct {
	VulnerabilityID  string         `json:"VulnerabilityID"`
	PkgName          string         `json:"PkgName"`
	PkgPath          string         `json:"PkgPath"`
	InstalledVersion string         `json:"InstalledVersion"`
	FixedVersion     string         `json:"FixedVersion"`
	Status           string         `json:"Status"`
	Title            string         `json:"Title"`
	Description      string         `json:"Description"`
	Severity         string         `json:"Severity"`
	PrimaryURL       string         `json:"PrimaryURL"`
	References       []string       `json:"References"`
	SeveritySource   string         `json:"SeveritySource"`
	VendorSeverity   map[string]int `json:"VendorSeverity"`
	CweIDs           []string       `json:"CweIDs"`
	CVSS             map[string]struct {
		V2Vector  string  `json:"V2Vector"`
		V3Vector  string  `json:"V3Vector"`
		V40Vector string  `json:"V40Vector"`
		V2Score   float64 `json:"V2Score"`
		V3Score   float64 `json:"V3Score"`
		V40Score  float64 `json:"V40Score"`
	} `json:"CVSS"`
}

type trivyResult struct {
	Target            string               `json:"Target"`
	Class             string               `json:"Class"`
	Type              string               `json:"Type"`
	Vulnerabilities   []trivyVulnerability `json:"Vulnerabilities"`
	Misconfigurations []struct {
		Type       string `json:"Type"`
		ID         string `json:"ID"`
		AVDID      string `json:"AVDID"`
		Title      string `json:"Title"`
		Desc       string `json:"Description"`
		Message    string `json:"Message"`
		Resolution string `json:"Resolution"`
		Severity   string `json:"Severity"`
		Status     string `json:"Status"`
		Cause      struct {
			StartLine int `json:"StartLine"`
		} `json:"CauseMetadata"`
	} `json:"Misconfigurations"`
	Secrets []struct {
		RuleID    string `json:"RuleID"`
		Category  string `json:"Category"`
		Severity  string `json:"Severity"`
		Title     string `json:"Title"`
		StartLine int    `json:"StartLine"`
	} `json:"Secrets"`
}

// trivyResource is one workload or object of a Kubernetes cluster report,
// with the results of scanning it.
type trivyResource struct {
	Namespace string        `json:"Namespace"`
	Kind      string        `json:"Kind"`
	Name      string        `json:"Name"`
	Results   []trivyResult `json:"Results"`
	Error     string        `json:"Error"`
}

// where is what a Trivy result was found in: the artifact scanned, and for
// a cluster report the Kubernetes resource.
type trivyWhere struct {
	artifact string
	resource *trivyResource
}

func parseTrivy(r io.Reader, emit Emit) error {
	return parseTrivyReport(r, emit, func(string) {})
}

// parseTrivyReport reads every layout of Trivy's JSON:
//   - schema 2 (image, filesystem, repository): {"ArtifactName", "Results"};
//   - Kubernetes cluster reports (trivy k8s): {"ClusterName", "Resources"},
//     and the older {"ClusterName", "Vulnerabilities", "Misconfigurations"}
//     with one list of resources per kind of finding;
//   - the legacy report before schema 2: a bare array of results.
//
// One finding per vulnerability, misconfiguration and secret of every
// result. covers learns the artifact or cluster the report scanned.
func parseTrivyReport(r io.Reader, emit Emit, covers func(string)) error {
	br := asBuffered(r)
	first, err := firstNonSpace(br)
	if err != nil {
		return &ParseError{Format: "trivy", Where: "offset 0", Err: err}
	}
	s := newJSONStream(br, "trivy")
	if first == '[' { // legacy: the results themselves
		if err := s.eachElement(func(raw json.RawMessage) error {
			return emitTrivyRaw(raw, trivyWhere{}, emit)
		}); err != nil {
			return err
		}
		return s.end()
	}
	var (
		where = trivyWhere{}
		known bool // a key only Trivy writes was seen
		held  []json.RawMessage
	)
	// Results may come before ArtifactName (key order is the writer's):
	// they wait for it, as Grype's matches wait for their source.
	err = s.eachKey(func(key string) error {
		switch key {
		case "SchemaVersion", "ArtifactType", "Metadata", "CreatedAt", "ReportID":
			known = true
		case "ArtifactName", "ClusterName":
			known = true
			if err := s.decode(&where.artifact); err != nil {
				return err
			}
			covers(where.artifact)
			for _, raw := range held {
				if err := emitTrivyRaw(raw, where, emit); err != nil {
					return err
				}
			}
			held = nil
			return nil
		case "Results":
			known = true
			return s.eachElement(func(raw json.RawMessage) error {
				if where.artifact == "" {
					held = append(held, append(json.RawMessage(nil), raw...))
					return nil
				}
				return emitTrivyRaw(raw, where, emit)
			})
		case "Resources", "Vulnerabilities", "Misconfigurations", "Secrets":
			known = true
			return s.eachElement(func(raw json.RawMessage) error {
				var res trivyResource
				if err := unmarshal(raw, &res); err != nil {
					return err
				}
				if res.Kind == "" && res.Name == "" {
					return errors.New("a Kubernetes resource without Kind or Name")
				}
				w := trivyWhere{artifact: where.artifact, resource: &res}
				for i := range res.Results {
					if err := emitTrivyResult(w, &res.Results[i], emit); err != nil {
						return err
					}
				}
				return nil
			})
		}
		return s.skip()
	})
	if err != nil {
		return err
	}
	if !known {
		return s.fail(errors.New("no Results, Resources or ArtifactName: not a Trivy report"))
	}
	for _, raw := range held { // a report with results but no artifact name
		if err := emitTrivyRaw(raw, where, emit); err != nil {
			return err
		}
	}
	return s.end()
}

func emitTrivyRaw(raw json.RawMessage, w trivyWhere, emit Emit) error {
	var res trivyResult
	if err := unmarshal(raw, &res); err != nil {
		return err
	}
	if res.Target == "" && res.Type == "" && res.Class == "" {
		return errors.New("a result without Target: not a Trivy result")
	}
	return emitTrivyResult(w, &res, emit)
}

// trivyVendorStatus maps Trivy's vulnerability Status onto the statuses a
// finding can carry: "" for affected (or unknown), which is open.
func trivyVendorStatus(status string) string {
	switch s := strings.ToLower(strings.TrimSpace(status)); s {
	case "not_affected", "will_not_fix":
		return s
	case "end_of_life": // no fix will come either
		return "will_not_fix"
	}
	// affected, fixed, fix_deferred, under_investigation, unknown: open.
	return ""
}

func emitTrivyResult(w trivyWhere, res *trivyResult, emit Emit) error {
	target := w.artifact
	if target == "" {
		target = res.Target
	}
	// A finding's resource: the Kubernetes object in a cluster report.
	var resUID, resName, resType, provider string
	if k := w.resource; k != nil {
		resUID = strings.Trim(k.Namespace+"/"+k.Kind+"/"+k.Name, "/")
		resName, resType, provider = k.Name, k.Kind, "kubernetes"
	}
	place := func(f *Finding) {
		f.Provider = provider
		if resUID != "" {
			f.ResourceUID, f.ResourceName, f.ResourceType = resUID, resName, resType
		}
	}
	for i := range res.Vulnerabilities {
		v := &res.Vulnerabilities[i]
		id := v.VulnerabilityID
		if id == "" {
			// Legacy reports hold entries with no ID: still a reported
			// vulnerable package, named by the package.
			if v.PkgName == "" {
				return errors.New("a vulnerability without VulnerabilityID or PkgName")
			}
			id = "TRIVY-UNNAMED-" + v.PkgName
		}
		f := &Finding{
			Tool: "trivy", ClassUID: ocsf.ClassVulnerabilityFinding, CheckID: id, Title: firstNonEmpty(v.Title, id),
			Description: v.Description, Severity: trivySeverity(v), Result: ResultFail,
			Target: target, Location: res.Target, ResourceType: res.Type, Component: v.PkgName, Version: v.InstalledVersion,
			FixedVersion: v.FixedVersion, CWEs: sortedUnique(v.CweIDs), References: v.References,
			VendorStatus: trivyVendorStatus(v.Status),
		}
		if v.VulnerabilityID != "" {
			f.VulnIDs = []string{v.VulnerabilityID}
		}
		place(f)
		f.CVSS = trivyCVSS(v)
		if v.FixedVersion != "" {
			f.Remediation = "Upgrade " + v.PkgName + " to " + v.FixedVersion
		}
		f.Fingerprint = fingerprint("trivy", id, target, resUID, res.Target, v.PkgName, v.PkgPath, v.InstalledVersion)
		if resUID == "" { // the fingerprint of reports before cluster reports were read
			f.Fingerprint = fingerprint("trivy", id, target, res.Target, v.PkgName, v.PkgPath, v.InstalledVersion)
		}
		render(f, "Trivy")
		if err := emit(f); err != nil {
			return err
		}
	}
	for _, m := range res.Misconfigurations {
		result := ResultFail
		if strings.EqualFold(m.Status, "PASS") {
			result = ResultPass
		}
		id := firstNonEmpty(m.AVDID, m.ID)
		if id == "" {
			return errors.New("a misconfiguration without ID or AVDID")
		}
		f := &Finding{
			Tool: "trivy", ClassUID: ocsf.ClassDetectionFinding, CheckID: id, Title: firstNonEmpty(m.Title, id),
			Description: firstNonEmpty(m.Message, m.Desc), Severity: ocsf.ParseSeverity(m.Severity), Result: result,
			Target: target, Location: res.Target + lineSuffix(m.Cause.StartLine), ResourceType: res.Type, Remediation: m.Resolution,
		}
		place(f)
		parts := []string{"misconfig", id, target, res.Target, strconv.Itoa(m.Cause.StartLine)}
		if resUID != "" {
			parts = append(parts, resUID)
		}
		f.Fingerprint = fingerprint("trivy", parts...)
		render(f, "Trivy")
		if err := emit(f); err != nil {
			return err
		}
	}
	for _, sec := range res.Secrets {
		if sec.RuleID == "" {
			return errors.New("a secret without RuleID")
		}
		f := &Finding{
			Tool: "trivy", ClassUID: ocsf.ClassDetectionFinding, CheckID: sec.RuleID, Title: firstNonEmpty(sec.Title, sec.RuleID),
			Description: sec.Category + " secret in " + res.Target + lineSuffix(sec.StartLine), Severity: ocsf.ParseSeverity(sec.Severity),
			Result: ResultFail, Target: target, Location: res.Target + lineSuffix(sec.StartLine), ResourceType: "secret",
			Remediation: "Remove the secret from the artifact and rotate it.",
		}
		place(f)
		// The secret's value is never part of the identity or the record.
		parts := []string{"secret", sec.RuleID, target, res.Target, strconv.Itoa(sec.StartLine)}
		if resUID != "" {
			parts = append(parts, resUID)
		}
		f.Fingerprint = fingerprint("trivy", parts...)
		render(f, "Trivy")
		if err := emit(f); err != nil {
			return err
		}
	}
	return nil
}

// trivySeverity is the severity Trivy gives, or, where it gives none, the
// severity its SeveritySource vendor gives (VendorSeverity: 1 low ... 4
// critical).
func trivySeverity(v *trivyVulnerability) ocsf.Severity {
	if s := ocsf.ParseSeverity(v.Severity); s != ocsf.SeverityUnknown {
		return s
	}
	if n, ok := v.VendorSeverity[v.SeveritySource]; ok {
		switch n {
		case 1:
			return ocsf.SeverityLow
		case 2:
			return ocsf.SeverityMedium
		case 3:
			return ocsf.SeverityHigh
		case 4:
			return ocsf.SeverityCritical
		}
	}
	return ocsf.SeverityUnknown
}

// trivyCVSS is the score of the source Trivy took the severity from, else
// NVD's, else any; the newest CVSS version (4.0, 3.x, 2.0) each source gives.
func trivyCVSS(v *trivyVulnerability) *ocsf.CVSS {
	for _, src := range append([]string{v.SeveritySource, "nvd"}, sortedKeys(v.CVSS)...) {
		c, ok := v.CVSS[src]
		if !ok {
			continue
		}
		switch {
		case c.V40Score > 0:
			return &ocsf.CVSS{Version: "4.0", VectorString: c.V40Vector, BaseScore: c.V40Score}
		case c.V3Score > 0:
			return &ocsf.CVSS{Version: cvssVersionOf(c.V3Vector, "3.1"), VectorString: c.V3Vector, BaseScore: c.V3Score}
		case c.V2Score > 0:
			return &ocsf.CVSS{Version: "2.0", VectorString: c.V2Vector, BaseScore: c.V2Score}
		}
	}
	return nil
}
