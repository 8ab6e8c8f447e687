package store_test

import (
	"context"
	"strings"
	"testing"

	"github.com/go-sql-driver/mysql"

	"github.com/xapibridge/bridge/internal/testmysql"
	"github.com/xapibridge/bridge/lrs/store"
)

// Opening MySQL says why it failed: a wrong password, nothing listening at
// the address, or a database that does not exist yet (issue 14 bug 3: serve
// said "database unreachable" for all three).
func TestOpenMySQLSaysWhy(t *testing.T) {
	good := testmysql.New(t) // skips (or, in CI, fails) without MySQL
	cfg, err := mysql.ParseDSN(good)
	if err != nil {
		t.Fatal(err)
	}
	with := func(f func(c *mysql.Config)) string {
		c := cfg.Clone()
		f(c)
		return c.FormatDSN()
	}
	for _, c := range []struct {
		name, dsn string
		want      []string
	}{
		{"wrong password", with(func(c *mysql.Config) { c.Passwd = "not-the-password"; c.User = "bridge_no_such_user" }),
			[]string{`access denied for user "bridge_no_such_user" at ` + cfg.Addr, "check the user and password"}},
		{"nothing listening", with(func(c *mysql.Config) { c.Addr = "127.0.0.1:1" }),
			[]string{"connection refused at tcp 127.0.0.1:1", "is MySQL/MariaDB running"}},
		{"no such database", with(func(c *mysql.Config) { c.DBName = cfg.DBName + "_missing" }),
			[]string{`unknown database "` + cfg.DBName + `_missing"`, "run `bridge migrate`"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			db, err := store.Open(context.Background(), store.MySQL, c.dsn, store.Options{})
			if err == nil {
				db.Close()
				t.Fatal("Open succeeded")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Open: %v\nwant it to say %q", err, w)
				}
			}
		})
	}
}
