package httpapi

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/xapibridge/bridge/adapters/moodle"
	"github.com/xapibridge/bridge/lrs"
)

// adminMoodleRewind is POST /api/v1/moodle/sources/:source/rewind with
// {"to": <log id>} (the rows after it are read again) or {"since": "2025-01-01"
// or an RFC 3339 time} (the rows created from then on): it sets the source's
// cursor back and answers with the source's status. Statements already
// stored are recognised when their rows are read again (their ids are
// derived from the rows), so nothing is stored twice.
func (s *Server) adminMoodleRewind(c *gin.Context) {
	if s.Moodle == nil {
		s.fail(c, lrs.Errorf(lrs.ENOTFOUND, "no Moodle sources are configured"))
		return
	}
	var body struct {
		To    *int64  `json:"to"`
		Since *string `json:"since"`
	}
	const want = `{"to": <log id>} or {"since": "2025-01-01"}`
	if !s.tenantJSON(c, &body, want) {
		return
	}
	if (body.To == nil) == (body.Since == nil) {
		s.fail(c, lrs.Errorf(lrs.EINVALID, "body: want %s (one of the two)", want))
		return
	}
	req := moodle.RewindRequest{To: body.To, By: "admin api"}
	if body.Since != nil {
		t, err := moodle.ParseSince(*body.Since)
		if err != nil {
			s.fail(c, lrs.Errorf(lrs.EINVALID, "%s", err.Error()))
			return
		}
		req.Since = &t
	}
	st, err := s.Moodle.Rewind(c.Request.Context(), c.Param("source"), req)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, st)
}
