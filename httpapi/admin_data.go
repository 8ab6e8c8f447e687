package httpapi

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/xapibridge/bridge/lrs/admin"

	"github.com/gin-gonic/gin"

	"github.com/xapibridge/bridge/lrs"
)

// dataRoutes registers export, erasure and retention.

func (s *Server) dataOn(c *gin.Context) {
	if s.Admin == nil {
		s.fail(c, lrs.Errorf(lrs.ENOTFOUND, "store administration is not configured"))
		return
	}
	c.Next()
}

// dataStoreID resolves the :store parameter: a store id, a store name of
// the default organisation, or org/name. It answers 404 itself for a store
// that does not exist.
func (s *Server) dataStoreID(c *gin.Context) (int64, bool) {
	st, err := s.Admin.ResolveStore(c.Request.Context(), c.Param("store"))
	if err != nil {
		s.fail(c, err)
		return 0, false
	}
	return st.ID, true
}

// exportParams are the query parameters of the export besides the
// GET /statements filters.
var exportFilterParams = map[string]bool{
	"agent": true, "verb": true, "activity": true, "registration": true, "since": true, "until": true,
	"related_agents": true, "related_activities": true,
}

// exportQuery parses the export's filters as GET /statements does.
func exportQuery(v url.Values) (lrs.Query, error) {
	filters := url.Values{}
	for k, vals := range v {
		if k == "format" || k == "columns" {
			continue
		}
		if !exportFilterParams[k] {
			return lrs.Query{}, lrs.Errorf(lrs.EINVALID, "%s: unknown parameter (filters: agent, verb, activity, registration, since, until, related_agents, related_activities)", k)
		}
		if len(vals) > 1 {
			return lrs.Query{}, lrs.Errorf(lrs.EINVALID, "%s: parameter given %d times", k, len(vals))
		}
		filters[k] = vals
	}
	gp, err := parseQuery(filters)
	if err != nil {
		return lrs.Query{}, err
	}
	return gp.Query, nil
}

// adminExport streams the store's statements as NDJSON or CSV, flushing
// every admin.ExportFlushEvery statements. A failure after the first bytes
// aborts the connection, so a client never takes a cut-short export for a
// whole one (the chunked response ends without its terminating chunk).
func (s *Server) adminExport(c *gin.Context) {
	storeID, ok := s.dataStoreID(c)
	if !ok {
		return
	}
	v := c.Request.URL.Query()
	format, err := admin.CheckExportFormat(v.Get("format"))
	if err != nil {
		s.fail(c, err)
		return
	}
	var cols []string
	if format == admin.FormatCSV {
		if cols, err = admin.ParseExportColumns(v.Get("columns")); err != nil {
			s.fail(c, err)
			return
		}
	} else if v.Has("columns") {
		s.fail(c, lrs.Errorf(lrs.EINVALID, "columns: only with format=csv"))
		return
	}
	q, err := exportQuery(v)
	if err != nil {
		s.fail(c, err)
		return
	}
	name := "statements-" + strconv.FormatInt(storeID, 10) + "-" + time.Now().UTC().Format("20060102T150405Z")
	if format == admin.FormatCSV {
		c.Header("Content-Type", "text/csv; charset=utf-8")
		name += ".csv"
	} else {
		c.Header("Content-Type", "application/x-ndjson")
		name += ".ndjson"
	}
	c.Header("Content-Disposition", `attachment; filename="`+name+`"`)
	c.Header("X-Content-Type-Options", "nosniff")
	c.Status(http.StatusOK)
	_, err = s.Admin.Export(c.Request.Context(), storeID, q, format, cols, c.Writer)
	if err == nil {
		return
	}
	if !c.Writer.Written() {
		h := c.Writer.Header()
		h.Del("Content-Disposition")
		h.Del("Content-Type") // the error is JSON, not the export's format
		s.fail(c, err)
		return
	}
	s.Logger.Error("export failed midway", "store", storeID, "error", err)
	panic(http.ErrAbortHandler)
}

// erasureRequest is the optional body of the erase endpoints.
type erasureRequest struct {
	Agent       json.RawMessage `json:"agent"`
	RequestedBy string          `json:"requested_by"`
}

func readErasureRequest(c *gin.Context, required bool) (erasureRequest, error) {
	var req erasureRequest
	err := json.NewDecoder(http.MaxBytesReader(c.Writer, c.Request.Body, 1<<20)).Decode(&req)
	if errors.Is(err, io.EOF) && !required {
		err = nil
	}
	if err != nil {
		return req, lrs.Errorf(lrs.EINVALID, "body: want {\"agent\": {...}, \"requested_by\": \"who asked\"}: %v", err)
	}
	if strings.TrimSpace(req.RequestedBy) == "" {
		req.RequestedBy = "admin-api"
	}
	return req, nil
}

func (s *Server) adminErasePerson(c *gin.Context) {
	storeID, ok := s.dataStoreID(c)
	if !ok {
		return
	}
	pid, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || pid < 1 {
		s.fail(c, lrs.Errorf(lrs.ENOTFOUND, "no person %q", c.Param("id")))
		return
	}
	req, err := readErasureRequest(c, false)
	if err != nil {
		s.fail(c, err)
		return
	}
	e, err := s.Admin.ErasePerson(c.Request.Context(), storeID, pid, req.RequestedBy)
	if err != nil {
		s.fail(c, err)
		return
	}
	s.Logger.Info("person erased", "store", storeID, "person", pid, "erasure", e.ID)
	c.JSON(http.StatusOK, e)
}

func (s *Server) adminEraseAgent(c *gin.Context) {
	storeID, ok := s.dataStoreID(c)
	if !ok {
		return
	}
	req, err := readErasureRequest(c, true)
	if err != nil {
		s.fail(c, err)
		return
	}
	e, err := s.Admin.EraseAgent(c.Request.Context(), storeID, req.Agent, req.RequestedBy)
	if err != nil {
		s.fail(c, err)
		return
	}
	s.Logger.Info("agent erased", "store", storeID, "erasure", e.ID)
	c.JSON(http.StatusOK, e)
}

func (s *Server) adminErasures(c *gin.Context) {
	storeID, ok := s.dataStoreID(c)
	if !ok {
		return
	}
	es, err := s.Admin.ListErasures(c.Request.Context(), storeID)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"erasures": es})
}

func (s *Server) adminRetentionRun(c *gin.Context) {
	dir := s.ArchiveDir
	if dir == "" {
		s.fail(c, lrs.Errorf(lrs.ENOTFOUND, "retention is not configured on this server"))
		return
	}
	runs, err := s.Admin.ApplyRetention(c.Request.Context(), time.Now(), dir)
	if err != nil && runs == nil {
		s.fail(c, err)
		return
	}
	res := gin.H{"stores": runs}
	if err != nil {
		res["error"] = err.Error()
	}
	c.JSON(http.StatusOK, res)
}
