package static

import (
	"strconv"
	"strings"
)

// encodedBody is an asset's body in one content coding.
type encodedBody struct {
	coding string // the Content-Encoding token: "br", "gzip"
	body   []byte
	etag   string // quoted; differs per coding, as the bytes do
}

// codingSuffixes maps a content coding to the suffix the build gives its
// file, in the server's order of preference: brotli is smaller than gzip.
var codingSuffixes = []struct{ coding, suffix string }{
	{"br", ".br"},
	{"gzip", ".gz"},
}

// isEncodedVariant reports whether p is NAME.br or NAME.gz of another
// embedded file NAME.
func isEncodedVariant(p string, files map[string][]byte) bool {
	for _, cs := range codingSuffixes {
		if plain, ok := strings.CutSuffix(p, cs.suffix); ok {
			if _, exists := files[plain]; exists {
				return true
			}
		}
	}
	return false
}

// encodedVariants collects the precompressed bodies of the file at p. One
// that is not smaller than the plain body is left out: it would only cost
// the browser a decoding.
func encodedVariants(p, hash string, body []byte, files map[string][]byte) []encodedBody {
	var out []encodedBody
	for _, cs := range codingSuffixes {
		enc, ok := files[p+cs.suffix]
		if !ok || len(enc) >= len(body) {
			continue
		}
		out = append(out, encodedBody{coding: cs.coding, body: enc, etag: `"` + hash + "-" + cs.coding + `"`})
	}
	return out
}

// negotiate picks the encoding to send for the request's Accept-Encoding
// field lines: the one with the highest quality value, brotli before gzip
// on a tie. Nil means the plain body, also when nothing is acceptable: an
// asset in identity is better than a 406.
func (a *asset) negotiate(acceptEncoding []string) *encodedBody {
	if len(acceptEncoding) == 0 {
		return nil
	}
	quality := parseAcceptEncoding(strings.Join(acceptEncoding, ","))
	var best *encodedBody
	bestQ := 0.0
	for i := range a.encoded {
		q, listed := quality[a.encoded[i].coding]
		if !listed {
			q = quality["*"] // zero when absent: unlisted codings are not acceptable
		}
		if q > bestQ {
			best, bestQ = &a.encoded[i], q
		}
	}
	return best
}

// parseAcceptEncoding maps each coding of an Accept-Encoding value to its
// quality value (RFC 9110 §12.5.3), lower-cased; "x-gzip" counts as "gzip".
// A malformed q counts as 0, so a garbled header never selects an encoding.
func parseAcceptEncoding(value string) map[string]float64 {
	quality := map[string]float64{}
	for _, item := range strings.Split(value, ",") {
		coding, params, _ := strings.Cut(item, ";")
		coding = strings.ToLower(strings.TrimSpace(coding))
		if coding == "" {
			continue
		}
		if coding == "x-gzip" {
			coding = "gzip"
		}
		q := 1.0
		for _, param := range strings.Split(params, ";") {
			k, v, _ := strings.Cut(param, "=")
			if strings.EqualFold(strings.TrimSpace(k), "q") {
				parsed, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
				if err != nil || parsed < 0 || parsed > 1 {
					parsed = 0
				}
				q = parsed
			}
		}
		if prev, seen := quality[coding]; !seen || q > prev {
			quality[coding] = q
		}
	}
	return quality
}
