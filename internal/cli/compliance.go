package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"github.com/offloadsecurity/cspm/internal/compliance"
	"github.com/offloadsecurity/cspm/internal/db"
)

// runSCF is `cspm scf import [--json] FILE`: the official SCF workbook.
func runSCF(env Env, args []string) error {
	return runContentImport(env, "scf", args, true)
}

// runFrameworks is `cspm frameworks import [--json] FILE`: a framework
// library (YAML), a Prowler compliance map (JSON) or an SCF workbook.
func runFrameworks(env Env, args []string) error {
	return runContentImport(env, "frameworks", args, false)
}

func runContentImport(env Env, name string, args []string, scfOnly bool) error {
	if len(args) == 0 || args[0] != "import" {
		return usagef("%s: want a subcommand: import [--json] FILE", name)
	}
	var asJSON bool
	a, rest, err := openAdmin(env, name+" import", args[1:], func(b *flagSetBinding) {
		b.BoolVar(&asJSON, "json", false, "print what was loaded as JSON")
	})
	if err != nil {
		return err
	}
	defer a.Close()
	if len(rest) != 1 {
		return usagef("%s import: want one FILE", name)
	}
	f, err := os.Open(rest[0])
	if err != nil {
		return err
	}
	defer f.Close()
	ctx, stop := env.Signals()
	defer stop()
	var res compliance.ContentImportResult
	if scfOnly {
		res, err = a.Compliance.ImportSCF(ctx, f, cliActor)
	} else {
		res, err = a.Compliance.ImportFile(ctx, f, cliActor)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", rest[0], err)
	}
	changed := false
	for _, it := range res.Items {
		changed = changed || it.Outcome != "unchanged"
	}
	if changed {
		// Every team is scored again on the new content by the workers.
		if _, err := a.Queue.Insert(ctx, compliance.SnapshotArgs{Force: true}, nil); err != nil {
			fmt.Fprintf(env.Stderr, "cspm: the content is loaded, but no re-scoring job could be queued: %v\n", err)
		}
	}
	if asJSON {
		return json.NewEncoder(env.Stdout).Encode(res)
	}
	for _, it := range res.Items {
		fmt.Fprintf(env.Stdout, "%s %s (%s): %s, version %s, %d nodes, %d assessable, %d domains, %d mappings\n",
			it.Kind, it.URN, it.Name, it.Outcome, orDash(it.Version), it.Nodes, it.Assessable, it.Domains, it.Mappings)
		if it.Diff != nil {
			fmt.Fprintf(env.Stdout, "  since SCF %s: %d controls added, %d removed, %d changed\n", it.PreviousVersion,
				len(it.Diff.Added), len(it.Diff.Removed), len(it.Diff.Changed))
		}
	}
	return nil
}

// runCompliance is `cspm compliance sync --team NAME [--json]`: a full
// sync of the team, printing each framework's score.
func runCompliance(env Env, args []string) error {
	if len(args) == 0 || args[0] != "sync" {
		return usagef("compliance: want a subcommand: sync --team NAME [--json]")
	}
	var teamName string
	var asJSON bool
	a, rest, err := openAdmin(env, "compliance sync", args[1:], func(b *flagSetBinding) {
		b.StringVar(&teamName, "team", "", "team NAME to score")
		b.BoolVar(&asJSON, "json", false, "print the result as JSON")
	})
	if err != nil {
		return err
	}
	defer a.Close()
	if teamName == "" || len(rest) != 0 {
		return usagef("compliance sync: want --team NAME")
	}
	ctx, stop := env.Signals()
	defer stop()
	t, err := a.Teams.TeamGetByName(ctx, teamName)
	if errors.Is(err, db.ErrNotFound) {
		return fmt.Errorf("no team named %q", teamName)
	}
	if err != nil {
		return err
	}
	res, err := a.Compliance.Engine.Sync(ctx, t.ID, nil)
	if err != nil {
		return err
	}
	if asJSON {
		return json.NewEncoder(env.Stdout).Encode(res)
	}
	score := func(p *float64) string {
		if p == nil {
			return "not assessed"
		}
		return fmt.Sprintf("%.2f", *p)
	}
	fmt.Fprintf(env.Stdout, "overall %s (%d controls scored in %d ms)\n", score(res.Overall.Score), res.ControlsTouched, res.DurationMS)
	for _, f := range res.Frameworks {
		fmt.Fprintf(env.Stdout, "%-12s %s %s\n", score(f.Score), f.Name, orDash(f.Version))
	}
	return nil
}
