package reconcile

import "time"

// Plan statuses.
const (
	StatusDryRun    = "dry-run"   // planned, not applied; may be applied later while it is not stale
	StatusHeld      = "held"      // stopped by the safety brake; an admin approves or discards it
	StatusApplied   = "applied"   // applied in one transaction
	StatusDiscarded = "discarded" // an admin threw it away
)

// Plan kinds: what produced the plan.
const (
	KindSync   = "sync"   // a pull run of one source
	KindRules  = "rules"  // a mapping, role or rule change re-derived every user's roles
	KindRemove = "remove" // a source left the configuration: its users are deactivated
	KindManual = "manual" // an admin added or deactivated a manual user
	KindPush   = "push"   // a SCIM push event for a few users
)

// Change kinds, in the order a report lists them.
const (
	ChangeCreate      = "create"       // a new app user (After holds every attribute, Grants its roles)
	ChangeUpdate      = "update"       // attribute changes, Before → After (only changed keys)
	ChangeReactivate  = "reactivate"   // an inactive user becomes active again
	ChangeDeactivate  = "deactivate"   // active → inactive; the user loses every role (Before["roles"])
	ChangeGrant       = "grant"        // the user gains Role, because of Groups (or the default role)
	ChangeRevoke      = "revoke"       // the user loses Role
	ChangeAdopt       = "adopt"        // ownership moves: Before/After hold "source" and "sourceId"
	ChangeConflict    = "conflict"     // not applied: the source asserts a user it may not take
	ChangeGroupCreate = "group-create" // the source reports a new group
	ChangeGroupUpdate = "group-update" // a group was renamed or its members changed
	ChangeGroupDelete = "group-delete" // the source no longer reports a group
)

// ChangeKinds lists every change kind in report order.
var ChangeKinds = []string{
	ChangeCreate, ChangeUpdate, ChangeReactivate, ChangeDeactivate, ChangeGrant, ChangeRevoke,
	ChangeAdopt, ChangeConflict, ChangeGroupCreate, ChangeGroupUpdate, ChangeGroupDelete,
}

// Plan is a list of changes that, applied in order and in one transaction,
// brings the application in line with its sources and rules. Planning is
// pure; applying is the store's job.
type Plan struct {
	ID         int64     `json:"id,omitempty"`
	Kind       string    `json:"kind"`
	Source     string    `json:"source,omitempty"` // the source synced or removed
	Actor      string    `json:"actor"`            // who asked: "schedule", "cli", "scim:<source>", an admin name
	Status     string    `json:"status"`
	CreatedAt  time.Time `json:"createdAt"`
	HeldReason string    `json:"heldReason,omitempty"`
	Summary    Summary   `json:"summary"`
	Changes    []Change  `json:"changes"`

	// What applying the plan stores besides the changes.
	Directory *Directory  `json:"-"` // the synced source's new state (KindSync, KindPush), or nil
	Admin     *AdminRules `json:"-"` // the admin-defined roles and mappings to keep (KindRules), or nil
	RulesHash string      `json:"-"` // fingerprint of the rules the plan was computed under
	// DropSource names a source whose stored state is deleted (KindRemove).
	DropSource string `json:"-"`
	// Cursor is where the source's next incremental read resumes (a
	// DeltaSource's cursor), stored when the plan is applied, or "".
	Cursor string `json:"-"`

	// base is the hash of the rules a rules plan was computed from; Apply
	// refuses it if they changed meanwhile. Not stored: rules plans are
	// applied by the process that planned them.
	base string
}

// Empty reports whether applying the plan would change no user.
func (p *Plan) Empty() bool {
	for _, c := range p.Changes {
		if c.Kind != ChangeConflict {
			return false
		}
	}
	return true
}

// Change is one step of a plan.
type Change struct {
	Kind     string         `json:"kind"`
	User     string         `json:"user,omitempty"`     // userName
	UserID   string         `json:"userId,omitempty"`   // the app user's id; empty for a create
	Source   string         `json:"source,omitempty"`   // the user's owner (after the change)
	SourceID string         `json:"sourceId,omitempty"` // the owner's id for the user
	Group    string         `json:"group,omitempty"`    // for group changes
	Role     string         `json:"role,omitempty"`     // for grant and revoke
	Groups   []string       `json:"groups,omitempty"`   // for grant and revoke: the mapped groups behind it
	Grants   []Grant        `json:"grants,omitempty"`   // for create: the roles the new user gets, and why
	Reason   string         `json:"reason,omitempty"`   // why, for people
	Before   map[string]any `json:"before,omitempty"`
	After    map[string]any `json:"after,omitempty"`
}

// Summary counts a plan's changes by kind.
type Summary struct {
	Create      int `json:"create"`
	Update      int `json:"update"`
	Reactivate  int `json:"reactivate"`
	Deactivate  int `json:"deactivate"`
	Grant       int `json:"grant"`
	Revoke      int `json:"revoke"`
	Adopt       int `json:"adopt"`
	Conflict    int `json:"conflict"`
	GroupCreate int `json:"groupCreate"`
	GroupUpdate int `json:"groupUpdate"`
	GroupDelete int `json:"groupDelete"`
	Held        int `json:"held"` // deactivations held back by the safety brake
}

// Count returns the number of changes of one kind.
func (s *Summary) Count(kind string) int {
	if p := s.field(kind); p != nil {
		return *p
	}
	return 0
}

func (s *Summary) field(kind string) *int {
	switch kind {
	case ChangeCreate:
		return &s.Create
	case ChangeUpdate:
		return &s.Update
	case ChangeReactivate:
		return &s.Reactivate
	case ChangeDeactivate:
		return &s.Deactivate
	case ChangeGrant:
		return &s.Grant
	case ChangeRevoke:
		return &s.Revoke
	case ChangeAdopt:
		return &s.Adopt
	case ChangeConflict:
		return &s.Conflict
	case ChangeGroupCreate:
		return &s.GroupCreate
	case ChangeGroupUpdate:
		return &s.GroupUpdate
	case ChangeGroupDelete:
		return &s.GroupDelete
	}
	return nil
}

// Summarize recounts the plan's changes.
func (p *Plan) Summarize() {
	held := p.Summary.Held
	p.Summary = Summary{Held: held}
	for _, c := range p.Changes {
		if f := p.Summary.field(c.Kind); f != nil {
			*f++
		}
	}
}

// AdminRules are the roles and mappings admins added outside config.toml,
// and the rule settings they chose where config.toml leaves them unset.
type AdminRules struct {
	Roles    []Role    `json:"roles"`
	Mappings []Mapping `json:"mappings"`
	// DefaultRole applies only when config.toml sets no default_role ("":
	// none chosen); SingleRole only when config.toml's single_role is not
	// true. A value config.toml sets wins and stays read-only (see Merge).
	DefaultRole string `json:"defaultRole,omitempty"`
	SingleRole  bool   `json:"singleRole,omitempty"`
}
