package handlers

import (
	"net/http"
	"net/url"
	"sync"
	"time"
	_ "time/tzdata" // zones work on hosts without a zoneinfo database

	"github.com/editwatch/editwatch/views"
)

// TimeZoneOf is the zone a person reads times in: the IANA zone app.js
// wrote into the views.TimeZoneCookie when they chose local time, UTC
// without the cookie (no JavaScript), with "UTC" in it, or with a name
// that is not a zone. Pages and streams format times with it.
func TimeZoneOf(r *http.Request) *time.Location {
	c, err := r.Cookie(views.TimeZoneCookie)
	if err != nil {
		return time.UTC
	}
	// app.js writes the name with encodeURIComponent ("Europe%2FBerlin");
	// Go hands cookie values over as sent.
	name, err := url.QueryUnescape(c.Value)
	if err != nil {
		return time.UTC
	}
	if loc, ok := loadZone(name); ok {
		return loc
	}
	return time.UTC
}

// loadZone is the IANA zone named name; false for anything else. The
// name comes from a cookie or a URL, so it is checked before the zone
// database is asked; "Local" would be the server's zone, not the
// person's.
func loadZone(name string) (*time.Location, bool) {
	if !views.PlausibleZoneName(name) || name == "Local" {
		return nil, false
	}
	if loc, ok := zoneCache.Load(name); ok {
		return loc.(*time.Location), true
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, false
	}
	zoneCache.Store(name, loc)
	return loc, true
}

// zoneCache keeps loaded zones: loading one reads and parses its rules.
// Only names that loaded are kept, and there are a few hundred of those.
var zoneCache sync.Map
