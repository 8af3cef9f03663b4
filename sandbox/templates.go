package sandbox

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"unicode"

	"github.com/editwatch/editwatch/extendapi"
)

// dirTemplate is an edit template loaded from Options.TemplatesDir, one JSON
// file each:
//
//	{
//	  "id": "edt_my_form",            // optional: edt_ + the file's base name
//	  "workspace": "ws_demo",         // optional: every workspace
//	  "name": "My form",
//	  "description": "…",             // optional
//	  "pdf": "forms/my-form.pdf",     // relative to the JSON file; or
//	  "demoForm": "vendor-onboarding.pdf", // a built-in demo form instead
//	  "config": { …EditConfig… },
//	  "schemaConfig": { …EditSchemaGenerationConfig… } // optional
//	}
type dirTemplate struct {
	ID           string                                `json:"id"`
	Workspace    string                                `json:"workspace"`
	Name         string                                `json:"name"`
	Description  *string                               `json:"description"`
	PDF          string                                `json:"pdf"`
	DemoForm     string                                `json:"demoForm"`
	Config       extendapi.EditConfig                  `json:"config"`
	SchemaConfig *extendapi.EditSchemaGenerationConfig `json:"schemaConfig"`

	fileName string // name of the template's file
	pdf      []byte // the form's bytes (templates are small forms)
}

// loadDirTemplates reads every *.json of dir. Any mistake is an error that
// names the file: a template that silently fails to load helps nobody.
func loadDirTemplates(dir string) ([]dirTemplate, error) {
	if dir == "" {
		return nil, nil
	}
	paths, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, fmt.Errorf("sandbox: templates dir %s: %w", dir, err)
	}
	var out []dirTemplate
	seen := map[string]string{}
	for _, p := range paths {
		t, err := loadDirTemplate(p)
		if err != nil {
			return nil, fmt.Errorf("sandbox: template %s: %w", p, err)
		}
		if prev, dup := seen[t.Workspace+"\x00"+t.ID]; dup {
			return nil, fmt.Errorf("sandbox: template %s: id %s is also used by %s", p, t.ID, prev)
		}
		seen[t.Workspace+"\x00"+t.ID] = p
		out = append(out, t)
	}
	return out, nil
}

func loadDirTemplate(path string) (dirTemplate, error) {
	var t dirTemplate
	raw, err := os.ReadFile(path)
	if err != nil {
		return t, err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&t); err != nil {
		return t, fmt.Errorf("%w: %w", ErrInvalidOption, err)
	}
	if t.ID == "" {
		t.ID = "edt_" + slug(strings.TrimSuffix(filepath.Base(path), ".json"))
	}
	if !strings.HasPrefix(t.ID, "edt_") || !validWorkspaceID(t.ID) {
		return t, fmt.Errorf("%w: id %q must start with edt_ and hold only letters, digits, '_' or '-'", ErrInvalidOption, t.ID)
	}
	if t.Workspace != "" && !validWorkspaceID(t.Workspace) {
		return t, fmt.Errorf("%w: workspace %q", ErrInvalidOption, t.Workspace)
	}
	if t.Name == "" {
		return t, fmt.Errorf("%w: name is required", ErrInvalidOption)
	}
	if _, err := effectiveEditConfig(t.Config); err != nil {
		return t, fmt.Errorf("%w: %w", ErrInvalidOption, err)
	}
	switch {
	case (t.PDF == "") == (t.DemoForm == ""):
		return t, fmt.Errorf("%w: give exactly one of pdf and demoForm", ErrInvalidOption)
	case t.PDF != "":
		pdfPath := t.PDF
		if !filepath.IsAbs(pdfPath) {
			pdfPath = filepath.Join(filepath.Dir(path), pdfPath)
		}
		if t.pdf, err = os.ReadFile(pdfPath); err != nil {
			return t, err
		}
		t.fileName = filepath.Base(pdfPath)
	default:
		t.fileName = t.DemoForm
	}
	return t, nil
}

// workspaceLocked returns a workspace's data, creating it (with its
// templates and their files) on first use.
func (s *Server) workspaceLocked(id string) (*workspaceData, error) {
	wd, ok := s.state.Workspaces[id]
	if !ok {
		wd = newWorkspaceData(id)
		s.state.Workspaces[id] = wd
		s.markDirtyLocked()
	}
	if !wd.templatesReady {
		if err := s.installTemplatesLocked(wd); err != nil {
			return nil, err
		}
		wd.templatesReady = true
	}
	return wd, nil
}

// installTemplatesLocked builds the workspace's templates: one per demo form
// plus the directory's. Their files get IDs derived from the workspace and
// the template, stable across restarts and unique across workspaces.
func (s *Server) installTemplatesLocked(wd *workspaceData) error {
	wd.Templates = map[string]*extendapi.EditTemplate{}
	for _, form := range s.demo {
		id := "edt_demo_" + slug(strings.TrimSuffix(form.Name, ".pdf"))
		title := form.Title
		if title == "" {
			title = humanName(form.Name)
		}
		desc := "Built-in demo template of the sandbox: its generated " + strings.ToLower(title) + " form, filled from instructions."
		tpl := &extendapi.EditTemplate{Object: "edit_template", ID: id, Name: title + " (demo)", Description: &desc,
			Config: extendapi.EditConfig{Instructions: form.Instructions}}
		if err := s.installTemplateLocked(wd, tpl, form.Name, form.PDF); err != nil {
			return err
		}
	}
	for _, t := range s.extra {
		if t.Workspace != "" && t.Workspace != wd.ID {
			continue
		}
		pdf := t.pdf
		if t.DemoForm != "" {
			i := slices.IndexFunc(s.demo, func(f DemoForm) bool { return f.Name == t.DemoForm })
			if i < 0 {
				return fmt.Errorf("%w: template %s: no demo form %q", ErrInvalidOption, t.ID, t.DemoForm)
			}
			pdf = s.demo[i].PDF
		}
		tpl := &extendapi.EditTemplate{Object: "edit_template", ID: t.ID, Name: t.Name, Description: t.Description,
			Config: t.Config, SchemaConfig: t.SchemaConfig}
		if err := s.installTemplateLocked(wd, tpl, t.fileName, pdf); err != nil {
			return err
		}
	}
	return nil
}

func (s *Server) installTemplateLocked(wd *workspaceData, tpl *extendapi.EditTemplate, fileName string, pdf []byte) error {
	fileID := derivedID("file_", wd.ID+"\x00"+tpl.ID)
	rec, ok := wd.Files[fileID]
	if !ok {
		if err := s.blobs.writeBytes(fileID, pdf); err != nil {
			return err
		}
		now := s.opts.Clock().UTC()
		rec = &fileRecord{
			File: extendapi.File{Object: "file", ID: fileID, Name: fileName, Type: FileTypePDF,
				Metadata: &extendapi.FileMetadata{}, CreatedAt: &now, UpdatedAt: &now},
			Size: int64(len(pdf)),
		}
		wd.Files[fileID] = rec
		s.markDirtyLocked()
	}
	tpl.File = fileSummary(rec.File)
	tpl.CreatedAt, tpl.UpdatedAt = rec.File.CreatedAt, rec.File.UpdatedAt
	wd.Templates[tpl.ID] = tpl
	return nil
}

// handleGetEditTemplate is GET /edit_templates/{id} (§2.6).
func (s *Server) handleGetEditTemplate(w http.ResponseWriter, r *http.Request, c *callContext) error {
	id := r.PathValue("id")
	s.mu.Lock()
	wd, err := s.workspaceLocked(c.workspace)
	if err != nil {
		s.mu.Unlock()
		return err
	}
	tpl, ok := wd.Templates[id]
	var out extendapi.EditTemplate
	if ok {
		out = *tpl
	}
	s.mu.Unlock()
	if !ok {
		return errNotFound("edit template", id)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// handleListTemplates is GET /_sandbox/templates: upstream has no list of
// templates, so this sandbox route says which IDs exist.
func (s *Server) handleListTemplates(w http.ResponseWriter, _ *http.Request, c *callContext) error {
	s.mu.Lock()
	wd, err := s.workspaceLocked(c.workspace)
	if err != nil {
		s.mu.Unlock()
		return err
	}
	out := make([]extendapi.EditTemplate, 0, len(wd.Templates))
	for _, id := range sortedKeys(wd.Templates) {
		out = append(out, *wd.Templates[id])
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, extendapi.List[extendapi.EditTemplate]{Object: "list", Data: out})
	return nil
}

// slug lowercases and keeps letters and digits, other runs becoming '_'.
func slug(s string) string {
	var b strings.Builder
	underscore := false
	for _, r := range strings.ToLower(s) {
		if r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r)) {
			b.WriteRune(r)
			underscore = false
		} else if !underscore && b.Len() > 0 {
			b.WriteByte('_')
			underscore = true
		}
	}
	return strings.TrimSuffix(b.String(), "_")
}

// humanName turns "vendor-onboarding.pdf" into "Vendor onboarding".
func humanName(fileName string) string {
	words := strings.ReplaceAll(slug(strings.TrimSuffix(fileName, ".pdf")), "_", " ")
	if words == "" {
		return fileName
	}
	return strings.ToUpper(words[:1]) + words[1:]
}

// derivedID is a deterministic ID: prefix + 22 base62 characters of a hash.
func derivedID(prefix, seed string) string {
	sum := sha256.Sum256([]byte(seed))
	var b strings.Builder
	b.WriteString(prefix)
	for _, c := range sum[:22] {
		b.WriteByte(idAlphabet[int(c)%len(idAlphabet)])
	}
	return b.String()
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
