// Command cspm is the OffloadSecurity cloud security posture management
// platform: API server, web UI, background workers and admin tools in one
// binary. See internal/cli for the commands.
package main

import (
	"os"

	"github.com/offloadsecurity/cspm/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args, cli.OSEnv()))
}
