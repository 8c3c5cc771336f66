package connectortest

import (
	"cmp"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/idpsync/idpsync/reconcile"
)

// Clone returns a deep copy of d.
func Clone(d *reconcile.Directory) *reconcile.Directory {
	if d == nil {
		return nil
	}
	c := &reconcile.Directory{Users: slices.Clone(d.Users), Groups: slices.Clone(d.Groups)}
	for i := range c.Groups {
		c.Groups[i].Members = slices.Clone(c.Groups[i].Members)
	}
	return c
}

// Normalize returns a copy of d in canonical form: users sorted by id, groups
// by id, each group's members sorted, and empty lists nil. Two directories
// that say the same thing have equal (reflect.DeepEqual) normal forms.
func Normalize(d *reconcile.Directory) *reconcile.Directory {
	n := Clone(d)
	if n == nil {
		return nil
	}
	slices.SortFunc(n.Users, func(a, b reconcile.User) int { return cmp.Compare(a.ID, b.ID) })
	slices.SortFunc(n.Groups, func(a, b reconcile.Group) int { return cmp.Compare(a.ID, b.ID) })
	for i := range n.Groups {
		slices.Sort(n.Groups[i].Members)
		if len(n.Groups[i].Members) == 0 {
			n.Groups[i].Members = nil
		}
	}
	if len(n.Users) == 0 {
		n.Users = nil
	}
	if len(n.Groups) == 0 {
		n.Groups = nil
	}
	return n
}

// maxDiff bounds the differences Diff lists.
const maxDiff = 20

// Diff describes, one difference a line, how got differs from want other
// than in order: users and groups missing or extra, attributes that differ,
// members missing or extra. It returns "" when they say the same thing.
func Diff(got, want *reconcile.Directory) string {
	switch {
	case got == nil && want == nil:
		return ""
	case got == nil:
		return "got no directory"
	case want == nil:
		return "got a directory, want none"
	}
	got, want = Normalize(got), Normalize(want)
	var lines []string
	add := func(format string, args ...any) { lines = append(lines, fmt.Sprintf(format, args...)) }

	merge(got.Users, want.Users, func(u reconcile.User) string { return u.ID },
		func(id string, g, w *reconcile.User) {
			switch {
			case g == nil:
				add("user %q (%s) is missing", id, w.UserName)
			case w == nil:
				add("user %q (%s) was not served", id, g.UserName)
			default:
				gv, wv := reflect.ValueOf(*g), reflect.ValueOf(*w)
				for i := range gv.NumField() {
					if gf, wf := gv.Field(i).Interface(), wv.Field(i).Interface(); gf != wf {
						add("user %q: %s = %#v, want %#v", id, gv.Type().Field(i).Name, gf, wf)
					}
				}
			}
		})
	merge(got.Groups, want.Groups, func(g reconcile.Group) string { return g.ID },
		func(id string, g, w *reconcile.Group) {
			switch {
			case g == nil:
				add("group %q (%s) is missing", id, w.DisplayName)
			case w == nil:
				add("group %q (%s) was not served", id, g.DisplayName)
			default:
				if g.DisplayName != w.DisplayName {
					add("group %q: DisplayName = %q, want %q", id, g.DisplayName, w.DisplayName)
				}
				merge(g.Members, w.Members, func(m string) string { return m }, func(m string, gm, wm *string) {
					switch {
					case gm == nil:
						add("group %q: member %q is missing", id, m)
					case wm == nil:
						add("group %q: member %q was not served", id, m)
					}
				})
			}
		})
	if len(lines) > maxDiff {
		lines = append(lines[:maxDiff], fmt.Sprintf("and %d more differences", len(lines)-maxDiff))
	}
	return strings.Join(lines, "\n")
}

// merge walks two lists sorted by key side by side and calls f for every
// key, with nil for the side that lacks it. Duplicate keys pair up in order.
func merge[T any](got, want []T, key func(T) string, f func(k string, g, w *T)) {
	i, j := 0, 0
	for i < len(got) || j < len(want) {
		var c int
		switch {
		case i == len(got):
			c = 1
		case j == len(want):
			c = -1
		default:
			c = strings.Compare(key(got[i]), key(want[j]))
		}
		switch {
		case c < 0:
			f(key(got[i]), &got[i], nil)
			i++
		case c > 0:
			f(key(want[j]), nil, &want[j])
			j++
		default:
			f(key(got[i]), &got[i], &want[j])
			i++
			j++
		}
	}
}
