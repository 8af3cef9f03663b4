package monitor

import (
	"cmp"
	"context"
	"slices"
	"sync"
	"time"
)

// Refused deliveries (a bad signature, a stale timestamp, a body that is
// no event) come from anyone who knows an endpoint's URL, as fast as they
// like. What they cost is bounded per window: a few sample rows per
// endpoint, one count added to the last sample when the window closes,
// one log line for the first refusal and one summary. Verified deliveries
// never pass through here, so a flood of forged ones neither delays nor
// drops them (behind a proxy every delivery comes from the same address,
// so nothing here looks at addresses).
const (
	// refusalWindow is how long refusals are summed before the summary.
	refusalWindow = time.Minute
	// refusalSamples is how many refused deliveries per endpoint and
	// window get a row of their own on the deliveries page.
	refusalSamples = 5
	// refusalEndpointsTracked bounds the per-endpoint state; refusals to
	// further endpoints in one window are counted in the summary only.
	refusalEndpointsTracked = 1000
	// refusalEndpointsLogged bounds the endpoints the summary names.
	refusalEndpointsLogged = 10
	// refusalFlushTimeout bounds the count written when a window closes.
	refusalFlushTimeout = 10 * time.Second
)

// refusalLedger sums refused deliveries over a window.
type refusalLedger struct {
	mu sync.Mutex
	// open is whether a window is running (its timer set).
	open      bool
	opened    time.Time
	total     int64
	untracked int64
	endpoints map[string]*endpointRefusals
	// afterFunc schedules the window's close (time.AfterFunc; tests
	// close windows themselves).
	afterFunc func(time.Duration, func())
}

// endpointRefusals is one endpoint's refusals in the current window.
type endpointRefusals struct {
	total   int64
	sampled int
	// uncounted are refusals without a row of their own since the last
	// sample; lastRow is that sample (0 until one is stored).
	uncounted int64
	lastRow   int64
	lastError string
}

// RefuseWebhook records a delivery to a known endpoint that was refused
// (reason is ours: extendapi's errors never hold a secret or a MAC). The
// first refusals of a window are stored as rows for the deliveries page,
// later ones are counted on the last of those; the first refusal of a
// window is logged at once, the rest in a summary when the window closes.
func (m *Monitor) RefuseWebhook(ctx context.Context, endpointID string, reason error) {
	l := &m.refusals
	l.mu.Lock()
	first := !l.open
	if first {
		l.open, l.opened = true, m.now()
		l.endpoints = map[string]*endpointRefusals{}
		schedule := l.afterFunc
		if schedule == nil {
			schedule = func(d time.Duration, f func()) { time.AfterFunc(d, f) }
		}
		schedule(refusalWindow, m.closeRefusalWindow)
	}
	l.total++
	ep := l.endpoints[endpointID]
	if ep == nil && len(l.endpoints) < refusalEndpointsTracked {
		ep = &endpointRefusals{}
		l.endpoints[endpointID] = ep
	}
	sample := false
	if ep == nil {
		l.untracked++
	} else {
		ep.total++
		ep.lastError = reason.Error()
		if ep.sampled < refusalSamples {
			ep.sampled++
			sample = true
		} else {
			ep.uncounted++
		}
	}
	l.mu.Unlock()

	if first {
		m.logger.WarnContext(ctx, "webhook refused; further refusals are summed up once a minute",
			"endpoint", endpointID, "err", reason)
	}
	if !sample {
		return
	}
	id, err := m.store.RecordRejectedWebhook(ctx, endpointID, reason.Error())
	if err != nil {
		m.logger.WarnContext(ctx, "webhook: record refusal", "endpoint", endpointID, "err", err)
		return
	}
	l.mu.Lock()
	if cur := l.endpoints[endpointID]; cur == ep && id > ep.lastRow {
		ep.lastRow = id
	}
	l.mu.Unlock()
}

// closeRefusalWindow ends the current window: refusals that got no row of
// their own are counted on their endpoint's last sample, and a summary is
// logged when there was more than the refusal logged at the start.
func (m *Monitor) closeRefusalWindow() {
	l := &m.refusals
	l.mu.Lock()
	total, untracked, endpoints, opened := l.total, l.untracked, l.endpoints, l.opened
	l.open, l.total, l.untracked, l.endpoints = false, 0, 0, nil
	l.mu.Unlock()

	ctx, cancel := context.WithTimeout(context.Background(), refusalFlushTimeout)
	defer cancel()
	type named struct {
		id string
		*endpointRefusals
	}
	list := make([]named, 0, len(endpoints))
	for id, ep := range endpoints {
		list = append(list, named{id, ep})
		if ep.uncounted == 0 || ep.lastRow == 0 {
			continue
		}
		if err := m.store.AddRejectedWebhookDeliveries(ctx, ep.lastRow, ep.uncounted); err != nil {
			m.logger.Warn("webhook: count refusals", "endpoint", id, "refused", ep.uncounted, "err", err)
		}
	}
	if total <= 1 {
		return
	}
	slices.SortFunc(list, func(a, b named) int { return cmp.Or(cmp.Compare(b.total, a.total), cmp.Compare(a.id, b.id)) })
	byEndpoint := map[string]int64{}
	for _, ep := range list[:min(len(list), refusalEndpointsLogged)] {
		byEndpoint[ep.id] = ep.total
	}
	attrs := []any{"refused", total, "since", opened, "endpoints", len(endpoints), "by_endpoint", byEndpoint}
	if len(list) > 0 {
		attrs = append(attrs, "last_err", list[0].lastError)
	}
	if untracked > 0 {
		attrs = append(attrs, "refused_elsewhere", untracked)
	}
	m.logger.Warn("webhook refusals in the last minute", attrs...)
}
