package reconcile

import (
	"context"
	"time"
)

// SourceWrites are a push source's changes to its own stored state — one
// SCIM request — applied in one transaction with the plan they cause.
type SourceWrites struct {
	Source        string
	Users         []SourceUser  // created or replaced
	DeletedUsers  []string      // source ids
	Groups        []SourceGroup // created or replaced
	DeletedGroups []string      // source ids
	Members       []MemberWrite // membership changes of existing groups
}

// SourceUser is a user as a push source wrote it.
type SourceUser struct {
	User             // ID is the source's id (the SCIM id)
	Resource  []byte // the resource as the IdP wrote it (JSON), read back by GETs
	Create    bool   // a new user: its id and its userName (case-insensitively) must be new in the source
	IfVersion int64  // > 0: the stored version must equal it (If-Match), else EPRECONDITION
}

// SourceGroup is a group as a push source wrote it. Its members change only
// when SetMembers is true (then Members replaces them all).
type SourceGroup struct {
	ID          string
	DisplayName string
	ExternalID  string
	Resource    []byte // without members
	Create      bool   // a new group: its id must be new in the source
	IfVersion   int64
	SetMembers  bool
	Members     []string // user or group ids (an id the source does not hold is kept as written)
	// MemberDisplay holds the "display" the IdP sent for some members; GETs
	// return it.
	MemberDisplay map[string]string
}

// MemberWrite adds and removes members of one existing group.
type MemberWrite struct {
	Group       string
	Add, Remove []string
	Display     map[string]string // "display" of added members, when sent
	IfVersion   int64
}

// PushState is what a push plan is computed from, read inside the push's
// transaction after its writes.
type PushState struct {
	// Affected are the source ids of the users whose app state may change:
	// users written or deleted, members added or removed, and every user
	// under a group renamed, deleted or re-membered, through nesting.
	Affected []string
	// Slice holds those users as now stored (deleted ones absent) and every
	// group containing them directly or through nesting, each group's
	// members limited to those users and those groups.
	Slice *Directory
	// Users are the app users owned by the source under those ids, and the
	// app users whose userName (case-insensitively) a slice user has.
	Users []AppUser
}

// PushStore applies a push. The engine is its only caller.
type PushStore interface {
	// ApplyPush, in one transaction: applies w to the source's stored state
	// (ECONFLICT for a create of an existing id or userName, EPRECONDITION for
	// a version mismatch, ENOTFOUND for a change to a missing id), reads the
	// PushState, calls plan, and applies the plan it returns like Apply (a
	// nil plan: app state unchanged). An error from plan rolls everything
	// back. Every stored resource's version increases with each write.
	ApplyPush(ctx context.Context, w *SourceWrites, plan func(*PushState) (*Plan, error)) error
}

// Resource is a pushed resource as stored: read back by the SCIM server.
type Resource struct {
	ID       string
	Raw      []byte // the JSON the IdP wrote, without id, meta and members
	Created  time.Time
	Modified time.Time
	Version  int64
	Members  []string // for groups: member ids, when asked for
	// MemberDisplay is the "display" stored with some members, when asked for.
	MemberDisplay map[string]string
}
