package compliance

import (
	"math"
	"time"

	"github.com/offloadsecurity/cspm/internal/findings"
)

// CheckEvidence is one check's contribution to an SCF control.
type CheckEvidence struct {
	Tool       string     `json:"tool"`
	CheckID    string     `json:"check_id"`
	Coverage   string     `json:"coverage" enum:"full,partial"`
	Via        string     `json:"via" doc:"How the check reaches the control: a crosswalk, a mapping set, or directly."`
	Passed     int        `json:"passed"`
	Failed     int        `json:"failed"`
	Muted      int        `json:"muted" doc:"Muted and risk-accepted resources: shown, never failing."`
	Manual     int        `json:"manual"`
	LastScanID string     `json:"last_scan_id,omitempty"`
	LastScanAt *time.Time `json:"last_scan_at,omitempty"`
}

// ControlResult is a team's result for one SCF control.
type ControlResult struct {
	URN        string          `json:"urn"`
	Status     string          `json:"status" enum:"passing,failing,partial,not_assessed,manual"`
	Score      *float64        `json:"score" doc:"passed / (passed + failed) x 100; null when not assessed."`
	Passed     int             `json:"passed"`
	Failed     int             `json:"failed"`
	Muted      int             `json:"muted"`
	Manual     int             `json:"manual"`
	Attested   bool            `json:"attested" doc:"A valid attestation stands for the control (it has no scanner results)."`
	Evidence   []CheckEvidence `json:"evidence"`
	LastScanID string          `json:"last_scan_id,omitempty"`
	LastScanAt *time.Time      `json:"last_scan_at,omitempty"`
}

// scoreControl applies the default formula to one control: a control's
// score is passed / (passed + failed) x 100 over the unmuted current results
// of its checks, counted in resources. Without such results, a valid
// attestation makes it passing (score 100); only MANUAL results make it
// manual; nothing makes it not assessed.
func scoreControl(urn string, links []checkLink, results map[string]*findings.CheckResult, attested bool) ControlResult {
	cr := ControlResult{URN: urn, Evidence: []CheckEvidence{}}
	for _, l := range links {
		ev := CheckEvidence{Tool: l.Tool, CheckID: l.Check, Coverage: l.Coverage, Via: l.Via}
		if r := results[checkKeyOf(l.Tool, l.Check)]; r != nil {
			ev.Passed, ev.Failed, ev.Muted, ev.Manual = r.Passed, r.Failed, r.Muted, r.Manual
			ev.LastScanID, ev.LastScanAt = r.LastScanID, r.LastScanAt
			if r.LastScanAt != nil && (cr.LastScanAt == nil || r.LastScanAt.After(*cr.LastScanAt)) {
				cr.LastScanID, cr.LastScanAt = r.LastScanID, r.LastScanAt
			}
		}
		cr.Passed += ev.Passed
		cr.Failed += ev.Failed
		cr.Muted += ev.Muted
		cr.Manual += ev.Manual
		cr.Evidence = append(cr.Evidence, ev)
	}
	switch {
	case cr.Passed+cr.Failed > 0:
		s := float64(cr.Passed) / float64(cr.Passed+cr.Failed) * 100
		cr.Score = &s
		cr.Status = statusOfScore(s)
		cr.Attested = attested
	case attested:
		s := 100.0
		cr.Score, cr.Status, cr.Attested = &s, StatusPassing, true
	case cr.Manual > 0:
		cr.Status = StatusManual
	default:
		cr.Status = StatusNotAssessed
	}
	return cr
}

func statusOfScore(s float64) string {
	switch {
	case s >= 100:
		return StatusPassing
	case s <= 0:
		return StatusFailing
	}
	return StatusPartial
}

// Rollup is a score over a set of controls or requirements.
type Rollup struct {
	Score  *float64       `json:"score" doc:"Weighted average of the assessed members; null when none is assessed."`
	Counts map[string]int `json:"counts" doc:"Members by status."`
}

// weighted accumulates a weighted average and counts by status.
type weighted struct {
	sum, weight float64
	counts      map[string]int
}

func (w *weighted) add(status string, score *float64, weight float64) {
	if w.counts == nil {
		w.counts = map[string]int{}
	}
	w.counts[status]++
	if score != nil {
		if weight <= 0 {
			weight = 1
		}
		w.sum += *score * weight
		w.weight += weight
	}
}

func (w *weighted) rollup() Rollup {
	r := Rollup{Counts: map[string]int{}}
	for _, s := range Statuses {
		r.Counts[s] = w.counts[s]
	}
	if w.weight > 0 {
		s := w.sum / w.weight
		r.Score = &s
	}
	return r
}

// controlState is what the rollups need of a stored control result.
type controlState struct {
	Status string
	Score  *float64
}

// NodeScore is a framework node's projected result.
type NodeScore struct {
	Status   string         `json:"status" enum:"passing,failing,partial,not_assessed,manual"`
	Score    *float64       `json:"score"`
	Coverage string         `json:"coverage" enum:"full,partial,none" doc:"full when some mapped SCF control covers the requirement fully."`
	Counts   map[string]int `json:"counts,omitempty" doc:"Sections: their requirements by status."`
}

// projectFramework scores every node of f from the team's control states. A
// requirement of an SCF framework is its control; another framework's
// requirement gets the weighted average of the SCF controls it maps to
// (weights: SCF's Relative Control Weighting); a section the weighted
// average of its assessable descendants.
func projectFramework(g *graph, f *frameworkInfo, states map[string]controlState) (map[string]NodeScore, Rollup) {
	out := make(map[string]NodeScore, len(f.Nodes))
	var fw weighted
	for _, n := range f.Nodes {
		if !n.Assessable {
			continue
		}
		var ns NodeScore
		if f.isSCF() {
			st, ok := states[n.URN]
			if !ok {
				st = controlState{Status: StatusNotAssessed}
			}
			ns = NodeScore{Status: st.Status, Score: st.Score, Coverage: CoverageFull}
		} else {
			ns = projectRequirement(g, g.nodeLinks[n.URN], states)
		}
		out[n.URN] = ns
		fw.add(ns.Status, ns.Score, n.Weight)
	}
	// Sections, deepest first so that children are done before parents.
	for i := len(f.Nodes) - 1; i >= 0; i-- {
		n := f.Nodes[i]
		if n.Assessable {
			continue
		}
		var w weighted
		var walk func(*nodeInfo)
		walk = func(c *nodeInfo) {
			for _, ch := range c.Children {
				if ch.Assessable {
					s := out[ch.URN]
					w.add(s.Status, s.Score, ch.Weight)
				}
				walk(ch)
			}
		}
		walk(n)
		r := w.rollup()
		out[n.URN] = NodeScore{Status: sectionStatus(r), Score: r.Score, Coverage: "", Counts: r.Counts}
	}
	return out, fw.rollup()
}

func projectRequirement(g *graph, links []nodeLink, states map[string]controlState) NodeScore {
	ns := NodeScore{Coverage: "none", Status: StatusNotAssessed}
	var w weighted
	manual := false
	for _, l := range links {
		if l.Coverage == CoverageFull {
			ns.Coverage = CoverageFull
		} else if ns.Coverage == "none" {
			ns.Coverage = CoveragePartial
		}
		st, ok := states[l.SCFURN]
		if !ok {
			continue
		}
		if st.Status == StatusManual {
			manual = true
		}
		weight := 1.0
		if c := g.controls[l.SCFURN]; c != nil {
			weight = c.Weight
		}
		if st.Score != nil {
			w.add(st.Status, st.Score, weight)
		}
	}
	if w.weight > 0 {
		s := w.sum / w.weight
		ns.Score, ns.Status = &s, statusOfScore(s)
	} else if manual {
		ns.Status = StatusManual
	}
	return ns
}

func sectionStatus(r Rollup) string {
	if r.Score != nil {
		return statusOfScore(*r.Score)
	}
	if r.Counts[StatusManual] > 0 {
		return StatusManual
	}
	return StatusNotAssessed
}

// round2 rounds a score for display and storage of rollups.
func round2(p *float64) *float64 {
	if p == nil {
		return nil
	}
	v := math.Round(*p*100) / 100
	return &v
}
