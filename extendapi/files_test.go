package extendapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

const bodyFileOK = `{"object":"file","id":"file_up1","name":"w9.pdf","type":"PDF"}`

// multipartUpload is what the fake API read from an upload.
type multipartUpload struct {
	password    string
	fileName    string
	contentType string
	digest      [32]byte
	size        int
}

// readUpload reads the multipart body as a stream, the way a server does.
func readUpload(t *testing.T, r *http.Request) multipartUpload {
	t.Helper()
	mr, err := r.MultipartReader()
	if err != nil {
		t.Errorf("not multipart: %v", err)
		return multipartUpload{}
	}
	var up multipartUpload
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			return up
		}
		if err != nil {
			t.Errorf("next part: %v", err)
			return up
		}
		switch part.FormName() {
		case "password":
			b, _ := io.ReadAll(part)
			up.password = string(b)
		case "file":
			up.fileName = part.FileName()
			up.contentType = part.Header.Get("Content-Type")
			h := sha256.New()
			n, _ := io.Copy(h, part)
			up.size = int(n)
			copy(up.digest[:], h.Sum(nil))
		default:
			t.Errorf("unexpected part %q", part.FormName())
		}
	}
}

func TestUploadFile(t *testing.T) {
	content := bytes.Repeat([]byte("%PDF-1.7 fake content "), 5000)
	var got multipartUpload
	var contentLength int64
	api := newFakeAPI(t, nil, reply{Do: func(w http.ResponseWriter, r *http.Request) {
		contentLength = r.ContentLength
		got = readUpload(t, r)
		checkStandardHeaders(t, r.Header, "ws_up")
		if r.Method != http.MethodPost || r.URL.Path != "/files/upload" || r.URL.Query().Get("convertToPdf") != "true" {
			t.Errorf("sent %s %s", r.Method, r.URL)
		}
		_, _ = w.Write([]byte(bodyFileOK))
	}})
	var obs []Observation
	c := newTestClient(t, api, WithWorkspace("ws_up"), WithObserver(func(o Observation) { obs = append(obs, o) }))
	f, err := c.UploadFile(context.Background(), UploadFileParams{
		Name: "w9 \"final\".pdf", Body: bytes.NewReader(content), Password: "s3cret", ConvertToPDF: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	if f.ID != "file_up1" {
		t.Errorf("file = %+v", f)
	}
	want := multipartUpload{password: "s3cret", fileName: `w9 "final".pdf`, contentType: "application/pdf", digest: sha256.Sum256(content), size: len(content)}
	if got != want {
		t.Errorf("server read %+v, want %+v", got, want)
	}
	if contentLength <= int64(len(content)) {
		t.Errorf("a seekable body must be sent with its Content-Length, got %d", contentLength)
	}
	if len(obs) != 1 || obs[0].Category != CategoryWRITE {
		t.Errorf("observations = %+v, want one WRITE", obs)
	}
}

func TestUploadFileNameCannotInjectHeaders(t *testing.T) {
	var got multipartUpload
	api := newFakeAPI(t, nil, reply{Do: func(w http.ResponseWriter, r *http.Request) {
		got = readUpload(t, r)
		_, _ = w.Write([]byte(bodyFileOK))
	}})
	c := newTestClient(t, api)
	if _, err := c.UploadFile(context.Background(), UploadFileParams{Name: "a.pdf\r\nContent-Type: text/html", Body: strings.NewReader("x")}); err != nil {
		t.Fatal(err)
	}
	if got.contentType != "application/octet-stream" || strings.ContainsAny(got.fileName, "\r\n") {
		t.Errorf("server read %+v", got)
	}
}

// gatedReader hands out its first chunk, then blocks until the server says
// it has received that chunk. A client that buffered the whole body before
// sending would never get past the gate.
type gatedReader struct {
	first, rest []byte
	gate        <-chan struct{}
	stage       int
}

func (g *gatedReader) Read(p []byte) (int, error) {
	switch g.stage {
	case 0:
		n := copy(p, g.first)
		g.first = g.first[n:]
		if len(g.first) == 0 {
			g.stage = 1
		}
		return n, nil
	case 1:
		select {
		case <-g.gate:
		case <-time.After(10 * time.Second):
			return 0, errors.New("the server never saw the first chunk: the body was buffered, not streamed")
		}
		g.stage = 2
		fallthrough
	default:
		if len(g.rest) == 0 {
			return 0, io.EOF
		}
		n := copy(p, g.rest)
		g.rest = g.rest[n:]
		return n, nil
	}
}

func TestUploadFileStreams(t *testing.T) {
	first := bytes.Repeat([]byte{'a'}, 256<<10)
	rest := bytes.Repeat([]byte{'b'}, 256<<10)
	gate := make(chan struct{})
	var received int
	api := newFakeAPI(t, nil, reply{Do: func(w http.ResponseWriter, r *http.Request) {
		mr, err := r.MultipartReader()
		if err != nil {
			t.Error(err)
			return
		}
		part, err := mr.NextPart()
		if err != nil {
			t.Error(err)
			return
		}
		buf := make([]byte, 32<<10)
		opened := false
		for {
			n, err := part.Read(buf)
			received += n
			if !opened && received >= len(first)/2 {
				close(gate) // the first chunk is arriving while the client still holds the rest
				opened = true
			}
			if err != nil {
				break
			}
		}
		_, _ = w.Write([]byte(bodyFileOK))
	}})
	c := newTestClient(t, api)
	body := &gatedReader{first: first, rest: rest, gate: gate}
	if _, err := c.UploadFile(context.Background(), UploadFileParams{Name: "big.pdf", Body: body}); err != nil {
		t.Fatal(err)
	}
	if received != len(first)+len(rest) {
		t.Errorf("server received %d bytes, want %d", received, len(first)+len(rest))
	}
}

func TestUploadRetries(t *testing.T) {
	content := []byte("%PDF-1.4 retry me")
	unavailable := reply{Status: 503, Body: bodyServer}
	t.Run("seekable body is rewound and re-sent", func(t *testing.T) {
		var digests [][32]byte
		ok := reply{Do: func(w http.ResponseWriter, r *http.Request) {
			digests = append(digests, readUpload(t, r).digest)
			_, _ = w.Write([]byte(bodyFileOK))
		}}
		failAfterReading := reply{Do: func(w http.ResponseWriter, r *http.Request) {
			digests = append(digests, readUpload(t, r).digest)
			w.WriteHeader(http.StatusServiceUnavailable)
		}}
		api := newFakeAPI(t, newFakeClock(), failAfterReading, ok)
		c := newTestClient(t, api)
		// Start mid-file: the retry must rewind to where the caller left it, not to 0.
		r := bytes.NewReader(append([]byte("HEADER"), content...))
		_, _ = r.Seek(6, io.SeekStart)
		if _, err := c.UploadFile(context.Background(), UploadFileParams{Name: "a.pdf", Body: r}); err != nil {
			t.Fatal(err)
		}
		want := sha256.Sum256(content)
		if len(digests) != 2 || digests[0] != want || digests[1] != want {
			t.Errorf("server saw %d uploads; both must carry the same content", len(digests))
		}
	})
	t.Run("plain reader is sent once", func(t *testing.T) {
		api := newFakeAPI(t, newFakeClock(), unavailable, reply{Body: bodyFileOK})
		c := newTestClient(t, api)
		_, err := c.UploadFile(context.Background(), UploadFileParams{Name: "a.pdf", Body: io.MultiReader(bytes.NewReader(content))})
		if !errors.Is(err, ErrServer) {
			t.Fatalf("err = %v", err)
		}
		if n := len(api.Requests()); n != 1 {
			t.Errorf("%d requests, want 1", n)
		}
	})
	t.Run("plain reader is not retried even on 429", func(t *testing.T) {
		var reads atomic.Int32
		api := newFakeAPI(t, newFakeClock(), reply{Status: 429, Body: bodyRateLimited}, reply{Body: bodyFileOK})
		c := newTestClient(t, api)
		body := readerFunc(func(p []byte) (int, error) {
			if reads.Add(1) > 1 {
				return 0, io.EOF
			}
			return copy(p, content), nil
		})
		if _, err := c.UploadFile(context.Background(), UploadFileParams{Name: "a.pdf", Body: body}); !errors.Is(err, ErrRateLimited) {
			t.Fatalf("err = %v", err)
		}
		if n := len(api.Requests()); n != 1 {
			t.Errorf("%d requests, want 1", n)
		}
	})
}

type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }
