package httpapi

import "github.com/gin-gonic/gin"

// tenantRoutes registers organisations, stores, credentials and persons.
func (s *Server) tenantRoutes(g *gin.RouterGroup) {}
