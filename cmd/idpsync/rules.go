package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/idpsync/idpsync/reconcile"
)

func (c *cli) mappingsCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "mappings", Short: "List and edit group → role mappings (edits print their plan first)"}
	var dryRun bool
	var role string
	list := &cobra.Command{
		Use: "list", Short: "List the mappings in order", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return c.withApp(cmd.Context(), func(a *app) error {
				rules, err := a.engine.Rules(cmd.Context())
				if err != nil {
					return err
				}
				tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "#\tGROUP\tROLE\tDEFINED IN")
				for i, m := range rules.Mappings {
					fmt.Fprintf(tw, "%d\t%s\t%s\t%s\n", i+1, m.Group, m.Role, origin(m.Origin))
				}
				if err := tw.Flush(); err != nil {
					return err
				}
				fmt.Fprintf(a.stdout, "default role: %s; single_role: %v\n", dash(rules.DefaultRole), rules.SingleRole)
				return nil
			})
		},
	}
	add := &cobra.Command{
		Use: "add GROUP ROLE", Short: "Map an IdP group (exact display name) to a role", Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.editRules(cmd.Context(), dryRun, func(_ *reconcile.Rules, admin *reconcile.AdminRules) error {
				admin.Mappings = append(admin.Mappings, reconcile.Mapping{Group: args[0], Role: args[1], Origin: reconcile.OriginAdmin})
				return nil
			})
		},
	}
	remove := &cobra.Command{
		Use: "remove GROUP", Short: "Remove the mappings of a group (all its roles, or --role)", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.editRules(cmd.Context(), dryRun, func(rules *reconcile.Rules, admin *reconcile.AdminRules) error {
				match := func(m reconcile.Mapping) bool { return m.Group == args[0] && (role == "" || m.Role == role) }
				before := len(admin.Mappings)
				admin.Mappings = slices.DeleteFunc(admin.Mappings, match)
				if len(admin.Mappings) < before {
					return nil
				}
				if slices.ContainsFunc(rules.Mappings, match) {
					return reconcile.Errorf(reconcile.EINVALID, "the mapping of group %q is defined in config.toml: edit the file", args[0])
				}
				return reconcile.Errorf(reconcile.ENOTFOUND, "no mapping for group %q", args[0])
			})
		},
	}
	remove.Flags().StringVar(&role, "role", "", "remove only the mapping to this role")
	for _, sub := range []*cobra.Command{add, remove} {
		sub.Flags().BoolVar(&dryRun, "dry-run", false, "print the plan and stop")
	}
	cmd.AddCommand(list, add, remove)
	return cmd
}

func (c *cli) rolesCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "roles", Short: "List and edit the role catalogue"}
	var dryRun bool
	list := &cobra.Command{
		Use: "list", Short: "List the roles", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return c.withApp(cmd.Context(), func(a *app) error {
				rules, err := a.engine.Rules(cmd.Context())
				if err != nil {
					return err
				}
				tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "ROLE\tDEFINED IN\tMAPPED FROM\tDEFAULT")
				for _, r := range rules.Roles {
					var groups []string
					for _, m := range rules.Mappings {
						if m.Role == r.Name {
							groups = append(groups, m.Group)
						}
					}
					def := ""
					if r.Name == rules.DefaultRole {
						def = "yes"
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.Name, origin(r.Origin), dash(strings.Join(groups, ", ")), def)
				}
				return tw.Flush()
			})
		},
	}
	add := &cobra.Command{
		Use: "add NAME", Short: "Add a role to the catalogue", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.editRules(cmd.Context(), dryRun, func(rules *reconcile.Rules, admin *reconcile.AdminRules) error {
				if rules.HasRole(args[0]) {
					return reconcile.Errorf(reconcile.ECONFLICT, "role %q already exists", args[0])
				}
				admin.Roles = append(admin.Roles, reconcile.Role{Name: args[0], Origin: reconcile.OriginAdmin})
				return nil
			})
		},
	}
	remove := &cobra.Command{
		Use: "remove NAME", Short: "Remove a role no mapping, default role or manual user uses", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := args[0]
			return c.editRules(cmd.Context(), dryRun, func(rules *reconcile.Rules, admin *reconcile.AdminRules) error {
				i := slices.IndexFunc(admin.Roles, func(r reconcile.Role) bool { return r.Name == name })
				switch {
				case i >= 0:
				case rules.HasRole(name):
					return reconcile.Errorf(reconcile.EINVALID, "role %q is defined in config.toml: edit the file", name)
				default:
					return reconcile.Errorf(reconcile.ENOTFOUND, "no role %q", name)
				}
				if rules.DefaultRole == name {
					return reconcile.Errorf(reconcile.EINVALID, "role %q is the default role", name)
				}
				for _, m := range rules.Mappings {
					if m.Role == name {
						return reconcile.Errorf(reconcile.EINVALID, "role %q is used by the mapping of group %q: remove the mapping first", name, m.Group)
					}
				}
				admin.Roles = slices.Delete(admin.Roles, i, i+1)
				return nil
			}, func(a *app, ctx context.Context) error {
				holders, err := a.store.Users(ctx, reconcile.UserFilter{Role: name, Source: reconcile.Manual})
				if err != nil || len(holders) == 0 {
					return err
				}
				return reconcile.Errorf(reconcile.EINVALID, "role %q is held by %d manual users (e.g. %s)", name, len(holders), holders[0].UserName)
			})
		},
	}
	for _, sub := range []*cobra.Command{add, remove} {
		sub.Flags().BoolVar(&dryRun, "dry-run", false, "print the plan and stop")
	}
	cmd.AddCommand(list, add, remove)
	return cmd
}

// editRules changes the admin-defined roles and mappings: edit gets the
// current effective rules and the admin part to change; checks run against
// the store before planning. It prints the plan, then applies it unless dryRun.
func (c *cli) editRules(ctx context.Context, dryRun bool, edit func(*reconcile.Rules, *reconcile.AdminRules) error, checks ...func(*app, context.Context) error) error {
	return c.withApp(ctx, func(a *app) error {
		rules, err := a.engine.Rules(ctx)
		if err != nil {
			return err
		}
		admin, err := a.store.AdminRules(ctx)
		if err != nil {
			return err
		}
		if err := edit(&rules, admin); err != nil {
			return err
		}
		for _, check := range checks {
			if err := check(a, ctx); err != nil {
				return err
			}
		}
		p, err := a.engine.PlanRules(ctx, admin, "cli")
		if err != nil {
			return err
		}
		if err := reconcile.WriteText(a.stdout, p); err != nil {
			return err
		}
		if dryRun {
			fmt.Fprintln(a.stdout, "Dry run: nothing was applied.")
			return nil
		}
		if err := a.engine.Apply(ctx, p); err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "Applied as plan %d.\n", p.ID)
		return nil
	})
}

func origin(o string) string {
	if o == reconcile.OriginAdmin {
		return "admin (store)"
	}
	return "config.toml"
}
