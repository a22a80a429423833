package artifact

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLocalPutOpenAndLimits(t *testing.T) {
	dir := t.TempDir()
	l, err := NewLocal(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	obj, err := l.Put(ctx, "team/scan/report.json", strings.NewReader("hello"), 5)
	if err != nil || obj.Size != 5 || obj.Key != "team/scan/report.json" {
		t.Fatalf("put = %+v %v", obj, err)
	}
	rc, err := l.Open(ctx, obj.Key)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(rc)
	rc.Close()
	if string(b) != "hello" {
		t.Fatalf("read %q", b)
	}
	if _, err := l.Put(ctx, "team/scan/big.json", strings.NewReader("hello!"), 5); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("oversized put = %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "team/scan/big.json")); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("an oversized upload left a file")
	}
	entries, _ := os.ReadDir(filepath.Join(dir, "team/scan"))
	if len(entries) != 1 {
		t.Fatalf("left %d files (temporary files not cleaned)", len(entries))
	}
	for _, bad := range []string{"../etc/passwd", "/abs", "a/../../b", "a//b", ""} {
		if _, err := l.Put(ctx, bad, strings.NewReader("x"), 0); err == nil {
			t.Errorf("key %q accepted", bad)
		}
	}
}

// A regular file is copied by the kernel: the same bytes, and the same
// limits and refusals as a stream.
func TestLocalPutFromAFile(t *testing.T) {
	dir := t.TempDir()
	l, err := NewLocal(filepath.Join(dir, "store"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	data := []byte(strings.Repeat("0123456789abcdef", 1<<16) + "tail") // 1 MiB and a bit
	src := filepath.Join(dir, "report.json")
	if err := os.WriteFile(src, data, 0o600); err != nil {
		t.Fatal(err)
	}
	put := func(ctx context.Context, key string, limit int64) (Object, error) {
		f, err := os.Open(src)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		return l.Put(ctx, key, f, limit)
	}
	obj, err := put(ctx, "t/s/report", int64(len(data)))
	if err != nil || obj.Size != int64(len(data)) {
		t.Fatalf("put at the exact limit = %+v %v", obj, err)
	}
	rc, err := l.Open(ctx, obj.Key)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(rc)
	rc.Close()
	if string(got) != string(data) {
		t.Fatalf("stored %d bytes that differ from the file's %d", len(got), len(data))
	}
	if _, err := put(ctx, "t/s/over", int64(len(data))-1); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("a file over the limit = %v", err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := put(cancelled, "t/s/cancelled", 0); !errors.Is(err, context.Canceled) {
		t.Fatalf("a cancelled put = %v", err)
	}
	entries, _ := os.ReadDir(filepath.Join(dir, "store", "t", "s"))
	if len(entries) != 1 {
		t.Fatalf("left %d files, want only the report", len(entries))
	}
}
