package library

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

type prowlerFile struct {
	Framework    string           `json:"Framework"`
	Name         string           `json:"Name"`
	Version      string           `json:"Version"`
	Provider     string           `json:"Provider"`
	Requirements []prowlerRequire `json:"Requirements"`
}

type prowlerRequire struct {
	ID          string `json:"Id"`
	Name        string `json:"Name"`
	Description string `json:"Description"`
	Attributes  []struct {
		ItemID   string `json:"ItemId"`
		Section  string `json:"Section"`
		Category string `json:"Category"` // ISO 27001's maps have this in place of Section
	} `json:"Attributes"`
	Checks []string `json:"Checks"`
}

// ParseProwlerCompliance reads one of Prowler's compliance JSON files: the
// requirements of one framework with the checks that test each.
func ParseProwlerCompliance(r io.Reader) (*CheckMap, error) {
	var f prowlerFile
	dec := json.NewDecoder(r)
	if err := dec.Decode(&f); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("not a Prowler compliance file: empty input")
		}
		return nil, fmt.Errorf("not a Prowler compliance file (JSON): %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("not a Prowler compliance file: more data after its JSON object")
	}
	if f.Framework == "" || f.Requirements == nil {
		return nil, errors.New("not a Prowler compliance file: no Framework or Requirements")
	}
	// The Framework field alone is often just "CIS" or "ISO27001": the
	// version and the provider say which benchmark and which edition.
	fam := FamilyOf(f.Framework + " " + f.Version + " " + f.Provider)
	if fam == "" {
		fam = FamilyOf(f.Name)
	}
	cm := &CheckMap{
		Tool: "prowler", Framework: f.Framework, Family: fam, Name: f.Name,
		Version: f.Version, Provider: f.Provider,
		Requirements: make([]CheckRequirement, 0, len(f.Requirements)),
	}
	checks := map[string]bool{}
	for i, q := range f.Requirements {
		id := strings.TrimSpace(q.ID)
		if id == "" {
			return nil, fmt.Errorf("prowler compliance %q: requirement %d has no Id", f.Framework, i+1)
		}
		req := CheckRequirement{RefID: id, Key: prowlerKey(fam, q), Name: q.Name, Description: q.Description}
		if len(q.Attributes) > 0 {
			req.Section = q.Attributes[0].Section
			if req.Section == "" {
				req.Section = q.Attributes[0].Category
			}
		}
		for _, c := range q.Checks {
			if c = strings.TrimSpace(c); c != "" {
				req.Checks = append(req.Checks, c)
				checks[c] = true
			}
		}
		if len(req.Checks) == 0 {
			cm.Unassessable++
		}
		cm.Requirements = append(cm.Requirements, req)
	}
	cm.TotalChecks = len(checks)
	return cm, nil
}

// prowlerKey normalizes a requirement's Id, unless the Id is not a whole
// reference in its family: Prowler's NIST CSF map writes "oc_1" for GV.OC-1
// (and "rp_1" for RS.RP-1 beside "rc_rp_1" for RC.RP-1), so the reference
// is then taken from the requirement's name ("GV.OC-1") or its ItemId.
func prowlerKey(fam string, q prowlerRequire) string {
	key := NormalizeRef(fam, q.ID)
	if complete(fam, key) {
		return key
	}
	candidates := strings.Fields(q.Name)
	if len(candidates) > 1 {
		candidates = candidates[:1]
	}
	for _, a := range q.Attributes {
		candidates = append(candidates, a.ItemID)
	}
	for _, c := range candidates {
		if k := NormalizeRef(fam, c); complete(fam, k) {
			return k
		}
	}
	return key
}

// RequirementKey normalizes a requirement reference of a family as a
// check map writes it, and tells whether the key names a whole requirement
// (Prowler's NIST CSF "oc_1" does not: its category is in the name, which a
// finding's compliance map does not carry).
func RequirementKey(fam, ref string) (string, bool) {
	key := NormalizeRef(fam, ref)
	return key, key != "" && complete(fam, key)
}

// complete tells whether a key names a whole requirement of its family; it
// is only decidable, and only needed, for NIST CSF.
func complete(fam, key string) bool {
	if familyBase(fam) == "nist-csf" {
		return nistCSFComplete.MatchString(key)
	}
	return true
}
