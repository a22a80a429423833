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
	if err != nil || obj.Size != 5 || obj.SHA256 != "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824" {
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
