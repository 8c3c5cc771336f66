package main

import (
	"crypto/sha256"
	"path/filepath"
	"strings"
	"testing"

	"github.com/idpsync/idpsync/reconcile"
	"github.com/idpsync/idpsync/store/sqlite"
)

func TestAPITokensCommands(t *testing.T) {
	e := newEnv(t)
	read := strings.TrimSpace(e.mustRun("api-tokens", "create", "--name", "billing-app", "--scope", "read"))
	admin := strings.TrimSpace(e.mustRun("api-tokens", "create", "--name", "ops", "--scope", "admin"))
	if read == "" || strings.ContainsAny(read, " \n") || read == admin {
		t.Fatalf("create printed %q and %q; want one new token each", read, admin)
	}
	for _, args := range [][]string{
		{"api-tokens", "create", "--name", "x", "--scope", "write"},
		{"api-tokens", "create", "--scope", "read"},
		{"api-tokens", "revoke", "api_nope"},
	} {
		if _, err := e.run(args...); err == nil {
			t.Errorf("idpsync %s succeeded; want an error", strings.Join(args, " "))
		}
	}

	st, err := sqlite.Open(t.Context(), filepath.Join(e.dir, "idpsync.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	hash := sha256.Sum256([]byte(read))
	id, name, scope, err := st.APITokenByHash(t.Context(), hash[:])
	if err != nil || name != "billing-app" || scope != "read" {
		t.Fatalf("the printed token finds %q, %q, %q, %v; want billing-app, read", id, name, scope, err)
	}

	list := e.mustRun("api-tokens", "list")
	if !strings.Contains(list, id) || !strings.Contains(list, "billing-app") || !strings.Contains(list, "admin") ||
		strings.Contains(list, read) || strings.Contains(list, admin) {
		t.Errorf("list:\n%s\nwant ids, names and scopes, never the tokens", list)
	}
	e.mustRun("api-tokens", "revoke", id)
	if _, _, _, err := st.APITokenByHash(t.Context(), hash[:]); reconcile.ErrorKind(err) != reconcile.ENOTFOUND {
		t.Errorf("a revoked token still authenticates: %v", err)
	}
	if list := e.mustRun("api-tokens", "list"); !strings.Contains(list, "revoked") {
		t.Errorf("list after revoke:\n%s", list)
	}
}
