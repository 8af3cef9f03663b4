package handlers

import (
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/editwatch/editwatch/extendapi"
	"github.com/editwatch/editwatch/views"
)

// patternPDF is a large file's bytes, made up as they are read: a PDF
// header, then the alphabet over and over. Nothing holds the whole file.
type patternPDF struct {
	size, off int64
}

const patternHeader = "%PDF-1.7\n"

func (p *patternPDF) byteAt(i int64) byte {
	if i < int64(len(patternHeader)) {
		return patternHeader[i]
	}
	return byte('a' + i%26)
}

func (p *patternPDF) Read(b []byte) (int, error) {
	if p.off >= p.size {
		return 0, io.EOF
	}
	n := int(min(int64(len(b)), p.size-p.off))
	for i := range n {
		b[i] = p.byteAt(p.off + int64(i))
	}
	p.off += int64(n)
	return n, nil
}

func (p *patternPDF) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
		p.off = offset
	case io.SeekCurrent:
		p.off += offset
	case io.SeekEnd:
		p.off = p.size + offset
	}
	return p.off, nil
}

// A 50 MB PDF goes through with the heap flat: the route relays, it does
// not buffer. The file store is a real HTTP server (http.ServeContent, so
// ranges too) whose URL stands in for the one Extend signed.
func TestRunFileStreamsALargeFileWithoutBuffering(t *testing.T) {
	const size = 50 << 20
	fileStore := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.ServeContent(w, r, "", time.Time{}, &patternPDF{size: size})
	}))
	t.Cleanup(fileStore.Close)
	env := seededEnv(t, envOptions{})
	run := findRun(t, env, extendapi.StatusProcessed)
	path := runFilePath(run.ID, views.FileEdited)
	if r := env.getWith(path, http.Header{"Range": {"bytes=0-0"}}); r.StatusCode != http.StatusPartialContent {
		t.Fatalf("first view: %d %s", r.StatusCode, errorText(r))
	}
	env.app.presigned.mu.Lock()
	for k, e := range env.app.presigned.entries {
		e.url = fileStore.URL + "/big.pdf"
		env.app.presigned.entries[k] = e
	}
	env.app.presigned.mu.Unlock()

	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	req, _ := http.NewRequest(http.MethodGet, env.url(path), nil)
	res, err := env.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK || res.ContentLength != size {
		t.Fatalf("large file: %d, Content-Length %d", res.StatusCode, res.ContentLength)
	}
	var peak uint64
	want := &patternPDF{size: size}
	got, expected := make([]byte, 64<<10), make([]byte, 64<<10)
	var read, nextSample int64
	for {
		n, err := res.Body.Read(got)
		if n > 0 {
			if _, werr := io.ReadFull(want, expected[:n]); werr != nil || string(got[:n]) != string(expected[:n]) {
				t.Fatalf("bytes differ from the file store's at offset %d", read)
			}
			read += int64(n)
		}
		if read >= nextSample {
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			peak = max(peak, m.HeapInuse)
			nextSample += 4 << 20
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if read != size {
		t.Fatalf("read %d bytes, want %d", read, size)
	}
	growth := int64(peak) - int64(before.HeapInuse)
	t.Logf("streamed %d MB; heap in use grew by at most %.1f MB", size>>20, float64(growth)/(1<<20))
	if growth > 16<<20 {
		t.Errorf("heap grew by %.1f MB while streaming %d MB: the route buffers", float64(growth)/(1<<20), size>>20)
	}

	tail := env.getWith(path, http.Header{"Range": {"bytes=" + strconv.Itoa(size-26) + "-"}})
	if tail.StatusCode != http.StatusPartialContent || len(tail.body) != 26 {
		t.Errorf("range at the end of the large file: %d, %d bytes", tail.StatusCode, len(tail.body))
	}
}
