package store

import (
	"errors"
	"fmt"
	"net"
	"syscall"

	"github.com/go-sql-driver/mysql"

	"github.com/xapibridge/bridge/lrs"
)

// connectError says why the first connection to a MySQL server failed, in
// terms an operator can act on: a wrong user or password, nothing listening
// at the address, a host that does not resolve, or a database that does not
// exist yet (which `bridge migrate` creates).
func connectError(cfg *mysql.Config, err error) error {
	var me *mysql.MySQLError
	var dnsErr *net.DNSError
	var netErr net.Error
	switch {
	case errors.As(err, &me) && (me.Number == 1045 || me.Number == 1044 || me.Number == 1698): // access denied (1698: MariaDB, no such user or no password)
		return &lrs.Error{Code: lrs.EUNAVAILABLE, Cause: err, Message: fmt.Sprintf(
			"database.dsn: access denied for user %q at %s: check the user and password (%s)", cfg.User, cfg.Addr, me.Message)}
	case errors.As(err, &me) && me.Number == 1049:
		return &lrs.Error{Code: lrs.EUNAVAILABLE, Cause: err, Message: fmt.Sprintf(
			"database.dsn: unknown database %q at %s: run `bridge migrate` with the same config (it creates the database), or create it", cfg.DBName, cfg.Addr)}
	case errors.Is(err, syscall.ECONNREFUSED):
		return &lrs.Error{Code: lrs.EUNAVAILABLE, Cause: err, Message: fmt.Sprintf(
			"database.dsn: connection refused at %s %s: is MySQL/MariaDB running and listening there?", cfg.Net, cfg.Addr)}
	case errors.As(err, &dnsErr):
		return &lrs.Error{Code: lrs.EUNAVAILABLE, Cause: err, Message: fmt.Sprintf(
			"database.dsn: host %q does not resolve (%v)", dnsErr.Name, dnsErr.Err)}
	case errors.As(err, &netErr) && netErr.Timeout():
		return &lrs.Error{Code: lrs.EUNAVAILABLE, Cause: err, Message: fmt.Sprintf(
			"database.dsn: no answer from %s within the connect timeout: check the address and any firewall", cfg.Addr)}
	case errors.As(err, &me):
		return &lrs.Error{Code: lrs.EUNAVAILABLE, Cause: err, Message: fmt.Sprintf(
			"database.dsn: MySQL at %s refused the connection: %s (error %d)", cfg.Addr, me.Message, me.Number)}
	}
	return &lrs.Error{Code: lrs.EUNAVAILABLE, Cause: err, Message: fmt.Sprintf("database.dsn: cannot connect to %s: %v", cfg.Addr, err)}
}
