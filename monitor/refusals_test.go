package monitor

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/editwatch/editwatch/extendapi"
	"github.com/editwatch/editwatch/store"
)

// lockedBuffer is a log destination the window's timer may write to.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) count(s string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.Count(b.buf.String(), s)
}

// refusedRows sums the refused deliveries stored for a tenant: rows and
// the deliveries they stand for.
func refusedRows(t *testing.T, st *store.Store, tenant string) (rows int, deliveries int64) {
	t.Helper()
	events, _, err := st.ListWebhookEvents(context.Background(), store.WebhookEventFilter{Tenant: tenant, Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range events {
		if !e.Verified {
			rows++
			deliveries += e.Deliveries
		}
	}
	return rows, deliveries
}

// TestRefusedWebhooksCostABoundedAmount: 10,000 forged deliveries to one
// endpoint store a handful of sample rows (then one count), log one line
// at once and one summary when the minute closes; verified deliveries in
// the middle of the flood are all stored and applied.
func TestRefusedWebhooksCostABoundedAmount(t *testing.T) {
	forEachBackend(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		st := openStore(t, dsn)
		logs := &lockedBuffer{}
		m := New(st, nil, Options{Logger: slog.New(slog.NewTextHandler(logs, nil))})
		var windows []func()
		m.refusals.afterFunc = func(_ time.Duration, f func()) { windows = append(windows, f) }
		epA, err := st.CreateWebhookEndpoint(ctx, store.NewWebhookEndpoint{Tenant: tenantA, CreatedBy: "ada", Secrets: []string{"wss_a"}})
		if err != nil {
			t.Fatal(err)
		}
		epB, err := st.CreateWebhookEndpoint(ctx, store.NewWebhookEndpoint{Tenant: tenantB, CreatedBy: "ada", Secrets: []string{"wss_b"}})
		if err != nil {
			t.Fatal(err)
		}
		forged := fmt.Errorf("%w: no signature matches", extendapi.ErrWebhookSignature)

		const flood, verified = 10_000, 10
		for i := range flood {
			m.RefuseWebhook(ctx, epA.ID, forged)
			if i%(flood/verified) == 0 {
				id := fmt.Sprintf("edr_%d", i)
				rec, err := m.ReceiveWebhook(ctx, epA.ID, webhookEvent(t, "evt_"+id, extendapi.EventEditRunProcessed, editRun(id, extendapi.StatusProcessed)))
				if err != nil || !rec.Event.Applied() {
					t.Fatalf("verified delivery %d in the flood: %+v, %v", i, rec, err)
				}
			}
		}
		for range 3 {
			m.RefuseWebhook(ctx, epB.ID, forged)
		}

		rows, _ := refusedRows(t, st, tenantA)
		if rows != refusalSamples {
			t.Errorf("%d refused rows for %d forged deliveries, want %d samples", rows, flood, refusalSamples)
		}
		if page, err := st.ListRuns(ctx, store.RunFilter{Tenant: tenantA, Limit: 50}); err != nil || len(page.Runs) != verified {
			t.Errorf("verified deliveries applied: %d, %v; want %d", len(page.Runs), err, verified)
		}
		if n := logs.count("webhook refused"); n != 1 || len(windows) != 1 {
			t.Errorf("during the minute: %d log lines, %d windows; want 1 and 1", n, len(windows))
		}

		windows[0]() // the minute is over
		got := map[string][2]int64{}
		for _, tenant := range []string{tenantA, tenantB} {
			rows, deliveries := refusedRows(t, st, tenant)
			got[tenant] = [2]int64{int64(rows), deliveries}
		}
		want := map[string][2]int64{tenantA: {refusalSamples, flood}, tenantB: {3, 3}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("refused rows and the deliveries they count (-want +got):\n%s", diff)
		}
		if n := logs.count("webhook refusals in the last minute"); n != 1 || logs.count("refused=10003") != 1 {
			t.Errorf("want one summary counting 10003 refusals:\n%s", logs.buf.String())
		}

		// The next refusal opens a new window with samples of its own.
		m.RefuseWebhook(ctx, epA.ID, forged)
		if rows, deliveries := refusedRows(t, st, tenantA); rows != refusalSamples+1 || deliveries != flood+1 || len(windows) != 2 {
			t.Errorf("next window: %d rows, %d deliveries, %d windows", rows, deliveries, len(windows))
		}
		if n := logs.count("webhook refused;"); n != 2 {
			t.Errorf("the new window's first refusal logged %d times in all, want 2", n)
		}
	})
}
