package handlers

import (
	"context"
	"errors"
	"math"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/editwatch/editwatch/extendapi"
	"github.com/editwatch/editwatch/upstream"
	"github.com/editwatch/editwatch/views"
)

// upstreamStatus is what the layout says about Extend for this request:
// the deployment of the workspace the request resolved (or the fixed one),
// and that workspace's rate limit.
func (a *dashboard) upstreamStatus(c echo.Context) views.UpstreamStatus {
	var st upstream.State
	if conn, ok := c.Get(ctxConnection).(connection); ok {
		st = a.Connector.Health().State(a.baseURLOf(conn), conn.Ref())
	} else if d, ok := a.Connector.Fixed(); ok {
		st = a.Connector.Health().State(d.BaseURL, "")
	}
	return a.upstreamView(st)
}

func (a *dashboard) upstreamView(st upstream.State) views.UpstreamStatus {
	v := views.UpstreamStatus{Degraded: st.Degraded, Failed: st.Failed, Attempts: st.Attempts, Window: st.Window}
	if st.RateLimited {
		v.RateLimited = true
		v.RefreshIn = max(roundUpSecond(st.RetryIn), time.Second)
	} else if st.Degraded {
		v.RefreshIn = a.pollInterval()
	}
	return v
}

// pollInterval is how often polling pages ask again.
func (a *dashboard) pollInterval() time.Duration {
	if a.PollInterval > 0 {
		return a.PollInterval
	}
	return views.DefaultPollInterval
}

func roundUpSecond(d time.Duration) time.Duration {
	return time.Duration(math.Ceil(d.Seconds())) * time.Second
}

// transientUpstream reports whether err is Extend failing for a while (a
// server error, a timeout, a network failure or a rate limit): worth
// showing what Editwatch has instead, and asking again later.
func transientUpstream(err error) bool {
	var netErr *extendapi.NetworkError
	return errors.Is(err, extendapi.ErrServer) || errors.Is(err, extendapi.ErrRateLimited) ||
		errors.As(err, &netErr) || errors.Is(err, context.DeadlineExceeded)
}
