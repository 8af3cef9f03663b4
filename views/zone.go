package views

import (
	"context"
	"time"
)

// TimeZoneCookie holds "UTC", or the IANA zone of the browser when the
// person chose local time (app.js writes it; the server reads it through
// handlers.TimeZoneOf).
const TimeZoneCookie = "editwatch-tz"

// PlausibleZoneName reports whether v looks like an IANA zone name
// ("Europe/Berlin", "America/Argentina/Buenos_Aires", "Etc/GMT+3"),
// before anything tries to load it.
func PlausibleZoneName(v string) bool {
	if v == "" || len(v) > 64 || v[0] == '/' {
		return false
	}
	for i, r := range v {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '/' || r == '_' || r == '+' || r == '-'
		if !ok || (r == '/' && i > 0 && v[i-1] == '/') {
			return false
		}
	}
	return true
}

type zoneKey struct{}

// WithZone is ctx carrying the zone the page's times are written in.
func WithZone(ctx context.Context, loc *time.Location) context.Context {
	return context.WithValue(ctx, zoneKey{}, loc)
}

// zoneOf is the page's zone (UTC when none was set).
func zoneOf(ctx context.Context) *time.Location {
	if loc, ok := ctx.Value(zoneKey{}).(*time.Location); ok && loc != nil {
		return loc
	}
	return time.UTC
}

// ZoneLabel names a zone for people: "UTC", or its IANA name.
func ZoneLabel(loc *time.Location) string {
	if loc == nil || loc == time.UTC || loc.String() == "UTC" {
		return "UTC"
	}
	return loc.String()
}

// absoluteTime writes t in the page's zone, saying which: "2026-12-06
// 15:04:05 CET".
func absoluteTime(ctx context.Context, t time.Time) string {
	return AbsoluteIn(t, zoneOf(ctx))
}

// AbsoluteIn writes t in loc with the zone's abbreviation.
func AbsoluteIn(t time.Time, loc *time.Location) string {
	if loc == nil {
		loc = time.UTC
	}
	return t.In(loc).Format("2006-01-02 15:04:05 MST")
}

// zoneIsLocal reports whether the page writes times in a chosen local
// zone rather than UTC.
func zoneIsLocal(ctx context.Context) bool { return ZoneLabel(zoneOf(ctx)) != "UTC" }
