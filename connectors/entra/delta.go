package entra

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/idpsync/idpsync/reconcile"
)

// cursor is where the next run resumes: the deltaLinks of /users/delta and
// /groups/delta, when the last full read began, and the configuration it
// was read with. It is stored by the engine as JSON, with the state it
// applies to.
type cursor struct {
	Users  string    `json:"users"`
	Groups string    `json:"groups"`
	Full   time.Time `json:"full"`
	Scope  string    `json:"scope"`
}

// FetchDelta reads what changed since cur and returns prev with the changes
// applied, and the cursor to resume from. It reads everything instead, as
// Fetch does, when there is no cursor or state, when full_every has passed
// since the last full read, when the scope or the attribute mapping changed,
// when Graph rejects a delta token (410 Gone: tokens expire), and when a
// change makes a configured group ambiguous or missing (so that the full
// read reports it).
//
// An unchanged directory costs two requests, one delta query each for users
// and groups, reads no stored state, and returns no directory and cur
// itself, so the engine plans and writes nothing. A change costs
// those plus: one request per 15 users new to the directory (their
// properties), and for each group new to the scope (created, renamed into a
// pattern, nested into a mapped group) its name and members, as Fetch reads
// them.
func (c *Connector) FetchDelta(ctx context.Context, prev func(context.Context) (*reconcile.Directory, error), cur string) (*reconcile.Directory, string, error) {
	d, next, err := c.fetchDelta(ctx, prev, cur)
	if err == nil && d != nil {
		err = d.Validate()
	}
	if err != nil {
		return nil, "", c.failed(ctx, err)
	}
	return d, next, nil
}

// errFull asks for a full read.
var errFull = errors.New("a full read is needed")

func (c *Connector) fetchDelta(ctx context.Context, prev func(context.Context) (*reconcile.Directory, error), cur string) (*reconcile.Directory, string, error) {
	var cu cursor
	reason := ""
	switch {
	case cur == "":
		reason = "first run"
	case json.Unmarshal([]byte(cur), &cu) != nil || cu.Users == "" || cu.Groups == "":
		reason = "unreadable cursor"
	case cu.Scope != c.scope():
		reason = "the scope or attribute mapping changed"
	case c.now().Sub(cu.Full) >= c.fullEvery:
		reason = "full_every passed"
	}
	if reason == "" {
		d, next, err := c.delta(ctx, prev, cu)
		switch {
		case err == nil:
			if d == nil {
				return nil, cur, nil // nothing changed
			}
			b, _ := json.Marshal(next)
			return d, string(b), nil
		case statusOf(err) == 410:
			reason = "Graph rejected the delta token (410 Gone)"
		case errors.Is(err, errFull):
			reason = err.Error()
		default:
			return nil, "", err
		}
	}
	c.log.InfoContext(ctx, "reading the whole directory", "reason", reason)
	return c.full(ctx)
}

// full reads everything. The delta links are taken first, so a change made
// during the read is read again by the next run: applying a change twice
// changes nothing.
func (c *Connector) full(ctx context.Context) (*reconcile.Directory, string, error) {
	start := c.now()
	usersLink, err := c.latest(ctx, "users", c.cfg.selectProps())
	if err != nil {
		return nil, "", err
	}
	groupsLink, err := c.latest(ctx, "groups", []string{"displayName", "members"})
	if err != nil {
		return nil, "", err
	}
	d, err := c.fetch(ctx)
	if err != nil {
		return nil, "", err
	}
	b, _ := json.Marshal(cursor{Users: usersLink, Groups: groupsLink, Full: start, Scope: c.scope()})
	return d, string(b), nil
}

// latest asks for a deltaLink to the current state without reading it
// ($deltatoken=latest).
func (c *Connector) latest(ctx context.Context, entity string, sel []string) (string, error) {
	q := url.Values{"$deltatoken": {"latest"}, "$select": {strings.Join(sel, ",")}}
	req, err := getURL(strings.TrimRight(c.cfg.GraphURL, "/") + "/" + entity + "/delta()?" + q.Encode())
	if err != nil {
		return "", err
	}
	link, err := c.graph.walk(ctx, req, func(body []byte) (links, error) {
		var l links
		err := json.Unmarshal(body, &l)
		return l, err
	})
	if err == nil && link == "" {
		err = errors.New("no @odata.deltaLink in the answer")
	}
	if err != nil {
		return "", fmt.Errorf("%s delta link: %w", entity, err)
	}
	return link, nil
}

// scope fingerprints what a stored state depends on: a state read under
// another scope or mapping is not one a delta can be applied to.
func (c *Connector) scope() string {
	b, _ := json.Marshal([]any{c.cfg.GraphURL, c.cfg.TenantID, c.cfg.Groups, c.cfg.Users, c.cfg.selectProps(), c.cfg.mappedProps()})
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:8])
}

// mappedProps lists the mapping's properties in field order.
func (c Config) mappedProps() []string {
	var out []string
	for _, m := range c.mapping() {
		out = append(out, m.prop)
	}
	return out
}
