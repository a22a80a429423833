package ingest

import (
	"encoding/json"
	"errors"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/offloadsecurity/cspm/internal/ocsf"
)

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

// grypeLegacyCVSS is a score as early Grype versions wrote it.
type grypeLegacyCVSS struct {
	BaseScore    float64 `json:"baseScore"`
	Vector       string  `json:"vector"`
	VectorString string  `json:"vectorString"`
}

// legacyCVSS is the v3 score of an early Grype report, else its v2 score.
func legacyCVSS(v3, v2 *grypeLegacyCVSS) *ocsf.CVSS {
	if v3 != nil && v3.BaseScore > 0 {
		vec := firstNonEmpty(v3.Vector, v3.VectorString)
		return &ocsf.CVSS{Version: cvssVersionOf(vec, "3.0"), VectorString: vec, BaseScore: v3.BaseScore}
	}
	if v2 != nil && v2.BaseScore > 0 {
		return &ocsf.CVSS{Version: "2.0", VectorString: firstNonEmpty(v2.Vector, v2.VectorString), BaseScore: v2.BaseScore}
	}
	return nil
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
		// Grype before the cvss list wrote one object per CVSS version.
		CVSSV2 *grypeLegacyCVSS `json:"cvssV2"`
		CVSSV3 *grypeLegacyCVSS `json:"cvssV3"`
		Fix    struct {
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
		known   bool // the matches key was seen
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
			known = true
			return s.eachElement(func(raw json.RawMessage) error {
				var m grypeMatch
				if err := unmarshal(raw, &m); err != nil {
					return err
				}
				if m.Vulnerability.ID == "" || m.Artifact.Name == "" {
					return errors.New("a match without vulnerability.id or artifact.name: not a Grype match")
				}
				ids := []string{m.Vulnerability.ID}
				cvss, refs := bestCVSS(m.Vulnerability.CVSS), m.Vulnerability.URLs
				if cvss == nil {
					cvss = legacyCVSS(m.Vulnerability.CVSSV3, m.Vulnerability.CVSSV2)
				}
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
	if !known {
		return s.fail(errors.New("no matches: not a Grype report"))
	}
	for _, f := range pending {
		if err := flush(f); err != nil {
			return err
		}
	}
	return s.end()
}
