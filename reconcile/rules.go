package reconcile

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Where a role or mapping was defined.
const (
	OriginConfig = "config" // config.toml: read-only to the CLI, API and UI
	OriginAdmin  = "admin"  // added by an admin through the CLI, API or UI; kept in the store
)

// Conflict policies (DESIGN.md rule 5).
const (
	Adopt  = "adopt"  // link the existing user and hand its ownership to the source
	Reject = "reject" // refuse; the plan lists the conflict
)

// Mapping gives the members of one IdP group one application role. Group is
// compared with the group's display name exactly: case-sensitive, whole string.
type Mapping struct {
	Group  string `json:"group"`
	Role   string `json:"role"`
	Origin string `json:"origin,omitempty"`
}

// Role is one role of the application's catalogue.
type Role struct {
	Name   string `json:"name"`
	Origin string `json:"origin,omitempty"`
}

// Threshold is the safety brake's limit on deactivations in one run: a count,
// or a percentage of the source's active users.
type Threshold struct {
	Count   int     // used when !Percent
	Percent float64 // 0-100, used when IsPercent
	IsPct   bool
}

// DefaultThreshold is 10% of a source's users.
var DefaultThreshold = Threshold{Percent: 10, IsPct: true}

// ParseThreshold reads "25" (a count) or "10%" (a percentage).
func ParseThreshold(s string) (Threshold, error) {
	s = strings.TrimSpace(s)
	if p, ok := strings.CutSuffix(s, "%"); ok {
		f, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil || f < 0 || f > 100 || math.IsNaN(f) {
			return Threshold{}, fmt.Errorf("%q is not a percentage between 0%% and 100%%", s)
		}
		return Threshold{Percent: f, IsPct: true}, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return Threshold{}, fmt.Errorf("%q is neither a count (e.g. 25) nor a percentage (e.g. \"10%%\")", s)
	}
	return Threshold{Count: n}, nil
}

// Limit returns how many deactivations are allowed for a source that has
// total active users.
func (t Threshold) Limit(total int) int {
	if !t.IsPct {
		return t.Count
	}
	return int(math.Floor(t.Percent * float64(total) / 100))
}

func (t Threshold) String() string {
	if t.IsPct {
		return strconv.FormatFloat(t.Percent, 'f', -1, 64) + "%"
	}
	return strconv.Itoa(t.Count)
}

// Rules decide every user's roles (DESIGN.md rules 2-6).
type Rules struct {
	Roles            []Role    `json:"roles"`
	DefaultRole      string    `json:"defaultRole,omitempty"`
	SingleRole       bool      `json:"singleRole"`
	OnConflict       string    `json:"onConflict"`
	MaxDeactivations Threshold `json:"-"`
	Mappings         []Mapping `json:"mappings"`

	// Where DefaultRole and SingleRole come from: OriginAdmin when an
	// admin's setting applies (Merge), else "" (config.toml, or unset).
	// Hash leaves them out: only the values decide roles.
	DefaultRoleOrigin string `json:"defaultRoleOrigin,omitempty"`
	SingleRoleOrigin  string `json:"singleRoleOrigin,omitempty"`
}

// HasRole reports whether name is in the role catalogue.
func (r *Rules) HasRole(name string) bool {
	return slices.ContainsFunc(r.Roles, func(x Role) bool { return x.Name == name })
}

// RoleNames returns the catalogue's role names in order.
func (r *Rules) RoleNames() []string {
	out := make([]string, len(r.Roles))
	for i, x := range r.Roles {
		out[i] = x.Name
	}
	return out
}

// Validate reports every problem with the rules at once.
func (r *Rules) Validate() error {
	var errs []string
	seen := map[string]bool{}
	for _, x := range r.Roles {
		switch {
		case strings.TrimSpace(x.Name) == "":
			errs = append(errs, "roles: empty role name")
		case seen[x.Name]:
			errs = append(errs, fmt.Sprintf("roles: duplicate role %q", x.Name))
		}
		seen[x.Name] = true
	}
	if r.DefaultRole != "" && !seen[r.DefaultRole] {
		label := "default_role"
		if r.DefaultRoleOrigin == OriginAdmin {
			label = "default role set with the API (stored in the database)"
		}
		errs = append(errs, fmt.Sprintf("%s: unknown role %q (roles are %s)", label, r.DefaultRole, quoteList(r.RoleNames())))
	}
	switch r.OnConflict {
	case Adopt, Reject:
	default:
		errs = append(errs, fmt.Sprintf("on_conflict: %q is not \"adopt\" or \"reject\"", r.OnConflict))
	}
	pairs := map[Mapping]bool{}
	for i, m := range r.Mappings {
		label := fmt.Sprintf("mapping[%d]", i)
		if m.Origin == OriginAdmin {
			label = fmt.Sprintf("mapping of group %q added with the CLI/API (stored in the database)", m.Group)
		}
		if m.Group == "" {
			errs = append(errs, label+": empty group")
		}
		if !seen[m.Role] {
			errs = append(errs, fmt.Sprintf("%s: group %q maps to unknown role %q (roles are %s)", label, m.Group, m.Role, quoteList(r.RoleNames())))
		}
		key := Mapping{Group: m.Group, Role: m.Role}
		if pairs[key] {
			errs = append(errs, fmt.Sprintf("%s: duplicate mapping of group %q to role %q", label, m.Group, m.Role))
		}
		pairs[key] = true
	}
	if len(errs) > 0 {
		return Errorf(EINVALID, "%s", strings.Join(errs, "; "))
	}
	return nil
}

func quoteList(names []string) string {
	if len(names) == 0 {
		return "(none)"
	}
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = strconv.Quote(n)
	}
	return strings.Join(q, ", ")
}
