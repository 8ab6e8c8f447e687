package app

import (
	"net/http"
	"testing"
	"time"
)

// TestHTTPServerTimeouts: the http.Server bounds headers and idle
// connections by default, and sets no ReadTimeout or WriteTimeout: those
// would cut long exports and big pages (body reads have their own
// deadline, httpapi.Server.BodyReadTimeout).
func TestHTTPServerTimeouts(t *testing.T) {
	s := newHTTPServer(http.NotFoundHandler(), Limits{})
	if s.ReadHeaderTimeout != 10*time.Second || s.IdleTimeout != 30*time.Second {
		t.Errorf("defaults: ReadHeaderTimeout %s IdleTimeout %s, want 10s and 30s", s.ReadHeaderTimeout, s.IdleTimeout)
	}
	if s.ReadTimeout != 0 || s.WriteTimeout != 0 {
		t.Errorf("ReadTimeout %s WriteTimeout %s, want none", s.ReadTimeout, s.WriteTimeout)
	}
	s = newHTTPServer(http.NotFoundHandler(), Limits{ReadHeaderTimeout: time.Second, IdleTimeout: 2 * time.Second})
	if s.ReadHeaderTimeout != time.Second || s.IdleTimeout != 2*time.Second {
		t.Errorf("set: ReadHeaderTimeout %s IdleTimeout %s, want 1s and 2s", s.ReadHeaderTimeout, s.IdleTimeout)
	}
}

// Request headers are bounded at 64 KiB, not Go's 1 MiB, and the config
// can change it (review of issue 15 #1).
func TestMaxHeaderBytes(t *testing.T) {
	if s := newHTTPServer(http.NotFoundHandler(), Limits{}); s.MaxHeaderBytes != 64<<10 {
		t.Errorf("default MaxHeaderBytes %d, want 65536", s.MaxHeaderBytes)
	}
	if s := newHTTPServer(http.NotFoundHandler(), Limits{MaxHeaderBytes: 8192}); s.MaxHeaderBytes != 8192 {
		t.Errorf("MaxHeaderBytes %d, want 8192", s.MaxHeaderBytes)
	}
}
