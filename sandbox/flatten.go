package sandbox

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
)

// Annotation flags (PDF 32000-1:2008, table 165) that decide whether a
// widget is drawn when it is burnt into its page.
const (
	annotFlagHidden   = 1 << 1
	annotFlagNoRotate = 1 << 4
	annotFlagNoView   = 1 << 5
)

// flattenForm does what Extend's flattenPdf does: the values become part of
// the pages and the form is gone. Every widget annotation's normal
// appearance (/AP /N, the /AS state for checkboxes and radio buttons) is
// drawn into its page as a form XObject placed at the widget's /Rect; then
// the widgets leave /Annots and /AcroForm leaves the catalog. pdfcpu has no
// true flatten, so this works on its object model directly.
//
// A widget without a usable appearance stream is dropped without a trace,
// as in Acrobat: by the time this runs every written value has one. Hidden
// and NoView widgets are dropped too, since no viewer shows them. Other
// annotations (links, comments) stay.
func flattenForm(ctx *model.Context) error {
	xrt := ctx.XRefTable
	var resourcesFallback types.Dict // the form's /DR, for appearances that carry no resources of their own
	if ctx.Form != nil {
		if dr, err := xrt.DereferenceDict(ctx.Form["DR"]); err == nil {
			resourcesFallback = dr
		}
	}
	pages, err := formPages(xrt)
	if err != nil {
		return fmt.Errorf("flatten: %w", err)
	}
	for i, p := range pages {
		if err := flattenPage(xrt, p, resourcesFallback); err != nil {
			return fmt.Errorf("flatten page %d: %w", i+1, err)
		}
	}
	for _, key := range []string{"AcroForm", "NeedsRendering"} {
		delete(ctx.RootDict, key)
	}
	// Usage rights were granted for the blank form; they are void now.
	if perms, err := xrt.DereferenceDict(ctx.RootDict["Perms"]); err == nil && perms != nil {
		delete(perms, "UR3")
		if len(perms) == 0 {
			delete(ctx.RootDict, "Perms")
		}
	}
	ctx.Form = nil
	return nil
}

// formPage is one leaf of the page tree with what it inherits.
type formPage struct {
	dict      types.Dict
	resources types.Object // the page's own /Resources, else the nearest ancestor's
	rotate    int
}

// formPages walks the page tree itself, rather than by pdfcpu's page index,
// so a tree whose /Count disagrees with its kids still yields every page
// once.
func formPages(xrt *model.XRefTable) ([]formPage, error) {
	root, err := xrt.Pages()
	if err != nil {
		return nil, err
	}
	var pages []formPage
	seen := map[int]bool{}
	var walk func(ref types.IndirectRef, inherited formPage, depth int) error
	walk = func(ref types.IndirectRef, inherited formPage, depth int) error {
		if depth > 64 || seen[ref.ObjectNumber.Value()] {
			return nil
		}
		seen[ref.ObjectNumber.Value()] = true
		d, err := xrt.DereferenceDict(ref)
		if err != nil || d == nil {
			return err
		}
		node := inherited
		node.dict = d
		if res, ok := d.Find("Resources"); ok {
			node.resources = res
		}
		if rot, ok := d.Find("Rotate"); ok {
			if deg, err := xrt.DereferenceNumber(rot); err == nil {
				node.rotate = int(deg)
			}
		}
		kids, err := xrt.DereferenceArray(d["Kids"])
		if err != nil {
			return err
		}
		if t := d.NameEntry("Type"); kids == nil || (t != nil && *t == "Page") {
			pages = append(pages, node)
			return nil
		}
		for _, kid := range kids {
			if kidRef, ok := kid.(types.IndirectRef); ok {
				if err := walk(kidRef, node, depth+1); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if err := walk(*root, formPage{}, 0); err != nil {
		return nil, err
	}
	return pages, nil
}

// placedAppearance is one appearance stream to draw, and where.
type placedAppearance struct {
	stream types.IndirectRef
	matrix affine
}

// flattenPage burns the page's widgets in and takes them off /Annots.
func flattenPage(xrt *model.XRefTable, p formPage, resourcesFallback types.Dict) error {
	annots, err := xrt.DereferenceArray(p.dict["Annots"])
	if err != nil || annots == nil {
		return nil // no (readable) annotations: nothing to flatten
	}
	var kept types.Array
	var draws []placedAppearance
	for _, a := range annots {
		d, err := xrt.DereferenceDict(a)
		if err != nil || d == nil {
			kept = append(kept, a)
			continue
		}
		if st := d.NameEntry("Subtype"); st == nil || *st != "Widget" {
			kept = append(kept, a)
			continue
		}
		if draw, ok := widgetPlacement(xrt, d, p.rotate, resourcesFallback); ok {
			draws = append(draws, draw)
		}
	}
	if len(kept) == 0 {
		delete(p.dict, "Annots")
	} else {
		p.dict["Annots"] = kept
	}
	if len(draws) == 0 {
		return nil
	}
	names, err := addXObjects(xrt, p, draws)
	if err != nil {
		return err
	}
	var content strings.Builder
	content.WriteString("Q\n")
	for i, draw := range draws {
		fmt.Fprintf(&content, "q %s cm /%s Do Q\n", draw.matrix, names[i])
	}
	return wrapContents(xrt, p.dict, []byte(content.String()))
}

// widgetPlacement finds the widget's normal appearance stream and the
// matrix that draws it at the widget's rectangle. ok is false when the
// widget shows nothing.
func widgetPlacement(xrt *model.XRefTable, widget types.Dict, pageRotate int, resourcesFallback types.Dict) (placedAppearance, bool) {
	flags := 0
	if f, err := xrt.DereferenceInteger(widget["F"]); err == nil && f != nil {
		flags = f.Value()
	}
	if flags&(annotFlagHidden|annotFlagNoView) != 0 {
		return placedAppearance{}, false
	}
	rectArr, err := xrt.DereferenceArray(widget["Rect"])
	if err != nil || len(rectArr) != 4 {
		return placedAppearance{}, false
	}
	rect, err := xrt.RectForArray(rectArr)
	if err != nil || rect.Width() == 0 || rect.Height() == 0 {
		return placedAppearance{}, false
	}
	ref, sd, ok := normalAppearance(xrt, widget)
	if !ok {
		return placedAppearance{}, false
	}

	// An appearance stream is a form XObject by definition, but some
	// producers leave out what Do needs; viewers drawing annotations forgive
	// that, a content stream's Do does not. sd.Dict is the stored stream's
	// own dictionary, so these repairs land in the output.
	sd.Dict["Type"] = types.Name("XObject")
	sd.Dict["Subtype"] = types.Name("Form")
	bbox := box{0, 0, math.Abs(rect.Width()), math.Abs(rect.Height())}
	if a, err := xrt.DereferenceArray(sd.Dict["BBox"]); err == nil && len(a) == 4 {
		if r, err := xrt.RectForArray(a); err == nil {
			bbox = box{r.LL.X, r.LL.Y, r.UR.X, r.UR.Y}
		}
	} else {
		sd.Dict["BBox"] = types.NewNumberArray(bbox.x0, bbox.y0, bbox.x1, bbox.y1)
	}
	if _, has := sd.Dict.Find("Resources"); !has && resourcesFallback != nil {
		sd.Dict["Resources"] = resourcesFallback
	}
	form := identity
	if a, err := xrt.DereferenceArray(sd.Dict["Matrix"]); err == nil && len(a) == 6 {
		if m, ok := affineFromArray(xrt, a); ok {
			form = m
		}
	}

	target := box{rect.LL.X, rect.LL.Y, rect.UR.X, rect.UR.Y}
	m := appearanceToRect(bbox, form, target)
	if flags&annotFlagNoRotate != 0 && pageRotate%360 != 0 {
		// A NoRotate annotation stays upright on screen, pivoting on its
		// rectangle's upper-left corner, while the page turns under it.
		m = m.then(rotationAbout(float64(pageRotate), target.x0, target.y1))
	}
	return placedAppearance{stream: ref, matrix: m}, true
}

// normalAppearance is the widget's /AP /N stream: the stream itself, or for
// a checkbox or radio button the one its /AS state names.
func normalAppearance(xrt *model.XRefTable, widget types.Dict) (types.IndirectRef, *types.StreamDict, bool) {
	ap, err := xrt.DereferenceDict(widget["AP"])
	if err != nil || ap == nil {
		return types.IndirectRef{}, nil, false
	}
	n, ok := ap.Find("N")
	if !ok {
		return types.IndirectRef{}, nil, false
	}
	obj, err := xrt.Dereference(n)
	if err != nil {
		return types.IndirectRef{}, nil, false
	}
	ref, isRef := n.(types.IndirectRef)
	if states, isDict := obj.(types.Dict); isDict {
		as := widget.NameEntry("AS")
		if as == nil {
			return types.IndirectRef{}, nil, false
		}
		ref, isRef = states[*as].(types.IndirectRef)
	}
	if !isRef { // a stream is always indirect; anything else is no appearance
		return types.IndirectRef{}, nil, false
	}
	sd, _, err := xrt.DereferenceStreamDict(ref)
	if err != nil || sd == nil {
		return types.IndirectRef{}, nil, false
	}
	return ref, sd, true
}

// addXObjects gives the page a resources dictionary of its own (a copy, so
// a dictionary shared with other pages or inherited from the page tree is
// left alone) naming each appearance as an XObject, and returns the names.
func addXObjects(xrt *model.XRefTable, p formPage, draws []placedAppearance) ([]string, error) {
	res := types.Dict{}
	if p.resources != nil {
		inherited, err := xrt.DereferenceDict(p.resources)
		if err != nil {
			return nil, fmt.Errorf("resources: %w", err)
		}
		for k, v := range inherited {
			res[k] = v
		}
	}
	xobjects := types.Dict{}
	if existing, err := xrt.DereferenceDict(res["XObject"]); err == nil {
		for k, v := range existing {
			xobjects[k] = v
		}
	}
	names := make([]string, len(draws))
	next := 0
	for i, draw := range draws {
		for {
			next++
			names[i] = "EwFlat" + strconv.Itoa(next)
			if _, taken := xobjects[names[i]]; !taken {
				break
			}
		}
		xobjects[names[i]] = draw.stream
	}
	res["XObject"] = xobjects
	p.dict["Resources"] = res
	return names, nil
}

// wrapContents brackets the page's existing content in q … Q, so whatever
// graphics state it leaves behind cannot move what follows, and appends
// drawing (which starts with that Q). The existing streams are not decoded
// or rewritten.
func wrapContents(xrt *model.XRefTable, page types.Dict, drawing []byte) error {
	var existing types.Array
	if c, ok := page.Find("Contents"); ok {
		switch obj := c.(type) {
		case types.IndirectRef:
			target, err := xrt.Dereference(obj)
			if err != nil {
				return fmt.Errorf("contents: %w", err)
			}
			if arr, isArr := target.(types.Array); isArr {
				existing = arr
			} else if target != nil {
				existing = types.Array{obj}
			}
		case types.Array:
			existing = obj
		}
	}
	open, err := xrt.StreamDictIndRef([]byte("q\n"))
	if err != nil {
		return fmt.Errorf("contents: %w", err)
	}
	closeAndDraw, err := xrt.StreamDictIndRef(drawing)
	if err != nil {
		return fmt.Errorf("contents: %w", err)
	}
	contents := make(types.Array, 0, len(existing)+2)
	contents = append(contents, *open)
	contents = append(contents, existing...)
	contents = append(contents, *closeAndDraw)
	page["Contents"] = contents
	return nil
}
