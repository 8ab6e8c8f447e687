package lrs

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"slices"
	"sync"
	"time"
)

// Secrets are stored as SHA-256(salt || secret) with a random 16-byte salt.
// A fast hash is the right tool here: generated secrets carry 256 bits of
// entropy, so a slow password hash adds nothing but a per-request cost (the
// same reasoning as API tokens at GitHub and others). Configured secrets are
// the operator's choice; the bridge warns at start-up when one is short.

// HashSecret returns a random salt and the hash of secret under it.
func HashSecret(secret string) (salt, hash []byte) {
	salt = make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return salt, hashWith(salt, secret)
}

func hashWith(salt []byte, secret string) []byte {
	h := sha256.New()
	h.Write(salt)
	h.Write([]byte(secret))
	return h.Sum(nil)
}

// Verify reports, in constant time, whether secret matches c.
func (c *Credential) Verify(secret string) bool {
	return subtle.ConstantTimeCompare(hashWith(c.SecretSalt, secret), c.SecretHash) == 1
}

// GenerateKey returns a new credential key such as "bridge-3f9a2c1d".
func GenerateKey() string {
	b := make([]byte, 4)
	rand.Read(b)
	return "bridge-" + hex.EncodeToString(b)
}

// GenerateSecret returns a new random secret with 256 bits of entropy.
func GenerateSecret() string {
	b := make([]byte, 32)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// Authenticator checks Basic credentials against a CredentialStore, caching
// credentials for a short time so a request costs one hash, not a query.
type Authenticator struct {
	Store   CredentialStore
	BaseURL string        // homePage of authority accounts
	TTL     time.Duration // cache lifetime; default 10s

	mu    sync.Mutex
	cache map[string]cachedCred
}

type cachedCred struct {
	cred *Credential // nil: known not to exist
	at   time.Time
}

// Authenticate returns the Principal for key/secret, or EUNAUTHORIZED.
func (a *Authenticator) Authenticate(ctx context.Context, key, secret string) (*Principal, error) {
	cred, err := a.lookup(ctx, key)
	if err != nil {
		return nil, err
	}
	if cred == nil || !cred.Verify(secret) {
		return nil, Errorf(EUNAUTHORIZED, "invalid credentials")
	}
	authority := map[string]any{
		"objectType": "Agent",
		"account":    map[string]any{"homePage": a.BaseURL, "name": cred.Key},
	}
	if cred.Name != "" {
		authority["name"] = cred.Name
	}
	return &Principal{
		Key:          cred.Key,
		StoreID:      cred.StoreID,
		Scopes:       cred.Scopes,
		Authority:    authority,
		AuthorityKey: "account::" + a.BaseURL + "::" + cred.Key,
	}, nil
}

func (a *Authenticator) lookup(ctx context.Context, key string) (*Credential, error) {
	ttl := a.TTL
	if ttl == 0 {
		ttl = 10 * time.Second
	}
	now := time.Now()
	a.mu.Lock()
	if c, ok := a.cache[key]; ok && now.Sub(c.at) < ttl {
		a.mu.Unlock()
		return c.cred, nil
	}
	a.mu.Unlock()
	cred, err := a.Store.GetCredential(ctx, key)
	if ErrorCode(err) == ENOTFOUND {
		cred, err = nil, nil
	}
	if err != nil {
		return nil, err
	}
	a.mu.Lock()
	if a.cache == nil || len(a.cache) > 10000 {
		a.cache = map[string]cachedCred{}
	}
	a.cache[key] = cachedCred{cred: cred, at: now}
	a.mu.Unlock()
	return cred, nil
}

// Forget drops key from the cache (after a credential changes).
func (a *Authenticator) Forget(key string) {
	a.mu.Lock()
	delete(a.cache, key)
	a.mu.Unlock()
}

// ScopePersonalForward marks a credential trusted to trigger personal
// forwarding: the statements it stores may be forwarded to the personal
// LRS of their actor (rules with target "personal"). It is kept with the
// credential's scopes (so it is stored, cached and synced with them) but
// is not an xAPI scope: it grants no access to the LRS, and the admin API
// and the CLI show and set it as "trusted", not among the scopes. Without
// it, any credential that may write statements could have a statement "by"
// a learner delivered to that learner's personal LRS with the learner's
// stored credentials.
const ScopePersonalForward = "personal/forward"

// Trusted reports whether c is marked trusted (ScopePersonalForward).
func (c *Credential) Trusted() bool { return slices.Contains(c.Scopes, ScopePersonalForward) }

// SetTrusted marks c trusted or not, keeping its xAPI scopes.
func (c *Credential) SetTrusted(trusted bool) {
	scopes := XAPIScopes(c.Scopes)
	if trusted {
		scopes = append(scopes, ScopePersonalForward)
	}
	c.Scopes = scopes
}

// XAPIScopes is scopes without ScopePersonalForward (a new slice).
func XAPIScopes(scopes []string) []string {
	out := make([]string, 0, len(scopes))
	for _, s := range scopes {
		if s != ScopePersonalForward {
			out = append(out, s)
		}
	}
	return out
}
