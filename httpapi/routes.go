package httpapi

import (
	"net/http"

	"github.com/gin-contrib/cors"
	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/xapibridge/bridge/lrs"
)

// routes is the route table: every path the bridge serves.
func (s *Server) routes() *gin.Engine {
	r := gin.New()
	r.HandleMethodNotAllowed = true
	// Route on the path as sent, so that a store named org/name can be
	// given in one segment as org%2Fname; parameters are then unescaped.
	r.UseRawPath = true
	r.UnescapePathValues = true
	r.Use(s.recoverer, s.observe)
	if c := s.corsConfig(); c != nil {
		r.Use(cors.New(*c))
	}
	r.NoRoute(func(c *gin.Context) { s.fail(c, lrs.Errorf(lrs.ENOTFOUND, "no resource at %s", c.Request.URL.Path)) })
	r.NoMethod(func(c *gin.Context) {
		c.JSON(http.StatusMethodNotAllowed, gin.H{"error": "method_not_allowed", "message": "method " + c.Request.Method + " not allowed on " + c.Request.URL.Path})
	})

	// A person who opens the bridge in a browser (until the console lands).
	r.GET("/", s.home)
	r.HEAD("/", s.home)

	// Operations.
	r.GET("/health", func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"status": "ok"}) })
	r.GET("/ready", s.ready)
	r.GET("/metrics", gin.WrapH(promhttp.HandlerFor(s.Registry, promhttp.HandlerOpts{})))

	// xAPI (statements.go, documents.go); About needs no credentials.
	x := r.Group(PrefixXAPI)
	x.GET("/about", s.about)
	x.HEAD("/about", s.about)
	api := x.Group("", s.version, s.authenticate)
	api.PUT("/statements", s.putStatement)
	api.POST("/statements", s.postStatements)
	api.GET("/statements", s.getStatements)
	api.HEAD("/statements", s.getStatements)
	for _, d := range []struct {
		path string
		kind lrs.DocumentKind
	}{
		{"/activities/state", lrs.KindState},
		{"/activities/profile", lrs.KindActivityProfile},
		{"/agents/profile", lrs.KindAgentProfile},
	} {
		h := s.document(d.kind)
		api.GET(d.path, h)
		api.HEAD(d.path, h)
		api.PUT(d.path, h)
		api.POST(d.path, h)
		api.DELETE(d.path, h)
	}
	api.GET("/activities", s.getActivity)
	api.HEAD("/activities", s.getActivity)
	api.GET("/agents", s.getAgent)
	api.HEAD("/agents", s.getAgent)

	// The admin API (admin*.go), with bearer tokens of its own
	// (admin.tokens), never xAPI credentials.
	g := r.Group(PrefixAdmin, s.adminAuth)

	f := g.Group("", s.forwardingOn) // forwarding (admin.go)
	f.GET("/forwarding/targets", s.adminTargets)
	f.GET("/forwarding/dead", s.adminDead)
	f.POST("/forwarding/dead/replay", s.adminDeadAction(true))
	f.POST("/forwarding/dead/discard", s.adminDeadAction(false))
	f.POST("/forwarding/backfill", s.adminBackfill)
	f.GET("/personal-lrs", s.adminPersonalList)
	f.POST("/personal-lrs", s.adminPersonalPut)
	f.DELETE("/personal-lrs", s.adminPersonalDelete)

	t := g.Group("", s.tenantsOn) // organisations, stores, credentials, persons (admin_tenants.go)
	t.GET("/orgs", s.adminListOrgs)
	t.POST("/orgs", s.adminCreateOrg)
	t.GET("/orgs/:org", s.adminGetOrg)
	t.PATCH("/orgs/:org", s.adminPatchOrg)
	t.DELETE("/orgs/:org", s.adminDeleteOrg)
	t.GET("/orgs/:org/stores", s.adminListStores)
	t.POST("/orgs/:org/stores", s.adminCreateStore)
	t.GET("/stores", s.adminListStores)
	t.GET("/stores/:store", s.adminGetStore)
	t.PATCH("/stores/:store", s.adminPatchStore)
	t.DELETE("/stores/:store", s.adminDeleteStore)
	t.GET("/stores/:store/stats", s.adminStoreStats)
	t.GET("/stores/:store/credentials", s.adminListCredentials)
	t.POST("/stores/:store/credentials", s.adminCreateCredential)
	t.GET("/credentials/:key", s.adminGetCredential)
	t.PATCH("/credentials/:key", s.adminPatchCredential)
	t.DELETE("/credentials/:key", s.adminDeleteCredential)
	t.POST("/credentials/:key/rotate", s.adminRotateCredential)
	t.GET("/stores/:store/persons", s.adminListPersons)
	t.POST("/stores/:store/persons", s.adminCreatePerson)
	t.GET("/stores/:store/persons/:id", s.adminGetPerson)
	t.DELETE("/stores/:store/persons/:id", s.adminDeletePerson)
	t.POST("/stores/:store/persons/:id/agents", s.adminAddPersonAgents)
	t.POST("/stores/:store/persons/:id/merge", s.adminMergePersons)
	t.GET("/stores/:store/persons/:id/statements", s.adminPersonStatements)

	d := g.Group("", s.dataOn) // export, erasure, retention (admin_data.go)
	d.GET("/stores/:store/export", s.adminExport)
	d.POST("/stores/:store/persons/:id/erase", s.adminErasePerson)
	d.POST("/stores/:store/erase-agent", s.adminEraseAgent)
	d.GET("/stores/:store/erasures", s.adminErasures)
	d.POST("/retention/run", s.adminRetentionRun)

	g.GET("/moodle/sources", s.adminMoodle)
	g.POST("/moodle/sources/:source/rewind", s.adminMoodleRewind)
	return r
}
