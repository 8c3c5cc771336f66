package webui

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"slices"
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
	// Whether config.toml sets the default role and single_role: then
	// they are read-only here; else admins set them (the edit's preview
	// first, as for mappings).
	DefaultByConfig, SingleByConfig bool
	ConfigMappings                  int // how many mappings config.toml has
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
	Label  string // "hr: 12 direct members, 1 nested group"
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
	d := mappingsData{Rules: rules, Roles: rules.RoleNames(), Error: errMsg, AddGroup: group, AddRole: role,
		DefaultByConfig: defaultByConfig(&rules), SingleByConfig: singleByConfig(&rules)}
	admin := 0
	for i, m := range rules.Mappings {
		it := mappingItem{N: i + 1, Mapping: m, Config: m.Origin != reconcile.OriginAdmin, Reported: byName[m.Group]}
		if !it.Config {
			it.Index, it.First = admin, admin == 0
			admin++
		} else {
			d.ConfigMappings++
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
			parts[i] = g.Source + ": " + plural(g.Users, "direct member")
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

// defaultByConfig and singleByConfig report whether config.toml sets the
// default role, or single_role = true: the UI may not change them.
func defaultByConfig(r *reconcile.Rules) bool {
	return r.DefaultRole != "" && r.DefaultRoleOrigin != reconcile.OriginAdmin
}

func singleByConfig(r *reconcile.Rules) bool {
	return r.SingleRole && r.SingleRoleOrigin != reconcile.OriginAdmin
}

// previewData is an edit's impact, waiting for confirmation.
type previewData struct {
	ID     string
	Edit   string
	Impact impact
	Report string // the plan as the CLI prints it
	// Unreported is the mapped group when no source reports it; Near
	// are reported names that differ from it only in case, each offered
	// as the same edit with that name (Form).
	Unreported string
	Near       []string
	Form       map[string]string
	// ConfigFirst: single_role is on and config.toml has mappings, which
	// always come before those added here.
	ConfigFirst bool
}

// previewMapping plans an edit of the admin rules (engine.EditRules: the
// same plan as PlanRules, read and planned in one step) and shows its
// impact. Nothing is applied: the plan waits in the session for
// applyMapping.
func (u *ui) previewMapping(w http.ResponseWriter, r *http.Request) {
	ctx, s := r.Context(), current(r)
	e := editOf(r)
	// EditRules reads the admin rules and plans under the engine's lock, and
	// stamps the plan with the rules it read: an edit built on rules another
	// edit replaced meanwhile is refused when applied, never applied over it.
	var edit string
	var single bool
	var configMappings int
	p, err := u.o.Engine.EditRules(ctx, s.actor, func(cur *reconcile.Rules, admin *reconcile.AdminRules) error {
		var err error
		if edit, err = e.apply(cur, admin); err != nil {
			return err
		}
		single = admin.SingleRole || singleByConfig(cur)
		for _, m := range cur.Mappings {
			if m.Origin != reconcile.OriginAdmin {
				configMappings++
			}
		}
		return nil
	})
	if err != nil {
		switch kind := reconcile.ErrorKind(err); kind {
		case reconcile.EINVALID, reconcile.ECONFLICT, reconcile.ENOTFOUND:
			status := http.StatusBadRequest
			if kind == reconcile.ECONFLICT {
				status = http.StatusConflict
			}
			group, role := "", ""
			if e.op == "add" {
				group, role = e.m.Group, e.m.Role
			}
			u.renderMappings(w, r, status, err.Error(), group, role)
		default:
			u.fail(w, r, err)
		}
		return
	}
	d := previewData{ConfigFirst: single && configMappings > 0 && e.op != "default-role"}
	if e.op == "add" || e.op == "edit" {
		if d.Near, err = u.unreported(ctx, e.m.Group); err != nil {
			u.fail(w, r, err)
			return
		}
		if d.Near != nil {
			d.Unreported = e.m.Group
			d.Form = map[string]string{"op": e.op, "index": e.index, "old_group": e.old.Group, "old_role": e.old.Role, "role": e.m.Role}
		}
	}
	u.showPreview(w, r, edit, p, d)
}

// unreported returns nil when a source reports a group named name;
// otherwise the reported names equal to it but for case (maybe none, not
// nil).
func (u *ui) unreported(ctx context.Context, name string) ([]string, error) {
	reported, err := u.o.Queries.ReportedGroups(ctx)
	if err != nil {
		return nil, err
	}
	near := []string{}
	for _, g := range reported {
		switch {
		case g.Name == name:
			return nil, nil
		case strings.EqualFold(g.Name, name) && !slices.Contains(near, g.Name):
			near = append(near, g.Name)
		}
	}
	return near, nil
}

func (u *ui) showPreview(w http.ResponseWriter, r *http.Request, edit string, p *reconcile.Plan, d previewData) {
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
	d.Edit, d.Impact, d.Report = edit, impactOf(p, rules.RoleNames()), clip(report.String())
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
	u.log.Info("rules edited from the UI", "edit", pv.edit, "plan", pv.plan.ID, "actor", s.actor)
	u.sessions.setFlash(s, fmt.Sprintf("Applied: %s (plan %d). %s.", pv.edit, pv.plan.ID, pv.summary), false)
	u.redirect(w, r, "/mappings")
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
