package app

import (
	"path/filepath"

	"github.com/xapibridge/bridge/config"
	"github.com/xapibridge/bridge/lrs"
	"github.com/xapibridge/bridge/lrs/admin"
	"github.com/xapibridge/bridge/lrs/store"
)

// NewAdmin wires the admin operations to the database; auth, when set, is
// the authentication cache to drop changed credentials from.
func NewAdmin(db *store.DB, baseURL string, auth *lrs.Authenticator) *admin.Admin {
	a := &admin.Admin{Credentials: db, Statements: db, BaseURL: baseURL, Tenants: db, Persons: db,
		Eraser: db, Exporter: db}
	if auth != nil {
		a.Forget = auth.Forget
	}
	return a
}

// ArchiveDir is where retention writes archives: <data_dir>/archive.
func ArchiveDir(cfg *config.Config) string {
	return filepath.Join(cfg.DataDir, "archive")
}
