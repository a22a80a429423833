package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/offloadsecurity/cspm/internal/db"
	"github.com/offloadsecurity/cspm/internal/findings"
	"github.com/offloadsecurity/cspm/internal/id"
	"github.com/offloadsecurity/cspm/internal/imports"
	"github.com/offloadsecurity/cspm/internal/ingest"
)

// runImport imports one report synchronously: `cspm import --team T
// [--format F] [--scope S] [--json] FILE`. It prints the same counts as the
// API. With --server it uploads to a remote platform instead (remote_import.go).
func runImport(env Env, args []string) error {
	if wantsRemote(args) {
		return runRemoteImport(env, args)
	}
	var teamName, format, scope string
	var asJSON bool
	a, rest, err := openAdmin(env, "import", args, func(b *flagSetBinding) {
		b.StringVar(&teamName, "team", "", "team NAME the findings belong to")
		b.StringVar(&format, "format", "", "force a format instead of detecting it ("+strings.Join(ingest.FormatNames(), ", ")+")")
		b.StringVar(&scope, "scope", "", "what the scan covered, even if the report is empty: target=HOST|URL|IMAGE, or account=ID,region=R; its findings the report does not list are resolved")
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
	covers, err := findings.ParseCoverage(scope)
	if err != nil {
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

	// Keep the raw report as an artifact, in the store the server reads (a
	// directory or an S3 bucket), beside the import. A regular file is
	// stored from a handle of its own on the same file, which a local store
	// copies in the kernel; a pipe is stored as the parser reads it.
	scanID := id.New()
	key := t.ID + "/" + scanID + "/report"
	report, artifactSrc, finishArtifact, err := artifactSource(f, st)
	if err != nil {
		return err
	}
	stored := make(chan error, 1)
	go func() {
		_, err := a.Artifacts.Put(context.Background(), key, artifactSrc, a.Config.ImportMaxBytes)
		if pr, ok := artifactSrc.(*io.PipeReader); ok {
			_ = pr.CloseWithError(err) // a failed store must not block the parser's reads
		} else if c, ok := artifactSrc.(io.Closer); ok {
			_ = c.Close()
		}
		stored <- err
	}()
	progress := func(int) {}
	if isTerminalWriter(env.Stderr) && !asJSON {
		start := time.Now()
		progress = func(n int) {
			fmt.Fprintf(env.Stderr, "\r%s: %d items read (%.0f/s)", filepath.Base(rest[0]), n, float64(n)/max(time.Since(start).Seconds(), 0.001))
		}
	}
	res, err := a.Findings.Import(ctx, report, findings.ImportParams{TeamID: t.ID, ScanID: scanID, Format: format,
		Filename: filepath.Base(rest[0]), ArtifactRef: key, CreatedBy: "cli", Progress: progress, Covers: covers})
	finishArtifact()
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
	fmt.Fprintf(env.Stdout, "imported %s as %s (scan %s): %d items read, %d findings created, %d updated, %d unchanged, %d resolved",
		rest[0], res.Format, res.ScanID, res.ItemsRead, res.FindingsCreated, res.FindingsUpdated, res.FindingsUnchanged, res.FindingsResolved)
	if res.DuplicatesFolded > 0 {
		fmt.Fprintf(env.Stdout, "; %d duplicate items folded into their finding", res.DuplicatesFolded)
	}
	fmt.Fprintln(env.Stdout)
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

// artifactSource returns what the import reads, what the artifact store
// reads, and what to call once the import is done. A regular file is read
// twice: a second handle on the same file (checked: not a file renamed over
// it in between; the store closes it) lets the store copy it without the
// parser's help. A pipe or a terminal can be read once: the parser's reads
// are copied to the store, and finish copies what the parser did not read
// (it stops early on an error), so that the artifact is the whole input.
func artifactSource(f *os.File, st os.FileInfo) (report, artifact io.Reader, finish func(), err error) {
	if st.Mode().IsRegular() {
		again, err := os.Open(f.Name())
		if err != nil {
			return nil, nil, nil, err
		}
		ast, err := again.Stat()
		if err == nil && !os.SameFile(st, ast) {
			err = fmt.Errorf("%s was replaced while it was being opened", f.Name())
		}
		if err != nil {
			_ = again.Close()
			return nil, nil, nil, err
		}
		return f, again, func() {}, nil
	}
	pr, pw := io.Pipe()
	return io.TeeReader(f, pw), pr, func() {
		_, _ = io.Copy(pw, f)
		_ = pw.Close()
	}, nil
}
