package main

import (
	"fmt"
	"runtime/debug"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/idpsync/idpsync/reconcile"
)

func (c *cli) plansCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "plans", Short: "List, show, approve and discard plans (dry-run, held, applied)"}
	var f reconcile.PlanFilter
	list := &cobra.Command{
		Use: "list", Short: "List plans, newest first", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return c.withApp(cmd.Context(), func(a *app) error {
				plans, err := a.store.Plans(cmd.Context(), f)
				if err != nil {
					return err
				}
				tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "ID\tCREATED\tKIND\tSOURCE\tSTATUS\tBY\tSUMMARY")
				for _, p := range plans {
					fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", p.ID, p.CreatedAt.Local().Format(time.DateTime),
						p.Kind, dash(p.Source), p.Status, p.Actor, strings.TrimSuffix(p.Totals(), "."))
				}
				return tw.Flush()
			})
		},
	}
	list.Flags().StringVar(&f.Status, "status", "", "only plans with this status: dry-run, held, applied, discarded")
	list.Flags().StringVar(&f.Source, "source", "", "only plans of this source")
	list.Flags().IntVar(&f.Limit, "limit", 50, "at most this many (0: all)")

	var format string
	show := &cobra.Command{
		Use: "show ID", Short: "Print a plan's report", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := planID(args[0])
			if err != nil {
				return err
			}
			return c.withApp(cmd.Context(), func(a *app) error {
				p, err := a.store.Plan(cmd.Context(), id)
				if err != nil {
					return err
				}
				return reconcile.Render(a.stdout, p, format)
			})
		},
	}
	show.Flags().StringVar(&format, "format", "text", "output format: text, json or markdown")

	approve := &cobra.Command{
		Use: "approve ID", Short: "Apply a held or dry-run plan, unless what it changes has changed since", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := planID(args[0])
			if err != nil {
				return err
			}
			return c.withApp(cmd.Context(), func(a *app) error {
				p, err := a.engine.Approve(cmd.Context(), id, "cli")
				if err != nil {
					return err
				}
				return reconcile.WriteText(a.stdout, p)
			})
		},
	}
	discard := &cobra.Command{
		Use: "discard ID", Short: "Throw away a held or dry-run plan", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := planID(args[0])
			if err != nil {
				return err
			}
			return c.withApp(cmd.Context(), func(a *app) error {
				if err := a.engine.Discard(cmd.Context(), id, "cli"); err != nil {
					return err
				}
				_, err := fmt.Fprintf(a.stdout, "Plan %d discarded.\n", id)
				return err
			})
		},
	}
	cmd.AddCommand(list, show, approve, discard)
	return cmd
}

func planID(s string) (int64, error) {
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, reconcile.Errorf(reconcile.EINVALID, "%q is not a plan id", s)
	}
	return id, nil
}

func (c *cli) changesCmd() *cobra.Command {
	var f reconcile.ChangeFilter
	var format string
	cmd := &cobra.Command{
		Use:   "changes",
		Short: "Print the change log (every applied change, oldest first)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkFormat(format, reconcile.FormatText, reconcile.FormatJSON); err != nil {
				return err
			}
			return c.withApp(cmd.Context(), func(a *app) error {
				recs, err := a.store.Changes(cmd.Context(), f)
				if err != nil {
					return err
				}
				if format == reconcile.FormatJSON {
					if recs == nil {
						recs = []reconcile.ChangeRecord{}
					}
					return writeJSON(a.stdout, recs)
				}
				tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "SEQ\tTIME\tPLAN\tACTOR\tKIND\tOBJECT\tDETAIL")
				for _, r := range recs {
					obj := r.User
					if obj == "" {
						obj = "group " + r.Group
					}
					fmt.Fprintf(tw, "%d\t%s\t%d\t%s\t%s\t%s\t%s\n", r.Seq, r.Time.Local().Format(time.DateTime),
						r.PlanID, r.Actor, r.Kind, obj, r.Detail())
				}
				return tw.Flush()
			})
		},
	}
	cmd.Flags().Int64Var(&f.After, "after", 0, "only changes with a sequence number above this")
	cmd.Flags().IntVar(&f.Limit, "limit", 0, "at most this many (0: all)")
	cmd.Flags().StringVar(&format, "format", "text", "output format: text or json")
	return cmd
}

func (c *cli) runsCmd() *cobra.Command {
	var source string
	var limit int
	cmd := &cobra.Command{
		Use: "runs", Short: "List pull runs, newest first", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return c.withApp(cmd.Context(), func(a *app) error {
				runs, err := a.store.Runs(cmd.Context(), source, limit)
				if err != nil {
					return err
				}
				tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "ID\tSOURCE\tSTARTED\tDURATION\tTRIGGER\tOUTCOME\tPLAN\tERROR")
				for _, r := range runs {
					plan := "-"
					if r.PlanID != 0 {
						plan = strconv.FormatInt(r.PlanID, 10)
					}
					fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.ID, r.Source, r.Started.Local().Format(time.DateTime),
						r.Finished.Sub(r.Started).Round(time.Millisecond), dash(r.Trigger), r.Outcome, plan, dash(r.Error))
				}
				return tw.Flush()
			})
		},
	}
	cmd.Flags().StringVar(&source, "source", "", "only runs of this source")
	cmd.Flags().IntVar(&limit, "limit", 50, "at most this many")
	return cmd
}

func (c *cli) checkConfigCmd() *cobra.Command {
	secrets := true
	cmd := &cobra.Command{
		Use:   "check-config",
		Short: "Load and validate the configuration, and read the certificate and secrets it names as serve does at start; report every problem",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := c.loadConfig()
			if err != nil {
				return err
			}
			if secrets {
				warnings, err := cfg.CheckStart()
				for _, w := range warnings {
					fmt.Fprintln(c.stderr, "warning:", w)
				}
				if err != nil {
					return err
				}
			}
			_, err = fmt.Fprintf(c.stdout, "%s: OK (%d roles, %d mappings, %d sources)\n",
				cfg.Describe(), len(cfg.Rules().Roles), len(cfg.Mappings), len(cfg.Sources))
			return err
		},
	}
	cmd.Flags().BoolVar(&secrets, "secrets", true,
		"also load tls_cert/tls_key and read the secret files and environment variables, as serve does "+
			"(--secrets=false checks the file alone, e.g. outside the service, where its credentials are not)")
	return cmd
}

// version is set at build time with -ldflags "-X main.version=v1.2.3".
var version = ""

func (c *cli) versionCmd() *cobra.Command {
	return &cobra.Command{
		Use: "version", Short: "Print the version", Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			v := version
			if v == "" {
				v = "(devel)"
				if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
					v = bi.Main.Version
				}
			}
			_, err := fmt.Fprintln(c.stdout, "idpsync", v)
			return err
		},
	}
}
