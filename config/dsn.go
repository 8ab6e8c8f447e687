package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strings"
)

var dsnNetRE = regexp.MustCompile(`^[A-Za-z0-9_.-]*$`)

// checkMySQLDSN checks that dsn has the shape accepted by
// github.com/go-sql-driver/mysql, [user[:password]@][net[(addr)]]/dbname[?params],
// without importing the driver, and says what is wrong. Messages never
// repeat the user or password.
func checkMySQLDSN(dsn string) error {
	// Like the driver, split at the last "/": the password and address may
	// contain "/", so parameter values must escape it as %2F.
	if scheme, _, ok := strings.Cut(dsn, "://"); ok && !strings.ContainsAny(scheme, "@(") {
		return fmt.Errorf(`a go-sql-driver DSN, not a URL: write "user:pass@tcp(host:3306)/dbname", not "%s://…"`, scheme)
	}
	slash := strings.LastIndexByte(dsn, '/')
	if slash < 0 {
		return errors.New(`missing "/dbname" (expected [user[:password]@][net[(addr)]]/dbname[?params], e.g. "user:pass@tcp(127.0.0.1:3306)/bridge")`)
	}
	left, right := dsn[:slash], dsn[slash+1:]

	// [user[:password]@][net[(addr)]]
	netAddr := left
	if at := strings.LastIndexByte(left, '@'); at >= 0 {
		netAddr = left[at+1:]
	}
	netName := netAddr
	if open := strings.IndexByte(netAddr, '('); open >= 0 {
		if !strings.HasSuffix(netAddr, ")") {
			if strings.Contains(netAddr[open+1:], ")") {
				return errors.New(`text after the network address "(...)" before "/dbname"; if a parameter value contains "/", escape it as %2F`)
			}
			return errors.New(`network address not terminated: missing ")" before "/dbname"`)
		}
		netName = netAddr[:open]
		if netName == "" {
			return errors.New(`missing network type before "(addr)", e.g. "tcp(127.0.0.1:3306)"`)
		}
		if netAddr[open+1:len(netAddr)-1] == "" {
			return fmt.Errorf(`empty address in "%s()"`, netName)
		}
	}
	if strings.Contains(left, "@") && !strings.Contains(netAddr, "(") && netName != "" && !knownNet[netName] {
		return fmt.Errorf(`the address must be written tcp(HOST:PORT): "user:pass@tcp(%s)/dbname", not "…@%s/dbname"`, withPort(netName), netName)
	}
	if !dsnNetRE.MatchString(netName) {
		return errors.New(`invalid network type before "/dbname" (missing "@" after user[:password]? expected e.g. "user:pass@tcp(host:3306)/dbname")`)
	}

	// dbname[?params]
	dbname, params, _ := strings.Cut(right, "?")
	if dbname == "" {
		return errors.New(`missing database name in "/dbname"`)
	}
	if _, err := url.PathUnescape(dbname); err != nil {
		return fmt.Errorf("invalid database name %q: bad %%-escape", dbname)
	}
	for _, p := range strings.Split(params, "&") {
		if p == "" {
			continue
		}
		k, v, ok := strings.Cut(p, "=")
		switch {
		case !ok:
			return fmt.Errorf(`invalid parameter %q: missing "=value"`, p)
		case k == "":
			return errors.New(`invalid parameter: empty name before "="`)
		}
		if _, err := url.QueryUnescape(v); err != nil {
			return fmt.Errorf("invalid value for parameter %q: bad %%-escape", k)
		}
	}
	return nil
}

// redactDSN replaces the password of a mysql DSN with "***".
func redactDSN(dsn string) string {
	slash := strings.LastIndexByte(dsn, '/')
	if slash < 0 {
		slash = len(dsn)
	}
	at := strings.LastIndexByte(dsn[:slash], '@')
	if at < 0 {
		return dsn
	}
	colon := strings.IndexByte(dsn[:at], ':')
	if colon < 0 || colon+1 == at {
		return dsn
	}
	return dsn[:colon+1] + RedactedSecret + dsn[at:]
}

// knownNet are the networks go-sql-driver knows without an address.
var knownNet = map[string]bool{"tcp": true, "tcp4": true, "tcp6": true, "unix": true}

// withPort adds MySQL's port to a host that has none.
func withPort(host string) string {
	if _, _, err := net.SplitHostPort(host); err == nil {
		return host
	}
	return net.JoinHostPort(host, "3306")
}
