package ingest

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"regexp"
	"strconv"
	"strings"

	"github.com/offloadsecurity/cspm/internal/ocsf"
)

func asBuffered(r io.Reader) *bufio.Reader {
	if br, ok := r.(*bufio.Reader); ok {
		return br
	}
	return bufio.NewReader(r)
}

// stringOrList reads a JSON value that tools write as a string or a list.
type stringOrList []string

func (s *stringOrList) UnmarshalJSON(b []byte) error {
	var one string
	if unmarshal(b, &one) == nil {
		if one != "" {
			*s = []string{one}
		}
		return nil
	}
	var many []string
	if err := unmarshal(b, &many); err != nil {
		return err
	}
	*s = many
	return nil
}

type nucleiResult struct {
	TemplateID  string `json:"template-id"`
	TemplateOld string `json:"templateID"`
	Info        struct {
		Name           string       `json:"name"`
		Description    string       `json:"description"`
		Severity       string       `json:"severity"`
		Remediation    string       `json:"remediation"`
		Reference      stringOrList `json:"reference"`
		Classification struct {
			CVEID stringOrList `json:"cve-id"`
		} `json:"classification"`
	} `json:"info"`
	MatcherName string   `json:"matcher-name"`
	MatcherOld  string   `json:"matcher_name"`
	Type        string   `json:"type"`
	Host        string   `json:"host"`
	MatchedAt   string   `json:"matched-at"`
	MatchedOld  string   `json:"matched"`
	Extracted   []string `json:"extracted-results"`
}

// parseNuclei reads Nuclei's JSON lines (-jsonl) or JSON array (-je), with
// the keys of v3 (template-id, matched-at) or of older versions (templateID,
// matched): one finding per result object.
func parseNuclei(r io.Reader, emit Emit) error {
	return arrayOrLines(r, "nuclei", func(raw json.RawMessage) error {
		var n nucleiResult
		if err := unmarshal(raw, &n); err != nil {
			return err
		}
		id := firstNonEmpty(n.TemplateID, n.TemplateOld)
		if id == "" {
			return errors.New("an object without template-id: not a Nuclei result")
		}
		matched := firstNonEmpty(n.MatchedAt, n.MatchedOld, n.Host)
		matcher := firstNonEmpty(n.MatcherName, n.MatcherOld)
		cves := []string(n.Info.Classification.CVEID)
		for i := range cves {
			cves[i] = strings.ToUpper(cves[i])
		}
		f := &Finding{
			Tool: "nuclei", ClassUID: ocsf.ClassDetectionFinding, CheckID: id, Title: firstNonEmpty(n.Info.Name, id),
			Description: n.Info.Description, Severity: ocsf.ParseSeverity(n.Info.Severity), Result: ResultFail,
			Target: n.Host, ResourceUID: n.Host, ResourceType: n.Type, Location: matched, Remediation: n.Info.Remediation,
			VulnIDs: sortedUnique(cves),
		}
		if len(f.VulnIDs) > 0 {
			f.ClassUID = ocsf.ClassVulnerabilityFinding
		}
		if matcher != "" {
			f.Title += " (" + matcher + ")"
		}
		// Extracted results tell apart results of one template on one host
		// (tls-version finds tls12 and tls13).
		f.Fingerprint = fingerprint("nuclei", id, matcher, n.Host, matched, strings.Join(f.VulnIDs, ","), strings.Join(n.Extracted, ","))
		render(f, "Nuclei")
		return emit(f)
	})
}

type sarifRule struct {
	ID               string `json:"id"`
	Name             string `json:"name"`
	ShortDescription struct {
		Text string `json:"text"`
	} `json:"shortDescription"`
	DefaultConfiguration struct {
		Level string `json:"level"`
	} `json:"defaultConfiguration"`
	Properties map[string]any `json:"properties"`
}

type sarifResult struct {
	RuleID    string `json:"ruleId"`
	RuleIndex *int   `json:"ruleIndex"`
	Level     string `json:"level"`
	Message   struct {
		Text string `json:"text"`
		ID   string `json:"id"`
	} `json:"message"`
	Locations []struct {
		Physical struct {
			Artifact struct {
				URI string `json:"uri"`
			} `json:"artifactLocation"`
			Region struct {
				StartLine   int `json:"startLine"`
				StartColumn int `json:"startColumn"`
			} `json:"region"`
		} `json:"physicalLocation"`
	} `json:"locations"`
	PartialFingerprints map[string]string `json:"partialFingerprints"`
	Properties          map[string]any    `json:"properties"`
}

// sarifScoreKeys are the properties in which tools put a CVSS base score,
// the newest CVSS version first: GitHub's security-severity, and OWASP
// Dependency-Check's own.
var sarifScoreKeys = []struct{ key, version string }{
	{"security-severity", ""},
	{"cvssv4_baseScore", "4.0"},
	{"cvssv3_baseScore", "3.1"},
	{"cvssv2_score", "2.0"},
	{"cvss_score", ""},
	{"cvss", ""},
}

// sarifCVSS is the CVSS score a result or its rule carries, if any.
func sarifCVSS(res *sarifResult, rule *sarifRule) *ocsf.CVSS {
	for _, props := range []map[string]any{res.Properties, ruleProps(rule)} {
		for _, k := range sarifScoreKeys {
			v, ok := props[k.key]
			if !ok {
				continue
			}
			n, err := strconv.ParseFloat(strings.TrimSpace(toString(v)), 64)
			if err != nil || n <= 0 || n > 10 {
				continue
			}
			c := &ocsf.CVSS{Version: k.version, BaseScore: n}
			if vec := toString(props[strings.Replace(k.key, "baseScore", "vector", 1)]); vec != "" && k.version != "" {
				c.VectorString = vec
			}
			return c
		}
	}
	return nil
}

// sarifVulnIDs are the CVE and GHSA IDs a result names: as its rule ID (as
// Dependency-Check writes them), in the rule's or the result's tags, or in
// a property that holds one.
func sarifVulnIDs(ruleID string, res *sarifResult, rule *sarifRule) []string {
	var ids []string
	ids = append(ids, vulnIDPattern.FindAllString(strings.ToUpper(ruleID), -1)...)
	for _, props := range []map[string]any{res.Properties, ruleProps(rule)} {
		for k, v := range props {
			switch x := v.(type) {
			case string:
				if k == "tags" || strings.Contains(strings.ToLower(k), "cve") || strings.Contains(strings.ToLower(k), "ghsa") {
					ids = append(ids, vulnIDPattern.FindAllString(strings.ToUpper(x), -1)...)
				}
			case []any:
				for _, e := range x {
					if str, ok := e.(string); ok {
						ids = append(ids, vulnIDPattern.FindAllString(strings.ToUpper(str), -1)...)
					}
				}
			}
		}
	}
	return sortedUnique(ids)
}

// vulnIDPattern matches a CVE or GHSA ID (upper-cased input).
var vulnIDPattern = regexp.MustCompile(`\b(CVE-\d{4}-\d{4,}|GHSA(-[0-9A-Z]{4}){3})\b`)

// sarifSeverity prefers a CVSS score (GitHub's security-severity, a
// tool's CVSS property), then a tool's own severity property, then the
// SARIF level.
func sarifSeverity(res *sarifResult, rule *sarifRule) ocsf.Severity {
	if c := sarifCVSS(res, rule); c != nil {
		return cvssSeverity(c.BaseScore)
	}
	for _, props := range []map[string]any{res.Properties, ruleProps(rule)} {
		for _, k := range []string{"issue_severity", "severity", "problem.severity"} {
			if v, ok := props[k]; ok {
				if s := ocsf.ParseSeverity(toString(v)); s != ocsf.SeverityUnknown {
					return s
				}
			}
		}
	}
	level := res.Level
	if level == "" && rule != nil {
		level = rule.DefaultConfiguration.Level
	}
	if level == "" {
		level = "warning" // SARIF's default level
	}
	return ocsf.ParseSeverity(level)
}

func ruleProps(r *sarifRule) map[string]any {
	if r == nil {
		return nil
	}
	return r.Properties
}

func toString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case json.Number:
		return x.String()
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	}
	return ""
}

// parseSARIF reads SARIF 2.1.0: one finding per result of every run.
func parseSARIF(r io.Reader, emit Emit) error {
	s := newJSONStream(r, "sarif")
	known := false // runs, or the $schema or version of a log with none
	err := s.eachKey(func(key string) error {
		if key == "$schema" || key == "version" {
			known = true
		}
		if key != "runs" {
			return s.skip()
		}
		known = true
		if err := s.expect('['); err != nil {
			return err
		}
		for s.dec.PeekKind() != ']' {
			if err := parseSARIFRun(s, emit); err != nil {
				return err
			}
		}
		return s.expect(']')
	})
	if err != nil {
		return err
	}
	if !known {
		return s.fail(errors.New("no runs: not a SARIF log"))
	}
	return s.end()
}

func parseSARIFRun(s *jsonStream, emit Emit) error {
	var (
		driver struct {
			Name  string      `json:"name"`
			Rules []sarifRule `json:"rules"`
		}
		held []sarifResult
	)
	handle := func(res *sarifResult) error {
		var rule *sarifRule
		if res.RuleIndex != nil && *res.RuleIndex >= 0 && *res.RuleIndex < len(driver.Rules) {
			rule = &driver.Rules[*res.RuleIndex]
		} else {
			for i := range driver.Rules {
				if driver.Rules[i].ID == res.RuleID {
					rule = &driver.Rules[i]
					break
				}
			}
		}
		ruleID := res.RuleID
		if ruleID == "" && rule != nil {
			ruleID = rule.ID
		}
		uri, line, col := "", 0, 0
		if len(res.Locations) > 0 {
			reg := res.Locations[0].Physical.Region
			uri, line, col = res.Locations[0].Physical.Artifact.URI, reg.StartLine, reg.StartColumn
		}
		title := res.Message.Text
		if rule != nil && rule.ShortDescription.Text != "" {
			title = rule.ShortDescription.Text
		}
		if ruleID == "" && res.Message.Text == "" && res.Message.ID == "" {
			return errors.New("a result with neither ruleId nor message: not a SARIF result")
		}
		f := &Finding{
			Tool: "sarif", ClassUID: ocsf.ClassDetectionFinding, CheckID: firstNonEmpty(ruleID, "sarif-result"), Title: firstNonEmpty(title, ruleID, res.Message.Text),
			Description: firstNonEmpty(res.Message.Text, res.Message.ID), Severity: sarifSeverity(res, rule), Result: ResultFail,
			Service: driver.Name, Target: uri, ResourceUID: uri, ResourceType: "file", Location: uri + lineSuffix(line),
			VulnIDs: sarifVulnIDs(ruleID, res, rule), CVSS: sarifCVSS(res, rule),
		}
		if len(f.VulnIDs) > 0 {
			f.ClassUID = ocsf.ClassVulnerabilityFinding
		}
		// A tool's partial fingerprints survive code moving; without them the
		// line number is the best stable location there is.
		stable := lineSuffix(line)
		for _, k := range []string{"primaryLocationLineHash", "primaryLocationStartColumnFingerprint", "scanPrimaryLocationHash"} {
			if v := res.PartialFingerprints[k]; v != "" {
				stable = k + "=" + v
				break
			}
		}
		f.Fingerprint = fingerprint("sarif", driver.Name, ruleID, uri, stable, strconv.Itoa(col))
		render(f, firstNonEmpty(driver.Name, "SARIF"))
		return emit(f)
	}
	err := s.eachKey(func(key string) error {
		switch key {
		case "tool":
			var tool struct {
				Driver json.RawMessage `json:"driver"`
			}
			if err := s.decode(&tool); err != nil {
				return err
			}
			if len(tool.Driver) > 0 {
				if err := unmarshal(tool.Driver, &driver); err != nil {
					return err
				}
			}
			for i := range held { // results that came before the tool
				if err := handle(&held[i]); err != nil {
					return err
				}
			}
			held = nil
			return nil
		case "results":
			return s.eachElement(func(raw json.RawMessage) error {
				var res sarifResult
				if err := unmarshal(raw, &res); err != nil {
					return err
				}
				if driver.Name == "" && len(driver.Rules) == 0 {
					held = append(held, res)
					return nil
				}
				return handle(&res)
			})
		}
		return s.skip()
	})
	if err != nil {
		return err
	}
	for i := range held {
		if err := handle(&held[i]); err != nil {
			return err
		}
	}
	return nil
}

type powerpipeGroup struct {
	GroupID  string             `json:"group_id"`
	Title    string             `json:"title"`
	Groups   []powerpipeGroup   `json:"groups"`
	Controls []powerpipeControl `json:"controls"`
}

type powerpipeControl struct {
	ControlID   string `json:"control_id"`
	Title       string `json:"title"`
	Description string `json:"description"`
	Severity    string `json:"severity"`
	Results     []struct {
		Reason     string `json:"reason"`
		Resource   string `json:"resource"`
		Status     string `json:"status"`
		Dimensions []struct {
			Key   string `json:"key"`
			Value string `json:"value"`
		} `json:"dimensions"`
	} `json:"results"`
}

// parsePowerpipe reads a Powerpipe (or Steampipe check) benchmark run in
// JSON: nested groups of controls, one finding per control result. Benchmark
// outputs are small and nest arbitrarily, so each top-level group is
// decoded whole.
func parsePowerpipe(r io.Reader, emit Emit) error {
	s := newJSONStream(r, "powerpipe")
	var root powerpipeGroup
	if err := s.decode(&root); err != nil {
		return err
	}
	if err := s.end(); err != nil {
		return err
	}
	if root.GroupID == "" && len(root.Groups) == 0 && len(root.Controls) == 0 {
		return s.fail(errors.New("no group_id, groups or controls: not a Powerpipe benchmark export"))
	}
	var walk func(g *powerpipeGroup) error
	walk = func(g *powerpipeGroup) error {
		for ci := range g.Controls {
			c := &g.Controls[ci]
			for _, res := range c.Results {
				f := &Finding{
					Tool: "powerpipe", ClassUID: ocsf.ClassComplianceFinding, CheckID: c.ControlID, Title: c.Title,
					Description: firstNonEmpty(res.Reason, c.Description), Severity: ocsf.ParseSeverity(c.Severity),
					ResourceUID: res.Resource, ResourceName: res.Resource, Service: g.Title,
				}
				if f.Severity == ocsf.SeverityUnknown {
					f.Severity = ocsf.SeverityMedium
				}
				switch strings.ToLower(res.Status) {
				case "ok":
					f.Result = ResultPass
				case "alarm", "error":
					f.Result = ResultFail
				default: // skip, info
					f.Result = ResultManual
				}
				for _, d := range res.Dimensions {
					switch d.Key {
					case "account_id", "subscription_id", "project":
						f.AccountUID = d.Value
					case "region", "location":
						f.Region = d.Value
					}
				}
				f.Target = f.AccountUID
				f.Fingerprint = fingerprint("powerpipe", c.ControlID, res.Resource, f.AccountUID, f.Region)
				render(f, "Powerpipe")
				if err := emit(f); err != nil {
					return err
				}
			}
		}
		for gi := range g.Groups {
			if err := walk(&g.Groups[gi]); err != nil {
				return err
			}
		}
		return nil
	}
	return walk(&root)
}
