package reconcile

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// WriteMarkdown writes the plan as Markdown, for a change ticket: a summary
// table, then one table per kind of change.
func WriteMarkdown(w io.Writer, p *Plan) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "### %s\n\n", mdEscape(p.Title()))
	if p.HeldReason != "" {
		verb := "Would be held"
		switch p.Status {
		case StatusHeld:
			verb = "Held"
		case StatusApplied:
			verb = "Applied on approval, past"
		}
		fmt.Fprintf(bw, "> **%s by the safety brake:** %s.\n\n", verb, mdEscape(p.HeldReason))
	}
	fmt.Fprintf(bw, "| Change | Count |\n|---|---:|\n")
	for _, s := range sections {
		fmt.Fprintf(bw, "| %s | %d |\n", s.title, p.Summary.Count(s.kind))
	}
	byKind := p.byKind()
	for _, s := range sections {
		cs := byKind[s.kind]
		if len(cs) == 0 {
			continue
		}
		fmt.Fprintf(bw, "\n#### %s (%d)\n\n", s.title, len(cs))
		header, row := mdTable(s.kind)
		fmt.Fprintf(bw, "| %s |\n|%s\n", strings.Join(header, " | "), strings.Repeat("---|", len(header)))
		for _, c := range cs {
			for _, r := range row(c) {
				for i := range r {
					r[i] = mdEscape(r[i])
				}
				fmt.Fprintf(bw, "| %s |\n", strings.Join(r, " | "))
			}
		}
	}
	fmt.Fprintf(bw, "\n%s\n", mdEscape(p.Totals()))
	return bw.Flush()
}

// mdTable returns a kind's table header and a function giving a change's rows.
func mdTable(kind string) ([]string, func(*Change) [][]string) {
	switch kind {
	case ChangeCreate:
		return []string{"User", "Display name", "Email", "Roles"}, func(c *Change) [][]string {
			return [][]string{{c.User, str(c.After[AttrDisplayName]), str(c.After[AttrEmail]), grantList(c.Grants)}}
		}
	case ChangeUpdate:
		return []string{"User", "Attribute", "Before", "After"}, func(c *Change) [][]string {
			var rows [][]string
			for _, k := range UserAttrs {
				if n, ok := c.After[k]; ok {
					rows = append(rows, []string{c.User, k, str(c.Before[k]), str(n)})
				}
			}
			return rows
		}
	case ChangeDeactivate:
		return []string{"User", "Reason", "Roles lost"}, func(c *Change) [][]string {
			return [][]string{{c.User, c.Reason, strings.Join(anyStrings(c.Before["roles"]), ", ")}}
		}
	case ChangeGrant, ChangeRevoke:
		return []string{"User", "Role", "Why"}, func(c *Change) [][]string {
			return [][]string{{c.User, c.Role, c.Reason}}
		}
	case ChangeAdopt:
		return []string{"User", "From", "To", "Why"}, func(c *Change) [][]string {
			return [][]string{{c.User, str(c.Before["source"]), str(c.After["source"]), c.Reason}}
		}
	case ChangeGroupCreate, ChangeGroupUpdate, ChangeGroupDelete:
		return []string{"Group", "Change"}, func(c *Change) [][]string {
			return [][]string{{c.Group, groupDetail(c)}}
		}
	}
	return []string{"User", "Why"}, func(c *Change) [][]string { return [][]string{{c.User, c.Reason}} }
}

func str(v any) string {
	if v == nil {
		return ""
	}
	return fmt.Sprint(v)
}

var mdReplacer = strings.NewReplacer("|", `\|`, "\n", " ", "*", `\*`, "_", `\_`, "`", "\\`", "<", "&lt;", ">", "&gt;")

func mdEscape(s string) string { return mdReplacer.Replace(s) }
