package alerts

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/http"
	"net/netip"
	"net/smtp"
	"net/textproto"
	"net/url"
	"strings"
	"syscall"
	"time"

	"github.com/editwatch/editwatch/extendapi"
	"github.com/editwatch/editwatch/internal/netaddr"
)

// Format prints the channel without its URL or secret for every verb.
func (c Channel) Format(f fmt.State, verb rune) { _, _ = f.Write([]byte(c.String())) }

// LogValue keeps the URL and secret out of structured logs.
func (c Channel) LogValue() slog.Value {
	return slog.GroupValue(slog.String("name", c.Name), slog.String("type", c.Type))
}

// Payload is the JSON body a webhook channel receives (README, Alerts).
// Receivers deduplicate by NotificationID: after a crash the same
// notification may come twice, never zero times.
type Payload struct {
	NotificationID string `json:"notificationId"`
	// Kind: firing (the condition started holding), repeat (still
	// firing after the rule's repeat), resolved, or test.
	Kind       string `json:"kind"`
	Rule       string `json:"rule"`
	RuleKind   string `json:"ruleKind"`
	Deployment string `json:"deployment"`
	Workspace  string `json:"workspace"`
	// State is firing or resolved.
	State     string     `json:"state"`
	Value     float64    `json:"value"`
	Threshold float64    `json:"threshold"`
	Unit      string     `json:"unit"` // share, runs, ms, credits, s
	Window    string     `json:"window"`
	StartedAt time.Time  `json:"startedAt"`
	EndedAt   *time.Time `json:"endedAt,omitempty"`
	// RunsURL opens the runs list filtered to the rule's window and
	// status or reason.
	RunsURL       string   `json:"runsUrl"`
	ExampleRunIDs []string `json:"exampleRunIds"`
	Summary       string   `json:"summary"`
}

// SMTP is the mail server e-mail channels send through (--smtp-*).
type SMTP struct {
	Host     string
	Port     int
	StartTLS bool
	User     string
	Password string
	From     string
}

// SenderOptions configures a Sender.
type SenderOptions struct {
	// AllowPrivate lets channels reach loopback, private and link-local
	// addresses (--alerts-allow-private-urls).
	AllowPrivate bool
	SMTP         SMTP
	Timeout      time.Duration // per delivery; 10s when 0
	// TLSConfig, when set, is used for STARTTLS (tests trust their own
	// server with it).
	TLSConfig *tls.Config
}

// Sender delivers notifications to channels.
type Sender struct {
	opts   SenderOptions
	client *http.Client
}

// ErrPrivateDestination refuses a channel URL on a loopback, private or
// link-local address.
var ErrPrivateDestination = errors.New("the address is loopback, private or link-local: Editwatch does not call internal services unless --alerts-allow-private-urls is set")

// NewSender builds a Sender. The address check runs when a connection is
// dialled, on the address actually dialled, so a name that resolves to
// an internal address (or changes to one) is refused too.
func NewSender(opts SenderOptions) *Sender {
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Second
	}
	dialer := &net.Dialer{Timeout: opts.Timeout, Control: func(network, address string, _ syscall.RawConn) error {
		if opts.AllowPrivate {
			return nil
		}
		ap, err := netip.ParseAddrPort(address)
		if err != nil {
			return fmt.Errorf("%s: %w", address, ErrPrivateDestination)
		}
		if !netaddr.Public(ap.Addr()) {
			return fmt.Errorf("%s: %w", ap.Addr(), ErrPrivateDestination)
		}
		return nil
	}}
	transport := &http.Transport{
		Proxy:               nil, // a proxy would dial for us, past the address check
		DialContext:         dialer.DialContext,
		TLSHandshakeTimeout: opts.Timeout,
		MaxIdleConns:        4,
		IdleConnTimeout:     time.Minute,
	}
	client := &http.Client{Transport: transport, Timeout: opts.Timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return &Sender{opts: opts, client: client}
}

// checkURL is the check at parse time: an http(s) URL with a host. The
// address is checked again when dialled.
func checkURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errors.New("want an http:// or https:// URL")
	}
	if u.User != nil {
		return errors.New("credentials in the URL are not accepted")
	}
	return nil
}

// Deliver sends one notification to one channel and returns the
// receiver's HTTP status (0 for e-mail or when none came).
func (s *Sender) Deliver(ctx context.Context, ch Channel, p Payload) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, s.opts.Timeout)
	defer cancel()
	switch ch.Type {
	case ChannelWebhook:
		body, err := json.Marshal(p)
		if err != nil {
			return 0, err
		}
		h := http.Header{}
		if ch.Secret != "" {
			h = extendapi.WebhookHeaders(ch.Secret, time.Now(), body)
		}
		h.Set("X-Editwatch-Notification-Id", p.NotificationID)
		return s.post(ctx, ch, body, h)
	case ChannelSlack:
		body, err := json.Marshal(map[string]string{"text": slackText(p)})
		if err != nil {
			return 0, err
		}
		return s.post(ctx, ch, body, http.Header{})
	case ChannelEmail:
		return 0, s.mail(ctx, ch, p)
	}
	return 0, fmt.Errorf("channel %s: unknown type %q", ch.Name, ch.Type)
}

func (s *Sender) post(ctx context.Context, ch Channel, body []byte, h http.Header) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ch.URL, bytes.NewReader(body))
	if err != nil {
		return 0, fmt.Errorf("%s: the URL is not usable", ch)
	}
	req.Header = h
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Editwatch-Alerts")
	resp, err := s.client.Do(req)
	if err != nil {
		// The URL is a secret: say what failed without it.
		if errors.Is(err, ErrPrivateDestination) {
			return 0, fmt.Errorf("%s: %w", ch, ErrPrivateDestination)
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return 0, fmt.Errorf("%s: %v", ch, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.StatusCode, fmt.Errorf("%s: the receiver answered %s", ch, resp.Status)
	}
	return resp.StatusCode, nil
}

func slackText(p Payload) string {
	var b strings.Builder
	icon := ":rotating_light:"
	if p.State == "resolved" {
		icon = ":white_check_mark:"
	}
	fmt.Fprintf(&b, "%s *%s* %s\n%s\n", icon, p.Rule, strings.ToUpper(p.State), p.Summary)
	fmt.Fprintf(&b, "Workspace %s on %s · window %s · since %s\n", p.Workspace, p.Deployment, p.Window, p.StartedAt.UTC().Format("2006-01-02 15:04 UTC"))
	if len(p.ExampleRunIDs) > 0 {
		fmt.Fprintf(&b, "Runs: %s\n", strings.Join(p.ExampleRunIDs, ", "))
	}
	if p.RunsURL != "" {
		fmt.Fprintf(&b, "<%s|Open the runs>", p.RunsURL)
	}
	return b.String()
}

var mailHTML = template.Must(template.New("mail").Parse(`<!doctype html><html><body>
<h2>{{.Rule}}: {{.State}}</h2>
<p>{{.Summary}}</p>
<p>Workspace {{.Workspace}} on {{.Deployment}}, window {{.Window}}, since {{.StartedAt.UTC.Format "2006-01-02 15:04 UTC"}}.</p>
{{if .ExampleRunIDs}}<p>Runs:{{range .ExampleRunIDs}} <code>{{.}}</code>{{end}}</p>{{end}}
{{if .RunsURL}}<p><a href="{{.RunsURL}}">Open the runs</a></p>{{end}}
<p><small>Notification {{.NotificationID}}</small></p>
</body></html>`))

// mailMessage is the RFC 5322 message: plain-text and HTML parts.
func mailMessage(from string, to []string, p Payload) ([]byte, error) {
	var htmlPart bytes.Buffer
	if err := mailHTML.Execute(&htmlPart, p); err != nil {
		return nil, err
	}
	plain := strings.NewReplacer("*", "", ":rotating_light: ", "", ":white_check_mark: ", "").Replace(slackText(p))
	if p.RunsURL != "" {
		plain = strings.Replace(plain, "<"+p.RunsURL+"|Open the runs>", "Open the runs: "+p.RunsURL, 1)
	}
	var msg bytes.Buffer
	mw := multipart.NewWriter(&msg)
	var head strings.Builder
	fmt.Fprintf(&head, "From: %s\r\nTo: %s\r\n", from, strings.Join(to, ", "))
	fmt.Fprintf(&head, "Subject: [Editwatch] %s: %s\r\n", p.Rule, p.State)
	fmt.Fprintf(&head, "Date: %s\r\n", time.Now().UTC().Format(time.RFC1123Z))
	fmt.Fprintf(&head, "Message-ID: <%s@editwatch>\r\n", p.NotificationID)
	fmt.Fprintf(&head, "MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=%q\r\n\r\n", mw.Boundary())
	for _, part := range []struct{ typ, body string }{{"text/plain", plain}, {"text/html", htmlPart.String()}} {
		w, err := mw.CreatePart(textproto.MIMEHeader{
			"Content-Type":              {part.typ + "; charset=utf-8"},
			"Content-Transfer-Encoding": {"quoted-printable"},
		})
		if err != nil {
			return nil, err
		}
		qp := quotedprintable.NewWriter(w)
		if _, err := qp.Write([]byte(part.body)); err != nil {
			return nil, err
		}
		if err := qp.Close(); err != nil {
			return nil, err
		}
	}
	if err := mw.Close(); err != nil {
		return nil, err
	}
	return append([]byte(head.String()), msg.Bytes()...), nil
}

func (s *Sender) mail(ctx context.Context, ch Channel, p Payload) error {
	cfg := s.opts.SMTP
	if cfg.Host == "" || cfg.From == "" {
		return fmt.Errorf("%s: e-mail needs --smtp-host and --smtp-from", ch)
	}
	msg, err := mailMessage(cfg.From, ch.To, p)
	if err != nil {
		return err
	}
	addr := net.JoinHostPort(cfg.Host, fmt.Sprint(cfg.Port))
	conn, err := (&net.Dialer{Timeout: s.opts.Timeout}).DialContext(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("%s: smtp %s: %w", ch, addr, err)
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	c, err := smtp.NewClient(conn, cfg.Host)
	if err != nil {
		conn.Close()
		return fmt.Errorf("%s: smtp %s: %w", ch, addr, err)
	}
	defer c.Close()
	if cfg.StartTLS {
		tc := s.opts.TLSConfig
		if tc == nil {
			tc = &tls.Config{ServerName: cfg.Host, MinVersion: tls.VersionTLS12}
		}
		if err := c.StartTLS(tc); err != nil {
			return fmt.Errorf("%s: smtp STARTTLS: %w", ch, err)
		}
	}
	if cfg.User != "" {
		if err := c.Auth(smtp.PlainAuth("", cfg.User, cfg.Password, cfg.Host)); err != nil {
			return fmt.Errorf("%s: smtp login as %s: %w", ch, cfg.User, err)
		}
	}
	if err := c.Mail(cfg.From); err != nil {
		return fmt.Errorf("%s: smtp MAIL FROM: %w", ch, err)
	}
	for _, rcpt := range ch.To {
		if err := c.Rcpt(rcpt); err != nil {
			return fmt.Errorf("%s: smtp RCPT TO %s: %w", ch, rcpt, err)
		}
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("%s: smtp DATA: %w", ch, err)
	}
	if _, err := w.Write(msg); err != nil {
		return fmt.Errorf("%s: smtp DATA: %w", ch, err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("%s: smtp DATA: %w", ch, err)
	}
	return c.Quit()
}

// newID names a notification or a firing: prefix and 16 random hex digits.
func newID(prefix string) string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// NewSigningSecret makes a webhook channel's signing secret.
func NewSigningSecret() string { return newID("whsec_") + newID("")[:16] }
