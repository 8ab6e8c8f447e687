package httpapi

import "github.com/gin-gonic/gin"

// dataRoutes registers export, erasure and retention.
func (s *Server) dataRoutes(g *gin.RouterGroup) {}
