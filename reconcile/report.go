package reconcile

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// Report formats.
const (
	FormatText     = "text"
	FormatJSON     = "json"
	FormatMarkdown = "markdown"
)

// Render writes a plan report in one of the formats: text for people, JSON
// for machines, Markdown for tickets.
func Render(w io.Writer, p *Plan, format string) error {
	switch format {
	case FormatText, "":
		return WriteText(w, p)
	case FormatJSON:
		return WriteJSON(w, p)
	case FormatMarkdown, "md":
		return WriteMarkdown(w, p)
	}
	return Errorf(EINVALID, "unknown format %q (want text, json or markdown)", format)
}

// WriteJSON writes the plan as indented JSON: id, kind, source, actor,
// status, summary (counts per kind) and changes.
func WriteJSON(w io.Writer, p *Plan) error {
	out := *p
	if out.Changes == nil {
		out.Changes = []Change{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(&out)
}

// sections are the report's headings, in order, by change kind.
var sections = []struct{ kind, title, mark string }{
	{ChangeCreate, "Users to create", "+"},
	{ChangeUpdate, "Attribute updates", "~"},
	{ChangeReactivate, "Reactivations", "+"},
	{ChangeDeactivate, "Deactivations", "-"},
	{ChangeGrant, "Role grants", "+"},
	{ChangeRevoke, "Role revokes", "-"},
	{ChangeAdopt, "Ownership changes", "~"},
	{ChangeConflict, "Conflicts, not applied", "!"},
	{ChangeGroupCreate, "Groups added", "+"},
	{ChangeGroupUpdate, "Groups changed", "~"},
	{ChangeGroupDelete, "Groups removed", "-"},
}

// Title describes a plan in one line.
func (p *Plan) Title() string {
	var b strings.Builder
	b.WriteString("Plan")
	if p.ID != 0 {
		fmt.Fprintf(&b, " %d", p.ID)
	}
	switch p.Kind {
	case KindSync:
		fmt.Fprintf(&b, ": sync of source %q", p.Source)
	case KindRemove:
		fmt.Fprintf(&b, ": removal of source %q", p.Source)
	case KindRules:
		b.WriteString(": re-derive roles after a rules change")
	case KindPush:
		fmt.Fprintf(&b, ": push from source %q", p.Source)
	case KindManual:
		b.WriteString(": manual user change")
	}
	if p.Actor != "" {
		fmt.Fprintf(&b, ", by %s", p.Actor)
	}
	if !p.CreatedAt.IsZero() {
		fmt.Fprintf(&b, ", %s", p.CreatedAt.UTC().Format("2006-01-02 15:04:05 UTC"))
	}
	if p.Status != "" {
		fmt.Fprintf(&b, " [%s]", p.Status)
	}
	return b.String()
}

// WriteText writes the plan for people, grouped by kind, with totals at the end.
func WriteText(w io.Writer, p *Plan) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintln(bw, p.Title())
	byKind := p.byKind()
	for _, s := range sections {
		cs := byKind[s.kind]
		if len(cs) == 0 {
			continue
		}
		fmt.Fprintf(bw, "\n%s (%d)\n", s.title, len(cs))
		for _, c := range cs {
			writeTextChange(bw, s.mark, c)
		}
	}
	fmt.Fprintln(bw)
	if p.HeldReason != "" {
		switch p.Status {
		case StatusHeld:
			fmt.Fprintf(bw, "HELD by the safety brake: %s. Nothing was applied.\n", p.HeldReason)
			if p.ID != 0 {
				fmt.Fprintf(bw, "  approve: idpsync plans approve %d\n  discard: idpsync plans discard %d\n", p.ID, p.ID)
			}
		case StatusApplied:
			fmt.Fprintf(bw, "Applied on approval, past the safety brake: %s.\n", p.HeldReason)
		default:
			fmt.Fprintf(bw, "Would be HELD by the safety brake: %s.\n", p.HeldReason)
		}
	}
	fmt.Fprintln(bw, p.Totals())
	return bw.Flush()
}

func writeTextChange(w io.Writer, mark string, c *Change) {
	switch c.Kind {
	case ChangeCreate:
		fmt.Fprintf(w, "  %s %s%s\n", mark, c.User, describe(c.After))
		fmt.Fprintf(w, "      roles: %s\n", grantList(c.Grants))
	case ChangeUpdate:
		fmt.Fprintf(w, "  %s %s\n", mark, c.User)
		for _, k := range UserAttrs {
			if n, ok := c.After[k]; ok {
				fmt.Fprintf(w, "      %s: %q → %q\n", k, c.Before[k], n)
			}
		}
	case ChangeDeactivate:
		fmt.Fprintf(w, "  %s %s  %s%s\n", mark, c.User, c.Reason, lost(c.Before))
	case ChangeGrant, ChangeRevoke:
		fmt.Fprintf(w, "  %s %s  %s%s  %s\n", mark, c.User, mark, c.Role, c.Reason)
	case ChangeAdopt:
		fmt.Fprintf(w, "  %s %s  %v → %v  %s\n", mark, c.User, c.Before["source"], c.After["source"], c.Reason)
	case ChangeGroupCreate, ChangeGroupUpdate, ChangeGroupDelete:
		fmt.Fprintf(w, "  %s %s  %s\n", mark, c.Group, groupDetail(c))
	default:
		fmt.Fprintf(w, "  %s %s  %s\n", mark, c.User, c.Reason)
	}
}

// Totals is the plan's closing line.
func (p *Plan) Totals() string {
	s := p.Summary
	if s.Create+s.Update+s.Reactivate+s.Deactivate+s.Grant+s.Revoke+s.Adopt+s.GroupCreate+s.GroupUpdate+s.GroupDelete == 0 {
		if s.Conflict > 0 {
			return fmt.Sprintf("No changes; %s.", plural(s.Conflict, "conflict", "conflicts"))
		}
		return "No changes."
	}
	return fmt.Sprintf("Plan: %d to create, %d to update, %d to reactivate, %d to deactivate, %s, %s, %s, %s, %s.",
		s.Create, s.Update, s.Reactivate, s.Deactivate,
		plural(s.Grant, "role grant", "role grants"), plural(s.Revoke, "revoke", "revokes"),
		plural(s.Adopt, "adoption", "adoptions"), plural(s.Conflict, "conflict", "conflicts"),
		plural(s.GroupCreate+s.GroupUpdate+s.GroupDelete, "group change", "group changes"))
}

func (p *Plan) byKind() map[string][]*Change {
	m := map[string][]*Change{}
	for i := range p.Changes {
		c := &p.Changes[i]
		m[c.Kind] = append(m[c.Kind], c)
	}
	return m
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

func describe(a map[string]any) string {
	var parts []string
	if v, _ := a[AttrDisplayName].(string); v != "" {
		parts = append(parts, fmt.Sprintf("%q", v))
	}
	if v, _ := a[AttrEmail].(string); v != "" {
		parts = append(parts, "<"+v+">")
	}
	if len(parts) == 0 {
		return ""
	}
	return "  " + strings.Join(parts, " ")
}

func grantList(gs []Grant) string {
	if len(gs) == 0 {
		return "(none)"
	}
	parts := make([]string, len(gs))
	for i, g := range gs {
		switch g.Reason {
		case ReasonDefault:
			parts[i] = g.Role + " (default role)"
		case ReasonManual:
			parts[i] = g.Role + " (given by hand)"
		default:
			parts[i] = fmt.Sprintf("%s (member of %s)", g.Role, strings.Join(g.Groups, ", "))
		}
	}
	return strings.Join(parts, ", ")
}

func lost(before map[string]any) string {
	roles := anyStrings(before["roles"])
	if len(roles) == 0 {
		return ""
	}
	return "; loses " + strings.Join(roles, ", ")
}

// anyStrings reads a string list from a plan map: []string when computed,
// []any when decoded from JSON.
func anyStrings(v any) []string {
	switch x := v.(type) {
	case []string:
		return x
	case []any:
		out := make([]string, 0, len(x))
		for _, e := range x {
			out = append(out, fmt.Sprint(e))
		}
		return out
	}
	return nil
}

func groupDetail(c *Change) string {
	switch c.Kind {
	case ChangeGroupCreate:
		return members(c.After["members"])
	case ChangeGroupDelete:
		return "had " + members(c.Before["members"])
	}
	var parts []string
	if n, ok := c.Before["displayName"]; ok {
		parts = append(parts, fmt.Sprintf("renamed from %q", n))
	}
	if a, r := c.After["membersAdded"], c.After["membersRemoved"]; fmt.Sprint(a) != "0" || fmt.Sprint(r) != "0" {
		parts = append(parts, fmt.Sprintf("members %v → %v (+%v -%v)", c.Before["members"], c.After["members"], a, r))
	}
	return strings.Join(parts, "; ")
}

func members(n any) string {
	if fmt.Sprint(n) == "1" {
		return "1 member"
	}
	return fmt.Sprintf("%v members", n)
}

// Detail is a change's one-line description in the change log, as the
// CLI's changes command and the admin UI print it.
func (c *Change) Detail() string {
	switch c.Kind {
	case ChangeGrant, ChangeRevoke:
		return c.Role + ": " + c.Reason
	case ChangeUpdate:
		var parts []string
		for _, k := range UserAttrs {
			if n, ok := c.After[k]; ok {
				parts = append(parts, fmt.Sprintf("%s %q → %q", k, c.Before[k], n))
			}
		}
		return strings.Join(parts, "; ")
	case ChangeCreate:
		return "source " + c.Source
	case ChangeGroupCreate:
		return fmt.Sprintf("%v members", c.After["members"])
	case ChangeGroupDelete:
		return fmt.Sprintf("had %v members", c.Before["members"])
	case ChangeGroupUpdate:
		var parts []string
		if n, ok := c.Before["displayName"]; ok {
			parts = append(parts, fmt.Sprintf("renamed from %q", n))
		}
		if a, r := fmt.Sprint(c.After["membersAdded"]), fmt.Sprint(c.After["membersRemoved"]); a != "0" || r != "0" {
			parts = append(parts, fmt.Sprintf("members %v → %v (+%s −%s)", c.Before["members"], c.After["members"], a, r))
		}
		return strings.Join(parts, "; ")
	}
	return c.Reason
}
