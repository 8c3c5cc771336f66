package main

import (
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/idpsync/idpsync/api"
	"github.com/idpsync/idpsync/reconcile"
)

func (c *cli) apiTokensCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "api-tokens", Short: "Create, list and revoke the bearer tokens of the application API (/api/v1)"}
	var name, scope string
	create := &cobra.Command{
		Use:   "create --name NAME --scope read|admin",
		Short: "Make an API token; prints the token alone, once (only its hash is kept)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if scope != api.ScopeRead && scope != api.ScopeAdmin {
				return reconcile.Errorf(reconcile.EINVALID, "--scope %q: want read or admin", scope)
			}
			return c.withApp(cmd.Context(), func(a *app) error {
				token, hash := newToken()
				if _, err := a.db.CreateAPIToken(cmd.Context(), name, scope, hash[:]); err != nil {
					return err
				}
				_, err := fmt.Fprintln(a.stdout, token)
				return err
			})
		},
	}
	create.Flags().StringVar(&name, "name", "", "who holds the token (recorded as the actor \"api:NAME\" of its changes; required)")
	create.Flags().StringVar(&scope, "scope", "", "read (users, roles, rules, plans, sources, changes) or admin (also changes them) (required)")
	_ = create.MarkFlagRequired("name")
	_ = create.MarkFlagRequired("scope")
	list := &cobra.Command{
		Use: "list", Short: "List API tokens (ids, never the tokens)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return c.withApp(cmd.Context(), func(a *app) error {
				tokens, err := a.db.APITokens(cmd.Context())
				if err != nil {
					return err
				}
				tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "ID\tNAME\tSCOPE\tCREATED\tLAST USED\tSTATE")
				for _, t := range tokens {
					state := "valid"
					if !t.Revoked.IsZero() {
						state = "revoked " + t.Revoked.Local().Format(time.DateTime)
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.Name, t.Scope, t.Created.Local().Format(time.DateTime), when(t.LastUsed), state)
				}
				return tw.Flush()
			})
		},
	}
	revoke := &cobra.Command{
		Use: "revoke ID", Short: "Revoke an API token: requests with it get 401 at once", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.withApp(cmd.Context(), func(a *app) error {
				if err := a.db.RevokeAPIToken(cmd.Context(), args[0]); err != nil {
					return err
				}
				_, err := fmt.Fprintf(a.stdout, "API token %s revoked.\n", args[0])
				return err
			})
		},
	}
	cmd.AddCommand(create, list, revoke)
	return cmd
}
