package scimserver

import (
	"hash/fnv"
	"net/http"
	"strings"

	"github.com/idpsync/idpsync/reconcile"
)

// maxRetries bounds how often a write without If-Match is redone when a
// concurrent write to the same resource got in between its read and write.
const maxRetries = 8

func (s *Server) actor(req *request) string { return "scim:" + req.source }

// write pushes w, turning the store's errors into SCIM ones.
func (s *Server) write(req *request, w *reconcile.SourceWrites) error {
	w.Source = req.source
	_, err := s.push.Push(req.ctx, w, s.actor(req))
	switch reconcile.ErrorKind(err) {
	case reconcile.EPRECONDITION:
		return &Error{Status: http.StatusPreconditionFailed, Detail: err.Error()}
	case reconcile.ECONFLICT:
		return Uniqueness("%s", err.Error())
	}
	return err
}

// decodeUser reads and normalises a User body.
func decodeUser(req *request) (map[string]any, error) {
	b, err := req.body()
	if err != nil {
		return nil, err
	}
	m, err := DecodeResource(b)
	if err != nil {
		return nil, err
	}
	if err := NormalizeUser(m); err != nil {
		return nil, err
	}
	stripReadOnly(m, TypeUser)
	return m, nil
}

func userWrite(id string, m map[string]any) (reconcile.SourceUser, error) {
	raw, err := encode(m)
	if err != nil {
		return reconcile.SourceUser{}, err
	}
	return reconcile.SourceUser{User: UserFromResource(id, m), Resource: raw}, nil
}

// decodeGroup reads and normalises a Group body; members are returned
// apart from the resource.
func decodeGroup(req *request) (map[string]any, error) {
	b, err := req.body()
	if err != nil {
		return nil, err
	}
	m, err := DecodeResource(b)
	if err != nil {
		return nil, err
	}
	if err := NormalizeGroup(m); err != nil {
		return nil, err
	}
	stripReadOnly(m, TypeGroup)
	return m, nil
}

// groupWrite splits a group resource into the stored resource (without
// members) and its members with their display names.
func groupWrite(id string, m map[string]any) (reconcile.SourceGroup, error) {
	g := GroupFromResource(id, m)
	display := memberDisplay(m)
	rest := make(map[string]any, len(m))
	for k, v := range m {
		if !strings.EqualFold(k, "members") {
			rest[k] = v
		}
	}
	raw, err := encode(rest)
	if err != nil {
		return reconcile.SourceGroup{}, err
	}
	_, ext, _ := Lookup(m, "externalId")
	extID, _ := ext.(string)
	return reconcile.SourceGroup{ID: id, DisplayName: g.DisplayName, ExternalID: extID, Resource: raw,
		SetMembers: true, Members: g.Members, MemberDisplay: display}, nil
}

// memberDisplay collects the "display" sent with members.
func memberDisplay(m map[string]any) map[string]string {
	_, v, _ := Lookup(m, "members")
	list, _ := v.([]any)
	var out map[string]string
	for _, e := range list {
		mem, _ := e.(map[string]any)
		id, d := lookupString(mem, "value"), lookupString(mem, "display")
		if d == "" {
			d = lookupString(mem, "displayName") // Microsoft's validator sends this
		}
		if id != "" && d != "" {
			if out == nil {
				out = map[string]string{}
			}
			out[id] = d
		}
	}
	return out
}

func (s *Server) create(req *request, typ string) error {
	id := newID()
	w, err := s.bodyWrite(req, typ, id, func(u *reconcile.SourceUser) { u.Create = true },
		func(g *reconcile.SourceGroup) { g.Create = true })
	if err != nil {
		return err
	}
	if err := s.write(req, w); err != nil {
		return err
	}
	return s.respond(req, typ, id, http.StatusCreated)
}

// bodyWrite reads a POST or PUT body as the write of resource id; mark
// sets what differs between the two (Create, IfVersion).
func (s *Server) bodyWrite(req *request, typ, id string, markUser func(*reconcile.SourceUser), markGroup func(*reconcile.SourceGroup)) (*reconcile.SourceWrites, error) {
	if typ == TypeUser {
		m, err := decodeUser(req)
		if err != nil {
			return nil, err
		}
		u, err := userWrite(id, m)
		if err != nil {
			return nil, err
		}
		markUser(&u)
		return &reconcile.SourceWrites{Users: []reconcile.SourceUser{u}}, nil
	}
	m, err := decodeGroup(req)
	if err != nil {
		return nil, err
	}
	g, err := groupWrite(id, m)
	if err != nil {
		return nil, err
	}
	self := id
	if markGroup(&g); g.Create {
		self = ""
	}
	if err := s.uniqueGroupName(req, g.DisplayName, self); err != nil {
		return nil, err
	}
	return &reconcile.SourceWrites{Groups: []reconcile.SourceGroup{g}}, nil
}

// uniqueGroupName refuses a displayName another group of the source has
// (Entra matches groups by displayName and requires it unique).
func (s *Server) uniqueGroupName(req *request, name, self string) error {
	f, err := ParseFilter(`displayName eq ` + quote(name))
	if err != nil {
		return err
	}
	_, found, err := s.store.Resources(req.ctx, req.source, TypeGroup, f, 1, 2, false)
	if err != nil {
		return err
	}
	for _, r := range found {
		if r.ID != self {
			return Uniqueness("a group named %q already exists (id %s)", name, r.ID)
		}
	}
	return nil
}

func quote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// replace answers PUT: the resource becomes the body (members included).
func (s *Server) replace(req *request, typ, id string) error {
	version, err := ifMatch(req.r)
	if err != nil {
		return err
	}
	// A PUT without If-Match replaces whatever is there: last writer wins.
	if _, err := s.store.Resource(req.ctx, req.source, typ, id, false); err != nil {
		return notFound(err, typ, id)
	}
	w, err := s.bodyWrite(req, typ, id, func(u *reconcile.SourceUser) { u.IfVersion = version },
		func(g *reconcile.SourceGroup) { g.IfVersion = version })
	if err != nil {
		return err
	}
	if err := s.write(req, w); err != nil {
		return err
	}
	return s.respond(req, typ, id, http.StatusOK)
}

// patch answers PATCH. A user answers 204, or 200 with the resource when
// the request names attributes or prefers a representation (RFC 7644
// §3.5.2 lets the server choose; Microsoft's validator expects 204). A
// group answers 204.
func (s *Server) patch(req *request, typ, id string) error {
	want, err := ifMatch(req.r)
	if err != nil {
		return err
	}
	b, err := req.body()
	if err != nil {
		return err
	}
	ops, err := ParsePatch(b)
	if err != nil {
		return err
	}
	// PATCH is read-modify-write: serialise them per resource in this
	// process, so concurrent PATCHes of one resource queue instead of
	// failing each other's version checks; the retry covers other writers.
	unlock := s.lockResource(req.source, typ, id)
	defer unlock()
	for attempt := 0; ; attempt++ {
		err = s.patchOnce(req, typ, id, ops, want)
		if want != 0 || attempt >= maxRetries || err == nil || AsError(err).Status != http.StatusPreconditionFailed {
			break
		}
	}
	if err != nil {
		return err
	}
	if typ == TypeUser && wantsRepresentation(req.r) {
		return s.respond(req, typ, id, http.StatusOK)
	}
	req.w.WriteHeader(http.StatusNoContent)
	return nil
}

// wantsRepresentation decides a user PATCH's answer (RFC 7644 §3.5.2 lets
// the server choose between 200 with the resource and 204): the resource,
// unless the client asks for no body — Prefer: return=minimal, or an
// Accept of only "*/*" (a client that takes anything and names no SCIM or
// JSON type, as Microsoft's validator, which expects 204). The attributes
// parameters always get the resource (RFC 7644 §3.5.2).
func wantsRepresentation(r *http.Request) bool {
	q := r.URL.Query()
	if q.Has("attributes") || q.Has("excludedAttributes") {
		return true
	}
	prefer := strings.ToLower(r.Header.Get("Prefer"))
	switch {
	case strings.Contains(prefer, "return=minimal"):
		return false
	case strings.Contains(prefer, "return=representation"):
		return true
	}
	accept := strings.TrimSpace(strings.Join(r.Header.Values("Accept"), ","))
	return accept == "" || strings.Contains(accept, "json")
}

// patchOnce reads the resource, applies the operations and writes it back
// if its version is still the one read (or the one the client gave).
func (s *Server) patchOnce(req *request, typ, id string, ops []Op, want int64) error {
	var existing *reconcile.Resource
	var err error
	if typ == TypeGroup {
		existing, err = s.readGroupForPatch(req, id, ops)
	} else {
		existing, err = s.store.Resource(req.ctx, req.source, typ, id, false)
	}
	if err != nil {
		return notFound(err, typ, id)
	}
	version := want
	if version == 0 {
		version = existing.Version
	}
	m, err := DecodeResource(existing.Raw)
	if err != nil {
		return err
	}
	w := &reconcile.SourceWrites{}
	if typ == TypeUser {
		if err := ApplyUserPatch(m, ops); err != nil {
			return err
		}
		stripReadOnly(m, TypeUser)
		u, err := userWrite(id, m)
		if err != nil {
			return err
		}
		u.IfVersion = version
		w.Users = []reconcile.SourceUser{u}
		return s.write(req, w)
	}
	m["members"] = memberObjects(existing)
	before, _ := encode(withoutMembers(m))
	oldName := lookupString(m, "displayName")
	change, err := ApplyGroupPatch(m, ops) // patches m in place
	if err != nil {
		return err
	}
	g, err := groupWrite(id, m)
	if err != nil {
		return err
	}
	if g.DisplayName != oldName {
		if err := s.uniqueGroupName(req, g.DisplayName, id); err != nil {
			return err
		}
	}
	// The group's own attributes are written (guarded by the version read)
	// only when they changed; member changes are deltas, written as such,
	// so a PATCH to a big group costs what it changes and concurrent member
	// PATCHes do not collide.
	if after, _ := encode(withoutMembers(m)); string(after) != string(before) || want != 0 {
		g.SetMembers, g.Members, g.MemberDisplay, g.IfVersion = false, nil, nil, version
		w.Groups = []reconcile.SourceGroup{g}
	}
	if len(change.Added)+len(change.Removed) > 0 {
		display := memberDisplay(m)
		added := map[string]string{}
		for _, a := range change.Added {
			if d := display[a]; d != "" {
				added[a] = d
			}
		}
		w.Members = []reconcile.MemberWrite{{Group: id, Add: change.Added, Remove: change.Removed, Display: added}}
	}
	if len(w.Groups)+len(w.Members) == 0 {
		return nil
	}
	return s.write(req, w)
}

// readGroupForPatch reads what a group PATCH needs: only the members its
// operations name, when they name them all; else every member.
func (s *Server) readGroupForPatch(req *request, id string, ops []Op) (*reconcile.Resource, error) {
	if ids, ok := namedMembers(ops); ok {
		return s.store.GroupMembersIn(req.ctx, req.source, id, ids)
	}
	return s.store.Resource(req.ctx, req.source, TypeGroup, id, true)
}

func memberObjects(res *reconcile.Resource) []any {
	members := make([]any, len(res.Members))
	for i, mid := range res.Members {
		mem := map[string]any{"value": mid}
		if d := res.MemberDisplay[mid]; d != "" {
			mem["display"] = d
		}
		members[i] = mem
	}
	return members
}

func withoutMembers(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		if !strings.EqualFold(k, "members") {
			out[k] = v
		}
	}
	return out
}

func (s *Server) delete(req *request, typ, id string) error {
	w := &reconcile.SourceWrites{}
	if typ == TypeUser {
		w.DeletedUsers = []string{id}
	} else {
		w.DeletedGroups = []string{id}
	}
	if err := s.write(req, w); err != nil {
		return notFound(err, typ, id)
	}
	req.w.WriteHeader(http.StatusNoContent)
	return nil
}

// lockResource takes one of a fixed set of mutexes chosen by the resource's
// identity and returns its unlock.
func (s *Server) lockResource(source, typ, id string) func() {
	h := fnv.New32a()
	h.Write([]byte(source + "\x00" + typ + "\x00" + id))
	mu := &s.locks[h.Sum32()%uint32(len(s.locks))]
	mu.Lock()
	return mu.Unlock
}
