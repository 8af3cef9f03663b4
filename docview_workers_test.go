package main

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"
)

// workerWatch attaches to every worker the tab starts (PDF.js's) and puts
// its script errors and CSP refusals with the tab's console messages, so
// the test fails on them like on the page's own.
type workerWatch struct {
	tab *browserTab

	mu       sync.Mutex
	attached map[target.ID]context.Context
}

// watchWorkers polls the browser's targets until the test ends: a worker
// lives only as long as its document view.
func watchWorkers(tab *browserTab) *workerWatch {
	w := &workerWatch{tab: tab, attached: map[target.ID]context.Context{}}
	ctx, cancel := context.WithCancel(tab.ctx)
	tab.t.Cleanup(cancel)
	go func() {
		for ctx.Err() == nil {
			targets, _ := chromedp.Targets(ctx)
			for _, info := range targets {
				if info.Type == "worker" {
					w.attach(ctx, info)
				}
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	return w
}

func (w *workerWatch) attach(ctx context.Context, info *target.Info) {
	w.mu.Lock()
	_, done := w.attached[info.TargetID]
	w.mu.Unlock()
	if done {
		return
	}
	wctx, _ := chromedp.NewContext(ctx, chromedp.WithTargetID(info.TargetID)) // ends with ctx
	if err := chromedp.Do(wctx); err != nil {
		return // the worker ended before we got to it
	}
	w.mu.Lock()
	w.attached[info.TargetID] = wctx
	w.mu.Unlock()
	messages := chromedp.Console(wctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.IsException() || strings.Contains(m.Text, "Content Security Policy") || strings.Contains(m.Text, "Refused to") {
				w.tab.mu.Lock()
				w.tab.console = append(w.tab.console, "worker "+info.URL+": "+m.Text)
				w.tab.mu.Unlock()
			}
		}
	}()
}

func (w *workerWatch) sawWorker() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.attached) > 0
}

// evalInWorker evaluates expr (which may return a promise) in a worker
// the tab has running.
func (w *workerWatch) evalInWorker(t *testing.T, expr string) string {
	t.Helper()
	w.mu.Lock()
	var wctx context.Context
	for _, c := range w.attached {
		if c.Err() == nil {
			wctx = c
		}
	}
	w.mu.Unlock()
	if wctx == nil {
		t.Fatal("no worker attached")
	}
	ctx, cancel := context.WithTimeout(wctx, 15*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[string](expr, chromedp.EvalAsValue, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("evaluate in worker: %v", err)
	}
	return v
}
