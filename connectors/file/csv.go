package file

import (
	"bufio"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"

	"strings"

	"github.com/idpsync/idpsync/reconcile"
)

// CSV columns are found by their header: names compare case-insensitively and
// ignoring '_', '-' and spaces ("userName", "username" and "user_name" are one
// column), in any order; unknown columns are ignored. Every value is trimmed of
// surrounding spaces; rows whose fields are all empty are skipped. A UTF-8
// byte-order mark (Excel writes one) is dropped.
var (
	userColumns = map[string]string{
		"id": "id", "username": "userName", "displayname": "displayName", "email": "email",
		"givenname": "givenName", "familyname": "familyName", "externalid": "externalId", "active": "active",
	}
	groupColumns = map[string]string{
		"id": "id", "groupid": "id", "group": "id", "displayname": "displayName", "member": "member", "memberid": "member",
	}
)

// readCSV reads users.csv at usersPath and groups.csv at groupsPath. Both
// must exist: a groups.csv missing for a moment would otherwise strip every
// user of its mapped roles, which the safety brake (it counts
// deactivations) would not stop. A directory without groups has a
// header-only groups.csv.
func readCSV(ctx context.Context, usersPath, groupsPath string) (*reconcile.Directory, error) {
	var p problems
	d := &reconcile.Directory{}
	userIDs := make(map[string]int) // id → line
	if err := readUsers(ctx, usersPath, d, userIDs, &p); err != nil {
		return nil, err
	}
	if err := readGroups(ctx, groupsPath, d, userIDs, &p); err != nil {
		return nil, err
	}
	if err := p.err(); err != nil {
		return nil, err
	}
	// Everything Validate checks has been checked above, with line numbers;
	// this is a backstop.
	if err := d.Validate(); err != nil {
		return nil, fmt.Errorf("%s, %s: %w", usersPath, groupsPath, err)
	}
	return d, nil
}

// readUsers reads users.csv: one user per row.
func readUsers(ctx context.Context, path string, d *reconcile.Directory, ids map[string]int, p *problems) error {
	t, err := openTable(ctx, path, userColumns, "id", "userName")
	if err != nil {
		return err
	}
	defer t.Close()
	names := make(map[string]int) // folded userName → line
	for t.next() {
		u := reconcile.User{
			ID: t.get("id"), UserName: t.get("userName"), DisplayName: t.get("displayName"),
			Email: t.get("email"), GivenName: t.get("givenName"), FamilyName: t.get("familyName"),
			ExternalID: t.get("externalId"), Active: true,
		}
		if u.ID == "" {
			p.add("%s: id: empty", t.at("id"))
		} else if first, dup := ids[u.ID]; dup {
			p.add("%s: id: duplicate user id %q (first on line %d)", t.at("id"), u.ID, first)
		} else {
			ids[u.ID] = t.line
		}
		key := reconcile.FoldName(u.UserName)
		if key == "" {
			p.add("%s: userName: empty", t.at("userName"))
		} else if first, dup := names[key]; dup {
			p.add("%s: userName: %q is already used on line %d (userNames are compared case-insensitively)",
				t.at("userName"), u.UserName, first)
		} else {
			names[key] = t.line
		}
		switch v := strings.ToLower(t.get("active")); v {
		case "", "true", "yes", "1":
		case "false", "no", "0":
			u.Active = false
		default:
			p.add("%s: active: %q is not true, false, yes, no, 1 or 0", t.at("active"), t.get("active"))
		}
		d.Users = append(d.Users, u)
	}
	return t.err
}

// readGroups reads groups.csv: one membership per row, or a group without a
// member. A group's displayName may be left empty on all but one of its rows;
// two different names for one group are an error.
func readGroups(ctx context.Context, path string, d *reconcile.Directory, userIDs map[string]int, p *problems) error {
	t, err := openTable(ctx, path, groupColumns, "id", "displayName", "member")
	if err != nil {
		return err
	}
	defer t.Close()
	type group struct {
		index, line, nameLine int
		members               map[string]bool
	}
	type member struct {
		line, col int
		group, id string
	}
	groups := make(map[string]*group)
	var members []member // checked once every group is known
	for t.next() {
		id, name, m := t.get("id"), t.get("displayName"), t.get("member")
		if id == "" {
			p.add("%s: id: empty", t.at("id"))
			continue
		}
		g := groups[id]
		if g == nil {
			if line, isUser := userIDs[id]; isUser {
				p.add("%s: id: group id %q is also the id of the user on line %d of the users file", t.at("id"), id, line)
			}
			g = &group{index: len(d.Groups), line: t.line, members: make(map[string]bool)}
			groups[id] = g
			d.Groups = append(d.Groups, reconcile.Group{ID: id})
		}
		dg := &d.Groups[g.index]
		switch {
		case name == "":
		case dg.DisplayName == "":
			dg.DisplayName, g.nameLine = name, t.line
		case name != dg.DisplayName:
			p.add("%s: displayName: group %q is named %q here but %q on line %d",
				t.at("displayName"), id, name, dg.DisplayName, g.nameLine)
		}
		if m != "" && !g.members[m] {
			g.members[m] = true
			dg.Members = append(dg.Members, m)
			line, col := t.r.FieldPos(t.col["member"])
			members = append(members, member{line, col, id, m})
		}
	}
	if t.err != nil {
		return t.err
	}
	for _, g := range d.Groups {
		if g.DisplayName == "" {
			p.add("%s:%d: displayName: group %q has no displayName on any row", path, groups[g.ID].line, g.ID)
		}
	}
	for _, m := range members {
		if _, ok := userIDs[m.id]; !ok && groups[m.id] == nil {
			p.add("%s:%d:%d: member: %q (in group %q) is neither a user id nor a group id", path, m.line, m.col, m.id, m.group)
		}
	}
	return nil
}

// table reads a CSV file with a header row, record by record.
type table struct {
	io.Closer
	path string
	r    *csv.Reader
	col  map[string]int // column name → field index
	rec  []string
	line int   // the line the current record starts on
	err  error // the error that stopped next
}

func openTable(ctx context.Context, path string, columns map[string]string, required ...string) (*table, error) {
	f, err := open(ctx, path)
	if err != nil {
		return nil, err
	}
	br := bufio.NewReader(f)
	if b, _ := br.Peek(3); string(b) == "\uFEFF" {
		br.Discard(3)
	}
	t := &table{Closer: f, path: path, r: csv.NewReader(br), col: make(map[string]int)}
	t.r.ReuseRecord = true
	header, err := t.r.Read()
	if err == io.EOF {
		err = reconcile.Errorf(reconcile.EINVALID, "%s: empty file, expected a header row", path)
	}
	if err != nil {
		f.Close()
		return nil, t.wrap(err)
	}
	var p problems
	for i, h := range header {
		name, known := columns[headerKey(h)]
		if !known {
			continue
		}
		if j, dup := t.col[name]; dup {
			p.add("%s:1: header: columns %d (%q) and %d (%q) are both %s", path, j+1, header[j], i+1, h, name)
		}
		t.col[name] = i
	}
	for _, name := range required {
		if _, ok := t.col[name]; !ok {
			p.add("%s:1: header: missing required column %q", path, name)
		}
	}
	if err := p.err(); err != nil {
		f.Close()
		return nil, err
	}
	return t, nil
}

var headerSeparators = strings.NewReplacer("_", "", "-", "", " ", "")

func headerKey(h string) string {
	return headerSeparators.Replace(strings.ToLower(strings.TrimSpace(h)))
}

// next reads the next record that is not blank. At the end or on an error it
// returns false and sets t.err to the error, if any.
func (t *table) next() bool {
	for {
		rec, err := t.r.Read()
		if err == io.EOF {
			return false
		}
		if err != nil {
			t.err = t.wrap(err)
			return false
		}
		t.rec = rec
		t.line, _ = t.r.FieldPos(0)
		for _, v := range rec {
			if strings.TrimSpace(v) != "" {
				return true
			}
		}
	}
}

// get returns the trimmed value of a column of the current record, or "" if
// the file has no such column.
func (t *table) get(name string) string {
	if i, ok := t.col[name]; ok {
		return strings.TrimSpace(t.rec[i])
	}
	return ""
}

// at locates a column of the current record as "path:line:column".
func (t *table) at(name string) string {
	i, ok := t.col[name]
	if !ok {
		return fmt.Sprintf("%s:%d", t.path, t.line)
	}
	line, col := t.r.FieldPos(i)
	return fmt.Sprintf("%s:%d:%d", t.path, line, col)
}

func (t *table) wrap(err error) error {
	var pe *csv.ParseError
	switch {
	case errors.As(err, &pe) && errors.Is(pe.Err, csv.ErrFieldCount):
		return reconcile.Errorf(reconcile.EINVALID, "%s:%d: this row has a different number of fields than the header (%d); quote values that contain commas",
			t.path, pe.StartLine, t.r.FieldsPerRecord)
	case errors.As(err, &pe):
		return reconcile.Errorf(reconcile.EINVALID, "%s:%d:%d: %v", t.path, pe.Line, pe.Column, pe.Err)
	}
	return fmt.Errorf("%s: %w", t.path, err)
}

// problems collects content errors so that one run reports them all, up to a
// point.
type problems struct {
	list []string
	more int
}

const maxProblems = 20

func (p *problems) add(format string, args ...any) {
	if len(p.list) == maxProblems {
		p.more++
		return
	}
	p.list = append(p.list, fmt.Sprintf(format, args...))
}

func (p *problems) err() error {
	if len(p.list) == 0 {
		return nil
	}
	msg := strings.Join(p.list, "; ")
	if p.more > 0 {
		msg += fmt.Sprintf("; and %d more", p.more)
	}
	return reconcile.Errorf(reconcile.EINVALID, "%s", msg)
}
