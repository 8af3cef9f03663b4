package sandbox

import (
	"archive/zip"
	"bytes"
	"image"
	"image/gif"
	"image/jpeg"
	"image/png"
	"strings"
	"testing"

	"github.com/editwatch/editwatch/extendapi"
)

func TestSniffFileType(t *testing.T) {
	img := image.NewRGBA(image.Rect(0, 0, 4, 4))
	encode := func(enc func(*bytes.Buffer) error) []byte {
		var b bytes.Buffer
		if err := enc(&b); err != nil {
			t.Fatalf("encode: %v", err)
		}
		return b.Bytes()
	}
	zipWith := func(names ...string) []byte {
		var b bytes.Buffer
		zw := zip.NewWriter(&b)
		for _, n := range names {
			w, err := zw.Create(n)
			if err != nil {
				t.Fatalf("zip: %v", err)
			}
			w.Write([]byte("<x/>"))
		}
		if err := zw.Close(); err != nil {
			t.Fatalf("zip: %v", err)
		}
		return b.Bytes()
	}
	_, demo := engineDemoForm(t, "vendor-onboarding.pdf")
	bmp := append([]byte("BM"), make([]byte, 30)...)
	bmp[14] = 40

	tests := []struct {
		name    string
		content []byte
		want    extendapi.FileType
	}{
		{"generated PDF", demo.PDF, FileTypePDF},
		{"PDF header after junk", append([]byte("garbage before the header\n"), demo.PDF...), FileTypePDF},
		{"PDF header only", []byte("%PDF-1.7\n"), FileTypePDF},
		{"PNG", encode(func(b *bytes.Buffer) error { return png.Encode(b, img) }), FileTypeIMG},
		{"JPEG", encode(func(b *bytes.Buffer) error { return jpeg.Encode(b, img, nil) }), FileTypeIMG},
		{"GIF", encode(func(b *bytes.Buffer) error { return gif.Encode(b, img, nil) }), FileTypeIMG},
		{"TIFF little endian", []byte("II*\x00\x08\x00\x00\x00"), FileTypeIMG},
		{"BMP", bmp, FileTypeIMG},
		{"WebP", []byte("RIFF\x24\x00\x00\x00WEBPVP8 "), FileTypeIMG},
		{"DOCX", zipWith("[Content_Types].xml", "word/document.xml"), FileTypeDOCX},
		{"XLSX", zipWith("[Content_Types].xml", "xl/workbook.xml"), FileTypeEXCEL},
		{"other ZIP", zipWith("readme.txt"), ""},
		{"HTML", []byte("<!DOCTYPE html>\n<html><body>hi</body></html>"), FileTypeHTML},
		{"HTML without doctype", []byte("  <html lang=en><head></head></html>"), FileTypeHTML},
		{"XML", []byte(`<?xml version="1.0"?><invoice><total>3</total></invoice>`), FileTypeXML},
		{"XML without declaration", []byte(`<invoice total="3"/>`), FileTypeXML},
		{"CSV", []byte("name,amount\nacme,3\nglobex,4\n"), FileTypeCSV},
		{"text starting with BM", []byte("BMW service notes\nall fine\n"), FileTypeTXT},
		{"text", []byte("Dear Extend,\nplease fill this form.\n"), FileTypeTXT},
		{"UTF-8 text with BOM", []byte("\uFEFFNotes: café"), FileTypeTXT},
		{"long text cut in a rune", []byte(strings.Repeat("é", sniffLen)), FileTypeTXT},
		{"binary", []byte{0x00, 0x01, 0x02, 0xFE, 0xFF}, ""},
		{"invalid UTF-8", []byte{'a', 0xC3, 0x28, 'b'}, ""},
		{"empty", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := engineWriteTemp(t, "upload.pdf", tt.content) // the name never matters
			got, err := SniffFileType(path)
			if err != nil {
				t.Fatalf("SniffFileType: %v", err)
			}
			if got != tt.want {
				t.Errorf("SniffFileType = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestSniffFileTypeFixtures(t *testing.T) {
	for _, name := range []string{"sample_form.pdf", "fancy_fields.pdf", "with_xfa_fields.pdf", "encrypted_new.pdf", "normal.pdf", "missing_endobj_keyword.pdf"} {
		got, err := SniffFileType(engineFixture(t, name))
		if err != nil || got != FileTypePDF {
			t.Errorf("SniffFileType(%s) = %q, %v; want PDF", name, got, err)
		}
	}
}

func TestSniffFileTypeMissingFile(t *testing.T) {
	if _, err := SniffFileType(t.TempDir() + "/nope.pdf"); err == nil {
		t.Error("SniffFileType of a missing file: want an error")
	}
}
