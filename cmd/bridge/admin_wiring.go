package main

import (
	"github.com/xapibridge/bridge/lrs"
	"github.com/xapibridge/bridge/lrs/store"
)

// newAdmin wires the admin operations to the database.
func newAdmin(db *store.DB, baseURL string, auth *lrs.Authenticator) *lrs.Admin {
	a := &lrs.Admin{Credentials: db, Statements: db, BaseURL: baseURL, Tenants: db, Persons: db}
	a.Eraser, a.Exporter = db, db
	if auth != nil {
		a.Forget = auth.Forget
	}
	// Tenants, Persons, Eraser and Exporter are set here as the store
	// implements them.
	return a
}
