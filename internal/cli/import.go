package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/offloadsecurity/cspm/internal/db"
	"github.com/offloadsecurity/cspm/internal/findings"
	"github.com/offloadsecurity/cspm/internal/id"
	"github.com/offloadsecurity/cspm/internal/imports"
)

// runImport imports one report synchronously: `cspm import --team T
// [--format F] [--json] FILE`. It prints the same counts as the API.
func runImport(env Env, args []string) error {
	var teamName, format string
	var asJSON bool
	a, rest, err := openAdmin(env, "import", args, func(b *flagSetBinding) {
		b.StringVar(&teamName, "team", "", "team NAME the findings belong to")
		b.StringVar(&format, "format", "", "force a format instead of detecting it (prowler-ocsf, prowler-csv, trivy, grype, nmap, zap, nuclei, wapiti, sarif, powerpipe)")
		b.BoolVar(&asJSON, "json", false, "print the result as JSON")
	})
	if err != nil {
		return err
	}
	defer a.Close()
	if teamName == "" || len(rest) != 1 {
		return usagef("import: want --team NAME and one FILE")
	}
	if err := imports.CheckFormat(format); err != nil {
		return usagef("import: %v", err)
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
	f, err := os.Open(rest[0])
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if st.Size() > a.Config.ImportMaxBytes {
		return fmt.Errorf("%s is %d bytes, over the %d-byte limit (import_max_bytes)", rest[0], st.Size(), a.Config.ImportMaxBytes)
	}

	// Keep the raw report as an artifact, written while it is parsed, in
	// the store the server reads (a directory or an S3 bucket).
	scanID := id.New()
	store := a.Artifacts
	pr, pw := io.Pipe()
	key := t.ID + "/" + scanID + "/report"
	stored := make(chan error, 1)
	go func() {
		_, err := store.Put(context.Background(), key, pr, a.Config.ImportMaxBytes)
		_ = pr.CloseWithError(err)
		stored <- err
	}()
	progress := func(int) {}
	if isTerminalWriter(env.Stderr) && !asJSON {
		start := time.Now()
		progress = func(n int) {
			fmt.Fprintf(env.Stderr, "\r%s: %d items read (%.0f/s)", filepath.Base(rest[0]), n, float64(n)/max(time.Since(start).Seconds(), 0.001))
		}
	}
	res, err := a.Findings.Import(ctx, io.TeeReader(f, pw), findings.ImportParams{TeamID: t.ID, ScanID: scanID, Format: format,
		Filename: filepath.Base(rest[0]), ArtifactRef: key, CreatedBy: "cli", Progress: progress})
	_, _ = io.Copy(pw, f) // the parser may stop before the end (an error); finish the artifact anyway
	_ = pw.Close()
	if serr := <-stored; serr != nil && err == nil {
		err = fmt.Errorf("store the raw report: %w", serr)
	}
	if isTerminalWriter(env.Stderr) && !asJSON {
		fmt.Fprintln(env.Stderr)
	}
	if err != nil {
		return err
	}
	if asJSON {
		return json.NewEncoder(env.Stdout).Encode(res)
	}
	fmt.Fprintf(env.Stdout, "imported %s as %s (scan %s): %d items read, %d findings created, %d updated, %d unchanged, %d resolved\n",
		rest[0], res.Format, res.ScanID, res.ItemsRead, res.FindingsCreated, res.FindingsUpdated, res.FindingsUnchanged, res.FindingsResolved)
	return nil
}

func isTerminalWriter(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
