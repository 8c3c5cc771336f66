// Package file is a pull source that reads a directory export from disk: one
// JSON file, or a folder holding users.csv and groups.csv.
//
// The file is read afresh on every Fetch, so whatever writes it (a script, an
// export job, an admin with a spreadsheet) decides what the next run sees.
// Write it atomically (to a temporary name, then rename): a CSV file cut short
// mid-write still parses, and would read as users leaving.
//
// JSON:
//
//	{"users":  [{"id": "u1", "userName": "ann@example.com", "displayName": "Ann Lee",
//	             "email": "ann@example.com", "givenName": "Ann", "familyName": "Lee",
//	             "externalId": "E1", "active": true}],
//	 "groups": [{"id": "g1", "displayName": "ph-admin", "members": ["u1", "g2"]}]}
//
// A member is the id of a user or of another group (nested groups). A user
// without "active" is active. Unknown fields are ignored. The "users" key is
// required; an empty list means an empty directory.
//
// CSV: users.csv has one row per user under a header naming its columns: id,
// userName, displayName, email, givenName, familyName, externalId, active
// (id and userName required; active is true, false, yes, no, 1 or 0 in any
// case, empty for true). groups.csv has one row per membership: id (or
// group_id, group), displayName, member (or member_id). A row with an empty
// member declares a group without adding a member; a group's displayName may
// be given on just one of its rows; a missing groups.csv is an error (write just its header for
// a directory without groups).
// Header names compare case-insensitively, ignoring '_', '-' and spaces, in any
// order; unknown columns are ignored. Values are trimmed; blank rows skipped;
// a UTF-8 byte-order mark (Excel writes one) is dropped. Errors name the file,
// line and column, and a fetch reports up to 20 of them at once.
package file

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/idpsync/idpsync/reconcile"
)

// Formats.
const (
	JSON = "json"
	CSV  = "csv"
)

// Config configures a file source.
type Config struct {
	// Path is a .json file, a folder holding users.csv and groups.csv, or
	// the path of a users.csv with groups.csv beside it. A relative path is
	// used as given: the caller resolves it against the config file's folder.
	Path string `toml:"path"`
	// Format is "json", "csv" or "" (from the path: a path ending .json is
	// JSON, anything else CSV).
	Format string `toml:"format"`
}

// Validate reports every problem with the configuration, each naming its key.
// It does not look at the disk: a file missing now may be there by the first
// run, and a missing file fails the run, not the start-up.
func (c Config) Validate() []error {
	var errs []error
	if strings.TrimSpace(c.Path) == "" {
		errs = append(errs, fmt.Errorf("path: required"))
	}
	switch strings.ToLower(strings.TrimSpace(c.Format)) {
	case "", JSON, CSV:
	default:
		errs = append(errs, fmt.Errorf("format: %q is not %q or %q", c.Format, JSON, CSV))
	}
	return errs
}

// format returns the format the source reads, deciding from the path when
// Format is empty.
func (c Config) format() string {
	if f := strings.ToLower(strings.TrimSpace(c.Format)); f != "" {
		return f
	}
	if strings.EqualFold(filepath.Ext(c.Path), ".json") {
		return JSON
	}
	return CSV
}

// Open returns a source named name that reads the configured path. It rejects
// a bad configuration (EINVALID) but does not require the path to exist yet.
// A nil log discards.
func (c Config) Open(name string, log *slog.Logger) (*Connector, error) {
	errs := c.Validate()
	if strings.TrimSpace(name) == "" {
		errs = append([]error{fmt.Errorf("name: required")}, errs...)
	}
	if len(errs) > 0 {
		msgs := make([]string, len(errs))
		for i, err := range errs {
			msgs[i] = err.Error()
		}
		return nil, reconcile.Errorf(reconcile.EINVALID, "file source %q: %s", name, strings.Join(msgs, "; "))
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Connector{
		name:   name,
		path:   c.Path,
		format: c.format(),
		log:    log.With("source", name, "connector", "file"),
	}, nil
}

// Connector reads a directory export from disk. It keeps nothing between
// fetches, so it is safe for concurrent use.
type Connector struct {
	name   string
	path   string
	format string // JSON or CSV
	log    *slog.Logger
}

var _ reconcile.Source = (*Connector)(nil)

// Name returns the source's name.
func (c *Connector) Name() string { return c.name }

// Fetch reads the export and returns the directory it holds, which has passed
// Directory.Validate. Any problem, with the file or with its content, is an
// error and no directory: never a partial one. Content errors are EINVALID and
// name the file and the line.
func (c *Connector) Fetch(ctx context.Context) (*reconcile.Directory, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("file source %q: %w", c.name, err)
	}
	start := time.Now()
	var (
		d   *reconcile.Directory
		err error
	)
	if c.format == JSON {
		d, err = readJSON(ctx, c.path)
	} else {
		d, err = c.readCSV(ctx)
	}
	if err != nil {
		return nil, fmt.Errorf("file source %q: %w", c.name, err)
	}
	c.log.DebugContext(ctx, "read directory export", "path", c.path, "format", c.format,
		"users", len(d.Users), "groups", len(d.Groups), "took", time.Since(start))
	return d, nil
}

// readCSV reads a folder's users.csv and groups.csv, or the users.csv named
// by the path and the groups.csv beside it.
func (c *Connector) readCSV(ctx context.Context) (*reconcile.Directory, error) {
	users, groups := c.path, filepath.Join(filepath.Dir(c.path), "groups.csv")
	if fi, err := os.Stat(c.path); err != nil {
		return nil, err
	} else if fi.IsDir() {
		users, groups = filepath.Join(c.path, "users.csv"), filepath.Join(c.path, "groups.csv")
	}
	return readCSV(ctx, users, groups)
}

// open opens a file for reading under ctx: once ctx is done, reads fail with
// ctx's error, so a huge export stops promptly.
func open(ctx context.Context, path string) (io.ReadCloser, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	return ctxFile{ctx, f}, nil
}

type ctxFile struct {
	ctx context.Context
	*os.File
}

func (f ctxFile) Read(p []byte) (int, error) {
	if err := f.ctx.Err(); err != nil {
		return 0, err
	}
	return f.File.Read(p)
}
