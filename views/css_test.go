package views

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
)

// TestBuiltCSSCoversRenderedClasses renders every page and checks that each
// class it uses exists in the committed static/dist/app.css, so a template
// change without `scripts/build-assets.sh` fails here instead of shipping
// unstyled markup.
func TestBuiltCSSCoversRenderedClasses(t *testing.T) {
	cssBytes, err := os.ReadFile(filepath.Join("..", "static", "dist", "app.css"))
	if err != nil {
		t.Fatalf("read built CSS: %v", err)
	}
	css := string(cssBytes)
	// Hooks that only scripts or parents' selectors use.
	hooks := map[string]bool{"group": true}

	missing := map[string][]string{}
	for name, page := range allPages() {
		var sb strings.Builder
		if err := Render(context.Background(), &sb, page); err != nil {
			t.Fatal(err)
		}
		doc, err := goquery.NewDocumentFromReader(strings.NewReader(sb.String()))
		if err != nil {
			t.Fatal(err)
		}
		doc.Find("[class]").Each(func(_ int, s *goquery.Selection) {
			for _, class := range strings.Fields(s.AttrOr("class", "")) {
				if hooks[class] || selectorInCSS(css, cssEscapeClass(class)) {
					continue
				}
				missing[class] = append(missing[class], name)
			}
		})
	}
	for class, pages := range missing {
		t.Errorf("class %q (used on %s) is not in static/dist/app.css: run scripts/build-assets.sh", class, strings.Join(uniq(pages), ", "))
	}
}

// selectorInCSS reports whether .escaped appears as a whole class selector
// (so "btn" is not found inside ".btn-sm").
func selectorInCSS(css, escaped string) bool {
	needle := "." + escaped
	for rest := css; ; {
		i := strings.Index(rest, needle)
		if i < 0 {
			return false
		}
		rest = rest[i+len(needle):]
		if rest == "" || strings.ContainsRune("{:,. >[)~+", rune(rest[0])) {
			return true
		}
	}
}

// cssEscapeClass escapes a class name the way Tailwind writes it in a
// selector (md:flex -> md\:flex, w-[1px] -> w-\[1px\], 0.5 -> 0\.5).
func cssEscapeClass(class string) string {
	var b strings.Builder
	for i, r := range class {
		switch {
		case r == '-' || r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= 0x80:
			b.WriteRune(r)
		case r >= '0' && r <= '9':
			if i == 0 {
				b.WriteString(`\3` + string(r) + ` `)
			} else {
				b.WriteRune(r)
			}
		default:
			b.WriteByte('\\')
			b.WriteRune(r)
		}
	}
	return b.String()
}

func uniq(xs []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, x := range xs {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}
