package graphtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/idpsync/idpsync/reconcile"
)

// Delta queries. Every SetDirectory is a new version of the directory; a
// delta token names a version. /users/delta() and /groups/delta() (with or
// without the parentheses) serve:
//
//   - no token: every object, paged, then a deltaLink to the current version;
//   - $deltatoken=latest: no objects and a deltaLink to the current version;
//   - $deltatoken=N: what changed from version N to the current one, paged,
//     then a deltaLink. A changed user carries only the properties that
//     changed (a property that became empty as null), as Graph may send; a
//     deleted user or group is {"id", "@removed": {"reason": "changed"}}; a
//     group carries its displayName if it changed and its member changes in
//     members@delta (a removed member with "@removed"); a new group carries
//     everything, every member in members@delta.
//
// A token older than ExpireDeltaTokens made it gets 410 Gone, as Graph
// answers an expired token.

// ExpireDeltaTokens makes every delta token issued so far rejected with 410.
func (s *Server) ExpireDeltaTokens() {
	s.mu.Lock()
	s.expired = len(s.history) - 1
	s.mu.Unlock()
}

// deltaRound is one delta request: the versions it spans and where its page starts.
type deltaRound struct {
	from, to, offset int // from -1: the initial round
}

func (s *Server) serveDelta(w http.ResponseWriter, r *http.Request, entity string, p page, cut bool) {
	s.mu.Lock()
	history, expired := s.history, s.expired
	s.mu.Unlock()
	current := len(history) - 1
	q := p.q
	var round deltaRound
	switch tok := q.Get("$deltatoken"); {
	case q.Get("$skiptoken") != "":
		if _, err := fmt.Sscanf(q.Get("$skiptoken"), "%d.%d.%d", &round.from, &round.to, &round.offset); err != nil {
			graphError(w, http.StatusBadRequest, "Request_BadRequest", "malformed skip token")
			return
		}
	case tok == "latest":
		p.writeDelta(w, entity, nil, deltaRound{from: current, to: current}, cut)
		return
	case tok != "":
		v, err := strconv.Atoi(tok)
		if err != nil || v < 0 || v > current {
			graphError(w, http.StatusBadRequest, "Request_BadRequest", "malformed delta token")
			return
		}
		round = deltaRound{from: v, to: current}
	default:
		round = deltaRound{from: -1, to: current}
	}
	if round.from >= 0 && round.from < expired {
		graphError(w, http.StatusGone, "resyncRequired", "The delta token is expired; a full resync is required.")
		return
	}
	if round.to >= len(history) || round.from >= len(history) {
		graphError(w, http.StatusBadRequest, "Request_BadRequest", "unknown token")
		return
	}
	var objs []any
	var old *index
	if round.from >= 0 {
		old = history[round.from]
	}
	switch {
	case old == history[round.to]: // the same version: nothing changed
	case entity == "users":
		objs = userChanges(old, history[round.to], p)
	default:
		objs = groupChanges(old, history[round.to], p)
	}
	p.writeDelta(w, entity, objs, round, cut)
}

// userChanges lists the user objects of a delta from old to cur (old nil:
// every user, whole).
func userChanges(old, cur *index, p page) []any {
	var out []any
	for _, id := range cur.uorder {
		u := cur.users[id]
		var was *reconcile.User
		if old != nil {
			was = old.users[id]
		}
		switch {
		case was == nil:
			out = append(out, p.object(u))
		case *was != *u:
			out = append(out, p.userDiff(was, u))
		}
	}
	if old != nil {
		for _, id := range old.uorder {
			if cur.users[id] == nil {
				out = append(out, map[string]any{"id": id, "@removed": map[string]string{"reason": "changed"}})
			}
		}
	}
	return out
}

// userDiff is a changed user: its id and the properties that changed.
func (p page) userDiff(was, u *reconcile.User) map[string]any {
	m := map[string]any{"id": u.ID}
	set := func(prop, a, b string) {
		if a != b && (p.sel == nil || p.sel[prop]) {
			if b == "" {
				m[prop] = nil
			} else {
				m[prop] = b
			}
		}
	}
	set("userPrincipalName", was.UserName, u.UserName)
	set("mail", was.Email, u.Email)
	set("displayName", was.DisplayName, u.DisplayName)
	set("givenName", was.GivenName, u.GivenName)
	set("surname", was.FamilyName, u.FamilyName)
	set("employeeId", was.ExternalID, u.ExternalID)
	if was.Active != u.Active && (p.sel == nil || p.sel["accountEnabled"]) {
		m["accountEnabled"] = u.Active
	}
	return m
}

// groupChanges lists the group objects of a delta from old to cur (old nil:
// every group with every member).
func groupChanges(old, cur *index, p page) []any {
	withMembers := p.sel == nil || p.sel["members"]
	memberRef := func(x *index, id string, removed bool) map[string]any {
		typ := "#microsoft.graph.user"
		if x.groups[id] != nil {
			typ = "#microsoft.graph.group"
		}
		m := map[string]any{"@odata.type": typ, "id": id}
		if removed {
			m["@removed"] = map[string]string{"reason": "deleted"}
		}
		return m
	}
	var out []any
	for _, id := range cur.gorder {
		g := cur.groups[id]
		var was *reconcile.Group
		if old != nil {
			was = old.groups[id]
		}
		m := map[string]any{"id": id}
		if was == nil || was.DisplayName != g.DisplayName {
			m["displayName"] = g.DisplayName
		}
		var refs []any
		if withMembers {
			had, has := set(was), set(g)
			for _, mid := range g.Members {
				if !had[mid] {
					refs = append(refs, memberRef(cur, mid, false))
				}
			}
			if was != nil {
				for _, mid := range was.Members {
					if !has[mid] {
						refs = append(refs, memberRef(old, mid, true))
					}
				}
			}
			if refs != nil {
				m["members@delta"] = refs
			}
		}
		if was == nil || len(m) > 1 {
			out = append(out, m)
		}
	}
	if old != nil {
		for _, id := range old.gorder {
			if cur.groups[id] == nil {
				out = append(out, map[string]any{"id": id, "@removed": map[string]string{"reason": "changed"}})
			}
		}
	}
	return out
}

// set is g's members as a set (none for nil).
func set(g *reconcile.Group) map[string]bool {
	if g == nil {
		return nil
	}
	m := make(map[string]bool, len(g.Members))
	for _, id := range g.Members {
		m[id] = true
	}
	return m
}

// writeDelta serves one page of a delta round: a nextLink while objects
// remain, else the deltaLink to round.to.
func (p page) writeDelta(w http.ResponseWriter, entity string, objs []any, round deltaRound, cut bool) {
	size := p.o.PageSize
	if size <= 0 {
		size = 999
	}
	from := max(0, min(round.offset, len(objs)))
	to := min(from+size, len(objs))

	var b bytes.Buffer
	base := p.base()
	fmt.Fprintf(&b, `{"@odata.context":%q,"value":[`, base+"$metadata#"+entity)
	for i, o := range objs[from:to] {
		if i > 0 {
			b.WriteByte(',')
		}
		j, _ := json.Marshal(o)
		b.Write(j)
	}
	b.WriteByte(']')
	q := url.Values{}
	if s := p.q.Get("$select"); s != "" {
		q.Set("$select", s)
	}
	link, rel := "", ""
	if to < len(objs) {
		q.Set("$skiptoken", fmt.Sprintf("%d.%d.%d", round.from, round.to, to))
		rel = "@odata.nextLink"
	} else {
		q.Set("$deltatoken", strconv.Itoa(round.to))
		rel = "@odata.deltaLink"
	}
	link = base + entity + "/delta()?" + q.Encode()
	j, _ := json.Marshal(link)
	fmt.Fprintf(&b, `,%q:%s}`, rel, j)
	writeBody(w, http.StatusOK, b.Bytes(), cut)
}

// isDelta tells whether path is entity's delta function.
func isDelta(path, entity string) bool {
	return path == "/v1.0/"+entity+"/delta()" || path == "/v1.0/"+entity+"/delta" ||
		strings.HasPrefix(path, "/v1.0/"+entity+"/microsoft.graph.delta")
}
