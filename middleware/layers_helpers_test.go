package middleware

import (
	"errors"
	"net/http"
	"net/http/httptest"

	"github.com/labstack/echo/v4"
)

// catchingEcho is an Echo instance whose error handler records the error a
// request ended with and answers with the status a *Refusal names, as the
// dashboard's error handler does.
type catchingEcho struct {
	*echo.Echo
	caught []error
}

func newCatchingEcho() *catchingEcho {
	ce := &catchingEcho{Echo: echo.New()}
	ce.HTTPErrorHandler = func(err error, c echo.Context) {
		ce.caught = append(ce.caught, err)
		if c.Response().Committed {
			return
		}
		var refusal *Refusal
		if errors.As(err, &refusal) {
			_ = c.String(refusal.Status, refusal.Explanation)
			return
		}
		ce.DefaultHTTPErrorHandler(err, c)
	}
	return ce
}

// serve runs req through the instance and returns the response and the
// error the error handler got (nil if it was not called).
func (ce *catchingEcho) serve(req *http.Request) (*httptest.ResponseRecorder, error) {
	ce.caught = nil
	rec := httptest.NewRecorder()
	ce.ServeHTTP(rec, req)
	if len(ce.caught) == 0 {
		return rec, nil
	}
	return rec, ce.caught[len(ce.caught)-1]
}

// refusalOf returns the *Refusal in err's chain, or nil.
func refusalOf(err error) *Refusal {
	var refusal *Refusal
	if errors.As(err, &refusal) {
		return refusal
	}
	return nil
}
