package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/idpsync/idpsync/reconcile"
)

func (c *cli) usersCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "users", Short: "List, add, deactivate and explain app users"}
	cmd.AddCommand(c.usersListCmd(), c.usersAddCmd(), c.usersDeactivateCmd(), c.usersExplainCmd())
	return cmd
}

// userJSON is the documented JSON shape of a user (users list --format json).
type userJSON struct {
	ID          string    `json:"id"`
	UserName    string    `json:"userName"`
	DisplayName string    `json:"displayName"`
	Email       string    `json:"email"`
	GivenName   string    `json:"givenName"`
	FamilyName  string    `json:"familyName"`
	ExternalID  string    `json:"externalId"`
	Active      bool      `json:"active"`
	Roles       []string  `json:"roles"`
	Source      string    `json:"source"`
	SourceID    string    `json:"sourceId"`
	CreatedAt   time.Time `json:"createdAt"`
	UpdatedAt   time.Time `json:"updatedAt"`
}

func (c *cli) usersListCmd() *cobra.Command {
	var f reconcile.UserFilter
	var inactive, active bool
	var format string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List app users, active and inactive (unless filtered), with their roles and source",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkFormat(format, reconcile.FormatText, reconcile.FormatJSON); err != nil {
				return err
			}
			if inactive && active {
				return reconcile.Errorf(reconcile.EINVALID, "--active and --inactive exclude each other")
			}
			if inactive || active {
				f.Active = &active
			}
			return c.withApp(cmd.Context(), func(a *app) error {
				users, err := a.store.Users(cmd.Context(), f)
				if err != nil {
					return err
				}
				rules, err := a.engine.Rules(cmd.Context())
				if err != nil {
					return err
				}
				out := make([]userJSON, len(users))
				for i, u := range users {
					out[i] = toUserJSON(&u, &rules)
				}
				if format == reconcile.FormatJSON {
					return writeJSON(a.stdout, out)
				}
				return writeUsersTable(a.stdout, out)
			})
		},
	}
	cmd.Flags().StringVar(&f.Role, "role", "", "only users holding this role")
	cmd.Flags().StringVar(&f.Source, "source", "", `only users owned by this source ("manual" for manual users)`)
	cmd.Flags().StringVar(&f.Query, "search", "", "only users whose userName, display name or email contains this")
	cmd.Flags().BoolVar(&inactive, "inactive", false, "only inactive users")
	cmd.Flags().BoolVar(&active, "active", false, "only active users")
	cmd.Flags().StringVar(&format, "format", "text", "output format: text or json")
	return cmd
}

func toUserJSON(u *reconcile.AppUser, rules *reconcile.Rules) userJSON {
	roles := rules.SortRoles(u.Roles)
	if roles == nil {
		roles = []string{}
	}
	return userJSON{
		ID: u.ID, UserName: u.UserName, DisplayName: u.DisplayName, Email: u.Email,
		GivenName: u.GivenName, FamilyName: u.FamilyName, ExternalID: u.ExternalID,
		Active: u.Active, Roles: roles, Source: u.Source, SourceID: u.SourceID,
		CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt,
	}
}

func writeUsersTable(w io.Writer, users []userJSON) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "USERNAME\tDISPLAY NAME\tEMAIL\tACTIVE\tROLES\tSOURCE")
	for _, u := range users {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", u.UserName, dash(u.DisplayName), dash(u.Email),
			yesNo(u.Active), dash(strings.Join(u.Roles, ",")), u.Source)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "%d users\n", len(users))
	return err
}

func (c *cli) usersAddCmd() *cobra.Command {
	var u reconcile.User
	var roles []string
	cmd := &cobra.Command{
		Use:   "add USERNAME",
		Short: "Add a manual user (owned by no source; never touched by a sync)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			u.UserName, u.Active = args[0], true
			return c.withApp(cmd.Context(), func(a *app) error {
				p, err := a.engine.AddManualUser(cmd.Context(), u, roles, "cli")
				if err != nil {
					return err
				}
				return reconcile.WriteText(a.stdout, p)
			})
		},
	}
	cmd.Flags().StringVar(&u.DisplayName, "display-name", "", "display name")
	cmd.Flags().StringVar(&u.Email, "email", "", "email address")
	cmd.Flags().StringSliceVar(&roles, "role", nil, "a role to give (repeatable; default: the default role)")
	return cmd
}

func (c *cli) usersDeactivateCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "deactivate USERNAME",
		Short: "Deactivate a manual user (users of a source are deprovisioned in their source)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.withApp(cmd.Context(), func(a *app) error {
				p, err := a.engine.DeactivateManualUser(cmd.Context(), args[0], "cli")
				if err != nil {
					return err
				}
				return reconcile.WriteText(a.stdout, p)
			})
		},
	}
}

func (c *cli) usersExplainCmd() *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "explain USER",
		Short: "Say which groups gave a user which roles, or why the default role applies",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFormat(format, reconcile.FormatText, reconcile.FormatJSON); err != nil {
				return err
			}
			return c.withApp(cmd.Context(), func(a *app) error {
				x, err := a.engine.Explain(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				if format == reconcile.FormatJSON {
					return writeJSON(a.stdout, x)
				}
				return writeExplanation(a.stdout, x)
			})
		},
	}
	cmd.Flags().StringVar(&format, "format", "text", "output format: text or json")
	return cmd
}

func writeExplanation(w io.Writer, x *reconcile.Explanation) error {
	u := x.User
	fmt.Fprintf(w, "%s", u.UserName)
	if u.DisplayName != "" {
		fmt.Fprintf(w, " (%s)", u.DisplayName)
	}
	state := "active"
	if !u.Active {
		state = "inactive"
	}
	fmt.Fprintf(w, ": %s, source %s\n", state, u.Source)
	fmt.Fprintf(w, "Roles now: %s\n", dash(strings.Join(u.Roles, ", ")))
	if len(x.Grants) > 0 {
		fmt.Fprintln(w, "Why:")
	}
	for _, g := range x.Grants {
		switch g.Reason {
		case reconcile.ReasonDefault:
			fmt.Fprintf(w, "  %s: the default role, because none of the user's groups is mapped to a role\n", g.Role)
		case reconcile.ReasonManual:
			fmt.Fprintf(w, "  %s: given by hand\n", g.Role)
		default:
			for _, name := range g.Groups {
				fmt.Fprintf(w, "  %s: member of %s%s\n", g.Role, name, via(x.Groups, name))
			}
		}
	}
	if len(x.Groups) > 0 {
		names := make([]string, len(x.Groups))
		for i, gp := range x.Groups {
			names[i] = gp.Group
			if gp.Mapped {
				names[i] += " (mapped)"
			}
		}
		fmt.Fprintf(w, "Groups: %s\n", strings.Join(names, ", "))
	}
	if x.Note != "" {
		fmt.Fprintf(w, "Note: %s\n", x.Note)
	}
	return nil
}

// via tells how a user is in a group through nesting: " (through A → B)".
func via(paths []reconcile.GroupPath, group string) string {
	for _, p := range paths {
		if p.Group == group && len(p.Via) > 0 {
			return " (through " + strings.Join(p.Via, " → ") + ", nested in it)"
		}
	}
	return ""
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
