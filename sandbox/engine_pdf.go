package sandbox

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/editwatch/editwatch/extendapi"
	"github.com/pdfcpu/pdfcpu/pkg/api"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
)

// pdfcpuSetupErr is why pdfcpu could not get its configuration directory;
// nil when it did. Without it, values outside Latin-1 cannot be drawn.
var pdfcpuSetupErr error

func init() {
	// pdfcpu draws filled values with fonts from its configuration directory:
	// the core fonts, plus Roboto (which it installs there) for any text
	// outside Latin-1. Left alone it would put that directory in the user's
	// config dir on first use, from whichever goroutine gets there first. It
	// is set up here, once, before any pdfcpu call can race with it, in the
	// per-user cache directory (a regenerable cache: 200 KB, ~10 ms the first
	// time, reused afterwards).
	if pdfcpuSetupErr = setupPDFCPU(); pdfcpuSetupErr != nil {
		api.DisableConfigDir()
	}
}

func setupPDFCPU() error {
	base, err := os.UserCacheDir()
	if err != nil {
		if base, err = os.MkdirTemp("", "editwatch-pdfcpu-"); err != nil {
			return fmt.Errorf("pdfcpu config dir: %w", err)
		}
	}
	dir := filepath.Join(base, "editwatch")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("pdfcpu config dir: %w", err)
	}
	if err := model.EnsureDefaultConfigAt(dir, false); err != nil {
		return fmt.Errorf("pdfcpu config dir %s: %w", dir, err)
	}
	return nil
}

// openPDF checks the content is a PDF and parses it once, decrypting with
// password when the file is encrypted.
func (e *Engine) openPDF(ctx context.Context, path, password string, cmd model.CommandMode) (*model.Context, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	fileType, err := SniffFileType(path)
	if err != nil {
		return nil, fmt.Errorf("open input: %w", err)
	}
	if fileType != FileTypePDF {
		what := "its content is not recognised"
		if fileType != "" {
			what = "it is " + string(fileType)
		}
		return nil, &Failure{Reason: extendapi.ReasonFileTypeNotSupported, Message: "the file is not a PDF: " + what}
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open input: %w", err)
	}
	defer f.Close()

	conf := model.NewDefaultConfiguration()
	conf.Cmd = cmd
	conf.UserPW, conf.OwnerPW = password, password
	doc, err := e.readPDF(f, conf, password, path)
	if err != nil {
		return nil, err
	}
	if err := sparseObjectNumbers(doc); err != nil {
		return nil, err
	}
	return doc, nil
}

// readPDF parses f, validated, or else leniently with the known repairs;
// a file neither reading accepts is a Failure saying why.
func (e *Engine) readPDF(f io.ReadSeeker, conf *model.Configuration, password, path string) (*model.Context, error) {
	doc, err := readValidated(f, conf)
	switch {
	case err == nil:
		return doc, nil
	case errors.Is(err, pdfcpu.ErrWrongPassword), errors.Is(err, pdfcpu.ErrEncrypted):
		msg := "the PDF is encrypted and no password was given (file.settings.password)"
		if password != "" {
			msg = "the PDF is encrypted and the given password does not open it"
		}
		return nil, &Failure{Reason: extendapi.ReasonPasswordProtectedFile, Message: msg}
	case errors.Is(err, pdfcpu.ErrPermissionDenied):
		return nil, &Failure{
			Reason:  extendapi.ReasonPasswordProtectedFile,
			Message: "the password opens the PDF but its permissions forbid filling forms; give the owner password",
		}
	}
	// Validation refuses some files other readers open; the second try
	// repairs what is known and validates again.
	doc, lerr := readLeniently(f, conf)
	if lerr == nil {
		e.logger.Debug("sandbox engine: read a PDF after repairing it", "file", path, "validation", err)
		return doc, nil
	}
	e.logger.Debug("sandbox engine: unreadable PDF", "file", path, "err", err, "after repair", lerr)
	return nil, &Failure{Reason: extendapi.ReasonCorruptFile, Message: "the PDF cannot be read: " + err.Error()}
}

// sparseObjectNumbers refuses a document whose object numbers run far
// beyond the objects it holds (one object numbered 10000214 in a file of
// seven): pdfcpu would write a cross-reference entry for every number up to
// the largest, hundreds of megabytes and minutes of work for a 1 KB input.
func sparseObjectNumbers(doc *model.Context) error {
	const allowed = 1_000_000
	if doc.XRefTable.Size == nil {
		return nil
	}
	size, held := *doc.XRefTable.Size, len(doc.XRefTable.Table)
	if size <= allowed || size <= 20*held {
		return nil
	}
	return &Failure{Reason: extendapi.ReasonCorruptFile, Message: fmt.Sprintf(
		"the PDF cannot be read: its cross-reference table numbers objects up to %d but the file holds %d", size, held)}
}

// readValidated parses and validates a PDF with pdfcpu; a panic inside
// pdfcpu (malformed input it does not expect) is an error like any other
// reason the file cannot be read.
func readValidated(f io.ReadSeeker, conf *model.Configuration) (doc *model.Context, err error) {
	defer pdfcpuPanicked(&err, "reading the PDF")
	return api.ReadValidateAndOptimize(f, conf)
}

// pdfcpuPanicked, deferred, turns a panic inside pdfcpu (malformed input
// it does not expect) into *err, saying what pdfcpu was doing.
func pdfcpuPanicked(err *error, doing string) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("pdfcpu panicked %s: %v", doing, r)
	}
}

// writePDF writes the document to path, leaving nothing behind on failure.
func writePDF(doc *model.Context, path string) (err error) {
	// Filled forms carry what users typed into them: private to the
	// process's user, like the rest of the data folder.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("write output: close: %w", cerr)
		}
		if err != nil {
			os.Remove(path)
		}
	}()
	if err := writeContext(doc, f); err != nil {
		// pdfcpu's writer walks the whole object graph; what it cannot write
		// back is a document pdfcpu could not fully read (a broken page
		// tree, say), not a fault of the sandbox.
		return &Failure{Reason: extendapi.ReasonCorruptFile, Message: "the PDF cannot be written back after filling: " + err.Error()}
	}
	return nil
}

func writeContext(doc *model.Context, w io.Writer) (err error) {
	defer pdfcpuPanicked(&err, "writing the PDF")
	return api.WriteContext(doc, w)
}
