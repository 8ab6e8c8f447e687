package rules

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// topLevel are the statement properties a transform path may start with.
var topLevel = map[string]bool{
	"id": true, "actor": true, "verb": true, "object": true, "result": true, "context": true,
	"timestamp": true, "stored": true, "authority": true, "version": true, "attachments": true,
}

// ifis are the inverse functional identifiers of an Agent or Group.
var ifis = map[string]bool{"mbox": true, "mbox_sha1sum": true, "openid": true, "account": true}

// required are properties without which a statement is invalid.
var required = map[string]bool{"actor": true, "verb": true, "object": true, "verb.id": true, "object.id": true}

// fixedFormat are properties whose value xAPI constrains (IRI, UUID, timestamp, …);
// replacing it by a hex digest would make the statement invalid.
var fixedFormat = map[string]string{
	"id": "an IRI or UUID", "objectType": "a fixed keyword", "homePage": "an IRL",
	"mbox_sha1sum": "already a SHA-1 digest", "openid": "a URI", "registration": "a UUID",
	"language": "a language tag", "timestamp": "a timestamp", "stored": "a timestamp",
	"version": "a version", "duration": "an ISO 8601 duration", "type": "an IRI",
	"moreInfo": "an IRL", "interactionType": "a fixed keyword", "account": "an object (hash account.name instead)",
}

type opKind int

const (
	opDrop opKind = iota
	opHash
)

type op struct {
	kind opKind
	segs []string
	mbox bool // hash of an agent's mbox: replaced by mbox_sha1sum
}

// checkPath validates one transform path.
func checkPath(kind opKind, p string) (op, error) {
	segs, err := checkSegs(kind, p)
	if err != nil {
		return op{}, err
	}
	o := op{kind: kind, segs: segs}
	o.mbox = kind == opHash && segs[len(segs)-1] == "mbox" && !strings.Contains(p, "extensions.")
	return o, nil
}

func checkSegs(kind opKind, p string) ([]string, error) {
	if strings.ContainsAny(p, "[]*") {
		return nil, fmt.Errorf("%q: list selectors are not supported (lists on the path are traversed automatically)", p)
	}
	segs := splitPath(p)
	if len(segs) == 0 {
		return nil, fmt.Errorf("empty path")
	}
	for _, s := range segs {
		if s == "" {
			return nil, fmt.Errorf("%q: empty path segment", p)
		}
	}
	if !topLevel[segs[0]] {
		keys := slices.Sorted(maps.Keys(topLevel))
		return nil, fmt.Errorf("%q: unknown statement property %q%s (known: %s)", p, segs[0],
			didYouMean(segs[0], keys), strings.Join(keys, ", "))
	}
	// Segments after "extensions" are an extension key, not a property name.
	props := segs
	for i, s := range segs {
		if s == "extensions" {
			props = segs[:i+1]
			break
		}
	}
	last := segs[len(segs)-1]
	switch kind {
	case opDrop:
		if required[p] {
			return nil, fmt.Errorf("drop %q: the property is required in an xAPI statement", p)
		}
		for _, s := range props {
			if ifis[s] {
				return nil, fmt.Errorf("drop %q: %s is an agent identifier (IFI); without it the agent and the statement would be invalid — use hash: [%q] to pseudonymise it instead",
					p, s, p)
			}
		}
	case opHash:
		if len(segs) == 1 {
			return nil, fmt.Errorf("hash %q: only properties inside actor, object, result, context, … can be hashed (e.g. actor.mbox, actor.account.name, actor.name)", p)
		}
		if len(props) == len(segs) { // not an extension value
			if why, ok := fixedFormat[last]; ok {
				return nil, fmt.Errorf("hash %q: %s must be %s in xAPI; hashing would make the statement invalid", p, last, why)
			}
			if len(segs) >= 2 && segs[len(segs)-2] == "account" && last != "name" {
				return nil, fmt.Errorf("hash %q: only account.name can be hashed", p)
			}
		}
	}
	return segs, nil
}

// apply runs the transform on s in place (s is already a private copy).
func (o op) apply(s map[string]any, salt string) {
	parents(s, o.segs[:len(o.segs)-1], func(m map[string]any) {
		key := o.segs[len(o.segs)-1]
		switch {
		case o.kind == opDrop:
			delete(m, key)
		case o.mbox:
			if v, ok := m["mbox"].(string); ok {
				sum := sha1.Sum([]byte(v))
				m["mbox_sha1sum"] = hex.EncodeToString(sum[:])
				delete(m, "mbox")
			}
		default:
			if v, ok := m[key].(string); ok {
				m[key] = saltedHash(salt, v)
			}
		}
	})
}

func saltedHash(salt, v string) string {
	h := sha256.New()
	h.Write([]byte(salt))
	h.Write([]byte(v))
	return hex.EncodeToString(h.Sum(nil))
}

// parents calls f for every map reached by segs from v, traversing lists.
func parents(v any, segs []string, f func(map[string]any)) {
	switch x := v.(type) {
	case map[string]any:
		if len(segs) == 0 {
			f(x)
			return
		}
		if next, ok := x[segs[0]]; ok {
			parents(next, segs[1:], f)
		}
	case []any:
		for _, e := range x {
			parents(e, segs, f)
		}
	}
}

// deepCopy copies decoded JSON (maps and lists; other values are immutable).
func deepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = deepCopy(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = deepCopy(e)
		}
		return out
	}
	return v
}
