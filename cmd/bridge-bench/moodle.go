package main

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/xapibridge/bridge/internal/moodletest"
)

// moodleDB is a synthetic Moodle site on MariaDB, shared by the SQLite and
// MariaDB runs (the bridge only reads it).
type moodleDB struct {
	dsn  string
	rows int
}

// Site layout added on top of moodletest.Site's fixed records (course 2,
// page 4 / module 21, users 1..11, log rows 1..10 with its edge cases).
const (
	mUsers      = 5000 // ids 12..5011
	mCourses    = 100  // ids 3..102
	mPagesPerC  = 20   // page ids / course_module ids from 1000
	mFirstCM    = 1000
	mFirstPage  = 1000
	mFirstUser  = 12
	mFirstCrs   = 3
	mSectionsPC = 5
)

func buildMoodle(ctx context.Context, o *options) (*moodleDB, error) {
	dsn, _, err := createMySQL(o, randName("bridge_bench_moodle_"))
	if err != nil {
		return nil, err
	}
	cfg, _ := mysql.ParseDSN(dsn)
	c, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, err
	}
	db := sql.OpenDB(c)
	defer db.Close()
	start := time.Now()
	logf("moodle: building a site with %d log rows (%d users, %d courses, %d pages)", o.moodleRows, mUsers+10, mCourses+1, mCourses*mPagesPerC+1)
	// moodletest.Site: the schema, the fixed records and rows 1..10.
	if err := moodletest.Site(db, 10, false); err != nil {
		return nil, err
	}
	// More users, courses, sections, pages and course modules.
	var b strings.Builder
	exec := func() error {
		if b.Len() == 0 {
			return nil
		}
		_, err := db.ExecContext(ctx, b.String())
		b.Reset()
		return err
	}
	b.WriteString("INSERT INTO mdl_user (id, username, firstname, lastname, email) VALUES ")
	for u := 0; u < mUsers; u++ {
		if u > 0 {
			b.WriteByte(',')
		}
		id := mFirstUser + u
		fmt.Fprintf(&b, "(%d, 'learner%d', 'Learner', 'N%d', 'learner%d@example.org')", id, id, id, id)
	}
	if err := exec(); err != nil {
		return nil, err
	}
	b.WriteString("INSERT INTO mdl_course (id, category, fullname, shortname, lang) VALUES ")
	for i := 0; i < mCourses; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "(%d, %d, 'Volunteer programme %d', 'VP%d', 'en')", mFirstCrs+i, 3+i%5, i+1, i+1)
	}
	if err := exec(); err != nil {
		return nil, err
	}
	b.WriteString("INSERT INTO mdl_course_sections (id, course, section) VALUES ")
	for i := 0; i < mCourses*mSectionsPC; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "(%d, %d, %d)", 100+i, mFirstCrs+i/mSectionsPC, i%mSectionsPC+1)
	}
	if err := exec(); err != nil {
		return nil, err
	}
	b.WriteString("INSERT INTO mdl_page (id, course, name) VALUES ")
	for i := 0; i < mCourses*mPagesPerC; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "(%d, %d, 'Reading %d: safeguarding in practice')", mFirstPage+i, mFirstCrs+i/mPagesPerC, i%mPagesPerC+1)
	}
	if err := exec(); err != nil {
		return nil, err
	}
	b.WriteString("INSERT INTO mdl_course_modules (id, course, module, instance, section) VALUES ")
	for i := 0; i < mCourses*mPagesPerC; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		c := i / mPagesPerC
		fmt.Fprintf(&b, "(%d, %d, 15, %d, %d)", mFirstCM+i, mFirstCrs+c, mFirstPage+i, 100+c*mSectionsPC+(i%mPagesPerC)/(mPagesPerC/mSectionsPC))
	}
	if err := exec(); err != nil {
		return nil, err
	}
	// Log rows 11..n in parallel chunks.
	const chunkRows = 2000
	type job struct{ first, last int }
	jobs := make(chan job)
	errc := make(chan error, 2)
	var wg sync.WaitGroup
	for w := 0; w < 2; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				if err := appendMoodleLog(ctx, db, j.first, j.last); err != nil {
					select {
					case errc <- err:
					default:
					}
				}
			}
		}()
	}
	for first := 11; first <= o.moodleRows; first += chunkRows {
		select {
		case err := <-errc:
			close(jobs)
			wg.Wait()
			return nil, err
		case jobs <- job{first, min(first+chunkRows-1, o.moodleRows)}:
		}
	}
	close(jobs)
	wg.Wait()
	select {
	case err := <-errc:
		return nil, err
	default:
	}
	logf("moodle: site built in %s", time.Since(start).Round(time.Second))
	return &moodleDB{dsn: dsn, rows: o.moodleRows}, nil
}

// appendMoodleLog writes log rows first..last: 60% page views, 30% course
// views, 10% log-ins, by 5,000 learners each in 3 of 100 courses, one row a
// second or so.
func appendMoodleLog(ctx context.Context, db *sql.DB, first, last int) error {
	r := rand.New(rand.NewSource(int64(first)))
	var b strings.Builder
	b.WriteString("INSERT INTO mdl_logstore_standard_log (id, eventname, component, action, target, objecttable, objectid, crud, edulevel, contextlevel, contextinstanceid, userid, courseid, relateduserid, anonymous, other, timecreated, origin, ip) VALUES ")
	for i := first; i <= last; i++ {
		if i > first {
			b.WriteByte(',')
		}
		l := r.Intn(mUsers)
		user := mFirstUser + l
		c := learnerCourse(l, r.Intn(coursesPerLearner))
		course := mFirstCrs + c
		x := r.Intn(10)
		switch {
		case x < 6:
			pg := c*mPagesPerC + r.Intn(mPagesPerC)
			fmt.Fprintf(&b, `(%d, '\\mod_page\\event\\course_module_viewed', 'mod_page', 'viewed', 'course_module', 'page', %d, 'r', 2, 70, %d, %d, %d, NULL, 0, 'a:0:{}', %d, 'web', '10.0.0.1')`,
				i, mFirstPage+pg, mFirstCM+pg, user, course, 1700000000+i)
		case x < 9:
			fmt.Fprintf(&b, `(%d, '\\core\\event\\course_viewed', 'core', 'viewed', 'course', NULL, NULL, 'r', 2, 50, %d, %d, %d, NULL, 0, 'N;', %d, 'web', '10.0.0.1')`,
				i, course, user, course, 1700000000+i)
		default:
			fmt.Fprintf(&b, `(%d, '\\core\\event\\user_loggedin', 'core', 'loggedin', 'user', 'user', %d, 'r', 0, 10, 0, %d, 0, NULL, 0, '{"username":"learner%d"}', %d, 'web', '10.0.0.1')`,
				i, user, user, user, 1700000000+i)
		}
	}
	_, err := db.ExecContext(ctx, b.String())
	return err
}

func runMoodle(ctx context.Context, o *options, driver string, m *moodleDB, report func(...row)) error {
	t, err := newTarget(o, driver, "moodle")
	if err != nil {
		return err
	}
	defer t.drop()
	cfg, dir, err := writeConfig(o, t, fmt.Sprintf("moodle:\n  sources:\n    - name: site\n      dsn: %q\n      wwwroot: %s\n      batch_size: 1000\n", m.dsn, site))
	if err != nil {
		return err
	}
	// Migrate first so that the timed run is the sync alone.
	if err := migrate(o, cfg, dir); err != nil {
		return err
	}
	raw, err := openRaw(t)
	if err != nil {
		return err
	}
	defer raw.Close()
	cursor := func() int64 {
		var n int64
		raw.QueryRowContext(ctx, "SELECT position FROM sync_cursors WHERE source = 'site'").Scan(&n)
		return n
	}
	logf("moodle on %s: bridge moodle sync --once over %d log rows", driver, m.rows)
	cmd := exec.CommandContext(ctx, o.bridge, "moodle", "sync", "--once", "--config", cfg)
	cmd.Dir = dir
	cmd.Env = cleanEnv()
	var out bytes.Buffer
	cmd.Stdout = &out
	errf, _ := os.Create(filepath.Join(dir, "stderr.log"))
	defer errf.Close()
	cmd.Stderr = errf
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	type sample struct {
		t time.Duration
		c int64
	}
	var samples []sample
	var hwm int64
	tk := time.NewTicker(time.Second)
	defer tk.Stop()
	var werr error
	capped := false
	timeout := time.After(o.moodleCap)
loop:
	for {
		select {
		case werr = <-done:
			break loop
		case <-timeout:
			// Stop after the batch being stored (the cursor commits with it).
			logf("  time cap %s reached: stopping the sync (SIGTERM)", o.moodleCap)
			capped = true
			hwm = max(hwm, peakRSS(cmd.Process.Pid))
			cmd.Process.Signal(syscall.SIGTERM)
		case <-tk.C:
			samples = append(samples, sample{time.Since(start), cursor()})
			hwm = max(hwm, peakRSS(cmd.Process.Pid))
			if len(samples)%30 == 0 {
				s := samples[len(samples)-1]
				logf("  cursor %d of %d after %s, RSS peak %d MB", s.c, m.rows, s.t.Round(time.Second), hwm/1024)
			}
		}
	}
	el := time.Since(start)
	if werr != nil && !capped {
		return fmt.Errorf("bridge moodle sync: %v: %s %s", werr, out.String(), tailFile(errf.Name()))
	}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		hwm = max(hwm, ru.Maxrss)
	}
	final := cursor()
	if final != int64(m.rows) && !capped {
		return fmt.Errorf("cursor %d after sync, want %d: %s", final, m.rows, out.String())
	}
	var stored int64
	raw.QueryRowContext(ctx, "SELECT COUNT(*) FROM statements").Scan(&stored)
	r := rate(int(final), el)
	// Steady rate: cursor between 10% and 90% of the rows.
	steady := ""
	var a, z *sample
	for i := range samples {
		if a == nil && samples[i].c >= int64(m.rows)/10 {
			a = &samples[i]
		}
		if samples[i].c <= int64(m.rows)*9/10 {
			z = &samples[i]
		}
	}
	if a != nil && z != nil && z.t > a.t {
		steady = fmt.Sprintf("; steady %s", fmtRate(float64(z.c-a.c)/(z.t-a.t).Seconds()))
	}
	if capped {
		steady += fmt.Sprintf("; stopped by the %s time cap at row %s of %s", o.moodleCap, thousands(final), thousands(int64(m.rows)))
	}
	logf("  %d rows in %s = %s rows (%d statements)%s, peak RSS %d MB: %s", final, el.Round(time.Millisecond), fmtRate(r), stored, steady, hwm/1024, strings.TrimSpace(out.String()))
	report(row{scenario: fmt.Sprintf("moodle sync --once, %s log rows (MariaDB Moodle, batch 1000)", thousands(int64(m.rows))), db: driver,
		figure: fmt.Sprintf("%s log rows (%s statements stored%s)", fmtRate(r), thousands(stored), steady),
		target: ">= 10,000/s", met: metWithRSS(r >= 10000, hwm), rssKB: hwm})
	return nil
}
