package sandbox

import (
	"math"
	"strconv"

	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
)

// annotateFields gives every field its page index and bounding box (and a
// box per option for radio groups): the "annotation" stage whose time and
// count the run metrics report. It returns how many fields got a box.
// Annotation is best-effort: a widget without a usable Rect or page simply
// leaves its field without a box.
func annotateFields(xrt *model.XRefTable, fields []*formField) int {
	widgetPage := map[int]int{}
	for p := 1; p <= xrt.PageCount; p++ {
		annots, ok := xrt.PageAnnots[p][model.AnnWidget]
		if !ok || annots.IndRefs == nil {
			continue
		}
		for _, ir := range *annots.IndRefs {
			if _, seen := widgetPage[ir.ObjectNumber.Value()]; !seen {
				widgetPage[ir.ObjectNumber.Value()] = p
			}
		}
	}
	// The media box turns PDF's bottom-up coordinates into top-down ones.
	boundaries, err := xrt.PageBoundaries(nil)
	if err != nil {
		boundaries = nil
	}

	annotated := 0
	for _, f := range fields {
		f.PageIndex = 0
		if len(f.pages) > 0 {
			f.PageIndex = f.pages[0] - 1
		}
		firstPage := 0
		var union *types.Rectangle
		optionBoxes := map[string]editBBox{}
		explicitOptions := fieldHasOpt(xrt, f)
		for _, w := range f.widgets {
			page, ok := widgetPage[w.ObjectNumber.Value()]
			if !ok {
				continue
			}
			wd, err := xrt.DereferenceDict(w)
			if err != nil || wd == nil {
				continue
			}
			rect, ok := widgetRect(xrt, wd)
			if !ok {
				continue
			}
			if firstPage == 0 || page < firstPage {
				firstPage, union = page, nil
			}
			if page != firstPage {
				continue
			}
			union = unionRect(union, rect)
			if f.Kind == kindRadio {
				if option, ok := radioWidgetOption(xrt, wd, f.Options, explicitOptions); ok {
					optionBoxes[option] = toEditBBox(rect, mediaBox(boundaries, page))
				}
			}
		}
		if union == nil {
			continue
		}
		f.PageIndex = firstPage - 1
		box := toEditBBox(union, mediaBox(boundaries, firstPage))
		f.BBox = &box
		if f.inSchema() {
			annotated++
		}
		if f.Kind == kindRadio && len(f.Options) > 0 && len(optionBoxes) == len(f.Options) {
			f.BBoxes = make([]editBBox, len(f.Options))
			for i, o := range f.Options {
				f.BBoxes[i] = optionBoxes[o]
			}
		}
	}
	return annotated
}

func mediaBox(boundaries []model.PageBoundaries, page int) *types.Rectangle {
	if page < 1 || page > len(boundaries) {
		return nil
	}
	return boundaries[page-1].MediaBox()
}

func toEditBBox(r *types.Rectangle, media *types.Rectangle) editBBox {
	round := func(v float64) float64 { return math.Round(v*100) / 100 }
	top, bottom := r.UR.Y, r.LL.Y
	left, right := r.LL.X, r.UR.X
	if media != nil {
		top, bottom = media.UR.Y-r.UR.Y, media.UR.Y-r.LL.Y
		left, right = r.LL.X-media.LL.X, r.UR.X-media.LL.X
	}
	return editBBox{Left: round(left), Top: round(top), Right: round(right), Bottom: round(bottom)}
}

func widgetRect(xrt *model.XRefTable, wd types.Dict) (*types.Rectangle, bool) {
	o, found := wd.Find("Rect")
	if !found {
		return nil, false
	}
	arr, err := xrt.DereferenceArray(o)
	if err != nil || len(arr) != 4 {
		return nil, false
	}
	var v [4]float64
	for i, n := range arr {
		switch n := n.(type) {
		case types.Float:
			v[i] = float64(n)
		case types.Integer:
			v[i] = float64(n)
		default:
			return nil, false
		}
	}
	return types.NewRectangle(math.Min(v[0], v[2]), math.Min(v[1], v[3]), math.Max(v[0], v[2]), math.Max(v[1], v[3])), true
}

func unionRect(a, b *types.Rectangle) *types.Rectangle {
	if a == nil {
		return b
	}
	return types.NewRectangle(math.Min(a.LL.X, b.LL.X), math.Min(a.LL.Y, b.LL.Y), math.Max(a.UR.X, b.UR.X), math.Max(a.UR.Y, b.UR.Y))
}

func fieldHasOpt(xrt *model.XRefTable, f *formField) bool {
	d, err := xrt.DereferenceDict(f.ref)
	if err != nil || d == nil {
		return false
	}
	_, found := d.Find("Opt")
	return found
}

// radioWidgetOption says which option a radio button stands for: the name of
// its "on" appearance state, or the option at that index when the group
// lists its options in Opt (the states are then "0", "1", ...).
func radioWidgetOption(xrt *model.XRefTable, wd types.Dict, options []string, explicit bool) (string, bool) {
	ap, err := xrt.DereferenceDict(wd["AP"])
	if err != nil || ap == nil {
		return "", false
	}
	normal, err := xrt.DereferenceDict(ap["N"])
	if err != nil || normal == nil {
		return "", false
	}
	for k := range normal {
		state, err := types.DecodeName(k)
		if err != nil || state == "Off" {
			continue
		}
		if explicit {
			i, err := strconv.Atoi(state)
			if err != nil || i < 0 || i >= len(options) {
				return "", false
			}
			return options[i], true
		}
		for _, o := range options {
			if o == state {
				return o, true
			}
		}
	}
	return "", false
}
