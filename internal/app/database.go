package app

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"slices"

	"github.com/xapibridge/bridge/config"
	"github.com/xapibridge/bridge/lrs"
	"github.com/xapibridge/bridge/lrs/store"
)

// NewLogger is the logger the config asks for (log.level, log.format),
// writing to w.
func NewLogger(cfg *config.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.Log.Level))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.Log.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// SQLitePath is the embedded database's file, or "" on MySQL.
func SQLitePath(cfg *config.Config) string {
	if cfg.Database.Driver != store.SQLite {
		return ""
	}
	return dsnOf(cfg)
}

func dsnOf(cfg *config.Config) string {
	if cfg.Database.Driver == store.SQLite && cfg.Database.DSN == "" {
		return filepath.Join(cfg.DataDir, "bridge.db")
	}
	return cfg.Database.DSN
}

// OpenDB opens the configured database; with migrate it first creates a
// missing MySQL database.
func OpenDB(ctx context.Context, cfg *config.Config, migrate bool) (*store.DB, error) {
	if migrate && cfg.Database.Driver == store.MySQL {
		if err := store.CreateMySQLDatabase(ctx, cfg.Database.DSN); err != nil {
			return nil, fmt.Errorf("database.dsn: creating database: %w", err)
		}
	}
	db, err := store.Open(ctx, cfg.Database.Driver, dsnOf(cfg), store.Options{MaxOpenConns: cfg.Database.MaxOpenConns})
	if err != nil {
		return nil, fmt.Errorf("opening %s database: %w", cfg.Database.Driver, err)
	}
	return db, nil
}

// Migrate creates a missing MySQL database and applies pending migrations
// (`bridge migrate`), saying what it did on out.
func Migrate(ctx context.Context, cfg *config.Config, out io.Writer) error {
	db, err := OpenDB(ctx, cfg, true)
	if err != nil {
		return err
	}
	defer db.Close()
	applied, err := db.Migrate(ctx)
	if err != nil {
		return err
	}
	cur, _, err := db.SchemaStatus(ctx)
	if err != nil {
		return err
	}
	if len(applied) == 0 {
		fmt.Fprintf(out, "database schema is up to date (version %d)\n", cur)
	} else {
		fmt.Fprintf(out, "applied migrations %v; database schema is at version %d\n", applied, cur)
	}
	return nil
}

// CheckSchema migrates when allowed, or says what to run.
func CheckSchema(ctx context.Context, cfg *config.Config, db *store.DB, log *slog.Logger) error {
	cur, target, err := db.SchemaStatus(ctx)
	if err != nil {
		return fmt.Errorf("reading schema version: %w", err)
	}
	switch {
	case cur > target:
		return fmt.Errorf("database schema is at version %d, newer than this bridge understands (%d): upgrade the bridge", cur, target)
	case cur < target && cfg.Database.AutoMigrateEnabled():
		applied, err := db.Migrate(ctx)
		if err != nil {
			return err
		}
		log.Info("database migrated", "applied", applied, "version", target)
	case cur < target:
		return fmt.Errorf("database schema is at version %d but this bridge needs %d: run `bridge migrate` with the same config, "+
			"or set database.auto_migrate: true (BRIDGE_DATABASE_AUTO_MIGRATE=true)", cur, target)
	}
	return nil
}

// syncCredentials makes the stored credentials match the config: config
// credentials are (re)written, ones removed from the config are deleted.
// With no credential at all, it creates one and returns its secret, the only
// time the secret exists in clear.
func syncCredentials(ctx context.Context, cfg *config.Config, cs lrs.CredentialStore, log *slog.Logger) (generated *lrs.Credential, secret string, err error) {
	existing, err := cs.ListCredentials(ctx)
	if err != nil {
		return nil, "", err
	}
	inConfig := map[string]bool{}
	for _, c := range cfg.Credentials {
		inConfig[c.Key] = true
		if len(c.Secret) < 16 {
			log.Warn("credential secret is short; use 16 or more random characters", "key", c.Key)
		}
		var old *lrs.Credential
		for _, e := range existing {
			if e.Key == c.Key {
				old = e
			}
		}
		scopes := slices.Clone(c.Scopes)
		if c.Trusted {
			scopes = append(scopes, lrs.ScopePersonalForward)
		}
		if old != nil && old.Verify(c.Secret) && slices.Equal(old.Scopes, scopes) && old.Name == c.Name && old.Source == "config" {
			continue
		}
		salt, hash := lrs.HashSecret(c.Secret)
		if err := cs.PutCredential(ctx, &lrs.Credential{Key: c.Key, StoreID: 1, Name: c.Name, Scopes: scopes,
			SecretSalt: salt, SecretHash: hash, Source: "config"}); err != nil {
			return nil, "", err
		}
	}
	remaining := 0
	for _, e := range existing {
		if e.Source == "config" && !inConfig[e.Key] {
			if err := cs.DeleteCredential(ctx, e.Key); err != nil {
				return nil, "", err
			}
			log.Info("credential removed from config; deleted", "key", e.Key)
			continue
		}
		if !inConfig[e.Key] {
			remaining++
		}
	}
	if remaining+len(cfg.Credentials) > 0 {
		return nil, "", nil
	}
	secret = lrs.GenerateSecret()
	salt, hash := lrs.HashSecret(secret)
	c := &lrs.Credential{Key: lrs.GenerateKey(), StoreID: 1, Scopes: []string{lrs.ScopeAll},
		SecretSalt: salt, SecretHash: hash, Source: "generated"}
	if err := cs.PutCredential(ctx, c); err != nil {
		return nil, "", err
	}
	return c, secret, nil
}
