package sandbox

import (
	"context"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/editwatch/editwatch/extendapi"
)

// TestConcurrentSubmissions: 200 runs submitted at once over two
// workspaces all finish, in order of arrival per workspace, and Close
// leaves no goroutine behind.
func TestConcurrentSubmissions(t *testing.T) {
	const submissions = 200
	before := runtime.NumGoroutine()

	srv, err := New(Options{APIKeys: map[string]string{testKeyA: testWSA, testKeyB: testWSB}, Workers: 4})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	ts := &testSandbox{t: t, srv: srv, http: hs, client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}}
	ctx := context.Background()
	form := demoForm(t, "vendor-onboarding.pdf")
	clients := map[string]*extendapi.Client{testWSA: ts.api(testKeyA, ""), testWSB: ts.api(testKeyB, "")}
	files := map[string]string{}
	for ws, c := range clients {
		files[ws] = uploadFile(t, c, form.Name, form.PDF, "").ID
	}

	var wg sync.WaitGroup
	errs := make(chan error, submissions)
	for i := range submissions {
		ws := testWSA
		if i%2 == 1 {
			ws = testWSB
		}
		wg.Go(func() {
			cfg := &extendapi.EditConfig{Instructions: form.Instructions}
			if i%5 == 0 {
				cfg.Instructions = "Payment terms: Net 90" // some fail, quickly
			}
			if _, err := clients[ws].CreateEditRun(ctx, &extendapi.CreateEditRunRequest{File: &extendapi.FileRef{ID: files[ws]}, Config: cfg}); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("submission: %v", err)
	}

	total := 0
	for ws, c := range clients {
		byCreated := listAll(t, c, extendapi.SortByCreatedAt)
		for _, r := range byCreated {
			waitRun(t, c, r.ID)
		}
		byCreated = listAll(t, c, extendapi.SortByCreatedAt)
		byUpdated := listAll(t, c, extendapi.SortByUpdatedAt)
		total += len(byCreated)
		var arrival, finish []string
		for i := range byCreated {
			if !byCreated[i].Status.Terminal() {
				t.Fatalf("%s: run %s is %s", ws, byCreated[i].ID, byCreated[i].Status)
			}
			arrival, finish = append(arrival, byCreated[i].ID), append(finish, byUpdated[i].ID)
		}
		if !slices.Equal(arrival, finish) {
			t.Errorf("%s: runs finished out of arrival order", ws)
		}
	}
	if total != submissions {
		t.Fatalf("%d runs, want %d", total, submissions)
	}

	hs.Close()
	if err := srv.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	ts.client.CloseIdleConnections()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("goroutines: %d before, %d after Close\n%s", before, runtime.NumGoroutine(), buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// listAll lists every run of the client's workspace, oldest first.
func listAll(t testing.TB, c *extendapi.Client, by extendapi.SortBy) []extendapi.EditRun {
	t.Helper()
	var runs []extendapi.EditRun
	for r, err := range c.AllEditRuns(context.Background(), extendapi.ListEditRunsParams{SortBy: by, SortDir: extendapi.SortAsc, MaxPageSize: 100}) {
		if err != nil {
			t.Fatalf("list: %v", err)
		}
		runs = append(runs, r)
	}
	return runs
}
