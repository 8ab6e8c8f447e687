// Package testmysql gives tests a fresh MySQL/MariaDB database of their own.
//
// The server is BRIDGE_TEST_MYSQL (a go-sql-driver DSN without database
// name), default "root@tcp(127.0.0.1:3306)/". When the server cannot be
// reached the test is skipped with a message, unless BRIDGE_REQUIRE_MYSQL=1
// (set by CI), which makes it fail instead: in CI MySQL tests never skip.
package testmysql

import (
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
)

// ServerDSN returns the DSN of the test server, without a database name.
func ServerDSN() string {
	if v := os.Getenv("BRIDGE_TEST_MYSQL"); v != "" {
		return v
	}
	return "root@tcp(127.0.0.1:3306)/"
}

// Required reports whether MySQL tests must run (CI).
func Required() bool { return os.Getenv("BRIDGE_REQUIRE_MYSQL") == "1" }

// New creates an empty database, drops it when the test ends, and returns
// its DSN.
func New(tb testing.TB) string {
	tb.Helper()
	cfg, err := mysql.ParseDSN(ServerDSN())
	if err != nil {
		tb.Fatalf("BRIDGE_TEST_MYSQL: %v", err)
	}
	cfg.DBName = ""
	cfg.Timeout = 3 * time.Second
	c, err := mysql.NewConnector(cfg)
	if err != nil {
		tb.Fatalf("BRIDGE_TEST_MYSQL: %v", err)
	}
	admin := sql.OpenDB(c)
	if err := admin.Ping(); err != nil {
		admin.Close()
		if Required() {
			tb.Fatalf("MySQL is required (BRIDGE_REQUIRE_MYSQL=1) but %s does not answer: %v", cfg.Addr, err)
		}
		tb.Skipf("skipping MySQL test: no MySQL/MariaDB at %s (%v); set BRIDGE_TEST_MYSQL to point at one", cfg.Addr, err)
	}
	b := make([]byte, 6)
	rand.Read(b)
	name := "bridge_test_" + hex.EncodeToString(b)
	if _, err := admin.Exec("CREATE DATABASE `" + name + "` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"); err != nil {
		admin.Close()
		tb.Fatalf("creating test database: %v", err)
	}
	tb.Cleanup(func() {
		admin.Exec("DROP DATABASE IF EXISTS `" + name + "`")
		admin.Close()
	})
	cfg.DBName = name
	cfg.Timeout = 0
	return cfg.FormatDSN()
}
