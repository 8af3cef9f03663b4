package views

import (
	"bytes"
	"context"
	"fmt"
	"io"

	"github.com/a-h/templ"
)

// Render renders c completely into memory and only then writes it to w, so
// a failing component never leaves half a page on the wire: on error nothing
// has been written and the caller can still answer with a clean 500.
func Render(ctx context.Context, w io.Writer, c templ.Component) error {
	var buf bytes.Buffer
	if err := c.Render(ctx, &buf); err != nil {
		return fmt.Errorf("views: render: %w", err)
	}
	if _, err := buf.WriteTo(w); err != nil {
		return fmt.Errorf("views: write page: %w", err)
	}
	return nil
}
