package cli

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/offloadsecurity/cspm/internal/db"
	"github.com/offloadsecurity/cspm/internal/knowledge"
)

// runKB is `cspm kb import --team NAME [--tags T] FILE|DIR|ZIP...`: a bulk
// load of policy documents into a team's knowledge base. Every file is
// checked before any is kept, as an upload of several files is (a folder's
// or zip's files that are not documents are skipped and listed); each is then
// chunked and indexed at once, and its vectors follow in the background
// (the kb_embed job) when the team has an embedding provider.
func runKB(env Env, args []string) error {
	if len(args) == 0 || args[0] != "import" {
		return usagef("kb: want a subcommand: import --team NAME [--tags T] FILE|DIR|ZIP...")
	}
	var teamName, tags string
	a, rest, err := openAdmin(env, "kb import", args[1:], func(b *flagSetBinding) {
		b.StringVar(&teamName, "team", "", "team NAME the documents belong to")
		b.StringVar(&tags, "tags", "", "comma-separated tags for every document")
	})
	if err != nil {
		return err
	}
	defer a.Close()
	if teamName == "" || len(rest) == 0 {
		return usagef("kb import: want --team NAME and at least one FILE, DIR or ZIP")
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
	var tagList []string
	if tags != "" {
		tagList = strings.Split(tags, ",")
		if _, err := knowledge.CleanTags(tagList); err != nil {
			return usagef("kb import: %v", err)
		}
	}
	// Files named on the command line must all pass, or nothing is kept;
	// the files of a folder or zip named there that are not documents are
	// listed as skipped, as an upload of an archive lists them.
	type doc struct {
		name     string
		body     []byte
		keepPath bool
	}
	var docs []doc
	maxBytes := a.Knowledge.MaxBytes()
	for _, path := range rest {
		var bundle []knowledge.BundleFile
		info, err := os.Stat(path)
		if err != nil {
			return err
		}
		if info.IsDir() {
			var skipped []knowledge.Skipped
			if bundle, skipped, err = readFolder(path, maxBytes); err != nil {
				return err
			}
			printSkipped(env, path, skipped)
		} else {
			body, err := readLimited(path, maxBytes)
			if err != nil {
				return fmt.Errorf("%s: %w (nothing was imported)", path, err)
			}
			if !knowledge.IsZip(path, body) {
				if err := knowledge.CheckFile(filepath.Base(path), body, maxBytes); err != nil {
					return fmt.Errorf("%s: %w (nothing was imported)", path, err)
				}
				docs = append(docs, doc{filepath.Base(path), body, false})
				continue
			}
			var skipped []knowledge.Skipped
			if bundle, skipped, err = knowledge.ExpandZip(body, maxBytes); err != nil {
				return fmt.Errorf("%s: %w (nothing was imported)", path, err)
			}
			printSkipped(env, path, skipped)
		}
		ok, skipped := knowledge.PrepareBundle(bundle, maxBytes)
		printSkipped(env, path, skipped)
		for _, f := range ok {
			docs = append(docs, doc{f.Path, f.Body, true})
		}
	}
	for _, f := range docs {
		up := knowledge.UploadParams{Name: f.name, Tags: tagList, Body: bytes.NewReader(f.body), Actor: cliActor, KeepPath: f.keepPath}
		if f.keepPath {
			up.Tags = knowledge.BundleTags(tagList, f.name)
		}
		res, err := a.Knowledge.DocumentUpload(ctx, t.ID, up)
		if err != nil {
			return fmt.Errorf("%s: %w", f.name, err)
		}
		d := res.Document
		if !res.Changed {
			fmt.Fprintf(env.Stdout, "%s: unchanged (version %d)\n", d.Name, d.Version)
			continue
		}
		if err := a.Knowledge.ProcessDocument(ctx, t.ID, d.ID, d.Version); err != nil {
			return fmt.Errorf("%s: %w", f.name, err)
		}
		if d, err = a.Knowledge.DocumentGet(ctx, t.ID, d.ID); err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "%s: version %d, %s, %d passages\n", d.Name, d.Version, d.Status, d.Chunks)
	}
	return nil
}

func printSkipped(env Env, root string, skipped []knowledge.Skipped) {
	for _, s := range skipped {
		fmt.Fprintf(env.Stdout, "%s: skipped %s: %s\n", root, s.Name, s.Reason)
	}
}

// readLimited reads a file of at most limit bytes.
func readLimited(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%w: larger than the %d-byte limit (kb_max_bytes)", knowledge.ErrTooLarge, limit)
	}
	return b, nil
}

// readFolder reads the files under dir, named by their path from it, with
// the limits of a zip archive: hidden files and folders (.git) are passed
// over, symbolic links are not followed, a file over the size limit is
// skipped (read only up to it).
func readFolder(dir string, maxBytes int64) ([]knowledge.BundleFile, []knowledge.Skipped, error) {
	var (
		out     []knowledge.BundleFile
		skipped []knowledge.Skipped
		total   int64
	)
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != dir && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		if len(out) == knowledge.ArchiveMaxEntries {
			return fmt.Errorf("%s: more than %d files (nothing was imported)", dir, knowledge.ArchiveMaxEntries)
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		body, err := readLimited(p, maxBytes)
		if errors.Is(err, knowledge.ErrTooLarge) {
			skipped = append(skipped, knowledge.Skipped{Name: filepath.ToSlash(rel), Reason: err.Error()})
			return nil
		}
		if err != nil {
			return err
		}
		if total += int64(len(body)); total > knowledge.ArchiveMaxTotalFactor*maxBytes {
			return fmt.Errorf("%s: more than %d bytes in all (nothing was imported)", dir, knowledge.ArchiveMaxTotalFactor*maxBytes)
		}
		out = append(out, knowledge.BundleFile{Path: filepath.ToSlash(rel), Body: body})
		return nil
	})
	return out, skipped, err
}
