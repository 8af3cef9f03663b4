package views

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/a-h/templ"
)

var errBoom = errors.New("boom")

// A component that writes half a page and then fails must leave the writer
// untouched, so the handler can still send a clean 500.
func TestRenderWritesNothingOnFailure(t *testing.T) {
	half := templ.ComponentFunc(func(ctx context.Context, w io.Writer) error {
		if _, err := io.WriteString(w, "<html><body>half"); err != nil {
			return err
		}
		return errBoom
	})
	var sb strings.Builder
	err := Render(context.Background(), &sb, half)
	if !errors.Is(err, errBoom) {
		t.Fatalf("err = %v, want %v", err, errBoom)
	}
	if sb.Len() != 0 {
		t.Errorf("wrote %q before failing", sb.String())
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errBoom }

func TestRenderReportsWriteErrors(t *testing.T) {
	err := Render(context.Background(), failingWriter{}, templ.Raw("<p>ok</p>"))
	if !errors.Is(err, errBoom) {
		t.Errorf("err = %v, want %v", err, errBoom)
	}
}
