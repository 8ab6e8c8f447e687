package app_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/xapibridge/bridge/config"
	"github.com/xapibridge/bridge/internal/app"
)

// startWith is start (app_test.go) with options.
func startWith(t *testing.T, cfg *config.Config, opts app.Options) *app.App {
	t.Helper()
	opts.Stdout, opts.Stderr, opts.Version = io.Discard, io.Discard, "test"
	a, err := app.New(context.Background(), cfg, opts)
	if err != nil {
		t.Fatalf("app.New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
		a.Close()
	})
	return a
}

const limitsCreds = "credentials:\n  - key: lim\n    secret: limits-secret-0123456789\n"

// TestIdleConnectionsClosed: a keep-alive connection left idle is closed
// after Limits.IdleTimeout.
func TestIdleConnectionsClosed(t *testing.T) {
	cfg := loadConfig(t, t.TempDir(), limitsCreds)
	a := startWith(t, cfg, app.Options{Limits: app.Limits{IdleTimeout: 200 * time.Millisecond}})
	conn, err := net.Dial("tcp", a.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	br := bufio.NewReader(conn)
	fmt.Fprintf(conn, "GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
	res, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	io.ReadAll(res.Body)
	if res.StatusCode != 200 || res.Close {
		t.Fatalf("status %d close %v, want 200 on a kept-alive connection", res.StatusCode, res.Close)
	}
	start := time.Now()
	conn.SetReadDeadline(time.Now().Add(3 * time.Second))
	_, err = br.ReadByte()
	if err != io.EOF {
		t.Fatalf("idle connection: read %v after %s, want EOF: the bridge closes it", err, time.Since(start).Round(time.Millisecond))
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("closed after %s, want about 200ms", took)
	}
}

// TestLimitsReachTheHandler: the httpapi limits in Options reach the
// server that answers.
func TestLimitsReachTheHandler(t *testing.T) {
	cfg := loadConfig(t, t.TempDir(), limitsCreds)
	a := startWith(t, cfg, app.Options{Limits: app.Limits{BodyReadTimeout: 300 * time.Millisecond, MaxStatements: 2, MetricsToken: "metrics-tok"}})
	base := "http://" + a.Addr()

	post := func(body string) (int, string) {
		req, _ := http.NewRequest("POST", base+"/xapi/statements", strings.NewReader(body))
		req.Header.Set("X-Experience-API-Version", "2.0.0")
		req.Header.Set("Content-Type", "application/json")
		req.SetBasicAuth("lim", "limits-secret-0123456789")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	st := `{"actor":{"mbox":"mailto:a@example.org"},"verb":{"id":"http://example.org/v"},"object":{"id":"http://example.org/a"}}`
	if code, body := post("[" + st + "," + st + "]"); code != 200 {
		t.Errorf("2 statements: %d %s", code, body)
	}
	if code, body := post("[" + st + "," + st + "," + st + "]"); code != 413 || !strings.Contains(body, "at most 2 statements") {
		t.Errorf("3 statements with MaxStatements 2: %d %s, want 413", code, body)
	}

	for _, tc := range []struct {
		auth   string
		status int
	}{{"", 401}, {"Bearer metrics-tok", 200}} {
		req, _ := http.NewRequest("GET", base+"/metrics", nil)
		if tc.auth != "" {
			req.Header.Set("Authorization", tc.auth)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != tc.status {
			t.Errorf("/metrics with %q: %d, want %d", tc.auth, res.StatusCode, tc.status)
		}
	}

	conn, err := net.Dial("tcp", a.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /xapi/statements HTTP/1.1\r\nHost: x\r\nX-Experience-API-Version: 2.0.0\r\nAuthorization: Basic bGltOmxpbWl0cy1zZWNyZXQtMDEyMzQ1Njc4OQ==\r\n"+
		"Content-Type: application/json\r\nContent-Length: 500\r\n\r\n[")
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("a stalled body got no answer in 5s: %v", err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusRequestTimeout {
		t.Errorf("a stalled body: %d, want 408", res.StatusCode)
	}
}
