package app

import (
	"net/http"
	"time"

	"github.com/xapibridge/bridge/config"
	"github.com/xapibridge/bridge/httpapi"
)

// Limits bound what clients can make the HTTP server hold, and for how
// long (security issue 15; README "Limits"). A zero field takes the default
// in brackets.
type Limits struct {
	// ReadHeaderTimeout bounds how long a request's headers may take [10s].
	ReadHeaderTimeout time.Duration
	// IdleTimeout closes keep-alive connections idle for this long [30s].
	IdleTimeout time.Duration
	// BodyReadTimeout bounds how long a request body may take to arrive
	// (httpapi.Server.BodyReadTimeout) [60s].
	BodyReadTimeout time.Duration
	// MaxFormBytesBeforeAuth (httpapi.Server) [64 KiB].
	MaxFormBytesBeforeAuth int64
	// MaxInflightBodyBytes (httpapi.Server) [128 MiB].
	MaxInflightBodyBytes int64
	// MaxStatements per POST/PUT (httpapi.Server) [5000].
	MaxStatements int
	// MaxResponseBytes per GET /statements page (httpapi.Server) [16 MiB].
	MaxResponseBytes int64
	// MetricsToken, when set, is the bearer token /metrics requires.
	MetricsToken string
	// MaxHeaderBytes bounds the request line and headers [64 KiB].
	MaxHeaderBytes int
}

const (
	defaultReadHeaderTimeout = 10 * time.Second
	defaultIdleTimeout       = 30 * time.Second
	// defaultMaxHeaderBytes bounds a request's line and headers (Go's
	// default is 1 MiB, held for ReadHeaderTimeout by any client).
	defaultMaxHeaderBytes = 64 << 10
)

// applyTo sets the limits httpapi enforces on api (zero: its defaults).
func (l Limits) applyTo(api *httpapi.Server) {
	api.BodyReadTimeout = l.BodyReadTimeout
	api.MaxFormBytesBeforeAuth = l.MaxFormBytesBeforeAuth
	api.MaxInflightBodyBytes = l.MaxInflightBodyBytes
	api.MaxStatements = l.MaxStatements
	api.MaxResponseBytes = l.MaxResponseBytes
	api.MetricsToken = l.MetricsToken
}

// newHTTPServer is the bridge's http.Server for h. It bounds headers and
// idle keep-alive connections. It sets no ReadTimeout or WriteTimeout:
// ReadTimeout cancels a request's context once passed, even after its body
// is read, and WriteTimeout cuts responses, so either would end long
// exports and big pages; request bodies have their own deadline instead
// (httpapi.Server.BodyReadTimeout).
func newHTTPServer(h http.Handler, l Limits) *http.Server {
	s := &http.Server{Handler: h, ReadHeaderTimeout: l.ReadHeaderTimeout, IdleTimeout: l.IdleTimeout, MaxHeaderBytes: l.MaxHeaderBytes}
	if s.MaxHeaderBytes <= 0 {
		s.MaxHeaderBytes = defaultMaxHeaderBytes
	}
	if s.ReadHeaderTimeout <= 0 {
		s.ReadHeaderTimeout = defaultReadHeaderTimeout
	}
	if s.IdleTimeout <= 0 {
		s.IdleTimeout = defaultIdleTimeout
	}
	return s
}

// withConfig fills the limits l leaves zero from the config.
func (l Limits) withConfig(cfg *config.Config) Limits {
	set := func(dst *int64, v int64) {
		if *dst == 0 {
			*dst = v
		}
	}
	setD := func(dst *time.Duration, v time.Duration) {
		if *dst == 0 {
			*dst = v
		}
	}
	setD(&l.ReadHeaderTimeout, cfg.HTTP.ReadHeaderTimeout.Duration)
	if l.MaxHeaderBytes == 0 {
		l.MaxHeaderBytes = cfg.HTTP.MaxHeaderBytes
	}
	setD(&l.IdleTimeout, cfg.HTTP.IdleTimeout.Duration)
	setD(&l.BodyReadTimeout, cfg.HTTP.BodyReadTimeout.Duration)
	set(&l.MaxInflightBodyBytes, cfg.HTTP.MaxInflightBodyBytes)
	set(&l.MaxFormBytesBeforeAuth, cfg.XAPI.MaxFormBytesBeforeAuth)
	set(&l.MaxResponseBytes, cfg.XAPI.MaxResponseBytes)
	if l.MaxStatements == 0 {
		l.MaxStatements = cfg.XAPI.MaxStatements
	}
	if l.MetricsToken == "" {
		l.MetricsToken = cfg.Metrics.Token
	}
	return l
}
