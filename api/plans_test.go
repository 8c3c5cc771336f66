package api_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/idpsync/idpsync/api"
	"github.com/idpsync/idpsync/reconcile"
)

// holdRun makes the source drop five users (the brake allows 2 of 23) and
// syncs through the API: the plan is held.
func (f *fixture) holdRun() reconcile.Plan {
	f.t.Helper()
	f.src.set(func(d *reconcile.Directory) {
		d.Users = slices.DeleteFunc(d.Users, func(u reconcile.User) bool { return u.ID < "u05" && u.ID >= "u00" })
	})
	var p reconcile.Plan
	f.call("POST", "/sources/hr/sync", f.admin, nil, 200, &p)
	if p.Status != reconcile.StatusHeld || p.ID == 0 || p.Summary.Deactivate != 5 {
		f.t.Fatalf("sync = status %q, id %d, %d deactivations; want a held plan of 5", p.Status, p.ID, p.Summary.Deactivate)
	}
	return p
}

func TestPlansApprove(t *testing.T) {
	f := newFixture(t)
	held := f.holdRun()

	var list struct{ Plans []api.PlanItem }
	f.call("GET", "/plans?status=held&source=hr", f.read, nil, 200, &list)
	if len(list.Plans) != 1 || list.Plans[0].ID != held.ID || list.Plans[0].Summary.Deactivate != 5 || list.Plans[0].HeldReason == "" {
		t.Fatalf("held plans = %+v; want plan %d with 5 deactivations and a reason", list.Plans, held.ID)
	}
	f.call("GET", "/plans?status=applied&limit=1", f.read, nil, 200, &list)
	if len(list.Plans) != 1 || list.Plans[0].Status != reconcile.StatusApplied {
		t.Errorf("applied plans, limit 1 = %+v", list.Plans)
	}
	f.fails("GET", "/plans?status=maybe", f.read, nil, 400, reconcile.EINVALID)

	var shown reconcile.Plan
	f.call("GET", "/plans/"+itoa(int(held.ID)), f.read, nil, 200, &shown)
	if len(shown.Changes) != 5 || shown.Status != reconcile.StatusHeld {
		t.Errorf("plan %d = %d changes, status %q; want 5, held", held.ID, len(shown.Changes), shown.Status)
	}
	for format, want := range map[string]string{"text": "text/plain", "markdown": "text/markdown"} {
		resp, body := f.do("GET", "/plans/"+itoa(int(held.ID))+"?format="+format, f.read, nil)
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), want) || !strings.Contains(string(body), "u00@example.com") {
			t.Errorf("format %s: status %d, type %q, body %q", format, resp.StatusCode, resp.Header.Get("Content-Type"), body)
		}
	}
	f.fails("GET", "/plans/"+itoa(int(held.ID))+"?format=pdf", f.read, nil, 400, reconcile.EINVALID)
	f.fails("GET", "/plans/999", f.read, nil, 404, reconcile.ENOTFOUND)
	f.fails("GET", "/plans/x", f.read, nil, 400, reconcile.EINVALID)

	var applied reconcile.Plan
	f.call("POST", "/plans/"+itoa(int(held.ID))+"/approve", f.admin, nil, 200, &applied)
	if applied.Status != reconcile.StatusApplied || applied.Actor != "api:ops" {
		t.Errorf("approve = status %q by %q; want applied by api:ops", applied.Status, applied.Actor)
	}
	u, err := f.db.User(f.ctx, "u00@example.com")
	if err != nil || u.Active {
		t.Errorf("after the approval u00 = %+v, %v; want inactive", u, err)
	}
	f.fails("POST", "/plans/"+itoa(int(held.ID))+"/approve", f.admin, nil, 400, reconcile.EINVALID) // applied already
}

func TestPlansDiscard(t *testing.T) {
	f := newFixture(t)
	held := f.holdRun()
	before := len(f.changes())
	var p reconcile.Plan
	f.call("POST", "/plans/"+itoa(int(held.ID))+"/discard", f.admin, nil, 200, &p)
	if p.Status != reconcile.StatusDiscarded {
		t.Errorf("discard = status %q, want discarded", p.Status)
	}
	if u, err := f.db.User(f.ctx, "u00@example.com"); err != nil || !u.Active || len(f.changes()) != before {
		t.Errorf("discarding applied something: u00 %+v, %v", u, err)
	}
	f.fails("POST", "/plans/"+itoa(int(held.ID))+"/approve", f.admin, nil, 400, reconcile.EINVALID)
	f.fails("POST", "/plans/"+itoa(int(held.ID))+"/discard", f.admin, nil, 400, reconcile.EINVALID)
}

func TestApproveDryRun(t *testing.T) {
	f := newFixture(t)
	f.src.set(func(d *reconcile.Directory) { d.Groups[1].Members = append(d.Groups[1].Members, "cat") })
	dry, err := f.engine.Sync(f.ctx, f.src, reconcile.SyncOptions{Actor: "test", DryRun: true})
	if err != nil || dry.ID == 0 {
		t.Fatalf("dry-run sync: %+v, %v", dry, err)
	}
	var p reconcile.Plan
	f.call("POST", "/plans/"+itoa(int(dry.ID))+"/approve", f.admin, nil, 200, &p)
	if p.Status != reconcile.StatusApplied || p.ID != dry.ID {
		t.Errorf("approve dry run = %+v", p)
	}
}

func TestSources(t *testing.T) {
	f := newFixture(t)
	var list struct{ Sources []api.SourceStatus }
	f.call("GET", "/sources", f.read, nil, 200, &list)
	if len(list.Sources) != 1 || list.Sources[0].Name != "hr" || !list.Sources[0].Enabled {
		t.Fatalf("sources = %+v", list.Sources)
	}
	var src api.SourceStatus
	f.call("POST", "/sources/hr/disable", f.admin, nil, 200, &src)
	if src.Enabled {
		t.Errorf("after disable: %+v", src)
	}
	f.call("GET", "/sources/hr", f.read, nil, 200, &src)
	if src.Enabled {
		t.Errorf("GET after disable: %+v", src)
	}
	f.fails("POST", "/sources/hr/sync", f.admin, nil, 409, reconcile.ECONFLICT) // switched off
	f.call("POST", "/sources/hr/enable", f.admin, nil, 200, &src)
	if !src.Enabled {
		t.Errorf("after enable: %+v", src)
	}
	f.fails("GET", "/sources/ldap", f.read, nil, 404, reconcile.ENOTFOUND)
	f.fails("POST", "/sources/ldap/enable", f.admin, nil, 404, reconcile.ENOTFOUND)

	f.src.set(func(d *reconcile.Directory) { d.Users[0].DisplayName = "Ann Lee-Smith" })
	var p reconcile.Plan
	f.call("POST", "/sources/hr/sync", f.admin, nil, 200, &p)
	if p.Status != reconcile.StatusApplied || p.Summary.Update != 1 {
		t.Errorf("sync = %+v; want applied, one update", p)
	}
	var runs struct{ Runs []reconcile.Run }
	f.call("GET", "/sources/hr/runs?limit=1", f.read, nil, 200, &runs)
	if len(runs.Runs) != 1 || runs.Runs[0].Trigger != "api" || runs.Runs[0].PlanID != p.ID {
		t.Errorf("runs = %+v; want the api run of plan %d", runs.Runs, p.ID)
	}
	want := []string{"enabled hr false api:ops", "sync hr api:ops", "enabled hr true api:ops", "enabled ldap true api:ops", "sync hr api:ops"}
	if !slices.Equal(f.control.calls, want) {
		t.Errorf("control calls = %q, want %q", f.control.calls, want)
	}
}
