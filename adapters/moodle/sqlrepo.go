package moodle

import (
	"context"
	"database/sql"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	lru "github.com/hashicorp/golang-lru/v2"
)

// Dialects of Moodle databases.
const (
	MySQL    = "mysql"
	Postgres = "postgres"
)

var identRE = regexp.MustCompile(`^[a-z0-9_]+$`)

// SQLRepo reads a Moodle database with a bounded cache. Prefetch loads the
// records a batch of log rows needs in a few IN queries, so mapping does not
// cost one query per field per row.
type SQLRepo struct {
	db      *sql.DB
	dialect string
	prefix  string
	ctx     context.Context
	cache   *lru.Cache[string, []Row]
	// Queries counts the queries run (for tests and status).
	Queries int
}

// NewSQLRepo returns a repo over db; prefix is the table prefix (mdl_).
func NewSQLRepo(ctx context.Context, db *sql.DB, dialect, prefix string, cacheSize int) (*SQLRepo, error) {
	if !identRE.MatchString(prefix) {
		return nil, fmt.Errorf("prefix: %q is not a table prefix like mdl_", prefix)
	}
	if dialect != MySQL && dialect != Postgres {
		return nil, fmt.Errorf("driver: %q is not mysql or postgres", dialect)
	}
	if cacheSize <= 0 {
		cacheSize = 50000
	}
	c, _ := lru.New[string, []Row](cacheSize)
	return &SQLRepo{db: db, dialect: dialect, prefix: prefix, ctx: ctx, cache: c}, nil
}

func cacheKey(table string, query map[string]any, sortBy string) string {
	keys := make([]string, 0, len(query))
	for k := range query {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString(table)
	for _, k := range keys {
		fmt.Fprintf(&b, "|%s=%v", k, query[k])
	}
	b.WriteString("|" + sortBy)
	return b.String()
}

// rebind turns ? placeholders into $n for PostgreSQL.
func (r *SQLRepo) rebind(q string) string {
	if r.dialect != Postgres {
		return q
	}
	var b strings.Builder
	n := 0
	for _, c := range q {
		if c == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(c)
	}
	return b.String()
}

func (r *SQLRepo) query(q string, args ...any) ([]Row, error) {
	r.Queries++
	rows, err := r.db.QueryContext(r.ctx, r.rebind(q), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	var out []Row
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		row := make(Row, len(cols))
		for i, c := range cols {
			if b, ok := vals[i].([]byte); ok {
				vals[i] = string(b)
			}
			row[c] = vals[i]
		}
		out = append(out, row)
	}
	return out, rows.Err()
}

// ReadRecords implements Repo.
func (r *SQLRepo) ReadRecords(table string, query map[string]any, sortBy string) ([]Row, error) {
	if !identRE.MatchString(table) {
		return nil, fmt.Errorf("table %q", table)
	}
	key := cacheKey(table, query, sortBy)
	if rows, ok := r.cache.Get(key); ok {
		return rows, nil
	}
	var where []string
	var args []any
	keys := make([]string, 0, len(query))
	for k := range query {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !identRE.MatchString(k) {
			return nil, fmt.Errorf("column %q", k)
		}
		where = append(where, k+" = ?")
		args = append(args, query[k])
	}
	q := "SELECT * FROM " + r.prefix + table
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	col, desc := strings.CutSuffix(strings.TrimSpace(sortBy), " DESC")
	col = strings.TrimSuffix(col, " ASC")
	if col == "" {
		col = "id"
	}
	if !identRE.MatchString(col) {
		return nil, fmt.Errorf("sort %q", sortBy)
	}
	q += " ORDER BY " + col
	if desc {
		q += " DESC"
	}
	rows, err := r.query(q, args...)
	if err != nil {
		return nil, fmt.Errorf("reading %s%s: %w", r.prefix, table, err)
	}
	r.cache.Add(key, rows)
	return rows, nil
}

// Preload reads the records of table with the given ids in one query and
// caches each (and the absence of the missing ones) for ReadRecordByID.
func (r *SQLRepo) Preload(table string, ids []int64) error {
	var need []any
	seen := map[int64]bool{}
	for _, id := range ids {
		if id <= 0 || seen[id] {
			continue
		}
		seen[id] = true
		if _, ok := r.cache.Peek(cacheKey(table, map[string]any{"id": id}, "")); !ok {
			need = append(need, id)
		}
	}
	for start := 0; start < len(need); start += 500 {
		part := need[start:min(start+500, len(need))]
		rows, err := r.query("SELECT * FROM "+r.prefix+table+" WHERE id IN ("+strings.TrimSuffix(strings.Repeat("?,", len(part)), ",")+")", part...)
		if err != nil {
			return fmt.Errorf("reading %s%s: %w", r.prefix, table, err)
		}
		found := map[int64]Row{}
		for _, row := range rows {
			found[row.Int("id")] = row
		}
		for _, id := range part {
			var v []Row
			if row, ok := found[id.(int64)]; ok {
				v = []Row{row}
			}
			r.cache.Add(cacheKey(table, map[string]any{"id": id}, ""), v)
		}
	}
	return nil
}

// PrefetchEvents preloads what most mappers read for a batch of log rows:
// users, courses, course modules, their module types and instances.
func (r *SQLRepo) PrefetchEvents(evs []Row) error {
	var users, courses, cms []int64
	for _, ev := range evs {
		users = append(users, ev.Int("userid"), ev.Int("relateduserid"))
		courses = append(courses, ev.Int("courseid"))
		if ev.Int("contextlevel") == 70 {
			cms = append(cms, ev.Int("contextinstanceid"))
		}
	}
	courses = append(courses, 1) // the site
	if err := r.Preload("user", users); err != nil {
		return err
	}
	if err := r.Preload("course", courses); err != nil {
		return err
	}
	if err := r.Preload("course_modules", cms); err != nil {
		return err
	}
	// modules is small: read it whole once.
	mods, err := r.ReadRecords("modules", nil, "")
	if err != nil {
		return err
	}
	names := map[int64]string{}
	for _, m := range mods {
		names[m.Int("id")] = m.Str("name")
		r.cache.Add(cacheKey("modules", map[string]any{"id": m.Int("id")}, ""), []Row{m})
	}
	instances := map[string][]int64{}
	var sections []int64
	for _, id := range cms {
		rows, _ := r.cache.Peek(cacheKey("course_modules", map[string]any{"id": id}, ""))
		for _, cm := range rows {
			if n := names[cm.Int("module")]; n != "" && identRE.MatchString(n) {
				instances[n] = append(instances[n], cm.Int("instance"))
			}
			sections = append(sections, cm.Int("section"))
		}
	}
	for n, ids := range instances {
		if err := r.Preload(n, ids); err != nil {
			return err
		}
	}
	return r.Preload("course_sections", sections)
}
