package httpapi

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
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
	return s.readBodyFrom(c, func(r io.Reader) io.Reader { return r })
}

// readBodyFrom reads the request body within the size limit through wrap
// (which may refuse it on the way: countStatements).
func (s *Server) readBodyFrom(c *gin.Context, wrap func(io.Reader) io.Reader) ([]byte, error) {
	if c.Request.ContentLength > s.MaxBodyBytes {
		return nil, tooLarge(s.MaxBodyBytes)
	}
	body, err := io.ReadAll(wrap(http.MaxBytesReader(c.Writer, c.Request.Body, s.MaxBodyBytes)))
	if err != nil {
		return nil, s.bodyError(err, s.MaxBodyBytes)
	}
	return body, nil
}

// statementsBody reads and decodes a statements request body: JSON, or
// multipart/mixed with the statements first and attachment parts after.
// More than MaxStatements statements are refused while the body is read,
// before anything is decoded.
func (s *Server) statementsBody(c *gin.Context) ([]map[string]any, bool, []lrs.Attachment, error) {
	var body []byte
	var parts []lrs.Attachment
	switch mt, params := mediaTypeParams(c); mt {
	case "application/json", "":
		b, err := s.readBodyFrom(c, func(r io.Reader) io.Reader { return countStatements(r, s.MaxStatements) })
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
	if c.Request.ContentLength > s.MaxBodyBytes {
		return nil, nil, tooLarge(s.MaxBodyBytes)
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
			return nil, nil, s.multipartError(err)
		}
		var pr io.Reader = p
		if i == 0 {
			pr = countStatements(p, s.MaxStatements)
		}
		content, err := io.ReadAll(pr)
		if err != nil {
			return nil, nil, s.multipartError(err)
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

func (s *Server) multipartError(err error) error {
	if e := s.bodyError(err, s.MaxBodyBytes); lrs.ErrorCode(e) != lrs.EINVALID {
		return e
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
	Format      string
	Attachments bool
	// params are the query's public parameters (moreParams), for its more
	// link.
	params url.Values
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
	pg, err := s.buildPage(ctx, p, gp, stmts, more, langs)
	if err != nil {
		s.fail(c, err)
		return
	}
	if !gp.Attachments {
		c.Header("Content-Type", "application/json")
		c.Status(http.StatusOK)
		pg.writeJSON(c.Writer)
		return
	}
	s.writeMultipart(c, pg.writeJSON, pg.atts)
}

// page is one page of a GET /statements query, cut to MaxResponseBytes.
type page struct {
	outs []json.RawMessage // the statements, rendered
	more string            // the more link, or ""
	atts []lrs.Attachment  // with attachments=true, theirs
}

// buildPage renders the statements of a page while they (and, with
// attachments=true, their attachments) fit in MaxResponseBytes, and links
// the rest with more: a page past the limit is cut short, never refused. A
// page always holds its first statement, however large.
func (s *Server) buildPage(ctx context.Context, p *lrs.Principal, gp *getParams, stmts []lrs.StoredStatement, more bool, langs []string) (*page, error) {
	pg := &page{outs: make([]json.RawMessage, 0, len(stmts))}
	var size int64
	for i, st := range stmts {
		out, err := lrs.Render(st.Body, gp.Format, langs)
		if err != nil {
			return nil, err
		}
		if i > 0 && size+int64(len(out))+1 > s.MaxResponseBytes {
			more = true
			break
		}
		pg.outs = append(pg.outs, out)
		size += int64(len(out)) + 1
	}
	n := len(pg.outs)
	if gp.Attachments {
		atts, kept, err := s.pageAttachments(ctx, p, stmts[:n], pg.outs)
		if err != nil {
			return nil, err
		}
		if kept < n {
			n, more = kept, true
			pg.outs = pg.outs[:n]
		}
		pg.atts = atts
	}
	if more && n > 0 {
		pg.more = PrefixXAPI + "/statements?more=" + encodeMore(gp, stmts[n-1].PK)
	}
	return pg, nil
}

// pageAttachments fetches the attachments of a page's statements one
// statement at a time, while the statements and the attachments fetched so
// far fit in MaxResponseBytes. It returns them (each hash once) and how
// many statements they are for.
func (s *Server) pageAttachments(ctx context.Context, p *lrs.Principal, stmts []lrs.StoredStatement, outs []json.RawMessage) ([]lrs.Attachment, int, error) {
	var atts []lrs.Attachment
	seen := map[string]bool{}
	var total int64
	for i, st := range stmts {
		got, err := s.Statements.Attachments(ctx, p, [][]byte{st.Body})
		if err != nil {
			return nil, 0, err
		}
		add := int64(len(outs[i])) + 1
		var fresh []lrs.Attachment
		for _, a := range got {
			if !seen[a.SHA2] {
				fresh = append(fresh, a)
				add += int64(len(a.Content))
			}
		}
		if i > 0 && total+add > s.MaxResponseBytes {
			return atts, i, nil
		}
		for _, a := range fresh {
			seen[a.SHA2] = true
		}
		atts = append(atts, fresh...)
		total += add
	}
	return atts, len(stmts), nil
}

// writeJSON writes the page as the StatementResult object.
func (pg *page) writeJSON(w io.Writer) {
	io.WriteString(w, `{"statements":[`)
	for i, out := range pg.outs {
		if i > 0 {
			io.WriteString(w, ",")
		}
		w.Write(out)
	}
	io.WriteString(w, `],"more":`)
	mb, _ := json.Marshal(pg.more)
	w.Write(mb)
	io.WriteString(w, "}")
}

// writeResult writes a single statement. When the client asked for
// attachments it is multipart/mixed: the JSON first, then one part per
// attachment the statement (whose stored body is given) declares.
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
	s.writeMultipart(c, func(w io.Writer) { w.Write(body) }, atts)
}

// writeMultipart writes a multipart/mixed statement result: the JSON part
// that first writes, then one part per attachment.
func (s *Server) writeMultipart(c *gin.Context, first func(io.Writer), atts []lrs.Attachment) {
	mw := multipart.NewWriter(c.Writer)
	c.Header("Content-Type", "multipart/mixed; boundary="+mw.Boundary())
	c.Status(http.StatusOK)
	h := textproto.MIMEHeader{}
	h.Set("Content-Type", "application/json")
	pw, _ := mw.CreatePart(h)
	first(pw)
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
	gp := &getParams{params: url.Values{}}
	for k, v := range q {
		if moreParams[k] {
			gp.params[k] = v
		}
	}
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

// moreParams are the parameters a more link carries: the public ones of a
// query, nothing internal to lrs.Query.
var moreParams = map[string]bool{
	"agent": true, "verb": true, "activity": true, "registration": true, "related_activities": true,
	"related_agents": true, "since": true, "until": true, "limit": true, "format": true, "attachments": true,
	"ascending": true,
}

// moreState is what a more token holds: the query's public parameters as
// the client gave them (validated) and the keyset position, so a page
// costs the same however deep it is. Following the link validates the
// parameters again as a query does: a hand-written token can ask only what
// a query could.
type moreState struct {
	Q     string `json:"q"`
	After int64  `json:"after"`
}

func encodeMore(gp *getParams, after int64) string {
	b, _ := json.Marshal(moreState{Q: gp.params.Encode(), After: after})
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeMore(tok string) (*getParams, error) {
	bad := lrs.Errorf(lrs.EINVALID, "more: not a valid more token")
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return nil, bad
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var ms moreState
	if dec.Decode(&ms) != nil || ms.After <= 0 {
		return nil, bad
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, bad
	}
	q, err := url.ParseQuery(ms.Q)
	if err != nil {
		return nil, bad
	}
	for k, v := range q {
		if !moreParams[k] || len(v) != 1 {
			return nil, bad
		}
	}
	gp, err := parseQuery(q)
	if err != nil {
		return nil, lrs.Errorf(lrs.EINVALID, "more: %s", lrs.ErrorMessage(err))
	}
	gp.After = ms.After
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
