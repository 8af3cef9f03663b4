package sandbox

import (
	"strings"
	"unicode"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// Normalize is the label normalization rule of the sandbox's filling model
// (rule 2 of the README's sandbox section): NFKC, drop variation selectors
// (U+FE0F and friends), case fold, then drop everything that is not a letter
// or a digit. Punctuation, spaces, emoji and curly quotes all disappear, so
// "First Name 🚀", "first-name" and "FIRST NAME" normalize alike.
func Normalize(s string) string {
	s = norm.NFKC.String(s)
	s = strings.Map(func(r rune) rune {
		if isVariationSelector(r) {
			return -1
		}
		return r
	}, s)
	// A Caser keeps state between calls, so one per call keeps Normalize
	// safe for concurrent use.
	s = cases.Fold().String(s)
	return strings.Map(func(r rune) rune {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			return r
		}
		return -1
	}, s)
}

func isVariationSelector(r rune) bool {
	return (r >= 0xFE00 && r <= 0xFE0F) || (r >= 0xE0100 && r <= 0xE01EF)
}

// leafName is the last segment of a dotted field path without its "[n]"
// indices: "topmostSubform[0].Page1[0].FilingStatus[0].c1_01[0]" -> "c1_01".
func leafName(name string) string {
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		name = name[i+1:]
	}
	var b strings.Builder
	for {
		open := strings.IndexByte(name, '[')
		if open < 0 {
			break
		}
		closing := strings.IndexByte(name[open:], ']')
		if closing < 0 || !allDigits(name[open+1:open+closing]) {
			b.WriteString(name[:open+1])
			name = name[open+1:]
			continue
		}
		b.WriteString(name[:open])
		name = name[open+closing+1:]
	}
	b.WriteString(name)
	return b.String()
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// matchTier says which rule matched a label to a property; lower is stronger.
type matchTier int

const (
	tierNone matchTier = iota
	tierExactName
	tierNormalizedName
	tierNormalizedDescription
	tierNormalizedLeaf
)

func (t matchTier) String() string {
	switch t {
	case tierExactName:
		return "exact name"
	case tierNormalizedName:
		return "normalized name"
	case tierNormalizedDescription:
		return "normalized description"
	case tierNormalizedLeaf:
		return "normalized leaf name"
	}
	return "none"
}

// labelCandidate is something a label may name: a schema property or a
// detected form field.
type labelCandidate struct {
	Name        string
	Description string
}

// labelIndex finds which candidate a label names, tier by tier, stopping at
// the first tier with any match; two or more matches in that tier are a tie.
type labelIndex struct {
	exact       map[string][]int
	name        map[string][]int
	description map[string][]int
	leaf        map[string][]int
}

func newLabelIndex(candidates []labelCandidate) *labelIndex {
	idx := &labelIndex{
		exact:       map[string][]int{},
		name:        map[string][]int{},
		description: map[string][]int{},
		leaf:        map[string][]int{},
	}
	add := func(m map[string][]int, key string, i int) {
		// An empty key (a name made only of emoji, say) would match every
		// label that normalizes to nothing, so it is never indexed.
		if key != "" {
			m[key] = append(m[key], i)
		}
	}
	for i, c := range candidates {
		add(idx.exact, c.Name, i)
		add(idx.name, Normalize(c.Name), i)
		add(idx.description, Normalize(c.Description), i)
		add(idx.leaf, Normalize(leafName(c.Name)), i)
	}
	return idx
}

// lookup returns the index of the candidate label names and the tier that
// matched. ok is false when nothing matched or the first matching tier has a
// tie; tier then says where the tie was (tierNone when nothing matched).
func (idx *labelIndex) lookup(label string) (i int, tier matchTier, ok bool) {
	label = strings.TrimSpace(label)
	normalized := Normalize(label)
	tiers := []struct {
		tier matchTier
		m    map[string][]int
		key  string
	}{
		{tierExactName, idx.exact, label},
		{tierNormalizedName, idx.name, normalized},
		{tierNormalizedDescription, idx.description, normalized},
		{tierNormalizedLeaf, idx.leaf, normalized},
	}
	for _, t := range tiers {
		if t.key == "" {
			continue
		}
		hits := t.m[t.key]
		switch {
		case len(hits) == 1:
			return hits[0], t.tier, true
		case len(hits) > 1:
			return -1, t.tier, false
		}
	}
	return -1, tierNone, false
}

// matchOption finds the option a value names: the exact option first, then
// the one option whose normalized form equals the value's. Several options
// normalizing alike is a tie and matches nothing.
func matchOption(value string, options []string) (string, bool) {
	value = strings.TrimSpace(value)
	for _, o := range options {
		if o == value {
			return o, true
		}
	}
	normalized := Normalize(value)
	if normalized == "" {
		return "", false
	}
	found, count := "", 0
	for _, o := range options {
		if Normalize(o) == normalized {
			found = o
			count++
		}
	}
	if count != 1 {
		return "", false
	}
	return found, true
}
