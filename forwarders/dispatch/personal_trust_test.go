package dispatch_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/xapibridge/bridge/forwarders"
	"github.com/xapibridge/bridge/forwarders/dispatch"
	"github.com/xapibridge/bridge/lrs"
	"github.com/xapibridge/bridge/lrs/store"
	"github.com/xapibridge/bridge/lrs/xapi"
	"github.com/xapibridge/bridge/rules"
)

// Issue 15, Low #10: personal forwarding. These tests use the personal
// target through the real store (SQLite), Personal and Router.

func personalDB(t *testing.T) *store.DB {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, store.SQLite, filepath.Join(t.TempDir(), "personal.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return db
}

func personalSealer(t *testing.T) *dispatch.Sealer {
	t.Helper()
	s, err := dispatch.NewSealer("test key")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// credentialAuthority is the authority the bridge writes into statements
// stored with credential key (lrs.Authenticator).
func credentialAuthority(key string) map[string]any {
	return map[string]any{"objectType": "Agent", "account": map[string]any{"homePage": "http://bridge.example", "name": key}}
}

// moodleAuthority is the authority of the statements of Moodle source name.
func moodleAuthority(name string) map[string]any {
	return map[string]any{"objectType": "Agent", "account": map[string]any{"homePage": "http://bridge.example", "name": "moodle:" + name}}
}

func learner(name string) map[string]any {
	return map[string]any{"objectType": "Agent", "mbox": "mailto:" + name + "@example.org"}
}

func learnerStatement(actor map[string]any) map[string]any {
	return map[string]any{
		"id":     uuid.NewString(),
		"actor":  actor,
		"verb":   map[string]any{"id": "http://adlnet.gov/expapi/verbs/completed", "display": map[string]any{"en": "completed"}},
		"object": map[string]any{"objectType": "Activity", "id": "https://moodle.example.org/mod/quiz/view.php?id=7"},
	}
}

func personalRouter(t *testing.T, p dispatch.PersonalLookup, d *dispatch.Dispatcher) *dispatch.Router {
	t.Helper()
	e, err := rules.Compile([]rules.Rule{{Name: "learners-own", Targets: []string{dispatch.PersonalTarget}}}, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	return dispatch.NewRouter(e, p, d, nil, nil)
}

func register(t *testing.T, a *dispatch.Admin, who, endpoint string, cred dispatch.PersonalCredentials) {
	t.Helper()
	if _, err := a.RegisterPersonal(context.Background(), 1, dispatch.PersonalRegistration{Agent: learner(who), Endpoint: endpoint,
		PersonalCredentials: cred}); err != nil {
		t.Fatalf("registering %s's LRS: %v", who, err)
	}
}

// Without an authority that may trigger personal forwarding, a statement
// "by" a learner is not delivered to the learner's personal LRS: any
// credential that may write statements could otherwise have one delivered
// with the learner's stored password. By default (no Trust), only Moodle
// sources' statements go to personal LRSs.
func TestPersonalForwardingNeedsATrustedAuthority(t *testing.T) {
	db := personalDB(t)
	sealer := personalSealer(t)
	a := &dispatch.Admin{Store: db, Sealer: sealer}
	register(t, a, "ann", "https://ann-lrs.example/xapi", dispatch.PersonalCredentials{Username: "ann", Password: "pw"})
	personal := &dispatch.Personal{Store: db, Sealer: sealer}
	if err := personal.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	r := personalRouter(t, personal, nil)
	for _, c := range []struct {
		name      string
		authority map[string]any
		want      bool
	}{
		{"a Moodle source", moodleAuthority("main"), true},
		{"a credential", credentialAuthority("some-app"), false},
		{"a credential named like a source", credentialAuthority("moodle"), false},
		{"no authority", nil, false},
		{"a group", map[string]any{"objectType": "Group", "member": []any{moodleAuthority("main")}}, false},
	} {
		stmt := learnerStatement(learner("ann"))
		if c.authority != nil {
			stmt["authority"] = c.authority
		}
		got := r.Route(1, stmt)
		if forwarded := len(got) == 1 && got[0].Target == dispatch.PersonalTarget; forwarded != c.want || len(got) > 1 {
			t.Errorf("%s: deliveries %+v, want forwarded to ann's LRS: %v", c.name, got, c.want)
		}
	}
}

// RegisterPersonal refuses what would put credentials where they are
// logged or shown (userinfo or a query in the endpoint), what the
// forwarder could never send (a ':' in a Basic user name, control
// characters), and a store that does not exist; nothing is stored, and
// the error never repeats a credential.
func TestRegisterPersonalRejects(t *testing.T) {
	db := personalDB(t)
	a := &dispatch.Admin{Store: db, Sealer: personalSealer(t)}
	ctx := context.Background()
	ok := dispatch.PersonalRegistration{Agent: learner("ann"), Endpoint: "https://ann-lrs.example/xapi",
		PersonalCredentials: dispatch.PersonalCredentials{Username: "ann", Password: "s3cret-pw"}}
	for _, c := range []struct {
		name  string
		store int64
		edit  func(*dispatch.PersonalRegistration)
		code  string
		want  string
	}{
		{"userinfo", 1, func(r *dispatch.PersonalRegistration) { r.Endpoint = "https://ann:s3cret-pw@ann-lrs.example/xapi" }, lrs.EINVALID, "endpoint"},
		{"user only", 1, func(r *dispatch.PersonalRegistration) { r.Endpoint = "https://ann@ann-lrs.example/xapi" }, lrs.EINVALID, "endpoint"},
		{"query", 1, func(r *dispatch.PersonalRegistration) { r.Endpoint = "https://ann-lrs.example/xapi?key=s3cret-pw" }, lrs.EINVALID, "query"},
		{"empty query", 1, func(r *dispatch.PersonalRegistration) { r.Endpoint = "https://ann-lrs.example/xapi?" }, lrs.EINVALID, "query"},
		{"fragment", 1, func(r *dispatch.PersonalRegistration) { r.Endpoint = "https://ann-lrs.example/xapi#s3cret-pw" }, lrs.EINVALID, "fragment"},
		{"colon in username", 1, func(r *dispatch.PersonalRegistration) { r.Username = "ann:x" }, lrs.EINVALID, "username"},
		{"control in username", 1, func(r *dispatch.PersonalRegistration) { r.Username = "ann\x00" }, lrs.EINVALID, "username"},
		{"newline in password", 1, func(r *dispatch.PersonalRegistration) { r.Password = "s3cret-pw\r\nX-Evil: 1" }, lrs.EINVALID, "password"},
		{"NUL in password", 1, func(r *dispatch.PersonalRegistration) { r.Password = "s3cret-pw\x00" }, lrs.EINVALID, "password"},
		{"DEL in password", 1, func(r *dispatch.PersonalRegistration) { r.Password = "s3cret-pw\x7f" }, lrs.EINVALID, "password"},
		{"tab in token", 1, func(r *dispatch.PersonalRegistration) {
			r.Username, r.Password, r.Token = "", "", "s3cret-pw\tx"
		}, lrs.EINVALID, "token"},
		{"password without username", 1, func(r *dispatch.PersonalRegistration) { r.Username = "" }, lrs.EINVALID, "username"},
		{"unknown store", 99, func(*dispatch.PersonalRegistration) {}, lrs.ENOTFOUND, "99"},
	} {
		r := ok
		c.edit(&r)
		_, err := a.RegisterPersonal(ctx, c.store, r)
		if lrs.ErrorCode(err) != c.code || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %s naming %s", c.name, err, c.code, c.want)
		} else if strings.Contains(err.Error(), "s3cret-pw") {
			t.Errorf("%s: the error shows the credential: %v", c.name, err)
		}
		if c.store == 1 {
			if err := a.CheckPersonal(ctx, r); lrs.ErrorCode(err) != lrs.EINVALID {
				t.Errorf("%s: CheckPersonal: %v, want EINVALID before asking the LRS", c.name, err)
			}
		}
	}
	if all, err := db.ListPersonalLRS(ctx, 0); err != nil || len(all) != 0 {
		t.Errorf("stored %d registrations (%v), want none", len(all), err)
	}
	if _, err := a.RegisterPersonal(ctx, 1, ok); err != nil {
		t.Errorf("a valid registration: %v", err)
	}
}

// A registration stored before the checks (its endpoint with userinfo or
// a query) is listed with neither.
func TestListPersonalHidesEndpointCredentials(t *testing.T) {
	db := personalDB(t)
	ctx := context.Background()
	if err := db.PutPersonalLRS(ctx, &lrs.PersonalLRS{StoreID: 1, AgentKey: "mbox::mailto:ann@example.org", Agent: []byte(`{"mbox":"mailto:ann@example.org"}`),
		Endpoint: "https://ann:s3cret-pw@ann-lrs.example/xapi?token=s3cret-tok#s3cret-frag", Version: "1.0.3", Credentials: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	a := &dispatch.Admin{Store: db, Sealer: personalSealer(t)}
	list, err := a.ListPersonal(ctx, 0)
	if err != nil || len(list) != 1 {
		t.Fatalf("ListPersonal: %v %v", list, err)
	}
	b, _ := json.Marshal(list)
	if list[0].Endpoint != "https://ann-lrs.example/xapi" || strings.Contains(string(b), "s3cret") {
		t.Errorf("listed %s, want the endpoint https://ann-lrs.example/xapi without its credentials", b)
	}
}

// xapiReceiver is a personal LRS: stall makes it hold statements requests
// until release is closed (or the client gives up).
type xapiReceiver struct {
	*httptest.Server
	stall   bool
	release chan struct{}
	once    sync.Once
	started chan struct{} // a request arrived (buffered)

	mu      sync.Mutex
	arrived map[string]time.Time
	auth    []string
}

func newReceiver(t *testing.T, stall bool) *xapiReceiver {
	x := &xapiReceiver{stall: stall, release: make(chan struct{}), started: make(chan struct{}, 100), arrived: map[string]time.Time{}}
	x.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		x.mu.Lock()
		x.auth = append(x.auth, r.Header.Get("Authorization"))
		x.mu.Unlock()
		select {
		case x.started <- struct{}{}:
		default:
		}
		if x.stall {
			select {
			case <-x.release:
			case <-r.Context().Done():
				return
			}
		}
		var stmts []map[string]any
		json.NewDecoder(r.Body).Decode(&stmts)
		ids := []string{}
		x.mu.Lock()
		for _, s := range stmts {
			id, _ := s["id"].(string)
			ids = append(ids, id)
			if _, ok := x.arrived[id]; !ok {
				x.arrived[id] = time.Now()
			}
		}
		x.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(ids)
	}))
	t.Cleanup(x.Server.Close)
	t.Cleanup(x.Release) // runs first: lets stalled handlers end
	return x
}

// Release ends the stall.
func (x *xapiReceiver) Release() { x.once.Do(func() { close(x.release) }) }

func (x *xapiReceiver) at(id string) (time.Time, bool) {
	x.mu.Lock()
	defer x.mu.Unlock()
	at, ok := x.arrived[id]
	return at, ok
}

// One personal LRS that never answers does not delay the other learners'
// deliveries: they are sent to each personal LRS side by side, each behind
// its own breaker (issue 15, Low #10: they were sent one after another, so
// a stalled LRS held every other learner's statements for its timeout,
// again at each retry and each half-open probe).
func TestPersonalStalledLRSDoesNotDelayOthers(t *testing.T) {
	db := personalDB(t)
	sealer := personalSealer(t)
	var logs bytes.Buffer
	var logMu sync.Mutex
	log := slog.New(slog.NewTextHandler(writerFunc(func(p []byte) (int, error) {
		logMu.Lock()
		defer logMu.Unlock()
		return logs.Write(p)
	}), &slog.HandlerOptions{Level: slog.LevelDebug}))
	stalled, prompt := newReceiver(t, true), newReceiver(t, false)
	a := &dispatch.Admin{Store: db, Sealer: sealer}
	register(t, a, "ann", stalled.URL+"/xapi", dispatch.PersonalCredentials{Username: "ann", Password: "ann-s3cret"})
	register(t, a, "bob", prompt.URL+"/xapi", dispatch.PersonalCredentials{Username: "bob", Password: "bob-s3cret"})
	register(t, a, "cat", prompt.URL+"/xapi", dispatch.PersonalCredentials{Token: "cat-s3cret"})

	const timeout = 6 * time.Second
	personal := &dispatch.Personal{Store: db, Sealer: sealer, Delivery: dispatch.Target{Timeout: timeout},
		Breaker: forwarders.BreakerConfig{Failures: 5, OpenFor: time.Minute}}
	if err := personal.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	d := &dispatch.Dispatcher{Outbox: db, Personal: personal, PollInterval: 50 * time.Millisecond, Logger: log,
		Targets: []*dispatch.Target{{Name: dispatch.PersonalTarget, BatchSize: 10, Concurrency: 1, Timeout: timeout,
			Retry: forwarders.RetryPolicy{InitialBackoff: time.Hour, MaxBackoff: time.Hour}}}}
	svc := &lrs.Service{Statements: db, Router: personalRouter(t, personal, d), DefaultLimit: 10, MaxLimit: 10}
	moodle := &lrs.Principal{Key: "moodle:main", StoreID: 1, Scopes: []string{lrs.ScopeStatementsWrite}, Authority: moodleAuthority("main")}
	store := func(stmts ...map[string]any) {
		t.Helper()
		if _, err := svc.StoreStatements(context.Background(), moodle, xapi.V200, stmts, true, nil); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { d.Run(ctx); close(done) }()
	stop := sync.OnceFunc(func() {
		stalled.Release() // the stalled send ends; Run records it and returns
		cancel()
		<-done
	})
	defer stop()

	waitFor := func(x *xapiReceiver, id string, within time.Duration, what string) {
		t.Helper()
		deadline := time.Now().Add(within)
		for time.Now().Before(deadline) {
			if _, ok := x.at(id); ok {
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
		t.Fatalf("%s: not delivered within %v (the stalled LRS's timeout is %v)", what, within, timeout)
	}

	// Ann's LRS takes her statement and never answers.
	store(learnerStatement(learner("ann")))
	select {
	case <-stalled.started:
	case <-time.After(5 * time.Second):
		t.Fatal("ann's statement was never sent")
	}
	// Bob's, stored while ann's send hangs, arrives at once.
	bob := learnerStatement(learner("bob"))
	store(bob)
	waitFor(prompt, bob["id"].(string), 2*time.Second, "bob's statement stored after ann's")
	// So do statements claimed together with another of ann's.
	ann2, bob2, cat := learnerStatement(learner("ann")), learnerStatement(learner("bob")), learnerStatement(learner("cat"))
	store(ann2, bob2, cat)
	waitFor(prompt, bob2["id"].(string), 2*time.Second, "bob's statement claimed with ann's")
	waitFor(prompt, cat["id"].(string), 2*time.Second, "cat's statement claimed with ann's")
	if _, ok := stalled.at(ann2["id"].(string)); ok {
		t.Errorf("ann's stalled LRS answered")
	}

	// No log line shows a personal LRS's credentials.
	stop()
	logMu.Lock()
	defer logMu.Unlock()
	for _, secret := range []string{"ann-s3cret", "bob-s3cret", "cat-s3cret"} {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("the log shows %s:\n%s", secret, logs.String())
		}
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// TrustedCredentials, the bridge's trust: Moodle sources and credentials
// marked trusted. A credential is read the first time its statements are
// routed (so one created trusted a moment ago is), and again at most every
// TTL (so a change takes effect within TTL, or at once with Forget).
func TestTrustedCredentials(t *testing.T) {
	db := personalDB(t)
	ctx := context.Background()
	put := func(key string, trusted bool) {
		t.Helper()
		salt, hash := lrs.HashSecret("secret of " + key)
		c := &lrs.Credential{Key: key, StoreID: 1, Scopes: []string{lrs.ScopeStatementsWrite}, SecretSalt: salt, SecretHash: hash, Source: "admin"}
		c.SetTrusted(trusted)
		if err := db.PutCredential(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	put("trusted-app", true)
	put("plain-app", false)
	const ttl = 200 * time.Millisecond
	trust := &dispatch.TrustedCredentials{Store: db, TTL: ttl}
	for _, c := range []struct {
		name      string
		authority map[string]any
		want      bool
	}{
		{"a Moodle source", moodleAuthority("main"), true},
		{"a trusted credential", credentialAuthority("trusted-app"), true},
		{"a credential", credentialAuthority("plain-app"), false},
		{"no such credential", credentialAuthority("gone"), false},
		{"an account name with a colon", credentialAuthority("other:x"), false},
		{"bare moodle:", credentialAuthority("moodle:"), false},
		{"an mbox authority", map[string]any{"mbox": "mailto:trusted-app@example.org"}, false},
		{"no authority", nil, false},
	} {
		if got := trust.MayForwardPersonal(c.authority); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
	// Created trusted since: trusted at once.
	put("new-app", true)
	if !trust.MayForwardPersonal(credentialAuthority("new-app")) {
		t.Errorf("a credential created trusted is not trusted")
	}
	// Untrusted since: within the TTL.
	put("trusted-app", false)
	deadline := time.Now().Add(ttl + time.Second)
	for trust.MayForwardPersonal(credentialAuthority("trusted-app")) {
		if time.Now().After(deadline) {
			t.Fatalf("still trusted %v after it was marked untrusted (TTL %v)", time.Second+ttl, ttl)
		}
		time.Sleep(20 * time.Millisecond)
	}
	put("plain-app", true)
	trust.Forget("plain-app")
	if !trust.MayForwardPersonal(credentialAuthority("plain-app")) {
		t.Errorf("a credential marked trusted is not trusted after Forget")
	}

	// Through the router: a statement of a trusted credential goes to the
	// learner's LRS, one of an untrusted credential does not.
	sealer := personalSealer(t)
	register(t, &dispatch.Admin{Store: db, Sealer: sealer}, "ann", "https://ann-lrs.example/xapi", dispatch.PersonalCredentials{Token: "t"})
	personal := &dispatch.Personal{Store: db, Sealer: sealer, Trust: trust}
	personal.Refresh(ctx)
	r := personalRouter(t, personal, nil)
	for key, want := range map[string]int{"new-app": 1, "trusted-app": 0} {
		stmt := learnerStatement(learner("ann"))
		stmt["authority"] = credentialAuthority(key)
		if got := r.Route(1, stmt); len(got) != want {
			t.Errorf("a statement of %s: deliveries %+v, want %d", key, got, want)
		}
	}
}
