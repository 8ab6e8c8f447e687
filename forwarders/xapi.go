package forwarders

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// XAPI versions a target can speak.
const (
	Version103 = "1.0.3"
	Version200 = "2.0.0"
)

// XAPIConfig configures a forwarder to another LRS.
type XAPIConfig struct {
	Name     string // defaults to the endpoint's host
	Endpoint string // the LRS's xAPI base URL, e.g. https://lrs.example.org/xapi (".../statements" is appended)
	Version  string // X-Experience-API-Version: "1.0.3" (default, most widely accepted) or "2.0.0"
	Username string // Basic auth (with Password)
	Password string
	Token    string        // Bearer auth; not together with Username/Password
	Timeout  time.Duration // per HTTP request; default DefaultTimeout
	Headers  map[string]string
	Client   *http.Client // optional; redirects are not followed unless Client.CheckRedirect is set
}

// XAPI forwards statements to another LRS:
//
//   - POST {endpoint}/statements with a JSON array, one request per batch. Statements keep their ids,
//     so a resend is harmless at the receiver.
//   - 409 on the batch (the receiver has one of the ids already): each statement is sent alone with
//     PUT {endpoint}/statements?statementId=ID and classified alone (2xx/204 OK — LRSs answer 204 for a
//     same-content PUT; 409 Permanent: the receiver holds different content under that id).
//   - 400 on a batch of more than one: each statement is POSTed alone to isolate the bad one (the good
//     ones get OK, the bad one Permanent).
//   - otherwise the shared classification (see the package doc) applies to every item of the batch.
//
// While splitting, the first retryable failure stops the split: the remaining items get a retryable
// "not sent" outcome instead of each waiting out a timeout against a target that went down.
//
// For a "1.0.3" target, 2.0-only properties are removed (context.contextAgents and context.contextGroups,
// also inside a SubStatement) and a "version" not starting with "1.0." is set to "1.0.0". "authority" and
// "stored" are kept (the receiver overwrites them). Items that are not a JSON object are Permanent and never sent.
type XAPI struct {
	name          string
	statements    *url.URL
	statementsURL string // statements.String()
	version       string
	auth          string
	timeout       time.Duration
	headers       map[string]string
	hdr           http.Header // every request's headers (cloned per request)
	client        *http.Client
}

// NewXAPI validates c and returns the forwarder.
func NewXAPI(c XAPIConfig) (*XAPI, error) {
	u, err := validateURL("xapi endpoint", c.Endpoint)
	if err != nil {
		return nil, err
	}
	if u.RawQuery != "" {
		return nil, errors.New("xapi endpoint: must not have a query")
	}
	switch c.Version {
	case "":
		c.Version = Version103
	case Version103, Version200:
	default:
		return nil, errors.New(`xapi version: must be "1.0.3" or "2.0.0", got "` + c.Version + `"`)
	}
	basic := c.Username != "" || c.Password != ""
	if basic && c.Token != "" {
		return nil, errors.New("xapi auth: set either username/password (Basic) or token (Bearer), not both")
	}
	if c.Username == "" && c.Password != "" {
		return nil, errors.New("xapi auth: password without username")
	}
	if strings.ContainsAny(c.Username, ":\r\n") {
		return nil, errors.New("xapi auth: username must not contain ':' or line breaks")
	}
	if strings.ContainsAny(c.Password+c.Token, "\r\n") {
		return nil, errors.New("xapi auth: credentials must not contain line breaks")
	}
	if c.Timeout < 0 {
		return nil, errors.New("xapi timeout: must not be negative")
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if err := validateHeaders(c.Headers); err != nil {
		return nil, errors.New("xapi " + err.Error())
	}
	x := &XAPI{
		name:    c.Name,
		version: c.Version,
		timeout: c.Timeout,
		headers: make(map[string]string, len(c.Headers)),
		client:  prepareClient(c.Client),
	}
	if x.name == "" {
		x.name = u.Host
	}
	for k, v := range c.Headers {
		x.headers[k] = v
	}
	switch {
	case basic:
		r, _ := http.NewRequest(http.MethodGet, "http://x/", nil)
		r.SetBasicAuth(c.Username, c.Password)
		x.auth = r.Header.Get("Authorization")
	case c.Token != "":
		x.auth = "Bearer " + c.Token
	}
	st := *u
	st.Path = strings.TrimSuffix(u.Path, "/") + "/statements"
	st.RawPath = ""
	x.statements = &st
	x.statementsURL = st.String()
	h := make(http.Header, len(x.headers)+5)
	for k, v := range x.headers {
		h.Set(k, v)
	}
	h.Set("Content-Type", "application/json")
	h.Set("Accept", "application/json")
	h.Set("User-Agent", UserAgent)
	h.Set("X-Experience-API-Version", x.version)
	if x.auth != "" {
		h.Set("Authorization", x.auth)
	}
	x.hdr = h
	return x, nil
}

// Name returns the target's name.
func (x *XAPI) Name() string { return x.name }

// Version returns the xAPI version the target is spoken to with.
func (x *XAPI) Version() string { return x.version }

// header returns the headers of a request (a copy: the client may add to them).
func (x *XAPI) header() http.Header { return x.hdr.Clone() }

type xapiItem struct {
	idx  int    // position in items / outcomes
	id   string // statement id for the PUT fallback ("" if unknown)
	body []byte
}

// Send delivers items as one batch (see the type doc for the fallbacks).
func (x *XAPI) Send(ctx context.Context, items []Item) []Outcome {
	out := make([]Outcome, len(items))
	batch := make([]xapiItem, 0, len(items))
	size := 2
	for i, it := range items {
		body, id, err := x.prepare(it.Statement)
		if err != nil {
			out[i] = invalidJSON(err)
			continue
		}
		if id == "" {
			id = it.StatementID
		}
		batch = append(batch, xapiItem{idx: i, id: id, body: body})
		size += len(body) + 1
	}
	if len(batch) == 0 {
		return out
	}
	// The request body: the statements' bytes joined into an array.
	body := make([]byte, 0, size)
	body = append(body, '[')
	for i, b := range batch {
		if i > 0 {
			body = append(body, ',')
		}
		body = append(body, b.body...)
	}
	body = append(body, ']')
	r := do(ctx, x.client, x.timeout, http.MethodPost, x.statementsURL, x.header(), body)
	switch {
	case r.err == nil && r.status == http.StatusConflict:
		x.each(ctx, batch, out, true)
	case r.err == nil && r.status == http.StatusBadRequest && len(batch) > 1:
		x.each(ctx, batch, out, false)
	default:
		o := classify(ctx, r, x.timeout, time.Now())
		for _, b := range batch {
			out[b.idx] = o
		}
	}
	return out
}

// each sends the statements one at a time: with PUT (preferPut, after a 409) or POST (after a 400).
func (x *XAPI) each(ctx context.Context, batch []xapiItem, out []Outcome, preferPut bool) {
	for n, b := range batch {
		var o Outcome
		if preferPut && b.id != "" {
			o = x.put(ctx, b)
		} else {
			r := do(ctx, x.client, x.timeout, http.MethodPost, x.statementsURL, x.header(), b.body)
			o = classify(ctx, r, x.timeout, time.Now())
			if r.err == nil && r.status == http.StatusConflict && b.id != "" {
				o = x.put(ctx, b)
			}
		}
		out[b.idx] = o
		if o.Retryable() {
			for _, rest := range batch[n+1:] {
				out[rest.idx] = notSent(o)
			}
			return
		}
	}
}

// put sends one statement with PUT ?statementId=. 204 (also for identical content already stored) is OK;
// 409 means different content under the same id: Permanent.
func (x *XAPI) put(ctx context.Context, b xapiItem) Outcome {
	u := *x.statements
	u.RawQuery = url.Values{"statementId": {b.id}}.Encode()
	r := do(ctx, x.client, x.timeout, http.MethodPut, u.String(), x.header(), b.body)
	o := classify(ctx, r, x.timeout, time.Now())
	if r.err == nil && r.status == http.StatusConflict {
		o.Error = truncate("conflict: the receiver holds a different statement with id " + b.id + ": " + o.Error)
	}
	return o
}

// prepare validates a statement, adapts it to the target version and returns its id.
//
// Most statements are sent as stored, without being decoded: one scan
// (scanStatement) validates them and finds the id, and whether a 1.0.3
// target needs anything changed. A 2.0.0 target takes every valid statement
// as it is; for a 1.0.3 target, statements without a "contextAgents" or
// "contextGroups" key are sent as they are, or with the value of their one
// top-level "version" replaced by "1.0.0" in place when that is the only
// change. Everything else takes the decoding path, prepareDecoded.
func (x *XAPI) prepare(raw json.RawMessage) (body []byte, id string, err error) {
	info, ok := scanStatement(raw)
	switch {
	case !ok:
	case x.version != Version103:
		return raw, info.id, nil
	case info.strip || info.verOdd:
	case !info.verFix:
		return raw, info.id, nil
	case info.versions == 1:
		b := make([]byte, 0, len(raw)+8)
		b = append(b, raw[:info.verStart]...)
		b = append(b, `"1.0.0"`...)
		b = append(b, raw[info.verEnd:]...)
		return b, info.id, nil
	}
	return x.prepareDecoded(raw)
}

// prepareDecoded is prepare by decoding the statement.
func (x *XAPI) prepareDecoded(raw json.RawMessage) (body []byte, id string, err error) {
	if err := checkObject(raw); err != nil {
		return nil, "", err
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, "", err
	}
	if v, ok := m["id"]; ok {
		_ = json.Unmarshal(v, &id)
	}
	if x.version != Version103 {
		return raw, id, nil
	}
	changed := false
	if c, ok := m["context"]; ok {
		if nc, ch := stripContext(c); ch {
			m["context"], changed = nc, true
		}
	}
	if v, ok := m["version"]; ok {
		var s string
		if json.Unmarshal(v, &s) == nil && !strings.HasPrefix(s, "1.0.") {
			m["version"], changed = json.RawMessage(`"1.0.0"`), true
		}
	}
	if obj, ok := m["object"]; ok {
		var om map[string]json.RawMessage
		if json.Unmarshal(obj, &om) == nil {
			var ot string
			_ = json.Unmarshal(om["objectType"], &ot)
			if c, ok := om["context"]; ok && ot == "SubStatement" {
				if nc, ch := stripContext(c); ch {
					om["context"] = nc
					if b, err := marshal(om); err == nil {
						m["object"], changed = b, true
					}
				}
			}
		}
	}
	if !changed {
		return raw, id, nil
	}
	b, err := marshal(m)
	if err != nil {
		return nil, "", err
	}
	return b, id, nil
}

// stripContext removes the 2.0-only context properties.
func stripContext(c json.RawMessage) (json.RawMessage, bool) {
	var cm map[string]json.RawMessage
	if json.Unmarshal(c, &cm) != nil {
		return c, false
	}
	changed := false
	for _, k := range []string{"contextAgents", "contextGroups"} {
		if _, ok := cm[k]; ok {
			delete(cm, k)
			changed = true
		}
	}
	if !changed {
		return c, false
	}
	b, err := marshal(cm)
	if err != nil {
		return c, false
	}
	return b, true
}

// marshal encodes without HTML escaping and without the trailing newline.
func marshal(v any) (json.RawMessage, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}
