package httpapi

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/xapibridge/bridge/lrs"
	"github.com/xapibridge/bridge/lrs/xapi"
)

// readBody reads the request body within the size limit.
func (s *Server) readBody(c *gin.Context) ([]byte, error) {
	body, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, s.MaxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, lrs.Errorf(lrs.ETOOLARGE, "request body exceeds %d bytes", s.MaxBodyBytes)
		}
		return nil, lrs.Errorf(lrs.EINVALID, "reading request body: %v", err)
	}
	return body, nil
}

// statementsBody reads and decodes a statements request body: JSON, or
// multipart/mixed with the statements first and attachment parts after.
func (s *Server) statementsBody(c *gin.Context) ([]map[string]any, bool, []lrs.Attachment, error) {
	var body []byte
	var parts []lrs.Attachment
	switch mt, params := mediaTypeParams(c); mt {
	case "application/json", "":
		b, err := s.readBody(c)
		if err != nil {
			return nil, false, nil, err
		}
		body = b
	case "multipart/mixed":
		b, atts, err := s.readMultipart(c, params["boundary"])
		if err != nil {
			return nil, false, nil, err
		}
		body, parts = b, atts
	default:
		return nil, false, nil, lrs.Errorf(lrs.EINVALID, "Content-Type: %q is not supported; send application/json, or multipart/mixed with attachments", mt)
	}
	stmts, batch, err := xapi.DecodeStatements(body)
	if err != nil {
		return nil, false, nil, lrs.Errorf(lrs.EINVALID, "%s", err.Error())
	}
	return stmts, batch, parts, nil
}

// readMultipart splits a multipart/mixed statements request into the JSON
// of its first part and the attachment parts, checking each part's
// X-Experience-API-Hash against its content.
func (s *Server) readMultipart(c *gin.Context, boundary string) ([]byte, []lrs.Attachment, error) {
	if boundary == "" {
		return nil, nil, lrs.Errorf(lrs.EINVALID, "Content-Type: multipart/mixed needs a boundary parameter")
	}
	mr := multipart.NewReader(http.MaxBytesReader(c.Writer, c.Request.Body, s.MaxBodyBytes), boundary)
	var body []byte
	var parts []lrs.Attachment
	for i := 0; ; i++ {
		p, err := mr.NextRawPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, nil, multipartError(err)
		}
		content, err := io.ReadAll(p)
		if err != nil {
			return nil, nil, multipartError(err)
		}
		ct := p.Header.Get("Content-Type")
		if i == 0 {
			if mt, _, _ := mime.ParseMediaType(ct); mt != "application/json" {
				return nil, nil, lrs.Errorf(lrs.EINVALID, "multipart part 1: Content-Type must be application/json (the statements), not %q", ct)
			}
			body = content
			continue
		}
		hash := strings.ToLower(strings.TrimSpace(p.Header.Get("X-Experience-API-Hash")))
		if hash == "" {
			return nil, nil, lrs.Errorf(lrs.EINVALID, "multipart part %d: X-Experience-API-Hash header is required", i+1)
		}
		if te := p.Header.Get("Content-Transfer-Encoding"); !strings.EqualFold(te, "binary") {
			return nil, nil, lrs.Errorf(lrs.EINVALID, "multipart part %d: Content-Transfer-Encoding must be binary, not %q", i+1, te)
		}
		a := lrs.NewAttachment(ct, content)
		if a.SHA2 != hash {
			return nil, nil, lrs.Errorf(lrs.EINVALID, "multipart part %d: content has SHA-256 %s, not the X-Experience-API-Hash %s", i+1, a.SHA2, hash)
		}
		parts = append(parts, a)
	}
	if body == nil {
		return nil, nil, lrs.Errorf(lrs.EINVALID, "multipart body has no parts")
	}
	return body, parts, nil
}

func multipartError(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return lrs.Errorf(lrs.ETOOLARGE, "request body exceeds %d bytes", mbe.Limit)
	}
	return lrs.Errorf(lrs.EINVALID, "malformed multipart/mixed body: %v", err)
}

// postStatements stores one statement or a batch and returns their ids.
func (s *Server) postStatements(c *gin.Context) {
	if len(c.Request.URL.Query()) > 0 {
		for k := range c.Request.URL.Query() {
			s.fail(c, lrs.Errorf(lrs.EINVALID, "parameter %q is not allowed on POST /statements", k))
			return
		}
	}
	stmts, batch, parts, err := s.statementsBody(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	ids, err := s.Statements.StoreStatements(c.Request.Context(), principal(c), s.versionOf(c), stmts, batch, parts)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, ids)
}

// putStatement stores one statement under the statementId parameter.
func (s *Server) putStatement(c *gin.Context) {
	q := c.Request.URL.Query()
	for k := range q {
		if k != "statementId" {
			s.fail(c, lrs.Errorf(lrs.EINVALID, "parameter %q is not allowed on PUT /statements", k))
			return
		}
	}
	id := q.Get("statementId")
	if id == "" {
		s.fail(c, lrs.Errorf(lrs.EINVALID, "statementId: parameter is required for PUT"))
		return
	}
	if !xapi.IsUUID(id) {
		s.fail(c, lrs.Errorf(lrs.EINVALID, "statementId: %q is not a UUID", id))
		return
	}
	stmts, batch, parts, err := s.statementsBody(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	if batch || len(stmts) != 1 {
		s.fail(c, lrs.Errorf(lrs.EINVALID, "PUT takes one statement object, not an array"))
		return
	}
	st := stmts[0]
	if given, ok := st["id"]; ok {
		gs, _ := given.(string)
		if !strings.EqualFold(gs, id) {
			s.fail(c, lrs.Errorf(lrs.EINVALID, "id: %v does not match the statementId parameter %s", given, id))
			return
		}
	} else {
		st["id"] = id
	}
	if _, err := s.Statements.StoreStatements(c.Request.Context(), principal(c), s.versionOf(c), stmts, false, parts); err != nil {
		s.fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

var queryParams = map[string]bool{
	"statementId": true, "voidedStatementId": true, "agent": true, "verb": true, "activity": true,
	"registration": true, "related_activities": true, "related_agents": true, "since": true,
	"until": true, "limit": true, "format": true, "attachments": true, "ascending": true,
	"more": true,
}

// getParams is a parsed GET /statements request.
type getParams struct {
	lrs.Query
	Format      string   `json:"f,omitempty"`
	Attachments bool     `json:"a,omitempty"`
	Langs       []string `json:"-"`
}

// getStatements serves a single statement or a query.
func (s *Server) getStatements(c *gin.Context) {
	q := c.Request.URL.Query()
	for k, v := range q {
		if !queryParams[k] {
			s.fail(c, lrs.Errorf(lrs.EINVALID, "%s: unknown parameter", k))
			return
		}
		if len(v) > 1 {
			s.fail(c, lrs.Errorf(lrs.EINVALID, "%s: parameter given %d times", k, len(v)))
			return
		}
	}
	langs := acceptLanguages(c.GetHeader("Accept-Language"))
	p := principal(c)
	ctx := c.Request.Context()

	id, voided := q.Get("statementId"), false
	if q.Has("voidedStatementId") {
		id, voided = q.Get("voidedStatementId"), true
		if q.Has("statementId") {
			s.fail(c, lrs.Errorf(lrs.EINVALID, "statementId and voidedStatementId cannot be combined"))
			return
		}
	}
	if q.Has("statementId") || q.Has("voidedStatementId") {
		for k := range q {
			if k != "statementId" && k != "voidedStatementId" && k != "format" && k != "attachments" {
				s.fail(c, lrs.Errorf(lrs.EINVALID, "%s: cannot be combined with statementId or voidedStatementId", k))
				return
			}
		}
		gp, err := parseQuery(q)
		if err != nil {
			s.fail(c, err)
			return
		}
		if !xapi.IsUUID(id) {
			s.fail(c, lrs.Errorf(lrs.EINVALID, "statementId: %q is not a UUID", id))
			return
		}
		st, err := s.Statements.GetStatement(ctx, p, id, voided)
		if err != nil {
			s.fail(c, err)
			return
		}
		out, err := lrs.Render(st.Body, gp.Format, langs)
		if err != nil {
			s.fail(c, err)
			return
		}
		c.Header("Last-Modified", st.Stored.Format(http.TimeFormat))
		s.writeResult(c, out, [][]byte{st.Body}, gp.Attachments)
		return
	}

	var gp *getParams
	if tok := q.Get("more"); tok != "" {
		if len(q) > 1 {
			s.fail(c, lrs.Errorf(lrs.EINVALID, "more: cannot be combined with other parameters; follow the more link as given"))
			return
		}
		var err error
		if gp, err = decodeMore(tok); err != nil {
			s.fail(c, err)
			return
		}
	} else {
		var err error
		if gp, err = parseQuery(q); err != nil {
			s.fail(c, err)
			return
		}
	}
	stmts, more, err := s.Statements.QueryStatements(ctx, p, gp.Query)
	if err != nil {
		s.fail(c, err)
		return
	}
	var buf bytes.Buffer
	buf.WriteString(`{"statements":[`)
	for i, st := range stmts {
		if i > 0 {
			buf.WriteByte(',')
		}
		out, err := lrs.Render(st.Body, gp.Format, langs)
		if err != nil {
			s.fail(c, err)
			return
		}
		buf.Write(out)
	}
	buf.WriteString(`],"more":`)
	moreURL := ""
	if more {
		next := *gp
		next.After = stmts[len(stmts)-1].PK
		moreURL = PrefixXAPI + "/statements?more=" + encodeMore(&next)
	}
	mb, _ := json.Marshal(moreURL)
	buf.Write(mb)
	buf.WriteByte('}')
	var bodies [][]byte
	if gp.Attachments {
		for _, st := range stmts {
			bodies = append(bodies, st.Body)
		}
	}
	s.writeResult(c, buf.Bytes(), bodies, gp.Attachments)
}

// writeResult writes a statement result. When the client asked for
// attachments it is multipart/mixed: the JSON first, then one part per
// attachment the statements (whose stored bodies are given) declare.
func (s *Server) writeResult(c *gin.Context, body []byte, stmtBodies [][]byte, attachments bool) {
	if !attachments {
		c.Data(http.StatusOK, "application/json", body)
		return
	}
	atts, err := s.Statements.Attachments(c.Request.Context(), principal(c), stmtBodies)
	if err != nil {
		s.fail(c, err)
		return
	}
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	h := textproto.MIMEHeader{}
	h.Set("Content-Type", "application/json")
	pw, _ := mw.CreatePart(h)
	pw.Write(body)
	for _, a := range atts {
		h := textproto.MIMEHeader{}
		h.Set("Content-Type", a.ContentType)
		h.Set("Content-Transfer-Encoding", "binary")
		// Spelled as the spec does: some clients (tincanjs) look the
		// header up case-sensitively; Set would canonicalise it.
		h["X-Experience-API-Hash"] = []string{a.SHA2}
		pw, _ := mw.CreatePart(h)
		pw.Write(a.Content)
	}
	mw.Close()
	c.Data(http.StatusOK, "multipart/mixed; boundary="+mw.Boundary(), buf.Bytes())
}

func parseBool(q url.Values, name string) (bool, error) {
	switch v := q.Get(name); v {
	case "", "false":
		return false, nil
	case "true":
		return true, nil
	default:
		return false, lrs.Errorf(lrs.EINVALID, "%s: must be true or false, not %q", name, v)
	}
}

func parseQuery(q url.Values) (*getParams, error) {
	gp := &getParams{}
	var err error
	if v := q.Get("agent"); v != "" {
		a, err := xapi.DecodeJSON([]byte(v))
		if err != nil {
			return nil, lrs.Errorf(lrs.EINVALID, "agent: not valid JSON: %v", err)
		}
		if err := xapi.ValidateAgentParam(a, xapi.V200); err != nil {
			return nil, lrs.Errorf(lrs.EINVALID, "agent: %v", err)
		}
		key, ok := xapi.AgentKey(a.(map[string]any))
		if !ok {
			return nil, lrs.Errorf(lrs.EINVALID, "agent: must identify an Agent or Group by mbox, mbox_sha1sum, openid or account")
		}
		gp.Agent = key
	}
	if v := q.Get("verb"); v != "" {
		if !xapi.IsIRI(v) {
			return nil, lrs.Errorf(lrs.EINVALID, "verb: %q is not an IRI", v)
		}
		gp.Verb = v
	}
	if v := q.Get("activity"); v != "" {
		if !xapi.IsIRI(v) {
			return nil, lrs.Errorf(lrs.EINVALID, "activity: %q is not an IRI", v)
		}
		gp.Activity = v
	}
	if v := q.Get("registration"); v != "" {
		if !xapi.IsUUID(v) {
			return nil, lrs.Errorf(lrs.EINVALID, "registration: %q is not a UUID", v)
		}
		gp.Registration = strings.ToLower(v)
	}
	if gp.RelatedActivities, err = parseBool(q, "related_activities"); err != nil {
		return nil, err
	}
	if gp.RelatedAgents, err = parseBool(q, "related_agents"); err != nil {
		return nil, err
	}
	if gp.Ascending, err = parseBool(q, "ascending"); err != nil {
		return nil, err
	}
	if gp.Attachments, err = parseBool(q, "attachments"); err != nil {
		return nil, err
	}
	for _, name := range []string{"since", "until"} {
		v := q.Get(name)
		if v == "" {
			continue
		}
		t, err := xapi.ParseTimestamp(v)
		if err != nil {
			return nil, lrs.Errorf(lrs.EINVALID, "%s: %q is not an ISO 8601 timestamp", name, v)
		}
		if name == "since" {
			gp.Since = &t
		} else {
			gp.Until = &t
		}
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return nil, lrs.Errorf(lrs.EINVALID, "limit: must be a non-negative integer, not %q", v)
		}
		gp.Limit = n
	}
	switch f := q.Get("format"); f {
	case "", "exact", "ids", "canonical":
		gp.Format = f
	default:
		return nil, lrs.Errorf(lrs.EINVALID, "format: must be ids, exact or canonical, not %q", f)
	}
	return gp, nil
}

// The more link carries the whole query and the keyset position, so a page
// costs the same however deep it is.
func encodeMore(gp *getParams) string {
	b, _ := json.Marshal(gp)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeMore(tok string) (*getParams, error) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	gp := &getParams{}
	if err != nil || json.Unmarshal(b, gp) != nil || gp.After <= 0 {
		return nil, lrs.Errorf(lrs.EINVALID, "more: not a valid more token")
	}
	return gp, nil
}

// acceptLanguages parses Accept-Language into tags by preference.
func acceptLanguages(h string) []string {
	type lq struct {
		tag string
		q   float64
	}
	var ls []lq
	for _, part := range strings.Split(h, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		tag, params, _ := strings.Cut(part, ";")
		qv := 1.0
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				qv = f
			}
		}
		if tag = strings.TrimSpace(tag); tag != "*" && qv > 0 {
			ls = append(ls, lq{tag, qv})
		}
	}
	sort.SliceStable(ls, func(i, j int) bool { return ls[i].q > ls[j].q })
	out := make([]string, len(ls))
	for i, l := range ls {
		out[i] = l.tag
	}
	return out
}
