package connectortest

import (
	"math/rand/v2"
	"strconv"

	"github.com/idpsync/idpsync/reconcile"
)

// Options shape a synthetic directory.
type Options struct {
	Users  int // users "user-000001"…, userName "user000001@example.com"
	Groups int // groups "g-00001"…, named "group-00001"…
	// Memberships is the number of user → group memberships, spread
	// unevenly over the groups (a few big groups, many small ones, some
	// empty), never the same user twice in a group. It is capped at
	// Users × Groups.
	Memberships int
	// NestingDepth > 0 nests about a quarter of the groups in chains of up
	// to NestingDepth levels (a group in a group in a group…), without
	// cycles.
	NestingDepth int
	// InactiveEvery > 0 makes every InactiveEvery-th user inactive.
	InactiveEvery int
	// Seed picks names and memberships: the same Options give the same
	// directory.
	Seed int64
}

var (
	givenNames = []string{
		"Ann", "Bruno", "Chloé", "Dev", "Emma", "Farid", "Grace", "Hiro", "Ines", "Jonas",
		"Kwame", "Lena", "Mateo", "Nadia", "Oskar", "Priya", "Quinn", "Rosa", "Sven", "Tomás",
	}
	familyNames = []string{
		"Lee", "Costa", "Martin", "Patel", "Schmidt", "Haddad", "O'Neil", "Tanaka", "Silva", "Berg",
		"Mensah", "Kowalska", "Rossi", "Nguyen", "Ødegård", "Sharma", "Murphy", "García", "Larsson", "Novák",
	}
)

// Synthetic builds a directory to the given shape, deterministically. It is
// cheap: 100,000 users, 5,000 groups and 500,000 memberships take a fraction
// of a second, and little memory beyond the directory itself (members share
// the users' id strings).
func Synthetic(o Options) *reconcile.Directory {
	rng := rand.New(rand.NewPCG(uint64(o.Seed), 0x9e3779b97f4a7c15))
	nu, ng := max(o.Users, 0), max(o.Groups, 0)
	d := &reconcile.Directory{Users: make([]reconcile.User, nu), Groups: make([]reconcile.Group, ng)}

	for i := range d.Users {
		n := pad(i+1, 6)
		given, family := givenNames[rng.IntN(len(givenNames))], familyNames[rng.IntN(len(familyNames))]
		userName := "user" + n + "@example.com"
		d.Users[i] = reconcile.User{
			ID:          "user-" + n,
			UserName:    userName,
			DisplayName: given + " " + family,
			Email:       userName,
			GivenName:   given,
			FamilyName:  family,
			ExternalID:  "E" + n,
			Active:      o.InactiveEvery <= 0 || (i+1)%o.InactiveEvery != 0,
		}
	}
	if ng == 0 {
		return d
	}

	counts := memberCounts(rng, o.Memberships, nu, ng)
	chains := nesting(o.NestingDepth, ng)
	for g := range d.Groups {
		n := pad(g+1, 5)
		grp := reconcile.Group{ID: "g-" + n, DisplayName: "group-" + n}
		if c := counts[g]; c > 0 {
			// Walking the users with a stride coprime to their number visits
			// each at most once in nu steps: no duplicates, no bookkeeping.
			u, stride := rng.IntN(nu), coprime(rng, nu)
			grp.Members = make([]string, c, c+1) // room for a nested group
			for k := range c {
				grp.Members[k] = d.Users[u].ID
				u = (u + stride) % nu
			}
		}
		d.Groups[g] = grp
	}
	for child, parent := range chains {
		if parent >= 0 {
			d.Groups[parent].Members = append(d.Groups[parent].Members, d.Groups[child].ID)
		}
	}
	return d
}

// memberCounts splits m memberships over ng groups of at most nu members
// each. A group's share falls off steeply with its index, like real
// directories' "everyone" groups and small teams.
func memberCounts(rng *rand.Rand, m, nu, ng int) []int {
	counts := make([]int, ng)
	m = max(0, min(m, nu*ng))
	for range m {
		r := rng.Float64()
		counts[int(float64(ng)*r*r*r)]++
	}
	overflow := 0
	for g := range counts {
		if counts[g] > nu {
			overflow += counts[g] - nu
			counts[g] = nu
		}
	}
	for g := 0; overflow > 0; g++ {
		add := min(nu-counts[g], overflow)
		counts[g] += add
		overflow -= add
	}
	return counts
}

// nesting returns, for each group, the index of the group it is nested in, or
// -1. Chains of depth+1 consecutive groups, each nested in the one before it,
// cover about a quarter of the groups. A group is only ever nested in one
// with a lower index, so there are no cycles.
func nesting(depth, ng int) []int {
	parent := make([]int, ng)
	for i := range parent {
		parent[i] = -1
	}
	if depth <= 0 || ng < 2 {
		return parent
	}
	length := min(depth+1, ng)
	chains := max(1, ng/4/length)
	// Spread the chains over the groups, so big and small groups both nest.
	step := ng / chains
	for c := range chains {
		first := c * step
		for i := first + 1; i < first+length && i < ng; i++ {
			parent[i] = i - 1
		}
	}
	return parent
}

// coprime returns a number in [1, n) that shares no factor with n (1 if n < 3).
func coprime(rng *rand.Rand, n int) int {
	if n < 3 {
		return 1
	}
	for s := 1 + rng.IntN(n-1); ; s = s%(n-1) + 1 {
		if gcd(s, n) == 1 {
			return s
		}
	}
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// pad formats n in decimal, zero-padded to width digits.
func pad(n, width int) string {
	s := strconv.Itoa(n)
	for len(s) < width {
		s = "0" + s
	}
	return s
}
