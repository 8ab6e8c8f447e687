package httpapi

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/xapibridge/bridge/forwarders/dispatch"
	"github.com/xapibridge/bridge/lrs"
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
			if e := s.limitError(err); e != nil {
				s.fail(c, e)
				return
			}
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
		if e := s.limitError(err); e != nil {
			s.fail(c, e)
			return
		}
		s.fail(c, lrs.Errorf(lrs.EINVALID, "body: want {\"rule\": \"name\", \"since\": \"2025-01-01T00:00:00Z\"}: %v", err))
		return
	}
	since, err := dispatch.ParseSince(req.Since) // empty: every statement
	if err != nil {
		s.fail(c, lrs.Errorf(lrs.EINVALID, "since: %v", err))
		return
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

// personalStore resolves the store a personal-LRS request names: store_id
// (an id) or store (an id, a store name of the default organisation, or
// org/name), store 1 when neither is given. It answers the error itself.
func (s *Server) personalStore(c *gin.Context, id int64, ref string) (int64, bool) {
	switch {
	case ref == "" && id == 0:
		return 1, true
	case ref == "":
		ref = strconv.FormatInt(id, 10)
	case id != 0 && ref != strconv.FormatInt(id, 10):
		// Both given: they must name the same store.
		st, err := s.resolveStore(c, ref)
		if err != nil {
			s.fail(c, err)
			return 0, false
		}
		if st != id {
			s.fail(c, lrs.Errorf(lrs.EINVALID, "store_id %d and store %q name different stores: give one", id, ref))
			return 0, false
		}
		return st, true
	}
	st, err := s.resolveStore(c, ref)
	if err != nil {
		s.fail(c, err)
		return 0, false
	}
	return st, true
}

// resolveStore finds a store by id, name or org/name; without store
// administration only ids are known.
func (s *Server) resolveStore(c *gin.Context, ref string) (int64, error) {
	if s.Admin == nil {
		id, err := strconv.ParseInt(ref, 10, 64)
		if err != nil || id < 1 {
			return 0, lrs.Errorf(lrs.EINVALID, "store: %q is not a store id", ref)
		}
		return id, nil
	}
	st, err := s.Admin.ResolveStore(c.Request.Context(), ref)
	if err != nil {
		if lrs.ErrorCode(err) == lrs.ENOTFOUND {
			return 0, lrs.Errorf(lrs.ENOTFOUND, "store: no store %q", ref)
		}
		return 0, err
	}
	return st.ID, nil
}

// personalQuery checks the query string of the personal-LRS list and
// delete: only the given parameters, each once, and the store they name
// (none named: defaultStore).
func (s *Server) personalQuery(c *gin.Context, defaultStore int64, allowed ...string) (url.Values, int64, bool) {
	q, err := docQuery(c, append(allowed, "store", "store_id")...)
	if err != nil {
		s.fail(c, err)
		return nil, 0, false
	}
	var id int64
	if v := q.Get("store_id"); v != "" {
		if id, err = strconv.ParseInt(v, 10, 64); err != nil || id < 1 {
			s.fail(c, lrs.Errorf(lrs.EINVALID, "store_id: %q is not a store id", v))
			return nil, 0, false
		}
	}
	if id == 0 && q.Get("store") == "" {
		return q, defaultStore, true
	}
	storeID, ok := s.personalStore(c, id, q.Get("store"))
	return q, storeID, ok
}

func (s *Server) adminPersonalList(c *gin.Context) {
	_, storeID, ok := s.personalQuery(c, 0) // none named: every store
	if !ok {
		return
	}
	all, err := s.Forwarding.ListPersonal(c.Request.Context(), storeID)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"personal_lrs": all})
}

func (s *Server) adminPersonalPut(c *gin.Context) {
	var req struct {
		dispatch.PersonalRegistration
		StoreID int64           `json:"store_id"`
		Store   json.RawMessage `json:"store"`
	}
	dec := json.NewDecoder(http.MaxBytesReader(c.Writer, c.Request.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		if e := s.limitError(err); e != nil {
			s.fail(c, e)
			return
		}
		s.fail(c, lrs.Errorf(lrs.EINVALID, "body: want {\"agent\": {...}, \"endpoint\": \"https://...\", \"version\"?, \"username\"?, \"password\"?, \"token\"?, \"store\"?: id or name}: %v", err))
		return
	}
	var ref string
	if len(req.Store) > 0 && string(req.Store) != "null" {
		var n int64
		if json.Unmarshal(req.Store, &n) == nil {
			ref = strconv.FormatInt(n, 10)
		} else if json.Unmarshal(req.Store, &ref) != nil || ref == "" {
			s.fail(c, lrs.Errorf(lrs.EINVALID, "store: want a store id or name, not %s", req.Store))
			return
		}
	}
	storeID, ok := s.personalStore(c, req.StoreID, ref)
	if !ok {
		return
	}
	v, err := s.Forwarding.RegisterPersonal(c.Request.Context(), storeID, req.PersonalRegistration)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, v)
}

func (s *Server) adminPersonalDelete(c *gin.Context) {
	q, storeID, ok := s.personalQuery(c, 1, "agent")
	if !ok {
		return
	}
	var agent map[string]any
	if err := json.Unmarshal([]byte(q.Get("agent")), &agent); err != nil {
		s.fail(c, lrs.Errorf(lrs.EINVALID, "agent: parameter must be the learner's Agent as JSON"))
		return
	}
	if err := s.Forwarding.DeletePersonal(c.Request.Context(), storeID, agent); err != nil {
		s.fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}
