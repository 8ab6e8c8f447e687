// Package testpg gives tests a fresh PostgreSQL database of their own.
//
// The server is BRIDGE_TEST_POSTGRES (a URL without database name),
// default "postgres://postgres@127.0.0.1:5432". When it cannot be reached
// the test is skipped with a message, unless BRIDGE_REQUIRE_POSTGRES=1
// (set by CI), which makes it fail instead.
package testpg

import (
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"os"
	"strings"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // driver "pgx"
)

// ServerURL returns the test server's URL without a database.
func ServerURL() string {
	if v := os.Getenv("BRIDGE_TEST_POSTGRES"); v != "" {
		return strings.TrimSuffix(v, "/")
	}
	return "postgres://postgres@127.0.0.1:5432"
}

// New creates an empty database, drops it when the test ends, and returns
// its URL.
func New(tb testing.TB) string {
	tb.Helper()
	admin, err := sql.Open("pgx", ServerURL()+"/postgres?connect_timeout=3")
	if err == nil {
		err = admin.Ping()
	}
	if err != nil {
		if admin != nil {
			admin.Close()
		}
		if os.Getenv("BRIDGE_REQUIRE_POSTGRES") == "1" {
			tb.Fatalf("PostgreSQL is required (BRIDGE_REQUIRE_POSTGRES=1) but %s does not answer: %v", ServerURL(), err)
		}
		tb.Skipf("skipping PostgreSQL test: no PostgreSQL at %s (%v); set BRIDGE_TEST_POSTGRES to point at one", ServerURL(), err)
	}
	b := make([]byte, 6)
	rand.Read(b)
	name := "bridge_test_" + hex.EncodeToString(b)
	if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
		admin.Close()
		tb.Fatalf("creating test database: %v", err)
	}
	tb.Cleanup(func() {
		admin.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)")
		admin.Close()
	})
	return ServerURL() + "/" + name
}
