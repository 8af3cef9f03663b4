package upstream

import (
	"context"
	"strings"
	"testing"

	"github.com/editwatch/editwatch/extendapi"
	"github.com/editwatch/editwatch/sandbox"
	"github.com/editwatch/editwatch/store"
)

var testTenantKey = []byte("0123456789abcdef0123456789abcdef")

func mustConnector(t *testing.T, ext ExtendConfig) *Connector {
	t.Helper()
	c, err := NewConnector(ConnectorOptions{Extend: ext, TenantKey: testTenantKey})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// BaseURL is the one resolver of where a deployment answers: pages (for a
// stored connection) and background work (for a tenant's deployment,
// nothing stored) ask it alike.
func TestConnectorBaseURL(t *testing.T) {
	us, _ := extendapi.RegionBaseURL("us")
	eu, _ := extendapi.RegionBaseURL("eu1")
	regions := mustConnector(t, ExtendConfig{Region: "us"})
	sandboxed := mustConnector(t, ExtendConfig{URL: "http://127.0.0.1:4100/_sandbox/", Deployment: "sandbox"})
	byURL := mustConnector(t, ExtendConfig{URL: "https://extend.internal/"})
	cases := []struct {
		name               string
		c                  *Connector
		deployment, stored string
		want               string
	}{
		{"region, looked up again", regions, "eu1", "https://stale.example", eu},
		{"region, nothing stored", regions, "us", "", us},
		{"unknown deployment, stored URL", regions, "https://old.example", "https://old.example", "https://old.example"},
		{"unknown deployment named by its URL", regions, "https://old.example", "", "https://old.example"},
		{"the sandbox moved to another port", sandboxed, "sandbox", "http://127.0.0.1:3999/_sandbox", "http://127.0.0.1:4100/_sandbox"},
		{"a region stored while the deployment is fixed", sandboxed, "us", "https://kept.example", "https://kept.example"},
		{"a region, fixed deployment, nothing stored", sandboxed, "us", "", us},
		{"a fixed deployment named by its URL", byURL, "https://extend.internal", "", "https://extend.internal"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.c.BaseURL(tc.deployment, tc.stored); got != tc.want {
				t.Errorf("BaseURL(%q, %q) = %q, want %q", tc.deployment, tc.stored, got, tc.want)
			}
		})
	}
}

func TestNewConnectorRefusesBadOptions(t *testing.T) {
	cases := []struct {
		name string
		opts ConnectorOptions
		want string
	}{
		{"no tenant key", ConnectorOptions{}, "tenant key"},
		{"short tenant key", ConnectorOptions{TenantKey: []byte("short")}, "tenant key"},
		{"unknown region", ConnectorOptions{TenantKey: testTenantKey, Extend: ExtendConfig{Region: "mars"}}, "mars"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := NewConnector(tc.opts); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("NewConnector: %v, want an error naming %q", err, tc.want)
			}
		})
	}
}

// Every client the connector builds reports to its health tracker, under
// the deployment it calls: a failing Extend shows whichever part of
// Editwatch called it.
func TestConnectorClientsReportToHealth(t *testing.T) {
	env := newTestEnv(t, false)
	env.sb.SetFaults(sandbox.Faults{Rate5xx: 1})
	conn := store.Connection{Tenant: demoTenant, Deployment: "test", WorkspaceID: demoWS}
	background, err := env.connector.ConnectionClient(demoKey, conn)
	if err != nil {
		t.Fatal(err)
	}
	page, err := env.connector.PageClient(demoKey, conn)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, cl := range []*extendapi.Client{background, page} {
		if _, err := cl.GetEditRun(ctx, "edr_missing"); err == nil {
			t.Fatal("a call answered while Extend fails every call")
		}
	}
	st := env.connector.Health().State(env.sbURL, demoWS)
	if st.Failed < 2 || st.Failed != st.Attempts {
		t.Errorf("health after failing calls of both clients: %+v", st)
	}
	if got := env.connector.ConnectionBaseURL(conn); got != env.sbURL {
		t.Errorf("connection base URL %q, want the fixed deployment %q", got, env.sbURL)
	}
}
