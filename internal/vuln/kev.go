package vuln

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/offloadsecurity/cspm/internal/audit"
	"github.com/offloadsecurity/cspm/internal/db"
	"github.com/offloadsecurity/cspm/internal/listcache"
)

// DefaultKEVURL is CISA's feed of the Known Exploited Vulnerabilities catalog.
const DefaultKEVURL = "https://www.cisa.gov/sites/default/files/feeds/known_exploited_vulnerabilities.json"

// maxKEVBytes bounds a download: the catalog is about 1.5 MB in 2026.
const maxKEVBytes = 64 << 20

// KEVCatalog is CISA's document.
type KEVCatalog struct {
	Title           string     `json:"title"`
	CatalogVersion  string     `json:"catalogVersion"`
	DateReleased    string     `json:"dateReleased"`
	Count           *int       `json:"count"`
	Vulnerabilities []KEVEntry `json:"vulnerabilities"`
}

// KEVEntry is one known exploited vulnerability. The last three fields are
// missing from older catalogs.
type KEVEntry struct {
	CVEID             string   `json:"cveID"`
	VendorProject     string   `json:"vendorProject"`
	Product           string   `json:"product"`
	VulnerabilityName string   `json:"vulnerabilityName"`
	DateAdded         string   `json:"dateAdded"`
	ShortDescription  string   `json:"shortDescription"`
	RequiredAction    string   `json:"requiredAction"`
	DueDate           string   `json:"dueDate"`
	Ransomware        string   `json:"knownRansomwareCampaignUse,omitempty"`
	Notes             string   `json:"notes,omitempty"`
	CWEs              []string `json:"cwes,omitempty"`
}

var (
	cvePattern = regexp.MustCompile(`^CVE-[0-9]{4}-[0-9]{4,19}$`)
	cwePattern = regexp.MustCompile(`^CWE-[0-9]+$`)
)

// ParseKEV reads and validates a catalog against CISA's schema: the
// required fields, CVE and date formats, no duplicate CVE, and a count that
// matches the entries. Anything else (an HTML error page, a truncated
// download) is an error that names what is wrong.
func ParseKEV(data []byte) (*KEVCatalog, error) {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 {
		return nil, errors.New("KEV catalog: empty document")
	}
	if trimmed[0] != '{' {
		return nil, fmt.Errorf("KEV catalog: not a JSON object (starts with %q)", snippet(trimmed))
	}
	var c KEVCatalog
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	if err := dec.Decode(&c); err != nil {
		var syn *json.SyntaxError
		if errors.As(err, &syn) {
			return nil, fmt.Errorf("KEV catalog: invalid JSON at offset %d: %w", syn.Offset, err)
		}
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, fmt.Errorf("KEV catalog: truncated document (%d bytes)", len(trimmed))
		}
		return nil, fmt.Errorf("KEV catalog: %w", err)
	}
	switch {
	case c.CatalogVersion == "":
		return nil, errors.New("KEV catalog: catalogVersion is missing")
	case c.DateReleased == "":
		return nil, errors.New("KEV catalog: dateReleased is missing")
	case c.Count == nil:
		return nil, errors.New("KEV catalog: count is missing")
	case c.Vulnerabilities == nil:
		return nil, errors.New("KEV catalog: vulnerabilities is missing")
	case *c.Count != len(c.Vulnerabilities):
		return nil, fmt.Errorf("KEV catalog: count says %d entries, the document holds %d", *c.Count, len(c.Vulnerabilities))
	}
	if _, err := time.Parse(time.RFC3339, c.DateReleased); err != nil {
		return nil, fmt.Errorf("KEV catalog: dateReleased %q is not a date-time", c.DateReleased)
	}
	seen := make(map[string]bool, len(c.Vulnerabilities))
	for i := range c.Vulnerabilities {
		e := &c.Vulnerabilities[i]
		if err := e.validate(); err != nil {
			return nil, fmt.Errorf("KEV catalog: entry %d: %w", i+1, err)
		}
		if seen[e.CVEID] {
			return nil, fmt.Errorf("KEV catalog: entry %d: %s is listed twice", i+1, e.CVEID)
		}
		seen[e.CVEID] = true
	}
	return &c, nil
}

func (e *KEVEntry) validate() error {
	if !cvePattern.MatchString(e.CVEID) {
		return fmt.Errorf("cveID %q is not a CVE ID", e.CVEID)
	}
	for name, v := range map[string]string{"vendorProject": e.VendorProject, "product": e.Product,
		"vulnerabilityName": e.VulnerabilityName, "shortDescription": e.ShortDescription, "requiredAction": e.RequiredAction} {
		if v == "" {
			return fmt.Errorf("%s: %s is missing", e.CVEID, name)
		}
	}
	for name, v := range map[string]string{"dateAdded": e.DateAdded, "dueDate": e.DueDate} {
		if _, err := time.Parse(time.DateOnly, v); err != nil {
			return fmt.Errorf("%s: %s %q is not a YYYY-MM-DD date", e.CVEID, name, v)
		}
	}
	for _, cwe := range e.CWEs {
		if !cwePattern.MatchString(cwe) {
			return fmt.Errorf("%s: %q is not a CWE ID", e.CVEID, cwe)
		}
	}
	return nil
}

func snippet(b []byte) string {
	if len(b) > 40 {
		b = b[:40]
	}
	return string(b)
}

// KEVStatus is what the last sync did.
type KEVStatus struct {
	CatalogVersion string     `json:"catalog_version"`
	DateReleased   string     `json:"date_released"`
	Count          int        `json:"count"`
	Source         string     `json:"source"`
	LastSync       *time.Time `json:"last_sync" doc:"When a catalog last validated and was stored; null if never."`
	LastAttempt    *time.Time `json:"last_attempt"`
	LastError      string     `json:"last_error" doc:"Why the last attempt failed; empty when it succeeded."`
}

// KEVSyncResult says what one sync changed.
type KEVSyncResult struct {
	CatalogVersion string   `json:"catalog_version"`
	Count          int      `json:"count"`
	Added          []string `json:"added"`
	Removed        []string `json:"removed"`
	Updated        []string `json:"updated" doc:"Entries whose due date, ransomware use or other fields changed."`
	Enriched       int      `json:"enriched" doc:"Catalog entries whose KEV state was set or first checked."`
	Rescored       int64    `json:"rescored" doc:"Occurrences whose risk score and priority were recomputed."`
}

// KEVSource is where a sync reads the catalog: a URL or a file.
type KEVSource struct {
	URL  string
	File string
	// Upload is a catalog file sent through the API (an offline install's
	// copy), named UploadName; at most maxKEVBytes.
	Upload     []byte
	UploadName string
	// Force accepts a catalog that would remove more than MaxKEVShrink of
	// the stored entries.
	Force bool
}

// MaxKEVShrink is the share of stored entries a sync may remove unless
// forced. CISA removes a handful a year; an empty but well-formed catalog,
// or a mirror's truncated copy, would otherwise wipe every KEV flag and
// drop every KEV vulnerability's priority at once.
const MaxKEVShrink = 0.10

// ErrKEVShrink means the catalog would remove too many entries.
var ErrKEVShrink = errors.New("the catalog would remove too many entries")

func (src KEVSource) String() string {
	switch {
	case src.Upload != nil:
		return "upload:" + src.UploadName
	case src.File != "":
		return "file:" + src.File
	}
	return src.URL
}

// MaxKEVBytes is the largest catalog a sync reads (today's is about 1.5 MB).
const MaxKEVBytes = maxKEVBytes

// fetch reads the document, bounded in size.
func (s *Service) fetch(ctx context.Context, url string, limit int64) ([]byte, error) {
	client := s.HTTP
	if client == nil {
		client = &http.Client{Timeout: time.Minute}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("User-Agent", "offloadsecurity-cspm")
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", url, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("GET %s: larger than %d bytes", url, limit)
	}
	return data, nil
}

func readSource(ctx context.Context, s *Service, src KEVSource) ([]byte, error) {
	if src.Upload != nil {
		if len(src.Upload) > maxKEVBytes {
			return nil, fmt.Errorf("%s: larger than %d bytes", src.UploadName, maxKEVBytes)
		}
		return src.Upload, nil
	}
	if src.File != "" {
		fh, err := os.Open(src.File)
		if err != nil {
			return nil, err
		}
		defer fh.Close()
		data, err := io.ReadAll(io.LimitReader(fh, maxKEVBytes+1))
		if err == nil && len(data) > maxKEVBytes {
			err = fmt.Errorf("%s: larger than %d bytes", src.File, maxKEVBytes)
		}
		return data, err
	}
	return s.fetch(ctx, src.URL, maxKEVBytes)
}

// EnrichWithKEV is the seed's _enrich_with_kev: it reads the catalog,
// validates it, and only then replaces the stored one, journals what was
// added and removed, and re-enriches the catalog entries and occurrences
// whose KEV state changed (and those never checked before), all in one
// transaction. A failure keeps the last good catalog and is recorded in
// the status.
func (s *Service) EnrichWithKEV(ctx context.Context, src KEVSource, actor audit.Event) (*KEVSyncResult, error) {
	res, err := s.syncKEV(ctx, src)
	now := s.now().UTC()
	if err != nil {
		if _, serr := s.d.ExecContext(ctx, `UPDATE kev_state SET last_attempt = $1, last_error = $2 WHERE id = 1`, now, err.Error()); serr != nil {
			err = errors.Join(err, serr)
		}
	}
	s.record(ctx, actor, "kev.sync", "kev_catalog", src.String(), err, func() map[string]any {
		if res == nil {
			return nil
		}
		return map[string]any{"catalog_version": res.CatalogVersion, "count": res.Count, "added": len(res.Added),
			"removed": len(res.Removed), "updated": len(res.Updated), "rescored": res.Rescored}
	})
	return res, err
}

func (s *Service) syncKEV(ctx context.Context, src KEVSource) (*KEVSyncResult, error) {
	data, err := readSource(ctx, s, src)
	if err != nil {
		return nil, err
	}
	cat, err := ParseKEV(data)
	if err != nil {
		return nil, err
	}
	now := s.now().UTC()
	res := &KEVSyncResult{CatalogVersion: cat.CatalogVersion, Count: len(cat.Vulnerabilities), Added: []string{}, Removed: []string{}, Updated: []string{}}
	err = s.d.AsSystem(ctx, func(q db.Querier) error {
		old, err := loadKEVEntries(ctx, q)
		if err != nil {
			return err
		}
		if removed := kevRemovals(old, cat); !src.Force && len(old) > 0 && float64(removed) > MaxKEVShrink*float64(len(old)) {
			return fmt.Errorf("%w: it lists %d entries and would remove %d of the %d stored (more than %.0f%%); "+
				"a partial copy from a mirror? The stored catalog stays; sync again with --force to accept it",
				ErrKEVShrink, len(cat.Vulnerabilities), removed, len(old), MaxKEVShrink*100)
		}
		var (
			changed []string
			upserts []any
		)
		for i := range cat.Vulnerabilities {
			e := &cat.Vulnerabilities[i]
			prev, ok := old[e.CVEID]
			delete(old, e.CVEID)
			switch {
			case !ok:
				res.Added = append(res.Added, e.CVEID)
			case prev != kevRow(e):
				res.Updated = append(res.Updated, e.CVEID)
			default:
				continue
			}
			changed = append(changed, e.CVEID)
			r := kevRow(e)
			upserts = append(upserts, e.CVEID, r.vendor, r.product, r.name, r.dateAdded, r.description, r.action, r.due, r.ransomware, r.notes, r.cwes)
		}
		// 200 entries (2,200 parameters) a statement.
		if err := db.InsertRows(ctx, q, s.d.Dialect, `INSERT INTO kev_entries (cve_id, vendor, product, name, date_added,
			short_description, required_action, due_date, ransomware, notes, cwes)`, 11, upserts, 200,
			`ON CONFLICT (cve_id) DO UPDATE SET vendor = excluded.vendor, product = excluded.product, name = excluded.name,
			date_added = excluded.date_added, short_description = excluded.short_description, required_action = excluded.required_action,
			due_date = excluded.due_date, ransomware = excluded.ransomware, notes = excluded.notes, cwes = excluded.cwes`); err != nil {
			return fmt.Errorf("store KEV entries: %w", err)
		}
		for id := range old {
			res.Removed = append(res.Removed, id)
		}
		sort.Strings(res.Removed)
		changed = append(changed, res.Removed...)
		if err := chunks(res.Removed, func(part []string) error {
			_, err := q.ExecContext(ctx, `DELETE FROM kev_entries WHERE cve_id IN (`+db.InList(len(part), 1)+`)`, stringArgs(nil, part)...)
			return err
		}); err != nil {
			return err
		}
		var journal []any
		for _, j := range []struct {
			change string
			ids    []string
		}{{"added", res.Added}, {"removed", res.Removed}} {
			for _, id := range j.ids {
				journal = append(journal, cat.CatalogVersion, id, j.change, now)
			}
		}
		if err := db.InsertRows(ctx, q, s.d.Dialect, `INSERT INTO kev_journal (catalog_version, cve_id, change, recorded_at)`, 4, journal, 500, ""); err != nil {
			return fmt.Errorf("journal: %w", err)
		}
		if _, err := q.ExecContext(ctx, `UPDATE kev_state SET catalog_version = $1, date_released = $2, entry_count = $3, source = $4,
			last_sync = $5, last_attempt = $5, last_error = '' WHERE id = 1`, cat.CatalogVersion, cat.DateReleased, len(cat.Vulnerabilities),
			src.String(), now); err != nil {
			return err
		}
		// Re-enrich the catalog entries whose KEV state changed, and those
		// never checked that the catalog lists; the other never-checked
		// entries only become "checked, not in KEV", which moves no score,
		// so they are marked in one statement and their occurrences left be.
		targets, err := catalogIDs(ctx, q, changed)
		if err != nil {
			return err
		}
		neverChecked, err := db.QueryStrings(ctx, q, `SELECT c.id FROM vuln_catalog AS c JOIN kev_entries AS k ON k.cve_id = c.id
			WHERE c.kev_enriched_at IS NULL`)
		if err != nil {
			return err
		}
		targets = append(targets, neverChecked...)
		if err := enrichCatalog(ctx, q, targets, now); err != nil {
			return err
		}
		checked, err := q.ExecContext(ctx, `UPDATE vuln_catalog SET kev_enriched_at = $1 WHERE kev_enriched_at IS NULL`, now)
		if err != nil {
			return err
		}
		n, _ := checked.RowsAffected()
		res.Enriched = len(targets) + int(n)
		if err := chunks(targets, func(part []string) error {
			n, err := rescore(ctx, q, "s.vuln_id IN ("+db.InList(len(part), 1)+")", stringArgs(nil, part)...)
			res.Rescored += n
			return err
		}); err != nil || len(targets) == 0 {
			return err
		}
		return dataVersions.Bump(ctx, q, listcache.AllTeams)
	})
	if err != nil {
		return nil, err
	}
	if len(res.Added)+len(res.Removed)+len(res.Updated) > 0 {
		s.refreshCatalogStatistics(ctx)
	}
	return res, nil
}

// refreshCatalogStatistics tells the planner what enrichment changed: with
// statistics from before the first KEV sync, PostgreSQL believes no entry
// is in KEV and plans in_kev filters from the catalog side (measured: 600 ms
// against 70 ms). It is best effort: the data is already committed.
func (s *Service) refreshCatalogStatistics(ctx context.Context) {
	_, _ = s.d.ExecContext(ctx, "ANALYZE vuln_catalog")
}

// kevRemovals counts the stored entries that cat no longer lists.
func kevRemovals(stored map[string]kevStored, cat *KEVCatalog) int {
	listed := make(map[string]bool, len(cat.Vulnerabilities))
	for i := range cat.Vulnerabilities {
		listed[cat.Vulnerabilities[i].CVEID] = true
	}
	n := 0
	for id := range stored {
		if !listed[id] {
			n++
		}
	}
	return n
}

type kevStored struct {
	vendor, product, name, dateAdded, description, action, due, ransomware, notes, cwes string
}

func kevRow(e *KEVEntry) kevStored {
	return kevStored{e.VendorProject, e.Product, e.VulnerabilityName, e.DateAdded, e.ShortDescription, e.RequiredAction, e.DueDate,
		e.Ransomware, e.Notes, strings.Join(e.CWEs, " ")}
}

func loadKEVEntries(ctx context.Context, q db.Querier) (map[string]kevStored, error) {
	rows, err := q.QueryContext(ctx, `SELECT cve_id, vendor, product, name, date_added, short_description, required_action, due_date,
		ransomware, notes, cwes FROM kev_entries`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]kevStored{}
	for rows.Next() {
		var (
			id string
			r  kevStored
		)
		if err := rows.Scan(&id, &r.vendor, &r.product, &r.name, &r.dateAdded, &r.description, &r.action, &r.due, &r.ransomware,
			&r.notes, &r.cwes); err != nil {
			return nil, err
		}
		out[id] = r
	}
	return out, rows.Err()
}

// catalogIDs returns those of ids that the catalog holds and has checked
// against KEV before.
func catalogIDs(ctx context.Context, q db.Querier, ids []string) ([]string, error) {
	var out []string
	err := chunks(ids, func(part []string) error {
		found, err := db.QueryStrings(ctx, q, `SELECT id FROM vuln_catalog WHERE id IN (`+db.InList(len(part), 1)+`) AND kev_enriched_at IS NOT NULL`,
			stringArgs(nil, part)...)
		out = append(out, found...)
		return err
	})
	return out, err
}

// KEVStatusGet returns what the last sync did.
func (s *Service) KEVStatusGet(ctx context.Context) (KEVStatus, error) {
	var st KEVStatus
	err := s.d.Reader().QueryRowContext(ctx, `SELECT catalog_version, date_released, entry_count, source, last_sync, last_attempt, last_error
		FROM kev_state WHERE id = 1`).Scan(&st.CatalogVersion, &st.DateReleased, &st.Count, &st.Source, &st.LastSync, &st.LastAttempt, &st.LastError)
	return st, err
}

// KEVJournalEntry is one addition to or removal from the catalog.
type KEVJournalEntry struct {
	CatalogVersion string    `json:"catalog_version"`
	CVEID          string    `json:"cve_id"`
	Change         string    `json:"change" enum:"added,removed"`
	RecordedAt     time.Time `json:"recorded_at"`
}

// KEVJournal returns the latest changes, newest first.
func (s *Service) KEVJournal(ctx context.Context, limit int) ([]KEVJournalEntry, error) {
	rows, err := s.d.Reader().QueryContext(ctx, `SELECT catalog_version, cve_id, change, recorded_at FROM kev_journal ORDER BY id DESC LIMIT $1`, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []KEVJournalEntry{}
	for rows.Next() {
		var e KEVJournalEntry
		if err := rows.Scan(&e.CatalogVersion, &e.CVEID, &e.Change, &e.RecordedAt); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// record writes an audit event when an audit log is wired.
func (s *Service) record(ctx context.Context, actor audit.Event, action, targetType, targetID string, err error, details func() map[string]any) {
	if s.Audit == nil {
		return
	}
	e := actor
	e.Action, e.TargetType, e.TargetID = action, targetType, targetID
	e.Details = details()
	if err != nil {
		e.Outcome = audit.Failure
		if e.Details == nil {
			e.Details = map[string]any{}
		}
		e.Details["error"] = err.Error()
	}
	_ = s.Audit.Record(ctx, e)
}
