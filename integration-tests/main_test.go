// Package integration_test runs the built bridge binary over HTTP, against
// the embedded SQLite store and a real MariaDB/MySQL.
package integration_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/xapibridge/bridge/config"
	"github.com/xapibridge/bridge/internal/app"
	"github.com/xapibridge/bridge/internal/cli"
)

// bridgeBin is this test binary: run with childEnv set, it is the bridge
// (see TestMain), so a test that needs a real process (a signal, a kill, a
// CLI command's exit code) runs the code under test without a separate
// build, and go test's cache sees every package the bridge is made of.
var bridgeBin string

// childEnv, set in a process's environment, makes this test binary run as
// the bridge; childLeaseEnv passes app.Options.LeaseExtra to `serve`. They
// are the test binary's, not the bridge's (which rejects unknown BRIDGE_*
// variables).
const (
	childEnv      = "XAPIBRIDGE_IT_AS_BRIDGE"
	childLeaseEnv = "XAPIBRIDGE_IT_LEASE_EXTRA"
)

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		os.Exit(runAsBridge(os.Args[1:]))
	}
	exe, err := os.Executable()
	if err != nil {
		panic(err)
	}
	bridgeBin = exe
	os.Exit(m.Run())
}

// runAsBridge is the bridge's main: the CLI, or, when childLeaseEnv is
// set, `serve` through the app with that lease.
func runAsBridge(args []string) int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	var err error
	if d, _ := time.ParseDuration(os.Getenv(childLeaseEnv)); d > 0 && (len(args) == 0 || args[0] == "serve") {
		err = serveApp(ctx, args, d)
	} else {
		err = cli.Execute(ctx, "", args, os.Stdout, os.Stderr)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bridge:", err)
		return 1
	}
	return 0
}

func serveApp(ctx context.Context, args []string, leaseExtra time.Duration) error {
	cfg, err := config.Load(configArg(args, os.Environ()), os.Environ())
	if err != nil {
		return err
	}
	a, err := app.New(ctx, cfg, app.Options{LeaseExtra: leaseExtra})
	if err != nil {
		return err
	}
	defer a.Close()
	return a.Run(ctx)
}

// configArg is the config file `bridge [serve] [--config FILE]` names.
func configArg(args, env []string) string {
	for i, a := range args {
		if (a == "--config" || a == "-c") && i+1 < len(args) {
			return args[i+1]
		}
		if v, ok := strings.CutPrefix(a, "--config="); ok {
			return v
		}
	}
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "BRIDGE_CONFIG="); ok {
			return v
		}
	}
	return ""
}

// proc is a running bridge: in this process (app), or a child process
// (cmd).
type proc struct {
	t        *testing.T
	cmd      *exec.Cmd
	app      *app.App
	cancel   context.CancelFunc
	runErr   error
	endpoint string // http://127.0.0.1:PORT/xapi
	base     string
	mu       sync.Mutex
	stdout   bytes.Buffer
	stderr   bytes.Buffer
	done     chan struct{}
}

// bridgeOpts say how to start a bridge.
type bridgeOpts struct {
	// process runs the bridge as a child process, for tests that signal or
	// kill it.
	process bool
	// leaseExtra shortens the dispatcher's leases (app.Options.LeaseExtra).
	leaseExtra time.Duration
}

// startBridge runs `bridge args...` (serve, with its config) in this
// process, with dir as its working directory for relative paths and env
// added to its environment, and returns once it serves.
func startBridge(t *testing.T, dir string, env []string, args ...string) *proc {
	t.Helper()
	return startBridgeWith(t, bridgeOpts{}, dir, env, args...)
}

// startProcess is startBridge in a child process.
func startProcess(t *testing.T, dir string, env []string, args ...string) *proc {
	t.Helper()
	return startBridgeWith(t, bridgeOpts{process: true}, dir, env, args...)
}

func startBridgeWith(t *testing.T, o bridgeOpts, dir string, env []string, args ...string) *proc {
	t.Helper()
	if o.process {
		if o.leaseExtra > 0 {
			env = append(env, childLeaseEnv+"="+o.leaseExtra.String())
		}
		return startChild(t, dir, env, args...)
	}
	if len(args) > 0 && args[0] != "serve" {
		t.Fatalf("startBridge runs serve, not %v", args)
	}
	environ := append(cleanEnv(), env...)
	cfg, err := config.Load(configArg(args, environ), environ)
	if err != nil {
		t.Fatalf("bridge config: %v", err)
	}
	// Relative paths are relative to the bridge's working directory, dir.
	if !filepath.IsAbs(cfg.DataDir) {
		cfg.DataDir = filepath.Join(dir, cfg.DataDir)
	}
	if cfg.Database.Driver == "sqlite" && !filepath.IsAbs(cfg.Database.DSN) {
		cfg.Database.DSN = filepath.Join(dir, cfg.Database.DSN)
	}
	p := &proc{t: t, done: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	a, err := app.New(ctx, cfg, app.Options{Stdout: &lockedWriter{&p.mu, &p.stdout}, Stderr: &lockedWriter{&p.mu, &p.stderr},
		LeaseExtra: o.leaseExtra})
	if err != nil {
		cancel()
		t.Fatalf("bridge did not start: %v\n%s", err, p.Stderr())
	}
	p.app = a
	p.endpoint = a.Endpoint()
	p.base = a.BaseURL()
	go func() {
		p.runErr = a.Run(ctx)
		a.Close()
		close(p.done)
	}()
	t.Cleanup(p.kill)
	return p
}

// startChild runs the bridge as a child process and waits until it prints
// its endpoint.
func startChild(t *testing.T, dir string, env []string, args ...string) *proc {
	t.Helper()
	p := &proc{t: t, done: make(chan struct{})}
	p.cmd = exec.Command(bridgeBin, args...)
	p.cmd.Dir = dir
	p.cmd.Env = append(cleanEnv(), env...)
	outR, outW := io.Pipe()
	p.cmd.Stdout = outW
	p.cmd.Stderr = &lockedWriter{&p.mu, &p.stderr}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(outR)
		for sc.Scan() {
			line := sc.Text()
			p.mu.Lock()
			p.stdout.WriteString(line + "\n")
			p.mu.Unlock()
			if m := endpointRE.FindStringSubmatch(line); m != nil {
				select {
				case found <- m[1]:
				default:
				}
			}
		}
	}()
	go func() {
		p.cmd.Wait()
		outW.Close()
		close(p.done)
	}()
	t.Cleanup(p.kill)
	select {
	case ep := <-found:
		p.endpoint = ep
		p.base = strings.TrimSuffix(ep, "/xapi")
	case <-p.done:
		t.Fatalf("bridge exited before serving:\nstdout:\n%s\nstderr:\n%s", p.Stdout(), p.Stderr())
	case <-time.After(30 * time.Second):
		t.Fatalf("bridge did not start in 30s:\n%s\n%s", p.Stdout(), p.Stderr())
	}
	return p
}

var endpointRE = regexp.MustCompile(`xAPI endpoint: (http://\S+)`)

type lockedWriter struct {
	mu *sync.Mutex
	b  *bytes.Buffer
}

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (p *proc) Stdout() string { p.mu.Lock(); defer p.mu.Unlock(); return p.stdout.String() }
func (p *proc) Stderr() string { p.mu.Lock(); defer p.mu.Unlock(); return p.stderr.String() }

// kill ends the bridge at once: a child with SIGKILL; in this process,
// a stop whose outcome is not checked.
func (p *proc) kill() {
	select {
	case <-p.done:
	default:
		if p.cmd != nil {
			p.cmd.Process.Kill()
		} else {
			p.cancel()
		}
		<-p.done
	}
}

// stop stops the bridge as SIGTERM does and waits for a clean exit.
func (p *proc) stop() {
	p.t.Helper()
	if p.cmd != nil {
		p.cmd.Process.Signal(syscall.SIGTERM)
	} else {
		p.cancel()
	}
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		p.t.Fatal("bridge did not stop within 30s of SIGTERM")
	}
	if p.cmd != nil {
		if code := p.cmd.ProcessState.ExitCode(); code != 0 {
			p.t.Fatalf("bridge exited with %d after SIGTERM:\n%s", code, p.Stderr())
		}
	} else if p.runErr != nil {
		p.t.Fatalf("bridge stopped with %v:\n%s", p.runErr, p.Stderr())
	}
}

// cleanEnv is the test's environment without BRIDGE_* variables, which
// would otherwise leak a developer's settings into the bridge under test,
// and with childEnv, so that bridgeBin runs as the bridge.
func cleanEnv() []string {
	out := []string{childEnv + "=1"}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "BRIDGE_") && !strings.HasPrefix(kv, childEnv+"=") && !strings.HasPrefix(kv, childLeaseEnv+"=") {
			out = append(out, kv)
		}
	}
	return out
}

// runBridge runs a short command and returns its combined output and exit code.
func runBridge(t *testing.T, dir string, env []string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(bridgeBin, args...)
	cmd.Dir = dir
	cmd.Env = append(cleanEnv(), env...)
	out, _ := cmd.CombinedOutput()
	return string(out), cmd.ProcessState.ExitCode()
}

// client speaks xAPI to a bridge.
type client struct {
	t            *testing.T
	endpoint     string
	user, secret string
	version      string
}

type response struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r *response) JSON(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decoding %s: %v", r.Body, err)
	}
}

func (c *client) do(method, path string, body any, hdr ...string) *response {
	c.t.Helper()
	r, err := c.try(method, path, body, hdr...)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	return r
}

// try is do for callers that expect the connection may fail.
func (c *client) try(method, path string, body any, hdr ...string) (*response, error) {
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, _ := json.Marshal(b)
		rd = bytes.NewReader(j)
	}
	url := path
	if !strings.HasPrefix(path, "http") {
		url = c.endpoint + path
	}
	req, _ := http.NewRequestWithContext(context.Background(), method, url, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.user != "" {
		req.SetBasicAuth(c.user, c.secret)
	}
	if c.version != "" {
		req.Header.Set("X-Experience-API-Version", c.version)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, err
	}
	return &response{Status: res.StatusCode, Header: res.Header, Body: b}, nil
}

func (c *client) expect(status int, method, path string, body any, hdr ...string) *response {
	c.t.Helper()
	r := c.do(method, path, body, hdr...)
	if r.Status != status {
		c.t.Fatalf("%s %s: status %d, want %d: %s", method, path, r.Status, status, r.Body)
	}
	return r
}
