package httpapi

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xapibridge/bridge/adapters/moodle"
	"github.com/xapibridge/bridge/forwarders/dispatch"
	"github.com/xapibridge/bridge/lrs"
	"github.com/xapibridge/bridge/lrs/admin"
	"github.com/xapibridge/bridge/lrs/xapi"
)

// Hand-written fakes of the interfaces in services.go. Every fake method
// records its name ("Tenants.CreateOrganisation") and arguments in a log
// shared by all the fakes of one test, and returns canned values, or err
// when it is set.

type call struct {
	name string
	args []any
}

type callLog struct {
	mu    sync.Mutex
	calls []call
}

func (l *callLog) add(name string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls = append(l.calls, call{name, args})
}

func (l *callLog) all() []call {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]call(nil), l.calls...)
}

func (l *callLog) names() []string {
	var out []string
	for _, c := range l.all() {
		out = append(out, c.name)
	}
	return out
}

// get returns the first call of name.
func (l *callLog) get(name string) (call, bool) {
	for _, c := range l.all() {
		if c.name == name {
			return c, true
		}
	}
	return call{}, false
}

// callsTo counts the calls whose name starts with prefix ("Statements.").
func (l *callLog) callsTo(prefix string) int {
	n := 0
	for _, c := range l.all() {
		if strings.HasPrefix(c.name, prefix) {
			n++
		}
	}
	return n
}

// mustGet fails the test unless name was called, and returns the call.
func (l *callLog) mustGet(t *testing.T, name string) call {
	t.Helper()
	c, ok := l.get(name)
	if !ok {
		t.Fatalf("%s was not called; calls: %v", name, l.names())
	}
	return c
}

type fakeStatements struct {
	log     *callLog
	err     error
	ids     []string
	stmt    *lrs.StoredStatement
	result  []lrs.StoredStatement
	more    bool
	atts    []lrs.Attachment
	through time.Time
}

func (f *fakeStatements) StoreStatements(_ context.Context, p *lrs.Principal, v xapi.Version, stmts []map[string]any, batch bool, parts []lrs.Attachment) ([]string, error) {
	f.log.add("Statements.StoreStatements", p, v, stmts, batch, parts)
	return f.ids, f.err
}

func (f *fakeStatements) GetStatement(_ context.Context, p *lrs.Principal, id string, voided bool) (*lrs.StoredStatement, error) {
	f.log.add("Statements.GetStatement", p, id, voided)
	return f.stmt, f.err
}

func (f *fakeStatements) QueryStatements(_ context.Context, p *lrs.Principal, q lrs.Query) ([]lrs.StoredStatement, bool, error) {
	f.log.add("Statements.QueryStatements", p, q)
	return f.result, f.more, f.err
}

func (f *fakeStatements) Attachments(_ context.Context, p *lrs.Principal, bodies [][]byte) ([]lrs.Attachment, error) {
	f.log.add("Statements.Attachments", p, bodies)
	return f.atts, f.err
}

func (f *fakeStatements) ConsistentThrough() time.Time {
	f.log.add("Statements.ConsistentThrough")
	return f.through
}

type fakeDocuments struct {
	log *callLog
	err error
	doc *lrs.Document
}

func (f *fakeDocuments) Put(_ context.Context, p *lrs.Principal, v xapi.Version, w *lrs.DocumentWrite) (*lrs.Document, error) {
	f.log.add("Documents.Put", p, v, w)
	return f.doc, f.err
}

func (f *fakeDocuments) Post(_ context.Context, p *lrs.Principal, v xapi.Version, w *lrs.DocumentWrite) (*lrs.Document, error) {
	f.log.add("Documents.Post", p, v, w)
	return f.doc, f.err
}

func (f *fakeDocuments) Get(_ context.Context, p *lrs.Principal, k lrs.DocumentKey) (*lrs.Document, error) {
	f.log.add("Documents.Get", p, k)
	return f.doc, f.err
}

func (f *fakeDocuments) List(_ context.Context, p *lrs.Principal, k lrs.DocumentKey, since *time.Time) ([]string, time.Time, error) {
	f.log.add("Documents.List", p, k, since)
	return []string{"a", "b"}, time.Time{}, f.err
}

func (f *fakeDocuments) Delete(_ context.Context, p *lrs.Principal, k lrs.DocumentKey, pc lrs.Preconditions) error {
	f.log.add("Documents.Delete", p, k, pc)
	return f.err
}

func (f *fakeDocuments) DeleteAll(_ context.Context, p *lrs.Principal, k lrs.DocumentKey) error {
	f.log.add("Documents.DeleteAll", p, k)
	return f.err
}

func (f *fakeDocuments) Activity(_ context.Context, p *lrs.Principal, id string) ([]byte, error) {
	f.log.add("Documents.Activity", p, id)
	return []byte(`{"id":"` + id + `","objectType":"Activity"}`), f.err
}

func (f *fakeDocuments) Person(p *lrs.Principal, agent map[string]any) (map[string]any, error) {
	f.log.add("Documents.Person", p, agent)
	return map[string]any{"objectType": "Person", "mbox": []any{agent["mbox"]}}, f.err
}

type fakeAuth struct {
	log       *callLog
	principal *lrs.Principal
	err       error
}

func (f *fakeAuth) Authenticate(_ context.Context, key, secret string) (*lrs.Principal, error) {
	f.log.add("Auth.Authenticate", key, secret)
	if f.err != nil {
		return nil, f.err
	}
	return f.principal, nil
}

type fakeTenants struct {
	log   *callLog
	err   error
	store *lrs.Store
	// Export writes exportOut, then returns exportErr (or err).
	exportOut string
	exportErr error
}

func (f *fakeTenants) org(id int64, name string) *lrs.Organisation {
	return &lrs.Organisation{ID: id, Name: name}
}

func (f *fakeTenants) cred(key string) *admin.CredentialInfo {
	return &admin.CredentialInfo{Key: key, StoreID: f.store.ID, Scopes: []string{"all"}}
}

func (f *fakeTenants) CreateOrganisation(_ context.Context, name string) (*lrs.Organisation, error) {
	f.log.add("Tenants.CreateOrganisation", name)
	return f.org(9, name), f.err
}

func (f *fakeTenants) ListOrganisations(context.Context) ([]*lrs.Organisation, error) {
	f.log.add("Tenants.ListOrganisations")
	return []*lrs.Organisation{f.org(1, "default")}, f.err
}

func (f *fakeTenants) GetOrganisation(_ context.Context, id int64) (*lrs.Organisation, error) {
	f.log.add("Tenants.GetOrganisation", id)
	return f.org(id, "got"), f.err
}

func (f *fakeTenants) RenameOrganisation(_ context.Context, id int64, name string) (*lrs.Organisation, error) {
	f.log.add("Tenants.RenameOrganisation", id, name)
	return f.org(id, name), f.err
}

func (f *fakeTenants) DeleteOrganisation(_ context.Context, id int64) error {
	f.log.add("Tenants.DeleteOrganisation", id)
	return f.err
}

func (f *fakeTenants) CreateStore(_ context.Context, orgID int64, name string) (*lrs.Store, error) {
	f.log.add("Tenants.CreateStore", orgID, name)
	return &lrs.Store{ID: 50, OrgID: orgID, Name: name}, f.err
}

func (f *fakeTenants) ListStores(_ context.Context, orgID int64) ([]*lrs.Store, error) {
	f.log.add("Tenants.ListStores", orgID)
	return []*lrs.Store{f.store}, f.err
}

func (f *fakeTenants) GetStore(_ context.Context, id int64) (*lrs.Store, error) {
	f.log.add("Tenants.GetStore", id)
	return f.store, f.err
}

func (f *fakeTenants) ResolveStore(_ context.Context, ref string) (*lrs.Store, error) {
	f.log.add("Tenants.ResolveStore", ref)
	return f.store, f.err
}

func (f *fakeTenants) UpdateStore(_ context.Context, id int64, u admin.StoreUpdate) (*lrs.Store, error) {
	f.log.add("Tenants.UpdateStore", id, u)
	st := *f.store
	st.ID = id
	if u.Name != nil {
		st.Name = *u.Name
	}
	if u.Retention != nil {
		st.Retention = *u.Retention
	}
	return &st, f.err
}

func (f *fakeTenants) DeleteStore(_ context.Context, id int64, confirm string) error {
	f.log.add("Tenants.DeleteStore", id, confirm)
	return f.err
}

func (f *fakeTenants) StoreStats(_ context.Context, id int64) (*lrs.StoreStats, error) {
	f.log.add("Tenants.StoreStats", id)
	return &lrs.StoreStats{StoreID: id, Statements: 3}, f.err
}

func (f *fakeTenants) CreateCredential(_ context.Context, storeID int64, spec admin.CredentialSpec) (*admin.CredentialInfo, string, error) {
	f.log.add("Tenants.CreateCredential", storeID, spec)
	return f.cred(spec.Key), "s3cret", f.err
}

func (f *fakeTenants) ListCredentials(_ context.Context, storeID int64) ([]*admin.CredentialInfo, error) {
	f.log.add("Tenants.ListCredentials", storeID)
	return []*admin.CredentialInfo{f.cred("k1")}, f.err
}

func (f *fakeTenants) GetCredential(_ context.Context, key string) (*admin.CredentialInfo, error) {
	f.log.add("Tenants.GetCredential", key)
	return f.cred(key), f.err
}

func (f *fakeTenants) UpdateCredential(_ context.Context, key string, u admin.CredentialUpdate) (*admin.CredentialInfo, error) {
	f.log.add("Tenants.UpdateCredential", key, u)
	return f.cred(key), f.err
}

func (f *fakeTenants) RotateCredential(_ context.Context, key string) (*admin.CredentialInfo, string, error) {
	f.log.add("Tenants.RotateCredential", key)
	return f.cred(key), "n3w", f.err
}

func (f *fakeTenants) DeleteCredential(_ context.Context, key string) error {
	f.log.add("Tenants.DeleteCredential", key)
	return f.err
}

func (f *fakeTenants) CreatePerson(_ context.Context, storeID int64, name string, agents []json.RawMessage) (*lrs.Person, error) {
	f.log.add("Tenants.CreatePerson", storeID, name, agents)
	return &lrs.Person{ID: 5, StoreID: storeID, Name: name}, f.err
}

func (f *fakeTenants) GetPerson(_ context.Context, storeID, id int64) (*lrs.Person, error) {
	f.log.add("Tenants.GetPerson", storeID, id)
	return &lrs.Person{ID: id, StoreID: storeID}, f.err
}

func (f *fakeTenants) ListPersons(_ context.Context, storeID, after int64, limit int) ([]*lrs.Person, bool, error) {
	f.log.add("Tenants.ListPersons", storeID, after, limit)
	return []*lrs.Person{{ID: 5, StoreID: storeID}}, false, f.err
}

func (f *fakeTenants) AddPersonAgents(_ context.Context, storeID, id int64, agents []json.RawMessage) (*lrs.Person, error) {
	f.log.add("Tenants.AddPersonAgents", storeID, id, agents)
	return &lrs.Person{ID: id, StoreID: storeID}, f.err
}

func (f *fakeTenants) MergePersons(_ context.Context, storeID, into, from int64) (*lrs.Person, error) {
	f.log.add("Tenants.MergePersons", storeID, into, from)
	return &lrs.Person{ID: into, StoreID: storeID}, f.err
}

func (f *fakeTenants) DeletePerson(_ context.Context, storeID, id int64) error {
	f.log.add("Tenants.DeletePerson", storeID, id)
	return f.err
}

func (f *fakeTenants) PersonStatements(_ context.Context, storeID, personID int64, q lrs.Query) ([]lrs.StoredStatement, bool, error) {
	f.log.add("Tenants.PersonStatements", storeID, personID, q)
	return []lrs.StoredStatement{{PK: 1, Body: []byte(`{"id":"x"}`)}}, false, f.err
}

func (f *fakeTenants) Export(_ context.Context, storeID int64, q lrs.Query, format string, columns []string, w io.Writer) (int64, error) {
	f.log.add("Tenants.Export", storeID, q, format, columns)
	if f.exportOut != "" {
		io.WriteString(w, f.exportOut)
		if fl, ok := w.(http.Flusher); ok {
			fl.Flush()
		}
	}
	if f.exportErr != nil {
		return 0, f.exportErr
	}
	return int64(strings.Count(f.exportOut, "\n")), f.err
}

func (f *fakeTenants) ErasePerson(_ context.Context, storeID, personID int64, requestedBy string) (*lrs.Erasure, error) {
	f.log.add("Tenants.ErasePerson", storeID, personID, requestedBy)
	return &lrs.Erasure{ID: 1, StoreID: storeID, PersonID: personID, RequestedBy: requestedBy}, f.err
}

func (f *fakeTenants) EraseAgent(_ context.Context, storeID int64, agent json.RawMessage, requestedBy string) (*lrs.Erasure, error) {
	f.log.add("Tenants.EraseAgent", storeID, agent, requestedBy)
	return &lrs.Erasure{ID: 2, StoreID: storeID, RequestedBy: requestedBy}, f.err
}

func (f *fakeTenants) ListErasures(_ context.Context, storeID int64) ([]*lrs.Erasure, error) {
	f.log.add("Tenants.ListErasures", storeID)
	return []*lrs.Erasure{{ID: 1, StoreID: storeID}}, f.err
}

func (f *fakeTenants) ApplyRetention(_ context.Context, now time.Time, archiveDir string) ([]admin.RetentionRun, error) {
	f.log.add("Tenants.ApplyRetention", now, archiveDir)
	return []admin.RetentionRun{{StoreID: f.store.ID, Store: "default/main"}}, f.err
}

type fakeForwarding struct {
	log *callLog
	err error
}

func (f *fakeForwarding) Status(context.Context) ([]dispatch.TargetStatus, error) {
	f.log.add("Forwarding.Status")
	return []dispatch.TargetStatus{{Target: "t1", Pending: 2}}, f.err
}

func (f *fakeForwarding) Dead(_ context.Context, df lrs.DeadFilter, withStatements bool) ([]dispatch.DeadLetter, error) {
	f.log.add("Forwarding.Dead", df, withStatements)
	return []dispatch.DeadLetter{{ID: 1, Target: df.Target}}, f.err
}

func (f *fakeForwarding) Replay(_ context.Context, df lrs.DeadFilter) (int64, error) {
	f.log.add("Forwarding.Replay", df)
	return 3, f.err
}

func (f *fakeForwarding) Discard(_ context.Context, df lrs.DeadFilter) (int64, error) {
	f.log.add("Forwarding.Discard", df)
	return 4, f.err
}

func (f *fakeForwarding) Backfill(_ context.Context, storeID int64, rule string, since time.Time) (int64, error) {
	f.log.add("Forwarding.Backfill", storeID, rule, since)
	return 5, f.err
}

func (f *fakeForwarding) RegisterPersonal(_ context.Context, storeID int64, r dispatch.PersonalRegistration) (*dispatch.PersonalView, error) {
	f.log.add("Forwarding.RegisterPersonal", storeID, r)
	return &dispatch.PersonalView{StoreID: storeID, Endpoint: r.Endpoint}, f.err
}

func (f *fakeForwarding) ListPersonal(_ context.Context, storeID int64) ([]*dispatch.PersonalView, error) {
	f.log.add("Forwarding.ListPersonal", storeID)
	return []*dispatch.PersonalView{{StoreID: 1, Endpoint: "https://p.example.com"}}, f.err
}

func (f *fakeForwarding) DeletePersonal(_ context.Context, storeID int64, agent map[string]any) error {
	f.log.add("Forwarding.DeletePersonal", storeID, agent)
	return f.err
}

type fakeMoodle struct {
	log     *callLog
	err     error
	sources []moodle.SourceStatus
}

func (f *fakeMoodle) Sources(context.Context) ([]moodle.SourceStatus, error) {
	f.log.add("Moodle.Sources")
	return f.sources, f.err
}

// fakes is one test's set of fakes sharing a call log.
type fakes struct {
	log   *callLog
	st    *fakeStatements
	docs  *fakeDocuments
	auth  *fakeAuth
	ten   *fakeTenants
	fwd   *fakeForwarding
	mdl   *fakeMoodle
	ready func(context.Context) error
}

const (
	testKey, testSecret = "key1", "secret1"
	adminToken          = "admin-token-1"
)

var consistentThrough = time.Date(2025, 3, 4, 5, 6, 7, 8_000_000, time.UTC)

func newFakes() *fakes {
	log := &callLog{}
	return &fakes{
		log: log,
		st:  &fakeStatements{log: log, ids: []string{"id-1"}, through: consistentThrough},
		docs: &fakeDocuments{log: log, doc: &lrs.Document{ContentType: "application/json", Body: []byte(`{"x":1}`),
			ETag: "abc123", Updated: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)}},
		auth: &fakeAuth{log: log, principal: &lrs.Principal{Key: testKey, StoreID: 7, Scopes: []string{"all"}}},
		ten:  &fakeTenants{log: log, store: &lrs.Store{ID: 42, OrgID: 1, Name: "main"}},
		fwd:  &fakeForwarding{log: log},
		mdl:  &fakeMoodle{log: log, sources: []moodle.SourceStatus{{Name: "m1", WWWRoot: "https://moodle.example.com", Behind: 3}}},
		ready: func(context.Context) error {
			log.add("Ready")
			return nil
		},
	}
}

var quietLogger = slog.New(slog.NewTextHandler(io.Discard, nil))

// server is a Server with every service set to f's fakes.
func (f *fakes) server() *Server {
	return &Server{
		Statements:  f.st,
		Documents:   f.docs,
		Auth:        f.auth,
		Ready:       f.ready,
		Logger:      quietLogger,
		AdminTokens: []string{adminToken},
		Admin:       f.ten,
		Moodle:      f.mdl,
		ArchiveDir:  "/nonexistent/archive",
		Forwarding:  f.fwd,
	}
}

func (f *fakes) handler() http.Handler { return f.server().Handler() }

// xapiRequest is an authenticated xAPI 2.0.0 request.
func xapiRequest(method, target string, body io.Reader) *http.Request {
	r := httptest.NewRequest(method, target, body)
	r.Header.Set("X-Experience-API-Version", "2.0.0")
	r.SetBasicAuth(testKey, testSecret)
	if body != nil && method != http.MethodGet {
		r.Header.Set("Content-Type", "application/json")
	}
	return r
}

// adminRequest is an admin API request with the valid bearer token.
func adminRequest(method, target, body string) *http.Request {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	r := httptest.NewRequest(method, target, rd)
	r.Header.Set("Authorization", "Bearer "+adminToken)
	if body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	return r
}

func serve(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// errorBody decodes an error response, failing unless it is exactly
// {"error": ..., "message": ...}.
func errorBody(t *testing.T, w *httptest.ResponseRecorder) (code, message string) {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &m); err != nil {
		t.Fatalf("error body is not JSON: %v: %q", err, w.Body.String())
	}
	code, ok1 := m["error"].(string)
	message, ok2 := m["message"].(string)
	if !ok1 || !ok2 || len(m) != 2 {
		t.Fatalf(`error body is not {"error": code, "message": text}: %s`, w.Body.String())
	}
	return code, message
}

// spyBody is a request body that records whether anything read it.
type spyBody struct {
	mu   sync.Mutex
	r    io.Reader
	read bool
}

func newSpyBody(s string) *spyBody { return &spyBody{r: strings.NewReader(s)} }

func (b *spyBody) Read(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.read = true
	return b.r.Read(p)
}

func (b *spyBody) Close() error { return nil }

func (b *spyBody) wasRead() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.read
}

// basic is the credentials part of a Basic Authorization header.
func basic(key, secret string) string {
	return base64.StdEncoding.EncodeToString([]byte(key + ":" + secret))
}

// httptestRequest is a request with a body and no headers.
func httptestRequest(method, target, body string) *http.Request {
	return httptest.NewRequest(method, target, strings.NewReader(body))
}
