package sandbox

import (
	"fmt"
	"io"

	"github.com/pdfcpu/pdfcpu/pkg/api"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
)

// readLeniently is the second try at a PDF that pdfcpu's (relaxed)
// validation refused: read without validation, repair the quirks other
// readers shrug off, validate again. It returns what the repaired document
// still fails on.
func readLeniently(rs io.ReadSeeker, conf *model.Configuration) (doc *model.Context, err error) {
	defer pdfcpuPanicked(&err, "reading the PDF")
	if _, err := rs.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	doc, err = api.ReadContext(rs, conf)
	if err != nil {
		return nil, err
	}
	repairDefaultAppearances(doc.XRefTable)
	if err := repairPageTree(doc.XRefTable); err != nil {
		return nil, err
	}
	if err := api.ValidateContext(doc); err != nil {
		return nil, err
	}
	if err := api.OptimizeContext(doc); err != nil {
		return nil, err
	}
	if err := pdfcpu.CacheFormFonts(doc); err != nil {
		return nil, fmt.Errorf("cache form fonts: %w", err)
	}
	return doc, nil
}

// repairDefaultAppearances turns every default appearance (/DA) written as
// a name into the string the specification asks for, using that name as the
// font: /DA /Helv becomes (/Helv 0 Tf 0 g), auto-sized black text.
func repairDefaultAppearances(xrt *model.XRefTable) {
	for _, entry := range xrt.Table {
		if entry == nil || entry.Free || entry.Object == nil {
			continue
		}
		var d types.Dict
		switch o := entry.Object.(type) {
		case types.Dict:
			d = o
		case types.StreamDict:
			d = o.Dict
		default:
			continue
		}
		fixDA(d)
		if form, ok := d["AcroForm"].(types.Dict); ok {
			fixDA(form)
		}
	}
}

func fixDA(d types.Dict) {
	if n, ok := d["DA"].(types.Name); ok {
		d["DA"] = types.StringLiteral("/" + string(n) + " 0 Tf 0 g")
	}
}

// repairPageTree drops every page-tree kid already listed elsewhere in the
// tree (the same page twice would be shown, and counted, twice) and sets
// each node's /Count to the pages really under it.
func repairPageTree(xrt *model.XRefTable) error {
	root, err := xrt.Catalog()
	if err != nil {
		return err
	}
	pagesRef := root.IndirectRefEntry("Pages")
	if pagesRef == nil {
		return nil
	}
	seen := map[int]bool{pagesRef.ObjectNumber.Value(): true}
	_, err = repairPageNode(xrt, *pagesRef, seen, 0)
	return err
}

func repairPageNode(xrt *model.XRefTable, ref types.IndirectRef, seen map[int]bool, depth int) (int, error) {
	d, err := xrt.DereferenceDict(ref)
	if err != nil || d == nil || depth > maxFieldDepth {
		return 0, err
	}
	if t := d.NameEntry("Type"); t != nil && *t == "Page" {
		return 1, nil
	}
	kids, err := xrt.DereferenceArray(d["Kids"])
	if err != nil {
		return 0, err
	}
	var kept types.Array
	count := 0
	for _, kid := range kids {
		kr, ok := kid.(types.IndirectRef)
		if !ok || seen[kr.ObjectNumber.Value()] {
			continue
		}
		seen[kr.ObjectNumber.Value()] = true
		n, err := repairPageNode(xrt, kr, seen, depth+1)
		if err != nil {
			return 0, err
		}
		kept = append(kept, kr)
		count += n
	}
	d["Kids"] = kept
	d["Count"] = types.Integer(count)
	return count, nil
}
