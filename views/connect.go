package views

import "time"

// DeploymentOption is one choice of Extend deployment on the connect page.
type DeploymentOption struct {
	Value    string // "us", "us2", "eu1", or "custom"
	Label    string
	Selected bool
}

// DefaultDeployments lists Extend's documented deployments with selected
// chosen ("us" when empty).
func DefaultDeployments(selected string) []DeploymentOption {
	if selected == "" {
		selected = "us"
	}
	opts := []DeploymentOption{
		{Value: "us", Label: "US (api.extend.ai)"},
		{Value: "us2", Label: "US2 (api.us2.extend.app)"},
		{Value: "eu1", Label: "EU1 (api.eu1.extend.ai)"},
	}
	for i := range opts {
		opts[i].Selected = opts[i].Value == selected
	}
	return opts
}

// ConnectedWorkspace is a workspace this session already holds a key for.
type ConnectedWorkspace struct {
	ID          string
	Label       string
	Deployment  string
	KeyLast4    string
	ConnectedAt time.Time
	Current     bool
	OpenURL     string // usually RunsURL for that workspace
}

// ConnectPage is the connect form (GET/POST /connect).
type ConnectPage struct {
	Base
	Deployments []DeploymentOption // DefaultDeployments when empty
	// CustomURL is the configured --extend-url; when set the deployment is
	// fixed and shown instead of the select.
	CustomURL   string
	WorkspaceID string // the form's value (kept after an error)
	// SandboxKey pre-fills the key field. It is rendered only when
	// Base.SandboxBanner is set: the sandbox's demo key is public, no
	// other key ever goes back to a browser.
	SandboxKey string
	Error      string // why connecting failed, in the person's terms
	// Next is where connecting leads back to (ParamNext), already
	// sanitized by the handler; "" for the runs list.
	Next      string
	Connected []ConnectedWorkspace
}

func (p ConnectPage) deployments() []DeploymentOption {
	if len(p.Deployments) == 0 {
		return DefaultDeployments("")
	}
	return p.Deployments
}

// sandboxPrefill is the key to pre-fill: only the sandbox's public demo key,
// and only in sandbox mode.
func (p ConnectPage) sandboxPrefill() string {
	if !p.SandboxBanner {
		return ""
	}
	return p.SandboxKey
}

func (w ConnectedWorkspace) displayName() string {
	if w.Label != "" {
		return w.Label
	}
	return w.ID
}
