package views

import (
	"testing"
	"time"
)

func TestURLs(t *testing.T) {
	tests := []struct {
		got, want string
	}{
		{RunURL("/", "ws_a", "edr_1"), "/runs/edr_1?ws=ws_a"},
		{RunURL("", "ws_a", "edr_1"), "/runs/edr_1?ws=ws_a"},
		{RunURL("/ops", "ws a&b", "edr/../x"), "/ops/runs/edr%2F..%2Fx?ws=ws+a%26b"},
		{RunURL("/ops/", "", "edr_1"), "/ops/runs/edr_1"},
		{RunRowURL("/", "ws_a", "edr_1"), "/runs/edr_1/row?ws=ws_a"},
		{RunStatusURL("/", "ws_a", "edr_1"), "/runs/edr_1/status?ws=ws_a"},
		{RunDownloadURL("/ew/", "ws_a", "edr_1"), "/ew/runs/edr_1/download?ws=ws_a"},
		{RunRevealURL("/", "ws_a", "edr_1"), "/runs/edr_1/reveal?ws=ws_a"},
		{RunRerunURL("/", "ws_a", "edr_1"), "/runs/edr_1/rerun?ws=ws_a"},
		{RunDeleteURL("/", "ws_a", "edr_1"), "/runs/edr_1/delete?ws=ws_a"},
		{NewRunURL("/", "ws_a"), "/runs/new?ws=ws_a"},
		{DetectFieldsURL("/", "ws_a"), "/runs/new/detect?ws=ws_a"},
		{ConnectURL("/", ""), "/connect"},
		{ConnectURL("/", "ws_x"), "/connect?workspace_id=ws_x"},
		{DisconnectURL("/b/"), "/b/disconnect"},
		{RunsURL("/", "ws_a", RunsFilter{}, ""), "/runs?ws=ws_a"},
		{RunsURL("/", "ws_a", RunsFilter{Status: "FAILED", Source: "API", FileNameContains: "w 9", SortBy: SortCreated, SortDir: DirAsc, PageSize: 50}, "tok"),
			"/runs?cursor=tok&dir=asc&q=w+9&size=50&sort=createdAt&source=API&status=FAILED&ws=ws_a"},
		{AuditURL("/", AuditFilter{Actor: "a@b", Since: "2026-08-01"}, "c1"), "/audit?actor=a%40b&cursor=c1&since=2026-08-01"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}

func TestRelativeTime(t *testing.T) {
	now := time.Date(2026, 8, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		ago  time.Duration
		want string
	}{
		{10 * time.Second, "just now"},
		{-10 * time.Second, "in a moment"},
		{50 * time.Second, "1 min ago"},
		{25 * time.Minute, "25 min ago"},
		{-25 * time.Minute, "in 25 min"},
		{3 * time.Hour, "3 h ago"},
		{50 * time.Hour, "2 d ago"},
		{29 * 24 * time.Hour, "29 d ago"},
		{45 * 24 * time.Hour, "2026-06-17"},
	}
	for _, tt := range tests {
		if got := relativeTime(now.Add(-tt.ago), now); got != tt.want {
			t.Errorf("relativeTime(-%v) = %q, want %q", tt.ago, got, tt.want)
		}
	}
	if got := relativeTime(now, time.Time{}); got != "2026-08-01 12:00:00 UTC" {
		t.Errorf("without a clock: %q", got)
	}
}

func TestFormatters(t *testing.T) {
	tests := []struct {
		got, want string
	}{
		{formatMs(nil), "—"},
		{formatMs(ptr(850.0)), "850 ms"},
		{formatMs(ptr(1240.0)), "1.24 s"},
		{formatMs(ptr(12950.0)), "12.9 s"},
		{formatMs(ptr(61234.0)), "1 min 01 s"},
		{formatMs(ptr(3_725_000.0)), "1 h 02 min"},
		{formatMs(ptr(-1.0)), "—"},
		{formatCredits(ptr(4.0)), "4"},
		{formatCredits(ptr(12.5)), "12.5"},
		{formatCredits(ptr(1.234)), "1.23"},
		{formatCredits(nil), "—"},
		{formatFilledOf(ptr(31), ptr(34)), "31 / 34"},
		{formatFilledOf(nil, ptr(34)), "— / 34"},
		{formatFilledOf(nil, nil), "—"},
		{formatBytes(50_000_000), "50 MB"},
		{formatBytes(1_500_000_000), "1.5 GB"},
		{formatBytes(512_000), "512 KB"},
		{formatRetryAfter(30 * time.Second), "30 s"},
		{formatRetryAfter(90 * time.Second), "2 min"},
		{formatPages([]int{1, 2, 3}), "1, 2, 3"},
		{statusLabel("CANCELLING"), "Cancelling"},
		{statusLabel(""), "Unknown"},
	}
	for i, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("case %d: got %q, want %q", i, tt.got, tt.want)
		}
	}
}

func TestSchemaErrorExcerpt(t *testing.T) {
	schema := "{\n\t\"a\": 1\n\t\"b\": 2\n}"
	tests := []struct {
		err        SchemaError
		line, care string
		ok         bool
	}{
		{SchemaError{Line: 3, Column: 2}, "3 | \t\"b\": 2", "    \t^", true},
		{SchemaError{Line: 3}, "3 | \t\"b\": 2", "", true},
		{SchemaError{Line: 9, Column: 1}, "", "", false},
		{SchemaError{}, "", "", false},
	}
	for _, tt := range tests {
		line, caret, ok := schemaErrorExcerpt(schema, tt.err)
		if line != tt.line || caret != tt.care || ok != tt.ok {
			t.Errorf("%+v: got (%q, %q, %v), want (%q, %q, %v)", tt.err, line, caret, ok, tt.line, tt.care, tt.ok)
		}
	}
}

func TestStageChartRows(t *testing.T) {
	rows := stageChartRows(StageTimings{ProcessingMs: ptr(1000.0), DetectionMs: ptr(500.0), FillingMs: ptr(0.1)})
	want := map[string]float64{"Detection": chartBarSpace / 2, "Annotation": 0, "Filling": chartMinBar, "Total": chartBarSpace}
	for _, r := range rows {
		if r.Width != want[r.Label] {
			t.Errorf("%s width = %v, want %v", r.Label, r.Width, want[r.Label])
		}
	}
	if rows[1].Known || rows[1].Value != "—" {
		t.Errorf("annotation without timing: %+v", rows[1])
	}
	if got := stageChartSummary(rows); got != "Stage timings: Detection 500 ms, Annotation —, Filling 0 ms, Total 1.00 s." {
		t.Errorf("summary = %q", got)
	}
}

func TestPollTrigger(t *testing.T) {
	tests := map[time.Duration]string{0: "every 5s", 2 * time.Second: "every 2s", 300 * time.Millisecond: "every 1s", 10 * time.Second: "every 10s"}
	for d, want := range tests {
		if got := (Base{PollInterval: d}).pollTrigger(); got != want {
			t.Errorf("pollTrigger(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestPageSizeOptions(t *testing.T) {
	if got := pageSizeOptions(0); len(got) != len(PageSizes) {
		t.Errorf("default sizes = %v", got)
	}
	got := pageSizeOptions(40)
	want := []int{10, 25, 40, 50, 100}
	if len(got) != len(want) {
		t.Fatalf("sizes = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("sizes = %v, want %v", got, want)
		}
	}
}
