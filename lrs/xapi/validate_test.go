package xapi

import (
	"errors"
	"testing"
)

// complexStatement uses every statement property.
const complexStatement = `{
  "id": "6690E6C9-3EF0-4ED3-8B37-7F3964730BEE",
  "actor": {"objectType": "Group", "name": "Team", "mbox": "mailto:team@example.com",
    "member": [{"name": "Bob", "mbox_sha1sum": "cd9b00a5611f94eaa7b1661edab976068e364975"},
               {"objectType": "Agent", "openid": "http://openid.example.org/12345"}]},
  "verb": {"id": "http://adlnet.gov/expapi/verbs/answered", "display": {"en-US": "answered", "zh-Hant": "回答", "sr-Latn-RS": "odgovorio"}},
  "object": {"objectType": "Activity", "id": "http://example.com/q/1",
    "definition": {"name": {"en-US": "Question 1"}, "description": {"en-US": "Pick one", "de-DE": "Wähle"},
      "type": "http://adlnet.gov/expapi/activities/cmi.interaction", "moreInfo": "http://example.com/q/1/info",
      "interactionType": "choice", "correctResponsesPattern": ["golf[,]tetris"],
      "choices": [{"id": "golf", "description": {"en-US": "Golf"}}, {"id": "tetris", "description": {"en-US": "Tetris"}}],
      "extensions": {"http://example.com/ext/a": null, "http://example.com/ext/b": {"x": [1, 2.50, "y"]}}}},
  "result": {"score": {"scaled": 0.95, "raw": 95, "min": 0, "max": 100}, "success": true, "completion": true,
    "response": "golf", "duration": "PT1H0M0.1S", "extensions": {"http://example.com/ext/r": 1}},
  "context": {"registration": "ec531277-b57b-4c15-8d91-d292c5b2b8f7",
    "instructor": {"account": {"homePage": "http://www.example.com", "name": "teacher"}},
    "team": {"objectType": "Group", "member": [{"mbox": "mailto:a@example.com"}]},
    "contextActivities": {"parent": {"id": "http://example.com/quiz"}, "grouping": [{"objectType": "Activity", "id": "http://example.com/course"}],
      "category": [{"id": "http://example.com/profile"}], "other": []},
    "revision": "r1", "platform": "Example LMS", "language": "en-US",
    "statement": {"objectType": "StatementRef", "id": "8f87ccde-bb56-4c2e-ab83-44982ef22df0"},
    "extensions": {"http://example.com/ext/c": "v"}},
  "timestamp": "2013-05-18T05:32:34.804+01:00",
  "stored": "2013-05-18T05:32:34.804Z",
  "authority": {"objectType": "Group", "member": [
    {"account": {"homePage": "http://example.com/xAPI/OAuth/Token", "name": "oauth_consumer_x75db"}},
    {"mbox": "mailto:bob@example.com"}]},
  "version": "1.0.3",
  "attachments": [{"usageType": "http://adlnet.gov/expapi/attachments/signature", "display": {"en-US": "Signature"},
    "description": {"es-MX": "Firma"}, "contentType": "application/octet-stream", "length": 4235,
    "sha2": "672fa5fa658017f1b72d65036f13379c6ab05d4ab3b6664908d8acf0b6a0c634", "fileUrl": "http://example.com/f.txt"}]
}`

const subStatementObject = `{
  "actor": {"mbox": "mailto:ada@example.com"},
  "verb": {"id": "http://adlnet.gov/expapi/verbs/attended"},
  "object": {"objectType": "SubStatement",
    "actor": {"objectType": "Agent", "mbox": "mailto:test@example.com"},
    "verb": {"id": "http://example.com/visited", "display": {"sr-Cyrl": "посетио"}},
    "object": {"objectType": "StatementRef", "id": "8f87ccde-bb56-4c2e-ab83-44982ef22df0"},
    "result": {"success": false},
    "context": {"registration": "ec531277-b57b-4c15-8d91-d292c5b2b8f7", "language": "fr-CA"},
    "timestamp": "2008-09-15T15:53:00.601+00:00",
    "attachments": []}
}`

const v2Statement = `{
  "actor": {"mbox": "mailto:coach@example.com"},
  "verb": {"id": "http://example.com/verbs/played"},
  "object": {"id": "https://example.com/games/1"},
  "context": {
    "contextAgents": [{"objectType": "contextAgent", "agent": {"objectType": "Agent", "mbox": "mailto:player-1@example.com"},
      "relevantTypes": ["https://example.com/types/player", "https://example.com/types/quarterback"]},
      {"objectType": "contextAgent", "agent": {"mbox": "mailto:player-2@example.com"}}],
    "contextGroups": [{"objectType": "contextGroup", "group": {"objectType": "Group", "mbox": "mailto:team-1@example.com",
      "member": [{"mbox": "mailto:player-1@example.com"}]}, "relevantTypes": ["https://example.com/types/team/a"]},
      {"objectType": "contextGroup", "group": {"objectType": "Group", "member": [{"mbox": "mailto:p3@example.com"}]}}]},
  "version": "2.0.0",
  "timestamp": "2023-05-04T12:00:00-05:00"
}`

func interaction(t *testing.T, def string) map[string]any {
	return stmt(t, `{"object": {"id": "http://example.com/q", "definition": `+def+`}}`)
}

func TestValidateValid(t *testing.T) {
	cases := []struct {
		name string
		v    Version
		s    map[string]any
	}{
		{"base 1.0.3", V103, stmt(t, "")},
		{"base 2.0", V200, stmt(t, "")},
		{"complex 1.0.3", V103, mustDecode(t, complexStatement)},
		{"complex 2.0", V200, mustDecode(t, complexStatement)},
		{"substatement", V103, mustDecode(t, subStatementObject)},
		{"2.0 contextAgents/Groups", V200, mustDecode(t, v2Statement)},
		{"2.0 substatement contextAgents", V200, sub(t, `{"context": {"contextAgents": [{"objectType": "contextAgent", "agent": {"mbox": "mailto:a@b.c"}}]}}`)},
		{"no objectType activity", V103, stmt(t, `{"object": {"id": "http://example.com/a"}}`)},
		{"agent object", V103, stmt(t, `{"object": {"objectType": "Agent", "mbox_sha1sum": "CD9B00A5611F94EAA7B1661EDAB976068E364975"}}`)},
		{"identified group object no member", V103, stmt(t, `{"object": {"objectType": "Group", "openid": "http://openid.example.org/1"}}`)},
		{"anonymous group actor", V103, stmt(t, `{"actor": {"objectType": "Group", "name": "G", "member": [{"mbox": "mailto:x@example.com"}]}}`)},
		{"voiding", V103, stmt(t, `{"verb": {"id": "http://adlnet.gov/expapi/verbs/voided"}, "object": {"objectType": "StatementRef", "id": "8f87ccde-bb56-4c2e-ab83-44982ef22df0"}}`)},
		{"uppercase uuid id", V103, stmt(t, `{"id": "AA97B177-9383-4934-8543-0F91A7A02836"}`)},
		{"nil uuid variant", V103, stmt(t, `{"id": "00000000-0000-0000-0000-000000000000"}`)},
		{"version 1.0", V103, stmt(t, `{"version": "1.0"}`)},
		{"version 1.0.9", V200, stmt(t, `{"version": "1.0.9"}`)},
		{"version 2.0", V200, stmt(t, `{"version": "2.0"}`)},
		{"timestamp +00:00", V200, stmt(t, `{"timestamp": "2008-09-15T15:53:00.601+00:00"}`)},
		{"timestamp basic", V103, stmt(t, `{"timestamp": "20080915T155300Z"}`)},
		{"timestamp no zone 1.0.3", V103, stmt(t, `{"timestamp": "2008-09-15T15:53:00"}`)},
		{"timestamp +0530", V103, stmt(t, `{"timestamp": "2008-09-15T15:53:00.1234567+0530"}`)},
		{"duration P4W", V103, stmt(t, `{"result": {"duration": "P4W"}}`)},
		{"duration P3Y1M29DT4H35M59.14S", V103, stmt(t, `{"result": {"duration": "P3Y1M29DT4H35M59.14S"}}`)},
		{"duration PT16559.14S", V103, stmt(t, `{"result": {"duration": "PT16559.14S"}}`)},
		{"score scaled -1.0000", V103, stmt(t, `{"result": {"score": {"scaled": -1.0000}}}`)},
		{"score raw equals bounds", V103, stmt(t, `{"result": {"score": {"raw": 5, "min": 5, "max": 5}}}`)},
		{"extensions empty", V103, stmt(t, `{"result": {"extensions": {}}, "context": {"extensions": {}}}`)},
		{"extension values", V103, stmt(t, `{"result": {"extensions": {"http://example.com/ex": "", "http://example.com/n": null, "http://example.com/o": {}}}}`)},
		{"language cmn", V103, stmt(t, `{"context": {"language": "cmn"}}`)},
		{"language zh-Hans-CN", V103, stmt(t, `{"verb": {"id": "http://example.com/v", "display": {"zh-Hans-CN": "x", "es-419": "y", "ase": "z", "x-private": "p", "i-klingon": "k", "de-CH-1901": "v", "en-a-bbb-x-a-ccc": "e"}}}`)},
		{"revision with no objectType", V103, stmt(t, `{"object": {"id": "http://example.com/a"}, "context": {"revision": "1", "platform": "p"}}`)},
		{"authority agent", V103, stmt(t, `{"authority": {"objectType": "Agent", "account": {"homePage": "http://example.com", "name": "lrs"}}}`)},
		{"attachments empty", V103, stmt(t, `{"attachments": []}`)},
		{"unicode", V103, stmt(t, `{"verb": {"id": "http://example.com/v", "display": {"ja": "出席した"}}, "object": {"id": "http://example.com/ü/試験"}}`)},
		{"true-false", V103, interaction(t, `{"interactionType": "true-false", "correctResponsesPattern": ["true"]}`)},
		{"fill-in", V103, interaction(t, `{"interactionType": "fill-in", "correctResponsesPattern": ["Bob's your uncle"]}`)},
		{"long-fill-in", V103, interaction(t, `{"interactionType": "long-fill-in", "correctResponsesPattern": ["{case_matters=false}{lang=en}To store and provide access to learning experiences."]}`)},
		{"likert", V103, interaction(t, `{"interactionType": "likert", "correctResponsesPattern": ["likert_3"], "scale": [{"id": "likert_0", "description": {"en-US": "Bad"}}, {"id": "likert_3", "description": {"sr-Latn-RS": "Dobro"}}]}`)},
		{"matching", V103, interaction(t, `{"interactionType": "matching", "correctResponsesPattern": ["ben[.]3"], "source": [{"id": "ben", "description": {"en-US": "Ben"}}], "target": [{"id": "3", "description": {"en-US": "Swimming"}}]}`)},
		{"performance", V103, interaction(t, `{"interactionType": "performance", "correctResponsesPattern": ["pong[.]1:[,]dg[.]:10"], "steps": [{"id": "pong", "description": {"en-US": "Net pong"}}, {"id": "dg"}]}`)},
		{"sequencing", V103, interaction(t, `{"interactionType": "sequencing", "correctResponsesPattern": ["a[,]b"], "choices": [{"id": "a"}, {"id": "b"}]}`)},
		{"numeric", V103, interaction(t, `{"interactionType": "numeric", "correctResponsesPattern": ["4[:]"]}`)},
		{"other", V103, interaction(t, `{"interactionType": "other", "correctResponsesPattern": ["(35.937432,-86.868896)"]}`)},
		{"interactionType alone", V103, interaction(t, `{"interactionType": "choice"}`)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if err := ValidateStatement(c.s, c.v); err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
		})
	}
}

func TestValidateInvalid(t *testing.T) {
	const ref = `{"objectType": "StatementRef", "id": "8f87ccde-bb56-4c2e-ab83-44982ef22df0"}`
	cases := []struct {
		name string
		v    Version
		s    map[string]any
		path string
	}{
		// statement structure
		{"missing actor", V103, stmt(t, `{"actor": "__delete__"}`), "actor"},
		{"missing verb", V103, stmt(t, `{"verb": "__delete__"}`), "verb"},
		{"missing object", V103, stmt(t, `{"object": "__delete__"}`), "object"},
		{"null actor", V103, mustDecode(t, `{"actor": null, "verb": {"id": "http://e.com/v"}, "object": {"id": "http://e.com/a"}}`), "actor"},
		{"null context", V103, stmt(t, `{"context": null}`), "context"},
		{"unknown top-level", V103, stmt(t, `{"foo": 1}`), "foo"},
		{"wrong key case", V103, stmt(t, `{"Timestamp": "2013-05-18T05:32:34.804Z"}`), "Timestamp"},
		{"id numeric", V103, stmt(t, `{"id": 12345}`), "id"},
		{"id object", V103, stmt(t, `{"id": {"key": "v"}}`), "id"},
		{"id too many digits", V103, stmt(t, `{"id": "AA97B177-9383-4934-8543-0F91A7A028368"}`), "id"},
		{"id non-hex", V103, stmt(t, `{"id": "MA97B177-9383-4934-8543-0F91A7A02836"}`), "id"},
		// actor
		{"agent no IFI", V103, stmt(t, `{"actor": {"objectType": "Agent", "name": "x"}}`), "actor"},
		{"agent two IFIs", V103, stmt(t, `{"actor": {"mbox": "mailto:a@b.c", "openid": "http://o.example.com/1"}}`), "actor"},
		{"agent objectType lowercase", V103, stmt(t, `{"actor": {"objectType": "agent", "mbox": "mailto:a@b.c"}}`), "actor.objectType"},
		{"agent objectType numeric", V103, stmt(t, `{"actor": {"objectType": 123, "mbox": "mailto:a@b.c"}}`), "actor.objectType"},
		{"agent name numeric", V103, stmt(t, `{"actor": {"name": 123, "mbox": "mailto:a@b.c"}}`), "actor.name"},
		{"agent name object", V103, stmt(t, `{"actor": {"name": {"key": "v"}, "mbox": "mailto:a@b.c"}}`), "actor.name"},
		{"mbox not mailto", V103, stmt(t, `{"actor": {"mbox": "http://should.fail.com"}}`), "actor.mbox"},
		{"mbox not email", V103, stmt(t, `{"actor": {"mbox": "mailto:should.fail.com"}}`), "actor.mbox"},
		{"mbox_sha1sum not string", V103, stmt(t, `{"actor": {"mbox_sha1sum": 12345}}`), "actor.mbox_sha1sum"},
		{"mbox_sha1sum short", V103, stmt(t, `{"actor": {"mbox_sha1sum": "cd9b00a5611f94eaa7b1661edab97606"}}`), "actor.mbox_sha1sum"},
		{"openid not IRI", V103, stmt(t, `{"actor": {"openid": "ab=c://should.fail.com"}}`), "actor.openid"},
		{"account no homePage", V103, stmt(t, `{"actor": {"account": {"name": "x"}}}`), "actor.account.homePage"},
		{"account no name", V103, stmt(t, `{"actor": {"account": {"homePage": "http://example.com"}}}`), "actor.account.name"},
		{"account homePage not IRL", V103, stmt(t, `{"actor": {"account": {"homePage": "ab=c://should.fail.com", "name": "x"}}}`), "actor.account.homePage"},
		{"account name object", V103, stmt(t, `{"actor": {"account": {"homePage": "http://example.com", "name": {"key": "v"}}}}`), "actor.account.name"},
		{"account extra key", V103, stmt(t, `{"actor": {"account": {"homePage": "http://example.com", "name": "x", "id": 1}}}`), "actor.account.id"},
		{"agent with member", V103, stmt(t, `{"actor": {"mbox": "mailto:a@b.c", "member": []}}`), "actor.member"},
		{"anonymous group no member", V103, stmt(t, `{"actor": {"objectType": "Group", "name": "g"}}`), "actor.member"},
		{"group member not array", V103, stmt(t, `{"actor": {"objectType": "Group", "member": {"mbox": "mailto:a@b.c"}}}`), "actor.member"},
		{"group member is group", V103, stmt(t, `{"actor": {"objectType": "Group", "member": [{"objectType": "Group", "mbox": "mailto:a@b.c"}]}}`), "actor.member[0].objectType"},
		{"group member invalid", V103, stmt(t, `{"actor": {"objectType": "Group", "member": [{"mbox": "mailto:a@b.c"}, {"name": "no ifi"}]}}`), "actor.member[1]"},
		{"group two IFIs", V103, stmt(t, `{"actor": {"objectType": "Group", "mbox": "mailto:a@b.c", "openid": "http://o.example.com/1", "member": []}}`), "actor"},
		{"actor string", V103, stmt(t, `{"actor": "agent"}`), "actor"},
		// verb
		{"verb no id", V103, stmt(t, `{"verb": {"display": {"en-US": "x"}}}`), "verb.id"},
		{"verb id not IRI", V103, stmt(t, `{"verb": {"id": "ab=c://should.fail.com"}}`), "verb.id"},
		{"verb display string", V103, stmt(t, `{"verb": {"id": "http://e.com/v", "display": "a12345 attended"}}`), "verb.display"},
		{"verb display numeric", V103, stmt(t, `{"verb": {"id": "http://e.com/v", "display": 12345}}`), "verb.display"},
		{"verb display bad tag", V103, stmt(t, `{"verb": {"id": "http://e.com/v", "display": {"a12345": "attended"}}}`), "verb.display.a12345"},
		{"verb display null value", V103, stmt(t, `{"verb": {"id": "http://e.com/v", "display": {"en-US": null}}}`), "verb.display.en-US"},
		{"verb extra", V103, stmt(t, `{"verb": {"id": "http://e.com/v", "name": {"en-US": "x"}}}`), "verb.name"},
		{"voided without StatementRef", V103, stmt(t, `{"verb": {"id": "http://adlnet.gov/expapi/verbs/voided"}}`), "object"},
		// object
		{"object string", V103, stmt(t, `{"object": "activity"}`), "object"},
		{"activity no id", V103, stmt(t, `{"object": {"objectType": "Activity"}}`), "object.id"},
		{"activity id not IRI", V103, stmt(t, `{"object": {"id": "should fail"}}`), "object.id"},
		{"object type lowercase", V103, stmt(t, `{"object": {"objectType": "activity", "id": "http://e.com/a"}}`), "object.objectType"},
		{"activity extra key", V103, stmt(t, `{"object": {"id": "http://e.com/a", "name": "x"}}`), "object.name"},
		{"definition name string", V103, interaction(t, `{"name": "x"}`), "object.definition.name"},
		{"definition description bad tag", V103, interaction(t, `{"description": {"something": "x"}}`), "object.definition.description.something"},
		{"definition type not IRI", V103, interaction(t, `{"type": "meeting"}`), "object.definition.type"},
		{"definition moreInfo not IRL", V103, interaction(t, `{"moreInfo": "not a url"}`), "object.definition.moreInfo"},
		{"interactionType wrong case", V103, interaction(t, `{"interactionType": "true-faLse"}`), "object.definition.interactionType"},
		{"interactionType numeric", V103, interaction(t, `{"interactionType": 12345}`), "object.definition.interactionType"},
		{"correctResponsesPattern without interactionType", V103, interaction(t, `{"correctResponsesPattern": ["a"]}`), "object.definition.interactionType"},
		{"choices without interactionType", V103, interaction(t, `{"choices": [{"id": "a"}]}`), "object.definition.interactionType"},
		{"scale on choice", V103, interaction(t, `{"interactionType": "choice", "scale": [{"id": "a"}]}`), "object.definition.scale"},
		{"correctResponsesPattern not array", V103, interaction(t, `{"interactionType": "choice", "correctResponsesPattern": "a"}`), "object.definition.correctResponsesPattern"},
		{"correctResponsesPattern number", V103, interaction(t, `{"interactionType": "numeric", "correctResponsesPattern": [4]}`), "object.definition.correctResponsesPattern[0]"},
		{"component no id", V103, interaction(t, `{"interactionType": "choice", "choices": [{"description": {"en-US": "x"}}]}`), "object.definition.choices[0].id"},
		{"component duplicate id", V103, interaction(t, `{"interactionType": "choice", "choices": [{"id": "a"}, {"id": "a"}]}`), "object.definition.choices[1].id"},
		{"component bad lang", V103, interaction(t, `{"interactionType": "performance", "steps": [{"id": "a", "description": {"something": "x"}}]}`), "object.definition.steps[0].description.something"},
		{"extension key not IRI", V103, interaction(t, `{"extensions": {"should fail": true}}`), "object.definition.extensions.should fail"},
		{"agent object without objectType", V103, stmt(t, `{"object": {"mbox": "mailto:a@b.c"}}`), "object.mbox"},
		{"statementref no id", V103, stmt(t, `{"object": {"objectType": "StatementRef"}}`), "object.id"},
		{"statementref bad id", V103, stmt(t, `{"object": {"objectType": "StatementRef", "id": 12345}}`), "object.id"},
		// substatement
		{"substatement with id", V103, sub(t, `{"id": "8f87ccde-bb56-4c2e-ab83-44982ef22df0"}`), "object.id"},
		{"substatement with stored", V103, sub(t, `{"stored": "2013-05-18T05:32:34.804Z"}`), "object.stored"},
		{"substatement with version", V103, sub(t, `{"version": "1.0.0"}`), "object.version"},
		{"substatement with authority", V103, sub(t, `{"authority": {"mbox": "mailto:a@b.c"}}`), "object.authority"},
		{"nested substatement", V103, sub(t, `{"object": {"objectType": "SubStatement"}}`), "object.object.objectType"},
		{"substatement no actor", V103, sub(t, `{"actor": "__delete__"}`), "object.actor"},
		{"substatement verb bad tag", V103, sub(t, `{"verb": {"id": "http://e.com/v", "display": {"s-something": "x"}}}`), "object.verb.display.s-something"},
		{"substatement bad lang ext", V103, sub(t, `{"object": {"id": "http://e.com/a", "definition": {"name": {"zh-z-aaa-z-bbb-c-ccc": "x"}}}}`), "object.object.definition.name.zh-z-aaa-z-bbb-c-ccc"},
		{"substatement timestamp", V103, sub(t, `{"timestamp": "should fail"}`), "object.timestamp"},
		{"substatement context platform with agent", V103, sub(t, `{"object": {"objectType": "Agent", "mbox": "mailto:a@b.c"}, "context": {"platform": "p"}}`), "object.context.platform"},
		// result
		{"result score numeric", V103, stmt(t, `{"result": {"score": 5}}`), "result.score"},
		{"scaled too big", V103, stmt(t, `{"result": {"score": {"scaled": 1.01}}}`), "result.score.scaled"},
		{"scaled too small", V103, stmt(t, `{"result": {"score": {"scaled": -1.00001}}}`), "result.score.scaled"},
		{"raw over max", V103, stmt(t, `{"result": {"score": {"raw": 101, "max": 100}}}`), "result.score.raw"},
		{"raw under min", V103, stmt(t, `{"result": {"score": {"raw": -1, "min": 0}}}`), "result.score.raw"},
		{"min over max", V103, stmt(t, `{"result": {"score": {"min": 10, "max": 5}}}`), "result.score.min"},
		{"raw string", V103, stmt(t, `{"result": {"score": {"raw": "5"}}}`), "result.score.raw"},
		{"success string", V103, stmt(t, `{"result": {"success": "true"}}`), "result.success"},
		{"completion number", V103, stmt(t, `{"result": {"completion": 1}}`), "result.completion"},
		{"response number", V103, stmt(t, `{"result": {"response": 12345}}`), "result.response"},
		{"duration bad", V103, stmt(t, `{"result": {"duration": "PA1H0M0S"}}`), "result.duration"},
		{"duration P4W1D", V103, stmt(t, `{"result": {"duration": "P4W1D"}}`), "result.duration"},
		{"duration number", V103, stmt(t, `{"result": {"duration": 12345}}`), "result.duration"},
		{"duration T only", V103, stmt(t, `{"result": {"duration": "PT"}}`), "result.duration"},
		{"result extensions string", V103, stmt(t, `{"result": {"extensions": "x"}}`), "result.extensions"},
		// context
		{"registration not uuid", V103, stmt(t, `{"context": {"registration": "should fail"}}`), "context.registration"},
		{"registration object", V103, stmt(t, `{"context": {"registration": {"key": "v"}}}`), "context.registration"},
		{"instructor string", V103, stmt(t, `{"context": {"instructor": "agent"}}`), "context.instructor"},
		{"instructor no IFI", V103, stmt(t, `{"context": {"instructor": {"objectType": "Agent"}}}`), "context.instructor"},
		{"team is agent", V103, stmt(t, `{"context": {"team": {"mbox": "mailto:a@b.c"}}}`), "context.team.objectType"},
		{"contextActivities string", V103, stmt(t, `{"context": {"contextActivities": "x"}}`), "context.contextActivities"},
		{"contextActivities bad key", V103, stmt(t, `{"context": {"contextActivities": {"consequences": [{"id": "http://e.com/a"}]}}}`), "context.contextActivities.consequences"},
		{"contextActivities bad element", V103, stmt(t, `{"context": {"contextActivities": {"other": [{"id": "http://e.com/a"}, {"key": "x"}]}}}`), "context.contextActivities.other[1].key"},
		{"contextActivities string value", V103, stmt(t, `{"context": {"contextActivities": {"parent": "http://e.com/a"}}}`), "context.contextActivities.parent"},
		{"revision numeric", V103, stmt(t, `{"context": {"revision": 1}}`), "context.revision"},
		{"revision with agent object", V103, stmt(t, `{"object": {"objectType": "Agent", "mbox": "mailto:a@b.c"}, "context": {"revision": "1"}}`), "context.revision"},
		{"platform with group object", V103, stmt(t, `{"object": {"objectType": "Group", "mbox": "mailto:a@b.c"}, "context": {"platform": "p"}}`), "context.platform"},
		{"platform with statementref", V103, stmt(t, `{"object": `+ref+`, "context": {"platform": "p"}}`), "context.platform"},
		{"language invalid", V103, stmt(t, `{"context": {"language": "something"}}`), "context.language"},
		{"language numeric", V103, stmt(t, `{"context": {"language": 12345}}`), "context.language"},
		{"context statement string", V103, stmt(t, `{"context": {"statement": "statementref"}}`), "context.statement"},
		{"context statement bad id", V103, stmt(t, `{"context": {"statement": {"objectType": "StatementRef", "id": "x"}}}`), "context.statement.id"},
		{"context extension key", V103, stmt(t, `{"context": {"extensions": {"should fail": 1}}}`), "context.extensions.should fail"},
		{"contextAgents in 1.0.3", V103, mustDecode(t, v2Statement), "context.contextAgents"},
		{"contextAgent bad objectType", V200, stmt(t, `{"context": {"contextAgents": [{"objectType": "Should fail", "agent": {"mbox": "mailto:a@b.c"}}]}}`), "context.contextAgents[0].objectType"},
		{"contextAgent missing objectType", V200, stmt(t, `{"context": {"contextAgents": [{"agent": {"mbox": "mailto:a@b.c"}}]}}`), "context.contextAgents[0].objectType"},
		{"contextAgent bad agent", V200, stmt(t, `{"context": {"contextAgents": [{"objectType": "contextAgent", "agent": {"key": "Should fail"}}]}}`), "context.contextAgents[0].agent.key"},
		{"contextAgent relevantTypes empty", V200, stmt(t, `{"context": {"contextAgents": [{"objectType": "contextAgent", "agent": {"mbox": "mailto:a@b.c"}, "relevantTypes": []}]}}`), "context.contextAgents[0].relevantTypes"},
		{"contextAgent relevantTypes non-IRI", V200, stmt(t, `{"context": {"contextAgents": [{"objectType": "contextAgent", "agent": {"mbox": "mailto:a@b.c"}, "relevantTypes": ["abc"]}]}}`), "context.contextAgents[0].relevantTypes[0]"},
		{"contextAgents not array", V200, stmt(t, `{"context": {"contextAgents": {"objectType": "contextAgent"}}}`), "context.contextAgents"},
		{"contextGroup bad objectType", V200, stmt(t, `{"context": {"contextGroups": [{"objectType": "contextAgent", "group": {"objectType": "Group", "mbox": "mailto:a@b.c"}}]}}`), "context.contextGroups[0].objectType"},
		{"contextGroup agent as group", V200, stmt(t, `{"context": {"contextGroups": [{"objectType": "contextGroup", "group": {"mbox": "mailto:a@b.c"}}]}}`), "context.contextGroups[0].group.objectType"},
		{"substatement contextGroups relevantTypes", V200, sub(t, `{"context": {"contextGroups": [{"objectType": "contextGroup", "group": {"objectType": "Group", "mbox": "mailto:a@b.c"}, "relevantTypes": []}]}}`), "object.context.contextGroups[0].relevantTypes"},
		// timestamp / stored
		{"timestamp string", V103, stmt(t, `{"timestamp": "should fail"}`), "timestamp"},
		{"timestamp date", V103, stmt(t, `{"timestamp": "01/011/2015"}`), "timestamp"},
		{"timestamp -00", V103, stmt(t, `{"timestamp": "2008-09-15T15:53:00.601-00"}`), "timestamp"},
		{"timestamp -0000", V200, stmt(t, `{"timestamp": "2008-09-15T15:53:00.601-0000"}`), "timestamp"},
		{"timestamp -00:00", V200, stmt(t, `{"timestamp": "2008-09-15T15:53:00.601-00:00"}`), "timestamp"},
		{"timestamp no zone 2.0", V200, stmt(t, `{"timestamp": "2008-09-15T15:53:00.601"}`), "timestamp"},
		{"timestamp month 13", V103, stmt(t, `{"timestamp": "2008-13-15T15:53:00Z"}`), "timestamp"},
		{"stored bad", V103, stmt(t, `{"stored": "yesterday"}`), "stored"},
		// authority
		{"authority identified group", V103, stmt(t, `{"authority": {"objectType": "Group", "mbox": "mailto:g@example.com", "member": [{"mbox": "mailto:a@b.c"}, {"mbox": "mailto:d@b.c"}]}}`), "authority"},
		{"authority one member", V103, stmt(t, `{"authority": {"objectType": "Group", "member": [{"mbox": "mailto:a@b.c"}]}}`), "authority.member"},
		{"authority three members", V103, stmt(t, `{"authority": {"objectType": "Group", "member": [{"mbox": "mailto:a@b.c"}, {"mbox": "mailto:d@b.c"}, {"mbox": "mailto:e@b.c"}]}}`), "authority.member"},
		// version
		{"version string", V103, stmt(t, `{"version": "should fail"}`), "version"},
		{"version 0.9.9", V103, stmt(t, `{"version": "0.9.9"}`), "version"},
		{"version 1.1.0", V200, stmt(t, `{"version": "1.1.0"}`), "version"},
		{"version 2.0.0 in 1.0.3", V103, stmt(t, `{"version": "2.0.0"}`), "version"},
		{"version number", V103, stmt(t, `{"version": 1.0}`), "version"},
		// attachments
		{"attachments not array", V103, stmt(t, `{"attachments": {"usageType": "http://e.com/u"}}`), "attachments"},
		{"attachment string", V103, stmt(t, `{"attachments": ["x"]}`), "attachments[0]"},
		{"attachment bad usageType", V103, stmt(t, `{"attachments": [{"usageType": "should fail", "display": {"en-US": "a"}, "contentType": "text/plain", "length": 1, "sha2": "ab"}]}`), "attachments[0].usageType"},
		{"attachment no display", V103, stmt(t, `{"attachments": [{"usageType": "http://e.com/u", "contentType": "text/plain", "length": 1, "sha2": "ab"}]}`), "attachments[0].display"},
		{"attachment bad description lang", V103, stmt(t, `{"attachments": [{"usageType": "http://e.com/u", "display": {"en-US": "a"}, "description": {"something": "x"}, "contentType": "text/plain", "length": 1, "sha2": "ab"}]}`), "attachments[0].description.something"},
		{"attachment contentType number", V103, stmt(t, `{"attachments": [{"usageType": "http://e.com/u", "display": {"en-US": "a"}, "contentType": 12345, "length": 1, "sha2": "ab"}]}`), "attachments[0].contentType"},
		{"attachment length string", V103, stmt(t, `{"attachments": [{"usageType": "http://e.com/u", "display": {"en-US": "a"}, "contentType": "text/plain", "length": "27", "sha2": "ab"}]}`), "attachments[0].length"},
		{"attachment length fraction", V103, stmt(t, `{"attachments": [{"usageType": "http://e.com/u", "display": {"en-US": "a"}, "contentType": "text/plain", "length": 2.5, "sha2": "ab"}]}`), "attachments[0].length"},
		{"attachment sha2 number", V103, stmt(t, `{"attachments": [{"usageType": "http://e.com/u", "display": {"en-US": "a"}, "contentType": "text/plain", "length": 1, "sha2": 12345}]}`), "attachments[0].sha2"},
		{"attachment fileUrl", V103, stmt(t, `{"attachments": [{"usageType": "http://e.com/u", "display": {"en-US": "a"}, "contentType": "text/plain", "length": 1, "sha2": "ab", "fileUrl": "should fail"}]}`), "attachments[0].fileUrl"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := ValidateStatement(c.s, c.v)
			if err == nil {
				t.Fatalf("expected error at %q, got none", c.path)
			}
			var xe *Error
			if !errors.As(err, &xe) {
				t.Fatalf("error is %T, want *Error", err)
			}
			if xe.Path != c.path {
				t.Fatalf("path = %q (%v), want %q", xe.Path, err, c.path)
			}
		})
	}
}

func TestValidateAgentParam(t *testing.T) {
	ok := []string{`{"mbox": "mailto:a@b.c"}`, `{"objectType": "Group", "openid": "http://o.example.com/1"}`,
		`{"account": {"homePage": "http://e.com", "name": "n"}}`}
	for _, s := range ok {
		v, _ := DecodeJSON([]byte(s))
		if err := ValidateAgentParam(v, V103); err != nil {
			t.Errorf("%s: %v", s, err)
		}
	}
	bad := []string{`"mailto:a@b.c"`, `{"name": "x"}`, `{"objectType": "Group", "member": [{"mbox": "mailto:a@b.c"}]}`,
		`{"mbox": "mailto:a@b.c", "openid": "http://o.example.com/1"}`, `{"mbox": "a@b.c"}`}
	for _, s := range bad {
		v, _ := DecodeJSON([]byte(s))
		if err := ValidateAgentParam(v, V200); err == nil {
			t.Errorf("%s: expected error", s)
		}
	}
}

func TestErrorFormatting(t *testing.T) {
	e := &Error{Path: "actor.mbox", Msg: `must be a "mailto:" IRI`}
	if e.Error() != `actor.mbox: must be a "mailto:" IRI` {
		t.Error(e.Error())
	}
	if got := e.WithIndex(3).Path; got != "[3].actor.mbox" {
		t.Error(got)
	}
	if got := (&Error{Msg: "x"}).WithIndex(2); got.Path != "[2]" || got.Error() != "[2]: x" {
		t.Error(got)
	}
	if e.Path != "actor.mbox" {
		t.Error("WithIndex mutated receiver")
	}
}
