package xapi

import (
	"fmt"
	"reflect"
	"sort"
)

// Canonical Activities: the definition the Activities resource returns is
// every definition statements gave the activity, merged in order.

// EncodeJSON encodes v compactly, without HTML escaping, keys sorted.
func EncodeJSON(v any) ([]byte, error) {
	return AppendJSON(nil, v, false)
}

// CollectActivities returns the Activities the statements use (object,
// context activities, and the same inside SubStatements) merged in order
// with MergeActivity, and their ids sorted. Nil statements are skipped.
// It has no limits: the store merges CollectDefinitions into a Canonical.
func CollectActivities(stmts []map[string]any) ([]string, map[string]map[string]any) {
	acts := map[string]map[string]any{}
	// The definition last merged per id: merging the same definition again
	// changes nothing, and a batch mostly repeats a few Activities (a
	// course, its site) with identical definitions.
	last := map[string]any{}
	add := func(a map[string]any) {
		id, ok := a["id"].(string)
		if !ok || id == "" {
			return
		}
		def := a["definition"]
		if prev, seen := last[id]; seen && sameJSON(prev, def) {
			return
		}
		last[id] = def
		acts[id] = MergeActivity(acts[id], a)
	}
	for _, st := range stmts {
		if st != nil {
			walkActivities(st, true, add)
		}
	}
	ids := make([]string, 0, len(acts))
	for id := range acts {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids, acts
}

// mergedDefinitionMaps are the definition properties merged key by key
// (language maps and extensions); every other property is replaced whole.
var mergedDefinitionMaps = map[string]bool{"name": true, "description": true, "extensions": true}

// MergeActivity returns the canonical Activity object that results from
// seeing newer after old (nil when none): {"objectType":"Activity","id",
// "definition"}. Definition properties newer has replace old's; language
// maps and extensions merge key by key, newer winning. Neither input is
// modified. It has no limits (see Canonical).
func MergeActivity(old, newer map[string]any) map[string]any {
	out := map[string]any{"objectType": "Activity"}
	if id, ok := newer["id"]; ok {
		out["id"] = id
	} else if old != nil {
		out["id"] = old["id"]
	}
	def := map[string]any{}
	od, _ := old["definition"].(map[string]any)
	for k, v := range od {
		def[k] = v
	}
	nd, _ := newer["definition"].(map[string]any)
	for k, v := range nd {
		nm, nok := v.(map[string]any)
		om, ook := def[k].(map[string]any)
		if mergedDefinitionMaps[k] && nok && ook {
			m := make(map[string]any, len(om)+len(nm))
			for lk, lv := range om {
				m[lk] = lv
			}
			for lk, lv := range nm {
				m[lk] = lv
			}
			def[k] = m
			continue
		}
		def[k] = v
	}
	if len(def) > 0 {
		out["definition"] = def
	}
	return out
}

// sameJSON reports whether two values of a statement (maps, slices and
// scalars) are equal, numbers as written: unlike the xAPI comparison
// (xapi.Equivalent), 1 and 1.0 differ, so that skipping a repeat never
// keeps another spelling than merging it would.
func sameJSON(a, b any) bool {
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			w, ok := y[k]
			if !ok || !sameJSON(v, w) {
				return false
			}
		}
		return true
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !sameJSON(x[i], y[i]) {
				return false
			}
		}
		return true
	case string:
		y, ok := b.(string)
		return ok && x == y
	case nil:
		return b == nil
	default:
		return reflect.DeepEqual(a, b)
	}
}

// Limits of canonical definitions. Merging key by key lets every statement
// add language entries and extensions to an Activity's canonical
// definition, so without a bound one credential could grow a course's
// definition without end (to MariaDB's max_allowed_packet, after which no
// statement naming the course could be stored; on SQLite, to a size that
// takes seconds to merge). A definition that would take the canonical one
// past a limit is not merged: the statement is stored and the canonical
// definition stays as it was (the specification lets an LRS decide whose
// definitions it adopts).
const (
	// DefaultMaxDefinitionBytes bounds the encoded canonical definition
	// (the "definition" object, compact JSON).
	DefaultMaxDefinitionBytes = 64 << 10
	// DefaultMaxLanguageEntries bounds each language map of a definition
	// (name, description, and the description of each interaction
	// component).
	DefaultMaxLanguageEntries = 100
	// DefaultMaxExtensions bounds the entries of a definition's extensions.
	DefaultMaxExtensions = 100
)

// DefinitionLimits bound a canonical Activity definition. Zero fields take
// the defaults above.
type DefinitionLimits struct {
	MaxBytes           int
	MaxLanguageEntries int
	MaxExtensions      int
}

// WithDefaults returns l with its zero (or negative) fields set to the
// defaults.
func (l DefinitionLimits) WithDefaults() DefinitionLimits {
	if l.MaxBytes <= 0 {
		l.MaxBytes = DefaultMaxDefinitionBytes
	}
	if l.MaxLanguageEntries <= 0 {
		l.MaxLanguageEntries = DefaultMaxLanguageEntries
	}
	if l.MaxExtensions <= 0 {
		l.MaxExtensions = DefaultMaxExtensions
	}
	return l
}

// CollectDefinitions returns the ids of the Activities the statements use
// (as CollectActivities finds them), sorted, and per id the definitions
// they give it, in statement order, a definition equal to the previous one
// of the same id left out (merging it again would change nothing). An
// Activity used without a definition has an empty list. The definitions
// are the statements' own maps: callers must not modify them.
func CollectDefinitions(stmts []map[string]any) ([]string, map[string][]map[string]any) {
	defs := map[string][]map[string]any{}
	add := func(a map[string]any) {
		id, ok := a["id"].(string)
		if !ok || id == "" {
			return
		}
		list, seen := defs[id]
		if !seen {
			defs[id] = nil
		}
		def, _ := a["definition"].(map[string]any)
		if len(def) == 0 {
			return
		}
		if n := len(list); n > 0 && sameJSON(list[n-1], def) {
			return
		}
		defs[id] = append(list, def)
	}
	for _, st := range stmts {
		if st != nil {
			walkActivities(st, true, add)
		}
	}
	ids := make([]string, 0, len(defs))
	for id := range defs {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids, defs
}

// walkActivities calls add for the object Activity and the context
// Activities of st, and of its SubStatement when top.
func walkActivities(st map[string]any, top bool, add func(map[string]any)) {
	if obj, ok := st["object"].(map[string]any); ok {
		switch obj["objectType"] {
		case nil, "Activity":
			add(obj)
		case "SubStatement":
			if top {
				walkActivities(obj, false, add)
			}
		}
	}
	ctx, _ := st["context"].(map[string]any)
	cas, _ := ctx["contextActivities"].(map[string]any)
	for _, k := range []string{"parent", "grouping", "category", "other"} {
		switch t := cas[k].(type) {
		case map[string]any:
			add(t)
		case []any:
			for _, x := range t {
				if m, ok := x.(map[string]any); ok {
					add(m)
				}
			}
		}
	}
}

// Canonical is an Activity's canonical definition being merged under
// limits. Merge costs what the merged definition costs to encode, not what
// the canonical one does: the encoded size of every entry is kept, so a
// definition near the limit is not encoded again for each statement that
// tries to add to it.
type Canonical struct {
	id  string
	lim DefinitionLimits
	def map[string]any // owned, and so are its merged maps (name, description, extensions)
	// esz is the encoded size of each entry `"k":v` of def; sub, that of
	// each entry of def's merged maps.
	esz  map[string]int
	sub  map[string]map[string]int
	sum  int  // sum of esz
	over bool // def is over the limits (stored before they applied)
	buf  []byte
}

// NewCanonical starts from stored, the canonical Activity object stored
// for id (nil when there is none). A stored definition over the limits
// (stored before they applied) is kept until a definition within them
// arrives, which then replaces it: see Merge.
func NewCanonical(id string, stored map[string]any, l DefinitionLimits) *Canonical {
	c := &Canonical{id: id, lim: l.WithDefaults()}
	def, _ := stored["definition"].(map[string]any)
	c.over = c.load(def) != nil
	return c
}

// NewOversizedCanonical is NewCanonical for a stored definition that is
// known to be over the limits without decoding it (its stored size says
// so): the first definition within the limits replaces it.
func NewOversizedCanonical(id string, l DefinitionLimits) *Canonical {
	c := &Canonical{id: id, lim: l.WithDefaults(), def: map[string]any{}, esz: map[string]int{}, sub: map[string]map[string]int{}}
	c.over = true
	return c
}

// Over reports whether the canonical definition is one stored over the
// limits and not replaced yet.
func (c *Canonical) Over() bool { return c.over }

// Size is the encoded size of the canonical definition object.
func (c *Canonical) Size() int { return objSize(c.sum, len(c.def)) }

// Activity returns the canonical Activity object: {"objectType":
// "Activity","id","definition"} (no definition when empty). It shares
// maps with c: the caller must not modify it.
func (c *Canonical) Activity() map[string]any {
	out := map[string]any{"objectType": "Activity", "id": c.id}
	if len(c.def) > 0 {
		out["definition"] = c.def
	}
	return out
}

// LimitError says which limit a definition exceeds.
type LimitError struct{ Reason string }

func (e *LimitError) Error() string { return "activity definition over the limit: " + e.Reason }

// Merge merges def into the canonical definition as MergeActivity does
// (language maps and extensions key by key, other properties replaced),
// unless the result would exceed a limit: then it changes nothing and
// returns a *LimitError. When the canonical definition is one stored over
// the limits, def replaces it if def alone is within them. def is not
// modified, nor kept (maps are copied; values are shared).
func (c *Canonical) Merge(def map[string]any) error {
	if len(def) == 0 {
		return nil
	}
	if c.over {
		n := &Canonical{id: c.id, lim: c.lim}
		if err := n.load(def); err != nil {
			return err
		}
		*c = *n
		return nil
	}
	type change struct {
		k    string
		v    any            // the new value (replace) or the entries to merge
		esz  int            // new size of the entry
		subs map[string]int // sizes of the merged (or new map's) entries
		into bool           // merge v's entries into the existing map
	}
	changes := make([]change, 0, len(def))
	sum, n := c.sum, len(c.def)
	for k, v := range def {
		nm, nok := v.(map[string]any)
		om, ook := c.def[k].(map[string]any)
		if mergedDefinitionMaps[k] && nok && ook {
			osz := c.sub[k]
			entries, subSum := len(om), c.esz[k]-c.keySize(k)-1-objSize(0, 0)-max(len(om)-1, 0)
			subs := make(map[string]int, len(nm))
			for lk, lv := range nm {
				s, err := c.entrySize(lk, lv)
				if err != nil {
					return err
				}
				subs[lk] = s
				if old, ok := osz[lk]; ok {
					subSum += s - old
				} else {
					subSum += s
					entries++
				}
			}
			if err := c.checkCount(k, entries); err != nil {
				return err
			}
			e := c.keySize(k) + 1 + objSize(subSum, entries)
			sum += e - c.esz[k]
			changes = append(changes, change{k: k, v: nm, esz: e, subs: subs, into: true})
			continue
		}
		if err := c.checkValue(k, v); err != nil {
			return err
		}
		var subs map[string]int
		var e int
		if mergedDefinitionMaps[k] && nok {
			subs = make(map[string]int, len(nm))
			subSum := 0
			for lk, lv := range nm {
				s, err := c.entrySize(lk, lv)
				if err != nil {
					return err
				}
				subs[lk] = s
				subSum += s
			}
			e = c.keySize(k) + 1 + objSize(subSum, len(nm))
		} else {
			s, err := c.entrySize(k, v)
			if err != nil {
				return err
			}
			e = s
		}
		if old, ok := c.esz[k]; ok {
			sum += e - old
		} else {
			sum += e
			n++
		}
		changes = append(changes, change{k: k, v: v, esz: e, subs: subs})
	}
	if size := objSize(sum, n); size > c.lim.MaxBytes {
		return &LimitError{fmt.Sprintf("%d bytes encoded, more than %d", size, c.lim.MaxBytes)}
	}
	for _, ch := range changes {
		c.esz[ch.k] = ch.esz
		switch {
		case ch.into:
			om := c.def[ch.k].(map[string]any)
			for lk, lv := range ch.v.(map[string]any) {
				om[lk] = lv
				c.sub[ch.k][lk] = ch.subs[lk]
			}
		case ch.subs != nil:
			c.def[ch.k] = copyMap(ch.v.(map[string]any))
			c.sub[ch.k] = ch.subs
		default:
			c.def[ch.k] = ch.v
			delete(c.sub, ch.k)
		}
	}
	c.sum = sum
	return nil
}

// load makes def the canonical definition, whatever its size, and reports
// whether it is over the limits.
func (c *Canonical) load(def map[string]any) error {
	c.def = make(map[string]any, len(def))
	c.esz = make(map[string]int, len(def))
	c.sub = map[string]map[string]int{}
	c.sum = 0
	var over error
	for k, v := range def {
		if err := c.checkValue(k, v); err != nil && over == nil {
			over = err
		}
		if nm, ok := v.(map[string]any); ok && mergedDefinitionMaps[k] {
			subs := make(map[string]int, len(nm))
			subSum := 0
			for lk, lv := range nm {
				s, err := c.entrySize(lk, lv)
				if err != nil {
					return err
				}
				subs[lk] = s
				subSum += s
			}
			c.def[k] = copyMap(nm)
			c.sub[k] = subs
			c.esz[k] = c.keySize(k) + 1 + objSize(subSum, len(nm))
		} else {
			s, err := c.entrySize(k, v)
			if err != nil {
				return err
			}
			c.def[k] = v
			c.esz[k] = s
		}
		c.sum += c.esz[k]
	}
	if over != nil {
		return over
	}
	if size := c.Size(); size > c.lim.MaxBytes {
		return &LimitError{fmt.Sprintf("%d bytes encoded, more than %d", size, c.lim.MaxBytes)}
	}
	return nil
}

// checkValue checks the entry counts of a definition property's value.
func (c *Canonical) checkValue(k string, v any) error {
	switch k {
	case "name", "description", "extensions":
		if m, ok := v.(map[string]any); ok {
			return c.checkCount(k, len(m))
		}
	case "choices", "scale", "source", "target", "steps":
		list, _ := v.([]any)
		for i, x := range list {
			comp, _ := x.(map[string]any)
			if d, ok := comp["description"].(map[string]any); ok && len(d) > c.lim.MaxLanguageEntries {
				return &LimitError{fmt.Sprintf("%s[%d].description has %d languages, more than %d", k, i, len(d), c.lim.MaxLanguageEntries)}
			}
		}
	}
	return nil
}

func (c *Canonical) checkCount(k string, n int) error {
	limit, what := c.lim.MaxLanguageEntries, "languages"
	if k == "extensions" {
		limit, what = c.lim.MaxExtensions, "entries"
	}
	if n > limit {
		return &LimitError{fmt.Sprintf("%s has %d %s, more than %d", k, n, what, limit)}
	}
	return nil
}

// entrySize is the encoded size of the object entry `"k":v`.
func (c *Canonical) entrySize(k string, v any) (int, error) {
	var err error
	c.buf = appendString(c.buf[:0], k, false)
	n := len(c.buf) + 1
	if c.buf, err = AppendJSON(c.buf[:0], v, false); err != nil {
		return 0, err
	}
	return n + len(c.buf), nil
}

func (c *Canonical) keySize(k string) int {
	c.buf = appendString(c.buf[:0], k, false)
	return len(c.buf)
}

// objSize is the encoded size of an object of n entries whose sizes sum to
// sum: braces and commas.
func objSize(sum, n int) int { return 2 + sum + max(n-1, 0) }

func copyMap(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
