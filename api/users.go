package api

import (
	"context"
	"net/url"
	"strconv"

	"github.com/idpsync/idpsync/reconcile"
)

// Paging of GET /users.
const (
	defaultUserLimit = 100
	maxUserLimit     = 1000
)

// UserPage is a page of users: Total counts every user matching the
// filters; Next is the offset of the following page, absent on the last.
type UserPage struct {
	Users  []reconcile.AppUser `json:"users"`
	Total  int                 `json:"total"`
	Limit  int                 `json:"limit"`
	Offset int                 `json:"offset"`
	Next   *int                `json:"next,omitempty"`
}

// userCounter counts users without reading them (store/sqlite has it).
type userCounter interface {
	CountUsers(ctx context.Context, f reconcile.UserFilter) (int, error)
}

// listUsers: GET /users?role=&source=&active=&q=&limit=&offset=
func (s *server) listUsers(c *call) error {
	q := c.r.URL.Query()
	f := reconcile.UserFilter{Role: q.Get("role"), Source: q.Get("source"), Query: q.Get("q")}
	if v := q.Get("active"); v != "" {
		active, err := strconv.ParseBool(v)
		if err != nil {
			return reconcile.Errorf(reconcile.EINVALID, "active: %q is not true or false", v)
		}
		f.Active = &active
	}
	var err error
	if f.Limit, err = intParam(q, "limit", defaultUserLimit, 1, maxUserLimit); err != nil {
		return err
	}
	if f.Offset, err = intParam(q, "offset", 0, 0, -1); err != nil {
		return err
	}
	users, err := s.store.Users(c.ctx, f)
	if err != nil {
		return err
	}
	total, err := s.countUsers(c.ctx, f)
	if err != nil {
		return err
	}
	if err := s.sortRoles(c.ctx, users); err != nil {
		return err
	}
	page := UserPage{Users: users, Total: total, Limit: f.Limit, Offset: f.Offset}
	if page.Users == nil {
		page.Users = []reconcile.AppUser{}
	}
	if next := f.Offset + len(users); len(users) == f.Limit && next < total {
		page.Next = &next
	}
	return c.ok(page)
}

func (s *server) countUsers(ctx context.Context, f reconcile.UserFilter) (int, error) {
	f.Limit, f.Offset = 0, 0
	if uc, ok := s.store.(userCounter); ok {
		return uc.CountUsers(ctx, f)
	}
	all, err := s.store.Users(ctx, f)
	return len(all), err
}

// sortRoles puts each user's roles in mapping order, as users see them.
func (s *server) sortRoles(ctx context.Context, users []reconcile.AppUser) error {
	rules, err := s.engine.Rules(ctx)
	if err != nil {
		return err
	}
	for i := range users {
		users[i].Roles = rules.SortRoles(users[i].Roles)
	}
	return nil
}

// getUser: GET /users/{ref}, ref an id or a userName (case-insensitive).
func (s *server) getUser(c *call) error {
	u, err := s.store.User(c.ctx, c.r.PathValue("ref"))
	if err != nil {
		return err
	}
	users := []reconcile.AppUser{*u}
	if err := s.sortRoles(c.ctx, users); err != nil {
		return err
	}
	return c.ok(users[0])
}

// explainUser: GET /users/{ref}/explain — which groups gave which role.
func (s *server) explainUser(c *call) error {
	x, err := s.engine.Explain(c.ctx, c.r.PathValue("ref"))
	if err != nil {
		return err
	}
	if x.Grants == nil {
		x.Grants = []reconcile.Grant{}
	}
	return c.ok(x)
}

// intParam reads an integer query parameter: def when absent, an error
// outside [lo, hi] (hi < 0: no upper bound).
func intParam(q url.Values, name string, def, lo, hi int) (int, error) {
	v := q.Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	switch {
	case err != nil:
		return 0, reconcile.Errorf(reconcile.EINVALID, "%s: %q is not a whole number", name, v)
	case n < lo:
		return 0, reconcile.Errorf(reconcile.EINVALID, "%s: %d is less than %d", name, n, lo)
	case hi >= 0 && n > hi:
		return 0, reconcile.Errorf(reconcile.EINVALID, "%s: %d is more than %d", name, n, hi)
	}
	return n, nil
}
