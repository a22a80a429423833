// Package ingest turns every supported tool's output into normalized
// findings with a stable fingerprint and an OCSF rendering. Parsers stream:
// they hold one item (a Prowler finding, a Trivy result, an Nmap host) in
// memory at a time, whatever the size of the file.
package ingest

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/offloadsecurity/cspm/internal/ocsf"
)

// Result is what the tool concluded about the checked thing.
type Result string

// Results.
const (
	ResultFail   Result = "fail"   // a problem: a failed check, a vulnerability, an alert
	ResultPass   Result = "pass"   // a check that passed
	ResultManual Result = "manual" // needs a person to judge (Prowler MANUAL)
)

// Finding is one normalized finding.
type Finding struct {
	Fingerprint  string
	Tool         string
	ClassUID     int
	CheckID      string // check, rule, template, plugin or vulnerability ID
	Title        string
	Description  string
	Severity     ocsf.Severity
	Result       Result
	Provider     string // aws, gcp, azure, kubernetes...
	AccountUID   string
	Region       string
	Service      string
	ResourceUID  string
	ResourceName string
	ResourceType string
	Target       string // host, URL, image or repository the scan was aimed at
	Location     string // port, URL path and parameter, file and line
	Component    string
	Version      string
	FixedVersion string
	VulnIDs      []string   // CVE, GHSA... sorted
	CVSS         *ocsf.CVSS // the tool's preferred score of the first vulnerability, if it gave one
	CWEs         []string   // weaknesses the tool names, sorted
	References   []string   // advisory URLs the tool gives
	Remediation  string
	RiskDetails  string
	// VendorStatus is what the tool says the vendor decided about a
	// vulnerability, when that makes it not open: not_affected or
	// will_not_fix (from Trivy's Status). Empty otherwise.
	VendorStatus string
	// Suppression is the tool's own reason the finding is suppressed (a
	// Checkov skip comment, a Security Hub workflow SUPPRESSED): such a
	// finding is stored muted with that reason. Empty otherwise.
	Suppression string
	// Tags are the resource's tags as sorted "key=value" (or "key") strings.
	Tags []string
	// Raw is the finding as OCSF JSON: the tool's own for Prowler, a
	// rendering of the normalized fields for the others. Prowler's
	// compliance mapping (unmapped.compliance, from OCSF or the CSV's
	// COMPLIANCE column) is there and nowhere else.
	Raw json.RawMessage
}

// ScopeKey is what a later scan must cover to resolve this finding: the
// tool plus account and region for cloud findings, or the tool plus target.
func (f *Finding) ScopeKey() string {
	if f.AccountUID != "" {
		return f.Tool + "|" + f.AccountUID + "|" + f.Region
	}
	return f.Tool + "||" + f.Target
}

// fingerprint hashes the stable identity of a finding: never descriptions,
// timestamps or build numbers, which change between runs of the same thing.
func fingerprint(tool string, parts ...string) string {
	h := sha256.New()
	h.Write([]byte(tool))
	for _, p := range parts {
		h.Write([]byte{0x1f})
		h.Write([]byte(p))
	}
	return hex.EncodeToString(h.Sum(nil)[:20])
}

// Emit receives each finding; returning an error stops the parse.
type Emit func(*Finding) error

// Parser reads one format.
type Parser func(r io.Reader, emit Emit) error

// Formats maps each format name (as --format takes it) to its parser.
var Formats = map[string]Parser{
	"prowler-ocsf": parseProwlerOCSF,
	"prowler-csv":  parseProwlerCSV,
	"trivy":        parseTrivy,
	"grype":        parseGrype,
	"nmap":         parseNmap,
	"zap":          parseZAP,
	"nuclei":       parseNuclei,
	"wapiti":       parseWapiti,
	"sarif":        parseSARIF,
	"powerpipe":    parsePowerpipe,
	"asff":         parseASFF,
	"prowler-json": parseProwlerJSON,
	"osv":          parseOSV,
	"checkov":      parseCheckov,
}

// coveringParsers are the parsers that also tell what the report covered
// (see Report.Targets); their formats are in Formats too.
var coveringParsers = map[string]func(r io.Reader, emit Emit, covers func(target string)) error{
	"trivy": parseTrivyReport,
}

// expects says what each format's content looks like, for the refusal of
// a report that was named the wrong format.
var expects = map[string]string{
	"prowler-ocsf": "a JSON array of OCSF findings (Prowler's json-ocsf output)",
	"prowler-csv":  "Prowler's semicolon-separated CSV with a CHECK_ID column",
	"trivy":        "Trivy's JSON: an object with Results (schema 2), a Kubernetes report with ClusterName, or the legacy array of results",
	"grype":        "Grype's JSON: an object with matches",
	"nmap":         "Nmap's XML output (-oX), a <nmaprun> document",
	"zap":          "an OWASP ZAP XML or JSON report",
	"nuclei":       "Nuclei's JSON lines or JSON export: objects with template-id",
	"wapiti":       "a Wapiti XML or JSON report",
	"sarif":        "a SARIF log: an object with runs",
	"powerpipe":    "a Powerpipe or Steampipe benchmark export: an object with groups and controls",
	"prowler-json": "Prowler 3's JSON (-M json): an array of findings with CheckID, Status and Severity",
	"osv":          "OSV-Scanner's JSON: an object with results, each a source with packages",
	"checkov":      "Checkov's JSON: an object with check_type and results (or a list of them)",
	"asff":         "AWS Security Finding Format: an object with Findings (a Security Hub export) or an array of findings with Id, ProductArn and AwsAccountId (Prowler's json-asff)",
}

// FormatNames lists the formats, sorted.
func FormatNames() []string {
	out := make([]string, 0, len(Formats))
	for k := range Formats {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// ErrUnknownFormat means the content matches no supported format.
var ErrUnknownFormat = errors.New("unrecognized report format")

// ErrEmptyReport means a report holds nothing and names no format: a clean
// scan of an unknown tool cannot be recorded, as its scope is unknown.
var ErrEmptyReport = errors.New("the report is empty; name its format with --format (or give the file its tool's name, such as .sarif or .jsonl) to record a clean scan")

// ParseError says where in the input a parse failed.
type ParseError struct {
	Format string
	Where  string // "line 12", "offset 4031", "line 3, column 7"
	Err    error
}

func (e *ParseError) Error() string {
	return fmt.Sprintf("%s report is malformed at %s: %v", e.Format, e.Where, e.Err)
}

func (e *ParseError) Unwrap() error { return e.Err }

// WrongFormatError refuses a report named as one format whose content has
// the shape of another: parsing it would read nothing, or nonsense.
type WrongFormatError struct {
	Named, LooksLike string
}

func (e *WrongFormatError) Error() string {
	return fmt.Sprintf("this looks like a %s report; --format %s expects %s", e.LooksLike, e.Named, expects[e.Named])
}

// Parse reads r as format (detected from the content when empty) and emits
// each finding. It returns the format used.
func Parse(r io.Reader, format string, emit Emit) (string, error) {
	rep, err := ParseReport(r, format, "", emit)
	return rep.Format, err
}

// Report is what a parse learned about the report as a whole.
type Report struct {
	Format string
	// Targets are what the report says it scanned (Trivy's artifact, a
	// Kubernetes cluster), even when it found nothing there: an empty
	// report still covers them.
	Targets []string
}

// ParseReport is Parse with the report's file name, from which the format
// of an empty report is inferred, and what the report says about itself.
func ParseReport(r io.Reader, format, filename string, emit Emit) (Report, error) {
	br := bufio.NewReaderSize(r, 64*1024)
	head, _ := br.Peek(16 * 1024)
	empty := len(head) < 16*1024 && len(bytes.TrimLeft(head, "\ufeff \t\r\n")) == 0
	if format == "" {
		if empty {
			if format = FormatFromName(filename); format == "" {
				return Report{}, ErrEmptyReport
			}
		} else {
			var err error
			if format, err = Detect(head); err != nil {
				return Report{}, fmt.Errorf("%w: the content is none of %s; name one with --format", err, strings.Join(FormatNames(), ", "))
			}
		}
	} else if !empty {
		if seen, err := Detect(head); err == nil && seen != format {
			return Report{Format: format}, &WrongFormatError{Named: format, LooksLike: seen}
		}
	}
	p, ok := Formats[format]
	if !ok {
		return Report{}, fmt.Errorf("%w %q: want one of %s", ErrUnknownFormat, format, strings.Join(FormatNames(), ", "))
	}
	rep := Report{Format: format}
	if empty {
		// A clean scan: nothing to parse, and a scan in the history.
		return rep, nil
	}
	storable := func(f *Finding) error {
		f.makeStorable()
		return emit(f)
	}
	if pt, ok := coveringParsers[format]; ok {
		err := pt(br, storable, func(target string) {
			if target != "" && !slices.Contains(rep.Targets, target) {
				rep.Targets = append(rep.Targets, target)
			}
		})
		return rep, err
	}
	return rep, p(br, storable)
}

// FormatFromName infers a report's format from its file name alone, for a
// report with no content to detect it from.
func FormatFromName(name string) string {
	n := strings.ToLower(name)
	switch {
	case strings.HasSuffix(n, ".ocsf.json"):
		return "prowler-ocsf"
	case strings.HasSuffix(n, ".asff.json"):
		return "asff"
	case strings.HasSuffix(n, ".sarif"), strings.HasSuffix(n, ".sarif.json"):
		return "sarif"
	case strings.HasSuffix(n, ".jsonl"):
		return "nuclei"
	case strings.HasSuffix(n, ".csv") && strings.Contains(n, "prowler"):
		return "prowler-csv"
	}
	for f := range Formats {
		if strings.HasSuffix(n, "."+f+".json") || strings.HasPrefix(path.Base(n), f+"-") || strings.HasPrefix(path.Base(n), f+"_") {
			return f
		}
	}
	return ""
}

// makeStorable replaces what no database column can hold in the
// finding's text: NUL characters, which JSON may escape (\u0000) but
// PostgreSQL's text refuses (the whole import failed on one), and bytes that
// are not UTF-8, which a CSV or a tool's own text may carry. Each becomes
// U+FFFD, as the JSON decoder does with invalid UTF-8. The raw OCSF keeps
// the original, and the fingerprint is taken before.
func (f *Finding) makeStorable() {
	for _, s := range []*string{&f.Fingerprint, &f.Tool, &f.CheckID, &f.Title, &f.Description, &f.Provider,
		&f.AccountUID, &f.Region, &f.Service, &f.ResourceUID, &f.ResourceName, &f.ResourceType, &f.Target,
		&f.Location, &f.Component, &f.Version, &f.FixedVersion, &f.VendorStatus, &f.Suppression, &f.Remediation, &f.RiskDetails, (*string)(&f.Result)} {
		*s = storableText(*s)
	}
	for _, list := range [][]string{f.VulnIDs, f.CWEs, f.References, f.Tags} {
		for i := range list {
			list[i] = storableText(list[i])
		}
	}
	if f.CVSS != nil {
		f.CVSS.Version, f.CVSS.VectorString = storableText(f.CVSS.Version), storableText(f.CVSS.VectorString)
	}
	f.Title = capText(f.Title, MaxTitleBytes)
	f.Description = capText(f.Description, MaxTextBytes)
	f.Remediation = capText(f.Remediation, MaxTextBytes)
	f.RiskDetails = capText(f.RiskDetails, MaxTextBytes)
}

// The longest title and long text a finding stores. A scanned target
// chooses what its findings say: a 10 MiB title made every findings page
// 10.5 MB. The report itself is kept whole in the artifact store.
const (
	MaxTitleBytes = 1024
	MaxTextBytes  = 64 << 10
)

// capText cuts s to at most limit bytes, at a character boundary, and marks
// the cut.
func capText(s string, limit int) string {
	if len(s) <= limit {
		return s
	}
	mark := fmt.Sprintf(" … [cut: %d more bytes; the whole text is in the stored report]", len(s)-limit)
	cut := max(limit-len(mark), 0)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + mark
}

// storableText returns s with NUL characters and invalid UTF-8 replaced by
// U+FFFD; s itself, without copying, when it has neither (almost always).
func storableText(s string) string {
	if strings.IndexByte(s, 0) < 0 && utf8.ValidString(s) {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}

// Detect names the format of a report from its first bytes.
func Detect(head []byte) (string, error) {
	s := strings.TrimLeft(string(head), "\ufeff \t\r\n")
	switch {
	case strings.HasPrefix(s, "<"):
		switch {
		case strings.Contains(s, "<nmaprun"):
			return "nmap", nil
		case strings.Contains(s, "<OWASPZAPReport"):
			return "zap", nil
		case strings.Contains(s, "<report") && strings.Contains(strings.ToLower(s), "wapiti"):
			return "wapiti", nil
		}
	case strings.HasPrefix(s, "{") || strings.HasPrefix(s, "["):
		switch {
		case strings.Contains(s, `"class_uid"`) || strings.Contains(s, `"finding_info"`):
			return "prowler-ocsf", nil
		case strings.HasPrefix(s, "[") && strings.Contains(s, `"CheckID"`) && (strings.Contains(s, `"StatusExtended"`) || strings.Contains(s, `"FindingUniqueId"`)):
			return "prowler-json", nil
		// Before Trivy: ASFF has a SchemaVersion too.
		case strings.Contains(s, `"ProductArn"`) && (strings.Contains(s, `"AwsAccountId"`) || strings.Contains(s, `"GeneratorId"`)),
			// An empty Security Hub export.
			strings.HasPrefix(s, "{") && strings.HasPrefix(strings.TrimLeft(s[1:], " \t\r\n"), `"Findings"`):
			return "asff", nil
		case strings.Contains(s, `"SchemaVersion"`) && (strings.Contains(s, `"ArtifactName"`) || strings.Contains(s, `"Results"`)),
			strings.Contains(s, `"ClusterName"`) && (strings.Contains(s, `"Resources"`) || strings.Contains(s, `"Vulnerabilities"`) || strings.Contains(s, `"Misconfigurations"`)),
			// The legacy layout: a bare array of results.
			strings.HasPrefix(s, "[") && strings.Contains(s, `"Target"`) && (strings.Contains(s, `"Vulnerabilities"`) || strings.Contains(s, `"Misconfigurations"`)):
			return "trivy", nil
		case strings.Contains(s, `"matches"`) && (strings.Contains(s, `"vulnerability"`) || strings.Contains(s, `"descriptor"`) || strings.Contains(s, `"source"`)):
			return "grype", nil
		case strings.Contains(s, `"template-id"`) || strings.Contains(s, `"templateID"`) || strings.Contains(s, `"matched-at"`):
			return "nuclei", nil
		case strings.Contains(s, `"runs"`) && (strings.Contains(s, "sarif") || strings.Contains(s, `"tool"`) || strings.Contains(s, `"2.1.0"`)):
			return "sarif", nil
		// After SARIF: a SARIF log of Checkov or OSV-Scanner is SARIF.
		case strings.Contains(s, `"check_type"`) && (strings.Contains(s, `"results"`) || strings.Contains(s, `"summary"`)),
			strings.Contains(s, `"checkov_version"`):
			return "checkov", nil
		case strings.Contains(s, `"results"`) && strings.Contains(s, `"packages"`) && (strings.Contains(s, `"source"`) || strings.Contains(s, `"vulnerabilities"`)):
			return "osv", nil
		case strings.Contains(s, `"@programName"`) || strings.Contains(s, `"site"`) && strings.Contains(s, `"alerts"`):
			return "zap", nil
		case strings.Contains(s, `"vulnerabilities"`) && strings.Contains(s, `"infos"`),
			// Wapiti's own JSON report opens with its long classifications block.
			strings.HasPrefix(strings.TrimLeft(s[1:], " \t\r\n"), `"classifications"`):
			return "wapiti", nil
		case strings.Contains(s, `"control_id"`) || strings.Contains(s, `"benchmark"`) || strings.Contains(s, `"group_id"`) && strings.Contains(s, `"controls"`):
			return "powerpipe", nil
		}
	default:
		first, _, _ := strings.Cut(s, "\n")
		if strings.Contains(first, ";") && strings.Contains(first, "CHECK_ID") {
			return "prowler-csv", nil
		}
	}
	return "", ErrUnknownFormat
}

func rawJSON(f ocsf.Finding) json.RawMessage {
	b, _ := json.Marshal(f) // plain structs: cannot fail
	return b
}

// render builds the OCSF JSON of a finding parsed from a non-OCSF tool.
func render(f *Finding, product string) {
	f.Raw = rawJSON(ocsfOf(f, product))
}

// ocsfOf is the OCSF rendering of a finding's normalized fields, for a
// parser that adds what only its tool has before rendering it.
func ocsfOf(f *Finding, product string) ocsf.Finding {
	o := ocsf.Finding{
		ClassUID: f.ClassUID, ClassName: ocsf.ClassName(f.ClassUID), CategoryUID: ocsf.CategoryFindings,
		TypeUID: f.ClassUID*100 + 1, ActivityID: 1,
		SeverityID: f.Severity, Severity: f.Severity.String(), StatusID: ocsf.StatusNew, Status: "New",
		StatusCode: strings.ToUpper(string(f.Result)), Message: f.Title,
		Metadata:    ocsf.Metadata{EventCode: f.CheckID, Product: ocsf.Product{Name: product, UID: f.Tool}, Version: "1.4.0"},
		FindingInfo: ocsf.FindingInfo{UID: f.Fingerprint, Title: f.Title, Desc: f.Description},
	}
	if f.ResourceUID != "" || f.Target != "" {
		uid := f.ResourceUID
		if uid == "" {
			uid = f.Target
		}
		o.Resources = []ocsf.Resource{{UID: uid, Name: f.ResourceName, Type: f.ResourceType}}
	}
	if f.Remediation != "" {
		o.Remediation = &ocsf.Remediation{Desc: f.Remediation}
	}
	for _, id := range f.VulnIDs {
		v := ocsf.Vulnerability{CVE: &ocsf.CVE{UID: id}, Title: f.Title, Severity: f.Severity.String(), FixAvailable: f.FixedVersion != "",
			References: f.References}
		if f.CVSS != nil {
			v.CVE.CVSS = []ocsf.CVSS{*f.CVSS}
		}
		if f.Component != "" {
			v.AffectedPackages = []ocsf.AffectedPackage{{Name: f.Component, Version: f.Version, FixedVersion: f.FixedVersion}}
		}
		o.Vulns = append(o.Vulns, v)
	}
	return o
}

func sortedUnique(ids []string) []string {
	seen := map[string]bool{}
	out := ids[:0:0]
	for _, id := range ids {
		id = strings.TrimSpace(id)
		if id != "" && !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	sort.Strings(out)
	return out
}
