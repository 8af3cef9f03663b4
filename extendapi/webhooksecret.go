package extendapi

import (
	"fmt"
	"log/slog"
)

const redactedSecret = "[redacted signing secret]"

// String describes the endpoint without its signing secret: printing one
// (%v, %+v, %s, an error message, a panic value) must never reveal it. JSON
// still carries the secret, which the sandbox needs to hand it out.
func (e WebhookEndpoint) String() string {
	secret := ""
	if e.SigningSecret != "" {
		secret = redactedSecret
	}
	return fmt.Sprintf("{ID:%s URL:%s Status:%s EnabledEvents:%v SigningSecret:%s}", e.ID, e.URL, e.Status, e.EnabledEvents, secret)
}

// GoString is String for %#v.
func (e WebhookEndpoint) GoString() string { return "extendapi.WebhookEndpoint" + e.String() }

// Format prints String (GoString for %#v) for every verb: without it, %d
// or %x on the struct would print the secret field by field.
func (e WebhookEndpoint) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		_, _ = f.Write([]byte(e.GoString()))
		return
	}
	_, _ = f.Write([]byte(e.String()))
}

// LogValue keeps the secret out of structured logs.
func (e WebhookEndpoint) LogValue() slog.Value {
	return slog.GroupValue(slog.String("id", e.ID), slog.String("url", e.URL), slog.String("status", e.Status))
}
