package sandbox

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"time"

	"github.com/editwatch/editwatch/extendapi"
)

// maxFaultLatency bounds injected latency so a typo cannot hang clients.
const maxFaultLatency = time.Minute

// maxProcessingTime bounds the injected processing time for the same reason.
const maxProcessingTime = 10 * time.Minute

// Faults is the sandbox's fault injection, all off at zero. Rates are
// shares from 0 to 1. In JSON, Latency and ProcessingTime are Go duration
// strings ("250ms") or numbers of milliseconds.
type Faults struct {
	// Latency is added before every Extend API answer.
	Latency time.Duration `json:"latency"`
	// Rate5xx answers that share of API requests with 500 INTERNAL_ERROR.
	Rate5xx float64 `json:"rate5xx"`
	// Rate429 answers that share with 429 RATE_LIMIT_EXCEEDED.
	Rate429 float64 `json:"rate429"`
	// RateFail fails that share of runs with FailReason.
	RateFail float64 `json:"rateFail"`
	// FailReason is the reason of injected failures (default INTERNAL_ERROR).
	FailReason extendapi.FailureReason `json:"failReason,omitempty"`
	// RateStuck leaves that share of new runs PROCESSING forever.
	RateStuck float64 `json:"rateStuck"`
	// RateWebhookFail fails that share of webhook delivery attempts (they are
	// then retried like any failed delivery).
	RateWebhookFail float64 `json:"rateWebhookFail"`
	// ProcessingTime is how long each new run stays PROCESSING, counted from
	// its creation, before its result (and its webhook) is applied, so that
	// clients can watch runs change. A run whose work takes longer finishes
	// when its work is done; a restart finishes held runs at once.
	ProcessingTime time.Duration `json:"processingTime"`
}

// faultsJSON is Faults on the wire, latency as a duration string.
type faultsJSON struct {
	Latency         string                  `json:"latency"`
	Rate5xx         float64                 `json:"rate5xx"`
	Rate429         float64                 `json:"rate429"`
	RateFail        float64                 `json:"rateFail"`
	FailReason      extendapi.FailureReason `json:"failReason,omitempty"`
	RateStuck       float64                 `json:"rateStuck"`
	RateWebhookFail float64                 `json:"rateWebhookFail"`
	ProcessingTime  string                  `json:"processingTime"`
}

// MarshalJSON writes Latency and ProcessingTime as duration strings.
func (f Faults) MarshalJSON() ([]byte, error) {
	return json.Marshal(faultsJSON{Latency: f.Latency.String(), Rate5xx: f.Rate5xx, Rate429: f.Rate429,
		RateFail: f.RateFail, FailReason: f.FailReason, RateStuck: f.RateStuck, RateWebhookFail: f.RateWebhookFail,
		ProcessingTime: f.ProcessingTime.String()})
}

// UnmarshalJSON reads Latency and ProcessingTime as duration strings or
// numbers of milliseconds. Fields absent from the JSON keep their current values, so a
// POST can change one fault and leave the others.
func (f *Faults) UnmarshalJSON(data []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return err
	}
	for name, field := range map[string]*time.Duration{"latency": &f.Latency, "processingTime": &f.ProcessingTime} {
		value, ok := raw[name]
		if !ok {
			continue
		}
		d, err := parseFaultDuration(name, value)
		if err != nil {
			return err
		}
		*field = d
		delete(raw, name)
	}
	rest, _ := json.Marshal(raw)
	type plain Faults // no methods: the standard decoding of the other fields
	p := plain(*f)
	if err := json.Unmarshal(rest, &p); err != nil {
		return err
	}
	*f = Faults(p)
	return nil
}

// parseFaultDuration reads the duration fault called name.
func parseFaultDuration(name string, raw json.RawMessage) (time.Duration, error) {
	var text string
	if json.Unmarshal(raw, &text) == nil {
		if text == "" {
			return 0, nil
		}
		d, err := time.ParseDuration(text)
		if err != nil {
			return 0, fmt.Errorf("%s %q: %w", name, text, err)
		}
		return d, nil
	}
	var ms float64
	if err := json.Unmarshal(raw, &ms); err != nil {
		return 0, fmt.Errorf("%s: want a duration such as \"250ms\" or a number of milliseconds", name)
	}
	return time.Duration(ms * float64(time.Millisecond)), nil
}

// Validate checks the rates and the latency bound.
func (f Faults) Validate() error {
	for _, r := range []struct {
		name string
		v    float64
	}{{"5xx", f.Rate5xx}, {"429", f.Rate429}, {"fail", f.RateFail}, {"stuck", f.RateStuck}, {"webhook", f.RateWebhookFail}} {
		if !(r.v >= 0 && r.v <= 1) {
			return fmt.Errorf("%w: fault rate %s=%v must be between 0 and 1", ErrInvalidOption, r.name, r.v)
		}
	}
	if f.Latency < 0 || f.Latency > maxFaultLatency {
		return fmt.Errorf("%w: fault latency %s must be between 0 and %s", ErrInvalidOption, f.Latency, maxFaultLatency)
	}
	if f.ProcessingTime < 0 || f.ProcessingTime > maxProcessingTime {
		return fmt.Errorf("%w: fault processing time %s must be between 0 and %s", ErrInvalidOption, f.ProcessingTime, maxProcessingTime)
	}
	if f.FailReason != "" && !slices.Contains(extendapi.FailureReasons, f.FailReason) {
		return fmt.Errorf("%w: fault fail reason %q is not a documented failure reason", ErrInvalidOption, f.FailReason)
	}
	return nil
}

// rollFault draws against one of the current rates.
func (s *Server) rollFault(rate func(Faults) float64) bool {
	p := rate(s.Faults())
	return p > 0 && rand.Float64() < p
}

// injectedRunFailure fails a run on RateFail.
func (s *Server) injectedRunFailure() *Failure {
	f := s.Faults()
	if f.RateFail <= 0 || rand.Float64() >= f.RateFail {
		return nil
	}
	reason := f.FailReason
	if reason == "" {
		reason = extendapi.ReasonInternalError
	}
	return &Failure{Reason: reason, Message: "injected by the sandbox's fault injection (rateFail)"}
}

// injectRequestFaults adds latency and draws the 5xx and 429 faults for an
// Extend API request.
func (s *Server) injectRequestFaults(r *http.Request) error {
	f := s.Faults()
	if f.Latency > 0 {
		t := time.NewTimer(f.Latency)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return fmt.Errorf("sandbox: injected latency: %w", r.Context().Err())
		case <-s.ctx.Done():
			t.Stop()
		}
	}
	if f.Rate5xx > 0 && rand.Float64() < f.Rate5xx {
		return &apiError{status: http.StatusInternalServerError, code: codeInternalError, retryable: true,
			message: "injected by the sandbox's fault injection (rate5xx)"}
	}
	if f.Rate429 > 0 && rand.Float64() < f.Rate429 {
		e := errRateLimited(time.Second)
		e.message = "injected by the sandbox's fault injection (rate429)"
		return e
	}
	return nil
}

// loopbackOnly refuses the fault endpoints to anything but a loopback
// peer, and to a browser request another site made (a page in the
// operator's browser must not switch faults with a cross-site POST).
// Requests carrying neither Origin nor Sec-Fetch-Site (curl, tests) pass.
func (s *Server) loopbackOnly(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if crossSite(r) {
			s.writeError(w, r, errForbidden("the sandbox's control endpoints refuse requests from other sites; call them from the command line (curl) or the sandbox's own host"))
			return
		}
		host, _, err := net.SplitHostPort(r.RemoteAddr)
		if err != nil {
			host = r.RemoteAddr
		}
		addr, err := netip.ParseAddr(host)
		if err != nil || !addr.Unmap().IsLoopback() {
			s.writeError(w, r, errForbidden("the sandbox's control endpoints accept loopback peers only"))
			return
		}
		h(w, r)
	}
}

// handleGetFaults is GET /_sandbox/faults.
func (s *Server) handleGetFaults(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.Faults())
}

// handleSetFaults is POST /_sandbox/faults: the fields given replace the
// current ones, the others stay.
func (s *Server) handleSetFaults(w http.ResponseWriter, r *http.Request) {
	next := s.Faults()
	err := decodeJSONBody(w, r, &next)
	if err == nil {
		if verr := next.Validate(); verr != nil {
			err = errInvalid("%v", verr)
		}
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.SetFaults(next)
	s.logger.Info("sandbox: faults changed", "faults", next)
	writeJSON(w, http.StatusOK, next)
}

// handleResetFaults is DELETE /_sandbox/faults: everything off.
func (s *Server) handleResetFaults(w http.ResponseWriter, _ *http.Request) {
	s.SetFaults(Faults{})
	writeJSON(w, http.StatusOK, Faults{})
}

// crossSite reports whether the browser says another site (or another
// origin on the same site, such as another port of localhost) made r.
func crossSite(r *http.Request) bool {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "", "same-origin", "none":
	default:
		return true
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		return false
	}
	u, err := url.Parse(origin)
	return err != nil || u.Host != r.Host
}
