package moodle

// Badge events of the core component (logstore_xapi v5
// src/transformer/events/core/badge_*.php).

const coreBadgeMethodExt = "https://xapi.edlm/profiles/edlm-lms/v1/concepts/context-extensions/badge-assignment-method"

// coreBadgeAndCourse reads the badge of the event and the badge's course
// (nil for a site badge).
func (c *Ctx) coreBadgeAndCourse(ev Row) (badge, course Row, err error) {
	badge, err = ReadRecordByID(c.Repo, "badge", ev.Int("objectid"))
	if err != nil {
		return nil, nil, err
	}
	if badge.Int("courseid") != 0 {
		if course, err = c.Course(badge.Int("courseid")); err != nil {
			return nil, nil, err
		}
	}
	return badge, course, nil
}

// coreBadgeAwarded: the recipient achieved a badge.
//
// The plugin reads badge_manual_award by id = other.badgeissuedid (a
// badge_issued id) and sends instructor "System" when it finds none
// (unreachable there: a missing record aborts the event; and a string is
// not a valid instructor). Here: the record with that id is used when it
// belongs to this badge and recipient (or has no such columns, as in the
// plugin's fixture); otherwise the manual award of this badge to this
// recipient is looked up by badgeid/recipientid, Moodle's real key. With no
// manual award the method is "Automatic" and there is no instructor.
func coreBadgeAwarded(c *Ctx, ev Row) ([]Statement, error) {
	recipient, err := c.coreUserByCol(ev, "relateduserid")
	if err != nil {
		return nil, err
	}
	badge, course, err := c.coreBadgeAndCourse(ev)
	if err != nil {
		return nil, err
	}
	other, err := Other(ev)
	if err != nil {
		return nil, err
	}
	manual, err := c.coreBadgeManualAward(badge, recipient, OtherInt(other, "badgeissuedid"))
	if err != nil {
		return nil, err
	}
	var awarder Row
	if manual != nil {
		if awarder, err = ReadRecordByID(c.Repo, "user", manual.Int("issuerid")); err != nil {
			return nil, err
		}
	}
	lang := coreBadgeLang(badge, course)
	s, err := c.coreStatement(ev, c.Actor(recipient), inlineVerb("https://w3id.org/xapi/tla/verbs/achieved", "Achieved"),
		c.coreBadgeActivity(lang, badge), lang, nil)
	if err != nil {
		return nil, err
	}
	s["result"] = map[string]any{"response": badge.Str("message")}
	method := "Automatic"
	if awarder != nil {
		method = "Manual"
		s["context"].(map[string]any)["instructor"] = c.Actor(awarder)
	}
	coreContextExt(s)[coreBadgeMethodExt] = method
	if course != nil {
		coreContextActivities(s)["parent"] = []any{c.coreBadgeCourseParent(lang, course)}
	}
	return []Statement{s}, nil
}

// coreBadgeManualAward finds the manual award of a badge issue (see
// coreBadgeAwarded), or nil.
func (c *Ctx) coreBadgeManualAward(badge, recipient Row, issuedID int64) (Row, error) {
	if issuedID != 0 {
		rows, err := c.Repo.ReadRecords("badge_manual_award", map[string]any{"id": issuedID}, "")
		if err != nil {
			return nil, err
		}
		if len(rows) > 0 {
			r := rows[0]
			if (!r.Has("badgeid") || r.Int("badgeid") == badge.Int("id")) &&
				(!r.Has("recipientid") || r.Int("recipientid") == recipient.Int("id")) {
				return r, nil
			}
		}
	}
	rows, err := c.Repo.ReadRecords("badge_manual_award",
		map[string]any{"badgeid": badge.Int("id"), "recipientid": recipient.Int("id")}, "id DESC")
	if err != nil || len(rows) == 0 {
		return nil, err
	}
	return rows[0], nil
}

// coreBadgeRevoked: the recipient forfeited a badge, revoked by the user.
func coreBadgeRevoked(c *Ctx, ev Row) ([]Statement, error) {
	recipient, err := c.coreUserByCol(ev, "relateduserid")
	if err != nil {
		return nil, err
	}
	badge, course, err := c.coreBadgeAndCourse(ev)
	if err != nil {
		return nil, err
	}
	revoker, err := c.coreUserByCol(ev, "userid")
	if err != nil {
		return nil, err
	}
	lang := coreBadgeLang(badge, course)
	s, err := c.coreStatement(ev, c.Actor(recipient), inlineVerb("https://w3id.org/xapi/tla/verbs/forfeited", "Forfeited"),
		c.coreBadgeActivity(lang, badge), lang, nil)
	if err != nil {
		return nil, err
	}
	s["context"].(map[string]any)["instructor"] = c.Actor(revoker)
	coreContextExt(s)[coreBadgeMethodExt] = "Manual"
	if course != nil {
		coreContextActivities(s)["parent"] = []any{c.coreBadgeCourseParent(lang, course)}
	}
	return []Statement{s}, nil
}

// coreBadgeEditedOrViewed: the user edited or viewed a badge (the event's
// course, when set, is the parent).
func coreBadgeEditedOrViewed(verb func() map[string]any) Mapper {
	return func(c *Ctx, ev Row) ([]Statement, error) {
		user, err := c.coreUserByCol(ev, "userid")
		if err != nil {
			return nil, err
		}
		badge, err := ReadRecordByID(c.Repo, "badge", ev.Int("objectid"))
		if err != nil {
			return nil, err
		}
		course, err := c.coreEventCourse(ev)
		if err != nil {
			return nil, err
		}
		lang := coreBadgeLang(badge, course)
		s, err := c.coreStatement(ev, c.Actor(user), verb(), c.coreBadgeActivity(lang, badge), lang, course)
		if err != nil {
			return nil, err
		}
		return []Statement{s}, nil
	}
}
