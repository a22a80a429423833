package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/offloadsecurity/cspm/internal/db"
	"github.com/offloadsecurity/cspm/internal/knowledge"
)

// runKB is `cspm kb import --team NAME [--tags T] FILE...`: a bulk load of
// policy documents into a team's knowledge base. Every file is checked
// before any is kept, as an upload of several files is; each is then
// chunked and indexed at once, and its vectors follow in the background
// (the kb_embed job) when the team has an embedding provider.
func runKB(env Env, args []string) error {
	if len(args) == 0 || args[0] != "import" {
		return usagef("kb: want a subcommand: import --team NAME [--tags T] FILE...")
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
		return usagef("kb import: want --team NAME and at least one FILE")
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
	bodies := make([][]byte, len(rest))
	for i, path := range rest {
		if bodies[i], err = os.ReadFile(path); err != nil {
			return err
		}
		if err := knowledge.CheckFile(filepath.Base(path), bodies[i], a.Knowledge.MaxBytes()); err != nil {
			return fmt.Errorf("%s: %w (nothing was imported)", path, err)
		}
	}
	for i, path := range rest {
		res, err := a.Knowledge.DocumentUpload(ctx, t.ID, knowledge.UploadParams{Name: filepath.Base(path), Tags: tagList,
			Body: strings.NewReader(string(bodies[i])), Actor: cliActor})
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		d := res.Document
		if !res.Changed {
			fmt.Fprintf(env.Stdout, "%s: unchanged (version %d)\n", d.Name, d.Version)
			continue
		}
		if err := a.Knowledge.ProcessDocument(ctx, t.ID, d.ID, d.Version); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		if d, err = a.Knowledge.DocumentGet(ctx, t.ID, d.ID); err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "%s: version %d, %s, %d passages\n", d.Name, d.Version, d.Status, d.Chunks)
	}
	return nil
}
