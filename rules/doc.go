// Package rules decides where a statement is forwarded: each rule names the
// stores it watches, a condition (`when`) written in expr-lang
// (https://expr-lang.org), the targets (other LRSs, webhooks, or "personal")
// and an optional transform applied to the copy sent to those targets.
//
// # Conditions
//
// A `when` expression must be true or false. It is compiled once when the
// configuration is loaded, against a typed environment, so a misspelt
// property, a syntax error or a non-boolean expression is reported at start-up
// with the rule name and position:
//
//	rule "completions": when: line 1, column 1: unknown name verbb (did you mean verb?)
//
// An empty `when` matches every statement. A runtime error (say, comparing a
// missing extension with a number) is logged and that rule does not match;
// the other rules are unaffected.
//
// # Budget
//
// Each rule may take at most DefaultBudget (100,000) steps on a statement
// (WithBudget changes it). A step is one evaluation of the predicate of a
// builtin: any(list, p) over n elements takes up to n steps, a predicate
// nested in another up to the product of the two lengths. A rule that
// overruns fails on that statement, like any runtime error:
//
//	rule "nested": when: line 1, column 81: overran its budget of 100000 steps on statement 6f1a…
//
// The error is a *RuleError wrapping a *BudgetError (errors.Is ErrBudget).
// Each rule of a Match starts with the whole budget.
//
// # What an expression can read
//
// Properties that the statement does not have read as their zero value: ""
// for text, false, 0, an empty list, a nil map, or the zero time. Use has()
// to tell "absent" from "zero" (e.g. has("result.success") && !result.success).
// Numbers are float64.
//
//	id                                  statement id
//	store                               name of the store that received the statement
//	version                             statement version ("" if not given)
//	timestamp, stored                   time values: timestamp > date("2025-01-01"), stored.Year() == 2025
//
//	actor.objectType                    "Agent" or "Group"
//	actor.name
//	actor.mbox                          "mailto:a@example.org"
//	actor.mbox_sha1sum
//	actor.openid
//	actor.account.homePage
//	actor.account.name
//	actor.key                           one string per identity: "mbox::mailto:a@example.org",
//	                                    "mbox_sha1sum::<hex>", "openid::<uri>", "account::<homePage>::<name>"
//	actor.member                        list of agents (Groups), e.g. any(actor.member, .mbox == "mailto:t@x.org")
//	authority.*                         same fields as actor
//
//	verb.id                             "http://adlnet.gov/expapi/verbs/completed"
//	verb.display                        language map: verb.display["en-US"], lang(verb.display, "en")
//
//	object.objectType                   "Activity" (also when absent), "Agent", "Group", "StatementRef", "SubStatement"
//	object.id                           activity IRI or referenced statement id
//	object.definition.type              activity type IRI
//	object.definition.name              language map
//	object.definition.description       language map
//	object.definition.moreInfo
//	object.definition.interactionType
//	object.definition.extensions        map: object.definition.extensions["http://…"]
//	object.name, object.mbox, object.mbox_sha1sum, object.openid,
//	object.account.homePage, object.account.name, object.key, object.member
//	                                    when the object is an Agent or Group
//	object.actor.*, object.verb.*       when the object is a SubStatement (anything else: statement.object…)
//
//	result.success                      bool
//	result.completion                   bool
//	result.score.scaled                 number (also raw, min, max)
//	result.duration                     ISO 8601 text, e.g. "PT1H30M"
//	result.response
//	result.extensions                   map
//
//	context.registration
//	context.platform                    e.g. "Moodle"
//	context.language
//	context.revision
//	context.statement                   id of the StatementRef in context
//	context.instructor.*, context.team.*  same fields as actor
//	context.contextActivities.parent    list of activities: each has id, objectType, definition.*
//	context.contextActivities.grouping  (a Moodle course is a grouping)
//	context.contextActivities.category
//	context.contextActivities.other
//	context.extensions                  map
//
//	statement                           the whole statement as a map (escape hatch for anything
//	                                    not listed above, numbers as float64): statement.object.definition.choices
//	                                    Reading a missing property of a missing object is a runtime error:
//	                                    use statement?.result?.score?.raw ?? 0
//
// # Helper functions
//
//	verbIs("completed")                 verb.id ends with "/completed" (or "#completed"); with a full IRI
//	                                    (anything containing ':'), verb.id equals it
//	activityType()                      object.definition.type ("" if none)
//	isActivityType("course")            like verbIs, for object.definition.type:
//	                                    isActivityType("http://adlnet.gov/expapi/activities/course")
//	inParent(iri)                       some context.contextActivities.parent has that id
//	inGrouping(iri)                     same for grouping (e.g. the Moodle course), inCategory(iri), inOther(iri)
//	inContext(iri)                      any of parent, grouping, category, other has that id
//	extension(map, key)                 an extension's value, nil if absent:
//	                                    extension(context.extensions, "http://lrs.learninglocker.net/define/extensions/info") != nil
//	lang(map, "en")                     best text of a language map: the exact tag, else the same language
//	                                    ("en-US", "en-GB"), else "und", else any; "" if empty
//	has("result.score.scaled")          whether the statement has that property (dot path; after
//	                                    "extensions." the rest is the key: has("context.extensions.http://x.org/ext"))
//
// expr-lang's built-in operators and functions also work, notably:
//
//	==, !=, <, <=, >, >=, and, or, not, &&, ||, !, in, ?:, ??, ?.
//	verb.id startsWith "http://adlnet.gov/"     endsWith, contains, matches "regexp"
//	"http://x/course/2" in map(context.contextActivities.grouping, .id)
//	any(list, predicate), all, none, one, filter, map, count, len
//	lower, upper, trim, split, hasPrefix, hasSuffix, indexOf
//	date("2025-01-01"), date("2025-01-01T10:00:00Z"), now(), duration("24h"):
//	    timestamp > now() - duration("24h")
//
// Examples:
//
//	verbIs("completed") && isActivityType("course")
//	result.success && result.score.scaled >= 0.8
//	inGrouping("https://moodle.example.org/course/view.php?id=42")
//	store == "moodle" and actor.account.homePage == "https://moodle.example.org"
//	extension(result.extensions, "http://example.org/attempt") > 2
//
// # Transforms
//
// A rule's transform is applied to a copy of the statement sent to that
// rule's targets (the stored statement is never changed). Paths are dotted
// property names starting with a statement property (id, actor, verb,
// object, result, context, timestamp, stored, authority, version,
// attachments); lists on the way are traversed, so "actor.member.mbox" covers
// every member. After "extensions." the rest of the path is the extension key.
//
//	drop: ["actor.name", "context.instructor", "result.response", "authority"]
//	    removes the properties. Identifiers (mbox, mbox_sha1sum, openid,
//	    account) and required properties (actor, verb, object, verb.id,
//	    object.id) cannot be dropped: the statement would no longer be valid.
//	    Pseudonymise identifiers with hash instead.
//
//	hash: ["actor.mbox", "context.instructor.mbox"]
//	    replaces the agent's mbox by mbox_sha1sum = hex(SHA-1("mailto:…")), the
//	    standard xAPI pseudonymous identifier (the result is still a valid agent,
//	    and matches what other systems compute for the same address).
//
//	hash: ["actor.account.name", "actor.name", "result.response"]
//	    replaces a text value by hex(SHA-256(salt + value)), using the
//	    configured hash salt (required for these; keep it secret and stable, or
//	    the same person gets a different pseudonym). Non-text values are left
//	    unchanged. Values whose format xAPI fixes (ids, IRIs, UUIDs, timestamps,
//	    account.homePage, openid, mbox_sha1sum) cannot be hashed.
//
// Drops are applied before hashes.
package rules
