package httpapi

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/xapibridge/bridge/adapters/moodle"
	"github.com/xapibridge/bridge/lrs"
)

// Rewind makes fakeMoodle an httpapi.MoodleSources (the rest of the fake
// is in fakes_test.go).
func (f *fakeMoodle) Rewind(_ context.Context, source string, r moodle.RewindRequest) (*moodle.SourceStatus, error) {
	f.log.add("Moodle.Rewind", source, r)
	if f.err != nil {
		return nil, f.err
	}
	st := f.sources[0]
	st.Status = &moodle.Status{Cursor: 100, LastRewind: &moodle.Rewind{ID: "r1", From: 250, To: 100}}
	return &st, nil
}

// POST /api/v1/moodle/sources/:source/rewind sets a source's cursor back,
// to a log id or to the rows created since a time.
func TestAdminMoodleRewind(t *testing.T) {
	const path = "/api/v1/moodle/sources/m1/rewind"
	t.Run("to a log id", func(t *testing.T) {
		f := newFakes()
		w := serve(f.handler(), adminRequest("POST", path, `{"to": 100}`))
		var got struct {
			Name       string `json:"name"`
			Cursor     int64  `json:"cursor"`
			LastRewind struct {
				From, To int64
			} `json:"last_rewind"`
		}
		if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil || w.Code != 200 {
			t.Fatalf("%d %s", w.Code, w.Body.String())
		}
		if got.Name != "m1" || got.Cursor != 100 || got.LastRewind.From != 250 || got.LastRewind.To != 100 {
			t.Errorf("answer %s", w.Body.String())
		}
		c := f.log.mustGet(t, "Moodle.Rewind")
		r := c.args[1].(moodle.RewindRequest)
		if c.args[0] != "m1" || r.To == nil || *r.To != 100 || r.Since != nil || r.By != "admin api" {
			t.Errorf("Rewind(%v, %+v)", c.args[0], r)
		}
	})
	t.Run("since a date or a time", func(t *testing.T) {
		for body, want := range map[string]time.Time{
			`{"since": "2025-01-01"}`:                time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC),
			`{"since": "2025-01-01T08:30:00+01:00"}`: time.Date(2025, 1, 1, 7, 30, 0, 0, time.UTC),
		} {
			f := newFakes()
			w := serve(f.handler(), adminRequest("POST", path, body))
			if w.Code != 200 {
				t.Fatalf("%s: %d %s", body, w.Code, w.Body.String())
			}
			r := f.log.mustGet(t, "Moodle.Rewind").args[1].(moodle.RewindRequest)
			if r.To != nil || r.Since == nil || !r.Since.Equal(want) {
				t.Errorf("%s: Rewind(%+v), want since %s", body, r, want)
			}
		}
	})
	t.Run("bad bodies", func(t *testing.T) {
		for body, msg := range map[string]string{
			``:                                  "empty body",
			`{}`:                                "one of the two",
			`{"to": 1, "since": "2025-01-01"}`:  "one of the two",
			`{"since": "yesterday"}`:            `"yesterday" is not a date`,
			`{"to": "ten"}`:                     "cannot unmarshal",
			`{"to": 1, "from": 2}`:              `unknown field "from"`,
			`{"since": "2025-01-01 08:00:00Z"}`: "is not a date",
		} {
			f := newFakes()
			w := serve(f.handler(), adminRequest("POST", path, body))
			code, message := errorBody(t, w)
			if w.Code != 400 || code != lrs.EINVALID || !strings.Contains(message, msg) {
				t.Errorf("%q: %d %s, want 400 with %q", body, w.Code, w.Body.String(), msg)
			}
			if _, ok := f.log.get("Moodle.Rewind"); ok {
				t.Errorf("%q: Rewind was called", body)
			}
		}
	})
	t.Run("the source's errors", func(t *testing.T) {
		for code, status := range map[string]int{lrs.ENOTFOUND: 404, lrs.EINVALID: 400, lrs.EUNAVAILABLE: 503} {
			f := newFakes()
			f.mdl.err = lrs.Errorf(code, "nope")
			w := serve(f.handler(), adminRequest("POST", path, `{"to": 5}`))
			if got, _ := errorBody(t, w); w.Code != status || got != code {
				t.Errorf("%s: %d %s, want %d", code, w.Code, w.Body.String(), status)
			}
		}
	})
	t.Run("no Moodle", func(t *testing.T) {
		s := newFakes().server()
		s.Moodle = nil
		w := serve(s.Handler(), adminRequest("POST", path, `{"to": 5}`))
		if code, _ := errorBody(t, w); w.Code != 404 || code != lrs.ENOTFOUND {
			t.Errorf("%d %s", w.Code, w.Body.String())
		}
	})
	t.Run("needs the token", func(t *testing.T) {
		f := newFakes()
		w := serve(f.handler(), httptest.NewRequest("POST", path, strings.NewReader(`{"to": 5}`)))
		if w.Code != 401 {
			t.Errorf("status %d, want 401", w.Code)
		}
		if _, ok := f.log.get("Moodle.Rewind"); ok {
			t.Error("Rewind was called without a token")
		}
	})
}
