package reconcile

import (
	"context"
	"slices"
)

// EditRules plans a change of the admin-defined rules. edit gets the
// effective rules and a copy of the admin part to change, both read under
// the engine's lock, so an edit never builds on rules another edit replaced
// meanwhile; it must not call the engine. The returned plan re-derives every
// user's roles under the edited rules; Apply applies it, unless the rules
// changed since it was planned (ECONFLICT).
func (e *Engine) EditRules(ctx context.Context, actor string, edit func(current *Rules, admin *AdminRules) error) (*Plan, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	stored, err := e.store.AdminRules(ctx)
	if err != nil {
		return nil, err
	}
	base, _ := e.config()
	current := base.Merge(stored)
	hash := current.Hash()
	admin := stored.clone()
	if err := edit(&current, admin); err != nil {
		return nil, err
	}
	rules := base.Merge(admin)
	if err := rules.Validate(); err != nil {
		return nil, err
	}
	in, err := e.input(ctx, &rules)
	if err != nil {
		return nil, err
	}
	p := e.finish(Diff(in), actor, &rules)
	p.Admin, p.base = admin, hash
	return p, nil
}

// clone returns a copy of a that shares no slices with it.
func (a *AdminRules) clone() *AdminRules {
	if a == nil {
		return &AdminRules{}
	}
	c := *a
	c.Roles, c.Mappings = slices.Clone(a.Roles), slices.Clone(a.Mappings)
	return &c
}
