package sandbox

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode/utf8"

	"github.com/editwatch/editwatch/extendapi"
)

// File types Extend reports (§3.2), as the sandbox detects them.
const (
	FileTypePDF   extendapi.FileType = "PDF"
	FileTypeIMG   extendapi.FileType = "IMG"
	FileTypeDOCX  extendapi.FileType = "DOCX"
	FileTypeEXCEL extendapi.FileType = "EXCEL"
	FileTypeHTML  extendapi.FileType = "HTML"
	FileTypeXML   extendapi.FileType = "XML"
	FileTypeCSV   extendapi.FileType = "CSV"
	FileTypeTXT   extendapi.FileType = "TXT"
)

// sniffLen is how much of a file SniffFileType looks at. PDF readers accept
// a header anywhere in the first 1024 bytes; the rest is for text heuristics.
const sniffLen = 8 << 10

// SniffFileType tells a file's type by its content, never by its name: PDF
// (a "%PDF-" header in the first KiB), IMG (PNG, JPEG, GIF, TIFF, BMP,
// WebP), DOCX or EXCEL (a ZIP holding word/ or xl/), HTML, XML, CSV or TXT
// (valid UTF-8 without NULs; CSV when the first lines parse as a consistent
// comma-separated table). It returns "" when the content fits none of them,
// and an error only when the file cannot be read.
func SniffFileType(path string) (extendapi.FileType, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("sniff file type: %w", err)
	}
	defer f.Close()

	head := make([]byte, sniffLen)
	n, err := io.ReadFull(f, head)
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return "", fmt.Errorf("sniff file type: read %s: %w", path, err)
	}
	head = head[:n]

	if t := sniffBinary(head); t != "" {
		return t, nil
	}
	if bytes.HasPrefix(head, []byte("PK\x03\x04")) {
		return sniffOfficeZip(f)
	}
	return sniffText(head, n == sniffLen), nil
}

func sniffBinary(head []byte) extendapi.FileType {
	pdfWindow := head
	if len(pdfWindow) > 1024 {
		pdfWindow = pdfWindow[:1024]
	}
	switch {
	case bytes.Contains(pdfWindow, []byte("%PDF-")):
		return FileTypePDF
	case bytes.HasPrefix(head, []byte("\x89PNG\r\n\x1a\n")),
		bytes.HasPrefix(head, []byte{0xFF, 0xD8, 0xFF}),
		bytes.HasPrefix(head, []byte("GIF87a")),
		bytes.HasPrefix(head, []byte("GIF89a")),
		bytes.HasPrefix(head, []byte("II*\x00")),
		bytes.HasPrefix(head, []byte("MM\x00*")),
		isBMP(head),
		len(head) >= 12 && bytes.Equal(head[:4], []byte("RIFF")) && bytes.Equal(head[8:12], []byte("WEBP")):
		return FileTypeIMG
	}
	return ""
}

// isBMP checks the DIB header size too, so a text file that happens to
// start with "BM" is not taken for a bitmap.
func isBMP(head []byte) bool {
	if len(head) < 18 || !bytes.HasPrefix(head, []byte("BM")) {
		return false
	}
	switch binary.LittleEndian.Uint32(head[14:18]) {
	case 12, 40, 52, 56, 64, 108, 124:
		return true
	}
	return false
}

// sniffOfficeZip tells Office Open XML documents from other ZIP archives by
// the folders inside.
func sniffOfficeZip(f *os.File) (extendapi.FileType, error) {
	info, err := f.Stat()
	if err != nil {
		return "", fmt.Errorf("sniff file type: stat: %w", err)
	}
	zr, err := zip.NewReader(f, info.Size())
	if err != nil {
		// A truncated or damaged archive is not an Office document we know.
		return "", nil
	}
	for _, zf := range zr.File {
		switch {
		case strings.HasPrefix(zf.Name, "word/"):
			return FileTypeDOCX, nil
		case strings.HasPrefix(zf.Name, "xl/"):
			return FileTypeEXCEL, nil
		}
	}
	return "", nil
}

func sniffText(head []byte, truncated bool) extendapi.FileType {
	if len(head) == 0 || bytes.IndexByte(head, 0) >= 0 {
		return ""
	}
	text := head
	if truncated {
		// The window may cut a multi-byte rune in two.
		for i := 0; i < utf8.UTFMax && len(text) > 0 && !utf8.Valid(text); i++ {
			text = text[:len(text)-1]
		}
	}
	if !utf8.Valid(text) {
		return ""
	}
	trimmed := strings.TrimSpace(strings.TrimPrefix(string(text), "\uFEFF"))
	lower := strings.ToLower(trimmed)
	switch {
	case strings.HasPrefix(lower, "<!doctype html"), strings.HasPrefix(lower, "<html"),
		strings.HasPrefix(lower, "<") && (strings.Contains(lower, "<html") || strings.Contains(lower, "<body") || strings.Contains(lower, "<head")):
		return FileTypeHTML
	case strings.HasPrefix(lower, "<?xml"), strings.HasPrefix(lower, "<") && strings.Contains(lower, ">"):
		return FileTypeXML
	case looksLikeCSV(trimmed, truncated):
		return FileTypeCSV
	}
	return FileTypeTXT
}

// looksLikeCSV is true when at least two lines parse as records of the same
// width, wider than one column.
func looksLikeCSV(text string, truncated bool) bool {
	if truncated {
		// Drop the possibly cut last line.
		if i := strings.LastIndexByte(text, '\n'); i > 0 {
			text = text[:i]
		}
	}
	r := csv.NewReader(strings.NewReader(text))
	r.FieldsPerRecord = 0
	lines := 0
	for lines < 20 {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil || len(rec) < 2 {
			return false
		}
		lines++
	}
	return lines >= 2
}
