package store

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/editwatch/editwatch/store/storetest"
)

// Two listeners on one database, like two replicas: a payload notified by
// one reaches both, in order; a store in another schema hears nothing.
func TestListenerAcrossReplicas(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s := openMigrated(t, storetest.PostgresDSN(t))
	other := openMigrated(t, storetest.PostgresDSN(t))
	listen := func(s *Store) *Listener {
		l, err := s.Listen(ctx, ListenOptions{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.Close() })
		select {
		case <-l.Ready():
		case <-ctx.Done():
			t.Fatal("listener never listened")
		}
		return l
	}
	one, two, elsewhere := listen(s), listen(s), listen(other)
	for _, p := range []string{"first", "second"} {
		if err := one.Notify(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	for name, l := range map[string]*Listener{"sender": one, "other replica": two} {
		for _, want := range []string{"first", "second"} {
			select {
			case got := <-l.Notifications():
				if got != want {
					t.Errorf("%s: got %q, want %q", name, got, want)
				}
			case <-ctx.Done():
				t.Fatalf("%s: no %q", name, want)
			}
		}
	}
	// A payload in the other schema's channel, after ours: had ours leaked
	// there, it would come first.
	if err := elsewhere.Notify(ctx, "own"); err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-elsewhere.Notifications():
		if got != "own" {
			t.Errorf("a listener of another schema heard %q", got)
		}
	case <-ctx.Done():
		t.Fatal("no notification in the other schema")
	}
	if err := one.Notify(ctx, strings.Repeat("x", MaxNotifyPayload+1)); err == nil {
		t.Error("Notify sent a payload over NOTIFY's limit")
	}
	one.Close()
	if _, open := <-one.Notifications(); open {
		t.Error("Notifications still open after Close")
	}
	if err := one.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestListenSQLite(t *testing.T) {
	s := openMigrated(t, storetest.SQLiteDSN(t))
	if _, err := s.Listen(context.Background(), ListenOptions{}); !errors.Is(err, ErrNotifyUnsupported) {
		t.Fatalf("Listen on SQLite: %v, want ErrNotifyUnsupported", err)
	}
}
