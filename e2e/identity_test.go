package e2e

import (
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func login(t *testing.T, base, email, password string) int {
	t.Helper()
	b, _ := json.Marshal(map[string]string{"email": email, "password": password})
	res, err := http.Post(base+"/api/v1/auth/login", "application/json", strings.NewReader(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

// A first start creates a team and an ADMIN and prints the one-time password
// once; the next start does not.
func TestFirstStartBootstrapsAnAdminOnce(t *testing.T) {
	t.Parallel()
	env := []string{"CSPM_DATA_DIR=" + t.TempDir(), "CSPM_ADDR=127.0.0.1:0", "CSPM_COOKIE_SECURE=false"}
	p := start(t, env, "serve")
	out := p.stdout.String()
	var password string
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) == 2 && f[0] == "password:" {
			password = f[1]
		}
	}
	if !strings.Contains(out, "admin@cspm.local") || password == "" {
		t.Fatalf("no bootstrap credentials printed:\n%s", out)
	}
	if s := login(t, p.url, "admin@cspm.local", password); s != 200 {
		t.Fatalf("login with the printed password = %d", s)
	}
	if strings.Contains(p.stderr.String(), password) {
		t.Fatal("the one-time password was written to the log")
	}
	p.stop(syscall.SIGTERM, 30*time.Second)
	again := start(t, env, "serve")
	if strings.Contains(again.stdout.String(), "password:") {
		t.Fatalf("second start printed credentials again:\n%s", again.stdout.String())
	}
}

func TestTeamUserCommandsAndLegacyImport(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	env := []string{"CSPM_DATA_DIR=" + dir}
	if code, out, stderr := run(t, env, "team", "create", "Blue Team"); code != 0 || !strings.Contains(out, `created team "Blue Team"`) {
		t.Fatalf("team create = %d %s %s", code, out, stderr)
	}
	if code, _, stderr := run(t, env, "team", "create", "Blue Team"); code != 1 || !strings.Contains(stderr, "already exists") {
		t.Fatalf("duplicate team = %d %s", code, stderr)
	}

	// --password-stdin
	cmdEnv := append(env, "X=1")
	code, out, stderr := runStdin(t, cmdEnv, "analyst-password-42\n", "user", "create", "--team", "Blue Team", "--email", "Ana@Example.com", "--role", "SECURITY_ANALYST", "--password-stdin")
	if code != 0 || !strings.Contains(out, "created user ana@example.com") || strings.Contains(out, "one-time") {
		t.Fatalf("user create = %d %s %s", code, out, stderr)
	}
	code, _, stderr = runStdin(t, cmdEnv, "password1234\n", "user", "create", "--team", "Blue Team", "--email", "weak@example.com", "--role", "VIEWER", "--password-stdin")
	if code != 1 || !strings.Contains(stderr, "commonly used") {
		t.Fatalf("weak password = %d %s", code, stderr)
	}
	if code, _, stderr := run(t, env, "user", "create", "--team", "Blue Team", "--email", "x@example.com", "--role", "ROOT"); code != 2 || !strings.Contains(stderr, "unknown role") {
		t.Fatalf("bad role = %d %s", code, stderr)
	}

	// Users of the older system keep their passwords: legacy 100,000-iteration hashes.
	legacy := func(pw, salt string) string {
		key, _ := pbkdf2.Key(sha256.New, pw, []byte(salt), 100000, 32)
		return "pbkdf2_sha256$100000$" + salt + "$" + base64.StdEncoding.EncodeToString(key)
	}
	good := filepath.Join(dir, "users.jsonl")
	lines := `{"email":"old.admin@example.com","team":"Blue Team","role":"ADMIN","password_hash":"` + legacy("old-admin-secret-1", "s1") + `"}
{"email":"old.viewer@example.com","team":"Blue Team","role":"VIEWER","password_hash":"` + legacy("old-viewer-secret-2", "s2") + `"}
`
	if err := os.WriteFile(good, []byte(lines), 0o600); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.jsonl")
	if err := os.WriteFile(bad, []byte(`{"email":"new1@example.com","team":"Blue Team","role":"VIEWER","password_hash":"`+legacy("x-secret-123456", "s3")+`"}
{"email":"new2@example.com","team":"Blue Team","role":"VIEWER","password_hash":"md5$abc"}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := run(t, env, "user", "import", bad); code != 1 || !strings.Contains(stderr, "line 2: password_hash") {
		t.Fatalf("bad import = %d %s", code, stderr)
	}
	if code, out, stderr := run(t, env, "user", "import", good); code != 0 || !strings.Contains(out, "imported 2 users") {
		t.Fatalf("import = %d %s %s", code, out, stderr)
	}

	p := start(t, append(env, "CSPM_ADDR=127.0.0.1:0", "CSPM_COOKIE_SECURE=false"), "serve")
	if s := login(t, p.url, "new1@example.com", "x-secret-123456"); s != 401 {
		t.Fatalf("a user from the rejected file exists: login = %d", s)
	}
	for email, pw := range map[string]string{"old.admin@example.com": "old-admin-secret-1", "old.viewer@example.com": "old-viewer-secret-2", "ana@example.com": "analyst-password-42"} {
		if s := login(t, p.url, email, pw); s != 200 {
			t.Errorf("login %s = %d", email, s)
		}
	}
}
