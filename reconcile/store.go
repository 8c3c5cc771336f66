package reconcile

import (
	"context"
	"time"
)

// Store keeps source state, app state, plans, runs and the change log. The
// engine is its only writer. store/sqlite implements it; storetest is the
// conformance suite every implementation passes.
type Store interface {
	// Users lists app users matching f, ordered by userName (case-insensitive).
	Users(ctx context.Context, f UserFilter) ([]AppUser, error)
	// User finds one app user by id or by userName (case-insensitive); ENOTFOUND if none.
	User(ctx context.Context, ref string) (*AppUser, error)
	// Directory returns a source's stored state, or nil if it has none.
	Directory(ctx context.Context, source string) (*Directory, error)
	// UserGroups returns the groups of a source's stored state that have
	// the user with the given source id as a member, directly or through
	// nested groups, sorted by id. Each group's Members holds only that user
	// and the other groups returned, sorted: all that deriving the user's
	// roles reads, without loading the whole directory. An id that is a
	// group's names no user and has no groups; so do unknown ids and sources.
	UserGroups(ctx context.Context, source, userID string) ([]Group, error)
	// Sources lists every source that has stored state or owns users, sorted.
	Sources(ctx context.Context) ([]string, error)
	// Cursor returns the delta cursor stored by the last applied plan of the
	// source that carried one, or "".
	Cursor(ctx context.Context, source string) (string, error)
	// SetCursor stores a source's cursor without a plan, when a read changed
	// nothing but where the next one resumes. It does nothing for a source
	// without stored state.
	SetCursor(ctx context.Context, source, cursor string) error

	// Apply applies a plan in one transaction: it checks every change's Before
	// against the current state (ECONFLICT "stale plan" on a mismatch, nothing
	// written), applies the changes, appends them to the change log, stores
	// the plan's Directory, Admin rules and RulesHash, drops DropSource's
	// state, and records the plan as applied (inserting it when ID is 0, and
	// setting ID). On any error nothing is written.
	Apply(ctx context.Context, p *Plan) error
	// SavePlan stores a dry-run or held plan, with its Directory and Admin
	// rules, and sets p.ID.
	SavePlan(ctx context.Context, p *Plan) error
	// Plan loads one plan, with everything needed to apply it; ENOTFOUND if none.
	Plan(ctx context.Context, id int64) (*Plan, error)
	// Plans lists plans, newest first, without their changes.
	Plans(ctx context.Context, f PlanFilter) ([]Plan, error)
	// DiscardPlan marks a dry-run or held plan discarded; EINVALID for any other status.
	DiscardPlan(ctx context.Context, id int64, actor string) error

	// AdminRules returns the roles and mappings admins added (empty if none).
	AdminRules(ctx context.Context) (*AdminRules, error)
	// RulesHash returns the fingerprint stored by the last applied plan that
	// had one, or by SetRulesHash.
	RulesHash(ctx context.Context) (string, error)
	// SetRulesHash stores the fingerprint without a plan (nothing changed).
	SetRulesHash(ctx context.Context, hash string) error

	// Changes returns change-log records with Seq > after, oldest first, at most limit (0: no limit).
	Changes(ctx context.Context, f ChangeFilter) ([]ChangeRecord, error)
	// LastSeq returns the seq of the change log's last record; 0 when it is empty.
	LastSeq(ctx context.Context) (int64, error)

	// RecordRun stores a finished run and sets r.ID.
	RecordRun(ctx context.Context, r *Run) error
	// Runs lists runs, newest first.
	Runs(ctx context.Context, source string, limit int) ([]Run, error)

	Close() error
}

// UserFilter selects app users. Zero values select everything.
type UserFilter struct {
	Role   string
	Source string
	Active *bool  // nil: active and inactive
	Query  string // case-insensitive substring of userName, displayName or email
	Limit  int    // 0: no limit
	Offset int
}

// PlanFilter selects plans. Zero values select everything.
type PlanFilter struct {
	Status string
	Source string
	Limit  int
}

// ChangeFilter selects change-log records.
type ChangeFilter struct {
	After  int64  // only records with Seq > After
	Limit  int    // 0: no limit
	UserID string // only this user's records
}

// ChangeRecord is one entry of the append-only change log.
type ChangeRecord struct {
	Seq    int64     `json:"seq"`
	Time   time.Time `json:"time"`
	PlanID int64     `json:"planId"`
	Actor  string    `json:"actor"`
	Change
}

// Run is one pull run of a source.
type Run struct {
	ID       int64     `json:"id"`
	Source   string    `json:"source"`
	Trigger  string    `json:"trigger"` // "start", "schedule", "cli", "api"
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
	Outcome  string    `json:"outcome"` // RunApplied, RunNoChanges, RunHeld, RunFailed
	PlanID   int64     `json:"planId,omitempty"`
	Summary  Summary   `json:"summary"`
	Error    string    `json:"error,omitempty"`
}

// Run outcomes.
const (
	RunApplied   = "applied"
	RunNoChanges = "no-changes"
	RunHeld      = "held"
	RunFailed    = "failed"
)
