package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/editwatch/editwatch/extendapi"
	"github.com/editwatch/editwatch/views"
)

// The embedded sandbox's demo workspace and the key the harness gives it.
const (
	demoWorkspace = "ws_demo"
	demoKey       = "sk_sandbox_demo"
	basePath      = "/"
)

// Waits of the setup.
const (
	requestTimeout = 30 * time.Second
	syncTimeout    = 5 * time.Minute
)

// newTransport is shared by every virtual user: connections are reused
// as a browser's would be, and event streams get connections of their own.
func newTransport() *http.Transport {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns = 1000
	tr.MaxIdleConnsPerHost = 1000
	return tr
}

// user is one virtual user: a session of its own (cookie jar), connected
// to the demo workspace. Redirects are not followed, so a page that sends
// the user back to the connect page counts as an error.
type user struct {
	root   string // http://127.0.0.1:port
	client *http.Client
	stream *http.Client // the same session without a timeout, for event streams
}

func newUser(root string, tr http.RoundTripper) *user {
	jar, _ := cookiejar.New(nil)
	noRedirect := func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &user{
		root:   root,
		client: &http.Client{Transport: tr, Jar: jar, Timeout: requestTimeout, CheckRedirect: noRedirect},
		stream: &http.Client{Transport: tr, Jar: jar, CheckRedirect: noRedirect},
	}
}

// get fetches path and returns its body; anything but 200 is an error.
func (u *user) get(ctx context.Context, path string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.root+path, nil)
	if err != nil {
		return "", err
	}
	resp, err := u.client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return string(b), fmt.Errorf("GET %s: %s%s", path, resp.Status, locationOf(resp))
	}
	return string(b), nil
}

func locationOf(resp *http.Response) string {
	if loc := resp.Header.Get("Location"); loc != "" {
		return " to " + loc
	}
	return ""
}

// connect fills in the connect form as a person would (the page pre-fills
// the sandbox's demo key and workspace) and posts it with its CSRF token.
// The dashboard lets one address connect ten times at once and then once
// every few seconds: a 429 is waited out as its Retry-After says.
func (u *user) connect(ctx context.Context) error {
	for {
		page, err := u.get(ctx, views.ConnectURL(basePath, demoWorkspace))
		if err != nil {
			return fmt.Errorf("connect page: %w", err)
		}
		doc, err := goquery.NewDocumentFromReader(strings.NewReader(page))
		if err != nil {
			return err
		}
		form := doc.Find(`form[data-testid="connect-form"]`)
		if form.Length() == 0 {
			return errors.New("the connect page has no connect form")
		}
		values := url.Values{}
		form.Find("input").Each(func(_ int, s *goquery.Selection) {
			if name, ok := s.Attr("name"); ok {
				values.Set(name, s.AttrOr("value", ""))
			}
		})
		values.Set(views.FieldAPIKey, demoKey)
		values.Set(views.FieldWorkspaceID, demoWorkspace)
		action := form.AttrOr("action", views.ConnectURL(basePath, ""))
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.root+action, strings.NewReader(values.Encode()))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := u.client.Do(req)
		if err != nil {
			return fmt.Errorf("connect: %w", err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		switch {
		case resp.StatusCode == http.StatusTooManyRequests:
			wait, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
			if err := sleep(ctx, time.Duration(max(wait, 1))*time.Second); err != nil {
				return err
			}
			continue
		case resp.StatusCode/100 == 3 && !strings.Contains(resp.Header.Get("Location"), views.RouteConnect):
			return nil
		default:
			return fmt.Errorf("connect with the demo key: %s%s: %.300s", resp.Status, locationOf(resp), textOf(string(body)))
		}
	}
}

// waitSynced waits until the workspace's history sync, which connecting
// started, has finished: from then on the runs list reads from history.
func (u *user) waitSynced(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, syncTimeout)
	defer cancel()
	path := views.SettingsActionURL(basePath, views.RouteSync, demoWorkspace)
	for {
		page, err := u.get(ctx, path)
		if err != nil {
			return fmt.Errorf("history sync progress: %w", err)
		}
		doc, err := goquery.NewDocumentFromReader(strings.NewReader(page))
		if err != nil {
			return err
		}
		progress := doc.Find(`[data-testid="sync-progress"]`)
		text := strings.Join(strings.Fields(progress.Text()), " ")
		switch {
		case progress.Length() == 0:
			return fmt.Errorf("history sync progress: no progress in %.300s", textOf(page))
		case strings.Contains(text, "failed") || strings.Contains(text, "stopped"):
			return fmt.Errorf("history sync: %s", text)
		case progress.AttrOr("data-running", "") == "false" && !strings.Contains(text, "not been synced"):
			return nil
		}
		if err := sleep(ctx, 200*time.Millisecond); err != nil {
			return fmt.Errorf("history sync did not finish within %s: %s", syncTimeout, text)
		}
	}
}

// stylesheetURL is the hashed URL of the stylesheet a page links: the
// baseline, a static file served by the same process.
func (u *user) stylesheetURL(ctx context.Context, pagePath string) (string, error) {
	page, err := u.get(ctx, pagePath)
	if err != nil {
		return "", err
	}
	doc, err := goquery.NewDocumentFromReader(strings.NewReader(page))
	if err != nil {
		return "", err
	}
	href, ok := doc.Find(`link[rel="stylesheet"]`).Attr("href")
	if !ok || !strings.Contains(href, "/static/") {
		return "", fmt.Errorf("%s links no stylesheet under /static/", pagePath)
	}
	return href, nil
}

// sandboxClient talks to the embedded sandbox directly, as Extend's API:
// what the harness does through it is not one of the dashboard's upstream
// calls.
func sandboxClient(root string, tr http.RoundTripper) (*extendapi.Client, error) {
	return extendapi.New(demoKey, extendapi.WithBaseURL(root+basePath+"_sandbox"), extendapi.WithWorkspace(demoWorkspace),
		extendapi.WithHTTPClient(&http.Client{Transport: tr}), extendapi.WithLimiter(extendapi.NewUnlimitedLimiter()))
}

// sandboxRuns lists the sandbox's finished runs (run pages fetch their run
// from Extend, so they must exist there, unlike seeded history) and a
// processed one whose file and configuration new runs reuse.
func sandboxRuns(ctx context.Context, sb *extendapi.Client) (ids []string, template *extendapi.CreateEditRunRequest, err error) {
	page, err := sb.ListEditRuns(ctx, extendapi.ListEditRunsParams{SortBy: extendapi.SortByCreatedAt, SortDir: extendapi.SortDesc, MaxPageSize: 100})
	if err != nil {
		return nil, nil, fmt.Errorf("list the sandbox's runs: %w", err)
	}
	for _, r := range page.Data {
		if r.Status == extendapi.StatusProcessing {
			continue
		}
		ids = append(ids, r.ID)
		if template == nil && r.Status == extendapi.StatusProcessed {
			full, err := sb.GetEditRun(ctx, r.ID)
			if err != nil {
				return nil, nil, fmt.Errorf("read a sandbox run: %w", err)
			}
			template = &extendapi.CreateEditRunRequest{File: &extendapi.FileRef{ID: full.File.ID}, Config: full.Config}
		}
	}
	if len(ids) == 0 || template == nil {
		return nil, nil, errors.New("the sandbox has no finished runs to open: was it seeded?")
	}
	return ids, template, nil
}

// textOf is a page's text without markup, for error messages.
func textOf(page string) string {
	doc, err := goquery.NewDocumentFromReader(strings.NewReader(page))
	if err != nil {
		return page
	}
	doc.Find("script, style, nav, header").Remove()
	return strings.Join(strings.Fields(doc.Find("body").Text()), " ")
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
