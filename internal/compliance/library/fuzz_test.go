package library

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// The fuzz targets start from the real samples; `go test` runs the seeds,
// `go test -fuzz FuzzX` explores from them.

func FuzzParseLibrary(f *testing.F) {
	for _, rel := range []string{csfLibrarySample, csfSCFMapSample} {
		f.Add(sample(f, rel))
	}
	// The SCF library's first nodes: big enough to reach requirement_nodes,
	// small enough to mutate quickly.
	scf := sample(f, scfLibrarySample)
	f.Add(scf[:bytes.Index(scf, []byte("gov-02\n"))])
	f.Add([]byte("objects:\n  framework:\n    urn: u\n    requirement_nodes:\n    - {urn: a, parent_urn: b}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		lib, err := ParseLibrary(bytes.NewReader(data))
		if err != nil {
			return
		}
		if len(lib.Frameworks) == 0 && len(lib.MappingSets) == 0 {
			t.Fatal("a library with nothing in it")
		}
		for _, fw := range lib.Frameworks {
			for _, n := range fw.Nodes {
				if n.Depth < 1 || n.URN == "" || (n.RefID == "") != (n.Key == "") {
					t.Fatalf("node %+v", n)
				}
			}
		}
	})
}

func FuzzParseProwlerCompliance(f *testing.F) {
	for _, rel := range prowlerSamples {
		data := sample(f, rel)
		f.Add(data)
		// One requirement of each, for mutations that reach the fields.
		var doc map[string]any
		if err := json.Unmarshal(data, &doc); err != nil {
			f.Fatal(err)
		}
		doc["Requirements"] = doc["Requirements"].([]any)[:1]
		small, _ := json.Marshal(doc)
		f.Add(small)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cm, err := ParseProwlerCompliance(bytes.NewReader(data))
		if err != nil {
			return
		}
		if cm.Unassessable > len(cm.Requirements) || cm.Tool != "prowler" {
			t.Fatalf("%d unassessable of %d", cm.Unassessable, len(cm.Requirements))
		}
		for _, r := range cm.Requirements {
			if r.RefID == "" || r.Key == "" {
				t.Fatalf("requirement %+v", r)
			}
		}
	})
}

func FuzzNormalizeRef(f *testing.F) {
	families := []string{"", "scf", "nist-800-53", "nist-800-53-r4", "nist-csf-2.0", "nist-csf-1.1",
		"iso27001-2022", "iso27001-2013", "cis-aws-3.0", "cis-csc-8.0", "soc2", "pci-dss-4.0"}
	// Every reference in the samples, under its own family and the others.
	var refs []string
	for _, rel := range prowlerSamples {
		cm, err := ParseProwlerCompliance(bytes.NewReader(sample(f, rel)))
		if err != nil {
			f.Fatal(err)
		}
		for _, r := range cm.Requirements {
			refs = append(refs, r.RefID, strings.Fields(r.Name + " x")[0])
		}
	}
	for _, rel := range []string{csfLibrarySample} {
		lib, err := ParseLibrary(bytes.NewReader(sample(f, rel)))
		if err != nil {
			f.Fatal(err)
		}
		for _, n := range lib.Frameworks[0].Nodes {
			refs = append(refs, n.RefID)
		}
	}
	refs = append(refs, "NIST.800-53.r5 AC-2(1)", "AC-02(01)", "GOV-01.1", "Req 1.2.3", "A.5.1.1",
		"cc_a_1_1", " A\u00a0b ", "req req 1", "İ", "\xff", "ac-2 ( 1 )")
	for i, r := range refs {
		f.Add(families[i%len(families)], r)
	}
	f.Fuzz(func(t *testing.T, family, ref string) {
		k := NormalizeRef(family, ref)
		if again := NormalizeRef(family, k); again != k {
			t.Fatalf("NormalizeRef(%q, %q) = %q, then %q", family, ref, k, again)
		}
		if strings.TrimSpace(ref) != "" && k == "" {
			t.Fatalf("NormalizeRef(%q, %q) is empty", family, ref)
		}
		_ = FamilyOf(ref)
	})
}
