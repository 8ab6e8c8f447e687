package xapi

// result validates a Result object.
func (vd validator) result(v any, path string) *Error {
	m, e := objectAt(v, path)
	if e != nil {
		return e
	}
	if e := checkKeys(m, path, "score", "success", "completion", "response", "duration", "extensions"); e != nil {
		return e
	}
	if s, ok := m["score"]; ok {
		if e := score(s, join(path, "score")); e != nil {
			return e
		}
	}
	for _, k := range []string{"success", "completion"} {
		if b, ok := m[k]; ok {
			if _, isBool := b.(bool); !isBool {
				return errf(join(path, k), "must be a boolean")
			}
		}
	}
	if _, _, e := getString(m, "response", path); e != nil {
		return e
	}
	if d, present, e := getString(m, "duration", path); e != nil {
		return e
	} else if present && !isDuration(d) {
		return errf(join(path, "duration"), "must be an ISO 8601 duration (e.g. PT1H30M)")
	}
	if x, ok := m["extensions"]; ok {
		return extensions(x, join(path, "extensions"))
	}
	return nil
}

// score validates a Score object.
func score(v any, path string) *Error {
	m, e := objectAt(v, path)
	if e != nil {
		return e
	}
	if e := checkKeys(m, path, "scaled", "raw", "min", "max"); e != nil {
		return e
	}
	vals := map[string]float64{}
	for _, k := range []string{"scaled", "raw", "min", "max"} {
		x, ok := m[k]
		if !ok {
			continue
		}
		f, ok := toFloat(x)
		if !ok {
			return errf(join(path, k), "must be a number")
		}
		vals[k] = f
	}
	if s, ok := vals["scaled"]; ok && (s < -1 || s > 1) {
		return errf(join(path, "scaled"), "must be between -1 and 1 inclusive")
	}
	mn, hasMin := vals["min"]
	mx, hasMax := vals["max"]
	if hasMin && hasMax && mn > mx {
		return errf(join(path, "min"), "must not be greater than max")
	}
	if r, ok := vals["raw"]; ok {
		if hasMin && r < mn {
			return errf(join(path, "raw"), "must not be less than min")
		}
		if hasMax && r > mx {
			return errf(join(path, "raw"), "must not be greater than max")
		}
	}
	return nil
}

// context validates a Context object; objType is the statement object's type,
// needed for the revision/platform rule.
func (vd validator) context(v any, path, objType string) *Error {
	m, e := objectAt(v, path)
	if e != nil {
		return e
	}
	allowed := []string{"registration", "instructor", "team", "contextActivities", "revision", "platform", "language", "statement", "extensions"}
	if vd.v == V200 {
		allowed = append(allowed, "contextAgents", "contextGroups")
	} else {
		for _, k := range []string{"contextAgents", "contextGroups"} {
			if _, ok := m[k]; ok {
				return errf(join(path, k), "is not allowed in xAPI 1.0.3 (added in 2.0.0)")
			}
		}
	}
	if e := checkKeys(m, path, allowed...); e != nil {
		return e
	}
	if r, present, e := getString(m, "registration", path); e != nil {
		return e
	} else if present && !IsUUID(r) {
		return errf(join(path, "registration"), "must be a UUID")
	}
	if x, ok := m["instructor"]; ok {
		p := join(path, "instructor")
		im, e := objectAt(x, p)
		if e != nil {
			return e
		}
		if e := vd.actor(im, p, kindAny); e != nil {
			return e
		}
	}
	if x, ok := m["team"]; ok {
		p := join(path, "team")
		tm, e := objectAt(x, p)
		if e != nil {
			return e
		}
		if e := vd.actor(tm, p, kindGroup); e != nil {
			return e
		}
	}
	if x, ok := m["contextActivities"]; ok {
		if e := vd.contextActivities(x, join(path, "contextActivities")); e != nil {
			return e
		}
	}
	for _, k := range []string{"revision", "platform"} {
		if _, present, e := getString(m, k, path); e != nil {
			return e
		} else if present && objType != "Activity" {
			return errf(join(path, k), "must only be used when the statement object is an Activity")
		}
	}
	if l, present, e := getString(m, "language", path); e != nil {
		return e
	} else if present && !ParseLanguageTag(l) {
		return errf(join(path, "language"), "must be an RFC 5646 language tag")
	}
	if x, ok := m["statement"]; ok {
		p := join(path, "statement")
		sm, e := objectAt(x, p)
		if e != nil {
			return e
		}
		if e := statementRef(sm, p); e != nil {
			return e
		}
	}
	if x, ok := m["extensions"]; ok {
		if e := extensions(x, join(path, "extensions")); e != nil {
			return e
		}
	}
	if x, ok := m["contextAgents"]; ok {
		if e := vd.contextActors(x, join(path, "contextAgents"), "contextAgent", "agent", kindAgent); e != nil {
			return e
		}
	}
	if x, ok := m["contextGroups"]; ok {
		if e := vd.contextActors(x, join(path, "contextGroups"), "contextGroup", "group", kindGroup); e != nil {
			return e
		}
	}
	return nil
}

// contextActivities validates the contextActivities object. Each value is an
// Activity or an array of Activities.
func (vd validator) contextActivities(v any, path string) *Error {
	m, e := objectAt(v, path)
	if e != nil {
		return e
	}
	if e := checkKeys(m, path, "parent", "grouping", "category", "other"); e != nil {
		return e
	}
	for _, k := range []string{"parent", "grouping", "category", "other"} {
		x, ok := m[k]
		if !ok {
			continue
		}
		p := join(path, k)
		switch t := x.(type) {
		case map[string]any:
			if e := vd.contextActivity(t, p); e != nil {
				return e
			}
		case []any:
			for i, a := range t {
				pi := index(p, i)
				am, e := objectAt(a, pi)
				if e != nil {
					return e
				}
				if e := vd.contextActivity(am, pi); e != nil {
					return e
				}
			}
		default:
			return errf(p, "must be an Activity object or an array of Activity objects")
		}
	}
	return nil
}

func (vd validator) contextActivity(m map[string]any, path string) *Error {
	if ot, present, e := getString(m, "objectType", path); e != nil {
		return e
	} else if present && ot != "Activity" {
		return errf(join(path, "objectType"), "must be \"Activity\"")
	}
	return vd.activity(m, path)
}

// contextActors validates 2.0 contextAgents / contextGroups arrays.
func (vd validator) contextActors(v any, path, objectType, actorKey string, kind actorKind) *Error {
	a, e := arrayAt(v, path)
	if e != nil {
		return e
	}
	for i, x := range a {
		p := index(path, i)
		m, e := objectAt(x, p)
		if e != nil {
			return e
		}
		if e := checkKeys(m, p, "objectType", actorKey, "relevantTypes"); e != nil {
			return e
		}
		ot, e := requireString(m, "objectType", p)
		if e != nil {
			return e
		}
		if ot != objectType {
			return errf(join(p, "objectType"), "must be %q", objectType)
		}
		ax, ok := m[actorKey]
		if !ok {
			return errf(join(p, actorKey), "is required")
		}
		am, e := objectAt(ax, join(p, actorKey))
		if e != nil {
			return e
		}
		if e := vd.actor(am, join(p, actorKey), kind); e != nil {
			return e
		}
		if rt, ok := m["relevantTypes"]; ok {
			rp := join(p, "relevantTypes")
			ra, e := arrayAt(rt, rp)
			if e != nil {
				return e
			}
			if len(ra) == 0 {
				return errf(rp, "must not be empty")
			}
			for j, t := range ra {
				s, ok := t.(string)
				if !ok || !isIRI(s) {
					return errf(index(rp, j), "must be an absolute IRI")
				}
			}
		}
	}
	return nil
}

// attachments validates the attachments array.
func (vd validator) attachments(v any, path string) *Error {
	a, e := arrayAt(v, path)
	if e != nil {
		return e
	}
	for i, x := range a {
		p := index(path, i)
		m, e := objectAt(x, p)
		if e != nil {
			return e
		}
		if e := checkKeys(m, p, "usageType", "display", "description", "contentType", "length", "sha2", "fileUrl"); e != nil {
			return e
		}
		if e := iriProp(m, "usageType", p, true); e != nil {
			return e
		}
		d, ok := m["display"]
		if !ok {
			return errf(join(p, "display"), "is required")
		}
		if e := languageMap(d, join(p, "display")); e != nil {
			return e
		}
		if d, ok := m["description"]; ok {
			if e := languageMap(d, join(p, "description")); e != nil {
				return e
			}
		}
		if _, e := requireString(m, "contentType", p); e != nil {
			return e
		}
		l, ok := m["length"]
		if !ok {
			return errf(join(p, "length"), "is required")
		}
		if !isNonNegInt(l) {
			return errf(join(p, "length"), "must be a non-negative integer")
		}
		sha, e := requireString(m, "sha2", p)
		if e != nil {
			return e
		}
		if sha == "" || !allHex(sha) {
			return errf(join(p, "sha2"), "must be a hexadecimal SHA-2 hash")
		}
		if e := iriProp(m, "fileUrl", p, false); e != nil {
			return e
		}
	}
	return nil
}

func allHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isHex(s[i]) {
			return false
		}
	}
	return true
}

// isNonNegInt reports whether v is a JSON integer >= 0.
func isNonNegInt(v any) bool {
	f, ok := toFloat(v)
	if !ok || f < 0 || f != float64(int64(f)) {
		return false
	}
	return true
}
