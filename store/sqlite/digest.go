package sqlite

import (
	"crypto/sha256"
	"database/sql/driver"

	"modernc.org/sqlite"

	"github.com/idpsync/idpsync/reconcile"
)

// A group's members_hash is the XOR of SHA-256(member id) over its members.
// It does not depend on the members' order, and adding or removing one
// member updates it without reading the others: XOR in the member's
// digest. A group's members are unique, so no member cancels another out.
// (Whoever controls the ids could craft two member sets with one digest;
// that is the IdP, which can set any membership it likes anyway.)
type digest [sha256.Size]byte

// memberDigest returns one member's share of the digest.
func memberDigest(id string) digest { return sha256.Sum256([]byte(id)) }

// toggle adds a member to the digest, or removes it.
func (d *digest) toggle(id string) {
	m := memberDigest(id)
	for i := range d {
		d[i] ^= m[i]
	}
}

// membersDigest returns the digest of a member set; members must be unique.
func membersDigest(members []string) digest {
	var d digest
	for _, m := range members {
		d.toggle(m)
	}
	return d
}

// digestOf reads a stored members_hash (one stored by 0001 is recomputed by
// migration 0002, so every stored hash has the length of a digest).
func digestOf(b []byte) digest {
	var d digest
	copy(d[:], b)
	return d
}

// registerDigestFunctions adds the SQL functions migration 0002 uses.
func registerDigestFunctions() {
	// idpsync_fold_name is reconcile.FoldName.
	sqlite.MustRegisterDeterministicScalarFunction("idpsync_fold_name", 1,
		func(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
			switch v := args[0].(type) {
			case string:
				return reconcile.FoldName(v), nil
			case []byte:
				return reconcile.FoldName(string(v)), nil
			}
			return args[0], nil
		})
	// idpsync_members_digest(member) aggregates a members_hash.
	sqlite.MustRegisterFunction("idpsync_members_digest", &sqlite.FunctionImpl{
		NArgs:         1,
		Deterministic: true,
		MakeAggregate: func(sqlite.FunctionContext) (sqlite.AggregateFunction, error) { return &digestAgg{}, nil },
	})
}

type digestAgg struct{ d digest }

func (a *digestAgg) Step(_ *sqlite.FunctionContext, args []driver.Value) error {
	switch v := args[0].(type) {
	case string:
		a.d.toggle(v)
	case []byte:
		a.d.toggle(string(v))
	}
	return nil
}

func (a *digestAgg) WindowInverse(ctx *sqlite.FunctionContext, args []driver.Value) error {
	return a.Step(ctx, args) // XOR is its own inverse
}

func (a *digestAgg) WindowValue(*sqlite.FunctionContext) (driver.Value, error) {
	d := a.d
	return d[:], nil
}

func (a *digestAgg) Final(*sqlite.FunctionContext) {}
