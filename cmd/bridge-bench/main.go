// Command bridge-bench measures the bridge end to end (GitHub issue 7): it
// runs the `bridge` binary as a subprocess per scenario, on a fresh SQLite
// file or a fresh MariaDB/MySQL database, drives it over HTTP with concurrent
// clients, samples the subprocess's peak RSS, and prints a markdown table.
//
//	go run ./cmd/bridge-bench --quick                      # smoke run, a few minutes
//	go run ./cmd/bridge-bench --db mysql,sqlite            # full run (1M statements, 1M log rows)
//
// Scenarios:
//   - ingest: POST /statements in batches of 1, 10 and 100 with several
//     clients; baseline: raw multi-row INSERTs of the same payloads into the
//     bridge's own statements + statement_index tables (created by `bridge
//     migrate`), through the same driver, without HTTP or validation.
//   - query: load a store (default 1M statements) through the bridge, then
//     p50/p95/p99 of GET /statements per filter and a 20-page `more` walk.
//   - moodle: `bridge moodle sync --once` over a synthetic Moodle database.
//   - forward: statements delivered per second to a local xAPI receiver, and
//     the store-to-delivery delay.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"
)

type options struct {
	bridge      string
	dbs         []string
	scenarios   []string
	statements  int
	moodleRows  int
	quick       bool
	mysqlServer string
	clients     int
	ingestFor   time.Duration
	forwardN    int
	moodleCap   time.Duration
	queryN      int
	walks       int
	tmp         string
	bufferPool  string
}

func main() {
	var o options
	var dbs, scen string
	flag.StringVar(&o.bridge, "bridge", "", "bridge binary (default: go build ./cmd/bridge into a temporary folder)")
	flag.StringVar(&dbs, "db", "sqlite,mysql", "databases: sqlite, mysql")
	flag.StringVar(&scen, "scenarios", "ingest,query,moodle,forward", "scenarios: ingest, query, moodle, forward")
	flag.IntVar(&o.statements, "statements", 1_000_000, "statements in the query store")
	flag.IntVar(&o.moodleRows, "moodle-rows", 1_000_000, "log rows in the Moodle database")
	flag.BoolVar(&o.quick, "quick", false, "small sizes for a smoke run (20k statements, 50k log rows, short ingest runs)")
	flag.StringVar(&o.mysqlServer, "mysql", "root@tcp(127.0.0.1:3306)/", "MariaDB/MySQL server (go-sql-driver DSN without database name)")
	flag.IntVar(&o.clients, "clients", 8, "concurrent HTTP clients (and raw-insert workers)")
	flag.DurationVar(&o.ingestFor, "ingest-duration", 20*time.Second, "duration of each ingest measurement")
	flag.IntVar(&o.forwardN, "forward-statements", 100_000, "statements POSTed in the forwarding scenario")
	flag.DurationVar(&o.moodleCap, "moodle-timeout", 6*time.Minute, "stop the Moodle sync (SIGTERM, it resumes from its cursor) after this long and report the rate so far")
	flag.IntVar(&o.queryN, "query-requests", 200, "sequential requests per query filter")
	flag.IntVar(&o.walks, "walks", 20, "20-page `more` walks")
	flag.StringVar(&o.bufferPool, "mysql-buffer-pool", "", "resize InnoDB's buffer pool for the run, e.g. 2G (restored at the end; default: leave the server as it is)")
	flag.Parse()
	set := map[string]bool{}
	flag.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if o.quick {
		if !set["statements"] {
			o.statements = 20_000
		}
		if !set["moodle-rows"] {
			o.moodleRows = 50_000
		}
		if !set["ingest-duration"] {
			o.ingestFor = 4 * time.Second
		}
		if !set["forward-statements"] {
			o.forwardN = 10_000
		}
		if !set["walks"] {
			o.walks = 10
		}
	}
	o.dbs = splitList(dbs)
	o.scenarios = splitList(scen)
	for _, d := range o.dbs {
		if d != "sqlite" && d != "mysql" {
			fatalf("--db: unknown database %q (want sqlite, mysql)", d)
		}
	}
	for _, s := range o.scenarios {
		switch s {
		case "ingest", "query", "moodle", "forward":
		default:
			fatalf("--scenarios: unknown scenario %q", s)
		}
	}

	tmp, err := os.MkdirTemp("", "bridge-bench-")
	if err != nil {
		fatalf("%v", err)
	}
	o.tmp = tmp
	cleanupsMu.Lock()
	cleanups = append(cleanups, func() { os.RemoveAll(tmp) })
	cleanupsMu.Unlock()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop()
		if ctx.Err() != nil {
			logf("interrupted: cleaning up")
			runCleanups()
			os.Exit(130)
		}
	}()

	if o.bridge == "" {
		o.bridge = filepath.Join(tmp, "bridge")
		logf("building %s", o.bridge)
		b := exec.Command("go", "build", "-o", o.bridge, "./cmd/bridge")
		b.Stdout, b.Stderr = os.Stderr, os.Stderr
		if err := b.Run(); err != nil {
			runCleanups()
			fatalf("go build ./cmd/bridge (run bridge-bench from the repository root, or pass --bridge): %v", err)
		}
	}

	if o.bufferPool != "" && strings.Contains(dbs, "mysql") {
		size, err := parseSize(o.bufferPool)
		if err != nil {
			runCleanups()
			fatalf("%v", err)
		}
		restore, err := setBufferPool(ctx, o.mysqlServer, size)
		if err != nil {
			runCleanups()
			fatalf("%v", err)
		}
		cleanupsMu.Lock()
		cleanups = append(cleanups, restore)
		cleanupsMu.Unlock()
	}
	server := ""
	if strings.Contains(dbs, "mysql") {
		server = mysqlSettings(ctx, o.mysqlServer)
	}

	start := time.Now()
	var rows []row
	report := func(r ...row) {
		rows = append(rows, r...)
		for _, x := range r {
			logf("RESULT %s | %s | %s | %s | %s | %s | %s", x.scenario, x.db, x.figure, x.baseline, x.ratio, x.target, x.met)
		}
	}
	var mdb *moodleDB
	for _, d := range o.dbs {
		for _, s := range o.scenarios {
			if ctx.Err() != nil {
				break
			}
			var err error
			switch s {
			case "ingest":
				err = runIngest(ctx, &o, d, report)
			case "query":
				err = runQuery(ctx, &o, d, report)
			case "moodle":
				if mdb == nil {
					mdb, err = buildMoodle(ctx, &o)
				}
				if err == nil {
					err = runMoodle(ctx, &o, d, mdb, report)
				}
			case "forward":
				err = runForward(ctx, &o, d, report)
			}
			if err != nil {
				logf("%s on %s FAILED: %v", s, d, err)
				report(row{scenario: s, db: d, figure: "FAILED: " + oneLine(err.Error())})
			}
		}
	}
	runCleanups()

	fmt.Printf("## bridge-bench results\n\n")
	fmt.Printf("`%s` — %s, %d CPUs, %s; total %s\n\n", strings.Join(os.Args, " "), time.Now().Format("2006-01-02 15:04 MST"),
		runtime.NumCPU(), runtime.Version(), time.Since(start).Round(time.Second))
	if server != "" {
		fmt.Printf("Server: %s.\n\n", server)
	}
	printTable(os.Stdout, rows)
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func oneLine(s string) string {
	s = strings.ReplaceAll(s, "\n", " ")
	s = strings.ReplaceAll(s, "|", "/")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

var cleanups []func()

func runCleanups() {
	cleanupsMu.Lock()
	defer cleanupsMu.Unlock()
	for i := len(cleanups) - 1; i >= 0; i-- {
		cleanups[i]()
	}
	cleanups = nil
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, time.Now().Format("15:04:05 ")+format+"\n", args...)
}

func fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bridge-bench: "+format+"\n", args...)
	os.Exit(1)
}
