package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/offloadsecurity/cspm/internal/app"
	"github.com/offloadsecurity/cspm/internal/auth"
	"github.com/offloadsecurity/cspm/internal/db"
	"github.com/offloadsecurity/cspm/internal/rbac"
)

// openAdmin opens the application without workers, for admin commands.
func openAdmin(env Env, name string, args []string, extra func(*flagSetBinding)) (*app.App, []string, error) {
	var bound *flagSetBinding
	cfg, err := setup(env, name, args, func(b *flagSetBinding) {
		bound = b
		b.allowArgs = true
		if extra != nil {
			extra(b)
		}
	})
	if err != nil {
		return nil, nil, err
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	a, err := app.Open(context.Background(), cfg, logger, false)
	if err != nil {
		return nil, nil, err
	}
	return a, bound.args, nil
}

func runTeam(env Env, args []string) error {
	if len(args) == 0 || args[0] != "create" {
		return usagef("team: want a subcommand: create NAME")
	}
	a, rest, err := openAdmin(env, "team create", args[1:], nil)
	if err != nil {
		return err
	}
	defer a.Close()
	if len(rest) != 1 {
		return usagef("team create: want exactly one NAME")
	}
	t, err := a.Teams.TeamCreate(context.Background(), rest[0])
	if errors.Is(err, db.ErrConflict) {
		return fmt.Errorf("team %q already exists", rest[0])
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "created team %q (%s)\n", t.Name, t.ID)
	return nil
}

func runUser(env Env, args []string) error {
	if len(args) == 0 {
		return usagef("user: want a subcommand: create or import")
	}
	switch args[0] {
	case "create":
		return runUserCreate(env, args[1:])
	case "import":
		return runUserImport(env, args[1:])
	}
	return usagef("user: unknown subcommand %q: want create or import", args[0])
}

func runUserCreate(env Env, args []string) error {
	var teamName, email, role string
	var passwordStdin bool
	a, _, err := openAdmin(env, "user create", args, func(b *flagSetBinding) {
		b.StringVar(&teamName, "team", "", "team NAME the user belongs to")
		b.StringVar(&email, "email", "", "email address (the sign-in name)")
		b.StringVar(&role, "role", "", "ADMIN, SECURITY_MANAGER, SECURITY_ANALYST, COMPLIANCE_OFFICER, AUDITOR or VIEWER")
		b.BoolVar(&passwordStdin, "password-stdin", false, "read the password from the first line of standard input; without it a one-time password is printed")
	})
	if err != nil {
		return err
	}
	defer a.Close()
	if teamName == "" || email == "" || role == "" {
		return usagef("user create: --team, --email and --role are required")
	}
	r, err := rbac.ParseRole(role)
	if err != nil {
		return usagef("user create: %v", err)
	}
	password := ""
	if passwordStdin {
		line, err := bufio.NewReader(env.Stdin).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("read password: %w", err)
		}
		if password = strings.TrimRight(line, "\r\n"); password == "" {
			return usagef("user create: --password-stdin read an empty password")
		}
	}
	ctx := context.Background()
	t, err := a.Teams.TeamGetByName(ctx, teamName)
	if errors.Is(err, db.ErrNotFound) {
		return fmt.Errorf("no team named %q (create it with 'cspm team create')", teamName)
	}
	if err != nil {
		return err
	}
	u, oneTime, err := a.Auth.UserCreate(ctx, nil, t.ID, auth.UserCreateRequest{Email: email, Role: r, Password: password})
	if errors.Is(err, db.ErrConflict) {
		return fmt.Errorf("a user with email %s already exists", auth.NormalizeEmail(email))
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "created user %s (%s) in team %q as %s\n", u.Email, u.ID, t.Name, u.Role)
	if oneTime != "" {
		fmt.Fprintf(env.Stdout, "one-time password (shown once): %s\n", oneTime)
	}
	return nil
}

// importLine is one user of an older system, with its password hash.
type importLine struct {
	Email        string `json:"email"`
	Team         string `json:"team"`
	Role         string `json:"role"`
	PasswordHash string `json:"password_hash"`
}

// runUserImport reads JSON lines and creates each user with their existing
// pbkdf2_sha256 hash. It checks every line before it writes anything, so a
// bad file changes nothing.
func runUserImport(env Env, args []string) error {
	a, rest, err := openAdmin(env, "user import", args, nil)
	if err != nil {
		return err
	}
	defer a.Close()
	if len(rest) != 1 {
		return usagef("user import: want exactly one FILE (JSON lines; - for standard input)")
	}
	in := env.Stdin
	if rest[0] != "-" {
		f, err := os.Open(rest[0])
		if err != nil {
			return err
		}
		defer f.Close()
		in = f
	}
	ctx := context.Background()
	type planned struct {
		line   int
		teamID string
		role   rbac.Role
		rec    importLine
	}
	var plan []planned
	teams := map[string]string{}
	seen := map[string]int{}
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		var rec importLine
		dec := json.NewDecoder(strings.NewReader(line))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&rec); err != nil {
			return fmt.Errorf("line %d: %w", n, err)
		}
		role, err := rbac.ParseRole(rec.Role)
		if err != nil {
			return fmt.Errorf("line %d: %w", n, err)
		}
		if err := auth.ValidateHash(rec.PasswordHash); err != nil {
			return fmt.Errorf("line %d: password_hash: %w", n, err)
		}
		email := auth.NormalizeEmail(rec.Email)
		if !strings.Contains(email, "@") {
			return fmt.Errorf("line %d: %q is not an email address", n, rec.Email)
		}
		if prev, dup := seen[email]; dup {
			return fmt.Errorf("line %d: %s already appears on line %d", n, email, prev)
		}
		seen[email] = n
		teamID, ok := teams[rec.Team]
		if !ok {
			t, err := a.Teams.TeamGetByName(ctx, rec.Team)
			if errors.Is(err, db.ErrNotFound) {
				return fmt.Errorf("line %d: no team named %q", n, rec.Team)
			}
			if err != nil {
				return err
			}
			teamID, teams[rec.Team] = t.ID, t.ID
		}
		plan = append(plan, planned{line: n, teamID: teamID, role: role, rec: rec})
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read %s: %w", rest[0], err)
	}
	created := 0
	for _, p := range plan {
		if _, err := a.Auth.UserImport(ctx, p.teamID, p.rec.Email, p.role, p.rec.PasswordHash); err != nil {
			if errors.Is(err, db.ErrConflict) {
				return fmt.Errorf("line %d: a user with email %s already exists (%d users imported before it)", p.line, auth.NormalizeEmail(p.rec.Email), created)
			}
			return fmt.Errorf("line %d: %w (%d users imported before it)", p.line, err, created)
		}
		created++
	}
	fmt.Fprintf(env.Stdout, "imported %d users\n", created)
	return nil
}
