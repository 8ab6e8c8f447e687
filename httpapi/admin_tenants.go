package httpapi

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/xapibridge/bridge/lrs/admin"

	"github.com/gin-gonic/gin"

	"github.com/xapibridge/bridge/lrs"
)

// tenantRoutes registers organisations, stores, credentials and persons.
// Path parameters: :org (organisation id), :store (store id, or the name of
// a store of the default organisation), :key (credential key), :id (person
// id).

func (s *Server) tenantsOn(c *gin.Context) {
	if s.Admin == nil {
		s.fail(c, lrs.Errorf(lrs.ENOTFOUND, "organisation and store management is not configured"))
		return
	}
	c.Next()
}

// tenantJSON decodes a JSON request body into v, refusing unknown fields so a
// misspelt field is an error rather than silently ignored. want describes
// the expected body for the message.
func (s *Server) tenantJSON(c *gin.Context, v any, want string) bool {
	dec := json.NewDecoder(http.MaxBytesReader(c.Writer, c.Request.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if e := s.limitError(err); e != nil {
			s.fail(c, e)
			return false
		}
		msg := err.Error()
		if errors.Is(err, io.EOF) {
			msg = "empty body"
		}
		s.fail(c, lrs.Errorf(lrs.EINVALID, "body: want %s: %s", want, strings.TrimPrefix(msg, "json: ")))
		return false
	}
	return true
}

// tenantIntParam reads a positive integer path parameter.
func (s *Server) tenantIntParam(c *gin.Context, name string) (int64, bool) {
	v := c.Param(name)
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n <= 0 {
		s.fail(c, lrs.Errorf(lrs.EINVALID, "%s: %q is not an id", name, v))
		return 0, false
	}
	return n, true
}

// tenantStoreParam resolves the :store path parameter.
func (s *Server) tenantStoreParam(c *gin.Context) (*lrs.Store, bool) {
	st, err := s.Admin.ResolveStore(c.Request.Context(), c.Param("store"))
	if err != nil {
		s.fail(c, err)
		return nil, false
	}
	return st, true
}

// --- organisations

func (s *Server) adminListOrgs(c *gin.Context) {
	orgs, err := s.Admin.ListOrganisations(c.Request.Context())
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"orgs": orgs})
}

func (s *Server) adminCreateOrg(c *gin.Context) {
	var req struct {
		Name string `json:"name"`
	}
	if !s.tenantJSON(c, &req, `{"name": "..."}`) {
		return
	}
	o, err := s.Admin.CreateOrganisation(c.Request.Context(), req.Name)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, o)
}

func (s *Server) adminGetOrg(c *gin.Context) {
	id, ok := s.tenantIntParam(c, "org")
	if !ok {
		return
	}
	o, err := s.Admin.GetOrganisation(c.Request.Context(), id)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, o)
}

func (s *Server) adminPatchOrg(c *gin.Context) {
	id, ok := s.tenantIntParam(c, "org")
	if !ok {
		return
	}
	var req struct {
		Name *string `json:"name"`
	}
	if !s.tenantJSON(c, &req, `{"name": "..."}`) {
		return
	}
	var o *lrs.Organisation
	var err error
	if req.Name == nil {
		o, err = s.Admin.GetOrganisation(c.Request.Context(), id)
	} else {
		o, err = s.Admin.RenameOrganisation(c.Request.Context(), id, *req.Name)
	}
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, o)
}

func (s *Server) adminDeleteOrg(c *gin.Context) {
	id, ok := s.tenantIntParam(c, "org")
	if !ok {
		return
	}
	if err := s.Admin.DeleteOrganisation(c.Request.Context(), id); err != nil {
		s.fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

// --- stores

// adminStoreView is a store as the API shows it: retention as "365d" (or a Go
// duration) and in seconds; "" and 0 mean none.
type adminStoreView struct {
	ID               int64     `json:"id"`
	OrgID            int64     `json:"org_id"`
	Name             string    `json:"name"`
	Retention        string    `json:"retention"`
	RetentionSeconds int64     `json:"retention_seconds"`
	CreatedAt        time.Time `json:"created"`
}

func adminViewStore(st *lrs.Store) adminStoreView {
	return adminStoreView{ID: st.ID, OrgID: st.OrgID, Name: st.Name, Retention: admin.FormatRetention(st.Retention),
		RetentionSeconds: int64(st.Retention / time.Second), CreatedAt: st.CreatedAt}
}

func (s *Server) adminListStores(c *gin.Context) {
	var org int64
	if c.Param("org") != "" {
		var ok bool
		if org, ok = s.tenantIntParam(c, "org"); !ok {
			return
		}
	}
	stores, err := s.Admin.ListStores(c.Request.Context(), org)
	if err != nil {
		s.fail(c, err)
		return
	}
	out := make([]adminStoreView, len(stores))
	for i, st := range stores {
		out[i] = adminViewStore(st)
	}
	c.JSON(http.StatusOK, gin.H{"stores": out})
}

func (s *Server) adminCreateStore(c *gin.Context) {
	org, ok := s.tenantIntParam(c, "org")
	if !ok {
		return
	}
	var req struct {
		Name      string `json:"name"`
		Retention string `json:"retention"`
	}
	if !s.tenantJSON(c, &req, `{"name": "...", "retention": "365d"}`) {
		return
	}
	ret, err := admin.ParseRetention(req.Retention)
	if err != nil {
		s.fail(c, err)
		return
	}
	ctx := c.Request.Context()
	st, err := s.Admin.CreateStore(ctx, org, req.Name)
	if err != nil {
		s.fail(c, err)
		return
	}
	if ret > 0 {
		if st, err = s.Admin.UpdateStore(ctx, st.ID, admin.StoreUpdate{Retention: &ret}); err != nil {
			s.fail(c, err)
			return
		}
	}
	c.JSON(http.StatusCreated, adminViewStore(st))
}

func (s *Server) adminGetStore(c *gin.Context) {
	st, ok := s.tenantStoreParam(c)
	if !ok {
		return
	}
	c.JSON(http.StatusOK, adminViewStore(st))
}

func (s *Server) adminPatchStore(c *gin.Context) {
	st, ok := s.tenantStoreParam(c)
	if !ok {
		return
	}
	var req struct {
		Name      *string `json:"name"`
		Retention *string `json:"retention"`
	}
	if !s.tenantJSON(c, &req, `{"name": "...", "retention": "365d"}`) {
		return
	}
	u := admin.StoreUpdate{Name: req.Name}
	if req.Retention != nil {
		d, err := admin.ParseRetention(*req.Retention)
		if err != nil {
			s.fail(c, err)
			return
		}
		u.Retention = &d
	}
	st, err := s.Admin.UpdateStore(c.Request.Context(), st.ID, u)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, adminViewStore(st))
}

func (s *Server) adminDeleteStore(c *gin.Context) {
	st, ok := s.tenantStoreParam(c)
	if !ok {
		return
	}
	if err := s.Admin.DeleteStore(c.Request.Context(), st.ID, c.Query("confirm")); err != nil {
		s.fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

func (s *Server) adminStoreStats(c *gin.Context) {
	st, ok := s.tenantStoreParam(c)
	if !ok {
		return
	}
	stats, err := s.Admin.StoreStats(c.Request.Context(), st.ID)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, stats)
}

// --- credentials

// newCredential is a credential with its secret, in the one reply that
// shows it.
type newCredential struct {
	*admin.CredentialInfo
	Secret string `json:"secret"`
}

func (s *Server) adminListCredentials(c *gin.Context) {
	st, ok := s.tenantStoreParam(c)
	if !ok {
		return
	}
	creds, err := s.Admin.ListCredentials(c.Request.Context(), st.ID)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"credentials": creds})
}

func (s *Server) adminCreateCredential(c *gin.Context) {
	st, ok := s.tenantStoreParam(c)
	if !ok {
		return
	}
	var req struct {
		Key     string   `json:"key"`
		Name    string   `json:"name"`
		Scopes  []string `json:"scopes"`
		Trusted bool     `json:"trusted"` // its statements may go to personal LRSs
	}
	if !s.tenantJSON(c, &req, `{"scopes": ["all"], "name": "...", "key": "...", "trusted": false}`) {
		return
	}
	info, secret, err := s.Admin.CreateCredential(c.Request.Context(), st.ID,
		admin.CredentialSpec{Key: req.Key, Name: req.Name, Scopes: req.Scopes, Trusted: req.Trusted})
	if err != nil {
		s.fail(c, err)
		return
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusCreated, newCredential{info, secret})
}

func (s *Server) adminGetCredential(c *gin.Context) {
	info, err := s.Admin.GetCredential(c.Request.Context(), c.Param("key"))
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, info)
}

func (s *Server) adminPatchCredential(c *gin.Context) {
	var req struct {
		Name    *string  `json:"name"`
		Scopes  []string `json:"scopes"`
		Trusted *bool    `json:"trusted"`
	}
	if !s.tenantJSON(c, &req, `{"scopes": ["statements/write"], "name": "...", "trusted": true}`) {
		return
	}
	info, err := s.Admin.UpdateCredential(c.Request.Context(), c.Param("key"),
		admin.CredentialUpdate{Name: req.Name, Scopes: req.Scopes, Trusted: req.Trusted})
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, info)
}

func (s *Server) adminDeleteCredential(c *gin.Context) {
	if err := s.Admin.DeleteCredential(c.Request.Context(), c.Param("key")); err != nil {
		s.fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

func (s *Server) adminRotateCredential(c *gin.Context) {
	info, secret, err := s.Admin.RotateCredential(c.Request.Context(), c.Param("key"))
	if err != nil {
		s.fail(c, err)
		return
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, newCredential{info, secret})
}

// --- persons

// tenantLimit reads the limit query parameter (1..1000; def when absent).
func (s *Server) tenantLimit(c *gin.Context, def int) (int, bool) {
	v := c.Query("limit")
	if v == "" {
		return def, true
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 1000 {
		s.fail(c, lrs.Errorf(lrs.EINVALID, "limit: must be 1..1000, not %q", v))
		return 0, false
	}
	return n, true
}

func (s *Server) adminListPersons(c *gin.Context) {
	st, ok := s.tenantStoreParam(c)
	if !ok {
		return
	}
	limit, ok := s.tenantLimit(c, 100)
	if !ok {
		return
	}
	var after int64
	if v := c.Query("more"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			s.fail(c, lrs.Errorf(lrs.EINVALID, "more: not a valid more token"))
			return
		}
		after = n
	}
	persons, more, err := s.Admin.ListPersons(c.Request.Context(), st.ID, after, limit)
	if err != nil {
		s.fail(c, err)
		return
	}
	next := ""
	if more {
		next = strconv.FormatInt(persons[len(persons)-1].ID, 10)
	}
	c.JSON(http.StatusOK, gin.H{"persons": persons, "more": next})
}

// personAgentsBody is the agents list of person requests.
type personAgentsBody struct {
	Name   string            `json:"name"`
	Agents []json.RawMessage `json:"agents"`
}

func (s *Server) adminCreatePerson(c *gin.Context) {
	st, ok := s.tenantStoreParam(c)
	if !ok {
		return
	}
	var req personAgentsBody
	if !s.tenantJSON(c, &req, `{"name": "...", "agents": [{"mbox": "mailto:ann@example.org"}, ...]}`) {
		return
	}
	p, err := s.Admin.CreatePerson(c.Request.Context(), st.ID, req.Name, req.Agents)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, p)
}

// tenantPersonParams resolves :store and :id.
func (s *Server) tenantPersonParams(c *gin.Context) (storeID, id int64, ok bool) {
	st, ok := s.tenantStoreParam(c)
	if !ok {
		return 0, 0, false
	}
	id, ok = s.tenantIntParam(c, "id")
	return st.ID, id, ok
}

func (s *Server) adminGetPerson(c *gin.Context) {
	storeID, id, ok := s.tenantPersonParams(c)
	if !ok {
		return
	}
	p, err := s.Admin.GetPerson(c.Request.Context(), storeID, id)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, p)
}

func (s *Server) adminDeletePerson(c *gin.Context) {
	storeID, id, ok := s.tenantPersonParams(c)
	if !ok {
		return
	}
	if err := s.Admin.DeletePerson(c.Request.Context(), storeID, id); err != nil {
		s.fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

func (s *Server) adminAddPersonAgents(c *gin.Context) {
	storeID, id, ok := s.tenantPersonParams(c)
	if !ok {
		return
	}
	var req struct {
		Agents []json.RawMessage `json:"agents"`
	}
	if !s.tenantJSON(c, &req, `{"agents": [{"mbox": "mailto:ann@example.org"}, ...]}`) {
		return
	}
	p, err := s.Admin.AddPersonAgents(c.Request.Context(), storeID, id, req.Agents)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, p)
}

func (s *Server) adminMergePersons(c *gin.Context) {
	storeID, id, ok := s.tenantPersonParams(c)
	if !ok {
		return
	}
	var req struct {
		From int64 `json:"from"`
	}
	if !s.tenantJSON(c, &req, `{"from": <person id>}`) {
		return
	}
	p, err := s.Admin.MergePersons(c.Request.Context(), storeID, id, req.From)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, p)
}

// personPage is the keyset position of a person statements page, carried
// by the more token.
type personPage struct {
	After     int64 `json:"a"`
	Limit     int   `json:"l,omitempty"`
	Ascending bool  `json:"asc,omitempty"`
	Related   bool  `json:"rel,omitempty"`
}

func (s *Server) adminPersonStatements(c *gin.Context) {
	storeID, id, ok := s.tenantPersonParams(c)
	if !ok {
		return
	}
	var pg personPage
	if tok := c.Query("more"); tok != "" {
		b, err := base64.RawURLEncoding.DecodeString(tok)
		if err != nil || json.Unmarshal(b, &pg) != nil || pg.After <= 0 {
			s.fail(c, lrs.Errorf(lrs.EINVALID, "more: not a valid more token"))
			return
		}
	} else {
		for _, p := range []struct {
			name string
			dst  *bool
		}{{"ascending", &pg.Ascending}, {"related_agents", &pg.Related}} {
			if v := c.Query(p.name); v != "" {
				b, err := strconv.ParseBool(v)
				if err != nil {
					s.fail(c, lrs.Errorf(lrs.EINVALID, "%s: must be true or false, not %q", p.name, v))
					return
				}
				*p.dst = b
			}
		}
	}
	def := pg.Limit
	if def == 0 {
		def = 100
	}
	limit, ok := s.tenantLimit(c, def)
	if !ok {
		return
	}
	pg.Limit = limit
	stmts, more, err := s.Admin.PersonStatements(c.Request.Context(), storeID, id,
		lrs.Query{Limit: limit, After: pg.After, Ascending: pg.Ascending, RelatedAgents: pg.Related})
	if err != nil {
		s.fail(c, err)
		return
	}
	out := make([]json.RawMessage, len(stmts))
	for i, st := range stmts {
		out[i] = st.Body
	}
	next := ""
	if more {
		pg.After = stmts[len(stmts)-1].PK
		b, _ := json.Marshal(pg)
		next = base64.RawURLEncoding.EncodeToString(b)
	}
	c.JSON(http.StatusOK, gin.H{"statements": out, "more": next})
}
