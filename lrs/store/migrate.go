package store

import (
	"context"
	"embed"
	"fmt"
	"io/fs"

	"github.com/pressly/goose/v3"
)

//go:embed migrations
var migrations embed.FS

func (db *DB) provider() (*goose.Provider, error) {
	sub, err := fs.Sub(migrations, "migrations/"+db.d.name)
	if err != nil {
		return nil, err
	}
	gd := goose.DialectSQLite3
	if db.d.name == MySQL {
		gd = goose.DialectMySQL
	}
	return goose.NewProvider(gd, db.w, sub)
}

// Migrate applies every pending migration and returns the versions applied.
func (db *DB) Migrate(ctx context.Context) ([]int64, error) {
	p, err := db.provider()
	if err != nil {
		return nil, err
	}
	res, err := p.Up(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrating %s database: %w", db.d.name, err)
	}
	var out []int64
	for _, r := range res {
		out = append(out, r.Source.Version)
	}
	return out, nil
}

// SchemaStatus returns the schema version of the database and the version
// this binary expects.
func (db *DB) SchemaStatus(ctx context.Context) (current, target int64, err error) {
	p, err := db.provider()
	if err != nil {
		return 0, 0, err
	}
	return p.GetVersions(ctx)
}
