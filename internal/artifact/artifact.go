// Package artifact keeps the raw outputs of scans and imports, so that a
// finding can always be traced to the file it came from. This is the local
// directory store; S3 and MinIO come with scan orchestration.
package artifact

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/offloadsecurity/cspm/internal/db"
)

// ErrTooLarge means the object exceeded the size limit; nothing was kept.
var ErrTooLarge = errors.New("artifact larger than the limit")

// Object describes a stored artifact. A caller that needs a digest of what
// it stores computes it from what it sends (imports.Service does, for the
// audit log): stores do not hash, as most artifacts are copied straight
// from a file whose digest nobody reads, and hashing a 400 MB report cost
// a fifth of the CPU of importing it again.
type Object struct {
	Key  string `json:"key"`
	Size int64  `json:"size"`
}

// Store keeps artifacts by key.
type Store interface {
	Put(ctx context.Context, key string, r io.Reader, maxBytes int64) (Object, error)
	Open(ctx context.Context, key string) (io.ReadCloser, error)
	Delete(ctx context.Context, key string) error
}

// Local stores artifacts as files under a directory.
type Local struct{ dir string }

// NewLocal returns a store rooted at dir, creating it (mode 0700).
func NewLocal(dir string) (*Local, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("artifact directory: %w", err)
	}
	return &Local{dir: dir}, nil
}

var safeKey = regexp.MustCompile(`^[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*$`)

func (l *Local) path(key string) (string, error) {
	if !safeKey.MatchString(key) || strings.Contains(key, "..") {
		return "", fmt.Errorf("artifact: invalid key %q", key)
	}
	return filepath.Join(l.dir, filepath.FromSlash(key)), nil
}

// Put writes r to key through a temporary file, so that a failed or
// oversized upload leaves nothing behind. A regular file is copied by the
// kernel (copy_file_range), without passing through this process.
func (l *Local) Put(ctx context.Context, key string, r io.Reader, maxBytes int64) (Object, error) {
	p, err := l.path(key)
	if err != nil {
		return Object{}, err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return Object{}, err
	}
	tmp, err := os.CreateTemp(filepath.Dir(p), ".upload-*")
	if err != nil {
		return Object{}, err
	}
	defer os.Remove(tmp.Name()) // a no-op after the rename
	limit := maxBytes
	if limit <= 0 {
		limit = 1<<63 - 1
	}
	// Reads of a regular file are not worth interrupting (and wrapping the
	// file would stop the kernel copy); an upload's or a pipe's are.
	src := io.Reader(&ctxReader{ctx, r})
	if f, ok := r.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
			src = f
		}
	}
	n, err := io.Copy(tmp, io.LimitReader(src, limit))
	if err == nil && maxBytes > 0 && n == maxBytes {
		// Exactly at the limit: there must be nothing more to read.
		var one [1]byte
		if m, _ := r.Read(one[:]); m > 0 {
			err = ErrTooLarge
		}
	}
	if err == nil {
		err = ctx.Err()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return Object{}, err
	}
	if err := os.Rename(tmp.Name(), p); err != nil {
		return Object{}, err
	}
	return Object{Key: key, Size: n}, nil
}

// Open reads an artifact.
func (l *Local) Open(_ context.Context, key string) (io.ReadCloser, error) {
	p, err := l.path(key)
	if err != nil {
		return nil, err
	}
	return os.Open(p)
}

// Delete removes an artifact; a missing one is not an error.
func (l *Local) Delete(_ context.Context, key string) error {
	p, err := l.path(key)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// Ref is a stored artifact and the row, of a team, that points at it.
type Ref struct {
	RowID, TeamID, Key string
}

// Expire deletes artifacts batch by batch until next returns none: next
// lists the next batch of expired references, forget clears a row's
// reference once its artifact is gone. It returns how many it deleted.
func Expire(ctx context.Context, store Store, next func(context.Context) ([]Ref, error), forget func(context.Context, Ref) error) (int, error) {
	n := 0
	for {
		batch, err := next(ctx)
		if err != nil || len(batch) == 0 {
			return n, err
		}
		for _, ref := range batch {
			if err := store.Delete(ctx, ref.Key); err != nil {
				return n, fmt.Errorf("delete artifact %s: %w", ref.Key, err)
			}
			if err := forget(ctx, ref); err != nil {
				return n, err
			}
			n++
		}
	}
}

// QueryRefs runs a query whose rows are (row ID, team ID, artifact key).
func QueryRefs(ctx context.Context, q db.Querier, query string, args ...any) ([]Ref, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Ref
	for rows.Next() {
		var r Ref
		if err := rows.Scan(&r.RowID, &r.TeamID, &r.Key); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}
