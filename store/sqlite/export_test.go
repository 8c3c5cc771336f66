package sqlite

import (
	"database/sql"

	filter "github.com/scim2/filter-parser/v2"
)

// DB exposes the database to tests.
func DB(s *Store) *sql.DB { return s.db }

// OnChange calls f after Apply applied the plan's i-th change (before commit).
func OnChange(s *Store, f func(i int)) {
	if s.hooks == nil {
		s.hooks = &hooks{}
	}
	s.hooks.change = f
}

// OnDirectory calls f with the number of rows a directory replace wrote.
func OnDirectory(s *Store, f func(written int)) {
	if s.hooks == nil {
		s.hooks = &hooks{}
	}
	s.hooks.directory = f
}

// Migrated returns the number of migrations Open applied.
func Migrated(s *Store) int { return s.migrated }

// FilterSQL exposes the filter translation to tests.
func FilterSQL(typ string, f filter.Expression) (string, []any, error) {
	return translateFilter(typ, f)
}

// MembersHash returns the members_hash of a member set.
func MembersHash(members []string) []byte {
	d := membersDigest(members)
	return d[:]
}
