package handlers

import (
	"context"
	"crypto/rand"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/editwatch/editwatch/middleware"
	"github.com/editwatch/editwatch/monitor"
	"github.com/editwatch/editwatch/sandbox"
	"github.com/editwatch/editwatch/static"
	"github.com/editwatch/editwatch/store"
	"github.com/editwatch/editwatch/store/storetest"
	"github.com/editwatch/editwatch/upstream"
	"github.com/editwatch/editwatch/views"
)

// newReplica is one Editwatch process on the database dsn, talking to the
// Extend at extendURL, with live updates through PostgreSQL.
func newReplica(t *testing.T, dsn string, sealKey, sessKey []byte, extendURL string) *testEnv {
	t.Helper()
	ctx := context.Background()
	sealer, err := store.NewSealer([][]byte{sealKey})
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(ctx, dsn, nil, store.WithSealer(sealer))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	tenantKey, err := upstream.LoadTenantKey(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	assets, err := static.New(testBase)
	if err != nil {
		t.Fatal(err)
	}
	sessions, err := middleware.NewSessionStore(st, middleware.SessionStoreOptions{Path: testBase, KeyPairs: [][]byte{sessKey}, Idle: time.Hour, MaxAge: 4 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	env := &testEnv{t: t, st: st, logs: &lockedBuffer{}, headers: http.Header{}, sbURL: extendURL}
	env.build(Options{Store: st, Sessions: sessions, Assets: assets, BasePath: testBase,
		Connector: testConnector(t, tenantKey, extendURL)})
	// attachLive rebuilds the dashboard: serve whichever is current.
	env.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { env.echo.ServeHTTP(w, r) }))
	t.Cleanup(env.srv.Close)
	jar, _ := cookiejar.New(nil)
	env.client = &http.Client{Jar: jar, Timeout: 60 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	listener, err := st.Listen(ctx, store.ListenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	broker, err := monitor.NewPGBroker(listener, monitor.PGBrokerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-broker.Ready():
	case <-time.After(10 * time.Second):
		t.Fatal("broker not listening")
	}
	attachLive(t, env, pgTestBroker{broker})
	return env
}

type pgTestBroker struct{ *monitor.PGBroker }

func (b pgTestBroker) Close() { _ = b.PGBroker.Close() }

// Two Editwatch processes on one PostgreSQL database: a webhook received
// by one updates an event stream open on the other.
func TestTwoReplicasOnPostgres(t *testing.T) {
	dsn := storetest.PostgresDSN(t)
	sb, err := sandbox.New(sandbox.Options{APIKeys: map[string]string{demoKey: demoWS}, Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sb.Close() })
	sbSrv := httptest.NewServer(sb)
	t.Cleanup(sbSrv.Close)
	sealKey, sessKey := make([]byte, store.SealerKeySize), make([]byte, 32)
	_, _ = rand.Read(sealKey)
	_, _ = rand.Read(sessKey)

	receiver := newReplica(t, dsn, sealKey, sessKey, sbSrv.URL)
	viewer := newReplica(t, dsn, sealKey, sessKey, sbSrv.URL)
	viewer.connect(demoKey, demoWS)
	stream := viewer.openStream(t, "events?ws="+demoWS)

	endpoint := addEndpoint(t, receiver.st, "test/"+demoWS)
	status, _ := deliver(t, receiver.srv.URL+testBase, endpoint, testWebhookSecret, runEventBody("evt_pg", "edr_pg1", "PROCESSED"), time.Now())
	if status != http.StatusOK {
		t.Fatalf("webhook: %d", status)
	}
	ev, ok := stream.next(t, views.LiveRunEvent("edr_pg1"), 10*time.Second)
	if !ok {
		t.Fatal("the other replica's stream never heard of the run")
	}
	if se := decodeStreamEvent(t, ev); se.Status != "PROCESSED" {
		t.Errorf("event %+v", se)
	}
}
