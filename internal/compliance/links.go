package compliance

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/offloadsecurity/cspm/internal/compliance/library"
	"github.com/offloadsecurity/cspm/internal/db"
)

// A scanner check reaches an SCF control
//
//	(a) through a check map entry (family, key) that an SCF workbook
//	    crosswalk names for the control: crosswalk coverage is full, as SCF
//	    states that its control addresses the requirement;
//	(b) through a check map entry whose (family, key) is a requirement of a
//	    loaded framework that a mapping set relates to an SCF control, in
//	    either direction: equal and superset full, subset and intersect
//	    partial, not_related none;
//	(c) directly when the family is SCF.
//
// SCF controls are one identity across SCF versions (their key, such as
// gov-02), so a link reaches the control of that key in every loaded SCF
// version. A framework requirement maps to SCF controls the same way, from
// its own (family, key) and URN; requirements of an SCF framework map to
// themselves. relink derives both link tables from the content, in the
// importing transaction.

type link struct {
	key      string // SCF key
	coverage string
	via      string
}

type linkSet map[string]link // by SCF key

func (ls linkSet) add(l link) {
	if old, ok := ls[l.key]; ok && (old.coverage == CoverageFull || l.coverage != CoverageFull) {
		return
	}
	ls[l.key] = l
}

func coverageOf(r string) string {
	switch library.Relationship(r) {
	case library.Equal, library.Superset:
		return CoverageFull
	case library.Subset, library.Intersect:
		return CoveragePartial
	}
	return ""
}

type famKey struct{ family, key string }

type contentNode struct {
	urn, framework, family, key string
	assessable                  bool
}

// relink recomputes compliance_check_links and compliance_node_links.
func relink(ctx context.Context, q db.Querier, d db.Dialect) error {
	// Nodes of every framework, with the framework's family.
	rows, err := q.QueryContext(ctx, `SELECT n.urn, n.framework_id, f.family, n.node_key, n.assessable
		FROM compliance_nodes n JOIN compliance_frameworks f ON f.id = n.framework_id`)
	if err != nil {
		return err
	}
	defer rows.Close()
	var nodes []contentNode
	for rows.Next() {
		var n contentNode
		if err := rows.Scan(&n.urn, &n.framework, &n.family, &n.key, &n.assessable); err != nil {
			return err
		}
		nodes = append(nodes, n)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	nodeByURN := map[string]*contentNode{}
	byFamKey := map[famKey][]*contentNode{}
	scfURNsByKey := map[string][]string{}
	for i := range nodes {
		n := &nodes[i]
		nodeByURN[n.urn] = n
		if n.key != "" && n.family != "" {
			byFamKey[famKey{n.family, n.key}] = append(byFamKey[famKey{n.family, n.key}], n)
		}
		if n.family == FamilySCF && n.assessable && n.key != "" {
			scfURNsByKey[n.key] = append(scfURNsByKey[n.key], n.urn)
		}
	}

	// Crosswalks: (family, key) -> SCF keys.
	cw := map[famKey]linkSet{}
	rows, err = q.QueryContext(ctx, `SELECT c.family, c.target_key, n.node_key, c.column_name, f.version
		FROM compliance_crosswalks c JOIN compliance_nodes n ON n.urn = c.scf_urn JOIN compliance_frameworks f ON f.id = c.framework_id
		WHERE c.family <> ''`)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var fk famKey
		var scfKey, column, version string
		if err := rows.Scan(&fk.family, &fk.key, &scfKey, &column, &version); err != nil {
			return err
		}
		if cw[fk] == nil {
			cw[fk] = linkSet{}
		}
		cw[fk].add(link{key: scfKey, coverage: CoverageFull, via: fmt.Sprintf("SCF %s crosswalk %q", version, column)})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}

	// Mapping sets: node URN -> SCF keys, either direction.
	mp := map[string]linkSet{}
	rows, err = q.QueryContext(ctx, `SELECT m.source_urn, m.target_urn, m.relationship, s.ref_id
		FROM compliance_mappings m JOIN compliance_mapping_sets s ON s.id = m.set_id`)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var src, dst, rel, set string
		if err := rows.Scan(&src, &dst, &rel, &set); err != nil {
			return err
		}
		cov := coverageOf(rel)
		if cov == "" {
			continue
		}
		for _, pair := range [][2]string{{src, dst}, {dst, src}} {
			other := nodeByURN[pair[1]]
			if other == nil || other.family != FamilySCF || other.key == "" {
				continue
			}
			if mp[pair[0]] == nil {
				mp[pair[0]] = linkSet{}
			}
			mp[pair[0]].add(link{key: other.key, coverage: cov, via: fmt.Sprintf("mapping set %s (%s)", set, rel)})
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}

	// project gives the SCF keys a (family, key) reaches, through
	// crosswalks and through the mapping sets of nodes with that identity.
	project := func(fk famKey, nodeURNs []string) linkSet {
		out := linkSet{}
		if fk.family == FamilySCF && fk.key != "" {
			out.add(link{key: fk.key, coverage: CoverageFull, via: "SCF control"})
			return out
		}
		for _, l := range cw[fk] {
			out.add(l)
		}
		for _, u := range nodeURNs {
			for _, l := range mp[u] {
				out.add(l)
			}
		}
		return out
	}

	// Node links: every assessable non-SCF requirement. They target the
	// SCF key's control in every SCF version; the engine picks one.
	var nodeRows []any
	for i := range nodes {
		n := &nodes[i]
		if !n.assessable || n.family == FamilySCF {
			continue
		}
		// Its own mappings and those of every requirement with the same
		// identity (Prowler's NIST CSF GV.OC-1 is the library's gv.oc-01).
		urns := []string{n.urn}
		if n.key != "" {
			for _, o := range byFamKey[famKey{n.family, n.key}] {
				if o.urn != n.urn {
					urns = append(urns, o.urn)
				}
			}
		}
		for _, l := range sortedLinks(project(famKey{n.family, n.key}, urns)) {
			for _, scf := range scfURNsByKey[l.key] {
				nodeRows = append(nodeRows, n.urn, scf, l.coverage, l.via)
			}
		}
	}

	// Check links.
	rows, err = q.QueryContext(ctx, `SELECT DISTINCT tool, check_id, family, node_key FROM compliance_check_map_entries WHERE node_key <> ''`)
	if err != nil {
		return err
	}
	defer rows.Close()
	type checkKey struct{ tool, check string }
	checkLinks := map[checkKey]linkSet{}
	var checkOrder []checkKey
	for rows.Next() {
		var ck checkKey
		var fk famKey
		if err := rows.Scan(&ck.tool, &ck.check, &fk.family, &fk.key); err != nil {
			return err
		}
		var urns []string
		for _, n := range byFamKey[fk] {
			urns = append(urns, n.urn)
		}
		if checkLinks[ck] == nil {
			checkLinks[ck] = linkSet{}
			checkOrder = append(checkOrder, ck)
		}
		for _, l := range project(fk, urns) {
			checkLinks[ck].add(l)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	var checkRows []any
	for _, ck := range checkOrder {
		for _, l := range sortedLinks(checkLinks[ck]) {
			for _, scf := range scfURNsByKey[l.key] {
				checkRows = append(checkRows, ck.tool, ck.check, scf, l.coverage, l.via)
			}
		}
	}
	for _, t := range []string{"compliance_check_links", "compliance_node_links"} {
		if _, err := q.ExecContext(ctx, "DELETE FROM "+t); err != nil {
			return err
		}
	}
	if err := db.InsertRows(ctx, q, d, `INSERT INTO compliance_check_links (tool, check_id, scf_urn, coverage, via)`, 5, checkRows, 1000, ""); err != nil {
		return err
	}
	return db.InsertRows(ctx, q, d, `INSERT INTO compliance_node_links (node_urn, scf_urn, coverage, via)`, 4, nodeRows, 1000, "")
}

func sortedLinks(ls linkSet) []link {
	out := make([]link, 0, len(ls))
	for _, l := range ls {
		out = append(out, l)
	}
	sort.Slice(out, func(i, j int) bool { return strings.Compare(out[i].key, out[j].key) < 0 })
	return out
}
