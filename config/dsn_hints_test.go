package config

import (
	"strings"
	"testing"
)

// A MySQL DSN without tcp(...) around the address, or written as a URL,
// says how to write it (issue 14: the driver's message was "default addr
// for network 'localhost' unknown").
func TestMySQLDSNAddressHints(t *testing.T) {
	for _, c := range []struct{ dsn, want string }{
		{"root@127.0.0.1:3306/bridge", `the address must be written tcp(HOST:PORT): "user:pass@tcp(127.0.0.1:3306)/dbname", not "…@127.0.0.1:3306/dbname"`},
		{"root:pw@localhost/bridge", `"user:pass@tcp(localhost:3306)/dbname", not "…@localhost/dbname"`},
		{"mysql://root@127.0.0.1/bridge", `a go-sql-driver DSN, not a URL`},
	} {
		err := checkMySQLDSN(c.dsn)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v\nwant %q", c.dsn, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), "pw") {
			t.Errorf("%s: the message repeats the password: %v", c.dsn, err)
		}
	}
	for _, ok := range []string{"root@tcp(127.0.0.1:3306)/bridge", "root@/bridge", "u:p@unix(/run/mysqld/mysqld.sock)/bridge", "u:p@tcp6([::1]:3306)/b?parseTime=true"} {
		if err := checkMySQLDSN(ok); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
}
