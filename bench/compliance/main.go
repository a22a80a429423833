// Command compliance measures the compliance engine (issue 16): it loads the
// real SCF workbook, framework libraries and Prowler compliance maps from
// the shared samples, imports N Prowler findings for one team through the
// real findings importer (check IDs drawn from the maps, resources unique,
// 50% PASS, 40% FAIL, 10% MANUAL, 5 accounts x 4 regions), then times a full
// sync, an incremental sync after a 1,000-finding import, findings'
// CheckResults alone, and the overview at 16 concurrent clients
// (in-process calls of the service behind GET /api/v1/compliance/overview).
//
//	go run ./bench/compliance -n 1000000                 # SQLite in a temporary directory
//	go run ./bench/compliance -n 1000000 -pg postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/offloadsecurity/cspm/internal/app"
	"github.com/offloadsecurity/cspm/internal/audit"
	"github.com/offloadsecurity/cspm/internal/compliance"
	"github.com/offloadsecurity/cspm/internal/compliance/library"
	"github.com/offloadsecurity/cspm/internal/db"
	"github.com/offloadsecurity/cspm/internal/findings"
	"github.com/offloadsecurity/cspm/internal/id"
	"github.com/offloadsecurity/cspm/internal/team"
)

func main() {
	n := flag.Int("n", 1000000, "findings")
	pg := flag.String("pg", "", "PostgreSQL URL (default: SQLite in a temporary directory)")
	samples := flag.String("samples", "../shared/samples", "the shared samples directory")
	clients := flag.Int("clients", 16, "concurrent overview clients")
	dur := flag.Duration("duration", 10*time.Second, "overview load duration")
	work := flag.String("work", "", "working directory (default: a temporary one, removed at the end)")
	flag.StringVar(&schemaPrefix, "schema-prefix", "", "PostgreSQL schema prefix; an existing one with -reuse skips loading")
	flag.BoolVar(&reuse, "reuse", false, "reuse the content and findings of -work (SQLite) or -schema-prefix (PostgreSQL)")
	flag.Parse()
	if err := run(*n, *pg, *samples, *clients, *dur, *work); err != nil {
		fmt.Fprintln(os.Stderr, "compliance bench:", err)
		os.Exit(1)
	}
}

var (
	schemaPrefix string
	reuse        bool
)

func run(n int, pg, samples string, clients int, dur time.Duration, work string) error {
	ctx := context.Background()
	if work == "" && !reuse {
		dir, err := os.MkdirTemp("", "compliance-bench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		work = dir
	}
	opts := db.Options{DataDir: work, URLs: map[db.Name]string{}}
	engine := "sqlite"
	if pg != "" {
		engine = "postgres"
		for _, name := range db.Names {
			opts.URLs[name] = pg
		}
		opts.SchemaPrefix = schemaPrefix
		if opts.SchemaPrefix == "" {
			opts.SchemaPrefix = "bench_" + strings.ReplaceAll(id.New()[:8], "-", "") + "_"
		}
	}
	reg, err := db.Open(ctx, opts)
	if err != nil {
		return err
	}
	defer reg.Close()
	if _, err := app.Migrate(ctx, reg, slog.New(slog.DiscardHandler)); err != nil {
		return err
	}
	if pg != "" && schemaPrefix == "" {
		defer dropSchemas(ctx, reg) // a named prefix is kept, for -reuse
	}
	fs := findings.NewStore(reg)
	svc := compliance.New(reg, compliance.Options{Findings: fs})
	teams := team.NewStore(reg)
	if reuse {
		tm, err := teams.TeamGetByName(ctx, "bench")
		if err != nil {
			return fmt.Errorf("reuse: %w", err)
		}
		checks, err := db.QueryStrings(ctx, reg.Get(db.Platform), `SELECT DISTINCT check_id FROM compliance_check_map_entries ORDER BY check_id`)
		if err != nil {
			return err
		}
		fmt.Printf("engine %s, reusing team bench, %d clients\n", engine, clients)
		return measure(ctx, svc, fs, tm.ID, checks, work, clients, dur)
	}
	tm, err := teams.TeamCreate(ctx, "bench")
	if err != nil {
		return err
	}
	fmt.Printf("engine %s, %d findings, %d clients\n", engine, n, clients)

	// Content, and the check IDs of every Prowler map.
	start := time.Now()
	var checks []string
	seen := map[string]bool{}
	for _, dir := range []string{"scf", "frameworks", "prowler/compliance"} {
		entries, err := os.ReadDir(filepath.Join(samples, dir))
		if err != nil {
			return err
		}
		sort.Slice(entries, func(i, j int) bool { // mapping sets after the frameworks they need
			return !strings.HasPrefix(entries[i].Name(), "mapping-") && strings.HasPrefix(entries[j].Name(), "mapping-")
		})
		for _, e := range entries {
			data, err := os.ReadFile(filepath.Join(samples, dir, e.Name()))
			if err != nil {
				return err
			}
			if _, err := svc.ImportFile(ctx, bytes.NewReader(data), audit.Event{}); err != nil {
				return fmt.Errorf("%s: %w", e.Name(), err)
			}
			if dir == "prowler/compliance" {
				cm, err := library.ParseProwlerCompliance(bytes.NewReader(data))
				if err != nil {
					return err
				}
				for _, r := range cm.Requirements {
					for _, c := range r.Checks {
						if !seen[c] {
							seen[c] = true
							checks = append(checks, c)
						}
					}
				}
			}
		}
	}
	sort.Strings(checks)
	fmt.Printf("content loaded in %.1f s; %d distinct Prowler checks\n", time.Since(start).Seconds(), len(checks))

	report := filepath.Join(work, "report.ocsf.json")
	r := rand.New(rand.NewPCG(1, 2)) //nolint:gosec // reproducible test data
	if err := writeReport(report, n, checks, r, 5, 0); err != nil {
		return err
	}
	start = time.Now()
	if err := importFile(ctx, fs, tm.ID, report); err != nil {
		return err
	}
	fmt.Printf("import of %d findings: %.1f s\n", n, time.Since(start).Seconds())
	_ = os.Remove(report)

	return measure(ctx, svc, fs, tm.ID, checks, work, clients, dur)
}

func measure(ctx context.Context, svc *compliance.Service, fs *findings.Store, teamID string, checks []string, work string, clients int,
	dur time.Duration) error {
	r := rand.New(rand.NewPCG(3, 4)) //nolint:gosec // reproducible test data
	tm := struct{ ID string }{teamID}
	var start time.Time
	if work == "" {
		work = os.TempDir()
	}
	for i := range 3 {
		start = time.Now()
		if _, err := fs.CheckResults(ctx, tm.ID, nil); err != nil {
			return err
		}
		cr := time.Since(start)
		start = time.Now()
		res, err := svc.Engine.Sync(ctx, tm.ID, nil)
		if err != nil {
			return err
		}
		fmt.Printf("full sync %d: %d ms (%d controls; CheckResults alone %d ms); overall %.2f\n", i+1, time.Since(start).Milliseconds(),
			res.ControlsTouched, cr.Milliseconds(), deref(res.Overall.Score))
	}

	// Incremental: 1,000 findings of a new account (a scope of its own, so
	// the import resolves nothing elsewhere), then a sync of their checks.
	for i := range 3 {
		small := filepath.Join(work, fmt.Sprintf("small-%d.json", i))
		if err := writeReport(small, 1000, checks[:20+i*10], r, 1, 900000000000+int(time.Now().UnixNano()%99999999)); err != nil {
			return err
		}
		if err := importFile(ctx, fs, tm.ID, small); err != nil {
			return err
		}
		start = time.Now()
		res, err := svc.Engine.Sync(ctx, tm.ID, checks[:20+i*10])
		if err != nil {
			return err
		}
		took := time.Since(start)
		start = time.Now()
		if _, err := fs.CheckResults(ctx, tm.ID, checks[:20+i*10]); err != nil {
			return err
		}
		fmt.Printf("incremental sync %d after a 1,000-finding import (%d checks): %d ms, %d controls (then CheckResults of those checks alone: %d ms)\n",
			i+1, 20+i*10, took.Milliseconds(), res.ControlsTouched, time.Since(start).Milliseconds())
	}

	// The overview at N clients.
	var mu sync.Mutex
	var lat []time.Duration
	deadline := time.Now().Add(dur)
	var wg sync.WaitGroup
	var firstErr error
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				t0 := time.Now()
				_, err := svc.Overview(ctx, tm.ID, 30)
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
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	pct := func(p float64) time.Duration { return lat[int(float64(len(lat)-1)*p)] }
	fmt.Printf("overview at %d clients: %d requests in %s, p50 %.1f ms, p95 %.1f ms, p99 %.1f ms\n", clients, len(lat), dur,
		ms(pct(0.5)), ms(pct(0.95)), ms(pct(0.99)))
	return nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func deref(p *float64) float64 {
	if p == nil {
		return -1
	}
	return *p
}

func importFile(ctx context.Context, fs *findings.Store, teamID, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = fs.Import(ctx, f, findings.ImportParams{TeamID: teamID, Filename: filepath.Base(path), Format: "prowler-ocsf"})
	return err
}

var regions = []string{"eu-west-1", "us-east-1", "us-west-2", "ap-southeast-1"}

// writeReport writes n small Prowler OCSF findings; account0, when set,
// puts them all in that one account.
func writeReport(path string, n int, checks []string, r *rand.Rand, accounts, account0 int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	w := bufio.NewWriterSize(f, 1<<20)
	_, _ = w.WriteString("[")
	enc := json.NewEncoder(w)
	for i := range n {
		c := checks[r.IntN(len(checks))]
		acct := 111122223333 + r.IntN(accounts)*1111
		if account0 != 0 {
			acct = account0
		}
		account := fmt.Sprintf("%012d", acct)
		region := regions[r.IntN(len(regions))]
		svc := c[:strings.IndexByte(c+"_", '_')]
		resource := fmt.Sprintf("arn:aws:%s:%s:%s:resource/%s-%07d", svc, region, account, svc, i)
		status := "FAIL"
		switch x := r.IntN(10); {
		case x < 5:
			status = "PASS"
		case x == 9:
			status = "MANUAL"
		}
		doc := map[string]any{
			"message": c + " " + status, "severity_id": 1 + r.IntN(5), "status_code": status, "status_detail": c + " " + status,
			"metadata":     map[string]any{"event_code": c, "product": map[string]any{"name": "Prowler", "uid": "prowler"}, "version": "1.4.0"},
			"finding_info": map[string]any{"uid": "prowler-aws-" + c + "-" + account + "-" + region + "-" + resource, "title": "Ensure " + c, "desc": "Check " + c},
			"resources":    []any{map[string]any{"uid": resource, "name": resource[strings.LastIndexByte(resource, '/')+1:], "region": region, "type": "Other", "group": map[string]any{"name": svc}}},
			"class_uid":    2004,
			"cloud":        map[string]any{"account": map[string]any{"uid": account, "type": "AWS Account"}, "provider": "aws", "region": region},
			"remediation":  map[string]any{"desc": "Fix " + c},
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
