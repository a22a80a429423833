package vuln

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/offloadsecurity/cspm/internal/audit"
	"github.com/offloadsecurity/cspm/internal/db"
	"github.com/offloadsecurity/cspm/internal/listcache"
)

// maxEPSSBytes bounds an EPSS file after decompression (about 10 MB in 2026).
const maxEPSSBytes = 256 << 20

// EPSSResult says what an import stored.
type EPSSResult struct {
	ModelVersion string `json:"model_version"`
	ScoreDate    string `json:"score_date"`
	Count        int    `json:"count"`
	Enriched     int64  `json:"enriched" doc:"Catalog entries that got a score."`
	Rescored     int64  `json:"rescored"`
}

type epssRow struct {
	cve               string
	score, percentile float64
}

// ParseEPSS reads FIRST's daily EPSS CSV, plain or gzipped: a
// "#model_version:...,score_date:..." comment line, the header
// "cve,epss,percentile", then one row per CVE. Any malformed line fails the
// whole file with its line number.
func ParseEPSS(r io.Reader) (EPSSResult, []epssRow, error) {
	var res EPSSResult
	br := bufio.NewReader(r)
	if magic, _ := br.Peek(2); bytes.Equal(magic, []byte{0x1f, 0x8b}) {
		gz, err := gzip.NewReader(br)
		if err != nil {
			return res, nil, fmt.Errorf("EPSS: %w", err)
		}
		defer gz.Close()
		br = bufio.NewReader(gz)
	}
	lr := &io.LimitedReader{R: br, N: maxEPSSBytes + 1}
	cr := csv.NewReader(lr)
	cr.Comment = 0
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	var rows []epssRow
	line := 0
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		line++
		if err != nil {
			if lr.N <= 0 {
				return res, nil, fmt.Errorf("EPSS: larger than %d bytes", maxEPSSBytes)
			}
			return res, nil, fmt.Errorf("EPSS line %d: %w", line, err)
		}
		switch {
		case line == 1 && strings.HasPrefix(rec[0], "#"):
			for _, field := range rec {
				k, v, _ := strings.Cut(strings.TrimPrefix(field, "#"), ":")
				switch k {
				case "model_version":
					res.ModelVersion = v
				case "score_date":
					res.ScoreDate = v
				}
			}
			continue
		case len(rows) == 0 && len(rec) >= 3 && rec[0] == "cve" && rec[1] == "epss" && rec[2] == "percentile":
			continue
		case len(rows) == 0 && line <= 2:
			return res, nil, fmt.Errorf("EPSS line %d: expected the header cve,epss,percentile, got %q", line, strings.Join(rec, ","))
		}
		if len(rec) != 3 {
			return res, nil, fmt.Errorf("EPSS line %d: want 3 fields, got %d", line, len(rec))
		}
		row := epssRow{cve: rec[0]}
		if !cvePattern.MatchString(row.cve) {
			return res, nil, fmt.Errorf("EPSS line %d: %q is not a CVE ID", line, rec[0])
		}
		var err1, err2 error
		row.score, err1 = strconv.ParseFloat(rec[1], 64)
		row.percentile, err2 = strconv.ParseFloat(rec[2], 64)
		if err1 != nil || err2 != nil || row.score < 0 || row.score > 1 || row.percentile < 0 || row.percentile > 1 {
			return res, nil, fmt.Errorf("EPSS line %d: score and percentile must be numbers from 0 to 1, got %q and %q", line, rec[1], rec[2])
		}
		rows = append(rows, row)
	}
	if len(rows) == 0 {
		return res, nil, errors.New("EPSS: no scores in the file")
	}
	res.Count = len(rows)
	return res, rows, nil
}

// ImportEPSS replaces the stored EPSS scores with a file's, sets every
// catalog entry's score (none for a CVE the file does not list) and scores
// every occurrence again, in one transaction.
func (s *Service) ImportEPSS(ctx context.Context, r io.Reader, source string, actor audit.Event) (*EPSSResult, error) {
	res, rows, err := ParseEPSS(r)
	if err == nil {
		err = s.storeEPSS(ctx, &res, rows)
	}
	if err == nil {
		s.refreshCatalogStatistics(ctx)
	}
	if err != nil {
		if _, serr := s.d.ExecContext(ctx, `UPDATE epss_state SET last_error = $1 WHERE id = 1`, err.Error()); serr != nil {
			err = errors.Join(err, serr)
		}
	}
	s.record(ctx, actor, "epss.import", "epss_scores", source, err, func() map[string]any {
		return map[string]any{"model_version": res.ModelVersion, "score_date": res.ScoreDate, "count": res.Count}
	})
	if err != nil {
		return nil, err
	}
	return &res, nil
}

func (s *Service) storeEPSS(ctx context.Context, res *EPSSResult, rows []epssRow) error {
	now := s.now().UTC()
	dialect := s.d.Dialect
	return s.d.AsSystem(ctx, func(q db.Querier) error {
		if _, err := q.ExecContext(ctx, `DELETE FROM epss_scores`); err != nil {
			return err
		}
		args := make([]any, 0, 3*len(rows))
		for _, r := range rows {
			args = append(args, r.cve, r.score, r.percentile)
		}
		if err := db.InsertRows(ctx, q, dialect, `INSERT INTO epss_scores (cve_id, score, percentile)`, 3, args, 500,
			`ON CONFLICT (cve_id) DO UPDATE SET score = excluded.score, percentile = excluded.percentile`); err != nil {
			return fmt.Errorf("store EPSS scores: %w", err)
		}
		if _, err := q.ExecContext(ctx, `UPDATE epss_state SET model_version = $1, score_date = $2, entry_count = $3, last_import = $4,
			last_error = '' WHERE id = 1`, res.ModelVersion, res.ScoreDate, res.Count, now); err != nil {
			return err
		}
		if _, err := q.ExecContext(ctx, `UPDATE vuln_catalog SET epss_score = NULL, epss_percentile = NULL, epss_date = '', epss_enriched_at = $1`,
			now); err != nil {
			return err
		}
		r, err := q.ExecContext(ctx, `UPDATE vuln_catalog SET epss_score = e.score, epss_percentile = e.percentile, epss_date = $1
			FROM epss_scores AS e WHERE e.cve_id = vuln_catalog.id`, res.ScoreDate)
		if err != nil {
			return err
		}
		res.Enriched, _ = r.RowsAffected()
		if res.Rescored, err = rescore(ctx, q, "1 = 1"); err != nil { // EPSS moves nearly every score
			return err
		}
		return dataVersions.Bump(ctx, q, listcache.AllTeams)
	})
}

// EPSSStatus is what the last import stored.
type EPSSStatus struct {
	ModelVersion string     `json:"model_version"`
	ScoreDate    string     `json:"score_date"`
	Count        int        `json:"count"`
	LastImport   *time.Time `json:"last_import"`
	LastAttempt  *time.Time `json:"last_attempt"`
	LastError    string     `json:"last_error"`
}

// EPSSStatusGet returns what the last import stored.
func (s *Service) EPSSStatusGet(ctx context.Context) (EPSSStatus, error) {
	var st EPSSStatus
	err := s.d.Reader().QueryRowContext(ctx, `SELECT model_version, score_date, entry_count, last_import, last_attempt, last_error
		FROM epss_state WHERE id = 1`).Scan(&st.ModelVersion, &st.ScoreDate, &st.Count, &st.LastImport, &st.LastAttempt, &st.LastError)
	return st, err
}
