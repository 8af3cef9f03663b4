// Command precompress writes NAME.br and NAME.gz beside each file it is given,
// for the static asset handler to serve to browsers that accept them. The
// output is reproducible: the compressors are the Go modules pinned in
// go.mod (not whatever gzip or brotli the machine has), at fixed settings,
// and gzip gets no name and no timestamp, so the same input gives the same
// bytes on every machine and CI can compare them with the committed files.
//
//	go run ./static/cmd/precompress static/dist/app.css static/vendor/htmx.min.js …
package main

import (
	"bytes"
	"fmt"
	"io"
	"os"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/gzip"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: precompress FILE...")
		os.Exit(2)
	}
	for _, name := range os.Args[1:] {
		if err := precompress(name); err != nil {
			fmt.Fprintln(os.Stderr, "precompress:", err)
			os.Exit(1)
		}
	}
}

// precompress writes name.br and name.gz at the highest settings: they are
// made once per build and served many times.
func precompress(name string) error {
	body, err := os.ReadFile(name)
	if err != nil {
		return err
	}
	br, err := compress(body, func(w io.Writer) io.WriteCloser {
		return brotli.NewWriterLevel(w, brotli.BestCompression)
	})
	if err != nil {
		return fmt.Errorf("brotli %s: %w", name, err)
	}
	gz, err := compress(body, func(w io.Writer) io.WriteCloser {
		zw, _ := gzip.NewWriterLevel(w, gzip.BestCompression) // a valid constant level cannot fail
		return zw                                             // zero Header: no name, no ModTime
	})
	if err != nil {
		return fmt.Errorf("gzip %s: %w", name, err)
	}
	if err := os.WriteFile(name+".br", br, 0o644); err != nil {
		return err
	}
	return os.WriteFile(name+".gz", gz, 0o644)
}

func compress(body []byte, newWriter func(io.Writer) io.WriteCloser) ([]byte, error) {
	var buf bytes.Buffer
	w := newWriter(&buf)
	if _, err := w.Write(body); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
