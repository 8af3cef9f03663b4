package sandbox

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// blobStore keeps file bytes on disk, one file per file ID, so nothing is
// ever held whole in memory.
type blobStore struct {
	dir       string
	temporary bool // removed by Close
}

// path is where a file's bytes live. IDs are ours (prefix + base62), but a
// guard keeps a malformed one from ever leaving the directory.
func (b *blobStore) path(id string) string {
	if id == "" || strings.ContainsAny(id, `/\.`) {
		return filepath.Join(b.dir, "invalid-id")
	}
	return filepath.Join(b.dir, id)
}

// tempFile opens a new scratch file in the store's directory (same file
// system, so commit is a rename).
func (b *blobStore) tempFile() (*os.File, error) {
	f, err := os.CreateTemp(b.dir, ".incoming-*")
	if err != nil {
		return nil, fmt.Errorf("sandbox: scratch file: %w", err)
	}
	return f, nil
}

// commit moves a finished scratch file into place under id.
func (b *blobStore) commit(tempPath, id string) error {
	if err := os.Rename(tempPath, b.path(id)); err != nil {
		return fmt.Errorf("sandbox: store file %s: %w", id, err)
	}
	return nil
}

// writeBytes stores data under id.
func (b *blobStore) writeBytes(id string, data []byte) error {
	f, err := b.tempFile()
	if err != nil {
		return err
	}
	_, werr := f.Write(data)
	cerr := f.Close()
	if err := errors.Join(werr, cerr); err != nil {
		_ = os.Remove(f.Name())
		return fmt.Errorf("sandbox: write file %s: %w", id, err)
	}
	return b.commit(f.Name(), id)
}

// clone gives dstID the bytes of srcID: a hard link where the file system
// allows it (deleting one leaves the other intact), a copy otherwise.
func (b *blobStore) clone(srcID, dstID string) error {
	if err := os.Link(b.path(srcID), b.path(dstID)); err == nil {
		return nil
	}
	src, err := os.Open(b.path(srcID))
	if err != nil {
		return fmt.Errorf("sandbox: clone file %s: %w", srcID, err)
	}
	defer src.Close()
	dst, err := b.tempFile()
	if err != nil {
		return err
	}
	_, cerr := io.Copy(dst, src)
	if err := errors.Join(cerr, dst.Close()); err != nil {
		_ = os.Remove(dst.Name())
		return fmt.Errorf("sandbox: clone file %s: %w", srcID, err)
	}
	return b.commit(dst.Name(), dstID)
}

// remove deletes a file's bytes; a missing file is not an error.
func (b *blobStore) remove(id string) {
	_ = os.Remove(b.path(id))
}
