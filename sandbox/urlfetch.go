package sandbox

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"syscall"
	"time"

	"github.com/editwatch/editwatch/extendapi"
	"github.com/editwatch/editwatch/internal/netaddr"
)

// Errors of file.url downloads, mapped to failure reasons by fetchFailure.
var (
	errPrivateAddress = errors.New("refused: the address is loopback, private or link-local (start the sandbox with --allow-private-urls to allow it)")
	errDownloadTooBig = errors.New("the download exceeds the size limit")
)

// downloadTimeout bounds one file.url download.
const downloadTimeout = 2 * time.Minute

// urlFetcher downloads file.url inputs. Without allowPrivate it refuses
// loopback, private, link-local and other non-public addresses, checked on
// the resolved IP at dial time: a DNS name that resolves (or re-resolves,
// "DNS rebinding") to a private address is refused too, redirects included.
type urlFetcher struct {
	client    *http.Client
	transport *http.Transport
	maxBytes  int64
}

func newURLFetcher(allowPrivate bool, maxBytes int64) *urlFetcher {
	dialer := &net.Dialer{Timeout: 10 * time.Second}
	if !allowPrivate {
		dialer.Control = func(_, address string, _ syscall.RawConn) error {
			host, _, err := net.SplitHostPort(address)
			if err != nil {
				return fmt.Errorf("sandbox: dial %s: %w", address, err)
			}
			ip, err := netip.ParseAddr(host)
			if err != nil || !netaddr.Public(ip) {
				return errPrivateAddress
			}
			return nil
		}
	}
	transport := &http.Transport{
		Proxy:                 nil, // a proxy would dial for us and bypass the address check
		DialContext:           dialer.DialContext,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: 30 * time.Second,
		MaxIdleConnsPerHost:   2,
		IdleConnTimeout:       30 * time.Second,
	}
	return &urlFetcher{
		transport: transport,
		maxBytes:  maxBytes,
		client: &http.Client{
			Transport: transport,
			Timeout:   downloadTimeout,
			CheckRedirect: func(req *http.Request, via []*http.Request) error {
				if len(via) >= 5 {
					return errors.New("more than 5 redirects")
				}
				if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
					return fmt.Errorf("redirect to a %s URL", req.URL.Scheme)
				}
				return nil
			},
		},
	}
}

// close drops idle keep-alive connections so no goroutine outlives Close.
func (f *urlFetcher) close() { f.transport.CloseIdleConnections() }

// validateFetchURL accepts absolute http and https URLs only.
func validateFetchURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errInvalid("file.url %q must be an absolute http or https URL", raw)
	}
	return nil
}

// fetch downloads raw into a scratch file of the blob store and returns its
// path and size. Over the limit it stops reading and fails.
func (f *urlFetcher) fetch(ctx context.Context, raw string, blobs *blobStore) (string, int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, raw, nil)
	if err != nil {
		return "", 0, fmt.Errorf("sandbox: download request: %w", err)
	}
	req.Header.Set("User-Agent", "editwatch-sandbox")
	resp, err := f.client.Do(req)
	if err != nil {
		return "", 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return "", 0, fmt.Errorf("the server answered %s", resp.Status)
	}
	if resp.ContentLength > f.maxBytes {
		return "", 0, errDownloadTooBig
	}
	tmp, err := blobs.tempFile()
	if err != nil {
		return "", 0, err
	}
	n, cerr := io.Copy(tmp, io.LimitReader(resp.Body, f.maxBytes+1))
	closeErr := tmp.Close()
	if err := errors.Join(cerr, closeErr); err != nil || n > f.maxBytes {
		_ = os.Remove(tmp.Name())
		if err == nil {
			err = errDownloadTooBig
		}
		return "", 0, err
	}
	return tmp.Name(), n, nil
}

// fetchFailure maps a download error to the run's failure reason.
func fetchFailure(err error, limit int64) *Failure {
	if errors.Is(err, errDownloadTooBig) {
		return &Failure{Reason: extendapi.ReasonFileSizeTooLarge,
			Message: fmt.Sprintf("the file at file.url exceeds the sandbox's limit of %d bytes", limit)}
	}
	msg := err.Error()
	if errors.Is(err, errPrivateAddress) {
		msg = errPrivateAddress.Error()
	}
	return &Failure{Reason: extendapi.ReasonUnableToDownloadFile, Message: "could not download file.url: " + msg}
}
