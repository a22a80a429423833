package compliance

import (
	"context"
	"fmt"
	"sort"
	"sync"

	"github.com/offloadsecurity/cspm/internal/compliance/library"
	"github.com/offloadsecurity/cspm/internal/db"
	"github.com/offloadsecurity/cspm/internal/findings"
)

// Every Prowler finding carries Prowler's own map from its check to the
// requirements of the frameworks it tests (unmapped.compliance), which
// also covers frameworks and checks that no loaded Prowler map file names
// (a newer Prowler's checks, KISA ISMS-P, CIS editions). The engine reads
// it once per check, from one finding of the check, and keeps it as the
// entries of one check map ("prowler", "unmapped.compliance"): from then
// on such a check reaches SCF controls as a loaded map's checks do.

// checkComplianceReader is the part of the findings store that reads a
// check's findings' own compliance map.
type checkComplianceReader interface {
	CheckCompliance(ctx context.Context, teamID, tool string, checks []string) (map[string]findings.CheckCompliance, error)
}

// The check map that holds what findings said.
const (
	learnedMapID        = "prowler-unmapped-compliance"
	learnedMapFramework = "unmapped.compliance"
)

// learnedChecks remembers the checks already read, in this process.
type learnedChecks struct {
	mu     sync.Mutex
	loaded bool
	seen   map[string]bool // by tool|check
}

// unread returns the checks of the tool not read yet, loading the set
// from the database the first time.
func (l *learnedChecks) unread(ctx context.Context, q db.Querier, tool string, checks []string) ([]string, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.loaded {
		rows, err := q.QueryContext(ctx, `SELECT tool, check_id FROM compliance_learned_checks`)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		l.seen = map[string]bool{}
		for rows.Next() {
			var t, c string
			if err := rows.Scan(&t, &c); err != nil {
				return nil, err
			}
			l.seen[t+"|"+c] = true
		}
		if err := rows.Err(); err != nil {
			return nil, err
		}
		l.loaded = true
	}
	var out []string
	for _, c := range checks {
		if !l.seen[tool+"|"+c] {
			out = append(out, c)
		}
	}
	return out, nil
}

func (l *learnedChecks) mark(tool string, checks []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, c := range checks {
		l.seen[tool+"|"+c] = true
	}
}

// learnFindingMaps reads the compliance maps of the team's Prowler checks
// that no sync read before, and relinks the content when they named a
// requirement. It returns whether the content changed.
func (s *Service) learnFindingMaps(ctx context.Context, teamID string, checks []string) (bool, error) {
	reader, ok := s.findings.(checkComplianceReader)
	if !ok || len(checks) == 0 {
		return false, nil
	}
	const tool = "prowler"
	unread, err := s.learned.unread(ctx, s.d.Reader(), tool, checks)
	if err != nil || len(unread) == 0 {
		return false, err
	}
	maps, err := reader.CheckCompliance(ctx, teamID, tool, unread)
	if err != nil {
		return false, fmt.Errorf("read the findings' compliance maps: %w", err)
	}
	read := make([]string, 0, len(maps))
	for c := range maps {
		read = append(read, c)
	}
	sort.Strings(read)
	changed := false
	now := s.now().UTC()
	err = s.d.AsSystem(ctx, func(q db.Querier) error {
		if _, err := q.ExecContext(ctx, `INSERT INTO compliance_check_maps (id, tool, framework, family, name, version, provider,
			framework_id, requirement_count, check_count, content_hash, loaded_at, loaded_by)
			VALUES ($1, $2, $3, '', $4, '', '', '', 0, 0, '', $5, 'engine') ON CONFLICT (id) DO NOTHING`,
			learnedMapID, tool, learnedMapFramework, "Prowler's compliance map in its findings", now); err != nil {
			return err
		}
		for _, check := range read {
			entries := learnedEntries(maps[check])
			r, err := q.ExecContext(ctx, `INSERT INTO compliance_learned_checks (tool, check_id, entries, learned_at) VALUES ($1, $2, $3, $4)
				ON CONFLICT (tool, check_id) DO NOTHING`, tool, check, len(entries), now)
			if err != nil {
				return err
			}
			if n, _ := r.RowsAffected(); n == 0 {
				continue // another sync read it meanwhile
			}
			for _, e := range entries {
				if _, err := q.ExecContext(ctx, `INSERT INTO compliance_check_map_entries (map_id, tool, check_id, family, node_key, ref_id)
					VALUES ($1, $2, $3, $4, $5, $6)`, learnedMapID, tool, check, e.family, e.key, e.ref); err != nil {
					return err
				}
				changed = true
			}
		}
		if !changed {
			return nil
		}
		if _, err := q.ExecContext(ctx, `UPDATE compliance_check_maps SET
			requirement_count = (SELECT count(DISTINCT family || '|' || node_key) FROM compliance_check_map_entries WHERE map_id = $1),
			check_count = (SELECT count(DISTINCT check_id) FROM compliance_check_map_entries WHERE map_id = $1), loaded_at = $2
			WHERE id = $1`, learnedMapID, now); err != nil {
			return err
		}
		if err := relink(ctx, q, s.d.Dialect); err != nil {
			return fmt.Errorf("link checks to SCF controls: %w", err)
		}
		_, err := q.ExecContext(ctx, `UPDATE compliance_content_state SET version = version + 1 WHERE id = 1`)
		return err
	})
	if err != nil {
		return false, err
	}
	s.learned.mark(tool, read)
	return changed, nil
}

type learnedEntry struct{ family, key, ref string }

// learnedEntries turns a check's compliance map into check map entries:
// the framework's family from its name and the finding's provider (as a
// Prowler map file's Framework, Version and Provider name it), each
// requirement's key normalized in that family. Frameworks the engine knows
// no family of, and references that are not whole requirements, are left
// out: they could match nothing, or the wrong thing.
func learnedEntries(cc findings.CheckCompliance) []learnedEntry {
	var out []learnedEntry
	seen := map[learnedEntry]bool{}
	names := make([]string, 0, len(cc.Requirements))
	for n := range cc.Requirements {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		fam := library.FamilyOf(name + " " + cc.Provider)
		if fam == "" {
			fam = library.FamilyOf(name)
		}
		if fam == "" {
			continue
		}
		for _, ref := range cc.Requirements[name] {
			key, whole := library.RequirementKey(fam, ref)
			e := learnedEntry{fam, key, ref}
			if !whole || seen[e] {
				continue
			}
			seen[e] = true
			out = append(out, e)
		}
	}
	return out
}
