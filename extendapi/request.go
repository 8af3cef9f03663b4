package extendapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// maxResponseBody caps a successful answer. The largest documented objects
// (a run with its schema and filled values) are far below it.
const maxResponseBody = 32 << 20

// call describes one API operation; do runs it with limits and retries.
type call struct {
	op       string // the Client method, for logs and observers
	method   string
	path     string // escaped, relative to the base URL
	query    url.Values
	category Category
	class    retryClass
	timeout  time.Duration

	// body returns a fresh body for each attempt (nil call: no body).
	// length < 0 means unknown (sent chunked).
	body        func(ctx context.Context) (r io.Reader, length int64, err error)
	contentType string
	replayable  bool // net/http may call body again by itself (GetBody)

	// isDelete: a 404 after a try that may have reached the server means
	// that try deleted the object, so the call succeeded.
	isDelete bool
	// secretAnswer: the answer holds a secret (a signing secret), so no
	// excerpt of it may go into an error.
	secretAnswer bool
}

func jsonCall(op, method, path string, cat Category, class retryClass, timeout time.Duration, in any) (call, error) {
	cl := call{op: op, method: method, path: path, category: cat, class: class, timeout: timeout}
	if in == nil {
		return cl, nil
	}
	b, err := json.Marshal(in)
	if err != nil {
		return cl, fmt.Errorf("extendapi: %s: encode request: %w", op, err)
	}
	cl.contentType = "application/json"
	cl.replayable = true
	cl.body = func(context.Context) (io.Reader, int64, error) {
		return bytes.NewReader(b), int64(len(b)), nil
	}
	return cl, nil
}

// answer is what one attempt produced.
type answer struct {
	status    int
	header    http.Header
	body      []byte
	netErr    error // no (complete) answer; body and status may be partial
	timedOut  bool
	neverLeft bool
	tooLarge  bool // a 2xx answer past maxResponseBody
}

// do runs cl until it succeeds, fails for good, or its retry budget ends,
// and decodes a successful JSON answer into out (if non-nil).
func (c *Client) do(ctx context.Context, cl call, out any) error {
	if err := validHeaderValue("workspace", c.workspace); err != nil {
		return fmt.Errorf("extendapi: %s %s: %w", cl.method, cl.path, err)
	}
	start := c.clock.Now()
	mayHaveLanded := false // an earlier try may have reached the server
	for attempt := 1; ; attempt++ {
		if err := c.limiter.Wait(ctx, cl.category); err != nil {
			return c.stopped(cl, err)
		}
		began := c.clock.Now()
		ans, err := c.send(ctx, cl)
		if err != nil {
			return err // a local problem (body factory); nothing to retry
		}
		if ans.netErr != nil && ctx.Err() != nil {
			return c.stopped(cl, ctx.Err())
		}
		elapsed := c.clock.Now().Sub(began)

		var failure error
		var retry bool
		var serverWait time.Duration
		switch {
		case ans.netErr != nil:
			failure = &NetworkError{Method: cl.method, Path: cl.path, Timeout: ans.timedOut, Err: c.cleanNetErr(ans.netErr)}
			retry = cl.class.retriesNetwork(ans.neverLeft)
			if !ans.neverLeft {
				mayHaveLanded = true
			}
		case ans.status >= 200 && ans.status <= 299:
			c.record(ctx, cl, attempt, ans, elapsed, nil)
			if ans.tooLarge {
				return c.unexpected(cl, ans, fmt.Sprintf("the answer is larger than %d bytes", maxResponseBody))
			}
			return c.decodeSuccess(cl, ans, out)
		default:
			apiErr := decodeScrubbedError(ans.status, ans.header, ans.body, c.clock.Now(), c.key.redactFrom)
			apiErr.Method, apiErr.Path = cl.method, cl.path
			failure = apiErr
			if cl.isDelete && ans.status == http.StatusNotFound && mayHaveLanded {
				c.record(ctx, cl, attempt, ans, elapsed, failure)
				c.logger.LogAttrs(ctx, slog.LevelInfo, "extend delete already done by an earlier try",
					slog.String("op", cl.op), slog.String("path", cl.path), slog.Int("attempt", attempt))
				return nil
			}
			if ans.status == http.StatusTooManyRequests && apiErr.RetryAfter > 0 {
				c.limiter.pause(cl.category, c.clock.Now().Add(apiErr.RetryAfter))
			}
			retry = cl.class.retriesStatus(ans.status, apiErr.Retryable)
			if ans.status != http.StatusTooManyRequests {
				mayHaveLanded = true
			}
			serverWait = apiErr.RetryAfter
		}
		c.record(ctx, cl, attempt, ans, elapsed, failure)
		if !retry || attempt >= c.retry.MaxAttempts {
			return failure
		}
		wait := c.retry.delay(attempt, serverWait, c.jitter())
		if c.clock.Now().Add(wait).Sub(start) > c.retry.MaxElapsed {
			return failure
		}
		c.logger.LogAttrs(ctx, slog.LevelInfo, "extend request will be retried",
			slog.String("op", cl.op), slog.String("method", cl.method), slog.String("path", cl.path),
			slog.Int("attempt", attempt), slog.Duration("wait", wait), slog.String("reason", failure.Error()))
		if err := c.clock.Sleep(ctx, wait); err != nil {
			return c.stopped(cl, err)
		}
	}
}

// send makes one attempt and reads the whole answer within the attempt's
// timeout. The body is always drained and closed so that the connection
// goes back to the pool.
func (c *Client) send(ctx context.Context, cl call) (answer, error) {
	actx, cancel := context.WithTimeout(ctx, cl.timeout)
	defer cancel()

	var body io.Reader
	length := int64(0)
	if cl.body != nil {
		var err error
		if body, length, err = cl.body(actx); err != nil {
			return answer{}, fmt.Errorf("extendapi: %s %s: %w", cl.method, cl.path, err)
		}
	}
	target := c.base + cl.path
	if len(cl.query) > 0 {
		target += "?" + cl.query.Encode()
	}
	req, err := http.NewRequestWithContext(actx, cl.method, target, body)
	if err != nil {
		return answer{}, fmt.Errorf("extendapi: %s %s: build request: %w", cl.method, cl.path, err)
	}
	if body != nil {
		req.ContentLength = length
		if cl.replayable && req.GetBody == nil {
			req.GetBody = func() (io.ReadCloser, error) {
				r, _, err := cl.body(actx)
				return io.NopCloser(r), err
			}
		}
		req.Header.Set("Content-Type", cl.contentType)
	}
	req.Header.Set("Authorization", "Bearer "+string(*c.key))
	req.Header.Set(HeaderAPIVersion, APIVersion)
	req.Header.Set("User-Agent", c.userAgent)
	req.Header.Set("Accept", "application/json")
	if c.workspace != "" {
		req.Header.Set(HeaderWorkspaceID, c.workspace)
	}

	resp, err := c.hc.Do(req)
	if err != nil {
		return answer{netErr: err, timedOut: isTimeout(actx, err), neverLeft: neverLeft(err)}, nil
	}
	defer func() {
		// Drain what is left (bounded) so the connection can be reused.
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 256<<10))
		_ = resp.Body.Close()
	}()
	limit := int64(maxResponseBody)
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		limit = maxErrorBody
	}
	ans := answer{status: resp.StatusCode, header: resp.Header}
	ans.body, err = io.ReadAll(io.LimitReader(resp.Body, limit+1))
	switch {
	case err != nil && ans.status >= 200 && ans.status <= 299:
		// A success whose body broke off: the request did reach the server.
		ans.netErr = fmt.Errorf("reading the answer (HTTP %d): %w", ans.status, err)
		ans.timedOut = isTimeout(actx, err)
	case int64(len(ans.body)) > limit:
		ans.tooLarge = limit == maxResponseBody
		ans.body = ans.body[:limit]
	}
	return ans, nil
}

func isTimeout(actx context.Context, err error) bool {
	if errors.Is(actx.Err(), context.DeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// cleanNetErr drops *url.Error's "Get \"https://…\":" prefix (the method
// and path are in NetworkError already) and scrubs the key, belt and braces.
func (c *Client) cleanNetErr(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	if msg := err.Error(); c.key.redactFrom(msg) != msg {
		return errors.New(c.key.redactFrom(msg))
	}
	return err
}

// stopped wraps the reason a call stopped on the caller's side (context
// cancelled or past its deadline, limiter refused).
func (c *Client) stopped(cl call, err error) error {
	return fmt.Errorf("extendapi: %s %s: %w", cl.method, cl.path, err)
}

func (c *Client) decodeSuccess(cl call, ans answer, out any) error {
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(ans.body, out); err != nil {
		return c.unexpected(cl, ans, err.Error())
	}
	return nil
}

// unexpected reports a 2xx answer that is not the documented JSON.
func (c *Client) unexpected(cl call, ans answer, why string) error {
	detail := fmt.Sprintf("HTTP %d", ans.status)
	if ct := ans.header.Get("Content-Type"); ct != "" {
		detail += ", " + cleanText(ct, 80)
	}
	detail += "): " + why
	if cl.secretAnswer {
		detail += "; body withheld: it may hold a signing secret"
	} else if ex := scrubbedExcerpt(ans.body, c.key.redactFrom); ex != "" {
		detail += fmt.Sprintf("; body: %q", ex)
	}
	return fmt.Errorf("extendapi: %s %s: %w (%s", cl.method, cl.path, ErrUnexpectedResponse, detail)
}

// record logs an attempt at debug level and reports it to the observer.
func (c *Client) record(ctx context.Context, cl call, attempt int, ans answer, d time.Duration, err error) {
	reqID := ""
	if ans.header != nil {
		reqID = cleanText(ans.header.Get(HeaderRequestID), 128)
	}
	var apiErr *APIError
	if errors.As(err, &apiErr) && apiErr.RequestID != "" {
		reqID = apiErr.RequestID
	}
	if c.logger.Enabled(ctx, slog.LevelDebug) {
		attrs := []slog.Attr{
			slog.String("op", cl.op), slog.String("method", cl.method), slog.String("path", cl.path),
			slog.Int("attempt", attempt), slog.Int("status", ans.status), slog.Duration("duration", d),
		}
		if reqID != "" {
			attrs = append(attrs, slog.String("request_id", reqID))
		}
		if err != nil {
			attrs = append(attrs, slog.String("error", err.Error()))
		}
		c.logger.LogAttrs(ctx, slog.LevelDebug, "extend request", attrs...)
	}
	if c.observer != nil {
		c.observer(Observation{
			Operation: cl.op, Method: cl.method, Path: cl.path, Category: cl.category,
			Attempt: attempt, StatusCode: ans.status, Duration: d, RequestID: reqID, Err: err,
		})
	}
}

// objectPath joins a collection and an escaped ID, refusing an empty ID
// (which would silently address the collection instead).
func objectPath(op, collection, id string) (string, error) {
	if strings.TrimSpace(id) == "" {
		return "", fmt.Errorf("extendapi: %s: %w: empty id", op, ErrInvalidArgument)
	}
	return collection + "/" + url.PathEscape(id), nil
}

// getObject runs cl into in and checks that the object carries an ID: a
// legacy API version answering with a wrapper object would otherwise decode
// into an empty struct without complaint.
func getObject[T any](ctx context.Context, c *Client, cl call, in *T, id func(*T) string) (*T, error) {
	if err := c.do(ctx, cl, in); err != nil {
		return nil, err
	}
	if id(in) == "" {
		return nil, fmt.Errorf("extendapi: %s %s: %w: the answer has no id", cl.method, cl.path, ErrUnexpectedResponse)
	}
	return in, nil
}

// listQuery adds the cursor parameters every list endpoint shares.
func listQuery(q url.Values, sortDir SortDir, maxPageSize int, token string) url.Values {
	if sortDir != "" {
		q.Set("sortDir", string(sortDir))
	}
	if maxPageSize > 0 {
		q.Set("maxPageSize", fmt.Sprint(maxPageSize))
	}
	if token != "" {
		q.Set("nextPageToken", token)
	}
	return q
}

// paginate walks a cursor from token, yielding every item. It stops at the
// first error (yielded once) and refuses a server that repeats a token,
// which would otherwise loop forever.
func paginate[T any](token string, fetch func(token string) (*List[T], error)) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		var zero T
		seen := map[string]bool{}
		for {
			page, err := fetch(token)
			if err != nil {
				yield(zero, err)
				return
			}
			for _, item := range page.Data {
				if !yield(item, nil) {
					return
				}
			}
			if page.NextPageToken == "" {
				return
			}
			if seen[page.NextPageToken] {
				yield(zero, fmt.Errorf("extendapi: list: %w: the server repeated a page token", ErrUnexpectedResponse))
				return
			}
			seen[page.NextPageToken] = true
			token = page.NextPageToken
		}
	}
}
