package extendapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

// An endpoint printed with any verb, nested or not, or logged, never shows
// its signing secret; JSON (what the sandbox answers with) still does.
func TestWebhookEndpointHidesItsSecret(t *testing.T) {
	const secret = "wss_canaryFormat_7Gh2Kp9Lm4Qz"
	ep := WebhookEndpoint{ID: "wh_1", URL: "https://ops.example/webhooks/extend/ewh_1", Status: "enabled", SigningSecret: secret}
	nested := struct {
		Endpoint *WebhookEndpoint
		List     []WebhookEndpoint
	}{&ep, []WebhookEndpoint{ep}}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%T %v"} {
		for _, v := range []any{ep, &ep, nested, &nested} {
			if out := fmt.Sprintf(verb, v); strings.Contains(out, secret) || strings.Contains(out, fmt.Sprintf("%x", secret)) {
				t.Errorf("%s of %T shows the secret: %s", verb, v, out)
			}
		}
	}
	if !strings.Contains(fmt.Sprint(ep), "wh_1") {
		t.Errorf("the endpoint is no longer recognisable: %s", fmt.Sprint(ep))
	}
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("endpoint", "ep", ep, "ptr", &ep)
	slog.New(slog.NewTextHandler(&logs, nil)).Info("endpoint", "ep", ep, "ptr", &ep)
	if strings.Contains(logs.String(), secret) {
		t.Errorf("the log shows the secret: %s", logs.String())
	}
	if b, err := json.Marshal(ep); err != nil || !strings.Contains(string(b), secret) {
		t.Errorf("JSON lost the secret: %s %v", b, err)
	}
}
