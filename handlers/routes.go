// Package handlers holds Editwatch's Echo handlers: each parses input, calls
// one thing (the Extend client, the store or the monitor), builds a view
// model and renders it. Routes lists every route in one place.
package handlers

import (
	"github.com/labstack/echo/v4"
)

// Routes registers every route of the dashboard on e under basePath (which
// starts and ends with a slash).
func Routes(e *echo.Echo, basePath string, health *Health) {
	g := e.Group(trimSlash(basePath))
	g.GET("/healthz", health.Live)
	g.GET("/readyz", health.Ready)
}

func trimSlash(basePath string) string {
	if basePath == "/" {
		return ""
	}
	return basePath[:len(basePath)-1]
}
