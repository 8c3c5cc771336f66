package webui

import (
	"bytes"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/idpsync/idpsync/reconcile"
	"github.com/idpsync/idpsync/store/sqlite"
)

type mappingsData struct {
	Rules    reconcile.Rules
	Items    []mappingItem
	Roles    []string
	Groups   []groupChoice
	Error    string
	AddGroup string // the add form's values, kept when it is refused
	AddRole  string
	Table    []groupChoice // the groups the table lists: the first maxGroupRows
}

// maxGroupRows caps the reported-groups table; the picker offers them all.
const maxGroupRows = 500

type mappingItem struct {
	N int // position in the effective list, from 1
	reconcile.Mapping
	Config      bool // from config.toml: read-only here
	Index       int  // position among the admin mappings
	First, Last bool // first or last admin mapping (no move up / down)
	Reported    []sqlite.ReportedGroup
}

// groupChoice is a group name the sources report, for the picker.
type groupChoice struct {
	Name   string
	Label  string // "hr: 12 users, 1 nested group"
	Mapped bool
}

func (u *ui) mappings(w http.ResponseWriter, r *http.Request) {
	u.renderMappings(w, r, http.StatusOK, "", "", "")
}

// renderMappings shows the mappings page, with an error and the add form's
// values when an edit was refused.
func (u *ui) renderMappings(w http.ResponseWriter, r *http.Request, status int, errMsg, group, role string) {
	ctx := r.Context()
	rules, err := u.o.Engine.Rules(ctx)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	reported, err := u.o.Queries.ReportedGroups(ctx)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	byName := map[string][]sqlite.ReportedGroup{}
	var names []string
	for _, g := range reported {
		if _, ok := byName[g.Name]; !ok {
			names = append(names, g.Name)
		}
		byName[g.Name] = append(byName[g.Name], g)
	}
	d := mappingsData{Rules: rules, Roles: rules.RoleNames(), Error: errMsg, AddGroup: group, AddRole: role}
	admin := 0
	for i, m := range rules.Mappings {
		it := mappingItem{N: i + 1, Mapping: m, Config: m.Origin != reconcile.OriginAdmin, Reported: byName[m.Group]}
		if !it.Config {
			it.Index, it.First = admin, admin == 0
			admin++
		}
		d.Items = append(d.Items, it)
	}
	for i := len(d.Items) - 1; i >= 0; i-- {
		if !d.Items[i].Config {
			d.Items[i].Last = true
			break
		}
	}
	for _, name := range names {
		gs := byName[name]
		parts := make([]string, len(gs))
		for i, g := range gs {
			parts[i] = g.Source + ": " + plural(g.Users, "user")
			if g.Groups > 0 {
				parts[i] += ", " + plural(g.Groups, "nested group")
			}
		}
		mapped := slices.ContainsFunc(rules.Mappings, func(m reconcile.Mapping) bool { return m.Group == name })
		d.Groups = append(d.Groups, groupChoice{Name: name, Label: strings.Join(parts, "; "), Mapped: mapped})
	}
	d.Table = d.Groups[:min(len(d.Groups), maxGroupRows)]
	u.render(w, r, status, "mappings", "Mappings", d)
}

// previewData is an edit's impact, waiting for confirmation.
type previewData struct {
	ID     string
	Edit   string
	Impact impact
	Report string // the plan as the CLI prints it
}

// previewMapping plans an edit of the admin mappings (engine.EditRules: the
// same plan as PlanRules, read and planned in one step) and shows its
// impact. Nothing is applied: the plan waits in the session for
// applyMapping.
func (u *ui) previewMapping(w http.ResponseWriter, r *http.Request) {
	ctx, s := r.Context(), current(r)
	group, role := r.PostFormValue("group"), r.PostFormValue("role")
	// EditRules reads the admin rules and plans under the engine's lock, and
	// stamps the plan with the rules it read: an edit built on rules another
	// edit replaced meanwhile is refused when applied, never applied over it.
	var edit string
	p, err := u.o.Engine.EditRules(ctx, s.actor, func(_ *reconcile.Rules, admin *reconcile.AdminRules) error {
		var err error
		edit, err = editMappings(admin, r.PostFormValue("op"), r.PostFormValue("index"),
			reconcile.Mapping{Group: r.PostFormValue("old_group"), Role: r.PostFormValue("old_role")},
			reconcile.Mapping{Group: group, Role: role, Origin: reconcile.OriginAdmin}, r.PostFormValue("dir"))
		return err
	})
	if err == nil {
		u.showPreview(w, r, edit, p)
		return
	}
	switch reconcile.ErrorKind(err) {
	case reconcile.EINVALID, reconcile.ECONFLICT, reconcile.ENOTFOUND:
		status := http.StatusBadRequest
		if reconcile.ErrorKind(err) == reconcile.ECONFLICT {
			status = http.StatusConflict
		}
		if r.PostFormValue("op") != "add" {
			group, role = "", ""
		}
		u.renderMappings(w, r, status, err.Error(), group, role)
	default:
		u.fail(w, r, err)
	}
}

func (u *ui) showPreview(w http.ResponseWriter, r *http.Request, edit string, p *reconcile.Plan) {
	rules, err := u.o.Engine.Rules(r.Context())
	if err != nil {
		u.fail(w, r, err)
		return
	}
	var report bytes.Buffer
	if err := reconcile.WriteText(&report, p); err != nil {
		u.fail(w, r, err)
		return
	}
	d := previewData{Edit: edit, Impact: impactOf(p, rules.RoleNames()), Report: clip(report.String())}
	d.ID = u.sessions.keepPreview(current(r), &preview{plan: p, edit: edit, summary: d.Impact.Summary})
	u.render(w, r, http.StatusOK, "preview", "Preview: "+edit, d)
}

// applyMapping applies the plan a preview showed, exactly. The engine
// refuses it (ECONFLICT) when the rules or any user it changes moved on
// since: then nothing is applied and the admin previews again.
func (u *ui) applyMapping(w http.ResponseWriter, r *http.Request) {
	s := current(r)
	pv := u.sessions.takePreview(s, r.PostFormValue("preview"))
	if pv == nil {
		u.renderMappings(w, r, http.StatusConflict,
			"That preview is no longer available (it was applied already, or replaced by newer ones): nothing was applied. Make the edit again to see its impact.", "", "")
		return
	}
	if err := u.o.Engine.Apply(r.Context(), pv.plan); err != nil {
		if reconcile.ErrorKind(err) == reconcile.ECONFLICT {
			u.renderMappings(w, r, http.StatusConflict, fmt.Sprintf(
				"Nothing was applied: the mappings or the users changed since the preview of %q was made. Make the edit again to see its impact now.", pv.edit), "", "")
			return
		}
		u.fail(w, r, err)
		return
	}
	u.log.Info("mappings edited from the UI", "edit", pv.edit, "plan", pv.plan.ID, "actor", s.actor)
	u.sessions.setFlash(s, fmt.Sprintf("Applied: %s (plan %d). %s.", pv.edit, pv.plan.ID, pv.summary), false)
	u.redirect(w, r, "/mappings")
}

// editMappings applies one edit to the admin mappings and describes it.
// Edits of an existing mapping name it (old) as well as its index, so an
// edit made on a page older than the mappings is refused, not misapplied.
func editMappings(admin *reconcile.AdminRules, op, index string, old, m reconcile.Mapping, dir string) (string, error) {
	if op == "add" {
		if strings.TrimSpace(m.Group) == "" || m.Role == "" {
			return "", reconcile.Errorf(reconcile.EINVALID, "a mapping needs a group and a role")
		}
		admin.Mappings = append(admin.Mappings, m)
		return fmt.Sprintf("add mapping %s → %s", m.Group, m.Role), nil
	}
	i, err := strconv.Atoi(index)
	if err != nil || i < 0 || i >= len(admin.Mappings) || admin.Mappings[i].Group != old.Group || admin.Mappings[i].Role != old.Role {
		return "", reconcile.Errorf(reconcile.ECONFLICT, "the mappings changed since this page was loaded; here they are now")
	}
	ms := admin.Mappings
	switch op {
	case "remove":
		admin.Mappings = slices.Delete(ms, i, i+1)
		return fmt.Sprintf("remove mapping %s → %s", old.Group, old.Role), nil
	case "edit":
		if strings.TrimSpace(m.Group) == "" || m.Role == "" {
			return "", reconcile.Errorf(reconcile.EINVALID, "a mapping needs a group and a role")
		}
		if m.Group == old.Group && m.Role == old.Role {
			return "", reconcile.Errorf(reconcile.EINVALID, "the mapping %s → %s is unchanged", old.Group, old.Role)
		}
		ms[i] = m
		return fmt.Sprintf("change mapping %s → %s to %s → %s", old.Group, old.Role, m.Group, m.Role), nil
	case "move":
		j := i - 1
		switch dir {
		case "down":
			j = i + 1
		case "up":
		default:
			return "", reconcile.Errorf(reconcile.EINVALID, "a mapping moves up or down, not %q", dir)
		}
		if j < 0 || j >= len(ms) {
			return "", reconcile.Errorf(reconcile.EINVALID, "the mapping %s → %s cannot move %s", old.Group, old.Role, dir)
		}
		ms[i], ms[j] = ms[j], ms[i]
		return fmt.Sprintf("move mapping %s → %s %s", old.Group, old.Role, dir), nil
	}
	return "", reconcile.Errorf(reconcile.EINVALID, "unknown edit %q", op)
}

// clip cuts a long report for the page (a download has it whole).
func clip(report string) string {
	const max = 200_000
	if len(report) <= max {
		return report
	}
	cut := strings.LastIndexByte(report[:max], '\n')
	return report[:cut+1] + "… (cut here: the whole report is longer)\n"
}
