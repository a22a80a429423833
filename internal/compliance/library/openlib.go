package library

import (
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"
)

// The open framework-library format (CISO Assistant's), as far as this
// package reads it. Fields it does not read (translations, scores, reference
// controls, threats) are ignored.
type libFile struct {
	URN          string     `yaml:"urn"`
	RefID        string     `yaml:"ref_id"`
	Name         string     `yaml:"name"`
	Description  string     `yaml:"description"`
	Copyright    string     `yaml:"copyright"`
	Version      yaml.Node  `yaml:"version"` // a number in practice, a string in some files
	Provider     string     `yaml:"provider"`
	Dependencies []string   `yaml:"dependencies"`
	Objects      libObjects `yaml:"objects"`
}

type libObjects struct {
	Framework   *libFramework   `yaml:"framework"`
	Frameworks  []libFramework  `yaml:"frameworks"`
	MappingSet  *libMappingSet  `yaml:"requirement_mapping_set"`
	MappingSets []libMappingSet `yaml:"requirement_mapping_sets"`
}

type libFramework struct {
	URN         string    `yaml:"urn"`
	RefID       string    `yaml:"ref_id"`
	Name        string    `yaml:"name"`
	Description string    `yaml:"description"`
	Nodes       []libNode `yaml:"requirement_nodes"`
}

type libNode struct {
	URN                  string   `yaml:"urn"`
	ParentURN            string   `yaml:"parent_urn"`
	RefID                string   `yaml:"ref_id"`
	Name                 string   `yaml:"name"`
	Description          string   `yaml:"description"`
	Annotation           string   `yaml:"annotation"`
	Assessable           bool     `yaml:"assessable"`
	Depth                int      `yaml:"depth"`
	ImplementationGroups []string `yaml:"implementation_groups"`
}

type libMappingSet struct {
	URN                string       `yaml:"urn"`
	RefID              string       `yaml:"ref_id"`
	Name               string       `yaml:"name"`
	SourceFrameworkURN string       `yaml:"source_framework_urn"`
	TargetFrameworkURN string       `yaml:"target_framework_urn"`
	Mappings           []libMapping `yaml:"requirement_mappings"`
}

type libMapping struct {
	Source       string `yaml:"source_requirement_urn"`
	Target       string `yaml:"target_requirement_urn"`
	Relationship string `yaml:"relationship"`
	Strength     int    `yaml:"strength_of_relationship"`
}

// frameworkVersion finds a version in a framework's ref_id or name
// ("scf-2025.2.2" -> "2025.2.2", "NIST-CSF-2.0" -> "2.0").
var frameworkVersion = regexp.MustCompile(`\d+(?:\.\d+)+`)

// ParseLibrary reads one file of the open framework-library YAML format: its
// framework(s) and requirement mapping set(s). Sizing the input is the
// caller's job; YAML alias expansion is bounded by the decoder, which
// refuses documents whose aliases expand out of proportion to their size
// (a "billion laughs" document).
func ParseLibrary(r io.Reader) (*Library, error) {
	var f libFile
	if err := yaml.NewDecoder(r).Decode(&f); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("not a framework library: empty input")
		}
		return nil, fmt.Errorf("not a framework library (YAML): %w", err)
	}
	o := f.Objects
	if o.Framework != nil {
		o.Frameworks = append([]libFramework{*o.Framework}, o.Frameworks...)
	}
	if o.MappingSet != nil {
		o.MappingSets = append([]libMappingSet{*o.MappingSet}, o.MappingSets...)
	}
	if len(o.Frameworks) == 0 && len(o.MappingSets) == 0 {
		return nil, errors.New("not a framework library: no objects.framework or objects.requirement_mapping_sets")
	}

	lib := &Library{
		URN: f.URN, RefID: f.RefID, Name: f.Name, Copyright: f.Copyright,
		Provider: f.Provider, Dependencies: f.Dependencies, Version: scalar(&f.Version),
	}
	for i := range o.Frameworks {
		fw, err := libraryFramework(&o.Frameworks[i], lib)
		if err != nil {
			return nil, err
		}
		lib.Frameworks = append(lib.Frameworks, fw)
	}
	for _, s := range o.MappingSets {
		if s.SourceFrameworkURN == "" || s.TargetFrameworkURN == "" {
			return nil, fmt.Errorf("mapping set %q: no source or target framework", s.URN)
		}
		ms := MappingSet{
			URN: s.URN, RefID: s.RefID, Name: s.Name, Version: lib.Version, Source: "framework library",
			Copyright: lib.Copyright, SourceFrameworkURN: s.SourceFrameworkURN,
			TargetFrameworkURN: s.TargetFrameworkURN, Dependencies: lib.Dependencies,
			Mappings: make([]Mapping, 0, len(s.Mappings)),
		}
		for j, m := range s.Mappings {
			if m.Source == "" || m.Target == "" {
				return nil, fmt.Errorf("mapping set %q, mapping %d: no source or target requirement", s.URN, j+1)
			}
			ms.Mappings = append(ms.Mappings, Mapping{
				SourceURN: m.Source, TargetURN: m.Target, Strength: m.Strength,
				Relationship: Relationship(strings.ToLower(strings.TrimSpace(m.Relationship))),
			})
		}
		lib.MappingSets = append(lib.MappingSets, ms)
	}
	return lib, nil
}

// libraryFramework converts one framework, computing depths the file leaves
// out from the parent chain.
func libraryFramework(lf *libFramework, lib *Library) (Framework, error) {
	fam := FamilyOf(lf.RefID)
	if fam == "" {
		fam = FamilyOf(lf.Name)
	}
	ver := frameworkVersion.FindString(lf.RefID)
	if ver == "" {
		ver = frameworkVersion.FindString(lf.Name)
	}
	if ver == "" {
		ver = lib.Version
	}
	fw := Framework{
		URN: lf.URN, RefID: lf.RefID, Family: fam, Name: lf.Name, Version: ver,
		Source: "framework library", Provider: lib.Provider, Copyright: lib.Copyright,
		Description: lf.Description, Nodes: make([]Node, 0, len(lf.Nodes)),
	}
	if fw.URN == "" {
		return fw, fmt.Errorf("framework %q has no urn", lf.RefID)
	}
	index := make(map[string]int, len(lf.Nodes))
	for i, n := range lf.Nodes {
		if n.URN == "" {
			return fw, fmt.Errorf("framework %q: requirement node %d has no urn", fw.URN, i+1)
		}
		if _, dup := index[n.URN]; dup {
			return fw, fmt.Errorf("framework %q: requirement node %q appears twice", fw.URN, n.URN)
		}
		index[n.URN] = i
		node := Node{
			URN: n.URN, ParentURN: n.ParentURN, RefID: strings.TrimSpace(n.RefID), Name: n.Name,
			Description: n.Description, Question: n.Annotation, Assessable: n.Assessable,
			Depth: n.Depth, ImplementationGroups: n.ImplementationGroups,
		}
		if node.RefID != "" {
			node.Key = NormalizeRef(fam, node.RefID)
		}
		fw.Nodes = append(fw.Nodes, node)
	}
	for i := range fw.Nodes {
		if fw.Nodes[i].Depth <= 0 {
			d, err := depthOf(fw.Nodes, index, i)
			if err != nil {
				return fw, fmt.Errorf("framework %q: %w", fw.URN, err)
			}
			fw.Nodes[i].Depth = d
		}
	}
	return fw, nil
}

// depthOf follows parents to the top; a parent outside the framework counts
// as the top.
func depthOf(nodes []Node, index map[string]int, i int) (int, error) {
	d := 1
	for p := nodes[i].ParentURN; p != ""; d++ {
		j, ok := index[p]
		if !ok {
			break
		}
		if d > len(nodes) {
			return 0, fmt.Errorf("requirement node %q: parent cycle", nodes[i].URN)
		}
		p = nodes[j].ParentURN
	}
	return d, nil
}

// scalar is a YAML scalar's text, "" for anything else.
func scalar(n *yaml.Node) string {
	if n.Kind == yaml.ScalarNode {
		return n.Value
	}
	return ""
}
