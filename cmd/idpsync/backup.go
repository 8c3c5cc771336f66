package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/idpsync/idpsync/store/sqlite"
)

func (c *cli) backupCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "backup PATH",
		Short: "Copy the database to PATH, consistently, while the daemon runs (never overwrites a file)",
		Long: "backup writes a consistent copy of the database (SQLite VACUUM INTO: the database as of one\n" +
			"instant, while serve goes on writing) to PATH, a file that must not exist yet, then checks the\n" +
			"copy (PRAGMA integrity_check). Only the configuration's database setting is read: no source\n" +
			"is opened and nothing is migrated. See README.md for restoring.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := c.loadConfig()
			if err != nil {
				return err
			}
			dest := args[0]
			if err := sqlite.BackupFile(cmd.Context(), cfg.Database, dest); err != nil {
				return err
			}
			version, seq, err := sqlite.CheckFile(cmd.Context(), dest)
			if err != nil {
				return fmt.Errorf("backup written to %s, but: %w", dest, err)
			}
			_, err = fmt.Fprintf(c.stdout, "Backed up %s to %s: integrity ok, schema version %d, change log up to seq %d.\n",
				cfg.Database, dest, version, seq)
			return err
		},
	}
}
