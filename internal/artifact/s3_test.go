package artifact

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// s3Store starts an in-process S3 server with one bucket.
func s3Store(t *testing.T) (*S3, *s3mem.Backend) {
	t.Helper()
	backend := s3mem.New()
	if err := backend.CreateBucket("evidence"); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gofakes3.New(backend).Server())
	t.Cleanup(srv.Close)
	s, err := NewS3(context.Background(), S3Config{Endpoint: srv.URL, Region: "us-east-1", Bucket: "evidence", Prefix: "cspm",
		AccessKey: "minio", SecretKey: "minio-secret"})
	if err != nil {
		t.Fatal(err)
	}
	return s, backend
}

// Every store behaves the same: the local directory and S3.
func TestStoreConformance(t *testing.T) {
	stores := map[string]func(t *testing.T) Store{
		"local": func(t *testing.T) Store {
			l, err := NewLocal(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			return l
		},
		"s3": func(t *testing.T) Store { s, _ := s3Store(t); return s },
	}
	for name, open := range stores {
		t.Run(name, func(t *testing.T) {
			s := open(t)
			ctx := context.Background()
			// Bigger than one 16 MiB part, so S3 uploads in parts.
			big := make([]byte, 17<<20+123)
			_, _ = rand.Read(big)
			obj, err := s.Put(ctx, "team/scans/run/sub-prowler.json", bytes.NewReader(big), 64<<20)
			if err != nil || obj.Size != int64(len(big)) {
				t.Fatalf("put = %+v %v", obj, err)
			}
			rc, err := s.Open(ctx, obj.Key)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(rc)
			rc.Close()
			if !bytes.Equal(got, big) {
				t.Fatalf("read back %d bytes, not what was stored", len(got))
			}
			// Exactly at the limit passes; one byte over is refused and leaves nothing.
			if _, err := s.Put(ctx, "team/x/exact", strings.NewReader("12345"), 5); err != nil {
				t.Fatalf("exact limit: %v", err)
			}
			if _, err := s.Put(ctx, "team/x/over", strings.NewReader("123456"), 5); !errors.Is(err, ErrTooLarge) {
				t.Fatalf("over the limit: %v", err)
			}
			if _, err := s.Open(ctx, "team/x/over"); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("an oversized upload left an object: %v", err)
			}
			for _, bad := range []string{"../etc/passwd", "/abs", "a/../../b", "a//b", ""} {
				if _, err := s.Put(ctx, bad, strings.NewReader("x"), 0); err == nil {
					t.Errorf("key %q accepted", bad)
				}
			}
			if err := s.Delete(ctx, obj.Key); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Open(ctx, obj.Key); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("deleted artifact opens: %v", err)
			}
			if err := s.Delete(ctx, obj.Key); err != nil {
				t.Fatalf("deleting twice: %v", err)
			}
		})
	}
}

func TestS3KeysLiveUnderThePrefix(t *testing.T) {
	s, backend := s3Store(t)
	if _, err := s.Put(context.Background(), "team/a.json", strings.NewReader("{}"), 0); err != nil {
		t.Fatal(err)
	}
	if _, err := backend.HeadObject("evidence", "cspm/team/a.json"); err != nil {
		t.Fatalf("object not under the prefix: %v", err)
	}
	if _, err := NewS3(context.Background(), S3Config{Endpoint: "ftp://x", Bucket: "b"}); err == nil {
		t.Fatal("bad endpoint accepted")
	}
}
