package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/idpsync/idpsync/reconcile"
)

func (c *cli) planCmd() *cobra.Command {
	var source, format string
	cmd := &cobra.Command{
		Use:   "plan",
		Short: "Dry run: fetch every enabled pull source (or one) and print what a sync would change; applies nothing",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkFormat(format, reconcile.FormatText, reconcile.FormatJSON, reconcile.FormatMarkdown); err != nil {
				return err
			}
			return c.withApp(cmd.Context(), func(a *app) error {
				plans, err := a.runAll(cmd.Context(), source, reconcile.SyncOptions{Actor: "cli", DryRun: true})
				if err != nil && len(plans) == 0 {
					return err
				}
				if perr := printPlans(a.stdout, plans, format); perr != nil {
					return perr
				}
				if format == reconcile.FormatText {
					for _, p := range plans {
						if p.ID != 0 {
							fmt.Fprintf(a.stdout, "Dry run: nothing was applied. Apply exactly this plan with `idpsync plans approve %d`, or run `idpsync sync`.\n", p.ID)
						}
					}
				}
				return err
			})
		},
	}
	cmd.Flags().StringVar(&source, "source", "", "plan only this source")
	cmd.Flags().StringVar(&format, "format", "text", "output format: text, json or markdown")
	return cmd
}

func (c *cli) syncCmd() *cobra.Command {
	var source, format string
	var approveHeld bool
	cmd := &cobra.Command{
		Use:   "sync",
		Short: "Fetch every enabled pull source (or one), plan and apply; a plan over the safety brake is held (exit 3)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkFormat(format, reconcile.FormatText, reconcile.FormatJSON, reconcile.FormatMarkdown); err != nil {
				return err
			}
			return c.withApp(cmd.Context(), func(a *app) error {
				plans, err := a.runAll(cmd.Context(), source, reconcile.SyncOptions{Actor: "cli", Trigger: "cli", ApproveHeld: approveHeld})
				if perr := printPlans(a.stdout, plans, format); perr != nil && err == nil {
					err = perr
				}
				return err
			})
		},
	}
	cmd.Flags().StringVar(&source, "source", "", "sync only this source")
	cmd.Flags().StringVar(&format, "format", "text", "output format: text, json or markdown")
	cmd.Flags().BoolVar(&approveHeld, "approve-held", false, "apply even a plan the safety brake would hold")
	return cmd
}

// runAll brings the rules up to date, runs the named pull source (or every
// enabled one) and, when no source is named, plans the removal of sources
// that left the configuration. It carries on past a failed source and
// returns every plan, with an error if any run failed (or errHeld if one
// was held).
func (a *app) runAll(ctx context.Context, name string, opt reconcile.SyncOptions) ([]*reconcile.Plan, error) {
	sources, err := a.pullSources(name)
	if err != nil {
		return nil, err
	}
	var plans []*reconcile.Plan
	if !opt.DryRun {
		p, err := a.engine.EnsureRules(ctx, "config")
		if err != nil {
			return nil, fmt.Errorf("re-deriving roles for the changed rules: %w", err)
		}
		if p != nil && !p.Empty() {
			plans = append(plans, p)
		}
	}
	var errs []error
	held := false
	for _, src := range sources {
		p, err := a.engine.Sync(ctx, src, opt)
		if err != nil {
			a.log.Error("sync failed", "source", src.Name(), "err", err)
			errs = append(errs, err)
			continue
		}
		held = held || p.Status == reconcile.StatusHeld
		plans = append(plans, p)
	}
	if name == "" {
		removed, err := a.engine.Removed(ctx)
		if err != nil {
			return plans, err
		}
		for _, s := range removed {
			p, err := a.engine.RemoveSource(ctx, s, a.cfg.Rules().MaxDeactivations, opt)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			held = held || p.Status == reconcile.StatusHeld
			plans = append(plans, p)
		}
	}
	for _, p := range plans {
		for _, c := range p.Changes {
			if c.Kind == reconcile.ChangeConflict {
				errs = append(errs, fmt.Errorf("source %q: %s: %s (not applied)", c.Source, c.User, c.Reason))
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return plans, err
	}
	if held {
		return plans, errHeld
	}
	return plans, nil
}

// printPlans renders plans. JSON is always one object with summary and
// changes: the plan itself when there is one, else the plans merged (each
// change names its source) with the plans themselves under "plans".
func printPlans(w io.Writer, plans []*reconcile.Plan, format string) error {
	if format == reconcile.FormatJSON && len(plans) != 1 {
		merged := struct {
			Summary reconcile.Summary  `json:"summary"`
			Changes []reconcile.Change `json:"changes"`
			Plans   []*reconcile.Plan  `json:"plans"`
		}{Changes: []reconcile.Change{}, Plans: plans}
		all := &reconcile.Plan{}
		for _, p := range plans {
			all.Changes = append(all.Changes, p.Changes...)
			all.Summary.Held += p.Summary.Held
		}
		all.Summarize()
		merged.Summary = all.Summary
		merged.Changes = append(merged.Changes, all.Changes...)
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(merged)
	}
	if len(plans) == 0 && format != reconcile.FormatJSON {
		return nil // a failed run says why on stderr
	}
	for i, p := range plans {
		if i > 0 && format != reconcile.FormatJSON {
			fmt.Fprintln(w)
		}
		if err := reconcile.Render(w, p, format); err != nil {
			return err
		}
	}
	return nil
}

func checkFormat(format string, allowed ...string) error {
	for _, f := range allowed {
		if f == format {
			return nil
		}
	}
	return reconcile.Errorf(reconcile.EINVALID, "--format: %q is not one of %v", format, allowed)
}
