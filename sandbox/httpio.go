package sandbox

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// maxJSONBody bounds JSON request bodies; schemas can be large, PDFs never
// travel as JSON.
const maxJSONBody = 8 << 20

// writeJSON answers v as JSON with the given status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		// Our own types always encode; this is a programming error.
		http.Error(w, `{"code":"INTERNAL_ERROR","message":"encoding the answer failed","retryable":false}`, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// decodeJSONBody reads one JSON value into v. Malformed JSON, a value of the
// wrong shape, trailing data or an oversized body are 400s.
func decodeJSONBody(w http.ResponseWriter, r *http.Request, v any) error {
	body := http.MaxBytesReader(w, r.Body, maxJSONBody)
	dec := json.NewDecoder(body)
	if err := dec.Decode(v); err != nil {
		var syntaxErr *json.SyntaxError
		var typeErr *json.UnmarshalTypeError
		var tooBig *http.MaxBytesError
		switch {
		case errors.Is(err, io.EOF):
			return errInvalid("the request body is empty; a JSON object is expected")
		case errors.As(err, &tooBig):
			return errInvalid("the request body exceeds %d bytes", maxJSONBody)
		case errors.As(err, &syntaxErr):
			return errInvalid("malformed JSON at byte %d: %v", syntaxErr.Offset, err)
		case errors.As(err, &typeErr):
			field := typeErr.Field
			if field == "" {
				field = "the body"
			}
			return errInvalid("%s has the wrong type: got JSON %s, want %s", field, typeErr.Value, typeErr.Type)
		default:
			return errInvalid("malformed JSON: %v", err)
		}
	}
	if dec.More() {
		return errInvalid("unexpected data after the JSON object")
	}
	return nil
}

// idAlphabet is base62, the alphabet of Extend's IDs (edr_xK9mLPqRtN3vS8wF5hB2cQ).
const idAlphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// newID returns prefix followed by 22 random base62 characters.
func newID(prefix string) string {
	var raw [22]byte
	if _, err := rand.Read(raw[:]); err != nil {
		panic(fmt.Sprintf("sandbox: crypto/rand failed: %v", err)) // never happens on supported platforms
	}
	var b strings.Builder
	b.Grow(len(prefix) + len(raw))
	b.WriteString(prefix)
	for _, c := range raw {
		// A modulo's slight bias does not matter for identifiers.
		b.WriteByte(idAlphabet[int(c)%len(idAlphabet)])
	}
	return b.String()
}
