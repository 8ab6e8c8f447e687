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
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var bridgeBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "bridge-it-")
	if err != nil {
		panic(err)
	}
	bridgeBin = filepath.Join(dir, "bridge")
	build := exec.Command("go", "build", "-o", bridgeBin, "../cmd/bridge")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building bridge:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// touchSources stats every source file of the module. go test caches a
// package's result keyed on the files its test consulted; without this, a
// change to the bridge's code (which these tests build and run as a separate
// binary) would not invalidate the cached result.
// It must run inside a test (testing logs file access only during m.Run).
var touchOnce sync.Once

func touchSources() { touchOnce.Do(walkSources) }

func walkSources() {
	filepath.WalkDir("..", func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") && path != ".." || d.Name() == "node_modules" || d.Name() == "bridge-data") {
			return filepath.SkipDir
		}
		if !d.IsDir() && (strings.HasSuffix(path, ".go") || strings.HasSuffix(path, ".sql") || strings.HasSuffix(path, "go.mod") || strings.HasSuffix(path, "go.sum")) {
			os.Stat(path)
		}
		return nil
	})
}

// proc is a running bridge.
type proc struct {
	t        *testing.T
	cmd      *exec.Cmd
	endpoint string // http://127.0.0.1:PORT/xapi
	base     string
	mu       sync.Mutex
	stdout   bytes.Buffer
	stderr   bytes.Buffer
	done     chan struct{}
}

var endpointRE = regexp.MustCompile(`xAPI endpoint: (http://\S+)`)

// startBridge runs `bridge args...` in dir with env added, and waits until
// it prints its endpoint.
func startBridge(t *testing.T, dir string, env []string, args ...string) *proc {
	t.Helper()
	touchSources()
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
	t.Cleanup(func() { p.kill() })
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

func (p *proc) kill() {
	select {
	case <-p.done:
	default:
		p.cmd.Process.Kill()
		<-p.done
	}
}

// stop sends SIGTERM and waits for a clean exit.
func (p *proc) stop() {
	p.t.Helper()
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		p.t.Fatal("bridge did not stop within 30s of SIGTERM")
	}
	if code := p.cmd.ProcessState.ExitCode(); code != 0 {
		p.t.Fatalf("bridge exited with %d after SIGTERM:\n%s", code, p.Stderr())
	}
}

// cleanEnv is the test's environment without BRIDGE_* variables, which
// would otherwise leak a developer's settings into the bridge under test.
func cleanEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "BRIDGE_") {
			out = append(out, kv)
		}
	}
	return out
}

// runBridge runs a short command and returns its combined output and exit code.
func runBridge(t *testing.T, dir string, env []string, args ...string) (string, int) {
	t.Helper()
	touchSources()
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
