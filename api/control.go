// Package api serves the application API under /api/v1: users, roles,
// mappings, rules, plans, sources and the change feed, for applications and
// admin tools, with its own tokens (scopes read and admin).
package api

import (
	"context"
	"time"

	"github.com/idpsync/idpsync/reconcile"
)

// SourceStatus is a configured source as the API and the admin UI show it.
type SourceStatus struct {
	Name     string         `json:"name"`
	Type     string         `json:"type"` // file, scim, okta, entra
	Enabled  bool           `json:"enabled"`
	Schedule string         `json:"schedule,omitempty"`
	NextRun  *time.Time     `json:"nextRun,omitempty"`
	Running  bool           `json:"running"`
	LastRun  *reconcile.Run `json:"lastRun,omitempty"`
}

// Control is what the running daemon offers beyond the engine and the
// store: its sources at run time. cmd/idpsync implements it; the API and the
// admin UI consume it.
type Control interface {
	// Sources lists the configured sources, in configuration order.
	Sources(ctx context.Context) ([]SourceStatus, error)
	// Sync runs a pull of the named source now, waits for it, and returns
	// its plan: ENOTFOUND for an unknown source, EINVALID for a push source
	// (nothing pulls it), ECONFLICT for a source switched off (at run time,
	// or enabled = false in config.toml) and while a run of it is going.
	Sync(ctx context.Context, name, actor string) (*reconcile.Plan, error)
	// SetEnabled enables or disables a source at run time and keeps the
	// choice across restarts: a disabled source's schedule pauses and its
	// SCIM tokens get 403.
	SetEnabled(ctx context.Context, name string, enabled bool, actor string) error
}
