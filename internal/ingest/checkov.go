package ingest

import (
	"encoding/json"
	"errors"
	"io"
	"path"
	"strconv"
	"strings"

	"github.com/offloadsecurity/cspm/internal/ocsf"
)

// checkovCheck is one check result of a Checkov report. code_block (the
// resource's source lines) is not read; the stored report keeps it.
type checkovCheck struct {
	CheckID     string `json:"check_id"`
	BCCheckID   string `json:"bc_check_id"`
	CheckName   string `json:"check_name"`
	CheckResult struct {
		Result          string `json:"result"`
		SuppressComment string `json:"suppress_comment"`
	} `json:"check_result"`
	FilePath        string   `json:"file_path"`
	FileAbsPath     string   `json:"file_abs_path"`
	RepoFilePath    string   `json:"repo_file_path"`
	FileLineRange   []int    `json:"file_line_range"`
	Resource        string   `json:"resource"`
	ResourceAddress string   `json:"resource_address"`
	Guideline       string   `json:"guideline"`
	Severity        string   `json:"severity"`
	Description     string   `json:"description"`
	ShortDesc       string   `json:"short_description"`
	Details         []string `json:"details"`
	// Checkov's SCA checks (check type sca_package) name a vulnerability.
	Vulnerability *struct {
		ID             string `json:"id"`
		Severity       string `json:"severity"`
		PackageName    string `json:"package_name"`
		PackageVersion string `json:"package_version"`
		FixedVersion   string `json:"fixed_version"`
		CVSS           any    `json:"cvss"`
		Vector         string `json:"vector"`
		Link           string `json:"link"`
	} `json:"vulnerability_details"`
}

// parseCheckov reads Checkov's JSON (-o json): the report of one check
// type (framework), a list of them, or the summary alone that Checkov
// writes when it found nothing to check. One finding per failed, passed
// and skipped check.
func parseCheckov(r io.Reader, emit Emit) error {
	br := asBuffered(r)
	first, err := firstNonSpace(br)
	if err != nil {
		return &ParseError{Format: "checkov", Where: "offset 0", Err: err}
	}
	s := newJSONStream(br, "checkov")
	root := "" // the directory scanned, once a check has told it
	if first == '[' {
		if err := s.expect('['); err != nil {
			return err
		}
		for s.dec.PeekKind() != ']' {
			if err := parseCheckovType(s, &root, emit); err != nil {
				return err
			}
		}
		if err := s.expect(']'); err != nil {
			return err
		}
		return s.end()
	}
	if err := parseCheckovType(s, &root, emit); err != nil {
		return err
	}
	return s.end()
}

func parseCheckovType(s *jsonStream, root *string, emit Emit) error {
	var (
		checkType string
		typed     bool // check_type was read
		known     bool
		held      []*checkovCheck
		heldList  []string
	)
	handle := func(c *checkovCheck, list string) error {
		f, err := checkovFinding(c, list, checkType, root)
		if err != nil {
			return err
		}
		return emit(f)
	}
	err := s.eachKey(func(key string) error {
		switch key {
		case "check_type":
			known, typed = true, true
			if err := s.decode(&checkType); err != nil {
				return err
			}
			for i, c := range held {
				if err := handle(c, heldList[i]); err != nil {
					return err
				}
			}
			held, heldList = nil, nil
			return nil
		case "checkov_version": // the summary alone: nothing was checked
			known = true
		case "results":
			known = true
			return s.eachKey(func(list string) error {
				switch list {
				case "failed_checks", "passed_checks", "skipped_checks":
					if s.dec.PeekKind() == 'n' { // null: none
						return s.skip()
					}
					return s.eachElement(func(raw json.RawMessage) error {
						c := &checkovCheck{}
						if err := unmarshal(raw, c); err != nil {
							return err
						}
						if !typed {
							held, heldList = append(held, c), append(heldList, list)
							return nil
						}
						return handle(c, list)
					})
				}
				return s.skip() // parsing_errors, resource counts
			})
		}
		return s.skip()
	})
	if err != nil {
		return err
	}
	if !known {
		return s.fail(errors.New("no check_type, results or checkov_version: not a Checkov report"))
	}
	for i, c := range held {
		if err := handle(c, heldList[i]); err != nil {
			return s.fail(err)
		}
	}
	return nil
}

// checkovRoot is the directory Checkov scanned: the absolute path of the
// file less its path under that directory.
func checkovRoot(c *checkovCheck) string {
	abs := strings.TrimSpace(c.FileAbsPath)
	rel := "/" + strings.TrimPrefix(c.FilePath, "/")
	if abs == "" || c.FilePath == "" || strings.Contains(rel, "/../") {
		return ""
	}
	if abs == c.FilePath { // checkov --file: the file is what was scanned
		return abs
	}
	if root, ok := strings.CutSuffix(abs, rel); ok {
		return firstNonEmpty(root, "/")
	}
	if root, ok := strings.CutSuffix(abs, strings.TrimPrefix(rel, "/")); ok && root != "" {
		return strings.TrimSuffix(root, "/")
	}
	return ""
}

func checkovFinding(c *checkovCheck, list, checkType string, root *string) (*Finding, error) {
	if c.CheckID == "" {
		return nil, errors.New("a check without check_id: not a Checkov check")
	}
	if r := checkovRoot(c); r != "" {
		*root = r
	}
	target := *root
	if target == "" && c.FileAbsPath != "" {
		target = path.Dir(c.FileAbsPath)
	}
	file := firstNonEmpty(c.FilePath, c.RepoFilePath, c.FileAbsPath)
	loc := file
	if len(c.FileLineRange) == 2 && c.FileLineRange[0] > 0 {
		loc += ":" + strconv.Itoa(c.FileLineRange[0])
		if c.FileLineRange[1] > c.FileLineRange[0] {
			loc += "-" + strconv.Itoa(c.FileLineRange[1])
		}
	}
	f := &Finding{
		Tool: "checkov", ClassUID: ocsf.ClassDetectionFinding, CheckID: c.CheckID, Title: firstNonEmpty(c.CheckName, c.ShortDesc, c.CheckID),
		Severity: ocsf.ParseSeverity(c.Severity), Service: checkType, Target: target, Location: loc,
		ResourceUID: c.Resource, ResourceName: c.ResourceAddress, ResourceType: checkType,
		References: sortedUnique([]string{c.Guideline}),
	}
	desc := firstNonEmpty(c.Description, c.CheckName, c.CheckID)
	if c.Resource != "" {
		desc += " (" + c.Resource + " in " + loc + ")"
	}
	if len(c.Details) > 0 {
		desc += "\n\n" + strings.Join(c.Details, "\n")
	}
	f.Description = desc
	switch list {
	case "passed_checks":
		f.Result = ResultPass
	case "failed_checks":
		f.Result = ResultFail
	default: // skipped: the check failed, and someone suppressed it
		f.Result = ResultFail
		f.Suppression = "skipped in Checkov"
		if cm := strings.TrimSpace(c.CheckResult.SuppressComment); cm != "" {
			f.Suppression = cm
		}
	}
	if v := c.Vulnerability; v != nil && v.ID != "" {
		f.ClassUID, f.VulnIDs = ocsf.ClassVulnerabilityFinding, []string{v.ID}
		f.Component, f.Version, f.FixedVersion = v.PackageName, v.PackageVersion, v.FixedVersion
		if f.Severity == ocsf.SeverityUnknown {
			f.Severity = ocsf.ParseSeverity(v.Severity)
		}
		if n, err := strconv.ParseFloat(strings.TrimSpace(toString(v.CVSS)), 64); err == nil && n > 0 && n <= 10 {
			f.CVSS = &ocsf.CVSS{Version: cvssVersionOf(v.Vector, ""), VectorString: v.Vector, BaseScore: n}
		}
		if v.Link != "" {
			f.References = sortedUnique(append(f.References, v.Link))
		}
		if v.FixedVersion != "" {
			f.Remediation = "Upgrade " + v.PackageName + " to " + v.FixedVersion
		}
	}
	if f.Severity == ocsf.SeverityUnknown {
		// Checkov gives severities only with a Prisma Cloud API key.
		f.Severity = ocsf.SeverityMedium
	}
	// Not the line range: it moves as the file around the resource changes.
	parts := []string{checkType, c.CheckID, target, firstNonEmpty(c.RepoFilePath, c.FilePath), c.Resource}
	if f.Component != "" { // an SCA check: one per vulnerable package
		parts = append(parts, f.Component+"@"+f.Version)
	}
	f.Fingerprint = fingerprint("checkov", parts...)
	render(f, "Checkov")
	return f, nil
}
