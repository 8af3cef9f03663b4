package handlers

import (
	"context"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
)

// Health answers the liveness and readiness probes. Liveness says only that
// the process serves HTTP; readiness says that everything a page needs
// (the store, and the embedded sandbox when there is one) answers.
type Health struct {
	Version string
	Started time.Time
	Now     func() time.Time
	// Checks are named readiness checks; each gets a short deadline.
	Checks map[string]func(context.Context) error
}

type healthAnswer struct {
	Status  string            `json:"status"`
	Version string            `json:"version"`
	Uptime  string            `json:"uptime"`
	Checks  map[string]string `json:"checks,omitempty"`
}

// Live is GET /healthz.
func (h *Health) Live(c echo.Context) error {
	return c.JSON(http.StatusOK, healthAnswer{Status: "ok", Version: h.Version, Uptime: h.uptime()})
}

// Ready is GET /readyz: 503 while any check fails, naming which.
func (h *Health) Ready(c echo.Context) error {
	answer := healthAnswer{Status: "ready", Version: h.Version, Uptime: h.uptime(), Checks: map[string]string{}}
	code := http.StatusOK
	for name, check := range h.Checks {
		ctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
		err := check(ctx)
		cancel()
		if err != nil {
			answer.Checks[name] = err.Error()
			answer.Status, code = "not ready", http.StatusServiceUnavailable
			continue
		}
		answer.Checks[name] = "ok"
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(code, answer)
}

func (h *Health) uptime() string {
	now := time.Now
	if h.Now != nil {
		now = h.Now
	}
	return now().Sub(h.Started).Truncate(time.Second).String()
}
