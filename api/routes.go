package api

import "slices"

// Route is one operation of the API: a method, a path pattern relative to
// /api/v1 (net/http ServeMux syntax, the same as the OpenAPI document's
// path templates) and the scope a token needs.
type Route struct {
	Method string
	Path   string
	Scope  string // ScopeRead, ScopeAdmin, or "" (no token needed)
	DryRun bool   // takes ?dry_run=true: answers with the plan and applies nothing
}

type route struct {
	Route
	handle func(*server, *call) error
}

// routes is every route served. openapi.json documents each one, and a test
// holds the two together.
var routes = []route{
	{Route{"GET", "/openapi.json", "", false}, (*server).openAPI},

	{Route{"GET", "/users", ScopeRead, false}, (*server).listUsers},
	{Route{"GET", "/users/{ref}", ScopeRead, false}, (*server).getUser},
	{Route{"GET", "/users/{ref}/explain", ScopeRead, false}, (*server).explainUser},

	{Route{"GET", "/roles", ScopeRead, false}, (*server).listRoles},
	{Route{"POST", "/roles", ScopeAdmin, true}, (*server).createRole},
	{Route{"DELETE", "/roles/{name}", ScopeAdmin, true}, (*server).deleteRole},

	{Route{"GET", "/mappings", ScopeRead, false}, (*server).listMappings},
	{Route{"POST", "/mappings", ScopeAdmin, true}, (*server).createMapping},
	{Route{"PUT", "/mappings/order", ScopeAdmin, true}, (*server).reorderMappings},
	{Route{"GET", "/mappings/{id}", ScopeRead, false}, (*server).getMapping},
	{Route{"PUT", "/mappings/{id}", ScopeAdmin, true}, (*server).updateMapping},
	{Route{"DELETE", "/mappings/{id}", ScopeAdmin, true}, (*server).deleteMapping},

	{Route{"GET", "/rules", ScopeRead, false}, (*server).getRules},
	{Route{"PUT", "/rules/default-role", ScopeAdmin, true}, (*server).putDefaultRole},
	{Route{"PUT", "/rules/single-role", ScopeAdmin, true}, (*server).putSingleRole},

	{Route{"GET", "/plans", ScopeRead, false}, (*server).listPlans},
	{Route{"GET", "/plans/{id}", ScopeRead, false}, (*server).getPlan},
	{Route{"POST", "/plans/{id}/approve", ScopeAdmin, false}, (*server).approvePlan},
	{Route{"POST", "/plans/{id}/discard", ScopeAdmin, false}, (*server).discardPlan},

	{Route{"GET", "/sources", ScopeRead, false}, (*server).listSources},
	{Route{"GET", "/sources/{name}", ScopeRead, false}, (*server).getSource},
	{Route{"GET", "/sources/{name}/runs", ScopeRead, false}, (*server).sourceRuns},
	{Route{"POST", "/sources/{name}/sync", ScopeAdmin, false}, (*server).syncSource},
	{Route{"POST", "/sources/{name}/enable", ScopeAdmin, false}, (*server).enableSource},
	{Route{"POST", "/sources/{name}/disable", ScopeAdmin, false}, (*server).disableSource},

	{Route{"GET", "/changes", ScopeRead, false}, (*server).changes},
}

// Routes lists every route the API serves, in table order.
func Routes() []Route {
	out := make([]Route, len(routes))
	for i, rt := range routes {
		out[i] = rt.Route
	}
	return slices.Clip(out)
}
