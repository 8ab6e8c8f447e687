package httpapi

import (
	"html/template"
	"net/http"

	"github.com/gin-gonic/gin"
)

// homePage is what GET / shows a person in a browser: what this is and
// where to go. It names no secret and reads nothing from the request.
var homePage = template.Must(template.New("home").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>bridge: xAPI LRS</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="font-family: system-ui, sans-serif; max-width: 40em; margin: 3em auto; line-height: 1.5">
<h1>bridge</h1>
<p>This is an xAPI Learning Record Store (xAPI 1.0.3 and 2.0.0).</p>
<ul>
<li>xAPI endpoint: <code>{{.XAPI}}</code> (clients send HTTP Basic credentials and <code>X-Experience-API-Version</code>)</li>
<li>About: <a href="{{.XAPI}}/about">{{.XAPI}}/about</a></li>
<li>Admin API: <code>{{.Admin}}</code> (a bearer token from <code>admin.tokens</code>){{if not .AdminOn}}: off{{end}}</li>
<li>Health: <a href="/health">/health</a>, readiness: <a href="/ready">/ready</a>, metrics: <a href="/metrics">/metrics</a></li>
</ul>
<p>Documentation: README.md in the bridge's source repository.</p>
</body></html>
`))

func (s *Server) home(c *gin.Context) {
	c.Header("Content-Type", "text/html; charset=utf-8")
	c.Header("X-Content-Type-Options", "nosniff")
	c.Header("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	c.Status(http.StatusOK)
	if c.Request.Method == http.MethodHead {
		return
	}
	homePage.Execute(c.Writer, map[string]any{"XAPI": PrefixXAPI, "Admin": PrefixAdmin, "AdminOn": len(s.AdminTokens) > 0})
}
