package handlers

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/editwatch/editwatch/store"
)

// refusedStoreError is a real error of a store whose database refuses
// connections (nothing listens on port 1).
func refusedStoreError(t *testing.T) error {
	t.Helper()
	_, err := store.Open(context.Background(), "postgres://editwatch@127.0.0.1:1/editwatch?sslmode=disable&connect_timeout=5", nil)
	if err == nil {
		t.Fatal("a store opened on a port nobody listens on")
	}
	return err
}

func TestStoreUnavailable(t *testing.T) {
	refused := refusedStoreError(t)
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"database refuses connections", fmt.Errorf("load session: %w", refused), true},
		{"marked by the store", fmt.Errorf("store: create session: %w", store.ErrUnavailable), true},
		{"not found", store.ErrNotFound, false},
		{"other error", errors.New("store: not found"), false},
		{"context canceled", context.Canceled, false},
	}
	for _, tt := range tests {
		if got := storeUnavailable(tt.err); got != tt.want {
			t.Errorf("%s: storeUnavailable = %v, want %v", tt.name, got, tt.want)
		}
	}
	pe := describeError(fmt.Errorf("load session: %w", refused), errRunContext{}, "Extend")
	if pe.Status != http.StatusServiceUnavailable || pe.Heading != "Editwatch's database is not answering" || pe.RetryAfter <= 0 {
		t.Errorf("page for a database that does not answer: %+v", pe)
	}
}
