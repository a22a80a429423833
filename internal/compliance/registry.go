package compliance

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/offloadsecurity/cspm/internal/audit"
	"github.com/offloadsecurity/cspm/internal/compliance/library"
	"github.com/offloadsecurity/cspm/internal/db"
	"github.com/offloadsecurity/cspm/internal/id"
)

// Kinds of imported content.
const (
	KindFramework  = "framework"
	KindMappingSet = "mapping_set"
	KindSCF        = "scf"
	KindCheckMap   = "check_map"
)

// MaxContentBytes bounds one content file: the SCF workbook is about 3 MB,
// the largest library YAML a few MB.
const MaxContentBytes = 64 << 20

// ContentImportResult is what one imported file loaded; a library file may hold
// several objects, each reported in Items.
type ContentImportResult struct {
	Items []ImportItem `json:"items"`
	// ContentVersion is the registry's content version after the import.
	ContentVersion int64 `json:"content_version"`
}

// ImportItem is one framework, mapping set, SCF workbook or check map.
type ImportItem struct {
	Kind            string `json:"kind" enum:"framework,mapping_set,scf,check_map"`
	Outcome         string `json:"outcome" enum:"created,updated,unchanged" doc:"unchanged: the same content was already loaded."`
	ID              string `json:"id" doc:"Framework or mapping set ID."`
	URN             string `json:"urn"`
	Name            string `json:"name"`
	Version         string `json:"version"`
	Family          string `json:"family,omitempty"`
	Nodes           int    `json:"nodes" doc:"Requirement nodes (SCF: domains and controls)."`
	Assessable      int    `json:"assessable" doc:"Nodes that get a status: requirements, controls."`
	Domains         int    `json:"domains" doc:"Top-level nodes: SCF domains, framework functions or sections."`
	Mappings        int    `json:"mappings" doc:"Mapping-set relationships, SCF crosswalk entries, or check-to-requirement links."`
	Crosswalks      int    `json:"crosswalks,omitempty" doc:"SCF: crosswalk columns with entries."`
	Checks          int    `json:"checks,omitempty" doc:"Check map: distinct checks."`
	Sheet           string `json:"sheet,omitempty"`
	PreviousVersion string `json:"previous_version,omitempty" doc:"SCF: the version this one was compared with."`
	Diff            *Diff  `json:"diff,omitempty"`
}

// Diff is how an SCF version differs from the previous one, by control reference.
type Diff struct {
	Added   []string `json:"added"`
	Removed []string `json:"removed"`
	Changed []string `json:"changed" doc:"Controls whose name, description, question or weight changed."`
}

var (
	zipMagic  = []byte("PK\x03\x04")
	objectsRE = regexp.MustCompile(`(?m)^objects:`)
)

// ImportFile reads one content file, detecting what it is from its bytes:
// an .xlsx workbook (a zip) is the SCF workbook, YAML with a top-level
// objects: key a framework library, JSON with Requirements a Prowler
// compliance map. The whole import is one transaction.
func (s *Service) ImportFile(ctx context.Context, r io.Reader, actor audit.Event) (ContentImportResult, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxContentBytes+1))
	if err != nil {
		return ContentImportResult{}, err
	}
	if len(data) > MaxContentBytes {
		return ContentImportResult{}, fmt.Errorf("%w: larger than %d MiB", ErrBadContent, MaxContentBytes>>20)
	}
	trimmed := bytes.TrimSpace(data)
	switch {
	case bytes.HasPrefix(data, zipMagic):
		return s.ImportSCF(ctx, bytes.NewReader(data), actor)
	case len(trimmed) > 0 && trimmed[0] == '{' && bytes.Contains(data, []byte(`"Requirements"`)):
		return s.ImportProwlerCompliance(ctx, bytes.NewReader(data), actor)
	case objectsRE.Match(data):
		return s.ImportLibrary(ctx, bytes.NewReader(data), actor)
	}
	return ContentImportResult{}, fmt.Errorf("%w: expected an SCF workbook (.xlsx), a framework library (YAML with objects:) or a Prowler compliance map (JSON with Requirements)", ErrBadContent)
}

// ImportSCF loads the official SCF workbook: its controls as a framework and
// its crosswalk columns. A version already loaded with the same content is
// unchanged; another version lands beside it, with a diff against the
// newest SCF version loaded before.
func (s *Service) ImportSCF(ctx context.Context, r io.Reader, actor audit.Event) (ContentImportResult, error) {
	wb, err := library.ParseSCFWorkbook(r)
	if err != nil {
		return ContentImportResult{}, fmt.Errorf("%w: %w", ErrBadContent, err)
	}
	return s.importContent(ctx, actor, "compliance.scf_imported", func(tx *registryTx) ([]ImportItem, error) {
		item, err := tx.putFramework(&wb.Framework, "", wb.Crosswalks)
		if err != nil {
			return nil, err
		}
		item.Kind, item.Sheet = KindSCF, wb.Sheet
		return []ImportItem{item}, nil
	})
}

// ImportLibrary loads an open framework-library YAML file: its frameworks
// and mapping sets. A mapping set whose source or target framework is not
// loaded (nor in the same file) is refused, naming the library to load.
func (s *Service) ImportLibrary(ctx context.Context, r io.Reader, actor audit.Event) (ContentImportResult, error) {
	lib, err := library.ParseLibrary(r)
	if err != nil {
		return ContentImportResult{}, fmt.Errorf("%w: %w", ErrBadContent, err)
	}
	if len(lib.Frameworks) == 0 && len(lib.MappingSets) == 0 {
		return ContentImportResult{}, fmt.Errorf("%w: library %s holds no framework and no mapping set", ErrBadContent, lib.URN)
	}
	return s.importContent(ctx, actor, "compliance.library_imported", func(tx *registryTx) ([]ImportItem, error) {
		var items []ImportItem
		for i := range lib.Frameworks {
			item, err := tx.putFramework(&lib.Frameworks[i], lib.URN, nil)
			if err != nil {
				return nil, err
			}
			items = append(items, item)
		}
		for i := range lib.MappingSets {
			item, err := tx.putMappingSet(&lib.MappingSets[i], lib)
			if err != nil {
				return nil, err
			}
			items = append(items, item)
		}
		return items, nil
	})
}

// ImportProwlerCompliance loads a Prowler compliance map (check ->
// requirement) and stores its requirements as a framework of source
// "prowler", so that frameworks no library describes (CIS, SOC 2) can be
// shown too.
func (s *Service) ImportProwlerCompliance(ctx context.Context, r io.Reader, actor audit.Event) (ContentImportResult, error) {
	cm, err := library.ParseProwlerCompliance(r)
	if err != nil {
		return ContentImportResult{}, fmt.Errorf("%w: %w", ErrBadContent, err)
	}
	return s.importContent(ctx, actor, "compliance.check_map_imported", func(tx *registryTx) ([]ImportItem, error) {
		item, err := tx.putCheckMap(cm)
		if err != nil {
			return nil, err
		}
		return []ImportItem{item}, nil
	})
}

// importContent runs fn in one transaction, derives the links again when
// anything changed, and audits what was loaded.
func (s *Service) importContent(ctx context.Context, actor audit.Event, action string, fn func(tx *registryTx) ([]ImportItem, error)) (ContentImportResult, error) {
	var res ContentImportResult
	err := s.d.AsSystem(ctx, func(q db.Querier) error {
		tx := &registryTx{ctx: ctx, q: q, dialect: s.d.Dialect, now: s.now().UTC(), actor: actor.ActorEmail}
		items, err := fn(tx)
		if err != nil {
			return err
		}
		res.Items = items
		changed := false
		for _, it := range items {
			changed = changed || it.Outcome != "unchanged"
		}
		if changed {
			if err := relink(ctx, q, s.d.Dialect); err != nil {
				return fmt.Errorf("link checks to SCF controls: %w", err)
			}
			if _, err := q.ExecContext(ctx, `UPDATE compliance_content_state SET version = version + 1 WHERE id = 1`); err != nil {
				return err
			}
		}
		return q.QueryRowContext(ctx, `SELECT version FROM compliance_content_state WHERE id = 1`).Scan(&res.ContentVersion)
	})
	if err != nil {
		return ContentImportResult{}, err
	}
	for _, it := range res.Items {
		s.record(ctx, actor, action, it.Kind, it.URN, map[string]any{"outcome": it.Outcome, "version": it.Version,
			"nodes": it.Nodes, "mappings": it.Mappings})
	}
	return res, nil
}

// registryTx writes content in one transaction.
type registryTx struct {
	ctx     context.Context
	q       db.Querier
	dialect db.Dialect
	now     time.Time
	actor   string
}

func contentHash(v any) string {
	b, _ := json.Marshal(v)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// frameworkCounts returns nodes, assessable nodes and top-level nodes.
func frameworkCounts(f *library.Framework) (nodes, assessable, domains int) {
	for i := range f.Nodes {
		if f.Nodes[i].Assessable {
			assessable++
		}
		if f.Nodes[i].ParentURN == "" {
			domains++
		}
	}
	return len(f.Nodes), assessable, domains
}

// putFramework stores f (replacing a framework of the same URN whose content
// differs) and, for the SCF workbook, its crosswalks.
func (t *registryTx) putFramework(f *library.Framework, libraryURN string, crosswalks []library.Crosswalk) (ImportItem, error) {
	if f.URN == "" {
		return ImportItem{}, fmt.Errorf("%w: a framework without a URN", ErrBadContent)
	}
	hash := contentHash(struct {
		F *library.Framework
		C []library.Crosswalk
	}{f, crosswalks})
	n, assessable, domains := frameworkCounts(f)
	item := ImportItem{Kind: KindFramework, URN: f.URN, Name: f.Name, Version: f.Version, Family: f.Family, Nodes: n,
		Assessable: assessable, Domains: domains}
	for _, c := range crosswalks {
		item.Mappings += len(c.Entries)
		item.Crosswalks++
	}
	var oldID, oldHash string
	err := t.q.QueryRowContext(t.ctx, `SELECT id, content_hash FROM compliance_frameworks WHERE urn = $1`, f.URN).Scan(&oldID, &oldHash)
	switch {
	case err == nil && oldHash == hash:
		item.ID, item.Outcome = oldID, "unchanged"
		return item, nil
	case err == nil:
		item.Outcome = "updated"
	case errors.Is(err, sql.ErrNoRows):
		item.Outcome = "created"
	default:
		return item, err
	}
	if f.Family == FamilySCF {
		prev, diff, err := t.scfDiff(f, oldID)
		if err != nil {
			return item, err
		}
		item.PreviousVersion, item.Diff = prev, diff
	}
	if oldID != "" {
		if _, err := t.q.ExecContext(t.ctx, `DELETE FROM compliance_frameworks WHERE id = $1`, oldID); err != nil {
			return item, err
		}
	}
	item.ID = id.New()
	if _, err := t.q.ExecContext(t.ctx, `INSERT INTO compliance_frameworks (id, urn, ref_id, family, name, version, source,
		provider, copyright, description, library_urn, node_count, assessable_count, domain_count, content_hash, loaded_at, loaded_by)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17)`,
		item.ID, f.URN, f.RefID, f.Family, f.Name, f.Version, f.Source, f.Provider, f.Copyright, f.Description, libraryURN,
		n, assessable, domains, hash, t.now, t.actor); err != nil {
		return item, db.MapError(err)
	}
	if err := t.insertNodes(item.ID, f.Nodes); err != nil {
		return item, err
	}
	if len(crosswalks) > 0 {
		scfByRef := map[string]string{}
		for i := range f.Nodes {
			if f.Nodes[i].RefID != "" {
				scfByRef[strings.ToUpper(f.Nodes[i].RefID)] = f.Nodes[i].URN
			}
		}
		var rows []any
		for _, c := range crosswalks {
			for _, e := range c.Entries {
				urn := scfByRef[strings.ToUpper(e.SCFRefID)]
				if urn == "" || e.TargetKey == "" {
					continue
				}
				rows = append(rows, item.ID, c.Column, c.Family, c.Name, urn, e.TargetRef, e.TargetKey)
			}
		}
		if err := db.InsertRows(t.ctx, t.q, t.dialect, `INSERT INTO compliance_crosswalks (framework_id, column_name, family,
			target_name, scf_urn, target_ref, target_key)`, 7, rows, 1000, ""); err != nil {
			return item, fmt.Errorf("crosswalks: %w", err)
		}
	}
	return item, nil
}

func (t *registryTx) insertNodes(frameworkID string, nodes []library.Node) error {
	rows := make([]any, 0, len(nodes)*13)
	for i := range nodes {
		nd := &nodes[i]
		extra := map[string]any{}
		for k, v := range nd.Extra {
			extra[k] = v
		}
		if len(nd.ImplementationGroups) > 0 {
			extra["implementation_groups"] = nd.ImplementationGroups
		}
		xb, _ := json.Marshal(extra)
		rows = append(rows, nd.URN, frameworkID, nd.ParentURN, nd.RefID, nd.Key, nd.Name, nd.Description, nd.Question,
			nd.Assessable, nd.Depth, i, nd.Weight, string(xb))
	}
	if err := db.InsertRows(t.ctx, t.q, t.dialect, `INSERT INTO compliance_nodes (urn, framework_id, parent_urn, ref_id, node_key,
		name, description, question, assessable, depth, ord, weight, extra)`, 13, rows, 500, ""); err != nil {
		if errors.Is(db.MapError(err), db.ErrConflict) {
			return fmt.Errorf("%w: a requirement URN is already loaded by another framework: %w", ErrBadContent, err)
		}
		return fmt.Errorf("requirement nodes: %w", err)
	}
	return nil
}

type scfControl struct {
	name, description, question string
	weight                      float64
}

// scfDiff compares f's controls with the SCF framework loaded before it:
// the same URN's old content when it is being replaced, else the newest
// other SCF version.
func (t *registryTx) scfDiff(f *library.Framework, oldID string) (string, *Diff, error) {
	prevID, prevVersion := oldID, ""
	if prevID != "" {
		if err := t.q.QueryRowContext(t.ctx, `SELECT version FROM compliance_frameworks WHERE id = $1`, prevID).Scan(&prevVersion); err != nil {
			return "", nil, err
		}
	} else {
		err := t.q.QueryRowContext(t.ctx, `SELECT id, version FROM compliance_frameworks WHERE family = $1 AND urn <> $2
			ORDER BY loaded_at DESC LIMIT 1`, FamilySCF, f.URN).Scan(&prevID, &prevVersion)
		if errors.Is(err, sql.ErrNoRows) {
			return "", nil, nil
		}
		if err != nil {
			return "", nil, err
		}
	}
	rows, err := t.q.QueryContext(t.ctx, `SELECT ref_id, name, description, question, weight FROM compliance_nodes
		WHERE framework_id = $1 AND assessable`, prevID)
	if err != nil {
		return "", nil, err
	}
	defer rows.Close()
	old := map[string]scfControl{}
	for rows.Next() {
		var ref string
		var c scfControl
		if err := rows.Scan(&ref, &c.name, &c.description, &c.question, &c.weight); err != nil {
			return "", nil, err
		}
		old[strings.ToUpper(ref)] = c
	}
	if err := rows.Err(); err != nil {
		return "", nil, err
	}
	d := &Diff{Added: []string{}, Removed: []string{}, Changed: []string{}}
	seen := map[string]bool{}
	for i := range f.Nodes {
		nd := &f.Nodes[i]
		if !nd.Assessable {
			continue
		}
		ref := strings.ToUpper(nd.RefID)
		seen[ref] = true
		o, ok := old[ref]
		switch {
		case !ok:
			d.Added = append(d.Added, nd.RefID)
		case o.name != nd.Name || o.description != nd.Description || o.question != nd.Question || o.weight != nd.Weight:
			d.Changed = append(d.Changed, nd.RefID)
		}
	}
	for ref := range old {
		if !seen[ref] {
			d.Removed = append(d.Removed, ref)
		}
	}
	sort.Strings(d.Removed)
	return prevVersion, d, nil
}

// putMappingSet stores m once both its frameworks are loaded.
func (t *registryTx) putMappingSet(m *library.MappingSet, lib *library.Library) (ImportItem, error) {
	item := ImportItem{Kind: KindMappingSet, URN: m.URN, Name: m.Name, Version: m.Version, Mappings: len(m.Mappings)}
	for _, fw := range []string{m.SourceFrameworkURN, m.TargetFrameworkURN} {
		var n int
		if err := t.q.QueryRowContext(t.ctx, `SELECT COUNT(*) FROM compliance_frameworks WHERE urn = $1`, fw).Scan(&n); err != nil {
			return item, err
		}
		if n == 0 {
			return item, fmt.Errorf("%w: mapping set %s needs framework %s: load library %s first", ErrMissingDependency,
				m.URN, fw, libraryFor(fw, append(m.Dependencies, lib.Dependencies...)))
		}
	}
	hash := contentHash(m)
	var oldID, oldHash string
	err := t.q.QueryRowContext(t.ctx, `SELECT id, content_hash FROM compliance_mapping_sets WHERE urn = $1`, m.URN).Scan(&oldID, &oldHash)
	switch {
	case err == nil && oldHash == hash:
		item.ID, item.Outcome = oldID, "unchanged"
		return item, nil
	case err == nil:
		item.Outcome = "updated"
		if _, err := t.q.ExecContext(t.ctx, `DELETE FROM compliance_mapping_sets WHERE id = $1`, oldID); err != nil {
			return item, err
		}
	case errors.Is(err, sql.ErrNoRows):
		item.Outcome = "created"
	default:
		return item, err
	}
	item.ID = id.New()
	if _, err := t.q.ExecContext(t.ctx, `INSERT INTO compliance_mapping_sets (id, urn, ref_id, name, version, source, copyright,
		library_urn, source_framework_urn, target_framework_urn, mapping_count, content_hash, loaded_at, loaded_by)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14)`, item.ID, m.URN, m.RefID, m.Name, m.Version, m.Source, m.Copyright,
		lib.URN, m.SourceFrameworkURN, m.TargetFrameworkURN, len(m.Mappings), hash, t.now, t.actor); err != nil {
		return item, db.MapError(err)
	}
	rows := make([]any, 0, len(m.Mappings)*5)
	for _, mp := range m.Mappings {
		rows = append(rows, item.ID, mp.SourceURN, mp.TargetURN, string(mp.Relationship), mp.Strength)
	}
	if err := db.InsertRows(t.ctx, t.q, t.dialect, `INSERT INTO compliance_mappings (set_id, source_urn, target_urn, relationship, strength)`,
		5, rows, 1000, ""); err != nil {
		return item, fmt.Errorf("mappings: %w", err)
	}
	return item, nil
}

// libraryFor names the library that provides framework urn: the dependency
// whose last URN segment is the framework's, else every dependency.
func libraryFor(frameworkURN string, deps []string) string {
	last := frameworkURN[strings.LastIndex(frameworkURN, ":")+1:]
	for _, d := range deps {
		if strings.HasSuffix(d, ":"+last) {
			return d
		}
	}
	if len(deps) > 0 {
		return strings.Join(deps, " or ")
	}
	return "the library that defines " + frameworkURN
}

// checkMapFrameworkURN names the framework a Prowler check map's
// requirements are stored as.
func checkMapFrameworkURN(cm *library.CheckMap) string {
	slug := func(s string) string {
		return strings.Trim(strings.Map(func(r rune) rune {
			switch {
			case r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.':
				return r
			case r >= 'A' && r <= 'Z':
				return r + 'a' - 'A'
			}
			return '-'
		}, s), "-")
	}
	return "urn:" + slug(cm.Tool) + ":framework:" + slug(cm.Framework) + "-" + slug(cm.Version) + "-" + slug(cm.Provider)
}

// putCheckMap stores a check map, its entries, and its requirements as a framework.
func (t *registryTx) putCheckMap(cm *library.CheckMap) (ImportItem, error) {
	urn := checkMapFrameworkURN(cm)
	fw := library.Framework{URN: urn, RefID: cm.Framework, Family: cm.Family, Name: cm.Name, Version: cm.Version,
		Source: cm.Tool, Provider: cm.Provider}
	if fw.Name == "" {
		fw.Name = cm.Framework
	}
	if cm.Provider != "" && !strings.Contains(strings.ToLower(fw.Name), strings.ToLower(cm.Provider)) {
		fw.Name += " (" + cm.Provider + ")"
	}
	// Sections become the top-level nodes, in order of first appearance.
	seenNode := map[string]bool{}
	sections := map[string]string{}
	var order []string
	bySection := map[string][]library.Node{}
	entries := 0
	for i, rq := range cm.Requirements {
		if _, ok := sections[rq.Section]; !ok && rq.Section != "" {
			sections[rq.Section] = fmt.Sprintf("%s:section-%d", urn, len(sections)+1)
			order = append(order, rq.Section)
		}
		nodeURN := fmt.Sprintf("%s:%s", urn, strings.ToLower(rq.RefID))
		if seenNode[nodeURN] || rq.RefID == "" {
			nodeURN = fmt.Sprintf("%s:req-%d", urn, i+1)
		}
		seenNode[nodeURN] = true
		depth := 1
		if rq.Section != "" {
			depth = 2
		}
		bySection[rq.Section] = append(bySection[rq.Section], library.Node{URN: nodeURN, ParentURN: sections[rq.Section],
			RefID: rq.RefID, Key: rq.Key, Name: rq.Name, Description: rq.Description, Assessable: true, Depth: depth})
		entries += len(rq.Checks)
	}
	fw.Nodes = append(fw.Nodes, bySection[""]...)
	for _, sec := range order {
		fw.Nodes = append(fw.Nodes, library.Node{URN: sections[sec], Name: sec, Depth: 1})
		fw.Nodes = append(fw.Nodes, bySection[sec]...)
	}
	var item ImportItem
	if cm.Family == FamilySCF {
		// Checks mapped to SCF controls directly: the SCF is the framework.
		n, a, d := frameworkCounts(&fw)
		item = ImportItem{URN: urn, Name: fw.Name, Version: cm.Version, Family: cm.Family, Nodes: n, Assessable: a, Domains: d,
			Outcome: "unchanged"}
	} else {
		var err error
		if item, err = t.putFramework(&fw, "", nil); err != nil {
			return item, err
		}
	}
	item.Kind, item.Mappings, item.Checks = KindCheckMap, entries, cm.TotalChecks
	hash := contentHash(cm)
	var oldID, oldHash string
	err := t.q.QueryRowContext(t.ctx, `SELECT id, content_hash FROM compliance_check_maps WHERE tool = $1 AND framework = $2
		AND version = $3 AND provider = $4`, cm.Tool, cm.Framework, cm.Version, cm.Provider).Scan(&oldID, &oldHash)
	switch {
	case err == nil && oldHash == hash:
		item.Outcome = "unchanged"
		return item, nil
	case err == nil:
		item.Outcome = "updated"
		if _, err := t.q.ExecContext(t.ctx, `DELETE FROM compliance_check_maps WHERE id = $1`, oldID); err != nil {
			return item, err
		}
	case errors.Is(err, sql.ErrNoRows):
		if item.Outcome == "unchanged" {
			item.Outcome = "created"
		}
	default:
		return item, err
	}
	mapID := id.New()
	if _, err := t.q.ExecContext(t.ctx, `INSERT INTO compliance_check_maps (id, tool, framework, family, name, version, provider,
		framework_id, requirement_count, check_count, content_hash, loaded_at, loaded_by) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13)`,
		mapID, cm.Tool, cm.Framework, cm.Family, cm.Name, cm.Version, cm.Provider, item.ID, len(cm.Requirements), cm.TotalChecks,
		hash, t.now, t.actor); err != nil {
		return item, db.MapError(err)
	}
	rows := make([]any, 0, entries*6)
	for _, rq := range cm.Requirements {
		for _, c := range rq.Checks {
			rows = append(rows, mapID, cm.Tool, c, cm.Family, rq.Key, rq.RefID)
		}
	}
	if err := db.InsertRows(t.ctx, t.q, t.dialect, `INSERT INTO compliance_check_map_entries (map_id, tool, check_id, family, node_key, ref_id)`,
		6, rows, 1000, ""); err != nil {
		return item, fmt.Errorf("check map entries: %w", err)
	}
	return item, nil
}
