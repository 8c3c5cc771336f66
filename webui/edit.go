package webui

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/idpsync/idpsync/reconcile"
)

// ruleEdit is one edit of the admin rules, as the mappings page's forms
// send it. Edits of an existing mapping name it (old) as well as its index,
// and settings edits the value the page showed (oldValue), so an edit made
// on a page older than the rules is refused, not misapplied.
type ruleEdit struct {
	op, index, dir  string
	old, m          reconcile.Mapping // the mapping as the page showed it, and as edited
	value, oldValue string            // default-role, single-role: the new value and the one the page showed
}

func editOf(r *http.Request) ruleEdit {
	f := r.PostFormValue
	return ruleEdit{op: f("op"), index: f("index"), dir: f("dir"),
		old:   reconcile.Mapping{Group: f("old_group"), Role: f("old_role")},
		m:     reconcile.Mapping{Group: strings.TrimSpace(f("group")), Role: f("role"), Origin: reconcile.OriginAdmin},
		value: f("value"), oldValue: f("old_value")}
}

// errStale is the answer to an edit made on a page older than the rules.
func errStale(what string) error {
	return reconcile.Errorf(reconcile.ECONFLICT, "%s changed since this page was loaded; here is the page now", what)
}

// apply applies the edit to the admin rules (cur: the effective rules
// before it) and describes it. Its refusals are worded for the UI: the
// rules' own validation names the CLI and the API.
func (e ruleEdit) apply(cur *reconcile.Rules, admin *reconcile.AdminRules) (string, error) {
	switch e.op {
	case "default-role":
		return e.defaultRole(cur, admin)
	case "single-role":
		return e.singleRole(cur, admin)
	case "add":
		if err := checkMapping(cur, e.m, -1); err != nil {
			return "", err
		}
		admin.Mappings = append(admin.Mappings, e.m)
		return fmt.Sprintf("add mapping %s → %s", e.m.Group, e.m.Role), nil
	}
	i, err := strconv.Atoi(e.index)
	if err != nil || i < 0 || i >= len(admin.Mappings) || admin.Mappings[i].Group != e.old.Group || admin.Mappings[i].Role != e.old.Role {
		return "", errStale("the mappings")
	}
	ms, old := admin.Mappings, e.old
	switch e.op {
	case "remove":
		admin.Mappings = slices.Delete(ms, i, i+1)
		return fmt.Sprintf("remove mapping %s → %s", old.Group, old.Role), nil
	case "edit":
		if e.m.Group == old.Group && e.m.Role == old.Role {
			return "", reconcile.Errorf(reconcile.EINVALID, "the mapping %s → %s is unchanged", old.Group, old.Role)
		}
		if err := checkMapping(cur, e.m, i); err != nil {
			return "", err
		}
		ms[i] = e.m
		return fmt.Sprintf("change mapping %s → %s to %s → %s", old.Group, old.Role, e.m.Group, e.m.Role), nil
	case "move":
		j := i - 1
		switch e.dir {
		case "down":
			j = i + 1
		case "up":
		default:
			return "", reconcile.Errorf(reconcile.EINVALID, "a mapping moves up or down, not %q", e.dir)
		}
		if j < 0 || j >= len(ms) {
			return "", reconcile.Errorf(reconcile.EINVALID, "the mapping %s → %s cannot move %s", old.Group, old.Role, e.dir)
		}
		ms[i], ms[j] = ms[j], ms[i]
		return fmt.Sprintf("move mapping %s → %s %s", old.Group, old.Role, e.dir), nil
	}
	return "", reconcile.Errorf(reconcile.EINVALID, "unknown edit %q", e.op)
}

// checkMapping refuses a mapping with no group, a role the catalogue lacks,
// or one that exists already (skip: the index among the admin mappings of
// the one being edited, or -1).
func checkMapping(cur *reconcile.Rules, m reconcile.Mapping, skip int) error {
	if m.Group == "" || m.Role == "" {
		return reconcile.Errorf(reconcile.EINVALID, "a mapping needs a group and a role")
	}
	if !cur.HasRole(m.Role) {
		return notARole(cur, m.Role)
	}
	admin := 0
	for n, x := range cur.Mappings {
		own := x.Origin == reconcile.OriginAdmin && admin == skip
		if x.Origin == reconcile.OriginAdmin {
			admin++
		}
		if own || x.Group != m.Group || x.Role != m.Role {
			continue
		}
		where := "in config.toml"
		if x.Origin == reconcile.OriginAdmin {
			where = "here"
		}
		return reconcile.Errorf(reconcile.EINVALID, "%s → %s is mapped already (mapping %d, %s): nothing to add", m.Group, m.Role, n+1, where)
	}
	return nil
}

func notARole(cur *reconcile.Rules, role string) error {
	return reconcile.Errorf(reconcile.EINVALID, "%q is not a role: pick one of %s", role, strings.Join(cur.RoleNames(), ", "))
}

// defaultRole sets or removes the admins' default role, unless config.toml
// sets one.
func (e ruleEdit) defaultRole(cur *reconcile.Rules, admin *reconcile.AdminRules) (string, error) {
	switch {
	case defaultByConfig(cur):
		return "", reconcile.Errorf(reconcile.ECONFLICT, "the default role (%s) is set in config.toml (default_role): it is read-only here; edit the file", cur.DefaultRole)
	case admin.DefaultRole != e.oldValue:
		return "", errStale("the default role")
	case e.value != "" && !cur.HasRole(e.value):
		return "", notARole(cur, e.value)
	case e.value == admin.DefaultRole && e.value == "":
		return "", reconcile.Errorf(reconcile.EINVALID, "there is no default role already")
	case e.value == admin.DefaultRole:
		return "", reconcile.Errorf(reconcile.EINVALID, "the default role is %s already", e.value)
	}
	admin.DefaultRole = e.value
	if e.value == "" {
		return "remove the default role", nil
	}
	return "set the default role to " + e.value, nil
}

// singleRole turns the admins' single_role on or off, unless config.toml
// sets single_role = true.
func (e ruleEdit) singleRole(cur *reconcile.Rules, admin *reconcile.AdminRules) (string, error) {
	on, err1 := strconv.ParseBool(e.value)
	was, err2 := strconv.ParseBool(e.oldValue)
	switch {
	case singleByConfig(cur):
		return "", reconcile.Errorf(reconcile.ECONFLICT, "single_role = true is set in config.toml: it is read-only here; edit the file")
	case err1 != nil || err2 != nil:
		return "", reconcile.Errorf(reconcile.EINVALID, "single_role is on (true) or off (false)")
	case admin.SingleRole != was:
		return "", errStale("single_role")
	case on == admin.SingleRole:
		return "", reconcile.Errorf(reconcile.EINVALID, "single_role is %s already", onOff(on))
	}
	admin.SingleRole = on
	return "turn single_role " + onOff(on), nil
}

func onOff(on bool) string {
	if on {
		return "on"
	}
	return "off"
}
