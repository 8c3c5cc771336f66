// Command idpsync keeps an application's users and roles in step with the
// company's identity provider. See README.md for the commands.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

// Exit codes.
const (
	exitOK    = 0
	exitError = 1
	exitHeld  = 3 // a plan was held by the safety brake
)

// errHeld is returned when a run ends with a plan held for an admin.
var errHeld = errors.New("a plan was held by the safety brake; nothing of it was applied")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := Run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(exitCode(err, os.Stderr))
}

func exitCode(err error, stderr io.Writer) int {
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, errHeld):
		fmt.Fprintln(stderr, "idpsync:", err)
		return exitHeld
	}
	fmt.Fprintln(stderr, "idpsync:", err)
	return exitError
}

// Run runs idpsync with the given arguments (without the program name).
// Tests call it directly.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	root := newRoot(stdout, stderr)
	root.SetArgs(args)
	return root.ExecuteContext(ctx)
}

// cli carries what every command shares.
type cli struct {
	configPath string
	stdout     io.Writer
	stderr     io.Writer
}

func newRoot(stdout, stderr io.Writer) *cobra.Command {
	c := &cli{stdout: stdout, stderr: stderr}
	root := &cobra.Command{
		Use:   "idpsync",
		Short: "Keep an application's users and roles in step with the identity provider",
		Long: "idpsync provisions an application's users from identity providers (SCIM push, scheduled pulls)\n" +
			"and gives them roles from group → role mappings. Every change can be planned first.",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.PersistentFlags().StringVar(&c.configPath, "config", "",
		"config file (default ./config.toml, then /etc/idpsync/config.toml, then the built-in default)")
	root.AddCommand(
		c.serveCmd(), c.planCmd(), c.syncCmd(),
		c.usersCmd(), c.mappingsCmd(), c.rolesCmd(),
		c.plansCmd(), c.changesCmd(), c.runsCmd(), c.tokensCmd(), c.checkConfigCmd(), c.versionCmd(),
		c.backupCmd(),
		c.apiTokensCmd(),
	)
	return root
}
