package dispatch

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"sync"
	"time"

	"github.com/xapibridge/bridge/forwarders"
	"github.com/xapibridge/bridge/lrs"
)

// Sealer encrypts the credentials of personal LRSs at rest (AES-256-GCM).
type Sealer struct{ aead cipher.AEAD }

// NewSealer derives the key from secret (any string).
func NewSealer(secret string) (*Sealer, error) {
	if secret == "" {
		return nil, errors.New("forwarding.secret_key: empty key")
	}
	k := sha256.Sum256([]byte("bridge personal LRS credentials\x00" + secret))
	block, err := aes.NewCipher(k[:])
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Sealer{aead: aead}, nil
}

// Seal encrypts plain.
func (s *Sealer) Seal(plain []byte) []byte {
	nonce := make([]byte, s.aead.NonceSize())
	rand.Read(nonce)
	return s.aead.Seal(nonce, nonce, plain, nil)
}

// Open decrypts what Seal produced.
func (s *Sealer) Open(sealed []byte) ([]byte, error) {
	n := s.aead.NonceSize()
	if len(sealed) < n {
		return nil, errors.New("sealed credentials are too short")
	}
	out, err := s.aead.Open(nil, sealed[:n], sealed[n:], nil)
	if err != nil {
		return nil, errors.New("cannot decrypt personal LRS credentials: is forwarding.secret_key the one they were stored with?")
	}
	return out, nil
}

// PersonalCredentials are what a personal LRS registration authenticates with.
type PersonalCredentials struct {
	Username string `json:"username,omitempty"`
	Password string `json:"password,omitempty"`
	Token    string `json:"token,omitempty"`
}

// Personal resolves and caches forwarders for personal LRSs, and tells the
// router which actors have one.
type Personal struct {
	Store    lrs.PersonalStore
	Sealer   *Sealer
	Delivery Target // batch size, timeout, retry and breaker settings
	Breaker  forwarders.BreakerConfig
	OnState  func(forwarders.StateChange)
	// Trust says whose statements may be forwarded to personal LRSs (the
	// router asks MayForwardPersonal); nil: Moodle sources only.
	Trust AuthorityTrust
	// Logger says, once per authority, that a statement of an actor with a
	// personal LRS was not forwarded because of its authority (default
	// slog.Default()).
	Logger *slog.Logger

	untrusted untrustedLog

	mu         sync.Mutex
	forwarders map[string]cachedForwarder
	registered map[string]bool // store/agentKey
	loadedAt   time.Time
}

type cachedForwarder struct {
	b       *forwarders.Breaker
	created time.Time // registration's, to notice re-registrations
	at      time.Time
}

func regKey(storeID int64, agentKey string) string { return fmt.Sprint(storeID) + "/" + agentKey }

// Has reports whether the actor has a registered personal LRS. It reads a
// set refreshed every few seconds, so routing costs no query.
func (p *Personal) Has(storeID int64, agentKey string) bool {
	p.mu.Lock()
	stale := time.Since(p.loadedAt) > 5*time.Second
	p.mu.Unlock()
	if stale {
		p.Refresh(context.Background())
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.registered[regKey(storeID, agentKey)]
}

// MayForwardPersonal implements AuthorityTrust with p.Trust, or, without
// one, for Moodle sources only.
func (p *Personal) MayForwardPersonal(authority map[string]any) bool {
	ok := IsMoodleAuthority(authority)
	if p.Trust != nil {
		ok = p.Trust.MayForwardPersonal(authority)
	}
	if !ok {
		p.untrusted.note(p.Logger, authority)
	}
	return ok
}

// Refresh reloads the set of registered actors.
func (p *Personal) Refresh(ctx context.Context) error {
	all, err := p.Store.ListPersonalLRS(ctx, 0)
	if err != nil {
		p.mu.Lock()
		p.loadedAt = time.Now() // do not hammer a failing database
		p.mu.Unlock()
		return err
	}
	set := make(map[string]bool, len(all))
	for _, r := range all {
		set[regKey(r.StoreID, r.AgentKey)] = true
	}
	p.mu.Lock()
	p.registered, p.loadedAt = set, time.Now()
	p.mu.Unlock()
	return nil
}

// Forwarder implements PersonalResolver.
func (p *Personal) Forwarder(ctx context.Context, storeID int64, agentKey string) (*forwarders.Breaker, error) {
	reg, err := p.Store.GetPersonalLRS(ctx, storeID, agentKey)
	if err != nil {
		return nil, err
	}
	k := regKey(storeID, agentKey)
	p.mu.Lock()
	if c, ok := p.forwarders[k]; ok && c.created.Equal(reg.CreatedAt) {
		p.mu.Unlock()
		return c.b, nil
	}
	p.mu.Unlock()
	plain, err := p.Sealer.Open(reg.Credentials)
	if err != nil {
		return nil, err
	}
	var cred PersonalCredentials
	if err := json.Unmarshal(plain, &cred); err != nil {
		return nil, fmt.Errorf("personal LRS credentials: %w", err)
	}
	x, err := forwarders.NewXAPI(forwarders.XAPIConfig{Name: "personal:" + endpointHost(reg.Endpoint), Endpoint: reg.Endpoint, Version: reg.Version,
		Username: cred.Username, Password: cred.Password, Token: cred.Token, Timeout: p.Delivery.Timeout})
	if err != nil {
		// A registration stored before RegisterPersonal refused credentials
		// in the endpoint: say nothing of the endpoint or the credentials
		// (the error's text may quote them), and give up on these
		// deliveries (ENOTFOUND: permanent) until it is registered again.
		return nil, &lrs.Error{Code: lrs.ENOTFOUND, Message: "personal LRS of " + agentKey +
			" at " + endpointHost(reg.Endpoint) + ": its stored endpoint or credentials are not valid (register it again)"}
	}
	b := forwarders.NewBreaker(x, p.Breaker, p.OnState)
	p.mu.Lock()
	if p.forwarders == nil {
		p.forwarders = map[string]cachedForwarder{}
	}
	p.forwarders[k] = cachedForwarder{b: b, created: reg.CreatedAt, at: time.Now()}
	p.mu.Unlock()
	return b, nil
}

func endpointHost(endpoint string) string {
	if u, err := url.Parse(endpoint); err == nil && u.Host != "" {
		return u.Host
	}
	return "?"
}
