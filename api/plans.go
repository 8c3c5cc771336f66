package api

import (
	"bytes"
	"strconv"
	"time"

	"github.com/idpsync/idpsync/reconcile"
)

// Paging of GET /plans.
const (
	defaultPlanLimit = 50
	maxPlanLimit     = 500
)

// PlanItem is a plan as GET /plans lists it: without its changes.
type PlanItem struct {
	ID         int64             `json:"id"`
	Kind       string            `json:"kind"`
	Source     string            `json:"source,omitempty"`
	Actor      string            `json:"actor"`
	Status     string            `json:"status"`
	CreatedAt  time.Time         `json:"createdAt"`
	HeldReason string            `json:"heldReason,omitempty"`
	Summary    reconcile.Summary `json:"summary"`
}

// listPlans: GET /plans?status=&source=&limit=, newest first.
func (s *server) listPlans(c *call) error {
	q := c.r.URL.Query()
	f := reconcile.PlanFilter{Status: q.Get("status"), Source: q.Get("source")}
	switch f.Status {
	case "", reconcile.StatusDryRun, reconcile.StatusHeld, reconcile.StatusApplied, reconcile.StatusDiscarded:
	default:
		return reconcile.Errorf(reconcile.EINVALID, "status: %q is not dry-run, held, applied or discarded", f.Status)
	}
	var err error
	if f.Limit, err = intParam(q, "limit", defaultPlanLimit, 1, maxPlanLimit); err != nil {
		return err
	}
	plans, err := s.store.Plans(c.ctx, f)
	if err != nil {
		return err
	}
	out := make([]PlanItem, len(plans))
	for i, p := range plans {
		out[i] = PlanItem{ID: p.ID, Kind: p.Kind, Source: p.Source, Actor: p.Actor, Status: p.Status,
			CreatedAt: p.CreatedAt, HeldReason: p.HeldReason, Summary: p.Summary}
	}
	return c.ok(map[string][]PlanItem{"plans": out})
}

func planID(c *call) (int64, error) {
	v := c.r.PathValue("id")
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id <= 0 {
		return 0, reconcile.Errorf(reconcile.EINVALID, "plan id %q is not a positive number", v)
	}
	return id, nil
}

// Content types of GET /plans/{id}?format=.
var reportTypes = map[string]string{
	reconcile.FormatText:     "text/plain; charset=utf-8",
	reconcile.FormatMarkdown: "text/markdown; charset=utf-8",
}

// getPlan: GET /plans/{id}?format=json|text|markdown — the plan's report.
func (s *server) getPlan(c *call) error {
	id, err := planID(c)
	if err != nil {
		return err
	}
	format := c.r.URL.Query().Get("format")
	if format != "" && format != reconcile.FormatJSON && reportTypes[format] == "" {
		return reconcile.Errorf(reconcile.EINVALID, "format: %q is not json, text or markdown", format)
	}
	p, err := s.store.Plan(c.ctx, id)
	if err != nil {
		return err
	}
	if ct := reportTypes[format]; ct != "" {
		var b bytes.Buffer
		if err := reconcile.Render(&b, p, format); err != nil {
			return err
		}
		c.w.Header().Set("Content-Type", ct)
		_, _ = b.WriteTo(c.w) // the status is sent: a failed write has no one to tell
		return nil
	}
	return c.plan(p)
}

// approvePlan: POST /plans/{id}/approve applies a held or dry-run plan.
func (s *server) approvePlan(c *call) error {
	id, err := planID(c)
	if err != nil {
		return err
	}
	p, err := s.engine.Approve(c.ctx, id, c.actor())
	if err != nil {
		return err
	}
	return c.plan(p)
}

// discardPlan: POST /plans/{id}/discard throws a held or dry-run plan away.
func (s *server) discardPlan(c *call) error {
	id, err := planID(c)
	if err != nil {
		return err
	}
	if err := s.engine.Discard(c.ctx, id, c.actor()); err != nil {
		return err
	}
	p, err := s.store.Plan(c.ctx, id)
	if err != nil {
		return err
	}
	return c.plan(p)
}
