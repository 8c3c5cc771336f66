package sqlite

import "database/sql"

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
