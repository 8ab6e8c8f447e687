package admin

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/xapibridge/bridge/lrs"
)

// RetentionRun says what ApplyRetention did for one store.
type RetentionRun struct {
	StoreID  int64     `json:"store_id"`
	Store    string    `json:"store"` // "org/name"
	Cutoff   time.Time `json:"cutoff"`
	Archived int64     `json:"archived"`
	Deleted  int64     `json:"deleted"`
	File     string    `json:"file,omitempty"` // the archive written; empty when nothing was due
	Error    string    `json:"error,omitempty"`
}

// errRetentionStop ends a retention scan at the first statement newer than
// the cutoff.
var errRetentionStop = errors.New("past the retention cutoff")

// ApplyRetention archives and removes, in every store with a retention,
// the statements stored before now minus the retention. For each store it
// streams the statements (voided ones included) in insert order to
// archiveDir/<org>/<store>/statements-<cutoff>.ndjson, stopping at the
// first statement stored after the cutoff, written to a temporary file,
// synced and renamed into place; only then does it delete the archived
// statements (everything up to the last archived primary key), so nothing
// is lost if it stops halfway: a statement is deleted only once it is in a
// durable archive. A store that fails does not stop the others; the error
// joins them all.
func (a *Admin) ApplyRetention(ctx context.Context, now time.Time, archiveDir string) ([]RetentionRun, error) {
	if a.Exporter == nil {
		return nil, lrs.Errorf(lrs.ENOTFOUND, "retention is not available on this database")
	}
	if a.Tenants == nil {
		return nil, lrs.Errorf(lrs.ENOTFOUND, "retention needs stores (the tenant store is not configured)")
	}
	if archiveDir == "" {
		return nil, lrs.Errorf(lrs.EINVALID, "retention: no archive folder")
	}
	stores, err := a.Tenants.ListStores(ctx, 0)
	if err != nil {
		return nil, err
	}
	orgNames := map[int64]string{}
	runs := []RetentionRun{}
	var errs []error
	for _, s := range stores {
		if s.Retention <= 0 {
			continue
		}
		org, ok := orgNames[s.OrgID]
		if !ok {
			org = fmt.Sprint(s.OrgID)
			if o, err := a.Tenants.GetOrganisation(ctx, s.OrgID); err == nil {
				org = o.Name
			}
			orgNames[s.OrgID] = org
		}
		run := RetentionRun{StoreID: s.ID, Store: org + "/" + s.Name, Cutoff: now.Add(-s.Retention).UTC().Truncate(time.Second)}
		dir := filepath.Join(archiveDir, safePathName(org, s.OrgID), safePathName(s.Name, s.ID))
		if err := a.retainStore(ctx, s.ID, dir, &run); err != nil {
			run.Error = err.Error() // admins only: the cause helps
			errs = append(errs, fmt.Errorf("store %s: %w", run.Store, err))
		}
		runs = append(runs, run)
	}
	return runs, errors.Join(errs...)
}

func (a *Admin) retainStore(ctx context.Context, storeID int64, dir string, run *RetentionRun) error {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, ".statements-*.ndjson.tmp")
	if err != nil {
		return err
	}
	done := false
	defer func() {
		if !done {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	bw := bufio.NewWriterSize(tmp, 256<<10)
	var lastPK int64
	err = a.Exporter.ScanStatements(ctx, storeID, lrs.Query{}, true, func(st lrs.StoredStatement) error {
		if st.Stored.After(run.Cutoff) {
			return errRetentionStop
		}
		if err := writeNDJSON(bw, st.Body); err != nil {
			return err
		}
		lastPK = st.PK
		run.Archived++
		return nil
	})
	if err != nil && !errors.Is(err, errRetentionStop) {
		return err
	}
	if run.Archived == 0 {
		return nil
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	final := filepath.Join(dir, "statements-"+run.Cutoff.Format("20060102T150405Z")+".ndjson")
	for i := 2; ; i++ {
		if _, err := os.Lstat(final); errors.Is(err, os.ErrNotExist) {
			break
		}
		final = filepath.Join(dir, fmt.Sprintf("statements-%s-%d.ndjson", run.Cutoff.Format("20060102T150405Z"), i))
	}
	if err := os.Rename(tmp.Name(), final); err != nil {
		return err
	}
	done = true
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	run.File = final
	n, err := a.Exporter.DeleteStatementsUpTo(ctx, storeID, lastPK)
	run.Deleted = n
	return err
}

// safePathName makes a store or organisation name usable as one folder
// name; names that are empty or all dots become the id.
func safePathName(name string, id int64) string {
	s := strings.Map(func(r rune) rune {
		switch {
		case r == '/' || r == '\\' || r == 0 || r < ' ':
			return '_'
		}
		return r
	}, name)
	if strings.Trim(s, ".") == "" {
		return fmt.Sprint(id)
	}
	return s
}
