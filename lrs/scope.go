package lrs

import "slices"

// xAPI scopes (xAPI 1.0.3 §4.1.5 / 2.0 §4.4.1).
const (
	ScopeAll                = "all"
	ScopeAllRead            = "all/read"
	ScopeStatementsWrite    = "statements/write"
	ScopeStatementsRead     = "statements/read"
	ScopeStatementsReadMine = "statements/read/mine"
	ScopeState              = "state"
	ScopeDefine             = "define"
	ScopeProfile            = "profile"
)

// Scopes lists every valid scope.
var Scopes = []string{ScopeAll, ScopeAllRead, ScopeStatementsWrite, ScopeStatementsRead,
	ScopeStatementsReadMine, ScopeState, ScopeDefine, ScopeProfile}

// Principal is the authenticated caller of a request.
type Principal struct {
	Key     string   // credential key (the Basic auth user name)
	StoreID int64    // the store the credential belongs to
	Scopes  []string // granted scopes
	// Authority is the Agent the LRS writes into statements this caller
	// stores; AuthorityKey is its IFI key (see xapi.AgentKey).
	Authority    map[string]any
	AuthorityKey string
}

func (p *Principal) has(s string) bool { return slices.Contains(p.Scopes, s) }

// CanWriteStatements reports whether p may store statements.
func (p *Principal) CanWriteStatements() bool {
	return p.has(ScopeAll) || p.has(ScopeStatementsWrite)
}

// CanReadStatements reports whether p may read statements, and whether only
// its own (those whose authority is p's).
func (p *Principal) CanReadStatements() (ok, mineOnly bool) {
	if p.has(ScopeAll) || p.has(ScopeAllRead) || p.has(ScopeStatementsRead) {
		return true, false
	}
	if p.has(ScopeStatementsReadMine) {
		return true, true
	}
	return false, false
}
