// Package store is the SQL implementation of the LRS storage interfaces, for
// the embedded SQLite database and for MySQL/MariaDB. One set of queries
// serves both; the small differences live in a dialect value.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/go-sql-driver/mysql"
	lru "github.com/hashicorp/golang-lru/v2"
	"modernc.org/sqlite" // also registers driver "sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/xapibridge/bridge/lrs"
)

// Drivers.
const (
	SQLite = "sqlite"
	MySQL  = "mysql"
)

type dialect struct {
	name         string
	insertIgnore string // INSERT that skips rows violating a unique key
}

var dialects = map[string]dialect{
	SQLite: {name: SQLite, insertIgnore: "INSERT OR IGNORE"},
	MySQL:  {name: MySQL, insertIgnore: "INSERT IGNORE"},
}

// DB is an open bridge database.
type DB struct {
	d   dialect
	w   *sql.DB // writes (one connection for SQLite, which has one writer)
	r   *sql.DB // reads
	dsn string
	// activitySeen remembers activity definitions already merged (see
	// upsertActivities).
	activitySeen *lru.Cache[string, [32]byte]
	// returning says whether INSERT … RETURNING works (SQLite 3.35+,
	// MariaDB 10.5+; not MySQL), which saves a round trip per insert.
	returning bool
	// extra is the query size limit and the activity definition limits
	// (packet.go).
	extra extras
}

// Options tune Open.
type Options struct {
	MaxOpenConns int // MySQL pool size; default 16
}

// Open opens the database for driver ("sqlite" or "mysql") at dsn: a file
// path for SQLite (its folder is created), a go-sql-driver DSN for MySQL.
// It does not migrate; see Migrate and SchemaStatus.
func Open(ctx context.Context, driver, dsn string, opt Options) (*DB, error) {
	d, ok := dialects[driver]
	if !ok {
		return nil, fmt.Errorf("database.driver: unknown driver %q (want sqlite or mysql)", driver)
	}
	seen, _ := lru.New[string, [32]byte](100000)
	db := &DB{d: d, dsn: dsn, activitySeen: seen}
	switch driver {
	case SQLite:
		if dir := filepath.Dir(dsn); dir != "" {
			if err := os.MkdirAll(dir, 0o750); err != nil {
				return nil, fmt.Errorf("database.dsn: creating folder for %s: %w", dsn, err)
			}
		}
		u := "file:" + dsn + "?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)" +
			"&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(1)&_txlock=immediate"
		w, err := sql.Open("sqlite", u)
		if err != nil {
			return nil, err
		}
		w.SetMaxOpenConns(1)
		r, err := sql.Open("sqlite", u)
		if err != nil {
			w.Close()
			return nil, err
		}
		r.SetMaxOpenConns(8)
		db.w, db.r = w, r
	case MySQL:
		cfg, err := mysql.ParseDSN(dsn)
		if err != nil {
			return nil, fmt.Errorf("database.dsn: %w", err)
		}
		if cfg.DBName == "" {
			return nil, errors.New("database.dsn: no database name (…/dbname)")
		}
		cfg.ParseTime = false
		cfg.InterpolateParams = true
		// Past 200 values in an IN list (the default limit) the planner
		// guesses rows per value from index statistics instead of looking.
		// statements.ref_id is NULL in almost every row, so the guess for
		// "ref_id IN (…400 ids…)" is a quarter of the store and the planner
		// scans every statement of the store instead: each insert of a
		// big batch read the whole store (Moodle sync slowed as it grew).
		// 0 means always look, MariaDB's default before 10.4.
		if cfg.Params == nil {
			cfg.Params = map[string]string{}
		}
		if _, set := cfg.Params["eq_range_index_dive_limit"]; !set {
			cfg.Params["eq_range_index_dive_limit"] = "0"
		}
		c, err := mysql.NewConnector(cfg)
		if err != nil {
			return nil, fmt.Errorf("database.dsn: %w", err)
		}
		w := sql.OpenDB(c)
		n := opt.MaxOpenConns
		if n <= 0 {
			n = 16
		}
		w.SetMaxOpenConns(n)
		w.SetMaxIdleConns(n)
		db.w, db.r = w, w
		if err := w.PingContext(ctx); err != nil {
			w.Close()
			return nil, connectError(cfg, err)
		}
	}
	if err := db.Ping(ctx); err != nil {
		db.Close()
		return nil, err
	}
	db.returning = driver == SQLite || db.isMariaDB105(ctx)
	if err := db.LoadMaxAllowedPacket(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// isMariaDB105 reports whether the MySQL server is MariaDB 10.5 or later.
func (db *DB) isMariaDB105(ctx context.Context) bool {
	var v string
	if db.r.QueryRowContext(ctx, "SELECT VERSION()").Scan(&v) != nil || !strings.Contains(v, "MariaDB") {
		return false
	}
	var major, minor int
	if _, err := fmt.Sscanf(v, "%d.%d", &major, &minor); err != nil {
		return false
	}
	return major > 10 || major == 10 && minor >= 5
}

// Driver returns "sqlite" or "mysql".
func (db *DB) Driver() string { return db.d.name }

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.r.PingContext(ctx); err != nil {
		return &lrs.Error{Code: lrs.EUNAVAILABLE, Message: "database unreachable", Cause: err}
	}
	return nil
}

// Close closes the database.
func (db *DB) Close() error {
	err := db.w.Close()
	if db.r != db.w {
		err = errors.Join(err, db.r.Close())
	}
	return err
}

// CreateMySQLDatabase creates the database named in a MySQL DSN if it does
// not exist, so `bridge migrate` works on an empty server.
func CreateMySQLDatabase(ctx context.Context, dsn string) error {
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		return fmt.Errorf("database.dsn: %w", err)
	}
	name := cfg.DBName
	cfg.DBName = ""
	c, err := mysql.NewConnector(cfg)
	if err != nil {
		return err
	}
	sdb := sql.OpenDB(c)
	defer sdb.Close()
	_, err = sdb.ExecContext(ctx, "CREATE DATABASE IF NOT EXISTS `"+strings.ReplaceAll(name, "`", "``")+
		"` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")
	return err
}

// isDuplicate reports whether err is a duplicate key: a row that violates a
// primary key or a unique index (on SQLite, the primary keys of the tables
// without an integer one, e.g. person_agents and documents, fail with
// SQLITE_CONSTRAINT_PRIMARYKEY; unique indexes, e.g. statements_store_id and
// organisations.name, with SQLITE_CONSTRAINT_UNIQUE).
func isDuplicate(err error) bool {
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		return me.Number == 1062 // ER_DUP_ENTRY, for primary and unique keys alike
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return true
		}
	}
	return false
}

// placeholders returns "(?,?,?),(?,?,?)" for rows of n columns.
func placeholders(rows, cols int) string {
	one := "(" + strings.TrimSuffix(strings.Repeat("?,", cols), ",") + ")"
	var b strings.Builder
	b.Grow(rows * (len(one) + 1))
	for i := 0; i < rows; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(one)
	}
	return b.String()
}
