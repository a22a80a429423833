package compliance

import (
	"context"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/offloadsecurity/cspm/internal/db"
)

// graph is the registry's content as the engine and the read API need it,
// loaded once per content version and shared read-only.
type graph struct {
	version    int64
	frameworks []*frameworkInfo
	fwByID     map[string]*frameworkInfo
	nodes      map[string]*nodeInfo // every node, by URN
	// controls are the assessable nodes of SCF frameworks.
	controls map[string]*nodeInfo
	// checkLinks: "tool\x00check" -> the SCF controls it reaches.
	checkLinks map[string][]checkLink
	// controlChecks: SCF control URN -> the checks that reach it.
	controlChecks map[string][]checkLink
	// nodeLinks: requirement URN -> the SCF controls it maps to (after the
	// choice of one SCF version per key, see projectionTargets).
	nodeLinks map[string][]nodeLink
	// primary is the SCF framework the overall and domain scores are of:
	// the highest SCF version loaded.
	primary *frameworkInfo
}

type frameworkInfo struct {
	ID, URN, RefID, Family, Name, Version, Source, Provider, Copyright, Description string
	Nodes                                                                           []*nodeInfo // document order
	NodeCount, AssessableCount, DomainCount                                         int
}

func (f *frameworkInfo) isSCF() bool { return f.Family == FamilySCF }

type nodeInfo struct {
	URN, ParentURN, RefID, Key, Name, Description, Question string
	Framework                                               *frameworkInfo
	Assessable                                              bool
	Depth                                                   int
	Weight                                                  float64 // 1 when the source has none
	Domain                                                  string  // URN of the top-level ancestor
	Children                                                []*nodeInfo
	Extra                                                   string
}

type checkLink struct {
	Tool, Check, SCFURN, Coverage, Via string
}

type nodeLink struct {
	SCFURN, Coverage, Via string
}

func checkKeyOf(tool, check string) string { return tool + "\x00" + check }

// graphCache holds the graph of the current content version.
type graphCache struct {
	mu sync.Mutex
	g  *graph
}

// peek returns the graph last loaded, or nil.
func (c *graphCache) peek() *graph {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.g
}

func (c *graphCache) get(ctx context.Context, d *db.DB) (*graph, error) {
	var version int64
	if err := d.Reader().QueryRowContext(ctx, `SELECT version FROM compliance_content_state WHERE id = 1`).Scan(&version); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.g != nil && c.g.version == version {
		return c.g, nil
	}
	g, err := loadGraph(ctx, d.Reader(), version)
	if err != nil {
		return nil, err
	}
	c.g = g
	return g, nil
}

func loadGraph(ctx context.Context, q db.Querier, version int64) (*graph, error) {
	g := &graph{version: version, fwByID: map[string]*frameworkInfo{}, nodes: map[string]*nodeInfo{}, controls: map[string]*nodeInfo{},
		checkLinks: map[string][]checkLink{}, controlChecks: map[string][]checkLink{}, nodeLinks: map[string][]nodeLink{}}
	rows, err := q.QueryContext(ctx, `SELECT id, urn, ref_id, family, name, version, source, provider, copyright, description,
		node_count, assessable_count, domain_count FROM compliance_frameworks ORDER BY name, version`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		f := &frameworkInfo{}
		if err := rows.Scan(&f.ID, &f.URN, &f.RefID, &f.Family, &f.Name, &f.Version, &f.Source, &f.Provider, &f.Copyright,
			&f.Description, &f.NodeCount, &f.AssessableCount, &f.DomainCount); err != nil {
			return nil, err
		}
		g.frameworks = append(g.frameworks, f)
		g.fwByID[f.ID] = f
		if f.isSCF() && (g.primary == nil || versionLess(g.primary.Version, f.Version)) {
			g.primary = f
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows, err = q.QueryContext(ctx, `SELECT urn, framework_id, parent_urn, ref_id, node_key, name, description, question, assessable,
		depth, weight, extra FROM compliance_nodes ORDER BY framework_id, ord`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		n := &nodeInfo{}
		var fw string
		if err := rows.Scan(&n.URN, &fw, &n.ParentURN, &n.RefID, &n.Key, &n.Name, &n.Description, &n.Question, &n.Assessable,
			&n.Depth, &n.Weight, &n.Extra); err != nil {
			return nil, err
		}
		if n.Weight <= 0 {
			n.Weight = 1
		}
		n.Framework = g.fwByID[fw]
		if n.Framework == nil {
			continue
		}
		n.Framework.Nodes = append(n.Framework.Nodes, n)
		g.nodes[n.URN] = n
		if n.Framework.isSCF() && n.Assessable {
			g.controls[n.URN] = n
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, f := range g.frameworks {
		for _, n := range f.Nodes {
			if p := g.nodes[n.ParentURN]; p != nil {
				p.Children = append(p.Children, n)
			}
		}
		for _, n := range f.Nodes {
			top := n
			for i := 0; i < 64 && top.ParentURN != ""; i++ {
				p := g.nodes[top.ParentURN]
				if p == nil {
					break
				}
				top = p
			}
			n.Domain = top.URN
		}
	}
	rows, err = q.QueryContext(ctx, `SELECT tool, check_id, scf_urn, coverage, via FROM compliance_check_links`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var l checkLink
		if err := rows.Scan(&l.Tool, &l.Check, &l.SCFURN, &l.Coverage, &l.Via); err != nil {
			return nil, err
		}
		k := checkKeyOf(l.Tool, l.Check)
		g.checkLinks[k] = append(g.checkLinks[k], l)
		g.controlChecks[l.SCFURN] = append(g.controlChecks[l.SCFURN], l)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows, err = q.QueryContext(ctx, `SELECT node_urn, scf_urn, coverage, via FROM compliance_node_links`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	all := map[string][]nodeLink{}
	for rows.Next() {
		var u string
		var l nodeLink
		if err := rows.Scan(&u, &l.SCFURN, &l.Coverage, &l.Via); err != nil {
			return nil, err
		}
		all[u] = append(all[u], l)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for u, links := range all {
		g.nodeLinks[u] = g.projectionTargets(links)
	}
	for _, cl := range g.controlChecks {
		sort.Slice(cl, func(i, j int) bool { return cl[i].Check < cl[j].Check })
	}
	return g, nil
}

// projectionTargets keeps one SCF control per SCF key: the primary
// version's, else the highest other version's, so that a requirement is not
// averaged over the same control twice.
func (g *graph) projectionTargets(links []nodeLink) []nodeLink {
	best := map[string]nodeLink{}
	var order []string
	for _, l := range links {
		c := g.controls[l.SCFURN]
		if c == nil {
			continue
		}
		old, ok := best[c.Key]
		if !ok {
			order = append(order, c.Key)
			best[c.Key] = l
			continue
		}
		oc := g.controls[old.SCFURN]
		if oc.Framework != g.primary && (c.Framework == g.primary || versionLess(oc.Framework.Version, c.Framework.Version)) {
			best[c.Key] = l
		}
	}
	sort.Strings(order)
	out := make([]nodeLink, 0, len(order))
	for _, k := range order {
		out = append(out, best[k])
	}
	return out
}

// versionLess compares dotted versions numerically where both parts are
// numbers ("2022.2.1" < "2025.2.2", "2.10" > "2.9").
func versionLess(a, b string) bool {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(as) && i < len(bs); i++ {
		ai, aerr := strconv.Atoi(as[i])
		bi, berr := strconv.Atoi(bs[i])
		if aerr == nil && berr == nil {
			if ai != bi {
				return ai < bi
			}
			continue
		}
		if as[i] != bs[i] {
			return as[i] < bs[i]
		}
	}
	return len(as) < len(bs)
}
