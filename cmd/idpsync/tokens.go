package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/idpsync/idpsync/config"
	"github.com/idpsync/idpsync/reconcile"
	"github.com/idpsync/idpsync/store/sqlite"
	"github.com/idpsync/idpsync/webui"
)

func (c *cli) tokensCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "tokens", Short: "Create, list and revoke the bearer tokens of SCIM push sources"}
	var source string
	create := &cobra.Command{
		Use: "create --source NAME", Short: "Make a token for a SCIM source; prints the token alone, once (only its hash is kept)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return c.withApp(cmd.Context(), func(a *app) error {
				if err := a.scimSource(source); err != nil {
					return err
				}
				token, hash := newToken()
				if _, err := a.db.CreateToken(cmd.Context(), source, hash[:]); err != nil {
					return err
				}
				_, err := fmt.Fprintln(a.stdout, token)
				return err
			})
		},
	}
	create.Flags().StringVar(&source, "source", "", "the SCIM source the token writes as (required)")
	_ = create.MarkFlagRequired("source")
	var listSource string
	list := &cobra.Command{
		Use: "list [--source NAME]", Short: "List tokens (ids, never the tokens)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return c.withApp(cmd.Context(), func(a *app) error {
				tokens, err := a.db.Tokens(cmd.Context(), listSource)
				if err != nil {
					return err
				}
				tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "ID\tSOURCE\tCREATED\tLAST USED\tSTATE")
				for _, t := range tokens {
					state := "valid"
					if !t.Revoked.IsZero() {
						state = "revoked " + t.Revoked.Local().Format(time.DateTime)
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", t.ID, t.Source, t.Created.Local().Format(time.DateTime), when(t.LastUsed), state)
				}
				return tw.Flush()
			})
		},
	}
	list.Flags().StringVar(&listSource, "source", "", "only this source's tokens")
	revoke := &cobra.Command{
		Use: "revoke ID", Short: "Revoke a token: requests with it get 401 at once", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.withApp(cmd.Context(), func(a *app) error {
				if err := a.db.RevokeToken(cmd.Context(), args[0]); err != nil {
					return err
				}
				_, err := fmt.Fprintf(a.stdout, "Token %s revoked.\n", args[0])
				return err
			})
		},
	}
	cmd.AddCommand(create, list, revoke)
	return cmd
}

func when(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.Local().Format(time.DateTime)
}

// scimSource checks that name is a configured SCIM source.
func (a *app) scimSource(name string) error {
	s := a.cfg.Source(name)
	switch {
	case s == nil:
		return reconcile.Errorf(reconcile.ENOTFOUND, "no source named %q in %s", name, a.cfg.Describe())
	case s.Type != "scim":
		return reconcile.Errorf(reconcile.EINVALID, "source %q is of type %s; tokens are for type scim", name, s.Type)
	}
	return nil
}

// newToken returns a fresh token (256 random bits) and its SHA-256 hash.
func newToken() (string, [32]byte) {
	var b [32]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand)
	token := "idps_" + base64.RawURLEncoding.EncodeToString(b[:])
	return token, sha256.Sum256([]byte(token))
}

// tokenAuth authenticates SCIM requests: tokens from the store (hashed) and
// from each SCIM source's token_env / token_file (hashed at start).
type tokenAuth struct {
	db      *sqlite.Store
	sources map[string]bool         // SCIM source → enabled
	static  map[[32]byte]*configUse // hash of a configured token → where it comes from, and its use
	config  []*configUse            // the configured tokens, in configuration order
	touched sync.Map                // token id → time.Time of the last recorded use
	now     func() time.Time
}

// configUse is a token config.toml gives and its last use. The use is kept
// in memory only (config tokens have no row in the store): a restart
// forgets it; a reload carries it over (carry).
type configUse struct {
	source, key string       // the SCIM source, and token_env or token_file
	last        atomic.Int64 // Unix nanoseconds of the last use; 0: none
}

func newTokenAuth(db *sqlite.Store, cfg *config.Config) (*tokenAuth, error) {
	a := &tokenAuth{db: db, sources: map[string]bool{}, static: map[[32]byte]*configUse{}, now: time.Now}
	for i := range cfg.Sources {
		s := &cfg.Sources[i]
		if s.Type != "scim" || s.SCIM == nil {
			continue
		}
		a.sources[s.Name] = s.IsEnabled()
		for _, tok := range configuredTokens(s.SCIM.TokenEnv, s.SCIM.TokenFile) {
			if tok.err != nil {
				return nil, fmt.Errorf("source %q: %w", s.Name, tok.err)
			}
			h := sha256.Sum256([]byte(tok.value))
			if old, dup := a.static[h]; dup { // given twice: the last one given counts, as it always has
				a.config = slices.DeleteFunc(a.config, func(c *configUse) bool { return c == old })
			}
			use := &configUse{source: s.Name, key: tok.key}
			a.static[h] = use
			a.config = append(a.config, use)
		}
	}
	return a, nil
}

// carry keeps the last uses old recorded for the tokens a keeps (same
// token, same source and key): a reload does not forget them.
func (a *tokenAuth) carry(old *tokenAuth) {
	if old == nil {
		return
	}
	for h, use := range a.static {
		if prev, ok := old.static[h]; ok && prev.source == use.source && prev.key == use.key {
			use.last.Store(prev.last.Load())
		}
	}
}

// activity lists the configured tokens and their last use, for the admin UI.
func (a *tokenAuth) activity() []webui.TokenActivity {
	out := make([]webui.TokenActivity, len(a.config))
	for i, c := range a.config {
		out[i] = webui.TokenActivity{Source: c.source, Key: c.key}
		if ns := c.last.Load(); ns != 0 {
			out[i].LastUsed = time.Unix(0, ns)
		}
	}
	return out
}

type configured struct {
	key   string // token_env or token_file
	value string
	err   error
}

// configuredTokens reads the tokens named by token_env and token_file. An
// unset variable gives none (the CLI's tokens still work); an unreadable
// file is an error.
func configuredTokens(env, file string) []configured {
	var out []configured
	if env != "" {
		if v := strings.TrimSpace(os.Getenv(env)); v != "" {
			out = append(out, configured{key: "token_env", value: v})
		}
	}
	if file != "" {
		b, err := os.ReadFile(file)
		switch {
		case err != nil:
			out = append(out, configured{key: "token_file", err: fmt.Errorf("token_file: %w", err)})
		case strings.TrimSpace(string(b)) != "":
			out = append(out, configured{key: "token_file", value: strings.TrimSpace(string(b))})
		}
	}
	return out
}

func (a *tokenAuth) Authenticate(ctx context.Context, token string) (string, error) {
	h := sha256.Sum256([]byte(token))
	for hash, use := range a.static {
		if subtle.ConstantTimeCompare(hash[:], h[:]) == 1 {
			use.last.Store(a.now().UnixNano())
			return use.source, nil
		}
	}
	t, err := a.db.TokenByHash(ctx, h[:])
	if err != nil {
		return "", err
	}
	if _, ok := a.sources[t.Source]; !ok {
		return "", reconcile.Errorf(reconcile.ENOTFOUND, "token of a source no longer configured")
	}
	a.touch(ctx, t.ID)
	return t.Source, nil
}

// touch records a token's use at most once a minute, so busy clients do
// not add a write per request.
func (a *tokenAuth) touch(ctx context.Context, id string) {
	now := a.now()
	if last, ok := a.touched.Load(id); ok && now.Sub(last.(time.Time)) < time.Minute {
		return
	}
	a.touched.Store(id, now)
	_ = a.db.TouchToken(context.WithoutCancel(ctx), id, now) // best effort: never fails a request
}

func (a *tokenAuth) Enabled(source string) bool { return a.sources[source] }
