package cli

import (
	"fmt"
	"os"

	"github.com/offloadsecurity/cspm/internal/audit"
	"github.com/offloadsecurity/cspm/internal/secrets"
)

// runSecrets rotates the key that seals secrets at rest.
func runSecrets(env Env, args []string) error {
	if len(args) == 0 || args[0] != "rotate-key" {
		return usagef("secrets: want a subcommand: rotate-key --new-key-file FILE")
	}
	var newFile string
	a, rest, err := openAdmin(env, "secrets rotate-key", args[1:], func(b *flagSetBinding) {
		b.StringVar(&newFile, "new-key-file", "", "file with the new key (32 bytes in base64); created with a random key if missing")
	})
	if err != nil {
		return err
	}
	defer a.Close()
	if newFile == "" || len(rest) != 0 {
		return usagef("secrets rotate-key: want --new-key-file FILE and nothing else")
	}
	_, statErr := os.Stat(newFile)
	created := os.IsNotExist(statErr)
	key, err := secrets.LoadKey("", newFile)
	if err != nil {
		return err
	}
	ctx, stop := env.Signals()
	defer stop()
	accounts, totp, integrations, err := a.RotateSecretKey(ctx, key)
	if err != nil {
		return fmt.Errorf("nothing was changed: %w", err)
	}
	_ = a.Audit.Record(ctx, audit.Event{ActorEmail: cliActor.ActorEmail, Action: "secrets.key_rotated",
		Details: map[string]any{"cloud_credentials": accounts, "totp_secrets": totp, "integration_secrets": integrations}})
	if created {
		fmt.Fprintf(env.Stdout, "created %s with a new random key (mode 0600)\n", newFile)
	}
	fmt.Fprintf(env.Stdout, "resealed %d cloud credential(s), %d TOTP secret(s) and %d notification or ticket secret(s) under the key in %s\n",
		accounts, totp, integrations, newFile)
	fmt.Fprintf(env.Stdout, "now point every process at it (secret_key_file=%s, or CSPM_SECRET_KEY=<its content>) and restart them; the old key opens nothing any more\n", newFile)
	return nil
}
