// Package httpapi serves the xAPI resources and the operational endpoints
// over HTTP. It is the only package that imports gin.
package httpapi

import (
	"context"
	"errors"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-contrib/cors"
	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/xapibridge/bridge/lrs"
	"github.com/xapibridge/bridge/lrs/xapi"
)

// Server holds what the HTTP layer needs. Handler builds the route table
// (routes.go) from it; nothing it is given is modified.
type Server struct {
	Statements Statements
	Documents  Documents
	Auth       Authenticator
	// Ready reports whether the database is reachable (for /ready).
	Ready  func(context.Context) error
	Logger *slog.Logger
	// MaxBodyBytes limits request bodies; default 16 MiB.
	MaxBodyBytes int64
	// Registry receives the HTTP metrics; nil makes a private one.
	Registry *prometheus.Registry
	// DefaultVersion is the X-Experience-API-Version of responses to
	// requests that do not name a supported version; default 2.0.0.
	DefaultVersion xapi.Version
	// CORSOrigins are the origins browsers may call from: "*" for any,
	// "none" or empty for CORS off.
	CORSOrigins []string
	// AdminTokens authenticate the admin API; none turns it off.
	AdminTokens []string
	// Admin manages organisations, stores, credentials and persons; nil
	// turns those endpoints off.
	Admin Tenants
	// Moodle reports the Moodle sources' status; nil when none are
	// configured.
	Moodle MoodleSources
	// ArchiveDir is where POST /api/v1/retention/run archives statements;
	// empty turns that endpoint off.
	ArchiveDir string
	// Forwarding manages forwarding through the admin API; nil turns those
	// endpoints off.
	Forwarding Forwarding

	// Limits on what one client can make the bridge hold (README "Limits");
	// zero takes the default.

	// MaxFormBytesBeforeAuth bounds how much of an alternate-syntax form
	// (xAPI 1.0.3, alternate.go) is read before the request is
	// authenticated: its credentials are in the form. Past it the
	// credentials given so far (the form's Authorization field, else the
	// header) are checked and, if good, the form may go on to
	// MaxBodyBytes; with none, 413. Clients put the header fields,
	// Authorization among them, before content (tincanjs, xAPIWrapper), so
	// this need only hold those, or a small form whole. Default 64 KiB, at
	// most MaxBodyBytes.
	MaxFormBytesBeforeAuth int64
	// MaxInflightBodyBytes bounds the request body bytes that all the
	// requests in flight hold together. A request that would pass it waits
	// up to BodyBudgetWait for others to finish, then is answered 503 with
	// Retry-After. A request alone may take the whole budget and read on,
	// so a body up to MaxBodyBytes is always served. Default 128 MiB.
	MaxInflightBodyBytes int64
	// BodyBudgetWait is how long a request waits for MaxInflightBodyBytes
	// to have room; default 1s.
	BodyBudgetWait time.Duration
	// BodyReadTimeout bounds how long a request's body may take to arrive,
	// from the start of the request: past it, 408. The deadline is lifted
	// once the body is read, so long responses are not cut. Default 60s.
	BodyReadTimeout time.Duration
	// MaxStatements bounds the statements of one POST or PUT: more is a
	// 413, refused while the body is read. Default 5000.
	MaxStatements int
	// MaxResponseBytes bounds the bytes of statements (and, with
	// attachments=true, attachments) one GET /statements page assembles:
	// past it the page is cut short and its more link continues it.
	// Default 16 MiB.
	MaxResponseBytes int64
	// MetricsToken, when set, is the bearer token GET /metrics requires.
	MetricsToken string

	metrics *metrics
	budget  *byteBudget // MaxInflightBodyBytes
	// formSlots bounds the alternate-syntax forms read at once before
	// their credentials are checked (maxFormsBeforeAuth).
	formSlots chan struct{}
}

type metrics struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

// PrefixXAPI is where the xAPI resources live.
const PrefixXAPI = "/xapi"

func init() { gin.SetMode(gin.ReleaseMode) }

// Handler builds the route table. It works on a copy of s with the
// defaults filled in, so s itself is not modified and may build again.
func (srv *Server) Handler() http.Handler {
	s := new(Server)
	*s = *srv
	if s.Logger == nil {
		s.Logger = slog.Default()
	}
	s.setLimitDefaults()
	if s.Registry == nil {
		s.Registry = prometheus.NewRegistry()
		s.Registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	s.metrics = &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bridge_http_requests_total", Help: "HTTP requests by route, method and status.",
		}, []string{"route", "method", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "bridge_http_request_duration_seconds", Help: "HTTP request latency by route and method.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route", "method"}),
	}
	s.Registry.MustRegister(s.metrics.requests, s.metrics.latency, prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "bridge_http_body_bytes_in_flight", Help: "Request body bytes held by requests in flight (limit: MaxInflightBodyBytes).",
	}, func() float64 { return float64(s.budget.inUse()) }))
	return s.edge(s.alternate(s.routes()))
}

// corsConfig lets browser-based xAPI content call the LRS from the
// configured origins, with the headers xAPI uses.
func (s *Server) corsConfig() *cors.Config {
	if len(s.CORSOrigins) == 0 || s.CORSOrigins[0] == "none" {
		return nil
	}
	c := cors.Config{
		AllowMethods: []string{"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS"},
		AllowHeaders: []string{"Authorization", "Content-Type", "X-Experience-API-Version", "If-Match",
			"If-None-Match", "Accept-Language", "X-Requested-With"},
		ExposeHeaders: []string{"ETag", "Last-Modified", "X-Experience-API-Version",
			"X-Experience-API-Consistent-Through", "Content-Type", "Location"},
		MaxAge: 12 * time.Hour,
	}
	if s.CORSOrigins[0] == "*" {
		c.AllowAllOrigins = true
	} else {
		c.AllowOrigins = s.CORSOrigins
		c.AllowCredentials = true
	}
	return &c
}

// observe records metrics and logs failures. Metrics are labelled with the
// route template (or "unmatched") and a known method (or "other"), so no
// request adds series of its own. It also keeps /metrics behind
// MetricsToken when one is set.
func (s *Server) observe(c *gin.Context) {
	start := time.Now()
	if s.guardMetrics(c) {
		c.Next()
	}
	route := c.FullPath()
	if route == "" {
		route = "unmatched"
	}
	method := methodLabel(c.Request.Method)
	status := c.Writer.Status()
	d := time.Since(start)
	s.metrics.requests.WithLabelValues(route, method, strconv.Itoa(status)).Inc()
	s.metrics.latency.WithLabelValues(route, method).Observe(d.Seconds())
	if status >= 500 {
		s.Logger.Error("request failed", "method", c.Request.Method, "path", c.Request.URL.Path, "status", status,
			"duration_ms", d.Milliseconds(), "error", c.Errors.String())
	} else {
		s.Logger.Debug("request", "method", c.Request.Method, "path", c.Request.URL.Path, "status", status,
			"duration_ms", d.Milliseconds())
	}
}

func (s *Server) recoverer(c *gin.Context) {
	defer func() {
		if v := recover(); v != nil {
			if err, ok := v.(error); ok && errors.Is(err, http.ErrAbortHandler) {
				panic(v)
			}
			s.Logger.Error("panic serving request", "path", c.Request.URL.Path, "panic", v)
			s.fail(c, lrs.Errorf(lrs.EINTERNAL, "internal error"))
		}
	}()
	c.Next()
}

func (s *Server) ready(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), 3*time.Second)
	defer cancel()
	if s.Ready != nil {
		if err := s.Ready(ctx); err != nil {
			c.JSON(http.StatusServiceUnavailable, gin.H{"status": "unavailable", "message": lrs.ErrorMessage(err)})
			return
		}
	}
	c.JSON(http.StatusOK, gin.H{"status": "ready"})
}

func (s *Server) about(c *gin.Context) {
	setVersionHeader(c, s.versionOf(c))
	c.JSON(http.StatusOK, gin.H{
		"version":    []string{"1.0.3", "2.0.0"},
		"extensions": gin.H{},
	})
}

// statusOf maps error codes to HTTP statuses: the one table.
var statusOf = map[string]int{
	lrs.EINVALID:      http.StatusBadRequest,
	lrs.EUNAUTHORIZED: http.StatusUnauthorized,
	lrs.EFORBIDDEN:    http.StatusForbidden,
	lrs.ENOTFOUND:     http.StatusNotFound,
	lrs.ECONFLICT:     http.StatusConflict,
	lrs.EPRECONDITION: http.StatusPreconditionFailed,
	lrs.ETOOLARGE:     http.StatusRequestEntityTooLarge,
	lrs.EUNAVAILABLE:  http.StatusServiceUnavailable,
	lrs.EINTERNAL:     http.StatusInternalServerError,
	eTimeout:          http.StatusRequestTimeout,
}

// fail writes err as {"error": code, "message": "..."} with its status.
func (s *Server) fail(c *gin.Context, err error) {
	code := lrs.ErrorCode(err)
	status, ok := statusOf[code]
	if !ok {
		status = http.StatusInternalServerError
	}
	if status >= 500 {
		c.Error(err)
	}
	if code == lrs.EUNAUTHORIZED && c.Writer.Header().Get("WWW-Authenticate") == "" {
		c.Header("WWW-Authenticate", `Basic realm="xAPI"`) // the admin API sets its own (Bearer)
	}
	retryAfterFor(c.Writer.Header(), err)
	c.AbortWithStatusJSON(status, gin.H{"error": code, "message": lrs.ErrorMessage(err)})
}

const ctxVersion, ctxPrincipal = "xapi_version", "principal"

// version negotiates the xAPI version from X-Experience-API-Version.
func (s *Server) version(c *gin.Context) {
	if c.Request.Method == http.MethodGet || c.Request.Method == http.MethodHead {
		if strings.HasSuffix(c.Request.URL.Path, "/statements") {
			// Required on every statements GET response, errors included.
			c.Header("X-Experience-API-Consistent-Through", xapi.FormatTimestamp(s.Statements.ConsistentThrough()))
		}
	}
	v, err := xapi.ParseVersionHeader(c.GetHeader("X-Experience-API-Version"))
	if err != nil {
		setVersionHeader(c, s.defaultVersion())
		s.fail(c, lrs.Errorf(lrs.EINVALID, "%s", err.Error()))
		return
	}
	c.Set(ctxVersion, v)
	setVersionHeader(c, v)
	c.Next()
}

func (s *Server) defaultVersion() xapi.Version {
	if s.DefaultVersion != "" {
		return s.DefaultVersion
	}
	return xapi.V200
}

func (s *Server) versionOf(c *gin.Context) xapi.Version {
	if v, ok := c.Get(ctxVersion); ok {
		return v.(xapi.Version)
	}
	if v, err := xapi.ParseVersionHeader(c.GetHeader("X-Experience-API-Version")); err == nil {
		return v
	}
	return s.defaultVersion()
}

func setVersionHeader(c *gin.Context, v xapi.Version) {
	c.Header("X-Experience-API-Version", string(v))
}

// authenticate checks HTTP Basic credentials. An alternate-syntax request
// whose form was too large to read unauthenticated was authenticated
// while its form was read (alternate.go): the principal is reused when the
// credentials are the same.
func (s *Server) authenticate(c *gin.Context) {
	if pa, ok := c.Request.Context().Value(preAuthKey{}).(*preAuth); ok && pa.authorization == c.GetHeader("Authorization") {
		c.Set(ctxPrincipal, pa.principal)
		c.Next()
		return
	}
	key, secret, ok := c.Request.BasicAuth()
	if !ok {
		s.fail(c, lrs.Errorf(lrs.EUNAUTHORIZED, "authentication required: send HTTP Basic credentials (Authorization header)"))
		return
	}
	p, err := s.Auth.Authenticate(c.Request.Context(), key, secret)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.Set(ctxPrincipal, p)
	c.Next()
}

func principal(c *gin.Context) *lrs.Principal {
	return c.MustGet(ctxPrincipal).(*lrs.Principal)
}

// mediaTypeParams parses Content-Type into its lowercase media type and
// parameters.
func mediaTypeParams(c *gin.Context) (string, map[string]string) {
	mt, params, err := mime.ParseMediaType(c.GetHeader("Content-Type"))
	if err != nil {
		return mediaType(c), nil
	}
	return mt, params
}

func mediaType(c *gin.Context) string {
	ct := c.GetHeader("Content-Type")
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	return strings.ToLower(strings.TrimSpace(ct))
}
