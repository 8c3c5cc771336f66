package api

import (
	"github.com/idpsync/idpsync/reconcile"
)

// Paging of GET /sources/{name}/runs.
const (
	defaultRunLimit = 20
	maxRunLimit     = 500
)

// listSources: GET /sources, in configuration order.
func (s *server) listSources(c *call) error {
	srcs, err := s.control.Sources(c.ctx)
	if err != nil {
		return err
	}
	if srcs == nil {
		srcs = []SourceStatus{}
	}
	return c.ok(map[string][]SourceStatus{"sources": srcs})
}

// source finds a configured source by name.
func (s *server) source(c *call, name string) (*SourceStatus, error) {
	srcs, err := s.control.Sources(c.ctx)
	if err != nil {
		return nil, err
	}
	for i := range srcs {
		if srcs[i].Name == name {
			return &srcs[i], nil
		}
	}
	return nil, reconcile.Errorf(reconcile.ENOTFOUND, "no configured source %q", name)
}

// getSource: GET /sources/{name}
func (s *server) getSource(c *call) error {
	src, err := s.source(c, c.r.PathValue("name"))
	if err != nil {
		return err
	}
	return c.ok(src)
}

// sourceRuns: GET /sources/{name}/runs?limit= — its pull runs, newest
// first. A source no longer configured still has its runs.
func (s *server) sourceRuns(c *call) error {
	limit, err := intParam(c.r.URL.Query(), "limit", defaultRunLimit, 1, maxRunLimit)
	if err != nil {
		return err
	}
	runs, err := s.store.Runs(c.ctx, c.r.PathValue("name"), limit)
	if err != nil {
		return err
	}
	if runs == nil {
		runs = []reconcile.Run{}
	}
	return c.ok(map[string][]reconcile.Run{"runs": runs})
}

// syncSource: POST /sources/{name}/sync runs a pull now and answers with its
// plan (status applied, held, or "" when nothing changed).
func (s *server) syncSource(c *call) error {
	p, err := s.control.Sync(c.ctx, c.r.PathValue("name"), c.actor())
	if err != nil {
		return err
	}
	if p == nil {
		p = &reconcile.Plan{Kind: reconcile.KindSync, Source: c.r.PathValue("name"), Actor: c.actor()}
	}
	return c.plan(p)
}

// enableSource: POST /sources/{name}/enable
func (s *server) enableSource(c *call) error { return s.setEnabled(c, true) }

// disableSource: POST /sources/{name}/disable pauses its schedule; a SCIM
// source's tokens get 403.
func (s *server) disableSource(c *call) error { return s.setEnabled(c, false) }

func (s *server) setEnabled(c *call, enabled bool) error {
	name := c.r.PathValue("name")
	if err := s.control.SetEnabled(c.ctx, name, enabled, c.actor()); err != nil {
		return err
	}
	src, err := s.source(c, name)
	if err != nil {
		return err
	}
	return c.ok(src)
}
