// Package moodle turns Moodle's standard log (logstore_standard_log and the
// tables around it, read from Moodle's own database) into xAPI statements,
// shaped as the Moodle plugin logstore_xapi v5 shapes them, so an LRS fed by
// the plugin looks the same after a switch.
//
// Mapping is pure: a mapper reads the event row and whatever records it
// needs through a Repo, and returns statements. The sync job (sync.go) reads
// the log in id order, prefetches the records a batch needs in a few
// queries, maps, and stores the statements together with its cursor in one
// transaction.
package moodle

import (
	"errors"
	"fmt"
	"strconv"
)

// Row is one database record: column name to value (int64, float64,
// string, []byte or nil).
type Row map[string]any

// Int returns a column as an integer (0 when absent or not numeric).
func (r Row) Int(col string) int64 {
	switch v := r[col].(type) {
	case int64:
		return v
	case int:
		return int64(v)
	case float64:
		return int64(v)
	case string:
		n, _ := strconv.ParseInt(v, 10, 64)
		return n
	case []byte:
		n, _ := strconv.ParseInt(string(v), 10, 64)
		return n
	}
	return 0
}

// Float returns a column as a number.
func (r Row) Float(col string) (float64, bool) {
	switch v := r[col].(type) {
	case int64:
		return float64(v), true
	case int:
		return float64(v), true
	case float64:
		return v, true
	case string:
		f, err := strconv.ParseFloat(v, 64)
		return f, err == nil
	case []byte:
		f, err := strconv.ParseFloat(string(v), 64)
		return f, err == nil
	}
	return 0, false
}

// Str returns a column as text ("" when absent or NULL).
func (r Row) Str(col string) string {
	switch v := r[col].(type) {
	case nil:
		return ""
	case string:
		return v
	case []byte:
		return string(v)
	case int64:
		return strconv.FormatInt(v, 10)
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	default:
		return fmt.Sprint(v)
	}
}

// Has reports whether the column is present (even if NULL).
func (r Row) Has(col string) bool {
	_, ok := r[col]
	return ok
}

// ErrNotFound is returned (wrapped in a *MissingError) when a record a
// mapping needs does not exist: a deleted user, course or module.
var ErrNotFound = errors.New("record not found")

// MissingError names the missing record.
type MissingError struct {
	Table string
	Query string
}

func (e *MissingError) Error() string { return fmt.Sprintf("no %s record with %s", e.Table, e.Query) }
func (e *MissingError) Unwrap() error { return ErrNotFound }

// Repo reads Moodle records (table names without the prefix).
type Repo interface {
	// ReadRecords returns the records of table whose columns equal query's
	// values, ordered by sort (a column name, optionally " DESC"; "" = id).
	ReadRecords(table string, query map[string]any, sort string) ([]Row, error)
}

// ReadRecord returns the first record matching query, or a *MissingError.
func ReadRecord(r Repo, table string, query map[string]any) (Row, error) {
	rows, err := r.ReadRecords(table, query, "")
	if err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, &MissingError{Table: table, Query: fmt.Sprint(query)}
	}
	return rows[0], nil
}

// ReadRecordByID returns the record of table with id.
func ReadRecordByID(r Repo, table string, id int64) (Row, error) {
	return ReadRecord(r, table, map[string]any{"id": id})
}
