package ingest

import (
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"strings"

	"github.com/offloadsecurity/cspm/internal/ocsf"
)

// osvSource is what OSV-Scanner scanned: a lockfile, an SBOM, a
// directory's git repository, a container image.
type osvSource struct {
	Path string `json:"path"`
	Type string `json:"type"`
}

type osvPackage struct {
	Package struct {
		Name      string `json:"name"`
		Version   string `json:"version"`
		Ecosystem string `json:"ecosystem"`
		Commit    string `json:"commit"`
	} `json:"package"`
	Vulnerabilities []osvVulnerability `json:"vulnerabilities"`
	Groups          []struct {
		IDs         []string `json:"ids"`
		Aliases     []string `json:"aliases"`
		MaxSeverity string   `json:"max_severity"`
	} `json:"groups"`
}

// osvVulnerability is an OSV record (https://ossf.github.io/osv-schema/).
type osvVulnerability struct {
	ID       string   `json:"id"`
	Aliases  []string `json:"aliases"`
	Summary  string   `json:"summary"`
	Details  string   `json:"details"`
	Severity []struct {
		Type  string `json:"type"`
		Score string `json:"score"`
	} `json:"severity"`
	Affected []struct {
		Package struct {
			Ecosystem string `json:"ecosystem"`
			Name      string `json:"name"`
		} `json:"package"`
		Ranges []struct {
			Type   string              `json:"type"`
			Events []map[string]string `json:"events"`
		} `json:"ranges"`
		DatabaseSpecific struct {
			CWEs []struct {
				CWEID string `json:"cweId"`
			} `json:"cwes"`
		} `json:"database_specific"`
	} `json:"affected"`
	References []struct {
		URL string `json:"url"`
	} `json:"references"`
	DatabaseSpecific struct {
		Severity any      `json:"severity"`
		CWEIDs   []string `json:"cwe_ids"`
	} `json:"database_specific"`
}

// parseOSV reads OSV-Scanner's JSON (--format json): one finding per
// vulnerability of each package of each scanned source. A source's
// packages wait for its path when the path comes after them.
func parseOSV(r io.Reader, emit Emit) error {
	s := newJSONStream(r, "osv")
	known := false
	err := s.eachKey(func(key string) error {
		if key != "results" {
			return s.skip()
		}
		known = true
		if err := s.expect('['); err != nil {
			return err
		}
		for s.dec.PeekKind() != ']' {
			if err := parseOSVResult(s, emit); err != nil {
				return err
			}
		}
		return s.expect(']')
	})
	if err != nil {
		return err
	}
	if !known {
		return s.fail(errors.New("no results: not an OSV-Scanner report"))
	}
	return s.end()
}

func parseOSVResult(s *jsonStream, emit Emit) error {
	var (
		src     *osvSource
		pending []json.RawMessage
	)
	handle := func(raw json.RawMessage) error {
		var p osvPackage
		if err := unmarshal(raw, &p); err != nil {
			return err
		}
		return emitOSVPackage(src, &p, emit)
	}
	err := s.eachKey(func(key string) error {
		switch key {
		case "source":
			src = &osvSource{}
			if err := s.decode(src); err != nil {
				return err
			}
			for _, raw := range pending {
				if err := handle(raw); err != nil {
					return err
				}
			}
			pending = nil
			return nil
		case "packages":
			return s.eachElement(func(raw json.RawMessage) error {
				if src == nil {
					pending = append(pending, append(json.RawMessage(nil), raw...))
					return nil
				}
				return handle(raw)
			})
		}
		return s.skip()
	})
	if err != nil {
		return err
	}
	if src == nil {
		return errors.New("a result without source: not an OSV-Scanner result")
	}
	return nil
}

func emitOSVPackage(src *osvSource, p *osvPackage, emit Emit) error {
	pkg := p.Package
	if pkg.Name == "" && pkg.Commit == "" {
		return errors.New("a package without name")
	}
	name, version := firstNonEmpty(pkg.Name, pkg.Commit), pkg.Version
	for i := range p.Vulnerabilities {
		v := &p.Vulnerabilities[i]
		if v.ID == "" {
			return errors.New("a vulnerability without id")
		}
		f := &Finding{
			Tool: "osv", ClassUID: ocsf.ClassVulnerabilityFinding, CheckID: v.ID,
			Title: firstNonEmpty(v.Summary, v.ID+" in "+name), Description: v.Details, Result: ResultFail,
			Target: src.Path, Location: src.Path, ResourceType: firstNonEmpty(pkg.Ecosystem, src.Type),
			Component: name, Version: version, VulnIDs: sortedUnique(append([]string{v.ID}, v.Aliases...)),
		}
		// Severity: the score OSV-Scanner computed for the group of aliases
		// the vulnerability is in, else the database's own word (GHSA's).
		score := -1.0
		for _, g := range p.Groups {
			for _, id := range g.IDs {
				if id == v.ID && g.MaxSeverity != "" {
					if n, err := strconv.ParseFloat(strings.TrimSpace(g.MaxSeverity), 64); err == nil && n >= 0 && n <= 10 {
						score = n
					}
				}
			}
		}
		switch {
		case score >= 0:
			f.Severity = cvssSeverity(score)
		default:
			f.Severity = ocsf.ParseSeverity(toString(v.DatabaseSpecific.Severity))
		}
		if f.Severity == ocsf.SeverityUnknown && strings.HasPrefix(v.ID, "MAL-") {
			// A malicious package (OpenSSF's records carry no score): the
			// machine that installed it is to be taken as compromised.
			f.Severity = ocsf.SeverityCritical
		}
		// CVSS: the newest vector the record gives, with that score.
		for _, sev := range v.Severity {
			if !strings.HasPrefix(sev.Type, "CVSS_") || !strings.HasPrefix(sev.Score, "CVSS:") {
				continue
			}
			c := &ocsf.CVSS{Version: cvssVersionOf(sev.Score, ""), VectorString: sev.Score}
			if f.CVSS == nil || c.Version > f.CVSS.Version {
				f.CVSS = c
			}
		}
		if f.CVSS != nil {
			if score > 0 {
				f.CVSS.BaseScore = score
			} else {
				f.CVSS = nil // a vector without a score tells the store nothing it can rank
			}
		}
		var cwes, refs, fixed []string
		cwes = append(cwes, v.DatabaseSpecific.CWEIDs...)
		for _, a := range v.Affected {
			for _, c := range a.DatabaseSpecific.CWEs {
				cwes = append(cwes, c.CWEID)
			}
			if a.Package.Name != pkg.Name || !sameEcosystem(a.Package.Ecosystem, pkg.Ecosystem) {
				continue
			}
			for _, rg := range a.Ranges {
				if strings.EqualFold(rg.Type, "GIT") {
					continue // commits, not versions
				}
				for _, ev := range rg.Events {
					if fx := ev["fixed"]; fx != "" {
						fixed = append(fixed, fx)
					}
				}
			}
		}
		for _, ref := range v.References {
			refs = append(refs, ref.URL)
		}
		f.CWEs, f.References = sortedUnique(cwes), sortedUnique(refs)
		if len(fixed) > 0 {
			f.FixedVersion = strings.Join(uniqueInOrder(fixed), ", ")
			f.Remediation = "Upgrade " + name + " to " + f.FixedVersion
		}
		f.Fingerprint = fingerprint("osv", v.ID, src.Path, pkg.Ecosystem, name, version)
		render(f, "OSV-Scanner")
		if err := emit(f); err != nil {
			return err
		}
	}
	return nil
}

// sameEcosystem compares OSV ecosystems without their release suffix
// ("Debian:12" is Debian).
func sameEcosystem(a, b string) bool {
	a, _, _ = strings.Cut(a, ":")
	b, _, _ = strings.Cut(b, ":")
	return b == "" || strings.EqualFold(a, b)
}

func uniqueInOrder(list []string) []string {
	seen := map[string]bool{}
	out := list[:0:0]
	for _, s := range list {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
