package httpapi

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/xapibridge/bridge/forwarders/dispatch"
	"github.com/xapibridge/bridge/lrs"
	"github.com/xapibridge/bridge/lrs/xapi"
)

// PrefixAdmin is where the admin API lives.
const PrefixAdmin = "/api/v1"

func (s *Server) adminMoodle(c *gin.Context) {
	if s.Moodle == nil {
		c.JSON(http.StatusOK, gin.H{"sources": []any{}})
		return
	}
	st, err := s.Moodle.Sources(c.Request.Context())
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"sources": st})
}

func (s *Server) forwardingOn(c *gin.Context) {
	if s.Forwarding == nil {
		s.fail(c, lrs.Errorf(lrs.ENOTFOUND, "forwarding is not configured"))
		return
	}
	c.Next()
}

func (s *Server) adminAuth(c *gin.Context) {
	if len(s.AdminTokens) == 0 {
		s.fail(c, lrs.Errorf(lrs.ENOTFOUND, "the admin API is off: set admin.tokens (BRIDGE_ADMIN_TOKENS) to turn it on"))
		return
	}
	tok, ok := strings.CutPrefix(c.GetHeader("Authorization"), "Bearer ")
	if !ok {
		c.Header("WWW-Authenticate", `Bearer realm="bridge admin"`)
		s.fail(c, lrs.Errorf(lrs.EUNAUTHORIZED, "authentication required: Authorization: Bearer <admin token>"))
		return
	}
	sum := sha256.Sum256([]byte(tok))
	match := 0
	for _, t := range s.AdminTokens {
		want := sha256.Sum256([]byte(t))
		match |= subtle.ConstantTimeCompare(sum[:], want[:])
	}
	if match != 1 {
		s.fail(c, lrs.Errorf(lrs.EUNAUTHORIZED, "invalid admin token"))
		return
	}
	c.Next()
}

func (s *Server) adminTargets(c *gin.Context) {
	st, err := s.Forwarding.Status(c.Request.Context())
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"targets": st})
}

func (s *Server) adminDead(c *gin.Context) {
	f := lrs.DeadFilter{Target: c.Query("target"), Limit: 100}
	if v := c.Query("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 10000 {
			s.fail(c, lrs.Errorf(lrs.EINVALID, "limit: must be 1..10000, not %q", v))
			return
		}
		f.Limit = n
	}
	dead, err := s.Forwarding.Dead(c.Request.Context(), f, c.Query("statements") == "true")
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"dead": dead})
}

// deadSelection is the body of replay and discard: ids, a target, or all,
// said explicitly so an empty body never touches every dead letter.
type deadSelection struct {
	IDs    []int64 `json:"ids"`
	Target string  `json:"target"`
	All    bool    `json:"all"`
}

func (s *Server) adminDeadAction(replay bool) gin.HandlerFunc {
	return func(c *gin.Context) {
		var sel deadSelection
		if err := json.NewDecoder(http.MaxBytesReader(c.Writer, c.Request.Body, 1<<20)).Decode(&sel); err != nil {
			s.fail(c, lrs.Errorf(lrs.EINVALID, "body: want {\"ids\": [...]}, {\"target\": \"name\"} or {\"all\": true}: %v", err))
			return
		}
		if len(sel.IDs) == 0 && sel.Target == "" && !sel.All {
			s.fail(c, lrs.Errorf(lrs.EINVALID, "body: say which dead letters: ids, target, or all: true"))
			return
		}
		f := lrs.DeadFilter{IDs: sel.IDs, Target: sel.Target}
		var n int64
		var err error
		if replay {
			n, err = s.Forwarding.Replay(c.Request.Context(), f)
		} else {
			n, err = s.Forwarding.Discard(c.Request.Context(), f)
		}
		if err != nil {
			s.fail(c, err)
			return
		}
		c.JSON(http.StatusOK, gin.H{"count": n})
	}
}

func (s *Server) adminBackfill(c *gin.Context) {
	var req struct {
		Rule  string `json:"rule"`
		Since string `json:"since"`
		Store int64  `json:"store_id"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(c.Writer, c.Request.Body, 1<<20)).Decode(&req); err != nil {
		s.fail(c, lrs.Errorf(lrs.EINVALID, "body: want {\"rule\": \"name\", \"since\": \"2025-01-01T00:00:00Z\"}: %v", err))
		return
	}
	var since time.Time
	if req.Since != "" {
		t, err := xapi.ParseTimestamp(req.Since)
		if err != nil {
			s.fail(c, lrs.Errorf(lrs.EINVALID, "since: %q is not a timestamp", req.Since))
			return
		}
		since = t
	}
	if req.Store == 0 {
		req.Store = 1
	}
	n, err := s.Forwarding.Backfill(c.Request.Context(), req.Store, req.Rule, since)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"recorded": n})
}

func (s *Server) adminPersonalList(c *gin.Context) {
	all, err := s.Forwarding.ListPersonal(c.Request.Context(), 0)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"personal_lrs": all})
}

func (s *Server) adminPersonalPut(c *gin.Context) {
	var req struct {
		dispatch.PersonalRegistration
		Store int64 `json:"store_id"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(c.Writer, c.Request.Body, 1<<20)).Decode(&req); err != nil {
		s.fail(c, lrs.Errorf(lrs.EINVALID, "body: want {\"agent\": {...}, \"endpoint\": \"https://...\", \"username\": ..., \"password\": ...}: %v", err))
		return
	}
	if req.Store == 0 {
		req.Store = 1
	}
	v, err := s.Forwarding.RegisterPersonal(c.Request.Context(), req.Store, req.PersonalRegistration)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, v)
}

func (s *Server) adminPersonalDelete(c *gin.Context) {
	var agent map[string]any
	if err := json.Unmarshal([]byte(c.Query("agent")), &agent); err != nil {
		s.fail(c, lrs.Errorf(lrs.EINVALID, "agent: parameter must be the learner's Agent as JSON"))
		return
	}
	store := int64(1)
	if err := s.Forwarding.DeletePersonal(c.Request.Context(), store, agent); err != nil {
		s.fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}
