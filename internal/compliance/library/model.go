// Package library reads compliance content into one model: the Secure
// Controls Framework workbook, the open framework-library YAML format
// (frameworks and requirement mapping sets), and Prowler's compliance maps
// (scanner check -> framework requirement). It touches no database; the
// compliance package stores what it returns.
//
// Every requirement carries a Key: its reference normalized within its
// framework family (see NormalizeRef), so that `ac_2_1`, `AC-2(1)`,
// `AC-02(01)` and `NIST.800-53.r5 AC-2(1)` are one NIST 800-53 control
// whichever source named it.
package library

// Relationship is how a source requirement relates to a target one in a
// mapping set (the open library format's names, NIST OLIR's semantics).
type Relationship string

// The relationships. Equal and superset give the target full coverage from
// the source; subset and intersect partial; not_related none.
const (
	Equal      Relationship = "equal"
	Subset     Relationship = "subset"
	Superset   Relationship = "superset"
	Intersect  Relationship = "intersect"
	NotRelated Relationship = "not_related"
)

// Framework is one version of a framework: a tree of requirement nodes.
type Framework struct {
	URN         string // e.g. urn:intuitem:risk:framework:nist-csf-2.0; the SCF workbook gets urn:scf:framework:scf-<version>
	RefID       string // e.g. "NIST-CSF-2.0", "SCF"
	Family      string // normalization family, see Families: "scf", "nist-800-53", "nist-csf", "iso27001", "cis", "soc2", "pci-dss", ...; "" when unknown
	Name        string
	Version     string // "2025.2.2", "2.0", or the library's version number when that is all it states
	Source      string // where it came from: "SCF workbook", "framework library", "prowler"
	Provider    string // publisher, e.g. "NIST", "SCF"
	Copyright   string // licence / copyright line, shown with the framework
	Description string
	Nodes       []Node // document order; parents before children
}

// Node is a requirement node: a domain, section, requirement or sub-requirement.
type Node struct {
	URN         string // unique within all loaded content
	ParentURN   string // "" for a top-level node
	RefID       string // as the source writes it: "GOV-02", "GV.OC-01", "AC-2(1)"; "" for some grouping nodes
	Key         string // NormalizeRef(framework family, RefID); "" when RefID is ""
	Name        string
	Description string
	Question    string // control question / annotation
	Assessable  bool   // a requirement that gets a status (leaves, usually); domains and sections are not
	Depth       int    // 1 for top-level nodes
	// Weight is SCF's "Relative Control Weighting"; 0 when the source has
	// none (the engine then uses 1).
	Weight               float64
	ImplementationGroups []string
	// Extra holds version-specific attributes by their header text, such as
	// "PPTDF Applicability", "Conformity Validation Cadence" and maturity
	// criteria ("SP-CMM 3 ...").
	Extra map[string]string
}

// MappingSet relates the requirements of one framework to another's.
type MappingSet struct {
	URN                string
	RefID              string
	Name               string
	Version            string
	Source             string
	Copyright          string
	SourceFrameworkURN string
	TargetFrameworkURN string
	// Dependencies are the library URNs the set needs loaded (the open
	// format's "dependencies"), to say which one to load when missing.
	Dependencies []string
	Mappings     []Mapping
}

// Mapping is one requirement-to-requirement relationship, by URN.
type Mapping struct {
	SourceURN    string
	TargetURN    string
	Relationship Relationship
	Strength     int // 0 when the source gives none
}

// Crosswalk is one SCF workbook crosswalk column: SCF control -> requirement
// references of another framework.
type Crosswalk struct {
	Column  string // the header text as it stands in the workbook (line breaks folded to spaces)
	Family  string // normalization family of the target framework, "" when unknown
	Name    string // a readable framework name derived from the header, e.g. "NIST 800-53 rev5"
	Entries []CrosswalkEntry
}

// CrosswalkEntry maps one SCF control to one reference of the target framework.
type CrosswalkEntry struct {
	SCFRefID  string // "GOV-02"
	TargetRef string // as written in the cell, one line of it
	TargetKey string // NormalizeRef(crosswalk family, TargetRef)
}

// SCFWorkbook is what the SCF workbook import reads.
type SCFWorkbook struct {
	Framework  Framework   // domains (depth 1, not assessable) and controls (assessable, under their domain)
	Crosswalks []Crosswalk // one per crosswalk column that has at least one entry
	Sheet      string      // the main sheet's name, e.g. "SCF 2022.2"
}

// CheckMap links scanner checks to the requirements of one framework, as a
// Prowler compliance JSON file does.
type CheckMap struct {
	Tool         string // "prowler"
	Framework    string // as the file names it, e.g. "NIST-800-53-Revision-5"
	Family       string // normalization family
	Name         string
	Version      string
	Provider     string // cloud provider, e.g. "AWS"
	Requirements []CheckRequirement
	TotalChecks  int // distinct checks named
	Unassessable int // requirements with no checks (manual)
}

// CheckRequirement is one requirement of a CheckMap with the checks that test it.
type CheckRequirement struct {
	RefID       string // as written: "ac_2_1", "1.10", "GV.OC-01"
	Key         string // NormalizeRef(family, RefID)
	Name        string
	Description string
	Section     string
	Checks      []string // check IDs, e.g. "iam_password_policy_minimum_length_14"
}

// Library is one file of the open framework-library format: its frameworks
// and mapping sets (a file usually holds one of either).
type Library struct {
	URN          string
	RefID        string
	Name         string
	Version      string
	Copyright    string
	Provider     string
	Dependencies []string
	Frameworks   []Framework
	MappingSets  []MappingSet
}

// The readers this package offers (implemented beside this file):
//
//	ParseSCFWorkbook(r io.Reader) (*SCFWorkbook, error)     the official .xlsx
//	ParseLibrary(r io.Reader) (*Library, error)             open-format YAML
//	ParseProwlerCompliance(r io.Reader) (*CheckMap, error)  Prowler compliance JSON
//	NormalizeRef(family, ref string) string                 one identity per requirement
//	FamilyOf(name string) string                            family of a framework or crosswalk name
