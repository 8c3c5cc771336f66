// Package reconcile is the core of idpsync: the domain types, the group → role
// rules, the pure planning function and the engine that applies plans.
//
// It imports nothing else of idpsync. Connectors implement Source, stores
// implement Store, and both the SCIM server (push) and the scheduler (pull)
// feed their changes through Engine.
package reconcile

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Manual is the owner of users an admin added by hand. No sync touches them
// unless a source adopts one (see Rules.OnConflict).
const Manual = "manual"

// Source is anything that can report a complete snapshot of a directory:
// a pull connector (Okta, Entra, a file). Fetch must return an error rather
// than a partial directory: a partial snapshot would read as users leaving.
type Source interface {
	Name() string
	Fetch(ctx context.Context) (*Directory, error)
}

// DeltaSource is a Source that can read only what changed since a cursor
// (Graph delta queries). FetchDelta returns the whole directory as it is
// now — the source's stored state, read through prev when needed, with the
// changes applied — and the cursor to resume from. With cursor "" (or
// whenever it decides: a rejected cursor, a periodic full read) it reads
// everything. When nothing changed it returns no directory and the cursor
// it was given: the engine then plans nothing and writes nothing. The
// engine stores the new cursor only with the plan that applies that
// directory, so a failed, held or discarded run never skips changes.
type DeltaSource interface {
	Source
	FetchDelta(ctx context.Context, prev func(context.Context) (*Directory, error), cursor string) (*Directory, string, error)
}

// Directory is what one source asserts: its users and groups.
type Directory struct {
	Users  []User  `json:"users"`
	Groups []Group `json:"groups"`
}

// User is a user as a source reports it.
type User struct {
	ID          string `json:"id"` // the source's own, stable id
	UserName    string `json:"userName"`
	DisplayName string `json:"displayName,omitempty"`
	Email       string `json:"email,omitempty"`
	GivenName   string `json:"givenName,omitempty"`
	FamilyName  string `json:"familyName,omitempty"`
	ExternalID  string `json:"externalId,omitempty"`
	Active      bool   `json:"active"`
}

// Group is a group as a source reports it. Members are ids of users or of
// other groups (nested groups) of the same source.
type Group struct {
	ID          string   `json:"id"`
	DisplayName string   `json:"displayName"`
	Members     []string `json:"members,omitempty"`
}

// Validate checks that a directory is internally consistent: ids present and
// unique, userNames present and unique (case-insensitively), group members
// referring to users or groups of the same directory. It reports every
// problem it finds, not only the first.
func (d *Directory) Validate() error {
	var errs []string
	add := func(format string, args ...any) {
		if len(errs) < 20 {
			errs = append(errs, fmt.Sprintf(format, args...))
		}
	}
	users := make(map[string]bool, len(d.Users))
	names := make(map[string]string, len(d.Users))
	for i, u := range d.Users {
		switch {
		case u.ID == "":
			add("users[%d]: missing id", i)
		case users[u.ID]:
			add("users[%d]: duplicate user id %q", i, u.ID)
		}
		users[u.ID] = true
		if strings.TrimSpace(u.UserName) == "" {
			add("users[%d] (id %q): missing userName", i, u.ID)
			continue
		}
		key := FoldName(u.UserName)
		if other, dup := names[key]; dup {
			add("users[%d]: userName %q is also used by user id %q", i, u.UserName, other)
		}
		names[key] = u.ID
	}
	groups := make(map[string]bool, len(d.Groups))
	for i, g := range d.Groups {
		switch {
		case g.ID == "":
			add("groups[%d]: missing id", i)
		case groups[g.ID] || users[g.ID]:
			add("groups[%d]: duplicate id %q", i, g.ID)
		}
		groups[g.ID] = true
		if g.DisplayName == "" {
			add("groups[%d] (id %q): missing displayName", i, g.ID)
		}
	}
	for _, g := range d.Groups {
		for _, m := range g.Members {
			if !users[m] && !groups[m] {
				add("group %q: member %q is neither a user nor a group of this directory", g.DisplayName, m)
			}
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return Errorf(EINVALID, "invalid directory: %s", strings.Join(errs, "; "))
}

// FoldName is the key under which userNames are compared: userNames are
// case-insensitive (RFC 7643 §4.1.1, and what both IdPs expect).
func FoldName(userName string) string { return strings.ToLower(strings.TrimSpace(userName)) }

// AppUser is a user of the application, as idpsync keeps it.
type AppUser struct {
	ID          string    `json:"id"`
	UserName    string    `json:"userName"`
	DisplayName string    `json:"displayName"`
	Email       string    `json:"email"`
	GivenName   string    `json:"givenName,omitempty"`
	FamilyName  string    `json:"familyName,omitempty"`
	ExternalID  string    `json:"externalId,omitempty"`
	Active      bool      `json:"active"`
	Source      string    `json:"source"`             // owner: a source name, or Manual
	SourceID    string    `json:"sourceId,omitempty"` // the owner's id for the user ("" for manual users)
	Roles       []string  `json:"roles"`              // stores return them by name; Rules.SortRoles puts them in mapping order. Why a user holds a role is derived (Explain), not stored
	CreatedAt   time.Time `json:"createdAt"`
	UpdatedAt   time.Time `json:"updatedAt"`
}

// Why a user holds a role.
const (
	ReasonGroup   = "group"   // a mapped group the user is a member of
	ReasonDefault = "default" // no mapped group: the default role
	ReasonManual  = "manual"  // given by an admin to a manual user
)

// Grant is one role a user holds, and why.
type Grant struct {
	Role   string   `json:"role"`
	Reason string   `json:"reason"`           // ReasonGroup, ReasonDefault or ReasonManual
	Groups []string `json:"groups,omitempty"` // for ReasonGroup: the mapped groups that give it, in mapping order
}
