package api

import (
	"net/url"
	"slices"
	"strings"

	"github.com/idpsync/idpsync/reconcile"
)

// RoleView is a role of the catalogue: where it is defined ("config",
// read-only here, or "admin"), the groups mapped to it in mapping order, and
// whether it is the default role.
type RoleView struct {
	Name       string   `json:"name"`
	Origin     string   `json:"origin"`
	MappedFrom []string `json:"mappedFrom"`
	Default    bool     `json:"default"`
}

// RoleBody is the body of POST /roles.
type RoleBody struct {
	Name string `json:"name"`
}

func roleViews(r *reconcile.Rules) []RoleView {
	out := make([]RoleView, len(r.Roles))
	for i, x := range r.Roles {
		v := RoleView{Name: x.Name, Origin: origin(x.Origin), MappedFrom: []string{}, Default: x.Name == r.DefaultRole}
		for _, m := range r.Mappings {
			if m.Role == x.Name {
				v.MappedFrom = append(v.MappedFrom, m.Group)
			}
		}
		out[i] = v
	}
	return out
}

// listRoles: GET /roles
func (s *server) listRoles(c *call) error {
	rules, err := s.engine.Rules(c.ctx)
	if err != nil {
		return err
	}
	setETag(c.w, rules.Hash())
	return c.ok(roleViews(&rules))
}

// createRole: POST /roles {"name"} adds a role to the catalogue: 201, with
// the role's Location (where DELETE removes it).
func (s *server) createRole(c *call) error {
	var body RoleBody
	if err := c.decode(&body); err != nil {
		return err
	}
	if strings.TrimSpace(body.Name) == "" {
		return reconcile.Errorf(reconcile.EINVALID, `a role needs a "name"`)
	}
	return s.createRules(c, "/roles/"+url.PathEscape(body.Name), func(cur *reconcile.Rules, admin *reconcile.AdminRules) error {
		if cur.HasRole(body.Name) {
			return reconcile.Errorf(reconcile.ECONFLICT, "role %q already exists", body.Name)
		}
		admin.Roles = append(admin.Roles, reconcile.Role{Name: body.Name, Origin: reconcile.OriginAdmin})
		return nil
	})
}

// deleteRole: DELETE /roles/{name} removes an admin role that no mapping,
// default role or manual user uses.
func (s *server) deleteRole(c *call) error {
	name := c.r.PathValue("name")
	return s.editRules(c, func(cur *reconcile.Rules, admin *reconcile.AdminRules) error {
		i := slices.IndexFunc(admin.Roles, func(r reconcile.Role) bool { return r.Name == name })
		switch {
		case i >= 0:
		case cur.HasRole(name):
			return reconcile.Errorf(reconcile.ECONFLICT, "role %q is defined in config.toml: it is read-only here; edit the file", name)
		default:
			return reconcile.Errorf(reconcile.ENOTFOUND, "no role %q", name)
		}
		if cur.DefaultRole == name || admin.DefaultRole == name {
			return reconcile.Errorf(reconcile.ECONFLICT, "role %q is the default role", name)
		}
		for _, m := range cur.Mappings {
			if m.Role == name {
				return reconcile.Errorf(reconcile.ECONFLICT, "role %q is used by the mapping of group %q: remove the mapping first", name, m.Group)
			}
		}
		holders, err := s.store.Users(c.ctx, reconcile.UserFilter{Role: name, Source: reconcile.Manual, Limit: 1})
		if err != nil {
			return err
		}
		if len(holders) > 0 {
			return reconcile.Errorf(reconcile.ECONFLICT, "role %q is held by manual users (e.g. %s)", name, holders[0].UserName)
		}
		admin.Roles = slices.Delete(admin.Roles, i, i+1)
		return nil
	})
}
