package store

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/xapibridge/bridge/internal/testmysql"
	"github.com/xapibridge/bridge/lrs"
)

// TestIsDuplicate checks isDuplicate against the errors the databases
// really return: primary key and unique index violations are duplicates,
// other failures (another constraint, a bad query) are not, and neither is
// an error that merely has SQLite's message text.
func TestIsDuplicate(t *testing.T) {
	for _, driver := range []string{SQLite, MySQL} {
		t.Run(driver, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			var dsn string
			if driver == SQLite {
				dsn = filepath.Join(t.TempDir(), "bridge.db")
			} else {
				dsn = testmysql.New(t)
			}
			db, err := Open(ctx, driver, dsn, Options{})
			if err != nil {
				t.Fatalf("open: %v", err)
			}
			t.Cleanup(func() { db.Close() })
			if _, err := db.Migrate(ctx); err != nil {
				t.Fatalf("migrate: %v", err)
			}
			exec := func(q string, args ...any) error {
				_, err := db.w.ExecContext(ctx, q, args...)
				return err
			}
			const (
				org    = "INSERT INTO organisations (name, created_us) VALUES (?, 0)"
				cursor = "INSERT INTO sync_cursors (source, position, status, updated_us) VALUES (?, 0, '{}', 0)"
			)
			for _, q := range []string{org, cursor} {
				if err := exec(q, "a"); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}

			tests := []struct {
				name       string
				err        error
				want       bool
				sqliteCode int // the code SQLite reports, if it is an *sqlite.Error
			}{
				{"unique index", exec(org, "a"), true, sqlite3.SQLITE_CONSTRAINT_UNIQUE},
				{"primary key", exec(cursor, "a"), true, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY},
				{"unique index, wrapped", lrs.Internal(fmt.Errorf("inserting: %w", exec(org, "a")), "storing"), true, sqlite3.SQLITE_CONSTRAINT_UNIQUE},
				{"not null", exec(org, nil), false, sqlite3.SQLITE_CONSTRAINT_NOTNULL},
				{"no such table", exec("INSERT INTO no_such_table (id) VALUES (1)"), false, sqlite3.SQLITE_ERROR},
				{"the message only", errors.New("UNIQUE constraint failed: organisations.name"), false, 0},
				{"nil", nil, false, 0},
			}
			for _, tt := range tests {
				if got := isDuplicate(tt.err); got != tt.want {
					t.Errorf("%s: isDuplicate(%v) = %v, want %v", tt.name, tt.err, got, tt.want)
				}
				var se *sqlite.Error
				if driver == SQLite && tt.sqliteCode != 0 {
					if !errors.As(tt.err, &se) {
						t.Errorf("%s: %v (%T) is not an *sqlite.Error", tt.name, tt.err, tt.err)
					} else if se.Code() != tt.sqliteCode {
						t.Errorf("%s: code %d, want %d", tt.name, se.Code(), tt.sqliteCode)
					}
				}
			}
		})
	}
}
