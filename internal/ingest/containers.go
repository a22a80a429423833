package ingest

import (
	"encoding/json"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/offloadsecurity/cspm/internal/ocsf"
)

type trivyResult struct {
	Target          string `json:"Target"`
	Class           string `json:"Class"`
	Type            string `json:"Type"`
	Vulnerabilities []struct {
		VulnerabilityID  string   `json:"VulnerabilityID"`
		PkgName          string   `json:"PkgName"`
		PkgPath          string   `json:"PkgPath"`
		InstalledVersion string   `json:"InstalledVersion"`
		FixedVersion     string   `json:"FixedVersion"`
		Title            string   `json:"Title"`
		Description      string   `json:"Description"`
		Severity         string   `json:"Severity"`
		PrimaryURL       string   `json:"PrimaryURL"`
		References       []string `json:"References"`
		SeveritySource   string   `json:"SeveritySource"`
		CweIDs           []string `json:"CweIDs"`
		CVSS             map[string]struct {
			V2Vector  string  `json:"V2Vector"`
			V3Vector  string  `json:"V3Vector"`
			V40Vector string  `json:"V40Vector"`
			V2Score   float64 `json:"V2Score"`
			V3Score   float64 `json:"V3Score"`
			V40Score  float64 `json:"V40Score"`
		} `json:"CVSS"`
	} `json:"Vulnerabilities"`
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

// parseTrivy reads Trivy's JSON report (schema 2): one finding per
// vulnerability, misconfiguration and secret of every result.
func parseTrivy(r io.Reader, emit Emit) error {
	s := newJSONStream(r, "trivy")
	artifact := ""
	err := s.eachKey(func(key string) error {
		switch key {
		case "ArtifactName":
			return s.decode(&artifact)
		case "Results":
			return s.eachElement(func(raw json.RawMessage) error {
				var res trivyResult
				if err := unmarshal(raw, &res); err != nil {
					return err
				}
				return emitTrivyResult(artifact, &res, emit)
			})
		}
		return s.skip()
	})
	if err != nil {
		return err
	}
	return s.end()
}

func emitTrivyResult(artifact string, res *trivyResult, emit Emit) error {
	target := artifact
	if target == "" {
		target = res.Target
	}
	for _, v := range res.Vulnerabilities {
		f := &Finding{
			Tool: "trivy", ClassUID: ocsf.ClassVulnerabilityFinding, CheckID: v.VulnerabilityID, Title: firstNonEmpty(v.Title, v.VulnerabilityID),
			Description: v.Description, Severity: ocsf.ParseSeverity(v.Severity), Result: ResultFail,
			Target: target, Location: res.Target, ResourceType: res.Type, Component: v.PkgName, Version: v.InstalledVersion,
			FixedVersion: v.FixedVersion, VulnIDs: []string{v.VulnerabilityID}, CWEs: sortedUnique(v.CweIDs), References: v.References,
		}
		// The score of the source Trivy took the severity from, else NVD's,
		// else any; the newest CVSS version each source gives.
		for _, src := range append([]string{v.SeveritySource, "nvd"}, sortedKeys(v.CVSS)...) {
			c, ok := v.CVSS[src]
			if !ok {
				continue
			}
			switch {
			case c.V40Score > 0:
				f.CVSS = &ocsf.CVSS{Version: "4.0", VectorString: c.V40Vector, BaseScore: c.V40Score}
			case c.V3Score > 0:
				f.CVSS = &ocsf.CVSS{Version: cvssVersionOf(c.V3Vector, "3.1"), VectorString: c.V3Vector, BaseScore: c.V3Score}
			case c.V2Score > 0:
				f.CVSS = &ocsf.CVSS{Version: "2.0", VectorString: c.V2Vector, BaseScore: c.V2Score}
			}
			if f.CVSS != nil {
				break
			}
		}
		if v.FixedVersion != "" {
			f.Remediation = "Upgrade " + v.PkgName + " to " + v.FixedVersion
		}
		f.Fingerprint = fingerprint("trivy", v.VulnerabilityID, target, res.Target, v.PkgName, v.PkgPath, v.InstalledVersion)
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
		f := &Finding{
			Tool: "trivy", ClassUID: ocsf.ClassDetectionFinding, CheckID: id, Title: m.Title,
			Description: firstNonEmpty(m.Message, m.Desc), Severity: ocsf.ParseSeverity(m.Severity), Result: result,
			Target: target, Location: res.Target + lineSuffix(m.Cause.StartLine), ResourceType: res.Type, Remediation: m.Resolution,
		}
		f.Fingerprint = fingerprint("trivy", "misconfig", id, target, res.Target, strconv.Itoa(m.Cause.StartLine))
		render(f, "Trivy")
		if err := emit(f); err != nil {
			return err
		}
	}
	for _, sec := range res.Secrets {
		f := &Finding{
			Tool: "trivy", ClassUID: ocsf.ClassDetectionFinding, CheckID: sec.RuleID, Title: sec.Title,
			Description: sec.Category + " secret in " + res.Target + lineSuffix(sec.StartLine), Severity: ocsf.ParseSeverity(sec.Severity),
			Result: ResultFail, Target: target, Location: res.Target + lineSuffix(sec.StartLine), ResourceType: "secret",
			Remediation: "Remove the secret from the artifact and rotate it.",
		}
		// The secret's value is never part of the identity or the record.
		f.Fingerprint = fingerprint("trivy", "secret", sec.RuleID, target, res.Target, strconv.Itoa(sec.StartLine))
		render(f, "Trivy")
		if err := emit(f); err != nil {
			return err
		}
	}
	return nil
}

// cvssVersionOf reads the version from a "CVSS:3.0/..." vector.
func cvssVersionOf(vector, fallback string) string {
	if rest, ok := strings.CutPrefix(vector, "CVSS:"); ok {
		if v, _, ok := strings.Cut(rest, "/"); ok {
			return v
		}
	}
	return fallback
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// bestCVSS picks the highest CVSS version of Grype's scores (the first of
// that version, which is the primary source's).
func bestCVSS(scores []grypeCVSS) *ocsf.CVSS {
	var best *ocsf.CVSS
	for _, c := range scores {
		if c.Metrics.BaseScore <= 0 {
			continue
		}
		if best == nil || c.Version > best.Version {
			best = &ocsf.CVSS{Version: c.Version, VectorString: c.Vector, BaseScore: c.Metrics.BaseScore}
		}
	}
	return best
}

type grypeCVSS struct {
	Version string `json:"version"`
	Vector  string `json:"vector"`
	Metrics struct {
		BaseScore float64 `json:"baseScore"`
	} `json:"metrics"`
}

func lineSuffix(line int) string {
	if line <= 0 {
		return ""
	}
	return ":" + strconv.Itoa(line)
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if strings.TrimSpace(v) != "" {
			return v
		}
	}
	return ""
}

type grypeMatch struct {
	Vulnerability struct {
		ID          string      `json:"id"`
		Severity    string      `json:"severity"`
		Description string      `json:"description"`
		URLs        []string    `json:"urls"`
		CVSS        []grypeCVSS `json:"cvss"`
		Fix         struct {
			Versions []string `json:"versions"`
			State    string   `json:"state"`
		} `json:"fix"`
	} `json:"vulnerability"`
	Related []struct {
		ID   string      `json:"id"`
		URLs []string    `json:"urls"`
		CVSS []grypeCVSS `json:"cvss"`
	} `json:"relatedVulnerabilities"`
	Artifact struct {
		Name      string `json:"name"`
		Version   string `json:"version"`
		Type      string `json:"type"`
		PURL      string `json:"purl"`
		Locations []struct {
			Path string `json:"path"`
		} `json:"locations"`
	} `json:"artifact"`
}

// parseGrype reads Grype's JSON: one finding per match. The source (the
// image scanned) may come before or after the matches, so matches are held
// until it is known; each is small.
func parseGrype(r io.Reader, emit Emit) error {
	s := newJSONStream(r, "grype")
	var (
		target  string
		pending []*Finding
	)
	flush := func(f *Finding) error {
		if f.Target == "" {
			f.Target = target
		}
		f.Fingerprint = fingerprint("grype", f.CheckID, f.Target, f.Component, f.Version, f.ResourceType, f.Location)
		render(f, "Grype")
		return emit(f)
	}
	err := s.eachKey(func(key string) error {
		switch key {
		case "source":
			var src struct {
				Target json.RawMessage `json:"target"`
			}
			if err := s.decode(&src); err != nil {
				return err
			}
			var t struct {
				UserInput string `json:"userInput"`
			}
			if unmarshal(src.Target, &t) == nil && t.UserInput != "" {
				target = t.UserInput
			} else {
				_ = unmarshal(src.Target, &target)
			}
			return nil
		case "matches":
			return s.eachElement(func(raw json.RawMessage) error {
				var m grypeMatch
				if err := unmarshal(raw, &m); err != nil {
					return err
				}
				ids := []string{m.Vulnerability.ID}
				cvss, refs := bestCVSS(m.Vulnerability.CVSS), m.Vulnerability.URLs
				for _, rel := range m.Related {
					ids = append(ids, rel.ID)
					if cvss == nil {
						cvss = bestCVSS(rel.CVSS)
					}
					refs = append(refs, rel.URLs...)
				}
				loc := ""
				if len(m.Artifact.Locations) > 0 {
					loc = m.Artifact.Locations[0].Path
				}
				f := &Finding{
					Tool: "grype", ClassUID: ocsf.ClassVulnerabilityFinding, CheckID: m.Vulnerability.ID,
					Title: m.Vulnerability.ID + " in " + m.Artifact.Name, Description: m.Vulnerability.Description,
					Severity: ocsf.ParseSeverity(m.Vulnerability.Severity), Result: ResultFail,
					Component: m.Artifact.Name, Version: m.Artifact.Version, ResourceType: m.Artifact.Type, Location: loc,
					VulnIDs: sortedUnique(ids), CVSS: cvss, References: sortedUnique(refs),
				}
				if len(m.Vulnerability.Fix.Versions) > 0 {
					f.FixedVersion = m.Vulnerability.Fix.Versions[0]
					f.Remediation = "Upgrade " + m.Artifact.Name + " to " + f.FixedVersion
				}
				if target == "" {
					pending = append(pending, f)
					return nil
				}
				return flush(f)
			})
		}
		return s.skip()
	})
	if err != nil {
		return err
	}
	for _, f := range pending {
		if err := flush(f); err != nil {
			return err
		}
	}
	return s.end()
}
