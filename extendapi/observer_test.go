package extendapi

import (
	"context"
	"testing"
)

// TestObserversAllCalled: a metrics observer and a health observer given in
// separate options both see every attempt, in order.
func TestObserversAllCalled(t *testing.T) {
	api := newFakeAPI(t, nil, reply{Status: 500, Body: `{"code":"INTERNAL_ERROR","message":"boom"}`}, reply{Body: `{"id":"edr_1","object":"edit_run","status":"PROCESSED"}`})
	var order []string
	first := WithObserver(func(o Observation) { order = append(order, "first:"+o.Operation) })
	second := WithObserver(func(o Observation) { order = append(order, "second:"+o.Operation) })
	c := newTestClient(t, api, first, WithObserver(nil), second, WithRetryPolicy(RetryPolicy{MaxAttempts: 2, BaseDelay: 1}))
	if _, err := c.GetEditRun(context.Background(), "edr_1"); err != nil {
		t.Fatal(err)
	}
	want := []string{"first:GetEditRun", "second:GetEditRun", "first:GetEditRun", "second:GetEditRun"}
	if len(order) != len(want) {
		t.Fatalf("observers saw %v, want %v", order, want)
	}
	for i := range want {
		if order[i] != want[i] {
			t.Fatalf("observers saw %v, want %v", order, want)
		}
	}
}
