// Command bia measures business impact analytics (issue 17): it imports N
// generated Prowler findings for one team through the real findings
// importer (100 checks, 10 findings per resource, 5 accounts x 4 regions,
// each resource tagged app=appNNN of 300 apps and env=prod or dev; 50% PASS,
// 40% FAIL, 10% MANUAL), 200 images with 5 CVEs each through the Trivy
// importer and a KEV catalog naming half of those CVEs, then creates P
// processes with D dependencies in all (resource UIDs, tag selectors,
// images, an account for one process in ten, another process for most),
// and times Service.AnalyticsGet (what GET /api/v1/bia/analytics returns):
// computed afresh each time (the pass over the open findings), and as
// served, under the stores' data versions, at C concurrent clients.
//
//	go run ./bench/bia -n 1000000                 # SQLite in a temporary directory
//	go run ./bench/bia -n 1000000 -pg postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime/pprof"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/offloadsecurity/cspm/internal/app"
	"github.com/offloadsecurity/cspm/internal/audit"
	"github.com/offloadsecurity/cspm/internal/bia"
	"github.com/offloadsecurity/cspm/internal/db"
	"github.com/offloadsecurity/cspm/internal/findings"
	"github.com/offloadsecurity/cspm/internal/id"
	"github.com/offloadsecurity/cspm/internal/listcache"
	"github.com/offloadsecurity/cspm/internal/team"
	"github.com/offloadsecurity/cspm/internal/vuln"
)

func main() {
	n := flag.Int("n", 1000000, "findings")
	procs := flag.Int("processes", 1000, "processes")
	deps := flag.Int("deps", 10000, "dependencies in all")
	pg := flag.String("pg", "", "PostgreSQL URL (default: SQLite in a temporary directory)")
	clients := flag.Int("clients", 16, "concurrent analytics clients")
	rounds := flag.Int("rounds", 20, "analytics computed afresh, one after another")
	dur := flag.Duration("duration", 10*time.Second, "duration of the concurrent load")
	flag.StringVar(&workDir, "work", "", "SQLite directory kept between runs: loaded once, then reused (default: a temporary one)")
	prof := flag.String("cpuprofile", "", "write a CPU profile of the measurements here")
	flag.Parse()
	if *prof != "" {
		f, err := os.Create(*prof)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		_ = pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	if err := run(*n, *procs, *deps, *pg, *clients, *rounds, *dur); err != nil {
		fmt.Fprintln(os.Stderr, "bia bench:", err)
		os.Exit(1)
	}
}

const perResource = 10

var regions = []string{"eu-west-1", "us-east-1", "us-west-2", "ap-southeast-1"}

func account(i int) string { return fmt.Sprintf("%012d", 111122223333+(i%5)*1111) }

func resourceUID(i int) string {
	return fmt.Sprintf("arn:aws:s3:%s:%s:bucket/b-%07d", regions[i%len(regions)], account(i), i)
}

var workDir string

func run(n, procs, deps int, pg string, clients, rounds int, dur time.Duration) error {
	ctx := context.Background()
	work := workDir
	if work == "" {
		dir, err := os.MkdirTemp("", "bia-bench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		work = dir
	}
	ready := filepath.Join(work, "bench.ready")
	_, statErr := os.Stat(ready)
	reuse := pg == "" && statErr == nil
	opts := db.Options{DataDir: work, URLs: map[db.Name]string{}}
	engine := "sqlite"
	if pg != "" {
		engine = "postgres"
		for _, name := range db.Names {
			opts.URLs[name] = pg
		}
		opts.SchemaPrefix = "bench_" + strings.ReplaceAll(id.New()[:8], "-", "") + "_"
	}
	reg, err := db.Open(ctx, opts)
	if err != nil {
		return err
	}
	defer reg.Close()
	if _, err := app.Migrate(ctx, reg, slog.New(slog.DiscardHandler)); err != nil {
		return err
	}
	if pg != "" {
		defer dropSchemas(ctx, reg)
	}
	fmt.Printf("engine %s, %d findings, %d processes, %d dependencies, %d clients\n", engine, n, procs, deps, clients)
	src := bia.NewStoreSources(reg)
	// The app queues a River job; here the refresh runs when measured.
	cached := bia.New(reg, bia.Options{Findings: src, KEV: src, RefreshExposure: func(context.Context, string) {}})
	fresh := bia.New(reg, bia.Options{Findings: src, KEV: src, NoExposureCache: true})
	var teamID string
	if reuse {
		tm, err := team.NewStore(reg).TeamGetByName(ctx, "bench")
		if err != nil {
			return err
		}
		teamID = tm.ID
		fmt.Println("reusing the data of", work)
	} else {
		if teamID, err = load(ctx, reg, cached, work, n, procs, deps); err != nil {
			return err
		}
		if err := os.WriteFile(ready, nil, 0o600); err != nil {
			return err
		}
	}
	if err := measure(ctx, src, cached, fresh, teamID, clients, rounds, dur); err != nil {
		return err
	}
	return measureAfterChanges(ctx, reg, cached, teamID, rounds)
}

// measureAfterChanges times the first analytics call after each of rounds
// changes to the findings (a data version bump, as an import or a mute
// makes): it answers from the stored exposure, marked stale, and the
// background refresh (timed too) brings it up to date.
func measureAfterChanges(ctx context.Context, reg *db.Registry, s *bia.Service, teamID string, rounds int) error {
	var first, refresh []time.Duration
	for range rounds {
		if err := reg.Get(db.NativeScans).InTeam(ctx, teamID, func(q db.Querier) error {
			return listcache.Versions("findings_data_versions").Bump(ctx, q, teamID)
		}); err != nil {
			return err
		}
		t0 := time.Now()
		a, err := s.AnalyticsGet(ctx, teamID)
		if err != nil {
			return err
		}
		first = append(first, time.Since(t0))
		if !a.ExposureStale {
			return fmt.Errorf("the first call after a change was not served from the stored exposure")
		}
		t0 = time.Now()
		if _, err := s.RefreshExposure(ctx, teamID); err != nil {
			return err
		}
		refresh = append(refresh, time.Since(t0))
	}
	fmt.Printf("first analytics call after a change (stored exposure, marked stale), %d changes: %s\n", rounds, summary(first))
	fmt.Printf("background refresh after a change (the River job), %d changes: %s\n", rounds, summary(refresh))
	return nil
}

func load(ctx context.Context, reg *db.Registry, s *bia.Service, work string, n, procs, deps int) (string, error) {
	tm, err := team.NewStore(reg).TeamCreate(ctx, "bench")
	if err != nil {
		return "", err
	}
	vs := vuln.New(reg)
	fs := findings.NewStore(reg)
	fs.Vulns = vs
	r := rand.New(rand.NewPCG(1, 2)) //nolint:gosec // reproducible test data
	report := filepath.Join(work, "report.ocsf.json")
	if err := writeReport(report, n, r); err != nil {
		return "", err
	}
	start := time.Now()
	if err := importFile(ctx, fs, tm.ID, report, "prowler-ocsf"); err != nil {
		return "", err
	}
	fmt.Printf("import of %d findings: %.1f s\n", n, time.Since(start).Seconds())
	_ = os.Remove(report)
	if err := loadVulns(ctx, fs, vs, tm.ID, work); err != nil {
		return "", err
	}
	start = time.Now()
	made, err := makeProcesses(ctx, s, tm.ID, procs, deps, n, r)
	if err != nil {
		return "", err
	}
	fmt.Printf("%d processes with %d dependencies created in %.1f s\n", procs, made, time.Since(start).Seconds())
	return tm.ID, nil
}

func measure(ctx context.Context, src *bia.StoreSources, cached, fresh *bia.Service, teamID string, clients, rounds int,
	dur time.Duration) error {
	tm := struct{ ID string }{teamID}
	for range 3 {
		t0, rows := time.Now(), 0
		if err := src.OpenFailing(ctx, teamID, func(bia.FindingRow) error { rows++; return nil }); err != nil {
			return err
		}
		fmt.Printf("the open failing findings alone: %d rows in %d ms\n", rows, time.Since(t0).Milliseconds())
	}
	var lat []time.Duration
	var last bia.Analytics
	for range rounds {
		t0 := time.Now()
		a, err := fresh.AnalyticsGet(ctx, tm.ID)
		if err != nil {
			return err
		}
		lat, last = append(lat, time.Since(t0)), a
	}
	open, kev := 0, 0
	for _, e := range last.Exposure {
		open += e.OpenFindings
		kev += e.KEV
	}
	fmt.Printf("top process: %s (tier %d): %d open failing findings, %d KEV; sums over processes %d findings, %d KEV\n",
		last.Exposure[0].Name, last.Exposure[0].Tier, last.Exposure[0].OpenFindings, last.Exposure[0].KEV, open, kev)
	report2 := summary(lat)
	fmt.Printf("analytics computed afresh, %d one after another: %s\n", rounds, report2)

	// Served: the first call after a change computes, the others read the
	// result under the stores' data versions and the analyses' state.
	t0 := time.Now()
	if _, err := cached.AnalyticsGet(ctx, tm.ID); err != nil {
		return err
	}
	fmt.Printf("first call as served (computes and caches): %d ms\n", time.Since(t0).Milliseconds())
	lat = lat[:0]
	for range 200 {
		t0 := time.Now()
		if _, err := cached.AnalyticsGet(ctx, tm.ID); err != nil {
			return err
		}
		lat = append(lat, time.Since(t0))
	}
	fmt.Printf("analytics as served, one client, 200 calls: %s\n", summary(lat))
	lat = lat[:0]
	var mu sync.Mutex
	var wg sync.WaitGroup
	var firstErr error
	deadline := time.Now().Add(dur)
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				t0 := time.Now()
				_, err := cached.AnalyticsGet(ctx, tm.ID)
				d := time.Since(t0)
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = err
				}
				lat = append(lat, d)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	fmt.Printf("analytics as served (cached under the data versions) at %d clients for %s: %d requests, %s\n", clients, dur, len(lat), summary(lat))
	return nil
}

func summary(lat []time.Duration) string {
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	pct := func(p float64) float64 { return float64(lat[int(float64(len(lat)-1)*p)].Microseconds()) / 1000 }
	return fmt.Sprintf("p50 %.1f ms, p95 %.1f ms, p99 %.1f ms, max %.1f ms", pct(0.5), pct(0.95), pct(0.99), pct(1))
}

// makeProcesses creates the processes: process i (0 most critical) has
// resource UIDs, two tag selectors, an image, every tenth an account,
// and most depend on an earlier process, so that nothing cycles.
func makeProcesses(ctx context.Context, s *bia.Service, teamID string, procs, deps, n int, r *rand.Rand) (int, error) {
	per := deps / procs
	made := 0
	ids := make([]string, 0, procs)
	for i := range procs {
		rec := bia.Record{Name: fmt.Sprintf("Process %04d", i), Tier: 1 + i*5/procs, FinancialLossPerHour: float64(100 + r.IntN(10000)),
			Impacts: map[string]map[string]int{"financial": {"1h": 1 + r.IntN(5), "24h": 1 + r.IntN(5)}, "operational": {"4h": 1 + r.IntN(5)}}}
		rto := float64(1 + r.IntN(72))
		rec.RTOHours, rec.RPOHours, rec.MTPDHours = &rto, &rto, ptr(rto*2)
		var d []bia.Dependency
		if i > 0 && len(ids) > 0 {
			d = append(d, bia.Dependency{Kind: bia.DepProcess, Value: ids[r.IntN(len(ids))]})
		}
		if i%10 == 0 {
			d = append(d, bia.Dependency{Kind: bia.DepCloudAccount, Value: account(r.IntN(5))})
		}
		d = append(d, bia.Dependency{Kind: bia.DepTag, Value: fmt.Sprintf("app=app%03d", r.IntN(300))},
			bia.Dependency{Kind: bia.DepContainerImage, Value: fmt.Sprintf("registry/img-%03d:1", r.IntN(200))})
		for len(d) < per {
			d = append(d, bia.Dependency{Kind: bia.DepResource, Value: resourceUID(r.IntN(n / perResource))})
		}
		rec.Dependencies = d
		p, err := s.ProcessCreate(ctx, teamID, rec, bia.Actor{})
		if err != nil {
			return made, err
		}
		made += len(d)
		ids = append(ids, p.ID)
	}
	return made, nil
}

func ptr(v float64) *float64 { return &v }

func importFile(ctx context.Context, fs *findings.Store, teamID, path, format string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = fs.Import(ctx, f, findings.ImportParams{TeamID: teamID, Filename: filepath.Base(path), Format: format})
	return err
}

// loadVulns imports 200 images with 5 CVEs each and a KEV catalog of half of them.
func loadVulns(ctx context.Context, fs *findings.Store, vs *vuln.Service, teamID, work string) error {
	var kev []map[string]any
	for img := range 200 {
		var vulns []map[string]any
		for k := range 5 {
			cve := fmt.Sprintf("CVE-2099-%05d", img*5+k)
			vulns = append(vulns, map[string]any{"VulnerabilityID": cve, "PkgName": fmt.Sprintf("pkg%d", k), "InstalledVersion": "1.0",
				"FixedVersion": "1.1", "Severity": "HIGH"})
			if (img*5+k)%2 == 0 {
				kev = append(kev, map[string]any{"cveID": cve, "vendorProject": "v", "product": "p", "vulnerabilityName": "n",
					"dateAdded": "2026-01-01", "shortDescription": "d", "requiredAction": "a", "dueDate": "2026-02-01",
					"knownRansomwareCampaignUse": "Unknown", "notes": "", "cwes": []string{}})
			}
		}
		doc, _ := json.Marshal(map[string]any{"ArtifactName": fmt.Sprintf("registry/img-%03d:1", img),
			"Results": []any{map[string]any{"Target": "app", "Vulnerabilities": vulns}}})
		path := filepath.Join(work, "trivy.json")
		if err := os.WriteFile(path, doc, 0o600); err != nil {
			return err
		}
		if err := importFile(ctx, fs, teamID, path, "trivy"); err != nil {
			return err
		}
	}
	cat, _ := json.Marshal(map[string]any{"title": "CISA Catalog of Known Exploited Vulnerabilities", "catalogVersion": "2026.01.01",
		"dateReleased": "2026-01-01T00:00:00Z", "count": len(kev), "vulnerabilities": kev})
	path := filepath.Join(work, "kev.json")
	if err := os.WriteFile(path, cat, 0o600); err != nil {
		return err
	}
	_, err := vs.EnrichWithKEV(ctx, vuln.KEVSource{File: path}, audit.Event{})
	return err
}

// writeReport writes n small Prowler OCSF findings, perResource per resource.
func writeReport(path string, n int, r *rand.Rand) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	w := bufio.NewWriterSize(f, 1<<20)
	_, _ = w.WriteString("[")
	enc := json.NewEncoder(w)
	for i := range n {
		res := i / perResource
		c := fmt.Sprintf("s3_check_%03d", i%perResource+10*(res%10))
		acct, region, resource := account(res), regions[res%len(regions)], resourceUID(res)
		status := "FAIL"
		switch x := r.IntN(10); {
		case x < 5:
			status = "PASS"
		case x == 9:
			status = "MANUAL"
		}
		env := "prod"
		if res%3 == 0 {
			env = "dev"
		}
		doc := map[string]any{
			"message": c + " " + status, "severity_id": 1 + r.IntN(5), "status_code": status,
			"metadata":     map[string]any{"event_code": c, "product": map[string]any{"name": "Prowler", "uid": "prowler"}, "version": "1.4.0"},
			"finding_info": map[string]any{"uid": "prowler-aws-" + c + "-" + acct + "-" + region + "-" + resource, "title": "Ensure " + c},
			"resources": []any{map[string]any{"uid": resource, "name": fmt.Sprintf("b-%07d", res), "region": region, "type": "Other",
				"group": map[string]any{"name": "s3"}, "labels": []string{fmt.Sprintf("app=app%03d", res%300), "env=" + env}}},
			"class_uid": 2004,
			"cloud":     map[string]any{"account": map[string]any{"uid": acct, "type": "AWS Account"}, "provider": "aws", "region": region},
		}
		if i > 0 {
			_, _ = w.WriteString(",\n")
		}
		if err := enc.Encode(doc); err != nil {
			return err
		}
	}
	_, _ = w.WriteString("]\n")
	return w.Flush()
}

// dropSchemas removes the benchmark's PostgreSQL schemas.
func dropSchemas(ctx context.Context, reg *db.Registry) {
	for _, name := range db.Names {
		d := reg.Get(name)
		if d.Schema != "" {
			_, _ = d.ExecContext(ctx, "DROP SCHEMA IF EXISTS "+d.Schema+" CASCADE")
		}
	}
}
