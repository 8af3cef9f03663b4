package handlers

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/editwatch/editwatch/middleware"
	"github.com/editwatch/editwatch/views"
)

// maxRedirectLength bounds a redirect target taken from a request; our own
// URLs are far shorter.
const maxRedirectLength = 2048

// maxUnescapeRounds is how many layers of percent-encoding safeRedirect
// peels off while looking for a hidden "//", backslash or dot segment.
const maxUnescapeRounds = 4

// safeRedirect returns target when it is a path of this site under
// basePath, and basePath otherwise. It is the only way a redirect target or
// a return link taken from a request (next=, and anything else a person or
// another site can put in a URL) becomes a Location or an href.
//
// Browsers are generous about what they treat as another origin: "//host",
// "/\host", a leading tab or newline they strip, a scheme. Rather than
// predict every such reading, only plain printable ASCII without
// backslashes is accepted, and every percent-decoded form of the path must
// still be a same-site path without "." or ".." segments.
func safeRedirect(basePath, target string) string {
	if basePath != "/" && (!strings.HasSuffix(basePath, "/") || !isSafeRedirect("/", basePath)) {
		basePath = "/" // config normalizes it; this only keeps the promise
	}
	if isSafeRedirect(basePath, target) {
		return target
	}
	return basePath
}

func isSafeRedirect(basePath, target string) bool {
	if len(target) == 0 || len(target) > maxRedirectLength || !strings.HasPrefix(target, basePath) {
		return false
	}
	for i := 0; i < len(target); i++ {
		// Controls, space, DEL, backslash and anything not ASCII: browsers
		// strip or reinterpret some of them, our URLs never hold them.
		if b := target[i]; b <= ' ' || b >= 0x7f || b == '\\' {
			return false
		}
	}
	u, err := url.Parse(target)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
		return false
	}
	p := u.EscapedPath()
	for range maxUnescapeRounds {
		if !isPlainPath(basePath, p) {
			return false
		}
		next, err := url.PathUnescape(p)
		if err != nil {
			return false
		}
		if next == p {
			return true
		}
		p = next
	}
	// Still encoded after that many rounds: nobody's real link.
	return false
}

// isPlainPath reports whether p (at some decoding stage) is a same-site
// path under basePath: no scheme-relative start, no backslash or control
// character, no dot segment that would climb out of the base path.
func isPlainPath(basePath, p string) bool {
	if !strings.HasPrefix(p, basePath) || strings.HasPrefix(p, "//") {
		return false
	}
	if strings.ContainsFunc(p, func(r rune) bool { return r < ' ' || r == 0x7f || r == '\\' }) {
		return false
	}
	for seg := range strings.SplitSeq(p, "/") {
		if seg == "." || seg == ".." {
			return false
		}
	}
	return true
}

// nextParam is the request's next= value, sanitized; "" when there is none
// or it would leave the site.
func (a *dashboard) nextParam(c echo.Context) string {
	raw := c.FormValue(views.ParamNext)
	if raw == "" {
		return ""
	}
	if next := safeRedirect(a.BasePath, raw); next == raw {
		return next
	}
	a.Logger.DebugContext(c.Request().Context(), "redirect target refused", "request_id", middleware.RequestIDOf(c), "length", len(raw))
	return ""
}

// returnPath is the page this request shows, as a next= value for a link
// to the connect page: "" for anything but a full-page GET, and for the
// home page, where connecting leads anyway.
func (a *dashboard) returnPath(c echo.Context) string {
	r := c.Request()
	if (r.Method != http.MethodGet && r.Method != http.MethodHead) || r.Header.Get("HX-Request") != "" {
		return ""
	}
	p := safeRedirect(a.BasePath, r.URL.RequestURI())
	if p == a.BasePath {
		return ""
	}
	return p
}
