package store

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/xapibridge/bridge/lrs"
)

// The tables a store's data lives in, deleted with the store (credentials
// and the store row itself last: credentials reference stores).
var storeDataTables = []string{
	"statement_index", "deliveries", "statements", "documents", "activities", "attachments",
	"person_agents", "persons", "personal_lrs", "erasures", "credentials",
}

// CreateOrganisation implements admin.TenantStore.
func (db *DB) CreateOrganisation(ctx context.Context, name string) (*lrs.Organisation, error) {
	now := time.Now().UTC()
	res, err := db.w.ExecContext(ctx, "INSERT INTO organisations (name, created_us) VALUES (?, ?)", name, now.UnixMicro())
	if isDuplicate(err) {
		return nil, lrs.Errorf(lrs.ECONFLICT, "name: an organisation named %q exists already", name)
	}
	if err != nil {
		return nil, lrs.Internal(err, "creating organisation")
	}
	id, err := res.LastInsertId()
	if err != nil {
		return nil, lrs.Internal(err, "creating organisation")
	}
	return &lrs.Organisation{ID: id, Name: name, CreatedAt: time.UnixMicro(now.UnixMicro()).UTC()}, nil
}

// ListOrganisations implements admin.TenantStore.
func (db *DB) ListOrganisations(ctx context.Context) ([]*lrs.Organisation, error) {
	rows, err := db.r.QueryContext(ctx, "SELECT id, name, created_us FROM organisations ORDER BY id")
	if err != nil {
		return nil, lrs.Internal(err, "listing organisations")
	}
	defer rows.Close()
	out := []*lrs.Organisation{}
	for rows.Next() {
		var o lrs.Organisation
		var us int64
		if err := rows.Scan(&o.ID, &o.Name, &us); err != nil {
			return nil, lrs.Internal(err, "listing organisations")
		}
		o.CreatedAt = time.UnixMicro(us).UTC()
		out = append(out, &o)
	}
	if err := rows.Err(); err != nil {
		return nil, lrs.Internal(err, "listing organisations")
	}
	return out, nil
}

// GetOrganisation implements admin.TenantStore.
func (db *DB) GetOrganisation(ctx context.Context, id int64) (*lrs.Organisation, error) {
	var o lrs.Organisation
	var us int64
	err := db.r.QueryRowContext(ctx, "SELECT id, name, created_us FROM organisations WHERE id = ?", id).Scan(&o.ID, &o.Name, &us)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, lrs.Errorf(lrs.ENOTFOUND, "no organisation %d", id)
	}
	if err != nil {
		return nil, lrs.Internal(err, "reading organisation")
	}
	o.CreatedAt = time.UnixMicro(us).UTC()
	return &o, nil
}

func (db *DB) organisationByName(ctx context.Context, name string) (*lrs.Organisation, error) {
	var o lrs.Organisation
	var us int64
	err := db.r.QueryRowContext(ctx, "SELECT id, name, created_us FROM organisations WHERE name = ?", name).Scan(&o.ID, &o.Name, &us)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, lrs.Errorf(lrs.ENOTFOUND, "no organisation named %q", name)
	}
	if err != nil {
		return nil, lrs.Internal(err, "reading organisation")
	}
	o.CreatedAt = time.UnixMicro(us).UTC()
	return &o, nil
}

// RenameOrganisation implements admin.TenantStore.
func (db *DB) RenameOrganisation(ctx context.Context, id int64, name string) error {
	if _, err := db.GetOrganisation(ctx, id); err != nil {
		return err
	}
	_, err := db.w.ExecContext(ctx, "UPDATE organisations SET name = ? WHERE id = ?", name, id)
	if isDuplicate(err) {
		return lrs.Errorf(lrs.ECONFLICT, "name: an organisation named %q exists already", name)
	}
	if err != nil {
		return lrs.Internal(err, "renaming organisation")
	}
	return nil
}

// DeleteOrganisation implements admin.TenantStore: it refuses while the
// organisation has stores, in one statement so a store created meanwhile
// cannot be orphaned.
func (db *DB) DeleteOrganisation(ctx context.Context, id int64) error {
	res, err := db.w.ExecContext(ctx, "DELETE FROM organisations WHERE id = ? AND NOT EXISTS (SELECT 1 FROM stores WHERE org_id = ?)", id, id)
	if err != nil {
		return lrs.Internal(err, "deleting organisation")
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return nil
	}
	if _, err := db.GetOrganisation(ctx, id); err != nil {
		return err
	}
	return lrs.Errorf(lrs.ECONFLICT, "organisation %d still has stores: delete them first", id)
}

const storeCols = "id, org_id, name, retention_us, created_us"

func scanStore(sc interface{ Scan(...any) error }) (*lrs.Store, error) {
	var s lrs.Store
	var ret, us int64
	if err := sc.Scan(&s.ID, &s.OrgID, &s.Name, &ret, &us); err != nil {
		return nil, err
	}
	s.Retention = time.Duration(ret) * time.Microsecond
	s.CreatedAt = time.UnixMicro(us).UTC()
	return &s, nil
}

// CreateStore implements admin.TenantStore. The row is inserted only if the
// organisation exists (ENOTFOUND otherwise).
func (db *DB) CreateStore(ctx context.Context, orgID int64, name string) (*lrs.Store, error) {
	now := time.Now().UTC().UnixMicro()
	res, err := db.w.ExecContext(ctx, "INSERT INTO stores (org_id, name, created_us) SELECT id, ?, ? FROM organisations WHERE id = ?",
		name, now, orgID)
	if isDuplicate(err) {
		return nil, lrs.Errorf(lrs.ECONFLICT, "name: organisation %d has a store named %q already", orgID, name)
	}
	if err != nil {
		return nil, lrs.Internal(err, "creating store")
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil, lrs.Errorf(lrs.ENOTFOUND, "no organisation %d", orgID)
	}
	id, err := res.LastInsertId()
	if err != nil {
		return nil, lrs.Internal(err, "creating store")
	}
	return &lrs.Store{ID: id, OrgID: orgID, Name: name, CreatedAt: time.UnixMicro(now).UTC()}, nil
}

// ListStores implements admin.TenantStore.
func (db *DB) ListStores(ctx context.Context, orgID int64) ([]*lrs.Store, error) {
	q, args := "SELECT "+storeCols+" FROM stores", []any{}
	if orgID != 0 {
		if _, err := db.GetOrganisation(ctx, orgID); err != nil {
			return nil, err
		}
		q += " WHERE org_id = ?"
		args = append(args, orgID)
	}
	rows, err := db.r.QueryContext(ctx, q+" ORDER BY id", args...)
	if err != nil {
		return nil, lrs.Internal(err, "listing stores")
	}
	defer rows.Close()
	out := []*lrs.Store{}
	for rows.Next() {
		s, err := scanStore(rows)
		if err != nil {
			return nil, lrs.Internal(err, "listing stores")
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, lrs.Internal(err, "listing stores")
	}
	return out, nil
}

// StoreRefs returns every store's reference as rules and --store name it:
// "name" for a store of the default organisation, "org/name" for others.
func (db *DB) StoreRefs(ctx context.Context) (map[int64]string, error) {
	rows, err := db.r.QueryContext(ctx, "SELECT s.id, s.org_id, s.name, o.name FROM stores s JOIN organisations o ON o.id = s.org_id")
	if err != nil {
		return nil, lrs.Internal(err, "listing stores")
	}
	defer rows.Close()
	out := map[int64]string{}
	for rows.Next() {
		var id, org int64
		var name, orgName string
		if err := rows.Scan(&id, &org, &name, &orgName); err != nil {
			return nil, lrs.Internal(err, "listing stores")
		}
		if org != 1 {
			name = orgName + "/" + name
		}
		out[id] = name
	}
	if err := rows.Err(); err != nil {
		return nil, lrs.Internal(err, "listing stores")
	}
	return out, nil
}

// GetStore implements admin.TenantStore.
func (db *DB) GetStore(ctx context.Context, id int64) (*lrs.Store, error) {
	s, err := scanStore(db.r.QueryRowContext(ctx, "SELECT "+storeCols+" FROM stores WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, lrs.Errorf(lrs.ENOTFOUND, "no store %d", id)
	}
	if err != nil {
		return nil, lrs.Internal(err, "reading store")
	}
	return s, nil
}

// FindStore implements admin.TenantStore: "name" is a store of the default
// organisation (id 1), "org/name" one of the organisation named org.
func (db *DB) FindStore(ctx context.Context, ref string) (*lrs.Store, error) {
	orgID := int64(1)
	name := ref
	if org, n, ok := strings.Cut(ref, "/"); ok {
		o, err := db.organisationByName(ctx, org)
		if err != nil {
			return nil, err
		}
		orgID, name = o.ID, n
	}
	s, err := scanStore(db.r.QueryRowContext(ctx, "SELECT "+storeCols+" FROM stores WHERE org_id = ? AND name = ?", orgID, name))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, lrs.Errorf(lrs.ENOTFOUND, "no store %q", ref)
	}
	if err != nil {
		return nil, lrs.Internal(err, "reading store")
	}
	return s, nil
}

// UpdateStore implements admin.TenantStore: it sets the name and retention.
func (db *DB) UpdateStore(ctx context.Context, s *lrs.Store) error {
	if _, err := db.GetStore(ctx, s.ID); err != nil {
		return err
	}
	_, err := db.w.ExecContext(ctx, "UPDATE stores SET name = ?, retention_us = ? WHERE id = ?",
		s.Name, s.Retention.Microseconds(), s.ID)
	if isDuplicate(err) {
		return lrs.Errorf(lrs.ECONFLICT, "name: the organisation has a store named %q already", s.Name)
	}
	if err != nil {
		return lrs.Internal(err, "updating store")
	}
	return nil
}

// DeleteStore implements admin.TenantStore: the store and all its data go in
// one transaction. The default store (1), where config credentials live,
// cannot be deleted.
func (db *DB) DeleteStore(ctx context.Context, id int64) error {
	if id == 1 {
		return lrs.Errorf(lrs.ECONFLICT, "store 1 is the default store (config credentials live there) and cannot be deleted")
	}
	// A store created later may reuse the id: forget what was merged here.
	defer db.activitySeen.Purge()
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return &lrs.Error{Code: lrs.EUNAVAILABLE, Message: "database unavailable", Cause: err}
	}
	defer tx.Rollback()
	var one int
	err = tx.QueryRowContext(ctx, "SELECT 1 FROM stores WHERE id = ?", id).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return lrs.Errorf(lrs.ENOTFOUND, "no store %d", id)
	}
	if err != nil {
		return lrs.Internal(err, "reading store")
	}
	for _, t := range storeDataTables {
		if _, err := tx.ExecContext(ctx, "DELETE FROM "+t+" WHERE store_id = ?", id); err != nil {
			return lrs.Internal(err, "deleting store data from "+t)
		}
	}
	if _, err := tx.ExecContext(ctx, "DELETE FROM stores WHERE id = ?", id); err != nil {
		return lrs.Internal(err, "deleting store")
	}
	if err := tx.Commit(); err != nil {
		return lrs.Internal(err, "deleting store")
	}
	return nil
}

// StoreStats implements admin.TenantStore.
func (db *DB) StoreStats(ctx context.Context, id int64) (*lrs.StoreStats, error) {
	if _, err := db.GetStore(ctx, id); err != nil {
		return nil, err
	}
	st := &lrs.StoreStats{StoreID: id}
	var first, last sql.NullInt64
	var voided sql.NullInt64
	if err := db.r.QueryRowContext(ctx, "SELECT COUNT(*), SUM(voided), MIN(stored_us), MAX(stored_us) FROM statements WHERE store_id = ?", id).
		Scan(&st.Statements, &voided, &first, &last); err != nil {
		return nil, lrs.Internal(err, "counting statements")
	}
	st.Voided = voided.Int64
	if first.Valid {
		t := time.UnixMicro(first.Int64).UTC()
		st.FirstStored = &t
	}
	if last.Valid {
		t := time.UnixMicro(last.Int64).UTC()
		st.LastStored = &t
	}
	var bytes sql.NullInt64
	if err := db.r.QueryRowContext(ctx, "SELECT COUNT(*), SUM(LENGTH(content)) FROM attachments WHERE store_id = ?", id).
		Scan(&st.Attachments, &bytes); err != nil {
		return nil, lrs.Internal(err, "counting attachments")
	}
	st.AttachmentBytes = bytes.Int64
	counts := []struct {
		q   string
		dst *int64
	}{
		{"SELECT COUNT(*) FROM documents WHERE store_id = ?", &st.Documents},
		{"SELECT COUNT(*) FROM activities WHERE store_id = ?", &st.Activities},
		{"SELECT COUNT(*) FROM credentials WHERE store_id = ?", &st.Credentials},
		{"SELECT COUNT(*) FROM persons WHERE store_id = ?", &st.Persons},
		{"SELECT COUNT(*) FROM deliveries WHERE store_id = ? AND state = 0", &st.PendingForwards},
	}
	for _, c := range counts {
		if err := db.r.QueryRowContext(ctx, c.q, id).Scan(c.dst); err != nil {
			return nil, lrs.Internal(err, "counting store contents")
		}
	}
	return st, nil
}
