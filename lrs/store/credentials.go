package store

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/xapibridge/bridge/lrs"
)

const credCols = "cred_key, store_id, name, scopes, secret_salt, secret_hash, source, created_us"

func scanCredential(sc interface{ Scan(...any) error }) (*lrs.Credential, error) {
	var c lrs.Credential
	var scopes string
	var created int64
	if err := sc.Scan(&c.Key, &c.StoreID, &c.Name, &scopes, &c.SecretSalt, &c.SecretHash, &c.Source, &created); err != nil {
		return nil, err
	}
	if scopes != "" {
		c.Scopes = strings.Split(scopes, " ")
	}
	c.CreatedAt = time.UnixMicro(created).UTC()
	return &c, nil
}

// GetCredential implements lrs.CredentialStore.
func (db *DB) GetCredential(ctx context.Context, key string) (*lrs.Credential, error) {
	c, err := scanCredential(db.r.QueryRowContext(ctx, "SELECT "+credCols+" FROM credentials WHERE cred_key = ?", key))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, lrs.Errorf(lrs.ENOTFOUND, "no credential %q", key)
	}
	if err != nil {
		return nil, &lrs.Error{Code: lrs.EUNAVAILABLE, Message: "reading credential", Cause: err}
	}
	return c, nil
}

// PutCredential implements lrs.CredentialStore.
func (db *DB) PutCredential(ctx context.Context, c *lrs.Credential) error {
	if c.StoreID == 0 {
		c.StoreID = 1
	}
	if c.CreatedAt.IsZero() {
		c.CreatedAt = time.Now()
	}
	_, err := db.w.ExecContext(ctx, "REPLACE INTO credentials ("+credCols+") VALUES (?,?,?,?,?,?,?,?)",
		c.Key, c.StoreID, c.Name, strings.Join(c.Scopes, " "), c.SecretSalt, c.SecretHash, c.Source, c.CreatedAt.UnixMicro())
	if err != nil {
		return lrs.Internal(err, "storing credential")
	}
	return nil
}

// ListCredentials implements lrs.CredentialStore.
func (db *DB) ListCredentials(ctx context.Context) ([]*lrs.Credential, error) {
	rows, err := db.r.QueryContext(ctx, "SELECT "+credCols+" FROM credentials ORDER BY cred_key")
	if err != nil {
		return nil, lrs.Internal(err, "listing credentials")
	}
	defer rows.Close()
	var out []*lrs.Credential
	for rows.Next() {
		c, err := scanCredential(rows)
		if err != nil {
			return nil, lrs.Internal(err, "listing credentials")
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// DeleteCredential implements lrs.CredentialStore.
func (db *DB) DeleteCredential(ctx context.Context, key string) error {
	if _, err := db.w.ExecContext(ctx, "DELETE FROM credentials WHERE cred_key = ?", key); err != nil {
		return lrs.Internal(err, "deleting credential")
	}
	return nil
}
