package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/go-sql-driver/mysql"
	_ "modernc.org/sqlite"
)

const (
	benchKey    = "bench"
	benchSecret = "bench-secret-0123456789abcdef"
)

// target is a fresh bridge database: an SQLite file or a MariaDB database
// this program created (and drops in drop).
type target struct {
	driver string // sqlite or mysql
	dsn    string // file path or go-sql-driver DSN
	drop   func()
}

func randName(prefix string) string {
	b := make([]byte, 5)
	rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// newTarget makes an empty database for one bridge.
func newTarget(o *options, driver, label string) (*target, error) {
	if driver == "sqlite" {
		dir := filepath.Join(o.tmp, randName(label+"-"))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
		return &target{driver: driver, dsn: filepath.Join(dir, "bridge.db"), drop: func() { os.RemoveAll(dir) }}, nil
	}
	dsn, drop, err := createMySQL(o, randName("bridge_bench_"))
	if err != nil {
		return nil, err
	}
	return &target{driver: driver, dsn: dsn, drop: drop}, nil
}

func createMySQL(o *options, name string) (string, func(), error) {
	cfg, err := mysql.ParseDSN(o.mysqlServer)
	if err != nil {
		return "", nil, fmt.Errorf("--mysql: %w", err)
	}
	cfg.DBName = ""
	c, err := mysql.NewConnector(cfg)
	if err != nil {
		return "", nil, err
	}
	admin := sql.OpenDB(c)
	if _, err := admin.Exec("CREATE DATABASE `" + name + "` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"); err != nil {
		admin.Close()
		return "", nil, fmt.Errorf("creating database %s on %s: %w", name, cfg.Addr, err)
	}
	var once sync.Once
	drop := func() {
		once.Do(func() {
			admin.Exec("DROP DATABASE IF EXISTS `" + name + "`")
			admin.Close()
		})
	}
	cleanupsMu.Lock()
	cleanups = append(cleanups, drop)
	cleanupsMu.Unlock()
	cfg.DBName = name
	return cfg.FormatDSN(), drop, nil
}

var cleanupsMu sync.Mutex

// openRaw opens the database directly with the driver and settings the
// bridge uses (lrs/store.Open): SQLite in WAL with one writer connection,
// MySQL with interpolated parameters.
func openRaw(t *target) (*sql.DB, error) {
	if t.driver == "sqlite" {
		u := "file:" + t.dsn + "?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)" +
			"&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(1)&_txlock=immediate"
		db, err := sql.Open("sqlite", u)
		if err != nil {
			return nil, err
		}
		db.SetMaxOpenConns(1)
		return db, nil
	}
	cfg, err := mysql.ParseDSN(t.dsn)
	if err != nil {
		return nil, err
	}
	cfg.InterpolateParams = true
	c, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, err
	}
	db := sql.OpenDB(c)
	db.SetMaxOpenConns(16)
	db.SetMaxIdleConns(16)
	return db, nil
}

// config writes a bridge config for t with extra YAML appended.
func writeConfig(o *options, t *target, extra string) (string, string, error) {
	dir, err := os.MkdirTemp(o.tmp, "run-")
	if err != nil {
		return "", "", err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "listen: 127.0.0.1:0\ndata_dir: %q\nlog:\n  level: warn\n", filepath.Join(dir, "data"))
	fmt.Fprintf(&b, "database:\n  driver: %s\n  dsn: %q\n  auto_migrate: true\n", t.driver, t.dsn)
	fmt.Fprintf(&b, "credentials:\n  - key: %s\n    secret: %s\n    scopes: [all]\n", benchKey, benchSecret)
	b.WriteString(extra)
	path := filepath.Join(dir, "bridge.yaml")
	return path, dir, os.WriteFile(path, []byte(b.String()), 0o600)
}

// bridgeProc is a running `bridge serve`.
type bridgeProc struct {
	cmd      *exec.Cmd
	endpoint string // http://127.0.0.1:PORT/xapi
	stderr   *os.File
	done     chan struct{}
	client   *http.Client
}

var endpointRE = regexp.MustCompile(`xAPI endpoint: (http://\S+)`)

func cleanEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "BRIDGE_") {
			out = append(out, kv)
		}
	}
	return out
}

// startBridge runs `bridge serve --config cfg` and waits for its endpoint.
func startBridge(o *options, cfg, dir string) (*bridgeProc, error) {
	errf, err := os.Create(filepath.Join(dir, "stderr.log"))
	if err != nil {
		return nil, err
	}
	p := &bridgeProc{stderr: errf, done: make(chan struct{})}
	p.cmd = exec.Command(o.bridge, "serve", "--config", cfg)
	p.cmd.Dir = dir
	p.cmd.Env = cleanEnv()
	p.cmd.Stderr = errf
	outR, outW := io.Pipe()
	p.cmd.Stdout = outW
	if err := p.cmd.Start(); err != nil {
		return nil, err
	}
	var stdout bytes.Buffer
	var mu sync.Mutex
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(outR)
		for sc.Scan() {
			mu.Lock()
			stdout.WriteString(sc.Text() + "\n")
			mu.Unlock()
			if m := endpointRE.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case found <- m[1]:
				default:
				}
			}
		}
		io.Copy(io.Discard, outR)
	}()
	go func() {
		p.cmd.Wait()
		outW.Close()
		close(p.done)
	}()
	cleanupsMu.Lock()
	cleanups = append(cleanups, p.kill)
	cleanupsMu.Unlock()
	select {
	case ep := <-found:
		p.endpoint = ep
	case <-p.done:
		return nil, fmt.Errorf("bridge exited before serving: %s", tailFile(errf.Name()))
	case <-time.After(60 * time.Second):
		p.kill()
		return nil, fmt.Errorf("bridge did not start in 60s: %s", tailFile(errf.Name()))
	}
	p.client = &http.Client{Transport: &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		MaxIdleConns:        256,
		MaxIdleConnsPerHost: 256,
		IdleConnTimeout:     90 * time.Second,
	}, Timeout: 120 * time.Second}
	return p, nil
}

func tailFile(path string) string {
	b, _ := os.ReadFile(path)
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}

func (p *bridgeProc) kill() {
	select {
	case <-p.done:
	default:
		p.cmd.Process.Kill()
		<-p.done
	}
}

// stop sends SIGTERM and waits; it returns the peak RSS (VmHWM) read just
// before.
func (p *bridgeProc) stop() int64 {
	hwm := peakRSS(p.cmd.Process.Pid)
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(60 * time.Second):
		p.kill()
	}
	if ru, ok := p.cmd.ProcessState.SysUsage().(*syscall.Rusage); ok && ru.Maxrss > hwm {
		hwm = ru.Maxrss
	}
	p.client.CloseIdleConnections()
	return hwm
}

// peakRSS reads VmHWM (kB) of a process.
func peakRSS(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmHWM:") {
			f := strings.Fields(l)
			if len(f) >= 2 {
				n, _ := strconv.ParseInt(f[1], 10, 64)
				return n
			}
		}
	}
	return 0
}

// resetPeakRSS resets VmHWM to the current RSS (Linux: clear_refs 5).
func resetPeakRSS(pid int) {
	os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0)
}

// post sends body to /statements and checks the status.
func (p *bridgeProc) post(ctx context.Context, body []byte) error {
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, p.endpoint+"/statements", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Experience-API-Version", "2.0.0")
	req.SetBasicAuth(benchKey, benchSecret)
	res, err := p.client.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 {
		return fmt.Errorf("POST /statements: %d %s", res.StatusCode, truncate(b, 300))
	}
	return nil
}

// get fetches url (absolute, or relative to the bridge's host) and returns
// the body.
func (p *bridgeProc) get(ctx context.Context, url string) ([]byte, error) {
	if strings.HasPrefix(url, "/") {
		url = strings.TrimSuffix(p.endpoint, "/xapi") + url
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	req.Header.Set("X-Experience-API-Version", "2.0.0")
	req.SetBasicAuth(benchKey, benchSecret)
	res, err := p.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, err
	}
	if res.StatusCode != 200 {
		return nil, fmt.Errorf("GET %s: %d %s", url, res.StatusCode, truncate(b, 300))
	}
	return b, nil
}

func truncate(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "…"
	}
	return string(b)
}

// migrate runs `bridge migrate` on a config (creates the tables for the
// raw-insert baseline exactly as the bridge would).
func migrate(o *options, cfg, dir string) error {
	cmd := exec.Command(o.bridge, "migrate", "--config", cfg)
	cmd.Dir = dir
	cmd.Env = cleanEnv()
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("bridge migrate: %v: %s", err, out)
	}
	return nil
}
