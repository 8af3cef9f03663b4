package sandbox

import (
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
)

// The geometry of flattening: where an appearance lands on its page.

// box is a rectangle by its lower-left and upper-right corners.
type box struct{ x0, y0, x1, y1 float64 }

// affine is a PDF transformation matrix [a b c d e f]: a point (x, y) maps
// to (a·x + c·y + e, b·x + d·y + f).
type affine [6]float64

var identity = affine{1, 0, 0, 1, 0, 0}

func (m affine) apply(x, y float64) (float64, float64) {
	return m[0]*x + m[2]*y + m[4], m[1]*x + m[3]*y + m[5]
}

// then is m followed by n: the matrix PDF writes as m × n.
func (m affine) then(n affine) affine {
	return affine{
		m[0]*n[0] + m[1]*n[2], m[0]*n[1] + m[1]*n[3],
		m[2]*n[0] + m[3]*n[2], m[2]*n[1] + m[3]*n[3],
		m[4]*n[0] + m[5]*n[2] + n[4], m[4]*n[1] + m[5]*n[3] + n[5],
	}
}

// String writes the matrix as cm operands, rounded to what a page can show.
func (m affine) String() string {
	parts := make([]string, 6)
	for i, v := range m {
		v = math.Round(v*1e5) / 1e5
		if v == 0 {
			v = 0 // no "-0"
		}
		parts[i] = strconv.FormatFloat(v, 'f', -1, 64)
	}
	return strings.Join(parts, " ")
}

func affineFromArray(xrt *model.XRefTable, a types.Array) (affine, bool) {
	var m affine
	for i, o := range a {
		v, err := xrt.DereferenceNumber(o)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			return affine{}, false
		}
		m[i] = v
	}
	return m, true
}

// appearanceToRect is the placement of PDF 32000-1:2008 §12.5.5: the
// appearance's /BBox, transformed by its /Matrix, gives a box; the matrix
// returned maps that box onto the annotation's rectangle (scaling and
// translating only). The viewer applies the form's own /Matrix when it
// draws the XObject, so the matrix returned is the one to set with cm.
func appearanceToRect(bbox box, form affine, rect box) affine {
	xs, ys := make([]float64, 0, 4), make([]float64, 0, 4)
	for _, c := range [][2]float64{{bbox.x0, bbox.y0}, {bbox.x1, bbox.y0}, {bbox.x0, bbox.y1}, {bbox.x1, bbox.y1}} {
		x, y := form.apply(c[0], c[1])
		xs, ys = append(xs, x), append(ys, y)
	}
	tb := box{slices.Min(xs), slices.Min(ys), slices.Max(xs), slices.Max(ys)}
	rx0, rx1 := math.Min(rect.x0, rect.x1), math.Max(rect.x0, rect.x1)
	ry0, ry1 := math.Min(rect.y0, rect.y1), math.Max(rect.y0, rect.y1)
	sx, sy := 1.0, 1.0
	if w := tb.x1 - tb.x0; w > 0 {
		sx = (rx1 - rx0) / w
	}
	if h := tb.y1 - tb.y0; h > 0 {
		sy = (ry1 - ry0) / h
	}
	return affine{sx, 0, 0, sy, rx0 - sx*tb.x0, ry0 - sy*tb.y0}
}

// rotationAbout turns by deg degrees counterclockwise about (px, py).
func rotationAbout(deg, px, py float64) affine {
	rad := deg * math.Pi / 180
	cos, sin := math.Cos(rad), math.Sin(rad)
	// Round away float noise, so quarter turns stay exact.
	cos, sin = math.Round(cos*1e9)/1e9, math.Round(sin*1e9)/1e9
	toOrigin := affine{1, 0, 0, 1, -px, -py}
	turn := affine{cos, sin, -sin, cos, 0, 0}
	back := affine{1, 0, 0, 1, px, py}
	return toOrigin.then(turn).then(back)
}
