package moodle

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/xapibridge/bridge/lrs/xapi"
)

// modTestRepo is a small site: course 2 with an assignment (cm 7, assign 3)
// in section 5, and two users.
func modTestRepo() memRepo {
	return memRepo{
		"course": {
			{"id": int64(1), "fullname": "Site", "lang": "en"},
			{"id": int64(2), "fullname": "Biology 101", "lang": "fr_CA"},
		},
		"course_sections": {{"id": int64(5), "course": int64(2), "section": int64(1)}},
		"course_modules":  {{"id": int64(7), "course": int64(2), "module": int64(1), "instance": int64(3), "section": int64(5)}},
		"modules":         {{"id": int64(1), "name": "assign"}},
		"assign":          {{"id": int64(3), "name": "Essay 1"}},
		"user": {
			{"id": int64(10), "firstname": "Ada", "lastname": "Lovelace", "email": "ada@example.org"},
			{"id": int64(11), "firstname": "Alan", "lastname": "Turing", "email": "alan@example.org"},
		},
	}
}

func modStatusEvent(mod func(Row)) Row {
	ev := Row{
		"id": int64(99), "eventname": `\mod_assign\event\submission_status_viewed`,
		"component": "mod_assign", "action": "viewed", "target": "submission_status",
		"objecttable": "assign", "objectid": int64(3), "contextinstanceid": int64(7),
		"courseid": int64(2), "userid": int64(10), "relateduserid": nil, "anonymous": int64(0),
		"timecreated": int64(1700000000),
	}
	if mod != nil {
		mod(ev)
	}
	return ev
}

func TestAssignSubmissionStatusViewed(t *testing.T) {
	const site = "https://moodle.example.org"
	tests := []struct {
		name    string
		repo    func(memRepo)
		ev      func(Row)
		wantFor string // account name in the "for" extension, "" for none
		wantErr func(error) bool
	}{
		{name: "own status"},
		{name: "relateduserid is the viewer", ev: func(e Row) { e["relateduserid"] = int64(10) }},
		{name: "status of another user", ev: func(e Row) { e["relateduserid"] = int64(11) }, wantFor: "11"},
		{name: "deleted assignment", repo: func(m memRepo) { delete(m, "assign") }, wantErr: IsMissing},
		{name: "deleted viewer", repo: func(m memRepo) { m["user"] = m["user"][1:] }, wantErr: IsMissing},
		{name: "no user", ev: func(e Row) { e["userid"] = int64(0) }, wantErr: modIsSkip},
		{name: "anonymous", ev: func(e Row) { e["anonymous"] = int64(1) }, wantErr: modIsSkip},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			repo := modTestRepo()
			if tc.repo != nil {
				tc.repo(repo)
			}
			c := NewCtx(Options{WWWRoot: site + "/", SendNames: true}, repo)
			stmts, err := c.Map(modStatusEvent(tc.ev))
			if tc.wantErr != nil {
				if err == nil || !tc.wantErr(err) {
					t.Fatalf("err = %v, want a matching error", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(stmts) != 1 {
				t.Fatalf("%d statements, want 1", len(stmts))
			}
			// Through JSON and the LRS's own decoder and validator.
			b, err := json.Marshal(stmts)
			if err != nil {
				t.Fatal(err)
			}
			decoded, _, err := xapi.DecodeStatements(b)
			if err != nil {
				t.Fatal(err)
			}
			s := decoded[0]
			if err := xapi.ValidateStatement(s, xapi.V103); err != nil {
				t.Fatalf("invalid xAPI statement: %v\n%s", err, b)
			}

			get := func(path string) any {
				var v any = s
				for _, k := range strings.Split(path, ".") {
					m, ok := v.(map[string]any)
					if !ok {
						return nil
					}
					v = m[k]
				}
				return v
			}
			want := map[string]any{
				"actor.account.name":                 "10",
				"actor.account.homePage":             site,
				"actor.name":                         "Ada Lovelace",
				"verb.id":                            "http://id.tincanapi.com/verb/viewed",
				"object.id":                          site + "/mod/assign/view.php?id=7#submission",
				"object.objectType":                  "Activity",
				"object.definition.type":             "https://xapi.edlm/profiles/edlm-lms/concepts/activity-types/submission",
				"object.definition.name.fr-CA":       "Essay 1 Submission",
				"context.language":                   "fr-CA",
				"context.platform":                   "Moodle",
				"timestamp":                          "2023-11-14T22:13:20.000Z",
				"context.contextActivities.grouping": nil,
			}
			for path, w := range want {
				if g := get(path); g != w {
					t.Errorf("%s = %v, want %v", path, g, w)
				}
			}
			var parentIDs []string
			for _, p := range get("context.contextActivities.parent").([]any) {
				parentIDs = append(parentIDs, p.(map[string]any)["id"].(string))
			}
			wantParents := []string{site + "/mod/assign/view.php?id=7", site + "/course/section.php?id=5", site + "/course/view.php?id=2"}
			if strings.Join(parentIDs, " ") != strings.Join(wantParents, " ") {
				t.Errorf("parents %v, want %v", parentIDs, wantParents)
			}
			cat := get("context.contextActivities.category").([]any)
			if len(cat) != 1 || cat[0].(map[string]any)["id"] != site {
				t.Errorf("category %v, want the site", cat)
			}
			exts := get("context.extensions").(map[string]any)
			info, _ := exts["http://lrs.learninglocker.net/define/extensions/info"].(map[string]any)
			if info["event_name"] != `\mod_assign\event\submission_status_viewed` {
				t.Errorf("info extension %v", info)
			}
			forExt, _ := exts[assignForExt].(map[string]any)
			switch {
			case tc.wantFor == "" && forExt != nil:
				t.Errorf("unexpected for extension %v", forExt)
			case tc.wantFor != "":
				if acc, _ := forExt["account"].(map[string]any); acc == nil || acc["name"] != tc.wantFor {
					t.Errorf("for extension %v, want account %s", forExt, tc.wantFor)
				}
			}
		})
	}
}

func modIsSkip(err error) bool { var s *SkipError; return errors.As(err, &s) }

// TestModFixturesValidXAPI: what the module mappers make of the shared
// reference events is valid xAPI (the fixture test checks the shape).
func TestModFixturesValidXAPI(t *testing.T) {
	mine := []string{"mod_assign/", "mod_bigbluebuttonbn/", "mod_book/", "mod_choice/", "mod_facetoface/", "mod_forum/",
		"mod_glossary/", "mod_wiki/", "tool_certificate/", "tool_usertours/", "totara_program/"}
	n := 0
	for _, f := range loadFixtures(t) {
		ok := false
		for _, p := range mine {
			ok = ok || strings.HasPrefix(f.name, p)
		}
		if !ok || !Mapped(f.eventname) {
			continue
		}
		stmts, err := NewCtx(fixtureOptions(f.config), f.data).Map(f.event)
		if err != nil {
			t.Errorf("%s: %v", f.name, err)
			continue
		}
		b, _ := json.Marshal(stmts)
		decoded, _, err := xapi.DecodeStatements(b)
		if err != nil {
			t.Errorf("%s: %v", f.name, err)
			continue
		}
		for _, s := range decoded {
			if err := xapi.ValidateStatement(s, xapi.V103); err != nil {
				t.Errorf("%s: invalid xAPI: %v", f.name, err)
			}
		}
		n++
	}
	t.Logf("%d module fixtures valid", n)
}
