package upstream

import (
	"bytes"
	"context"
	"crypto/rand"
	"log/slog"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/editwatch/editwatch/extendapi"
	"github.com/editwatch/editwatch/sandbox"
	"github.com/editwatch/editwatch/store"
	"github.com/editwatch/editwatch/store/storetest"
)

// Keys and workspaces of the test sandbox.
const (
	demoKey    = "sk_sandbox_demo"
	demoWS     = "ws_demo"
	demoTenant = "test/" + demoWS
)

// lockedBuffer collects log lines from concurrent goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// testEnv is a store and a connector to a real sandbox over HTTP, as the
// dashboard has them.
type testEnv struct {
	st        *store.Store
	sb        *sandbox.Server
	sbURL     string
	connector *Connector
	keys      *Keys
	logs      *lockedBuffer
	logger    *slog.Logger
	// ahead moves the store's clock forward (Unix ms), as if time passed.
	ahead *atomic.Int64
}

// advance moves the store's clock forward by d.
func (env *testEnv) advance(d time.Duration) { env.ahead.Add(d.Milliseconds()) }

// newTestEnv starts a sandbox (seeded when seed) and a store on a
// temporary SQLite database.
func newTestEnv(t *testing.T, seed bool) *testEnv {
	t.Helper()
	logs := &lockedBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx := context.Background()
	sealKey := make([]byte, store.SealerKeySize)
	_, _ = rand.Read(sealKey)
	sealer, err := store.NewSealer([][]byte{sealKey})
	if err != nil {
		t.Fatal(err)
	}
	ahead := &atomic.Int64{}
	st, err := store.Open(ctx, storetest.SQLiteDSN(t), logger, store.WithSealer(sealer),
		store.WithClock(func() time.Time { return time.Now().Add(time.Duration(ahead.Load()) * time.Millisecond) }))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	tenantKey, err := LoadTenantKey(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	sb, err := sandbox.New(sandbox.Options{APIKeys: map[string]string{demoKey: demoWS}, Seed: seed, SeedWorkspace: demoWS,
		Logger: logger.With("component", "sandbox"), Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sb.Close() })
	srv := httptest.NewServer(sb)
	t.Cleanup(srv.Close)
	connector, err := NewConnector(ConnectorOptions{
		Extend:    ExtendConfig{URL: srv.URL, Deployment: "test", Timeout: 10 * time.Second},
		Limiters:  extendapi.NewLimiterRegistry(extendapi.LimiterConfig{GET: -1, WRITE: -1, RUN: -1}),
		TenantKey: tenantKey, Logger: logger,
	})
	if err != nil {
		t.Fatal(err)
	}
	return &testEnv{st: st, sb: sb, sbURL: srv.URL, connector: connector, keys: NewKeys(st, connector), logs: logs, logger: logger, ahead: ahead}
}

// extend is a client of the sandbox with key, in ws.
func (env *testEnv) extend(t *testing.T, key, ws string) *extendapi.Client {
	t.Helper()
	cl, err := extendapi.New(extendapi.APIKey(key), extendapi.WithBaseURL(env.sbURL), extendapi.WithWorkspace(ws))
	if err != nil {
		t.Fatal(err)
	}
	return cl
}
