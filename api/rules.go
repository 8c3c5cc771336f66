package api

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/idpsync/idpsync/reconcile"
)

// RulesView is GET /rules: the effective rules, config.toml's and the
// admins' merged. An origin says who set a value: "config" (read-only
// here: edit config.toml), "admin", or "" when it is unset. Hash is the
// rules' fingerprint, also sent as the ETag: send it back in If-Match to
// make an edit conditional on nobody else's edit coming first.
type RulesView struct {
	Roles             []RoleView    `json:"roles"`
	DefaultRole       string        `json:"defaultRole"`
	DefaultRoleOrigin string        `json:"defaultRoleOrigin"`
	SingleRole        bool          `json:"singleRole"`
	SingleRoleOrigin  string        `json:"singleRoleOrigin"`
	OnConflict        string        `json:"onConflict"`
	MaxDeactivations  string        `json:"maxDeactivations"`
	Mappings          []MappingView `json:"mappings"`
	Hash              string        `json:"hash"`
}

// getRules: GET /rules
func (s *server) getRules(c *call) error {
	rules, err := s.engine.Rules(c.ctx)
	if err != nil {
		return err
	}
	v := RulesView{
		Roles:       roleViews(&rules),
		DefaultRole: rules.DefaultRole, DefaultRoleOrigin: defaultRoleOrigin(&rules),
		SingleRole: rules.SingleRole, SingleRoleOrigin: singleRoleOrigin(&rules),
		OnConflict: rules.OnConflict, MaxDeactivations: rules.MaxDeactivations.String(),
		Mappings: mappingViews(&rules), Hash: rules.Hash(),
	}
	setETag(c.w, v.Hash)
	return c.ok(v)
}

func defaultRoleOrigin(r *reconcile.Rules) string {
	switch {
	case r.DefaultRole == "":
		return ""
	case r.DefaultRoleOrigin == reconcile.OriginAdmin:
		return reconcile.OriginAdmin
	}
	return reconcile.OriginConfig
}

func singleRoleOrigin(r *reconcile.Rules) string {
	switch {
	case !r.SingleRole:
		return ""
	case r.SingleRoleOrigin == reconcile.OriginAdmin:
		return reconcile.OriginAdmin
	}
	return reconcile.OriginConfig
}

// putDefaultRole: PUT /rules/default-role {"defaultRole": "Viewer"} sets the
// admin's default role ("" removes it), unless config.toml sets one.
func (s *server) putDefaultRole(c *call) error {
	var body struct {
		DefaultRole *string `json:"defaultRole"`
	}
	if err := c.decode(&body); err != nil {
		return err
	}
	if body.DefaultRole == nil {
		return reconcile.Errorf(reconcile.EINVALID, `the body needs "defaultRole" (a role name, or "" for none)`)
	}
	return s.editRules(c, func(cur *reconcile.Rules, admin *reconcile.AdminRules) error {
		if defaultRoleOrigin(cur) == reconcile.OriginConfig {
			return reconcile.Errorf(reconcile.ECONFLICT, "the default role (%q) is set in config.toml (default_role): it is read-only here; edit the file", cur.DefaultRole)
		}
		admin.DefaultRole = *body.DefaultRole
		return nil
	})
}

// putSingleRole: PUT /rules/single-role {"singleRole": true} sets the
// admin's single_role, unless config.toml sets single_role = true.
func (s *server) putSingleRole(c *call) error {
	var body struct {
		SingleRole *bool `json:"singleRole"`
	}
	if err := c.decode(&body); err != nil {
		return err
	}
	if body.SingleRole == nil {
		return reconcile.Errorf(reconcile.EINVALID, `the body needs "singleRole" (true or false)`)
	}
	return s.editRules(c, func(cur *reconcile.Rules, admin *reconcile.AdminRules) error {
		if singleRoleOrigin(cur) == reconcile.OriginConfig {
			return reconcile.Errorf(reconcile.ECONFLICT, "single_role = true is set in config.toml: it is read-only here; edit the file")
		}
		admin.SingleRole = *body.SingleRole
		return nil
	})
}

// editRules plans an edit of the admin-defined rules and, unless the
// request is a dry run, applies it; either way it answers with the plan.
// An If-Match that is not the current rules' hash is refused (412).
func (s *server) editRules(c *call, edit func(cur *reconcile.Rules, admin *reconcile.AdminRules) error) error {
	return s.createRules(c, "", edit)
}

// createRules is editRules for an edit that creates a resource, at created
// (a path relative to the API's root): an applied edit answers 201 Created
// with its Location; a dry run answers 200, as nothing was created.
func (s *server) createRules(c *call, created string, edit func(cur *reconcile.Rules, admin *reconcile.AdminRules) error) error {
	ifMatch := c.r.Header.Get("If-Match")
	p, err := s.engine.EditRules(c.ctx, c.actor(), func(cur *reconcile.Rules, admin *reconcile.AdminRules) error {
		if err := checkIfMatch(ifMatch, cur.Hash()); err != nil {
			return err
		}
		return edit(cur, admin)
	})
	if err != nil {
		return err
	}
	if c.dryRun {
		p.Status = reconcile.StatusDryRun
		return c.plan(p)
	}
	if err := s.engine.Apply(c.ctx, p); err != nil {
		return err
	}
	setETag(c.w, p.RulesHash)
	if created != "" {
		c.w.Header().Set("Location", c.root()+created)
		return c.planWith(http.StatusCreated, p)
	}
	return c.plan(p)
}

// plan writes a plan with status 200: its changes, never null.
func (c *call) plan(p *reconcile.Plan) error { return c.planWith(http.StatusOK, p) }

func (c *call) planWith(status int, p *reconcile.Plan) error {
	out := *p
	if out.Changes == nil {
		out.Changes = []reconcile.Change{}
	}
	writeJSON(c.w, status, &out)
	return nil
}

// root is the path the API is mounted at ("/api/v1"): what the mount's
// StripPrefix took off the request's path. "" when the request came in
// with the path the API serves.
func (c *call) root() string {
	u, err := url.ParseRequestURI(c.r.RequestURI)
	if err != nil {
		return ""
	}
	root, ok := strings.CutSuffix(u.Path, c.r.URL.Path)
	if !ok {
		return ""
	}
	return root
}

func setETag(w http.ResponseWriter, hash string) {
	if hash != "" {
		w.Header().Set("ETag", `"`+hash+`"`)
	}
}

// checkIfMatch checks an If-Match header against the rules' hash.
func checkIfMatch(header, hash string) error {
	if header == "" {
		return nil
	}
	for _, tag := range strings.Split(header, ",") {
		tag = strings.TrimPrefix(strings.TrimSpace(tag), "W/")
		if tag == "*" || strings.Trim(tag, `"`) == hash {
			return nil
		}
	}
	return reconcile.Errorf(reconcile.EPRECONDITION, "If-Match: the rules changed (their hash is now %q); read them again", hash)
}
