package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/xapibridge/bridge/lrs"
)

// SourceKeyLen is the length of a source's id key, in bytes.
const SourceKeyLen = 32

// SourceKey returns an adapter source's id key (a Moodle site's: its
// statement ids are HMAC-SHA256 of it, see adapters/moodle) and the log id
// through which the source's rows keep the public ids they had before it had
// one. When the source has no key yet, it creates one, SourceKeyLen bytes
// from crypto/rand, recording legacyThrough (ignored otherwise). Bridges on
// the same database that race to create it all get the one stored first, so
// every bridge gives a row the same ids.
//
// The key is a secret: the caller must never log or show it. It lives only
// in this table (migration 00008): backing up the database backs it up, and
// deleting its row re-keys the source (its next rows get new ids; rows read
// again then are stored again).
func (db *DB) SourceKey(ctx context.Context, source string, legacyThrough int64) ([]byte, int64, error) {
	secret, through, err := db.readSourceKey(ctx, source)
	if !errors.Is(err, sql.ErrNoRows) {
		return secret, through, err
	}
	fresh := make([]byte, SourceKeyLen)
	if _, err := rand.Read(fresh); err != nil {
		return nil, 0, lrs.Internal(err, "creating a source key")
	}
	// INSERT … IGNORE: when another bridge created it meanwhile, its key
	// stays and is the one read back.
	if _, err := db.execRetry(ctx, db.d.insertIgnore+" INTO source_keys (source, secret, legacy_through, created_us) VALUES (?, ?, ?, ?)",
		source, fresh, max(legacyThrough, 0), time.Now().UnixMicro()); err != nil {
		return nil, 0, lrs.Internal(err, "creating a source key")
	}
	secret, through, err = db.readSourceKey(ctx, source)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, 0, lrs.Internal(err, "reading the source key just created")
	}
	return secret, through, err
}

// readSourceKey reads source's key; sql.ErrNoRows when it has none.
func (db *DB) readSourceKey(ctx context.Context, source string) ([]byte, int64, error) {
	var secret []byte
	var through int64
	err := db.r.QueryRowContext(ctx, "SELECT secret, legacy_through FROM source_keys WHERE source = ?", source).Scan(&secret, &through)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, 0, err
	}
	if err != nil {
		return nil, 0, lrs.Internal(err, "reading a source key")
	}
	if len(secret) != SourceKeyLen {
		// Not one this code made: using it could give ids anyone can
		// compute (an empty key), so stop rather than guess.
		return nil, 0, lrs.Internal(fmt.Errorf("source %q: its key in source_keys is %d bytes, not %d", source, len(secret), SourceKeyLen), "reading a source key")
	}
	return secret, through, nil
}
