package webui

import (
	"fmt"
	"slices"
	"strings"

	"github.com/idpsync/idpsync/reconcile"
)

// maxImpactRows caps the users a preview lists; the summary counts them all.
const maxImpactRows = 1000

// impact is what a rules plan does to people, for its preview.
type impact struct {
	Summary string       // "12 users gain Admin, 3 lose CSM, 2 fall back to Viewer"
	Users   []userImpact // the affected users, in the plan's order (by userName)
	Total   int          // affected users, listed or not
	More    int          // affected users not listed
	Other   int          // changes that are not role grants or revokes
}

type userImpact struct {
	User, UserID string
	Gains, Loses []roleChange
}

type roleChange struct {
	Role, Why string
}

// verbs of the summary, in the order it tells them.
const (
	verbGain = iota
	verbLose
	verbFallback
)

// impactOf summarizes a plan's role changes. roles orders the summary's
// roles (the catalogue's order).
func impactOf(p *reconcile.Plan, roles []string) impact {
	var im impact
	index := map[string]int{} // userName → position in users
	var users []userImpact
	type key struct {
		verb int
		role string
	}
	seen := map[key]map[string]bool{}
	note := func(verb int, role, user string) {
		k := key{verb, role}
		if seen[k] == nil {
			seen[k] = map[string]bool{}
		}
		seen[k][user] = true
	}
	for _, c := range p.Changes {
		if c.Kind != reconcile.ChangeGrant && c.Kind != reconcile.ChangeRevoke {
			im.Other++
			continue
		}
		i, ok := index[c.User]
		if !ok {
			i = len(users)
			index[c.User] = i
			users = append(users, userImpact{User: c.User, UserID: c.UserID})
		}
		rc := roleChange{Role: c.Role, Why: c.Reason}
		switch {
		case c.Kind == reconcile.ChangeRevoke:
			users[i].Loses = append(users[i].Loses, rc)
			note(verbLose, c.Role, c.User)
		case len(c.Groups) == 0: // no group gives it: the default role
			users[i].Gains = append(users[i].Gains, rc)
			note(verbFallback, c.Role, c.User)
		default:
			users[i].Gains = append(users[i].Gains, rc)
			note(verbGain, c.Role, c.User)
		}
	}
	im.Total = len(users)
	if len(users) > maxImpactRows {
		im.More = len(users) - maxImpactRows
		users = users[:maxImpactRows]
	}
	im.Users = users

	keys := make([]key, 0, len(seen))
	for k := range seen {
		keys = append(keys, k)
	}
	rank := func(role string) int {
		if i := slices.Index(roles, role); i >= 0 {
			return i
		}
		return len(roles)
	}
	slices.SortFunc(keys, func(a, b key) int {
		if a.verb != b.verb {
			return a.verb - b.verb
		}
		if d := rank(a.role) - rank(b.role); d != 0 {
			return d
		}
		return strings.Compare(a.role, b.role)
	})
	var parts []string
	for i, k := range keys {
		parts = append(parts, phrase(len(seen[k]), k.verb, k.role, i == 0))
	}
	im.Summary = "No user's roles change"
	if len(parts) > 0 {
		im.Summary = strings.Join(parts, ", ")
	}
	return im
}

// phrase says one count of the summary: "12 users gain Admin", or without
// the noun after the first: "3 lose CSM".
func phrase(n, verb int, role string, first bool) string {
	one := n == 1
	var v string
	switch verb {
	case verbGain:
		v = pick(one, "gains ", "gain ")
	case verbLose:
		v = pick(one, "loses ", "lose ")
	default:
		v = pick(one, "falls back to ", "fall back to ")
	}
	who := fmt.Sprint(n)
	if first {
		who = plural(n, "user")
	}
	return who + " " + v + role
}

func pick(one bool, singular, many string) string {
	if one {
		return singular
	}
	return many
}
