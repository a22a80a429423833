package cli

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/offloadsecurity/cspm/internal/audit"
	"github.com/offloadsecurity/cspm/internal/vuln"
)

// cliActor is who the audit log names for a change made from the command line.
var cliActor = audit.Event{ActorEmail: "cli"}

// runKEV is `cspm kev sync [--url U | --file F] [--json]` and `cspm kev status`.
func runKEV(env Env, args []string) error {
	if len(args) == 0 || (args[0] != "sync" && args[0] != "status") {
		return usagef("kev: want a subcommand: sync [--url U | --file F] | status")
	}
	var (
		url, file string
		asJSON    bool
		force     bool
	)
	a, rest, err := openAdmin(env, "kev "+args[0], args[1:], func(b *flagSetBinding) {
		if args[0] == "sync" {
			b.StringVar(&url, "url", "", "download the catalog from this URL instead of kev_url")
			b.StringVar(&file, "file", "", "read the catalog from this file (for machines without internet access)")
			b.BoolVar(&force, "force", false, "accept a catalog that removes more than 10% of the stored entries")
		}
		b.BoolVar(&asJSON, "json", false, "print the result as JSON")
	})
	if err != nil {
		return err
	}
	defer a.Close()
	if len(rest) != 0 {
		return usagef("kev %s: unexpected argument %q", args[0], rest[0])
	}
	ctx, stop := env.Signals()
	defer stop()
	if args[0] == "status" {
		st, err := a.Vulns.KEVStatusGet(ctx)
		if err != nil {
			return err
		}
		if asJSON {
			return json.NewEncoder(env.Stdout).Encode(st)
		}
		last := "never"
		if st.LastSync != nil {
			last = st.LastSync.Format("2006-01-02 15:04:05Z07:00")
		}
		fmt.Fprintf(env.Stdout, "catalog %s, %d entries, last sync %s from %s\n", orDash(st.CatalogVersion), st.Count, last, orDash(st.Source))
		if st.LastError != "" {
			fmt.Fprintf(env.Stdout, "last attempt failed: %s\n", st.LastError)
		}
		return nil
	}
	if url != "" && file != "" {
		return usagef("kev sync: give --url or --file, not both")
	}
	src := vuln.KEVSource{URL: url, File: file, Force: force}
	if url == "" && file == "" {
		if a.Config.KEVURL == "" {
			return usagef("kev sync: kev_url is empty: give --url or --file")
		}
		src.URL = a.Config.KEVURL
	}
	res, err := a.Vulns.EnrichWithKEV(ctx, src, cliActor)
	if err != nil {
		return fmt.Errorf("KEV sync failed, the last good catalog stays: %w", err)
	}
	if asJSON {
		return json.NewEncoder(env.Stdout).Encode(res)
	}
	fmt.Fprintf(env.Stdout, "KEV catalog %s: %d entries (%d added, %d removed, %d updated); %d vulnerabilities enriched, %d occurrences rescored\n",
		res.CatalogVersion, res.Count, len(res.Added), len(res.Removed), len(res.Updated), res.Enriched, res.Rescored)
	return nil
}

// runEPSS is `cspm epss import [--json] FILE`.
func runEPSS(env Env, args []string) error {
	if len(args) == 0 || args[0] != "import" {
		return usagef("epss: want a subcommand: import FILE")
	}
	var asJSON bool
	a, rest, err := openAdmin(env, "epss import", args[1:], func(b *flagSetBinding) {
		b.BoolVar(&asJSON, "json", false, "print the result as JSON")
	})
	if err != nil {
		return err
	}
	defer a.Close()
	if len(rest) != 1 {
		return usagef("epss import: want one FILE (the daily CSV, plain or gzipped)")
	}
	f, err := os.Open(rest[0])
	if err != nil {
		return err
	}
	defer f.Close()
	ctx, stop := env.Signals()
	defer stop()
	res, err := a.Vulns.ImportEPSS(ctx, f, "file:"+rest[0], cliActor)
	if err != nil {
		return fmt.Errorf("EPSS import failed, the last scores stay: %w", err)
	}
	if asJSON {
		return json.NewEncoder(env.Stdout).Encode(res)
	}
	fmt.Fprintf(env.Stdout, "EPSS %s of %s: %d scores; %d vulnerabilities scored, %d occurrences rescored\n",
		res.ModelVersion, res.ScoreDate, res.Count, res.Enriched, res.Rescored)
	return nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
