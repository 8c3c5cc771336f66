package sqlite

import (
	"context"

	"github.com/idpsync/idpsync/reconcile"
)

// userGroupEdges walks a source's groups upward from one user (?1, its
// source id) in the source named ?2: the memberships (group_pk, member) that
// put the user in a group, directly or through nesting. UNION drops the
// memberships already seen, so a cycle of nested groups ends the walk. Each
// step is an indexed lookup (source_members_member), so the walk reads the
// user's groups, not the directory. An id that is a group's names a group,
// not a user (as in reconcile's evaluator): it starts no walk.
const userGroupEdges = `WITH RECURSIVE
	src(pk) AS (SELECT pk FROM source_states WHERE name = ?2),
	edge(group_pk, member) AS (
		SELECT m.group_pk, m.member FROM src
		JOIN source_members m ON m.member = ?1
		JOIN source_groups g ON g.pk = m.group_pk AND g.source_pk = src.pk
		WHERE NOT EXISTS (SELECT 1 FROM source_groups x WHERE x.source_pk = src.pk AND x.id = ?1)
		UNION
		SELECT m.group_pk, m.member FROM edge e
		JOIN source_groups c ON c.pk = e.group_pk
		JOIN source_members m ON m.member = c.id
		JOIN source_groups g ON g.pk = m.group_pk AND g.source_pk = c.source_pk
	)
SELECT g.id, g.display_name, e.member FROM edge e JOIN source_groups g ON g.pk = e.group_pk
ORDER BY g.id, e.member`

// UserGroups returns the groups of a source that have the user with the
// given source id as a member, directly or through nested groups, sorted by
// id, each with only its members among that user and those groups (sorted).
func (s *Store) UserGroups(ctx context.Context, source, userID string) ([]reconcile.Group, error) {
	rows, err := s.db.QueryContext(ctx, userGroupEdges, userID, source)
	if err != nil {
		return nil, s.dbError(err, "read the groups of user %q of source %q", userID, source)
	}
	defer rows.Close()
	var out []reconcile.Group
	for rows.Next() {
		var id, name, member string
		if err := rows.Scan(&id, &name, &member); err != nil {
			return nil, s.dbError(err, "read the groups of user %q of source %q", userID, source)
		}
		if len(out) == 0 || out[len(out)-1].ID != id {
			out = append(out, reconcile.Group{ID: id, DisplayName: name})
		}
		g := &out[len(out)-1]
		g.Members = append(g.Members, member)
	}
	if err := rows.Err(); err != nil {
		return nil, s.dbError(err, "read the groups of user %q of source %q", userID, source)
	}
	return out, nil
}
