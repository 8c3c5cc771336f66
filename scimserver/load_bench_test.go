package scimserver_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/idpsync/idpsync/reconcile"
	"github.com/idpsync/idpsync/scimserver"
)

// The load benchmark of issue 3: the real HTTP server over loopback, the
// engine and a SQLite store holding 100,000 users and a 50,000-member group.
//
//	go test ./scimserver -run XXX -bench SCIMLoad -benchtime=5s
//
// Targets: GET /Users?filter=userName eq ≥ 3,000 req/s with p99 < 20 ms;
// POST /Users ≥ 500 req/s; a PATCH adding one member to the big group
// < 10 ms.

const (
	loadUsers      = 100_000
	loadBigGroup   = 50_000 // the first loadBigGroup users are members
	loadSeedBatch  = 10_000
	loadGetClients = 16
	loadPutClients = 8
)

func loadUserName(i int) string { return fmt.Sprintf("user%06d@bench.example.com", i) }
func loadUserID(i int) string   { return fmt.Sprintf("%032x", i+1) }

// loadUserResource is a user as Entra creates it.
func loadUserResource(i int) map[string]any {
	return map[string]any{
		"schemas":     []any{scimserver.UserURN, "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"},
		"externalId":  fmt.Sprintf("%08x-0000-4000-8000-%012x", i, i),
		"userName":    loadUserName(i),
		"active":      true,
		"displayName": fmt.Sprintf("Bench User %d", i),
		"emails":      []any{map[string]any{"primary": true, "type": "work", "value": loadUserName(i)}},
		"name":        map[string]any{"formatted": fmt.Sprintf("Bench User %d", i), "familyName": "User", "givenName": fmt.Sprintf("Bench %d", i)},
		"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": map[string]any{"department": fmt.Sprintf("Dept %d", i%50)},
	}
}

// pushPlan computes what the engine computes for a push (reconcile.Engine.Push).
func pushPlan(rules *reconcile.Rules) func(*reconcile.PushState) (*reconcile.Plan, error) {
	return func(st *reconcile.PushState) (*reconcile.Plan, error) {
		only := make(map[string]bool, len(st.Affected))
		for _, id := range st.Affected {
			only[id] = true
		}
		p := reconcile.Diff(reconcile.Input{Rules: rules, Users: st.Users, Source: sourceSCIM, Fetched: st.Slice, Only: only})
		if p.Empty() {
			return nil, nil
		}
		p.Actor, p.CreatedAt = "seed", time.Now()
		return p, nil
	}
}

// seedLoad writes the users and the big group straight into the store,
// through ApplyPush in large batches, app users and roles included.
func seedLoad(b *testing.B, h *e2e) (groupID string) {
	b.Helper()
	rules := testRules()
	start := time.Now()
	for lo := 0; lo < loadUsers; lo += loadSeedBatch {
		w := &reconcile.SourceWrites{Source: sourceSCIM}
		for i := lo; i < min(lo+loadSeedBatch, loadUsers); i++ {
			m := loadUserResource(i)
			raw, err := json.Marshal(m)
			if err != nil {
				b.Fatal(err)
			}
			w.Users = append(w.Users, reconcile.SourceUser{User: scimserver.UserFromResource(loadUserID(i), m), Resource: raw, Create: true})
		}
		if err := h.store.ApplyPush(h.ctx, w, pushPlan(&rules)); err != nil {
			b.Fatalf("seed users from %d: %v", lo, err)
		}
	}
	users := time.Since(start)
	groupID = fmt.Sprintf("%032x", 1<<40)
	members := make([]string, loadBigGroup)
	for i := range members {
		members[i] = loadUserID(i)
	}
	raw, _ := json.Marshal(map[string]any{"schemas": []any{scimserver.GroupURN}, "displayName": "ph-admin", "externalId": "big-group"})
	w := &reconcile.SourceWrites{Source: sourceSCIM, Groups: []reconcile.SourceGroup{{
		ID: groupID, DisplayName: "ph-admin", ExternalID: "big-group", Resource: raw, Create: true, SetMembers: true, Members: members,
	}}}
	if err := h.store.ApplyPush(h.ctx, w, pushPlan(&rules)); err != nil {
		b.Fatalf("seed the big group: %v", err)
	}
	b.Logf("seeded %d users in %v and a %d-member group in %v", loadUsers, users.Round(time.Millisecond),
		loadBigGroup, (time.Since(start) - users).Round(time.Millisecond))
	return groupID
}

func BenchmarkSCIMLoad(b *testing.B) {
	if testing.Short() {
		b.Skip("seeds 100,000 users: not with -short")
	}
	h := newE2E(b)
	group := seedLoad(b, h)

	// Sanity: the seed is what the benchmarks assume.
	if r, err := h.send(tokenSCIM, "GET", "/Users?count=0", nil); err != nil || !bytes.Contains(r.body, []byte(fmt.Sprintf(`"totalResults":%d`, loadUsers))) {
		b.Fatalf("after seeding: %v %v", r, err)
	}
	if u := h.appUsers()[loadUserName(0)]; !slices.Equal(u.Roles, []string{"Admin"}) {
		b.Fatalf("seeded member roles = %v, want [Admin]", u.Roles)
	}

	b.Run("GetUserByUserName", func(b *testing.B) {
		lat := runLoad(b, loadGetClients, func(int) error {
			i := rand.IntN(loadUsers)
			r, err := h.send(tokenSCIM, "GET", `/Users?filter=userName eq "`+loadUserName(i)+`"`, nil)
			if err != nil {
				return err
			}
			if r.status != http.StatusOK || !bytes.Contains(r.body, []byte(`"totalResults":1,`)) {
				return fmt.Errorf("%s: want the one user", r)
			}
			return nil
		})
		reportLoad(b, lat)
	})

	var created atomic.Int64
	b.Run("CreateUser", func(b *testing.B) {
		lat := runLoad(b, loadPutClients, func(int) error {
			n := created.Add(1)
			body, _ := json.Marshal(loadUserResource(int(loadUsers + n)))
			r, err := h.send(tokenSCIM, "POST", "/Users", body)
			if err != nil {
				return err
			}
			if r.status != http.StatusCreated {
				return fmt.Errorf("%s: want 201", r)
			}
			return nil
		})
		reportLoad(b, lat)
	})

	// One client, as Entra sends membership changes of one group one after
	// another; each PATCH adds a user not yet in the group.
	var added atomic.Int64
	b.Run("PatchAddMemberToBigGroup", func(b *testing.B) {
		lat := runLoad(b, 1, func(int) error {
			n := int(added.Add(1))
			if n > loadUsers-loadBigGroup {
				return fmt.Errorf("ran out of non-members")
			}
			body := patchJSON(`{"op":"Add","path":"members","value":[{"$ref":null,"value":"` + loadUserID(loadBigGroup+n-1) + `"}]}`)
			r, err := h.send(tokenSCIM, "PATCH", "/Groups/"+group, body)
			if err != nil {
				return err
			}
			if r.status != http.StatusNoContent {
				return fmt.Errorf("%s: want 204", r)
			}
			return nil
		})
		reportLoad(b, lat)
	})

	// Entra reads groups with excludedAttributes=members; on a big group
	// that must not cost the members.
	b.Run("GetBigGroupExcludingMembers", func(b *testing.B) {
		lat := runLoad(b, 1, func(int) error {
			r, err := h.send(tokenSCIM, "GET", "/Groups/"+group+"?excludedAttributes=members", nil)
			if err != nil {
				return err
			}
			if r.status != http.StatusOK || bytes.Contains(r.body, []byte(`"members"`)) {
				return fmt.Errorf("%s: want the group without members", r)
			}
			return nil
		})
		reportLoad(b, lat)
	})

	// After the PATCHes, the users added hold Admin (checked once, outside
	// the timings).
	if n := int(added.Load()); n > 0 {
		u := h.appUsers()[loadUserName(loadBigGroup+n-1)]
		if !slices.Equal(u.Roles, []string{"Admin"}) {
			b.Errorf("a user added to the big group has roles %v, want [Admin]", u.Roles)
		}
	}
}

// runLoad runs op b.N times from clients concurrent goroutines and returns
// every call's latency.
func runLoad(b *testing.B, clients int, op func(i int) error) []time.Duration {
	var next atomic.Int64
	lats := make([][]time.Duration, clients)
	var wg sync.WaitGroup
	b.ResetTimer()
	for c := range clients {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(b.N) {
					return
				}
				t0 := time.Now()
				if err := op(int(i)); err != nil {
					b.Error(err)
					return
				}
				lats[c] = append(lats[c], time.Since(t0))
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	return slices.Concat(lats...)
}

// reportLoad reports throughput (req/s), mean and p99 latency (ms).
func reportLoad(b *testing.B, lat []time.Duration) {
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	var sum time.Duration
	for _, d := range lat {
		sum += d
	}
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	b.ReportMetric(float64(len(lat))/b.Elapsed().Seconds(), "req/s")
	b.ReportMetric(ms(sum/time.Duration(len(lat))), "ms")
	b.ReportMetric(ms(lat[(len(lat)*99)/100]), "p99-ms")
}
