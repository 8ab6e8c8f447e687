// Package moodletest builds Moodle databases for tests: the tables the
// adapter reads (Moodle 4.5 layout, prefix mdl_) and a synthetic site.
package moodletest

import (
	"database/sql"
	_ "embed"
	"fmt"
	"strings"
)

//go:embed moodle.sql
var Schema string

// Site loads Schema into db and a site with a course, a page and n log
// rows alternating page views and course views by users 2..11, plus edge
// cases at fixed ids: 3 a deleted user, 5 the guest, 7 an anonymous event,
// 9 an event no mapper knows. So n rows yield n-4 statements (n >= 9).
func Site(db *sql.DB, n int, postgres bool) error {
	for _, stmt := range strings.Split(stripComments(Schema), ";") {
		if strings.TrimSpace(stmt) == "" {
			continue
		}
		if _, err := db.Exec(stmt); err != nil {
			return fmt.Errorf("schema: %w", err)
		}
	}
	stmts := []string{
		"INSERT INTO mdl_course (id, category, fullname, shortname, lang) VALUES (1, 0, 'Charity Learning', 'site', 'en'), (2, 3, 'Volunteer induction', 'VI', 'en_us')",
		"INSERT INTO mdl_modules (id, name) VALUES (15, 'page')",
		"INSERT INTO mdl_course_sections (id, course, section) VALUES (7, 2, 1)",
		"INSERT INTO mdl_page (id, course, name) VALUES (4, 2, 'Safeguarding policy')",
		"INSERT INTO mdl_course_modules (id, course, module, instance, section) VALUES (21, 2, 15, 4, 7)",
		"INSERT INTO mdl_user (id, username, firstname, lastname, email) VALUES (1, 'guest', 'Guest', 'User', '')",
	}
	for u := 2; u <= 11; u++ {
		stmts = append(stmts, fmt.Sprintf("INSERT INTO mdl_user (id, username, firstname, lastname, email) VALUES (%d, 'u%d', 'Learner', '%d', 'u%d@example.org')", u, u, u, u))
	}
	for _, s := range stmts {
		if _, err := db.Exec(s); err != nil {
			return err
		}
	}
	return AppendLog(db, 1, n, postgres)
}

// lit quotes s as an SQL literal: MySQL needs backslashes doubled,
// PostgreSQL (standard conforming strings) must not have them doubled.
func lit(s string, postgres bool) string {
	if !postgres {
		s = strings.ReplaceAll(s, `\`, `\\`)
	}
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// AppendLog adds log rows from id first to last (see Site for their shape).
func AppendLog(db *sql.DB, first, last int, postgres bool) error {
	var b strings.Builder
	flush := func() error {
		if b.Len() == 0 {
			return nil
		}
		_, err := db.Exec(b.String())
		b.Reset()
		return err
	}
	for i := first; i <= last; i++ {
		if b.Len() == 0 {
			b.WriteString("INSERT INTO mdl_logstore_standard_log (id, eventname, component, action, target, contextlevel, contextinstanceid, userid, courseid, relateduserid, anonymous, other, timecreated) VALUES ")
		} else {
			b.WriteString(",")
		}
		user := 2 + i%10
		ev, level, inst, anon := `\mod_page\event\course_module_viewed`, 70, 21, 0
		if i%2 == 0 {
			ev, level, inst = `\core\event\course_viewed`, 50, 2
		}
		switch i {
		case 3:
			user = 999
		case 5:
			user = 1
		case 7:
			anon = 1
		case 9:
			ev = `\local_custom\event\something_happened`
		}
		fmt.Fprintf(&b, "(%d, %s, 'x', 'viewed', 'x', %d, %d, %d, 2, NULL, %d, 'N;', %d)", i, lit(ev, postgres), level, inst, user, anon, 1700000000+i)
		if i%2000 == 0 {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return flush()
}

func stripComments(s string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), "--") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
