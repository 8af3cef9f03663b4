package handlers

import (
	"net/http"
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
	if err != nil || !views.PlausibleZoneName(c.Value) {
		return time.UTC
	}
	if loc, ok := zoneCache.Load(c.Value); ok {
		return loc.(*time.Location)
	}
	loc, err := time.LoadLocation(c.Value)
	if err != nil {
		return time.UTC
	}
	zoneCache.Store(c.Value, loc)
	return loc
}

// zoneCache keeps loaded zones: loading one reads and parses its rules.
// Only names that loaded are kept, and there are a few hundred of those.
var zoneCache sync.Map
