package webui

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/idpsync/idpsync/reconcile"
	"github.com/idpsync/idpsync/store/sqlite"
)

const (
	usersPerPage   = 50
	changesPerPage = 50
	maxPage        = 10_000 // offsets past this are refused: narrow the search instead
)

type usersData struct {
	Users   []reconcile.AppUser
	Query   string
	Role    string
	Source  string
	Active  string // "", "active" or "inactive"
	Roles   []string
	Sources []string
	Page    int
	Prev    string // links to the neighbouring pages, "" at an end
	Next    string
}

// users lists users a page at a time. Filtering, search and paging run in
// the store; a page asks for one row more than it shows to know whether
// there is a next one, so no page counts the whole table.
func (u *ui) users(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	q := r.URL.Query()
	d := usersData{Query: strings.TrimSpace(q.Get("q")), Role: q.Get("role"), Source: q.Get("source"), Active: q.Get("active"), Page: 1}
	if p, err := strconv.Atoi(q.Get("page")); err == nil && p > 1 {
		d.Page = min(p, maxPage)
	}
	f := reconcile.UserFilter{Query: d.Query, Role: d.Role, Source: d.Source,
		Limit: usersPerPage + 1, Offset: (d.Page - 1) * usersPerPage}
	switch d.Active {
	case "active", "inactive":
		active := d.Active == "active"
		f.Active = &active
	default:
		d.Active = ""
	}
	rules, err := u.o.Engine.Rules(ctx)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	users, err := u.o.Store.Users(ctx, f)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	if d.Sources, err = u.o.Store.Sources(ctx); err != nil {
		u.fail(w, r, err)
		return
	}
	d.Roles = rules.RoleNames()
	if len(users) > usersPerPage {
		users = users[:usersPerPage]
		d.Next = d.pageLink(d.Page + 1)
	}
	if d.Page > 1 {
		d.Prev = d.pageLink(d.Page - 1)
	}
	for i := range users {
		users[i].Roles = rules.SortRoles(users[i].Roles)
	}
	d.Users = users
	u.render(w, r, http.StatusOK, "users", "Users", d)
}

// pageLink returns the query of another page of the same search.
func (d *usersData) pageLink(page int) string {
	v := url.Values{}
	for k, s := range map[string]string{"q": d.Query, "role": d.Role, "source": d.Source, "active": d.Active} {
		if s != "" {
			v.Set(k, s)
		}
	}
	v.Set("page", strconv.Itoa(page))
	return "?" + v.Encode()
}

type userData struct {
	X       *reconcile.Explanation
	Why     []whyRow
	Changes []reconcile.ChangeRecord
	Older   string // link to older changes, or ""
}

// whyRow is one role the user holds, and what gives it.
type whyRow struct {
	Role   string
	Reason string
	Groups []groupVia
}

type groupVia struct {
	Group string
	Via   []string // the groups between the user and Group, when nested
}

// user shows one user: attributes, owner, roles and why, and its history.
func (u *ui) user(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	x, err := u.o.Engine.Explain(ctx, r.PathValue("id"))
	if err != nil {
		u.fail(w, r, err)
		return
	}
	before, _ := strconv.ParseInt(r.URL.Query().Get("before"), 10, 64)
	changes, err := u.o.Queries.ChangeLog(ctx, sqlite.ChangeQuery{UserID: x.User.ID, Before: max(before, 0), Limit: changesPerPage + 1})
	if err != nil {
		u.fail(w, r, err)
		return
	}
	d := userData{X: x}
	if len(changes) > changesPerPage {
		changes = changes[:changesPerPage]
		d.Older = "?before=" + strconv.FormatInt(changes[len(changes)-1].Seq, 10)
	}
	d.Changes = changes
	for _, g := range x.Grants {
		row := whyRow{Role: g.Role, Reason: g.Reason}
		for _, name := range g.Groups {
			gv := groupVia{Group: name}
			for _, p := range x.Groups {
				if p.Group == name {
					gv.Via = p.Via
				}
			}
			row.Groups = append(row.Groups, gv)
		}
		d.Why = append(d.Why, row)
	}
	u.render(w, r, http.StatusOK, "user", x.User.UserName, d)
}
