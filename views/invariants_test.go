package views

import (
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
	"golang.org/x/net/html"
)

// ---- Checks every page must pass ----

// TestEveryPageInvariants checks what the CSP and our rules demand of every
// rendered page.
func TestEveryPageInvariants(t *testing.T) {
	runLink := regexp.MustCompile(`/runs/(edr_[^/?#]+)`)
	for name, page := range allPages() {
		t.Run(name, func(t *testing.T) {
			_, doc := render(t, page)
			root := doc.Nodes[0]
			walk(root, func(n *html.Node) {
				for _, a := range n.Attr {
					key := strings.ToLower(a.Key)
					switch {
					case key == "style":
						t.Errorf("<%s> has a style attribute (CSP forbids inline styles)", n.Data)
					case strings.HasPrefix(key, "hx-on") || strings.HasPrefix(key, "data-hx-on"):
						t.Errorf("<%s> has %s (needs eval)", n.Data, a.Key)
					case strings.HasPrefix(key, "on"):
						t.Errorf("<%s> has inline handler %s", n.Data, a.Key)
					case strings.HasPrefix(key, "hx-") && (strings.Contains(a.Val, "js:") || strings.Contains(a.Val, "javascript:")):
						t.Errorf("<%s %s=%q> evaluates JavaScript", n.Data, a.Key, a.Val)
					case key == "hx-trigger" && strings.ContainsAny(a.Val, "[]"):
						t.Errorf("hx-trigger %q uses a bracketed filter (eval)", a.Val)
					case key == "hx-vals" || key == "hx-vars" || key == "hx-headers":
						t.Errorf("<%s> uses %s", n.Data, a.Key)
					}
				}
				if n.Type == html.ElementNode && n.Data == "script" {
					if attr(n, "nonce") != testNonce {
						t.Errorf("<script src=%q> without the CSP nonce", attr(n, "src"))
					}
				}
				if n.Type == html.ElementNode && n.Data == "style" {
					t.Error("inline <style> element")
				}
			})

			// CSRF: every POST form carries exactly one token; GET forms
			// carry none (it would leak into URLs, history and logs).
			doc.Find("form").Each(func(_ int, f *goquery.Selection) {
				method := strings.ToLower(f.AttrOr("method", "get"))
				tokens := f.Find(`input[type="hidden"][name="` + CSRFField + `"]`)
				switch method {
				case "post":
					if tokens.Length() != 1 || tokens.AttrOr("value", "") != testCSRF {
						t.Errorf("POST form %q has %d CSRF inputs", f.AttrOr("action", ""), tokens.Length())
					}
				case "get":
					if tokens.Length() != 0 {
						t.Errorf("GET form %q leaks the CSRF token into its URL", f.AttrOr("action", ""))
					}
				case "dialog":
				default:
					t.Errorf("form with method %q", method)
				}
			})

			// Every URL starts with the base path, and every run URL names
			// its workspace.
			doc.Find("[href], [action], [formaction], [hx-get], [hx-post], [src]").Each(func(_ int, s *goquery.Selection) {
				for _, key := range []string{"href", "action", "formaction", "hx-get", "hx-post", "src"} {
					v, ok := s.Attr(key)
					if !ok || v == "" || strings.HasPrefix(v, "#") {
						continue
					}
					if !strings.HasPrefix(v, testBasePath) {
						t.Errorf("%s=%q does not start with the base path %q", key, v, testBasePath)
					}
					if runLink.MatchString(v) {
						u, err := url.Parse(v)
						if err != nil || u.Query().Get(ParamWorkspace) == "" {
							t.Errorf("run URL %s=%q lacks ?ws=", key, v)
						}
					}
				}
			})

			// Every control has a label.
			doc.Find("input, select, textarea").Each(func(_ int, s *goquery.Selection) {
				typ := s.AttrOr("type", "text")
				if typ == "hidden" || typ == "submit" || typ == "button" {
					return
				}
				id := s.AttrOr("id", "")
				labelled := s.AttrOr("aria-label", "") != "" || s.AttrOr("aria-labelledby", "") != "" ||
					(id != "" && doc.Find(`label[for="`+id+`"]`).Length() > 0) || s.ParentsFiltered("label").Length() > 0
				if !labelled {
					t.Errorf("<%s name=%q> has no label", goquery.NodeName(s), s.AttrOr("name", ""))
				}
			})

			// ids are unique (labels and aria references depend on it).
			seen := map[string]bool{}
			doc.Find("[id]").Each(func(_ int, s *goquery.Selection) {
				id := s.AttrOr("id", "")
				if seen[id] {
					t.Errorf("duplicate id %q", id)
				}
				seen[id] = true
			})
		})
	}
}

func walk(n *html.Node, visit func(*html.Node)) {
	visit(n)
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		walk(c, visit)
	}
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func hasAttr(s *goquery.Selection, key string) bool {
	_, ok := s.Attr(key)
	return ok
}
