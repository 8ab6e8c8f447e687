package xapi

import (
	"strings"
)

// actorKind restricts which actor shapes a position accepts.
type actorKind int

const (
	kindAny   actorKind = iota // Agent or Group
	kindAgent                  // Agent only (group members, contextAgent.agent)
	kindGroup                  // Group only (context.team, contextGroup.group)
)

// ifiKeys are the inverse functional identifier properties, in precedence order.
var ifiKeys = []string{"mbox", "mbox_sha1sum", "openid", "account"}

// actor validates an Agent or Group at path according to kind.
func (vd validator) actor(m map[string]any, path string, kind actorKind) *Error {
	ot, present, e := getString(m, "objectType", path)
	if e != nil {
		return e
	}
	if !present {
		ot = "Agent"
	}
	switch ot {
	case "Agent":
		if kind == kindGroup {
			if !present {
				return errf(join(path, "objectType"), "is required and must be \"Group\"")
			}
			return errf(join(path, "objectType"), "must be \"Group\"")
		}
	case "Group":
		if kind == kindAgent {
			return errf(join(path, "objectType"), "must be \"Agent\" (a Group is not allowed here)")
		}
	default:
		return errf(join(path, "objectType"), "must be \"Agent\" or \"Group\"")
	}
	allowed := []string{"objectType", "name", "mbox", "mbox_sha1sum", "openid", "account"}
	if ot == "Group" {
		allowed = append(allowed, "member")
	}
	if e := checkKeys(m, path, allowed...); e != nil {
		return e
	}
	if _, _, e := getString(m, "name", path); e != nil {
		return e
	}
	n, e := checkIFIs(m, path)
	if e != nil {
		return e
	}
	if ot == "Agent" {
		if n != 1 {
			return errf(path, "must have exactly one of mbox, mbox_sha1sum, openid, account (found %d)", n)
		}
		return nil
	}
	if n > 1 {
		return errf(path, "must have at most one of mbox, mbox_sha1sum, openid, account (found %d)", n)
	}
	mem, hasMember := m["member"]
	if !hasMember {
		if n == 0 {
			return errf(join(path, "member"), "is required for an anonymous Group")
		}
		return nil
	}
	a, e := arrayAt(mem, join(path, "member"))
	if e != nil {
		return e
	}
	if n == 0 && len(a) == 0 {
		return errf(join(path, "member"), "must not be empty for an anonymous Group")
	}
	for i, x := range a {
		p := index(join(path, "member"), i)
		am, e := objectAt(x, p)
		if e != nil {
			return e
		}
		if e := vd.actor(am, p, kindAgent); e != nil {
			return e
		}
	}
	return nil
}

// checkIFIs validates each IFI present and returns how many there are.
func checkIFIs(m map[string]any, path string) (int, *Error) {
	n := 0
	for _, k := range ifiKeys {
		v, ok := m[k]
		if !ok {
			continue
		}
		n++
		p := join(path, k)
		if k == "account" {
			acc, e := objectAt(v, p)
			if e != nil {
				return 0, e
			}
			if e := checkKeys(acc, p, "homePage", "name"); e != nil {
				return 0, e
			}
			if e := iriProp(acc, "homePage", p, true); e != nil {
				return 0, e
			}
			if _, e := requireString(acc, "name", p); e != nil {
				return 0, e
			}
			continue
		}
		s, ok := v.(string)
		if !ok {
			return 0, errf(p, "must be a string")
		}
		switch k {
		case "mbox":
			if !isMbox(s) {
				return 0, errf(p, "must be a \"mailto:\" IRI with an e-mail address")
			}
		case "mbox_sha1sum":
			if !isSHA1Hex(s) {
				return 0, errf(p, "must be 40 hexadecimal digits (SHA-1 of the mailto IRI)")
			}
		case "openid":
			if !isIRI(s) {
				return 0, errf(p, "must be an absolute IRI")
			}
		}
	}
	return n, nil
}

// authority validates the statement authority: an Agent, or an anonymous Group
// of exactly two Agents (OAuth 3-legged: consumer application and user).
func (vd validator) authority(v any, path string) *Error {
	m, e := objectAt(v, path)
	if e != nil {
		return e
	}
	if e := vd.actor(m, path, kindAny); e != nil {
		return e
	}
	if m["objectType"] != "Group" {
		return nil
	}
	if _, ok := AgentKey(m); ok {
		return errf(path, "an authority Group must be an anonymous Group (OAuth consumer and user)")
	}
	if a, _ := m["member"].([]any); len(a) != 2 {
		return errf(join(path, "member"), "an authority Group must have exactly two members (found %d)", len(a))
	}
	return nil
}

// AgentKey returns a canonical key for the IFI of an Agent or Identified Group:
// "mbox::mailto:x@y" (as given), "mbox_sha1sum::<lowercase hex>",
// "openid::<iri>" or "account::<homePage>::<name>". ok is false when the
// object has no usable IFI (e.g. an anonymous Group). When several IFIs are
// present (invalid input) the first in the order above wins.
func AgentKey(a map[string]any) (key string, ok bool) {
	if a == nil {
		return "", false
	}
	if s, ok := a["mbox"].(string); ok {
		return "mbox::" + s, true
	}
	if s, ok := a["mbox_sha1sum"].(string); ok {
		return "mbox_sha1sum::" + strings.ToLower(s), true
	}
	if s, ok := a["openid"].(string); ok {
		return "openid::" + s, true
	}
	if acc, ok := a["account"].(map[string]any); ok {
		hp, ok1 := acc["homePage"].(string)
		name, ok2 := acc["name"].(string)
		if ok1 && ok2 {
			return "account::" + hp + "::" + name, true
		}
	}
	return "", false
}
