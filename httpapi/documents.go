package httpapi

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/xapibridge/bridge/lrs"
	"github.com/xapibridge/bridge/lrs/xapi"
)

// documentRoutes registers the document resources (State, Activity
// Profile, Agent Profile) and the Activities and Agents resources.

// docQuery parses the query string strictly: malformed encoding, repeated
// and unknown parameters are 400s.
func docQuery(c *gin.Context, allowed ...string) (url.Values, error) {
	q, err := url.ParseQuery(c.Request.URL.RawQuery)
	if err != nil {
		return nil, lrs.Errorf(lrs.EINVALID, "query string is malformed: %v", err)
	}
	for k, v := range q {
		ok := false
		for _, a := range allowed {
			if k == a {
				ok = true
				break
			}
		}
		if !ok {
			return nil, lrs.Errorf(lrs.EINVALID, "%s: unknown parameter for %s %s (allowed: %s)", k, c.Request.Method, c.Request.URL.Path, strings.Join(allowed, ", "))
		}
		if len(v) > 1 {
			return nil, lrs.Errorf(lrs.EINVALID, "%s: parameter given %d times", k, len(v))
		}
	}
	return q, nil
}

// required returns parameter name, which must be present and not empty.
func required(q url.Values, name string) (string, error) {
	if !q.Has(name) {
		return "", lrs.Errorf(lrs.EINVALID, "%s: parameter is required", name)
	}
	v := q.Get(name)
	if v == "" {
		return "", lrs.Errorf(lrs.EINVALID, "%s: must not be empty", name)
	}
	return v, nil
}

func activityIDParam(q url.Values) (string, error) {
	id, err := required(q, "activityId")
	if err != nil {
		return "", err
	}
	if !xapi.IsIRI(id) {
		return "", lrs.Errorf(lrs.EINVALID, "activityId: %q is not an IRI", id)
	}
	return id, nil
}

// agentParam decodes and validates the agent parameter.
func agentParam(q url.Values, v xapi.Version) (map[string]any, string, error) {
	raw, err := required(q, "agent")
	if err != nil {
		return nil, "", err
	}
	a, err := xapi.DecodeJSON([]byte(raw))
	if err != nil {
		return nil, "", lrs.Errorf(lrs.EINVALID, "agent: not valid JSON: %v", err)
	}
	if err := xapi.ValidateAgentParam(a, v); err != nil {
		return nil, "", lrs.Errorf(lrs.EINVALID, "agent: %v", err)
	}
	m := a.(map[string]any)
	key, ok := xapi.AgentKey(m)
	if !ok {
		return nil, "", lrs.Errorf(lrs.EINVALID, "agent: must identify an Agent or Group by mbox, mbox_sha1sum, openid or account")
	}
	return m, key, nil
}

func sinceParam(q url.Values) (*time.Time, error) {
	if !q.Has("since") {
		return nil, nil
	}
	v := q.Get("since")
	t, err := xapi.ParseTimestamp(v)
	if err != nil && strings.Contains(v, " ") {
		// An unencoded "+hh:mm" offset arrives as a space.
		t, err = xapi.ParseTimestamp(strings.ReplaceAll(v, " ", "+"))
	}
	if err != nil {
		return nil, lrs.Errorf(lrs.EINVALID, "since: %q is not an ISO 8601 timestamp", v)
	}
	return &t, nil
}

// docParams parses and validates the parameters of a document request.
func (s *Server) docParams(c *gin.Context, kind lrs.DocumentKind) (lrs.DocumentKey, *time.Time, error) {
	m := c.Request.Method
	read := m == http.MethodGet || m == http.MethodHead
	idName := "profileId"
	var allowed []string
	switch kind {
	case lrs.KindState:
		idName = "stateId"
		allowed = []string{"activityId", "agent", "registration", "stateId"}
	case lrs.KindActivityProfile:
		allowed = []string{"activityId", "profileId"}
	case lrs.KindAgentProfile:
		allowed = []string{"agent", "profileId"}
	}
	if read {
		allowed = append(allowed, "since")
	}
	k := lrs.DocumentKey{Kind: kind}
	q, err := docQuery(c, allowed...)
	if err != nil {
		return k, nil, err
	}
	if kind != lrs.KindAgentProfile {
		if k.ActivityID, err = activityIDParam(q); err != nil {
			return k, nil, err
		}
	}
	if kind != lrs.KindActivityProfile {
		if _, k.AgentKey, err = agentParam(q, s.versionOf(c)); err != nil {
			return k, nil, err
		}
	}
	if kind == lrs.KindState && q.Has("registration") {
		r := q.Get("registration")
		if !xapi.IsUUID(r) {
			return k, nil, lrs.Errorf(lrs.EINVALID, "registration: %q is not a UUID", r)
		}
		k.Registration = strings.ToLower(r)
	}
	// The document id: required to write, optional to read (absent lists
	// the ids) and, for State only, to delete (absent deletes them all).
	if q.Has(idName) || !(read || (m == http.MethodDelete && kind == lrs.KindState)) {
		if k.DocID, err = required(q, idName); err != nil {
			return k, nil, err
		}
	}
	since, err := sinceParam(q)
	if err != nil {
		return k, nil, err
	}
	return k, since, nil
}

func setDocHeaders(c *gin.Context, d *lrs.Document) {
	c.Header("ETag", `"`+d.ETag+`"`)
	c.Header("Last-Modified", d.Updated.UTC().Format(http.TimeFormat))
}

func preconditions(c *gin.Context) lrs.Preconditions {
	return lrs.Preconditions{IfMatch: c.GetHeader("If-Match"), IfNoneMatch: c.GetHeader("If-None-Match")}
}

// document serves one document resource.
func (s *Server) document(kind lrs.DocumentKind) gin.HandlerFunc {
	return func(c *gin.Context) {
		if s.Documents == nil {
			s.fail(c, lrs.Errorf(lrs.EINTERNAL, "document resources are not configured"))
			return
		}
		k, since, err := s.docParams(c, kind)
		if err != nil {
			s.fail(c, err)
			return
		}
		ctx, p, v := c.Request.Context(), principal(c), s.versionOf(c)
		switch c.Request.Method {
		case http.MethodGet, http.MethodHead:
			if k.DocID == "" {
				ids, last, err := s.Documents.List(ctx, p, k, since)
				if err != nil {
					s.fail(c, err)
					return
				}
				body, err := xapi.EncodeJSON(ids)
				if err != nil {
					s.fail(c, lrs.Internal(err, "encoding ids"))
					return
				}
				if !last.IsZero() {
					c.Header("Last-Modified", last.Format(http.TimeFormat))
				}
				c.Data(http.StatusOK, "application/json", body)
				return
			}
			d, err := s.Documents.Get(ctx, p, k)
			if err != nil {
				s.fail(c, err)
				return
			}
			setDocHeaders(c, d)
			c.Data(http.StatusOK, d.ContentType, d.Body)
		case http.MethodPut, http.MethodPost:
			body, err := s.readBody(c)
			if err != nil {
				s.fail(c, err)
				return
			}
			w := &lrs.DocumentWrite{Key: k, ContentType: c.GetHeader("Content-Type"), Body: body, Preconditions: preconditions(c)}
			var d *lrs.Document
			if c.Request.Method == http.MethodPut {
				d, err = s.Documents.Put(ctx, p, v, w)
			} else {
				d, err = s.Documents.Post(ctx, p, v, w)
			}
			if err != nil {
				s.fail(c, err)
				return
			}
			c.Header("ETag", `"`+d.ETag+`"`)
			c.Status(http.StatusNoContent)
		case http.MethodDelete:
			if k.DocID == "" {
				err = s.Documents.DeleteAll(ctx, p, k)
			} else {
				err = s.Documents.Delete(ctx, p, k, preconditions(c))
			}
			if err != nil {
				s.fail(c, err)
				return
			}
			c.Status(http.StatusNoContent)
		}
	}
}

// getActivity serves GET /activities: the canonical Activity object.
func (s *Server) getActivity(c *gin.Context) {
	if s.Documents == nil {
		s.fail(c, lrs.Errorf(lrs.EINTERNAL, "activities resource is not configured"))
		return
	}
	q, err := docQuery(c, "activityId")
	if err != nil {
		s.fail(c, err)
		return
	}
	id, err := activityIDParam(q)
	if err != nil {
		s.fail(c, err)
		return
	}
	body, err := s.Documents.Activity(c.Request.Context(), principal(c), id)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.Data(http.StatusOK, "application/json", body)
}

// getAgent serves GET /agents: the Person object for an Agent.
func (s *Server) getAgent(c *gin.Context) {
	if s.Documents == nil {
		s.fail(c, lrs.Errorf(lrs.EINTERNAL, "agents resource is not configured"))
		return
	}
	q, err := docQuery(c, "agent")
	if err != nil {
		s.fail(c, err)
		return
	}
	agent, _, err := agentParam(q, s.versionOf(c))
	if err != nil {
		s.fail(c, err)
		return
	}
	person, err := s.Documents.Person(principal(c), agent)
	if err != nil {
		s.fail(c, err)
		return
	}
	body, err := xapi.EncodeJSON(person)
	if err != nil {
		s.fail(c, lrs.Internal(err, "encoding person"))
		return
	}
	c.Data(http.StatusOK, "application/json", body)
}
