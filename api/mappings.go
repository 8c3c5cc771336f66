package api

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"

	"github.com/idpsync/idpsync/reconcile"
)

// MappingView is a mapping as the API shows it. ID derives from group and
// role (a mapping edited to another group or role gets a new id); Position
// is its place in evaluation order, from 1: config.toml's mappings first,
// then the admins'. Origin is "config" (read-only here) or "admin".
type MappingView struct {
	ID       string `json:"id"`
	Position int    `json:"position"`
	Group    string `json:"group"`
	Role     string `json:"role"`
	Origin   string `json:"origin"`
}

// MappingList is GET /mappings. Hash is the rules' hash (also the ETag).
type MappingList struct {
	Mappings []MappingView `json:"mappings"`
	Hash     string        `json:"hash"`
}

// MappingBody is the body of POST /mappings and PUT /mappings/{id}.
type MappingBody struct {
	Group string `json:"group"`
	Role  string `json:"role"`
}

// OrderBody is the body of PUT /mappings/order: the ids of every admin
// mapping, in their new order.
type OrderBody struct {
	IDs []string `json:"ids"`
}

func mappingID(group, role string) string {
	sum := sha256.Sum256([]byte(group + "\x00" + role))
	return "m_" + hex.EncodeToString(sum[:8])
}

func origin(o string) string {
	if o == reconcile.OriginAdmin {
		return reconcile.OriginAdmin
	}
	return reconcile.OriginConfig
}

func mappingViews(r *reconcile.Rules) []MappingView {
	out := make([]MappingView, len(r.Mappings))
	for i, m := range r.Mappings {
		out[i] = MappingView{ID: mappingID(m.Group, m.Role), Position: i + 1, Group: m.Group, Role: m.Role, Origin: origin(m.Origin)}
	}
	return out
}

// listMappings: GET /mappings
func (s *server) listMappings(c *call) error {
	rules, err := s.engine.Rules(c.ctx)
	if err != nil {
		return err
	}
	hash := rules.Hash()
	setETag(c.w, hash)
	return c.ok(MappingList{Mappings: mappingViews(&rules), Hash: hash})
}

// getMapping: GET /mappings/{id}
func (s *server) getMapping(c *call) error {
	rules, err := s.engine.Rules(c.ctx)
	if err != nil {
		return err
	}
	m, err := findMapping(&rules, c.r.PathValue("id"))
	if err != nil {
		return err
	}
	return c.ok(m)
}

func findMapping(r *reconcile.Rules, id string) (MappingView, error) {
	for _, m := range mappingViews(r) {
		if m.ID == id {
			return m, nil
		}
	}
	return MappingView{}, reconcile.Errorf(reconcile.ENOTFOUND, "no mapping with id %q", id)
}

// adminMapping finds the admin mapping id names: its index in admin.Mappings.
// A mapping from config.toml is read-only (ECONFLICT).
func adminMapping(cur *reconcile.Rules, admin *reconcile.AdminRules, id string) (int, error) {
	m, err := findMapping(cur, id)
	if err != nil {
		return 0, err
	}
	if m.Origin != reconcile.OriginAdmin {
		return 0, reconcile.Errorf(reconcile.ECONFLICT,
			"the mapping of group %q to role %q is defined in config.toml: it is read-only here; edit the file", m.Group, m.Role)
	}
	i := slices.IndexFunc(admin.Mappings, func(a reconcile.Mapping) bool { return a.Group == m.Group && a.Role == m.Role })
	if i < 0 { // cannot happen: cur is admin merged after the configuration
		return 0, reconcile.Errorf(reconcile.EINTERNAL, "mapping %q is not among the admin mappings", id)
	}
	return i, nil
}

func (b *MappingBody) check(cur *reconcile.Rules) error {
	if b.Group == "" || strings.TrimSpace(b.Role) == "" {
		return reconcile.Errorf(reconcile.EINVALID, `a mapping needs "group" (the IdP group's exact display name) and "role"`)
	}
	if slices.ContainsFunc(cur.Mappings, func(m reconcile.Mapping) bool { return m.Group == b.Group && m.Role == b.Role }) {
		return reconcile.Errorf(reconcile.ECONFLICT, "group %q is already mapped to role %q", b.Group, b.Role)
	}
	return nil
}

// createMapping: POST /mappings {"group", "role"} adds an admin mapping,
// after every other: 201, with the new mapping's Location.
func (s *server) createMapping(c *call) error {
	var body MappingBody
	if err := c.decode(&body); err != nil {
		return err
	}
	return s.createRules(c, "/mappings/"+mappingID(body.Group, body.Role), func(cur *reconcile.Rules, admin *reconcile.AdminRules) error {
		if err := body.check(cur); err != nil {
			return err
		}
		admin.Mappings = append(admin.Mappings, reconcile.Mapping{Group: body.Group, Role: body.Role, Origin: reconcile.OriginAdmin})
		return nil
	})
}

// updateMapping: PUT /mappings/{id} {"group", "role"} changes an admin
// mapping in place.
func (s *server) updateMapping(c *call) error {
	var body MappingBody
	if err := c.decode(&body); err != nil {
		return err
	}
	return s.editRules(c, func(cur *reconcile.Rules, admin *reconcile.AdminRules) error {
		i, err := adminMapping(cur, admin, c.r.PathValue("id"))
		if err != nil {
			return err
		}
		if m := admin.Mappings[i]; m.Group == body.Group && m.Role == body.Role {
			return nil // unchanged: an empty plan
		}
		if err := body.check(cur); err != nil {
			return err
		}
		admin.Mappings[i] = reconcile.Mapping{Group: body.Group, Role: body.Role, Origin: reconcile.OriginAdmin}
		return nil
	})
}

// deleteMapping: DELETE /mappings/{id} removes an admin mapping.
func (s *server) deleteMapping(c *call) error {
	return s.editRules(c, func(cur *reconcile.Rules, admin *reconcile.AdminRules) error {
		i, err := adminMapping(cur, admin, c.r.PathValue("id"))
		if err != nil {
			return err
		}
		admin.Mappings = slices.Delete(admin.Mappings, i, i+1)
		return nil
	})
}

// reorderMappings: PUT /mappings/order {"ids": […]} puts the admin mappings
// in a new order. config.toml's mappings always come first, in file order.
func (s *server) reorderMappings(c *call) error {
	var body OrderBody
	if err := c.decode(&body); err != nil {
		return err
	}
	return s.editRules(c, func(cur *reconcile.Rules, admin *reconcile.AdminRules) error {
		index := make(map[string]int, len(admin.Mappings))
		for i, m := range admin.Mappings {
			index[mappingID(m.Group, m.Role)] = i
		}
		order := make([]reconcile.Mapping, 0, len(body.IDs))
		seen := map[string]bool{}
		for _, id := range body.IDs {
			i, ok := index[id]
			if !ok {
				if _, err := adminMapping(cur, admin, id); err != nil {
					return err // unknown, or from config.toml
				}
				return reconcile.Errorf(reconcile.EINTERNAL, "mapping %q is not among the admin mappings", id)
			}
			if seen[id] {
				return reconcile.Errorf(reconcile.EINVALID, "ids: %q is listed twice", id)
			}
			seen[id] = true
			order = append(order, admin.Mappings[i])
		}
		if len(order) != len(admin.Mappings) {
			return reconcile.Errorf(reconcile.EINVALID, "ids: list every admin mapping (%d), not %d of them", len(admin.Mappings), len(order))
		}
		admin.Mappings = order
		return nil
	})
}
