package sandbox

import (
	"encoding/json"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/editwatch/editwatch/internal/testenv"
)

// The independent readers the quirk tests read filled forms back with:
// qpdf (field values, appearance states and streams) and pdftotext (the text
// the widgets' appearances draw).

// requireTool returns the path of an independent PDF reader the test reads
// back with; it skips without it, and fails under CI=true, where .ci/run
// installs it.
func requireTool(t testing.TB, name, pkg string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		msg := fmt.Sprintf("%s is not installed (apt-get install -y %s); reading back with an independent reader needs it", name, pkg)
		if testenv.InCI() {
			t.Fatal("CI=true but " + msg)
		}
		t.Skip(msg)
	}
	return path
}

// qpdfWidget is one widget of a field as qpdf reads it.
type qpdfWidget struct {
	Value      any // text, or a name without its slash; nil when unset
	State      string
	FieldFlags int
	Hidden     bool // the annotation's Hidden flag: no viewer shows it
	// Appearances maps each normal appearance state (without its slash)
	// to whether it is a stream, as it must be to show.
	Appearances map[string]bool
}

// qpdfFields reads every widget's field value with qpdf --json, by the
// field's full name: a reader other than the code under test (pdf.js reads
// stale widget values the same way).
func qpdfFields(t testing.TB, path string) map[string][]qpdfWidget {
	t.Helper()
	qpdf := requireTool(t, "qpdf", "qpdf")
	out, err := exec.Command(qpdf, "--json", "--json-key=acroform", "--json-key=qpdf", path).Output()
	if err != nil {
		t.Fatalf("qpdf --json %s: %v", path, err)
	}
	var doc struct {
		AcroForm struct {
			Fields []struct {
				FullName   string          `json:"fullname"`
				Value      json.RawMessage `json:"value"`
				FieldFlags int             `json:"fieldflags"`
				Annotation struct {
					Object string `json:"object"`
					State  string `json:"appearancestate"`
					Flags  int    `json:"annotationflags"`
				} `json:"annotation"`
			} `json:"fields"`
		} `json:"acroform"`
		QPDF []map[string]json.RawMessage `json:"qpdf"`
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatalf("decode qpdf json: %v", err)
	}
	if len(doc.QPDF) != 2 {
		t.Fatalf("qpdf json: %d parts under \"qpdf\", want 2", len(doc.QPDF))
	}
	objects := doc.QPDF[1]
	fields := map[string][]qpdfWidget{}
	for _, f := range doc.AcroForm.Fields {
		w := qpdfWidget{State: strings.TrimPrefix(f.Annotation.State, "/"), FieldFlags: f.FieldFlags, Hidden: f.Annotation.Flags&2 != 0,
			Appearances: qpdfNormalAppearances(objects, f.Annotation.Object)}
		var s string
		if json.Unmarshal(f.Value, &s) == nil {
			// qpdf's JSON v2 writes text as "u:…" and names as "/…".
			w.Value = strings.TrimPrefix(strings.TrimPrefix(s, "u:"), "/")
		}
		fields[f.FullName] = append(fields[f.FullName], w)
	}
	return fields
}

// qpdfNormalAppearances reads a widget's /AP /N from qpdf's object dump:
// each state and whether it is a stream (nil when /N is a single stream or
// absent).
func qpdfNormalAppearances(objects map[string]json.RawMessage, ref string) map[string]bool {
	// resolve follows "N 0 R" strings to the object's value; stream is set
	// when the object is a stream.
	resolve := func(v json.RawMessage) (value json.RawMessage, stream bool) {
		var s string
		if json.Unmarshal(v, &s) != nil || !strings.HasSuffix(s, " R") {
			return v, false
		}
		var obj struct {
			Value  json.RawMessage `json:"value"`
			Stream json.RawMessage `json:"stream"`
		}
		if json.Unmarshal(objects["obj:"+s], &obj) != nil {
			return nil, false
		}
		return obj.Value, obj.Stream != nil
	}
	widget, _ := resolve(json.RawMessage(strconv.Quote(ref)))
	var wd map[string]json.RawMessage
	if json.Unmarshal(widget, &wd) != nil {
		return nil
	}
	ap, _ := resolve(wd["/AP"])
	var apd map[string]json.RawMessage
	if json.Unmarshal(ap, &apd) != nil {
		return nil
	}
	normal, _ := resolve(apd["/N"])
	var states map[string]json.RawMessage
	if json.Unmarshal(normal, &states) != nil {
		return nil
	}
	m := map[string]bool{}
	for state, v := range states {
		_, stream := resolve(v)
		m[strings.TrimPrefix(state, "/")] = stream
	}
	return m
}

// pdftotext extracts a PDF's text with pdftotext, which draws widget
// appearances too: text found there shows in viewers that do not redraw
// fields themselves.
func pdftotext(t testing.TB, path string) string {
	t.Helper()
	tool := requireTool(t, "pdftotext", "poppler-utils")
	out, err := exec.Command(tool, path, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext %s: %v", path, err)
	}
	return string(out)
}
