package dispatch

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/xapibridge/bridge/lrs"
)

// AuthorityTrust says whose statements may be forwarded to the personal LRS
// of their actor (target "personal"), by the statement's authority: the
// Agent the bridge wrote into it when it was stored (the credential's, or
// the Moodle source's). A learner's personal LRS is delivered to with the
// learner's stored credentials, so a statement "by" the learner must come
// from a source the operator trusts to say who did what, not from any
// credential that may write statements.
//
// The router asks it inside ingest, for every statement a "personal" rule
// matches: it must be quick (no query on the common path).
type AuthorityTrust interface {
	MayForwardPersonal(authority map[string]any) bool
}

// MoodleSourcePrefix begins the account name of the authority of the
// statements a Moodle source stores ("moodle:<source>", internal/app).
// Credential keys cannot contain ':' (config and admin API alike), so no
// credential's authority begins with it.
const MoodleSourcePrefix = "moodle:"

// authorityName is the account name of an Agent authority: the credential
// key, or "moodle:<source>". Anything else (no authority, a Group, an
// Agent identified otherwise) has none.
func authorityName(authority map[string]any) (string, bool) {
	if authority == nil {
		return "", false
	}
	if ot, _ := authority["objectType"].(string); ot != "" && ot != "Agent" {
		return "", false
	}
	acct, _ := authority["account"].(map[string]any)
	name, _ := acct["name"].(string)
	return name, name != ""
}

// IsMoodleAuthority reports whether authority is a Moodle source's.
func IsMoodleAuthority(authority map[string]any) bool {
	name, ok := authorityName(authority)
	return ok && strings.HasPrefix(name, MoodleSourcePrefix) && len(name) > len(MoodleSourcePrefix)
}

// MoodleOnly is the default AuthorityTrust: Moodle sources only.
type MoodleOnly struct{}

// MayForwardPersonal implements AuthorityTrust.
func (MoodleOnly) MayForwardPersonal(authority map[string]any) bool {
	return IsMoodleAuthority(authority)
}

// CredentialGetter is the part of the credential store TrustedCredentials
// reads.
type CredentialGetter interface {
	GetCredential(ctx context.Context, key string) (*lrs.Credential, error)
}

// TrustedCredentials is the AuthorityTrust of a bridge: Moodle sources, and
// credentials marked trusted (lrs.ScopePersonalForward; `bridge credential
// create --trusted`, "trusted": true in the admin API).
//
// The authority of a credential's statements names the credential by its
// key (the account name; the homePage is the bridge's base URL, which may
// differ between bridges sharing a database and across restarts, and is
// not needed: only the bridge writes authorities). Each key's answer is
// cached for TTL: a credential seen for the first time is read at once (so
// one created trusted a moment ago is trusted), one already seen is read
// again at most every TTL (so marking it trusted or not takes effect
// within TTL). Reading fails closed: a credential never read is not
// trusted while its store fails; one read before keeps its last answer,
// and is read again a second later.
type TrustedCredentials struct {
	Store  CredentialGetter
	TTL    time.Duration // default 5s
	Logger *slog.Logger  // default slog.Default()

	mu    sync.Mutex
	cache map[string]trustEntry
}

type trustEntry struct {
	trusted bool
	at      time.Time
	loading chan struct{} // closed when a read in flight ends
}

// maxTrustCache bounds the cache (credential keys; reset when full).
const maxTrustCache = 10000

func (t *TrustedCredentials) ttl() time.Duration {
	if t.TTL > 0 {
		return t.TTL
	}
	return 5 * time.Second
}

// MayForwardPersonal implements AuthorityTrust.
func (t *TrustedCredentials) MayForwardPersonal(authority map[string]any) bool {
	if IsMoodleAuthority(authority) {
		return true
	}
	key, ok := authorityName(authority)
	if !ok || strings.Contains(key, ":") {
		return false // not a credential's
	}
	return t.trusted(key)
}

func (t *TrustedCredentials) trusted(key string) bool {
	for {
		t.mu.Lock()
		e, ok := t.cache[key]
		switch {
		case ok && e.loading != nil:
			t.mu.Unlock()
			<-e.loading // another statement of the same credential is reading it
			continue
		case ok && time.Since(e.at) < t.ttl():
			t.mu.Unlock()
			return e.trusted
		}
		if t.cache == nil || len(t.cache) >= maxTrustCache {
			t.cache = map[string]trustEntry{}
		}
		loading := make(chan struct{})
		t.cache[key] = trustEntry{trusted: e.trusted, at: e.at, loading: loading}
		t.mu.Unlock()

		trusted, err := t.read(key)
		at := time.Now()
		if err != nil {
			trusted = ok && !e.at.IsZero() && e.trusted
			at = at.Add(time.Second - t.ttl()) // read again in a second
		}
		t.mu.Lock()
		t.cache[key] = trustEntry{trusted: trusted, at: at}
		t.mu.Unlock()
		close(loading)
		return trusted
	}
}

func (t *TrustedCredentials) read(key string) (bool, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := t.Store.GetCredential(ctx, key)
	if lrs.ErrorCode(err) == lrs.ENOTFOUND {
		return false, nil // deleted since it stored the statement (a back-fill)
	}
	if err != nil {
		log := t.Logger
		if log == nil {
			log = slog.Default()
		}
		log.Warn("reading a credential to decide personal forwarding failed", "credential", key, "error", err)
		return false, err
	}
	return c.Trusted(), nil
}

// Forget drops what is cached about key, after its credential changed.
func (t *TrustedCredentials) Forget(key string) {
	t.mu.Lock()
	if e, ok := t.cache[key]; ok && e.loading == nil {
		delete(t.cache, key)
	}
	t.mu.Unlock()
}

// untrustedLog says once per authority (and process) that a statement of
// an actor with a personal LRS was not forwarded to it because of its
// authority, so an operator sees why. The zero value is ready to use.
type untrustedLog struct {
	mu   sync.Mutex
	seen map[string]bool
}

func (u *untrustedLog) note(log *slog.Logger, authority map[string]any) {
	name, _ := authorityName(authority)
	u.mu.Lock()
	if u.seen[name] || len(u.seen) >= 1000 {
		u.mu.Unlock()
		return
	}
	if u.seen == nil {
		u.seen = map[string]bool{}
	}
	u.seen[name] = true
	u.mu.Unlock()
	if log == nil {
		log = slog.Default()
	}
	if name == "" {
		name = "(none)"
	}
	log.Info("not forwarded to the learner's personal LRS: the statement's authority may not trigger personal forwarding "+
		"(only Moodle sources and credentials marked trusted may: bridge credential set-trusted KEY true); said once per authority",
		"authority", name)
}
