package handlers

import (
	"bytes"
	"encoding/json"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/editwatch/editwatch/extendapi"
	"github.com/editwatch/editwatch/views"
)

// schemaSeeds are realistic pasted schemas, broken in the ways people
// break them.
var schemaSeeds = []string{
	"", "  \n\t", modelSchema,
	`{"type":"object","properties":{"name":{"type":["string","null"]}}}`,
	"{\n  \"type\": \"object\",\n  \"properties\": {\n    \"name\": {\"type\": [\"string\", \"null\"]},\n  }\n}",
	"{\n  \"type\": \"object\"\n  \"properties\": {}\n}",
	"{\n  \"type\": \"object\",\n  \"properties\": {\n    \"name\": {\"type\": \"string\"\n",
	"{'type': 'object'}", `{"type":"object","properties":[]}`, `{"type":"array"}`, `["type","object"]`,
	"\n\n  [1, 2]", `"object"`, `{"type":"object"} trailing`, "{\"type\":\"object\",\"properties\":{\"n\xc3\xa9\":{}}}",
	"{\"type\":\"obj\nect\"}", "{\"ty\xffpe\":\"object\"}", "{\r\n\"type\":\"object\",\r\n\"a\":tru}", "\ufeff{\"type\":\"object\"}",
	"{\"type\":\"object\",\"properties\":{\"📄\": é}}",
}

var foundRune = regexp.MustCompile(`, found ('(?:[^'\\]|\\.)+')$`)

// FuzzCheckSchema: a pasted schema never panics the form. A schema that is
// accepted is a JSON object with "type": "object" and goes to Extend
// unchanged in meaning; one that is refused is really wrong, and a JSON
// syntax error names a line and column inside the text, at the character
// the message quotes.
func FuzzCheckSchema(f *testing.F) {
	for _, s := range schemaSeeds {
		f.Add(s, "Fill the form for Jane Doe.")
	}
	f.Add(`{"type":"object"}`, "\xff\xfe")
	f.Fuzz(func(t *testing.T, schema, instructions string) {
		raw, serr := checkSchema(schema)
		if strings.TrimSpace(schema) == "" {
			if raw != nil || serr != nil {
				t.Fatalf("blank schema gave %q, %+v", raw, serr)
			}
			return
		}
		var v any
		valid := json.Unmarshal([]byte(schema), &v) == nil
		root, isObject := v.(map[string]any)
		props, hasProps := root["properties"]
		_, propsObject := props.(map[string]any)
		fine := valid && isObject && root["type"] == "object" && (!hasProps || propsObject)
		if serr == nil {
			if !fine {
				t.Fatalf("accepted %q", schema)
			}
			checkRequest(t, raw, v, instructions)
			return
		}
		if fine {
			t.Fatalf("refused a good schema %q: %+v", schema, serr)
		}
		if serr.Message == "" || strings.ContainsAny(serr.Message, "\r\n") {
			t.Fatalf("message %q", serr.Message)
		}
		if !valid && serr.Line == 0 {
			t.Fatalf("syntax error without a line: %+v", serr)
		}
		if serr.Line == 0 {
			if serr.Column != 0 {
				t.Fatalf("column without a line: %+v", serr)
			}
			return
		}
		lines := strings.Split(schema, "\n")
		if serr.Line < 1 || serr.Line > len(lines) {
			t.Fatalf("line %d of a %d-line schema %q", serr.Line, len(lines), schema)
		}
		line := []rune(lines[serr.Line-1])
		if serr.Column < 1 || serr.Column > len(line)+1 {
			t.Fatalf("column %d of a %d-character line %q", serr.Column, len(line), string(line))
		}
		if m := foundRune.FindStringSubmatch(serr.Message); m != nil {
			want, err := strconv.Unquote(m[1])
			if err != nil {
				t.Fatalf("message %q quotes %s", serr.Message, m[1])
			}
			if serr.Column > len(line) || string(line[serr.Column-1]) != want {
				t.Fatalf("%q: line %d column %d is not the %s the message names, in %q", serr.Message, serr.Line, serr.Column, m[1], schema)
			}
		}
		if isObject || !valid {
			return
		}
		// Not an object: the position is where the value starts.
		start := len(schema) - len(strings.TrimLeft(schema, " \t\r\n"))
		if l, c := lineColumn(schema, start+1, false); l != serr.Line || c != serr.Column {
			t.Fatalf("not an object, pointed at %d:%d, the value starts at %d:%d", serr.Line, serr.Column, l, c)
		}
	})
}

// checkRequest: the request the form sends carries the schema with the
// same meaning and the instructions as typed.
func checkRequest(t *testing.T, schema json.RawMessage, want any, instructions string) {
	t.Helper()
	req := &extendapi.CreateEditRunRequest{File: &extendapi.FileRef{ID: "file_1"},
		Config: &extendapi.EditConfig{Schema: schema, Instructions: instructions}}
	body, err := json.Marshal(req)
	if err != nil {
		t.Fatalf("accepted schema %q cannot be sent: %v", schema, err)
	}
	var sent struct {
		Config struct {
			Schema       any    `json:"schema"`
			Instructions string `json:"instructions"`
		} `json:"config"`
	}
	if err := json.Unmarshal(body, &sent); err != nil {
		t.Fatalf("request %s: %v", body, err)
	}
	if !reflect.DeepEqual(sent.Config.Schema, want) {
		t.Fatalf("sent schema %v, pasted %v", sent.Config.Schema, want)
	}
	if utf8.ValidString(instructions) && sent.Config.Instructions != instructions {
		t.Fatalf("sent instructions %q, typed %q", sent.Config.Instructions, instructions)
	}
}

// FuzzCleanFileName: the name a browser sends becomes a base name that is
// valid UTF-8 (it is stored, audited and sent to Extend), bounded, trimmed.
func FuzzCleanFileName(f *testing.F) {
	for _, s := range []string{"w9.pdf", `C:\Users\ana\Desktop\w9 form.pdf`, "../../etc/passwd", " résumé.pdf ", "\xff\xfe.pdf",
		strings.Repeat("a", 199) + "é.pdf", strings.Repeat("📄", 60), "dir/", "", "a\x00b.pdf"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		got := cleanFileName(name)
		if !utf8.ValidString(got) || len(got) > 200 || strings.ContainsAny(got, `/\`) || got != strings.TrimSpace(got) {
			t.Fatalf("cleanFileName(%q) = %q", name, got)
		}
		if utf8.ValidString(name) && !strings.ContainsAny(name, `/\`) && len(name) <= 200 && got != strings.TrimSpace(name) {
			t.Fatalf("cleanFileName(%q) = %q changed a plain name", name, got)
		}
	})
}

// formBoundary is the multipart boundary of FuzzNewRunForm's bodies.
const formBoundary = "fuzzboundary"

// fakeUpload is Extend's file upload: it reads the streamed PDF and
// answers with a file.
type fakeUpload struct {
	received [][]byte
}

func (u *fakeUpload) RoundTrip(r *http.Request) (*http.Response, error) {
	answer := func(status int, body string) *http.Response {
		return &http.Response{StatusCode: status, Header: http.Header{"Content-Type": {"application/json"}},
			Body: io.NopCloser(strings.NewReader(body)), Request: r}
	}
	_, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || r.URL.Path != "/files/upload" {
		return answer(http.StatusBadRequest, `{"code":"INVALID_REQUEST","message":"not an upload"}`), nil
	}
	mr := multipart.NewReader(r.Body, params["boundary"])
	for {
		part, err := mr.NextPart()
		if err != nil {
			return nil, err
		}
		if part.FormName() == "file" {
			b, err := io.ReadAll(part)
			if err != nil {
				return nil, err
			}
			u.received = append(u.received, b)
			return answer(http.StatusOK, `{"object":"file","id":"file_fuzz","name":"upload.pdf","type":"PDF"}`), nil
		}
	}
}

// multipartBody builds a new-run form body the way a browser does.
func multipartBody(parts ...[2]string) []byte {
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	_ = w.SetBoundary(formBoundary)
	for _, p := range parts {
		if name, file, ok := strings.Cut(p[0], ":"); ok {
			fw, _ := w.CreateFormFile(name, file)
			_, _ = io.WriteString(fw, p[1])
			continue
		}
		_ = w.WriteField(p[0], p[1])
	}
	_ = w.Close()
	return b.Bytes()
}

// FuzzNewRunForm feeds any body to the new-run form reader: it never
// panics and never fails with anything but a 400, 403 or 413 page (any
// other error would be a 500); without a same-origin browser and no token
// it refuses with 403; what it uploads is a PDF within the limit; the
// names and IDs it keeps are clean.
func FuzzNewRunForm(f *testing.F) {
	pdf := "%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
	f.Add(multipartBody([2]string{views.FieldInput, views.InputUpload}, [2]string{views.FieldFile + ":w9.pdf", pdf},
		[2]string{views.FieldSchema, modelSchema}, [2]string{views.FieldInstructions, "Fill it."}, [2]string{"flattenPdf", "true"}), true)
	f.Add(multipartBody([2]string{views.FieldFile + ":w9.pdf", pdf}, [2]string{views.CSRFField, "forged"}), false)
	f.Add(multipartBody([2]string{views.FieldInput, views.InputURL}, [2]string{views.FieldFileURL, " https://files.example/w9.pdf "},
		[2]string{views.FieldFile + ":", ""}), true)
	f.Add(multipartBody([2]string{views.FieldInput, views.InputTemplate}, [2]string{views.FieldTemplateID, "edt_AbC123"},
		[2]string{views.FieldFile + `:C:\fakepath\` + strings.Repeat("é", 150) + ".pdf", pdf}), true)
	f.Add(multipartBody([2]string{views.FieldFile + ":notes.txt", "hello"}), true)
	f.Add(multipartBody([2]string{views.FieldFile + ":big.pdf", "%PDF-" + strings.Repeat("x", 5000)}), true)
	f.Add(multipartBody([2]string{views.FieldFileID, " file_prev "}, [2]string{views.FieldFileName, "prev.pdf"}), true)
	f.Add([]byte("--"+formBoundary+"\r\nContent-Disposition: form-data; name=\"schema\"\r\n\r\n{\"type\""), true)
	f.Add([]byte("not multipart at all"), true)
	f.Add([]byte(""), false)
	f.Fuzz(func(t *testing.T, body []byte, sameSite bool) {
		const maxUpload = 4 << 10
		upload := &fakeUpload{}
		cl, err := extendapi.New("sk_fuzz_0123456789", extendapi.WithBaseURL("https://api.extend.test"),
			extendapi.WithHTTPClient(&http.Client{Transport: upload}), extendapi.WithLimiter(extendapi.NewUnlimitedLimiter()),
			extendapi.WithRetryPolicy(extendapi.RetryPolicy{MaxAttempts: 1}))
		if err != nil {
			t.Fatal(err)
		}
		req := httptest.NewRequest(http.MethodPost, "/ew/runs/new", bytes.NewReader(body))
		req.Header.Set(echo.HeaderContentType, "multipart/form-data; boundary="+formBoundary)
		if sameSite {
			req.Header.Set("Sec-Fetch-Site", "same-origin")
		}
		c := echo.New().NewContext(req, httptest.NewRecorder())
		a := &dashboard{Options: Options{MaxUpload: maxUpload}}

		form, err := a.readNewRunForm(c, cl)
		if err != nil {
			pe := describeError(err, errRunContext{}, "")
			if pe.Status != http.StatusBadRequest && pe.Status != http.StatusForbidden && pe.Status != http.StatusRequestEntityTooLarge {
				t.Fatalf("form error %v would be a 500", err)
			}
			if form != nil {
				t.Fatal("an error with a form")
			}
			return
		}
		if !sameSite {
			t.Fatal("a form without token nor same-origin browser was read")
		}
		for _, b := range upload.received {
			if !bytes.HasPrefix(b, []byte("%PDF-")) || len(b) > maxUpload {
				t.Fatalf("uploaded %d bytes starting %q", len(b), b[:min(len(b), 8)])
			}
		}
		if len(upload.received) > 0 && form.FileID != "file_fuzz" && form.FieldErrors[views.FieldFile] == "" {
			t.Fatalf("uploaded but kept file %q", form.FileID)
		}
		// The name is audited and stored: PostgreSQL refuses invalid UTF-8.
		if !utf8.ValidString(form.FileName) || strings.ContainsAny(form.FileName, `/\`) {
			t.Fatalf("kept file name %q", form.FileName)
		}
		for _, v := range []string{form.FileID, form.FileURL, form.TemplateID} {
			if v != strings.TrimSpace(v) {
				t.Fatalf("kept %q untrimmed", v)
			}
		}
		for name := range form.Checked {
			if !slicesContainsOption(name) {
				t.Fatalf("ticked unknown option %q", name)
			}
		}
	})
}

func slicesContainsOption(name string) bool {
	for _, o := range views.DefaultAdvancedOptions() {
		if o.Name == name {
			return true
		}
	}
	return false
}
