// Command genvulns fills a cspm database with a realistic vulnerability
// store for benchmarks: a catalog of -catalog CVE IDs (every CVE of the KEV
// catalog given by -kev among them, seen more often than the rest, as
// exploited vulnerabilities are), and -n occurrences of them for the team
// -team, spread over assets, components, severities and 180 days of first
// sightings. It writes through the same tables the ingestion pipeline does,
// in large batches, then scores every occurrence.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"time"

	"github.com/offloadsecurity/cspm/internal/app"
	"github.com/offloadsecurity/cspm/internal/config"
	"github.com/offloadsecurity/cspm/internal/db"
	"github.com/offloadsecurity/cspm/internal/vuln"
)

func main() {
	n := flag.Int("n", 1000000, "occurrences")
	catalog := flag.Int("catalog", 40000, "catalog entries")
	teamName := flag.String("team", "Default", "team NAME")
	kevFile := flag.String("kev", "internal/vuln/testdata/known_exploited_vulnerabilities.json", "KEV catalog whose CVEs to include")
	variant := flag.String("variant", "", "also write a next-day variant of the KEV catalog here")
	flag.Parse()
	if err := run(*n, *catalog, *teamName, *kevFile, *variant); err != nil {
		fmt.Fprintln(os.Stderr, "genvulns:", err)
		os.Exit(1)
	}
}

func run(n, catalogSize int, teamName, kevFile, variant string) error {
	ctx := context.Background()
	fs := flag.NewFlagSet("genvulns", flag.ContinueOnError)
	cfg, err := config.Bind(fs).Load(os.Getenv)
	if err != nil {
		return err
	}
	a, err := app.Open(ctx, cfg, slog.New(slog.DiscardHandler), false)
	if err != nil {
		return err
	}
	defer a.Close()
	t, err := a.Teams.TeamGetByName(ctx, teamName)
	if err != nil {
		return fmt.Errorf("team %q: %w", teamName, err)
	}
	data, err := os.ReadFile(kevFile)
	if err != nil {
		return err
	}
	kev, err := vuln.ParseKEV(data)
	if err != nil {
		return err
	}
	ids := make([]string, 0, catalogSize)
	for _, e := range kev.Vulnerabilities {
		ids = append(ids, e.CVEID)
	}
	for i := 0; len(ids) < catalogSize; i++ {
		ids = append(ids, fmt.Sprintf("CVE-%d-9%06d", 2015+i%11, i))
	}
	kevCount := len(kev.Vulnerabilities)
	rng := rand.New(rand.NewPCG(1, 2)) //nolint:gosec // G404: reproducible test data, not secrets
	d := a.Registry.Get(db.Vulnerability)
	now := time.Now().UTC()
	start := time.Now()

	err = d.AsSystem(ctx, func(q db.Querier) error {
		const batch = 1000
		for lo := 0; lo < len(ids); lo += batch {
			part := ids[lo:min(lo+batch, len(ids))]
			args := make([]any, 0, len(part)*6)
			for _, id := range part {
				score := 2 + rng.Float64()*8
				args = append(args, id, "Vulnerability "+id, 1+rng.IntN(5), score, "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", now, now)
			}
			if _, err := q.ExecContext(ctx, db.Positional(d.Dialect, `INSERT INTO vuln_catalog (id, title, severity, cvss_score, cvss_vector, first_seen, updated_at)
				VALUES `+db.Placeholders(len(part), 7, 1)), args...); err != nil {
				return fmt.Errorf("catalog: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	tools := []struct{ tool, exposure string }{{"trivy", "package"}, {"grype", "package"}, {"nmap", "network"}, {"nuclei", "network"}}
	err = d.InTeam(ctx, t.ID, func(q db.Querier) error {
		const batch = 1000
		for lo := 0; lo < n; lo += batch {
			rows := min(batch, n-lo)
			args := make([]any, 0, rows*13)
			for i := lo; i < lo+rows; i++ {
				// One in ten occurrences is of a KEV vulnerability.
				var vid string
				if rng.IntN(10) == 0 {
					vid = ids[rng.IntN(kevCount)]
				} else {
					vid = ids[kevCount+rng.IntN(len(ids)-kevCount)]
				}
				tl := tools[rng.IntN(len(tools))]
				asset := fmt.Sprintf("registry.example.com/team/app-%05d:%d", i%20000, i%7)
				if tl.exposure == "network" {
					asset = fmt.Sprintf("10.%d.%d.%d", i%200, (i/200)%250, (i/50000)%250)
				}
				fixed := ""
				if rng.IntN(3) > 0 {
					fixed = "1.2." + fmt.Sprint(rng.IntN(20))
				}
				first := now.Add(-time.Duration(rng.IntN(180*24)) * time.Hour)
				args = append(args, t.ID, vid, asset, fmt.Sprintf("lib%d", i%500), fmt.Sprint(i), fixed, 1+rng.IntN(5), tl.tool,
					tl.tool+"||"+asset, first, now, "bench", tl.exposure, "open", "")
			}
			if _, err := q.ExecContext(ctx, db.Positional(d.Dialect, `INSERT INTO vuln_occurrences (team_id, vuln_id, asset, component, location,
				fixed_version, severity, source_tool, scope_key, first_seen, last_seen, last_scan_id, exposure, status, version)
				VALUES `+db.Placeholders(rows, 15, 1)), args...); err != nil {
				return fmt.Errorf("occurrences: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	err = d.InTeam(ctx, t.ID, func(q db.Querier) error {
		_, err := q.ExecContext(ctx, `INSERT INTO vuln_occurrence_scores (occurrence_id, team_id, vuln_id)
			SELECT id, team_id, vuln_id FROM vuln_occurrences WHERE team_id = $1`, t.ID)
		return err
	})
	if err != nil {
		return fmt.Errorf("scores: %w", err)
	}
	if d.Dialect == db.Postgres {
		for _, table := range []string{"vuln_catalog", "vuln_occurrences", "vuln_occurrence_scores"} {
			if _, err := d.ExecContext(ctx, "VACUUM ANALYZE "+table); err != nil { // as autovacuum would have by then
				return err
			}
		}
	}
	if _, err := a.Vulns.RescoreAll(ctx); err != nil {
		return err
	}
	fmt.Printf("seeded and scored %d catalog entries and %d occurrences in %v\n", len(ids), n, time.Since(start).Round(time.Millisecond))
	if variant != "" {
		return writeVariant(kev, variant)
	}
	return nil
}

// writeVariant writes the next day's catalog: ten entries removed, fifty
// due dates moved, the version bumped, as a sync that changes little.
func writeVariant(kev *vuln.KEVCatalog, path string) error {
	kev.Vulnerabilities = kev.Vulnerabilities[10:]
	for i := 0; i < 50; i++ {
		kev.Vulnerabilities[i*20].DueDate = "2030-01-01"
	}
	count := len(kev.Vulnerabilities)
	kev.Count, kev.CatalogVersion = &count, kev.CatalogVersion+".1"
	data, err := json.Marshal(kev)
	if err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o600) //nolint:gosec // G703: the operator names the output file
}
