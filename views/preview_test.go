package views

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestWritePreviews writes every page fixture as a static HTML file for
// screenshots: EDITWATCH_PREVIEW_DIR=/tmp/ewpreview go test ./views -run
// TestWritePreviews. Assets are linked relatively as static/<name>; copy
// static/dist, vendor and js there. Skipped unless the variable is set.
func TestWritePreviews(t *testing.T) {
	dir := os.Getenv("EDITWATCH_PREVIEW_DIR")
	if dir == "" {
		t.Skip("EDITWATCH_PREVIEW_DIR not set")
	}
	for name, page := range allPages() {
		for _, theme := range []string{ThemeLight, ThemeDark} {
			var sb strings.Builder
			if err := Render(context.Background(), &sb, page); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			html := sb.String()
			html = strings.ReplaceAll(html, testBasePath+"static/", "static/")
			if theme == ThemeDark {
				html = strings.Replace(html, `<html lang="en" class=""`, `<html lang="en" class="dark"`, 1)
				html = strings.Replace(html, `data-theme-default="system"`, `data-theme-default="dark"`, 1)
			} else {
				html = strings.Replace(html, `data-theme-default="system"`, `data-theme-default="light"`, 1)
			}
			if err := os.WriteFile(filepath.Join(dir, name+"-"+theme+".html"), []byte(html), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}
