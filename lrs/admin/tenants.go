package admin

import (
	"context"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/xapibridge/bridge/lrs"
)

// Organisation and store names: a letter, then letters, digits, '.', '_'
// or '-', 64 characters at most. They appear in "org/name" store references
// and in rules (store == "name"), so no spaces or slashes.
var tenantNameRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9._-]{0,63}$`)

// Credential keys, as in the config: [A-Za-z0-9._-]{1,64}.
var credentialKeyRE = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

func checkTenantName(field, name string) error {
	if !tenantNameRE.MatchString(name) {
		return lrs.Errorf(lrs.EINVALID, "%s: %q is not a valid name: 1 to 64 letters, digits, '.', '_' or '-', starting with a letter", field, name)
	}
	return nil
}

func (a *Admin) forget(key string) {
	if a.Forget != nil {
		a.Forget(key)
	}
}

// ParseRetention reads a retention period: a Go duration ("8760h", "90m")
// or whole days ("365d"); "", "0" and "off" mean none (keep forever).
func ParseRetention(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	switch s {
	case "", "0", "off", "none":
		return 0, nil
	}
	if d, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.ParseInt(d, 10, 64)
		if err != nil || n < 0 || n > 100*366 {
			return 0, lrs.Errorf(lrs.EINVALID, "retention: %q is not a number of days such as \"365d\"", s)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, lrs.Errorf(lrs.EINVALID, "retention: %q is not a duration such as \"365d\" or \"720h\"", s)
	}
	return d, nil
}

// FormatRetention writes a retention as ParseRetention reads it: whole days
// as "365d", other durations as Go durations, none as "".
func FormatRetention(d time.Duration) string {
	switch {
	case d <= 0:
		return ""
	case d%(24*time.Hour) == 0:
		return strconv.FormatInt(int64(d/(24*time.Hour)), 10) + "d"
	}
	return d.String()
}

// CreateOrganisation creates an organisation.
func (a *Admin) CreateOrganisation(ctx context.Context, name string) (*lrs.Organisation, error) {
	if err := checkTenantName("name", name); err != nil {
		return nil, err
	}
	return a.Tenants.CreateOrganisation(ctx, name)
}

// ListOrganisations lists every organisation.
func (a *Admin) ListOrganisations(ctx context.Context) ([]*lrs.Organisation, error) {
	return a.Tenants.ListOrganisations(ctx)
}

// GetOrganisation returns one organisation.
func (a *Admin) GetOrganisation(ctx context.Context, id int64) (*lrs.Organisation, error) {
	return a.Tenants.GetOrganisation(ctx, id)
}

// ResolveOrganisation finds an organisation by id ("3") or name.
func (a *Admin) ResolveOrganisation(ctx context.Context, ref string) (*lrs.Organisation, error) {
	if id, err := strconv.ParseInt(ref, 10, 64); err == nil {
		return a.Tenants.GetOrganisation(ctx, id)
	}
	all, err := a.Tenants.ListOrganisations(ctx)
	if err != nil {
		return nil, err
	}
	for _, o := range all {
		if o.Name == ref {
			return o, nil
		}
	}
	return nil, lrs.Errorf(lrs.ENOTFOUND, "no organisation %q", ref)
}

// RenameOrganisation renames an organisation.
func (a *Admin) RenameOrganisation(ctx context.Context, id int64, name string) (*lrs.Organisation, error) {
	if err := checkTenantName("name", name); err != nil {
		return nil, err
	}
	if err := a.Tenants.RenameOrganisation(ctx, id, name); err != nil {
		return nil, err
	}
	return a.Tenants.GetOrganisation(ctx, id)
}

// DeleteOrganisation deletes an organisation that has no stores.
func (a *Admin) DeleteOrganisation(ctx context.Context, id int64) error {
	if id == 1 {
		return lrs.Errorf(lrs.ECONFLICT, "organisation 1 is the default organisation and cannot be deleted")
	}
	return a.Tenants.DeleteOrganisation(ctx, id)
}

// CreateStore creates a store in organisation orgID.
func (a *Admin) CreateStore(ctx context.Context, orgID int64, name string) (*lrs.Store, error) {
	if err := checkTenantName("name", name); err != nil {
		return nil, err
	}
	return a.Tenants.CreateStore(ctx, orgID, name)
}

// ListStores lists the stores of an organisation (orgID 0: all).
func (a *Admin) ListStores(ctx context.Context, orgID int64) ([]*lrs.Store, error) {
	return a.Tenants.ListStores(ctx, orgID)
}

// GetStore returns one store.
func (a *Admin) GetStore(ctx context.Context, id int64) (*lrs.Store, error) {
	return a.Tenants.GetStore(ctx, id)
}

// ResolveStore finds a store by id ("2"), by name in the default
// organisation ("moodle") or by "org/name".
func (a *Admin) ResolveStore(ctx context.Context, ref string) (*lrs.Store, error) {
	if id, err := strconv.ParseInt(ref, 10, 64); err == nil {
		return a.Tenants.GetStore(ctx, id)
	}
	if ref == "" {
		return nil, lrs.Errorf(lrs.EINVALID, "store: give a store id or name")
	}
	return a.Tenants.FindStore(ctx, ref)
}

// StoreUpdate changes a store; nil fields stay as they are.
type StoreUpdate struct {
	Name      *string
	Retention *time.Duration
}

// UpdateStore renames a store or sets its retention.
func (a *Admin) UpdateStore(ctx context.Context, id int64, u StoreUpdate) (*lrs.Store, error) {
	s, err := a.Tenants.GetStore(ctx, id)
	if err != nil {
		return nil, err
	}
	if u.Name != nil {
		if err := checkTenantName("name", *u.Name); err != nil {
			return nil, err
		}
		s.Name = *u.Name
	}
	if u.Retention != nil {
		if *u.Retention < 0 {
			return nil, lrs.Errorf(lrs.EINVALID, "retention: must not be negative")
		}
		s.Retention = *u.Retention
	}
	if err := a.Tenants.UpdateStore(ctx, s); err != nil {
		return nil, err
	}
	return a.Tenants.GetStore(ctx, id)
}

// DeleteStore deletes a store and everything in it. confirm must be the
// store's name, so a wrong id cannot destroy a store by accident.
func (a *Admin) DeleteStore(ctx context.Context, id int64, confirm string) error {
	s, err := a.Tenants.GetStore(ctx, id)
	if err != nil {
		return err
	}
	if confirm != s.Name {
		return lrs.Errorf(lrs.EINVALID, "confirm: deleting store %d removes all its data; confirm with its name (%q)", id, s.Name)
	}
	creds, err := a.storeCredentials(ctx, id)
	if err != nil {
		return err
	}
	if err := a.Tenants.DeleteStore(ctx, id); err != nil {
		return err
	}
	for _, c := range creds {
		a.forget(c.Key)
	}
	return nil
}

// StoreStats describes what a store holds.
func (a *Admin) StoreStats(ctx context.Context, id int64) (*lrs.StoreStats, error) {
	return a.Tenants.StoreStats(ctx, id)
}

// CredentialInfo is a credential as the admin API shows it: never the
// secret, which exists in clear only in the reply that creates or rotates it.
type CredentialInfo struct {
	Key     string   `json:"key"`
	StoreID int64    `json:"store_id"`
	Name    string   `json:"name"`
	Scopes  []string `json:"scopes"`
	// Trusted: the statements the credential stores may be forwarded to
	// the personal LRS of their actor (lrs.ScopePersonalForward, which
	// Scopes does not list).
	Trusted   bool      `json:"trusted"`
	Source    string    `json:"source"` // "admin", "config" or "generated"
	CreatedAt time.Time `json:"created"`
}

func credentialInfo(c *lrs.Credential) *CredentialInfo {
	return &CredentialInfo{Key: c.Key, StoreID: c.StoreID, Name: c.Name, Scopes: lrs.XAPIScopes(c.Scopes), Trusted: c.Trusted(),
		Source: c.Source, CreatedAt: c.CreatedAt}
}

// CredentialSpec describes a credential to create. Key is generated when
// empty; Scopes default to all. Trusted lets the statements it stores be
// forwarded to their actor's personal LRS (see lrs.ScopePersonalForward).
type CredentialSpec struct {
	Key     string
	Name    string
	Scopes  []string
	Trusted bool
}

// CheckScopes validates scopes (each one of Scopes) and drops repeats.
func CheckScopes(scopes []string) ([]string, error) {
	if len(scopes) == 0 {
		return nil, lrs.Errorf(lrs.EINVALID, "scopes: give at least one of %s", strings.Join(lrs.Scopes, ", "))
	}
	var out []string
	for i, s := range scopes {
		s = strings.TrimSpace(s)
		if s == lrs.ScopePersonalForward {
			return nil, lrs.Errorf(lrs.EINVALID, "scopes[%d]: %q is not an xAPI scope: mark the credential trusted instead (\"trusted\": true, or --trusted) to let its statements go to personal LRSs", i, s)
		}
		if !slices.Contains(lrs.Scopes, s) {
			return nil, lrs.Errorf(lrs.EINVALID, "scopes[%d]: %q is not a scope; want one of %s", i, s, strings.Join(lrs.Scopes, ", "))
		}
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out, nil
}

func checkCredentialName(name string) error {
	if len(name) > 255 {
		return lrs.Errorf(lrs.EINVALID, "name: at most 255 bytes")
	}
	return nil
}

func (a *Admin) storeCredentials(ctx context.Context, storeID int64) ([]*lrs.Credential, error) {
	all, err := a.Credentials.ListCredentials(ctx)
	if err != nil {
		return nil, err
	}
	var out []*lrs.Credential
	for _, c := range all {
		if c.StoreID == storeID {
			out = append(out, c)
		}
	}
	return out, nil
}

// CreateCredential creates a credential in a store and returns it with its
// secret, which is stored only hashed and never shown again.
func (a *Admin) CreateCredential(ctx context.Context, storeID int64, spec CredentialSpec) (*CredentialInfo, string, error) {
	if _, err := a.Tenants.GetStore(ctx, storeID); err != nil {
		return nil, "", err
	}
	if spec.Scopes == nil {
		spec.Scopes = []string{lrs.ScopeAll}
	}
	scopes, err := CheckScopes(spec.Scopes)
	if err != nil {
		return nil, "", err
	}
	if err := checkCredentialName(spec.Name); err != nil {
		return nil, "", err
	}
	key := spec.Key
	if key == "" {
		key = lrs.GenerateKey()
	} else if !credentialKeyRE.MatchString(key) {
		return nil, "", lrs.Errorf(lrs.EINVALID, "key: %q is not a valid key: 1 to 64 letters, digits, '.', '_' or '-'", key)
	}
	if _, err := a.Credentials.GetCredential(ctx, key); err == nil {
		return nil, "", lrs.Errorf(lrs.ECONFLICT, "key: a credential %q exists already", key)
	} else if lrs.ErrorCode(err) != lrs.ENOTFOUND {
		return nil, "", err
	}
	secret := lrs.GenerateSecret()
	salt, hash := lrs.HashSecret(secret)
	c := &lrs.Credential{Key: key, StoreID: storeID, Name: spec.Name, Scopes: scopes, SecretSalt: salt, SecretHash: hash,
		Source: "admin", CreatedAt: time.Now().UTC().Truncate(time.Microsecond)}
	c.SetTrusted(spec.Trusted)
	if err := a.Credentials.PutCredential(ctx, c); err != nil {
		return nil, "", err
	}
	a.forget(key) // a cached "no such key" must not outlive the creation
	return credentialInfo(c), secret, nil
}

// ListCredentials lists the credentials of a store, without secrets.
func (a *Admin) ListCredentials(ctx context.Context, storeID int64) ([]*CredentialInfo, error) {
	if _, err := a.Tenants.GetStore(ctx, storeID); err != nil {
		return nil, err
	}
	creds, err := a.storeCredentials(ctx, storeID)
	if err != nil {
		return nil, err
	}
	out := make([]*CredentialInfo, 0, len(creds))
	for _, c := range creds {
		out = append(out, credentialInfo(c))
	}
	return out, nil
}

// GetCredential returns one credential, without its secret.
func (a *Admin) GetCredential(ctx context.Context, key string) (*CredentialInfo, error) {
	c, err := a.Credentials.GetCredential(ctx, key)
	if err != nil {
		return nil, err
	}
	return credentialInfo(c), nil
}

// editable returns the credential key if the admin API may change it:
// credentials from the config file are changed in the config file (a
// restart would undo any other change).
func (a *Admin) editable(ctx context.Context, key string) (*lrs.Credential, error) {
	c, err := a.Credentials.GetCredential(ctx, key)
	if err != nil {
		return nil, err
	}
	if c.Source == "config" {
		return nil, lrs.Errorf(lrs.ECONFLICT, "credential %q comes from the config file; change it there", key)
	}
	return c, nil
}

// CredentialUpdate changes a credential; nil fields stay as they are.
// Replacing the scopes keeps the credential trusted or not: only Trusted
// changes that.
type CredentialUpdate struct {
	Name    *string
	Scopes  []string
	Trusted *bool
}

// UpdateCredential changes the name, scopes or trust of a credential.
func (a *Admin) UpdateCredential(ctx context.Context, key string, u CredentialUpdate) (*CredentialInfo, error) {
	c, err := a.editable(ctx, key)
	if err != nil {
		return nil, err
	}
	if u.Name != nil {
		if err := checkCredentialName(*u.Name); err != nil {
			return nil, err
		}
		c.Name = *u.Name
	}
	trusted := c.Trusted()
	if u.Scopes != nil {
		if c.Scopes, err = CheckScopes(u.Scopes); err != nil {
			return nil, err
		}
	}
	if u.Trusted != nil {
		trusted = *u.Trusted
	}
	c.SetTrusted(trusted)
	if err := a.Credentials.PutCredential(ctx, c); err != nil {
		return nil, err
	}
	a.forget(key)
	return credentialInfo(c), nil
}

// RotateCredential gives a credential a new secret, returned once; the old
// secret stops working at once.
func (a *Admin) RotateCredential(ctx context.Context, key string) (*CredentialInfo, string, error) {
	c, err := a.editable(ctx, key)
	if err != nil {
		return nil, "", err
	}
	secret := lrs.GenerateSecret()
	c.SecretSalt, c.SecretHash = lrs.HashSecret(secret)
	if err := a.Credentials.PutCredential(ctx, c); err != nil {
		return nil, "", err
	}
	a.forget(key)
	return credentialInfo(c), secret, nil
}

// DeleteCredential deletes a credential.
func (a *Admin) DeleteCredential(ctx context.Context, key string) error {
	if _, err := a.editable(ctx, key); err != nil {
		return err
	}
	if err := a.Credentials.DeleteCredential(ctx, key); err != nil {
		return err
	}
	a.forget(key)
	return nil
}
